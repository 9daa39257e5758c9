// @ts-check
// Which templates have a JavaScript twin, and its name (`--lang js`, SPEC §3.2). No dependencies:
// the build, the precompile step and the tests load it. src/render/templates.ts applies the same
// rule when the CLI loads the manifest (a unit test checks that the two agree).

/** Folder of the derived templates, inside the templates folder (build output, git-ignored). */
export const JS_TEMPLATES_DIR = "js";

/**
 * @typedef {object} ManifestEntry
 * @property {string} path
 * @property {string} template
 * @property {{ auth?: string; lang?: string; feature?: string; downstreams?: boolean }} [when]
 * @property {boolean} [raw]
 */

const TSCONFIG = /(^|\/)tsconfig\.json(\.hbs)?$/;

/**
 * Every TypeScript file of a project (.ts, .mts; not a .d.ts), and every tsconfig.json (test/'s),
 * that is not already for one language only.
 * @param {ManifestEntry} entry
 */
export function hasJsTwin(entry) {
  return ((/\.m?ts$/.test(entry.path) && !/\.d\.m?ts$/.test(entry.path)) || TSCONFIG.test(entry.path)) && entry.when?.lang === undefined;
}

/** `src/index.ts` → `src/index.js`, `x.mts` → `x.mjs`, `test/tsconfig.json` → `test/jsconfig.json`. @param {string} path */
export function jsTwinPath(path) {
  return path.replace(TSCONFIG, "$1jsconfig.json$2").replace(/\.(m?)ts(\.hbs)?$/, ".$1js$2");
}

/**
 * The twin: `src/index.ts` from `self-hosted/src/index.ts.hbs` → `src/index.js` from
 * `js/self-hosted/src/index.js.hbs`, for `lang: "js"` only.
 * @param {ManifestEntry} entry
 * @returns {ManifestEntry}
 */
export function jsTwinOf(entry) {
  const template = /\.m?ts(\.hbs)?$/.test(entry.template) || TSCONFIG.test(entry.template) ? jsTwinPath(entry.template) : `${entry.template}.js`;
  return { ...entry, path: jsTwinPath(entry.path), template: `${JS_TEMPLATES_DIR}/${template}`, when: { ...entry.when, lang: "js" } };
}

/**
 * The manifest's files as the CLI renders them: each entry with a twin becomes TypeScript-only,
 * followed by its twin.
 * @param {ManifestEntry[]} files
 * @returns {ManifestEntry[]}
 */
export function withJsTwins(files) {
  return files.flatMap((entry) => (hasJsTwin(entry) ? [{ ...entry, when: { ...entry.when, lang: "ts" } }, jsTwinOf(entry)] : [entry]));
}
