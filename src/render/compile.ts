import { createHash } from "node:crypto";
import type Handlebars from "handlebars";

/** A template as Handlebars.precompile() describes it (what handlebars.template() takes). */
export type TemplateSpec = Parameters<typeof Handlebars.template>[0];

/**
 * How every template is compiled: strict (a misspelt name is an error, not an empty string), and
 * no HTML escaping (the escape helpers in escape.ts do each context's escaping).
 */
export const COMPILE_OPTIONS = { strict: true, noEscape: true } as const;

/**
 * The key of a template in the build's precompiled table: its source and the compile options.
 * scripts/precompile.mjs computes the same; a template whose key is not in the table (edited,
 * from elsewhere, or the options changed) is compiled when it renders, so the table only ever
 * makes rendering faster, never different.
 */
export function templateKey(source: string): string {
  return createHash("sha256").update(`handlebars ${JSON.stringify(COMPILE_OPTIONS)}\n${source}`).digest("hex");
}
