import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import * as fsp from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { readConfigFile } from "../../src/answers/config-file.js";
import { validateAnswers } from "../../src/config/validate.js";
import type { FileSystem } from "../../src/fs.js";
import { render } from "../../src/render/render.js";
import { repoTemplates } from "../support/memory.js";
import { packResultFile, type PackResult } from "../support/package.js";
import { installDir, installedPackage, repoRoot, runCli } from "../support/processes.js";

/**
 * What `npm pack` publishes (SPEC §8): the bundle, the templates and the schema, with no runtime
 * dependencies, and the licences of the bundled code. test/e2e/setup.ts packed and installed it.
 */
const packed = JSON.parse(readFileSync(packResultFile, "utf8")) as PackResult;
const paths = packed.files.map((file) => file.path).sort();

function filesUnder(dir: string): string[] {
  return readdirSync(join(repoRoot, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(repoRoot, join(entry.parentPath, entry.name)).replaceAll("\\", "/"));
}

describe("the published package", () => {
  it("holds only what a user needs: bin, the bundle, templates, schema, README, licence and notices", () => {
    const allowed = [
      /^package\.json$/,
      /^README\.md$/,
      /^LICENSE$/,
      /^THIRD_PARTY_NOTICES\.txt$/,
      /^bin\/create-mcp-access\.js$/,
      /^dist\/cli\.js$/,
      /^dist\/chunks\/[\w-]+\.js$/,
      /^schema\/mcp-access\.schema\.json$/,
      /^templates\//,
    ];
    expect(paths.filter((path) => !allowed.some((pattern) => pattern.test(path)))).toEqual([]);
    for (const path of ["package.json", "README.md", "LICENSE", "THIRD_PARTY_NOTICES.txt", "bin/create-mcp-access.js", "dist/cli.js"]) {
      expect(paths).toContain(path);
    }
    expect(paths.filter((path) => path.startsWith("dist/chunks/")).length).toBeGreaterThan(0);
    // Every template and the schema, exactly as in the repository, but the sources of compiled
    // templates (*.hbs), which the bundle carries compiled (package.json "files").
    const compiled = (path: string) => path.endsWith(".hbs");
    expect(paths.filter((path) => path.startsWith("templates/") || path.startsWith("schema/"))).toEqual(
      [...filesUnder("templates").filter((path) => !compiled(path)), ...filesUnder("schema")].sort(),
    );
  });

  it("has no runtime dependencies: installing it installs one package", () => {
    const manifest = JSON.parse(readFileSync(join(installedPackage, "package.json"), "utf8"));
    for (const field of ["dependencies", "peerDependencies", "optionalDependencies", "bundleDependencies", "bundledDependencies"]) {
      expect(manifest[field], field).toBeUndefined();
    }
    const installed = readdirSync(join(installDir, "node_modules")).filter((name) => !name.startsWith("."));
    expect(installed).toEqual(["create-mcp-access"]);
  });

  it("makes a require() only in the bundle files that call one: making it costs every file a run loads", () => {
    const banner = "import { createRequire as __createRequire }";
    const bundle = paths.filter((path) => /^dist\/.*\.js$/.test(path));
    const needless = bundle.filter((path) => {
      const code = readFileSync(join(installedPackage, path), "utf8");
      return code.startsWith(banner) && !/\brequire\b/.test(code.slice(code.indexOf("\n")));
    });
    expect(bundle.length).toBeGreaterThan(1);
    expect(needless).toEqual([]);
  });

  // The installed-size target of issue 8 (scripts/bench.mjs, `installedBytes`): 1 MB.
  it("stays under 1 MB unpacked", () => {
    console.log(`npm pack: ${packed.entryCount} files, ${(packed.size / 1000).toFixed(1)} kB packed, ${(packed.unpackedSize / 1000).toFixed(1)} kB unpacked`);
    expect(packed.unpackedSize).toBeLessThan(1_000_000);
  });

  it("names every package with code in the bundle in THIRD_PARTY_NOTICES.txt, with its licence text", () => {
    // esbuild's metafile from the build that was packed: which package files put bytes into dist/.
    const metafile = JSON.parse(readFileSync(join(repoRoot, ".tmp", "build", "metafile.json"), "utf8")) as {
      outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>;
    };
    const bundled = new Set<string>();
    for (const output of Object.values(metafile.outputs)) {
      for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
        const dir = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1];
        if (dir && bytesInOutput > 0) bundled.add(JSON.parse(readFileSync(join(repoRoot, dir, "package.json"), "utf8")).name);
      }
    }
    expect(bundled.size).toBeGreaterThan(0);
    const notices = readFileSync(join(installedPackage, "THIRD_PARTY_NOTICES.txt"), "utf8");
    const sections = notices.split(/^-{78}\n/m).slice(1);
    const listed = sections.map((section) => section.split(" ")[0]);
    expect(listed.sort()).toEqual([...bundled].sort());
    for (const section of sections) {
      const [heading, ...text] = section.split("\n");
      expect(heading, section.slice(0, 200)).toMatch(/^\S+ \d+\.\d+\.\d+\S* \(.+\)$/);
      expect(text.join("\n"), heading).toMatch(/copyright|licen[cs]e/i);
    }
    // Tools that build or test the package are not in it.
    for (const tool of ["esbuild", "typescript", "vitest", "memfs", "@modelcontextprotocol/sdk", "playwright-core"]) expect(listed).not.toContain(tool);
  });

  it("renders exactly what the source renders (bundled code, precompiled templates), in both modes and languages", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "cma-package-"));
    try {
      const { version } = JSON.parse(readFileSync(join(installedPackage, "package.json"), "utf8"));
      const answers = ["--team", "acme", "--allow-email", "ada@example.com", "--downstream", "wiki=https://wiki.example.com", "--no-install", "--no-git"];
      // Compiled templates, the JavaScript twins among them, are published compiled only (package.json "files").
      expect(existsSync(join(installedPackage, "templates", "js", "saas", "src", "index.js.hbs"))).toBe(false);
      expect(existsSync(join(installedPackage, "templates", "common", "package.json.hbs"))).toBe(false);
      for (const auth of ["self-hosted", "saas"]) {
        for (const lang of ["ts", "js"]) {
          const dir = `${auth}-${lang}`;
          const result = await runCli([dir, "--auth", auth, "--lang", lang, ...answers], { cwd });
          expect(result.code, result.stderr).toBe(0);
          const fs = fsp as unknown as FileSystem;
          const config = await readConfigFile(fs, join(cwd, dir, "mcp-access.json"));
          const expected = render(validateAnswers(config.answers, config.origins), await repoTemplates(), { generatorVersion: version });
          for (const [path, text] of expected) expect(readFileSync(join(cwd, dir, path), "utf8"), `${dir}: ${path}`).toBe(text);
        }
      }
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
