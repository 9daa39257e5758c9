import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The folder holding this package's package.json, templates/ and schema/.
 * Found by walking up from this module, so it is the same answer from
 * src/*.ts under the test runner and from the single bundled dist/cli.js.
 */
export function packageRoot(from: string = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, "utf8")).name === "create-mcp-access") return dir;
    if (dirname(dir) === dir) throw new Error(`create-mcp-access: package root not found above ${from}`);
  }
}

export function packageVersion(root: string = packageRoot()): string {
  return JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version as string;
}
