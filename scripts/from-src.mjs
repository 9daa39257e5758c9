// The build scripts use some of the CLI's own modules (the template key, the JavaScript-twin rule)
// rather than copies of them. Those are TypeScript that imports only types, so esbuild bundles
// each one into a plain module, loaded from memory: any Node the CLI supports can run the build.
import { buildSync } from "esbuild";
import { fileURLToPath } from "node:url";

/** The module at `path` (relative to this repository's root), e.g. "src/render/compile.ts". */
export function importFromSrc(path) {
  const [output] = buildSync({
    entryPoints: [fileURLToPath(new URL(`../${path}`, import.meta.url))],
    bundle: true,
    write: false,
    format: "esm",
    platform: "node",
    logLevel: "error",
  }).outputFiles;
  return import(`data:text/javascript;base64,${Buffer.from(output.text).toString("base64")}`);
}
