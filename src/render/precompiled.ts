import type { TemplateSpec } from "./compile.js";

/** Template key (templateKey()) → the template compiled by Handlebars.precompile(). */
export type PrecompiledTable = Readonly<Record<string, TemplateSpec>>;

/**
 * The templates in templates/, compiled at build time, as tables named by precompiledTableOf():
 * scripts/build.mjs replaces this module with a loader per table, each table a chunk of its own,
 * so the CLI neither compiles templates while it runs nor loads the compiled code of projects it
 * is not making (SPEC §8). From source there are none: templates compile as they render.
 */
export const precompiledTables: Readonly<Record<string, () => Promise<PrecompiledTable>>> = {};
