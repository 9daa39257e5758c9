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
 * scripts/precompile.mjs builds the table with this very function; a template whose key is not in the table (edited,
 * from elsewhere, or the options changed) is compiled when it renders, so the table only ever
 * makes rendering faster, never different.
 *
 * A 64-bit FNV-1a (two 32-bit lanes) plus the length, not SHA-256: loading node:crypto would cost
 * more than rendering the project. Collisions are not a security matter here: a template that
 * matched another's key would have to be written to, and could only render a bundled template.
 */
export function templateKey(source: string): string {
  const text = `handlebars ${JSON.stringify(COMPILE_OPTIONS)}\n${source}`;
  let low = 0x811c9dc5;
  let high = 0xcbf29ce4;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    low = Math.imul(low ^ code, 0x01000193);
    high = Math.imul(high ^ code ^ (low >>> 16), 0x85ebca6b);
  }
  const hex = (lane: number) => (lane >>> 0).toString(16).padStart(8, "0");
  return `${text.length.toString(16)}-${hex(high)}${hex(low)}`;
}
