import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { installedPackage, repoRoot, runCli } from "../support/processes.js";

/**
 * What each command loads of the installed bundle (SPEC §8: `--help` without rendering code, no
 * template compiler at run time). NODE_DEBUG=esm makes Node name every module it loads; esbuild's
 * metafile of the packed build says which sources each bundle file holds.
 */
const metafile = JSON.parse(readFileSync(join(repoRoot, ".tmp", "build", "metafile.json"), "utf8")) as {
  outputs: Record<string, { inputs: Record<string, unknown> }>;
};

let cwd: string;
beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), "cma-startup-"));
});
afterEach(() => rmSync(cwd, { recursive: true, force: true }));

async function sourcesLoadedBy(args: string[]): Promise<string[]> {
  const result = await runCli(args, { cwd, env: { NODE_DEBUG: "esm" } });
  expect(result.code, result.stderr.slice(-2000)).toBe(0);
  const files = new Set(
    [...result.stderr.matchAll(/file:\/\/[^\s'",]+\.js/g)].map((match) => relative(installedPackage, fileURLToPath(match[0])).replaceAll("\\", "/")),
  );
  const bundle = [...files].filter((file) => file.startsWith("dist/"));
  expect(bundle).toContain("dist/cli.js"); // the debug output still names modules
  for (const file of bundle) expect(Object.keys(metafile.outputs), `${file} is not from the packed build`).toContain(file);
  return bundle.flatMap((file) => Object.keys(metafile.outputs[file]!.inputs));
}

describe("startup", () => {
  it("--help and --version load no library, and none of the rendering, writing or command code", async () => {
    for (const flag of ["--help", "--version"]) {
      const sources = await sourcesLoadedBy([flag]);
      expect(sources.filter((source) => /node_modules\/|src\/(render|apply|commands|provision|steps)\//.test(source)), flag).toEqual([]);
    }
  });

  it("a full generation renders from precompiled templates: Handlebars' compiler is never loaded, nor the Cloudflare SDK", async () => {
    const sources = await sourcesLoadedBy(["srv", "--yes", "--no-install", "--no-git"]);
    expect(sources.some((source) => source.startsWith("src/render/"))).toBe(true);
    expect(sources.filter((source) => /node_modules\/handlebars\/dist\/cjs\/handlebars\/compiler\/|node_modules\/cloudflare\//.test(source))).toEqual([]);
  });
});
