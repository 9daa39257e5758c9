import type Handlebars from "handlebars";
import type { ManifestEntry } from "./manifest.js";

/** A template as Handlebars.precompile() describes it (what handlebars.template() takes). */
export type TemplateSpec = Parameters<typeof Handlebars.template>[0];

/** The helpers render.ts gives every template (escape.ts's escapers, and `eq`). */
export const HELPERS = ["json", "scriptJson", "md", "code", "eq"] as const;

/**
 * How every template is compiled: strict (a misspelt name is an error, not an empty string), no
 * HTML escaping (the escape helpers in escape.ts do each context's escaping), and only our helpers
 * and Handlebars' own: each is then called directly instead of looked up, which also makes the
 * precompiled table about a tenth smaller, and a template naming any other helper fails to compile.
 * A fresh object each time: Handlebars adds its own helpers to the `knownHelpers` it is given.
 */
export function compileOptions() {
  return { strict: true, noEscape: true, knownHelpers: Object.fromEntries(HELPERS.map((name) => [name, true])), knownHelpersOnly: true };
}

/**
 * The key of a template in the build's precompiled table: its source and the compile options.
 * scripts/precompile.mjs builds the table with this very function; a template whose key is not in the table (edited,
 * from elsewhere, or the options changed) is compiled when it renders, so the table only ever
 * makes rendering faster, never different.
 *
 * A 64-bit FNV-1a (two 32-bit lanes) plus the length, not SHA-256: loading node:crypto would cost
 * more than rendering the project. It takes 32 bits (two UTF-16 units, copied out natively) a
 * step: a generation hashes some 60 000 units in code too short-lived for V8 to optimise, so the
 * steps are what cost. (A big-endian machine reads the words the other way round: its keys miss
 * the table and its templates compile as they render, which changes nothing but the time.)
 * Collisions are not a security matter here: a template that matched another's key would have to
 * be written to, and could only render a bundled template.
 */
export function templateKey(source: string): string {
  const text = `${keyPrefix()}${source}`;
  // Two UTF-16 units a word; an odd length leaves the last word's upper half 0 (the length tells it apart).
  const words = new Int32Array((text.length + 1) >> 1);
  Buffer.from(words.buffer).write(text, "utf16le");
  let low = 0x811c9dc5;
  let high = 0xcbf29ce4;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    low = Math.imul(low ^ word, 0x01000193);
    high = Math.imul(high ^ word ^ (low >>> 16), 0x85ebca6b);
  }
  const hex = (lane: number) => (lane >>> 0).toString(16).padStart(8, "0");
  return `${text.length.toString(16)}-${hex(high)}${hex(low)}`;
}

let prefix: string | undefined;
/** What every key hashes before the source: the compile options, worked out once. */
function keyPrefix(): string {
  prefix ??= `handlebars ${JSON.stringify(compileOptions())}\n`;
  return prefix;
}

/**
 * Which of the build's precompiled tables holds the template of `entry`: `common` for what every
 * project may render (and the partials), then one per auth mode, and one per auth mode and language.
 * A generation loads only the tables of its own entries (src/render/templates.ts), about half of
 * the compiled code; the tables share nothing, so the package carries each template once.
 * scripts/precompile.mjs puts a template that several entries with different tables use in `common`.
 */
/**
 * The second key of each template of the bundled set in the precompiled tables: its path. The
 * package publishes the bundled templates compiled only, without their sources (package.json
 * "files"), so the CLI finds a template whose source it cannot read by its path; a source it can
 * read (a checkout, edited since the build or not) is looked up by templateKey(), so an edit shows.
 * Only the bundled set looks templates up by path.
 */
export function bundledKey(template: string): string {
  return `bundled:${template}`;
}

export function precompiledTableOf(entry: ManifestEntry): string {
  const { auth, lang } = entry.when ?? {};
  if (auth === undefined) return "common";
  return lang === undefined ? auth : `${auth}-${lang}`;
}
