// The build-time half of src/render/precompiled.ts: Handlebars.precompile() of
// every template that templates/manifest.json renders (files that are not raw,
// and partials), as modules the bundle includes instead of the empty list of
// tables: one module per table (src/render/compile.ts precompiledTableOf), each
// its own chunk, loaded only by a generation that renders from it.
// Keys and options come from src/render/compile.ts itself; a template whose key
// is not in the table (edited since the build) is compiled at run time.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Handlebars from "handlebars";
import { importFromSrc } from "./from-src.mjs";

// The CLI's own key, table and twin rules, so the tables hold exactly what it looks up.
const { bundledKey, compileOptions, precompiledTableOf, templateKey } = await importFromSrc("src/render/compile.ts");
const { withJsTwins } = await importFromSrc("src/render/js-twins.ts");

/**
 * Every compiled template and partial in `templatesDir`: its path, keys, table and spec as
 * JavaScript source. Two keys: its source's (a checkout, where an edit must show) and its path (the
 * package, which publishes no template sources: package.json "files"). The JavaScript twins (scripts/js-templates.mjs) must have been written first.
 */
export function precompileTemplates(templatesDir) {
  const manifest = JSON.parse(readFileSync(join(templatesDir, "manifest.json"), "utf8"));
  const tables = new Map();
  for (const entry of withJsTwins(manifest.files)) {
    if (entry.raw) continue;
    const table = precompiledTableOf(entry);
    // A template that entries of different tables use goes where every generation looks.
    tables.set(entry.template, tables.get(entry.template) === undefined || tables.get(entry.template) === table ? table : "common");
  }
  for (const path of Object.values(manifest.partials ?? {})) tables.set(path, "common");
  return [...tables.keys()].sort().map((path) => {
    const source = readFileSync(join(templatesDir, path), "utf8");
    const spec = withoutFallbacks(Handlebars.precompile(withoutLocations(Handlebars.parse(source)), compileOptions()));
    return { path, keys: [templateKey(source), bundledKey(path)], table: tables.get(path), spec };
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

// What Handlebars writes into every compiled function for runtimes older than the one bundled with
// the CLI (4.7, which always sets both on the container): dead code, about 8 kB of the tables.
const LOOKUP_FALLBACK =
  /container\.lookupProperty \|\| function\(parent, propertyName\) \{\s*if \(Object\.prototype\.hasOwnProperty\.call\(parent, propertyName\)\) \{\s*return parent\[propertyName\];\s*\}\s*return undefined\s*\}/g;
const NULL_CONTEXT_FALLBACK = /\(container\.nullContext \|\| \{\}\)/g;

/** A compiled template without the fallbacks above; the package test renders with it and compares. */
export function withoutFallbacks(spec) {
  return spec.replace(LOOKUP_FALLBACK, "container.lookupProperty").replace(NULL_CONTEXT_FALLBACK, "container.nullContext");
}

/**
 * An esbuild plugin that puts the tables in place of src/render/precompiled.ts: each table a module
 * of its own (`precompiled-table:<name>`), imported dynamically, so esbuild makes it a chunk.
 */
export function precompiledTemplates(templatesDir) {
  return {
    name: "precompiled-templates",
    setup(build) {
      let entries = [];
      build.onLoad({ filter: /[\\/]src[\\/]render[\\/]precompiled\.ts$/ }, () => {
        entries = precompileTemplates(templatesDir);
        const names = [...new Set(entries.map(({ table }) => table))].sort();
        const loaders = names.map((name) => `  ${JSON.stringify(name)}: () => import(${JSON.stringify(`precompiled-table:${name}`)}).then((module) => module.table),`);
        return {
          contents: `export const precompiledTables = {\n${loaders.join("\n")}\n};\n`,
          loader: "js",
          watchFiles: [join(templatesDir, "manifest.json"), ...entries.map(({ path }) => join(templatesDir, path))],
        };
      });
      // `templates:precompiled-<name>` in the metafile (test/e2e/startup.test.ts reads it), in dist/chunks/precompiled-<name>-<hash>.js.
      build.onResolve({ filter: /^precompiled-table:/ }, ({ path }) => ({ path: `precompiled-${path.slice("precompiled-table:".length)}`, namespace: "templates" }));
      build.onLoad({ filter: /.*/, namespace: "templates" }, ({ path }) => {
        const table = entries.filter(({ table }) => `precompiled-${table}` === path);
        // Each spec once, under both its keys.
        const specs = table.map(({ path, spec }, i) => `// ${path}\nconst t${i} = ${spec};`).join("\n");
        const keys = table.flatMap(({ keys }, i) => keys.map((key) => `  ${JSON.stringify(key)}: t${i},`)).join("\n");
        return { contents: `${specs}\nexport const table = {\n${keys}\n};\n`, loader: "js" };
      });
    },
  };
}
