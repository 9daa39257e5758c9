// The build-time half of src/render/precompiled.ts: Handlebars.precompile() of
// every template that templates/manifest.json renders (files that are not raw,
// and partials), as a module the bundle includes instead of the empty table.
// Keys and options come from src/render/compile.ts itself; a template whose key
// is not in the table (edited since the build) is compiled at run time.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Handlebars from "handlebars";
import { importFromSrc } from "./from-src.mjs";

// The CLI's own key and twin rule, so the table's keys are exactly the ones it looks up.
const { compileOptions, templateKey } = await importFromSrc("src/render/compile.ts");
const { withJsTwins } = await importFromSrc("src/render/js-twins.ts");

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
    return { path, key: templateKey(source), spec: Handlebars.precompile(withoutLocations(Handlebars.parse(source)), compileOptions()) };
  });
}

/**
 * The template's syntax tree without source locations. Compiled, every name a template looks up
 * carries its line and column (about a tenth of the table) for a strict-mode error's message; a
 * bundled template cannot name what the view lacks (every combination renders in the tests), and
 * templates of the user's own, compiled at run time, keep them.
 */
function withoutLocations(node) {
  if (Array.isArray(node)) node.forEach(withoutLocations);
  else if (node && typeof node === "object") {
    delete node.loc;
    for (const value of Object.values(node)) withoutLocations(value);
  }
  return node;
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
