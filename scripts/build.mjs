// Bundles src/cli.ts and every library it uses into dist/cli.js (SPEC §8):
// the published package has no runtime dependencies.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { build } from "esbuild";
import { writeJsTemplates } from "./js-templates.mjs";
import { writeNotices } from "./notices.mjs";
import { precompiledTemplates } from "./precompile.mjs";

// Chunk names change with their contents: old ones must not linger and get published.
rmSync("dist", { recursive: true, force: true });
// templates/js/: the JavaScript templates (--lang js), derived from the TypeScript ones here so the
// CLI needs no compiler; they are published with the others and precompiled below like them.
writeJsTemplates("templates");
// Handlebars' compiler as the CLI uses it, without two things it never needs: source-map (29 kB),
// which the compiler loads in a try block only to write source maps of compiled templates (without
// it Handlebars uses a small stand-in of its own), and the package entry's AST printer and its
// `require` hook for .hbs files, which would register itself in the user's process.
const leanHandlebars = {
  name: "lean-handlebars",
  setup(build) {
    build.onResolve({ filter: /^(source-map|handlebars)$/ }, ({ path }) => ({ path, namespace: "lean" }));
    build.onLoad({ filter: /.*/, namespace: "lean" }, ({ path }) => ({
      contents: path === "handlebars" ? 'module.exports = require("handlebars/dist/cjs/handlebars.js").default;' : "module.exports = {};",
      loader: "js",
      resolveDir: process.cwd(),
    }));
  },
};

// CommonJS libraries (handlebars) may call require() for Node built-ins: an ES module has none, so
// each bundle file that names `require` defines one (below, only those: making it costs each file
// that loads, and a generation loads about twenty).
const requireBanner = 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);';

const result = await build({
  entryPoints: ["src/cli.ts"],
  outdir: "dist",
  bundle: true,
  // cli.js stays small; run.js and what it needs load only for real work (SPEC §8).
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  platform: "node",
  format: "esm",
  target: "node22",
  // Half the bytes to install and parse. Names are not kept (esbuild's keepNames would add 24 kB,
  // a tenth of the bundle, to wrap every function): the build is reproducible, so a stack trace from
  // a bug report reads again in a build of that version with `--sourcemap` (CONTRIBUTING.md).
  minify: true,
  // Maps for a maintainer's own build only: `npm pack` runs this again without the flag.
  ...(process.argv.includes("--sourcemap") ? { sourcemap: "linked" } : {}),
  // Prefer ES module builds: they tree-shake, and some UMD builds (jsonc-parser) require() files esbuild cannot see.
  mainFields: ["module", "main"],
  banner: { js: requireBanner },
  legalComments: "linked",
  logLevel: "warning",
  metafile: true,
  // The templates are compiled here, not each time the CLI renders a project (SPEC §8).
  plugins: [precompiledTemplates("templates"), leanHandlebars],
});

// The banner goes from every file that does not name `require` (a string that mentions it keeps it:
// harmless). Its line stays, empty, so a source map's lines still match.
for (const file of Object.keys(result.metafile.outputs).filter((path) => path.endsWith(".js"))) {
  const code = readFileSync(file, "utf8");
  if (code.startsWith(`${requireBanner}\n`) && !/\brequire\b/.test(code.slice(requireBanner.length))) writeFileSync(file, code.slice(requireBanner.length));
}

// The licences of what went into dist/ travel with it (package.json "files").
writeNotices(result.metafile, "THIRD_PARTY_NOTICES.txt", { packageName: "create-mcp-access" });
// Kept for the packaging test, which checks the notices against it.
mkdirSync(".tmp/build", { recursive: true });
writeFileSync(".tmp/build/metafile.json", JSON.stringify(result.metafile));
