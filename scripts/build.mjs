// Bundles src/cli.ts and every library it uses into dist/cli.js (SPEC §8):
// the published package has no runtime dependencies.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
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

// giget bundles node-tar (83 kB) to unpack the .tar.gz it downloads, and pack a git clone for its
// git: sources, and nypm (11 kB) to install a template's dependencies, which the CLI never asks it
// to (install: false). Our small reader and writer stands in for the first (src/render/tar-extract.ts:
// only files and folders, only inside the target folder, SPEC §7); node:path stands in for the
// path helpers giget takes from the second, and installing refuses.
const leanGiget = {
  name: "lean-giget",
  setup(build) {
    build.onResolve({ filter: /^\.\/libs\/(tar|nypm)\.mjs$/ }, ({ path, importer }) =>
      importer.replaceAll("\\", "/").includes("/node_modules/giget/") ? { path, namespace: "lean-giget" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "lean-giget" }, ({ path }) => ({
      contents: path.includes("tar")
        ? `export * as index_min_exports from ${JSON.stringify(resolve("src/render/tar-extract.ts"))};`
        : 'export { basename, dirname, relative, resolve } from "node:path";\n' +
          'export const dist_exports = { installDependencies() { throw new Error("create-mcp-access does not install a template\'s dependencies"); } };',
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
  plugins: [precompiledTemplates("templates"), leanHandlebars, leanGiget],
});

// The banner goes from every file that does not name `require` (a string that mentions it keeps it:
// harmless). Its line stays, empty, so a source map's lines still match.
for (const file of Object.keys(result.metafile.outputs).filter((path) => path.endsWith(".js"))) {
  const code = readFileSync(file, "utf8");
  if (code.startsWith(`${requireBanner}\n`) && !/\brequire\b/.test(code.slice(requireBanner.length))) writeFileSync(file, code.slice(requireBanner.length));
}

// giget's THIRD-PARTY-LICENSES.md is about its dist/_chunks/libs/ (node-tar, nypm and what they
// bundle), which leanGiget keeps out; should a giget update put code from there in dist/ again,
// its licences must be listed again.
const gigetLibs = Object.values(result.metafile.outputs).flatMap(({ inputs }) =>
  Object.entries(inputs).filter(([input, { bytesInOutput }]) => bytesInOutput > 0 && /node_modules\/giget\/dist\/_chunks\/libs\//.test(input)),
);
if (gigetLibs.length > 0) throw new Error(`giget's bundled libraries are in dist/ again (${gigetLibs.map(([input]) => input).join(", ")}): update leanGiget`);
// The licences of what went into dist/ travel with it (package.json "files").
writeNotices(result.metafile, "THIRD_PARTY_NOTICES.txt", { packageName: "create-mcp-access", withoutTheirBundles: ["giget"] });
// Kept for the packaging test, which checks the notices against it.
mkdirSync(".tmp/build", { recursive: true });
writeFileSync(".tmp/build/metafile.json", JSON.stringify(result.metafile));
