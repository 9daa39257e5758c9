import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanEnv, cliBin, installedPackage, repoRoot, runCli } from "../support/processes.js";
import { hasTmux, Terminal } from "../support/terminal.js";

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
  return sourcesIn(result.stderr);
}

/** The sources of every bundle file NODE_DEBUG=esm says was loaded. */
function sourcesIn(debugOutput: string): string[] {
  const files = new Set(
    [...debugOutput.matchAll(/file:\/\/[^\s'",]+\.js/g)].map((match) => relative(installedPackage, fileURLToPath(match[0])).replaceAll("\\", "/")),
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

  it("a full generation renders from precompiled templates: Handlebars' compiler is never loaded, nor the Cloudflare SDK or giget", async () => {
    const sources = await sourcesLoadedBy(["srv", "--yes", "--no-install", "--no-git"]);
    expect(sources.some((source) => source.startsWith("src/render/"))).toBe(true);
    expect(
      sources.filter((source) => /node_modules\/handlebars\/dist\/cjs\/handlebars\/compiler\/|node_modules\/(cloudflare|giget)\/|src\/render\/(custom-templates|fetch-template|template-check)/.test(source)),
    ).toEqual([]);
  });

  it("a generation loads the precompiled templates of its own auth mode and language only", async () => {
    for (const [auth, lang] of [["self-hosted", "ts"], ["saas", "js"]] as const) {
      const sources = await sourcesLoadedBy([`${auth}-${lang}`, "--auth", auth, "--lang", lang, "--yes", "--no-install", "--no-git"]);
      const tables = sources.filter((source) => source.startsWith("templates:precompiled-"));
      expect(tables.sort(), `${auth} ${lang}`).toEqual(["common", auth, `${auth}-${lang}`].map((name) => `templates:precompiled-${name}`).sort());
    }
  });

  // (create checks provisioning's prerequisites before it writes anything: those few lines may load.)
  it.skipIf(!hasTmux)("the first prompt appears before templates, rendering, regenerate or provisioning load", async () => {
    const log = join(cwd, "esm.log");
    const terminal = new Terminal(["sh", "-c", `exec "${process.execPath}" "${cliBin}" 2>"${log}"`], {
      cwd,
      env: cleanEnv({ NODE_DEBUG: "esm" }),
    });
    try {
      await terminal.waitFor(/Where should the project be created\?/);
      const sources = sourcesIn(readFileSync(log, "utf8"));
      expect(sources.some((source) => source.startsWith("src/answers/prompts"))).toBe(true);
      expect(sources.filter((source) => /src\/render\/|src\/commands\/(regenerate|provision)|src\/provision\/(provision|sdk-api|steps)|node_modules\/(handlebars|cloudflare)\//.test(source))).toEqual([]);
    } finally {
      terminal.close();
    }
  });
});
