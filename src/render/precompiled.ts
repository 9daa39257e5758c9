import type { TemplateSpec } from "./compile.js";

/**
 * Every template in templates/, compiled by Handlebars.precompile() at build time and keyed by
 * templateKey(): scripts/build.mjs replaces this module with that table, so the CLI does not
 * compile templates while it runs (SPEC §8). From source it is empty: templates compile as they
 * render.
 */
export const precompiled: Readonly<Record<string, TemplateSpec>> = {};
