// The build-time half of src/render/precompiled.ts: Handlebars.precompile() of
// every template that templates/manifest.json renders (files that are not raw,
// and partials), as a module the bundle includes instead of the empty table.
// Keys and options must match src/render/compile.ts (a unit test checks); where
// they do not, the CLI compiles at run time: slower, same output.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Handlebars from "handlebars";
import { withJsTwins } from "./js-twins.mjs";

const COMPILE_OPTIONS = { strict: true, noEscape: true };

// The same function as templateKey() in src/render/compile.ts (see there for why not SHA-256).
export function templateKey(source) {
  const text = `handlebars ${JSON.stringify(COMPILE_OPTIONS)}\n${source}`;
  let low = 0x811c9dc5;
  let high = 0xcbf29ce4;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    low = Math.imul(low ^ code, 0x01000193);
    high = Math.imul(high ^ code ^ (low >>> 16), 0x85ebca6b);
  }
  const hex = (lane) => (lane >>> 0).toString(16).padStart(8, "0");
  return `${text.length.toString(16)}-${hex(high)}${hex(low)}`;
}

/**
 * Every compiled template and partial in `templatesDir`: its path, key, and spec as JavaScript
 * source. The JavaScript twins (scripts/js-templates.mjs) must have been written first.
 */
export function precompileTemplates(templatesDir) {
  const manifest = JSON.parse(readFileSync(join(templatesDir, "manifest.json"), "utf8"));
  const files = withJsTwins(manifest.files);
  const paths = new Set([...files.filter((entry) => !entry.raw).map((entry) => entry.template), ...Object.values(manifest.partials ?? {})]);
  return [...paths].sort().map((path) => {
    const source = readFileSync(join(templatesDir, path), "utf8");
    return { path, key: templateKey(source), spec: Handlebars.precompile(source, { ...COMPILE_OPTIONS }) };
  });
}

/** An esbuild plugin that puts the table in place of src/render/precompiled.ts. */
export function precompiledTemplates(templatesDir) {
  return {
    name: "precompiled-templates",
    setup(build) {
      build.onLoad({ filter: /[\\/]src[\\/]render[\\/]precompiled\.ts$/ }, () => {
        const entries = precompileTemplates(templatesDir);
        const table = entries.map(({ path, key, spec }) => `  // ${path}\n  ${JSON.stringify(key)}: ${spec},`).join("\n");
        return {
          contents: `export const precompiled = {\n${table}\n};\n`,
          loader: "js",
          watchFiles: [join(templatesDir, "manifest.json"), ...entries.map(({ path }) => join(templatesDir, path))],
        };
      });
    },
  };
}
