import type { ManifestEntry } from "./manifest.js";

/**
 * `--lang js` (SPEC §3.2): the JavaScript project is rendered from templates the build derives
 * from the TypeScript ones (scripts/js-templates.mjs writes them to templates/js/), so every
 * TypeScript file of the manifest (.ts, .mts; not a .d.ts) that is not already for one language
 * has a twin: `src/index.ts` from `self-hosted/src/index.ts.hbs` is TypeScript-only, and
 * `src/index.js` from `js/self-hosted/src/index.js.hbs` JavaScript-only. A tsconfig.json that is
 * not for one language (test/'s) has a jsconfig.json twin the same way. The build uses this
 * module too (scripts/from-src.mjs), so the two cannot disagree.
 */
export const JS_TEMPLATES_DIR = "js";

const TSCONFIG = /(^|\/)tsconfig\.json(\.hbs)?$/;

export function hasJsTwin(entry: ManifestEntry): boolean {
  return ((/\.m?ts$/.test(entry.path) && !/\.d\.m?ts$/.test(entry.path)) || TSCONFIG.test(entry.path)) && entry.when?.lang === undefined;
}

export function jsTwinOf(entry: ManifestEntry): ManifestEntry {
  const template = /\.m?ts(\.hbs)?$/.test(entry.template) || TSCONFIG.test(entry.template) ? jsTwinPath(entry.template) : `${entry.template}.js`;
  return { ...entry, path: jsTwinPath(entry.path), template: `${JS_TEMPLATES_DIR}/${template}`, when: { ...entry.when, lang: "js" } };
}

/** `src/index.ts` → `src/index.js`, `x.mts` → `x.mjs`, `test/tsconfig.json` → `test/jsconfig.json`; any other path as it is. */
export function jsTwinPath(path: string): string {
  return path.replace(TSCONFIG, "$1jsconfig.json$2").replace(/\.(m?)ts(\.hbs)?$/, ".$1js$2");
}

export function withJsTwins(files: readonly ManifestEntry[]): ManifestEntry[] {
  return files.flatMap((entry) => (hasJsTwin(entry) ? [{ ...entry, when: { ...entry.when, lang: "ts" as const } }, jsTwinOf(entry)] : [entry]));
}
