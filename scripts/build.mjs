// Bundles src/cli.ts and every library it uses into dist/cli.js (SPEC §8):
// the published package has no runtime dependencies.
import { build } from "esbuild";

await build({
  entryPoints: ["src/cli.ts"],
  outdir: "dist",
  bundle: true,
  // cli.js stays small; run.js and what it needs load only for real work (SPEC §8).
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  platform: "node",
  format: "esm",
  target: "node22",
  // Prefer ES module builds: they tree-shake, and some UMD builds (jsonc-parser) require() files esbuild cannot see.
  mainFields: ["module", "main"],
  // CommonJS libraries (handlebars) call require() for Node built-ins.
  banner: { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' },
  legalComments: "linked",
  logLevel: "warning",
});
