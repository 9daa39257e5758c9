import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TESTED_RELEASES } from "../../src/steps/package-manager.js";
import { callWhoami } from "../support/mcp.js";
import { cleanEnv, cliBin, freePort, type Result, repoRoot, run, type Service, startService } from "../support/processes.js";

/**
 * Every package manager `--pm` offers besides npm (whose projects every other e2e file uses), as a
 * new user meets it: the package manager from the npm registry, `create --pm <pm>` through the
 * packed CLI (which installs with it), then the project's `typecheck`, `test` and `dev` run by it.
 *
 * The projects live outside this repository, in the system's temporary folder: inside it, Node
 * would find what the project lacks in the repository's own node_modules (yarn classic's missing
 * `vite` went unnoticed that way).
 */

type Pm = keyof typeof TESTED_RELEASES;
const PACKAGE_MANAGERS = Object.keys(TESTED_RELEASES) as Pm[];

/** Installed once and kept between runs (.tmp is git-ignored); npm install is a quick no-op when they are there. */
const pmDir = join(repoRoot, ".tmp", "package-managers");
const LOCK_FILE: Record<Pm, string> = { pnpm: "pnpm-lock.yaml", yarn: "yarn.lock", bun: "bun.lock" };

let workDir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  mkdirSync(pmDir, { recursive: true });
  const installed = await run("npm", ["install", "--prefix", pmDir, "--no-save", "--no-audit", "--no-fund", ...Object.values(TESTED_RELEASES)], {
    cwd: pmDir,
    timeoutMs: 300_000,
  });
  if (installed.code !== 0) throw new Error(`installing ${Object.values(TESTED_RELEASES).join(", ")} failed:\n${installed.stdout}\n${installed.stderr}`);
  const bin = join(pmDir, "node_modules", ".bin");
  env = cleanEnv({ CI: "true", PATH: `${bin}${delimiter}${process.env.PATH}` });
  for (const pm of PACKAGE_MANAGERS) {
    const version = await run(pm, ["--version"], { cwd: pmDir, env, timeoutMs: 60_000 });
    if (version.code !== 0) throw new Error(`${pm} --version failed:\n${version.stdout}\n${version.stderr}`);
  }
  workDir = mkdtempSync(join(tmpdir(), "mcp-access-pm-"));
});

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe.each(PACKAGE_MANAGERS)("%s", (pm) => {
  const projects = { "self-hosted": "", saas: "" };
  const created: Partial<Record<keyof typeof projects, Result>> = {};

  beforeAll(async () => {
    for (const auth of ["self-hosted", "saas"] as const) {
      const name = `${pm}-${auth}`;
      projects[auth] = join(workDir, name);
      // The CLI runs `<pm> install` itself (and `wrangler types` after it), as it does for a user.
      created[auth] = await run(process.execPath, [cliBin, name, "--auth", auth, "--team", "acme", "--allow-domain", "example.com", "--features", "tests,lint,ci", "--pm", pm, "--no-git"], {
        cwd: workDir,
        env,
        timeoutMs: 300_000,
      });
    }
  });

  const inProject = (auth: keyof typeof projects, command: string, args: string[]) =>
    run(command, args, { cwd: projects[auth], env, timeoutMs: 300_000 });

  describe.each(["self-hosted", "saas"] as const)("%s", (auth) => {
    it(`create --pm ${pm} installs with ${pm}, no prompt and no approval asked`, () => {
      const result = created[auth]!;
      expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
      expect(`${result.stdout}${result.stderr}`).not.toMatch(/IGNORED_BUILDS|approve-builds|"wrangler types" failed/);
      expect(existsSync(join(projects[auth], LOCK_FILE[pm]))).toBe(true);
      expect(existsSync(join(projects[auth], "node_modules", ".bin", "wrangler"))).toBe(true);
      // The CI workflow installs with it too.
      expect(readFileSync(join(projects[auth], ".github", "workflows", "ci.yml"), "utf8")).toContain(`${pm} install --frozen-lockfile`);
    });

    it(`${pm} run typecheck, lint and test pass as generated`, async () => {
      for (const script of ["typecheck", "lint", "test"]) {
        const result = await inProject(auth, pm, ["run", script]);
        expect(result.code, `${pm} run ${script}:\n${result.stdout}\n${result.stderr}`).toBe(0);
        if (script === "test") expect(result.stdout).toMatch(/Tests\s+\d+ passed/);
      }
    });

    it("regenerate finds the package manager again: nothing to change", async () => {
      const result = await inProject(auth, process.execPath, [cliBin, "regenerate", "--check"]);
      expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    });
  });

  describe(`${pm} run dev (self-hosted)`, () => {
    let dev: Service | undefined;
    afterAll(async () => {
      await dev?.stop();
    });

    it("serves the Worker behind the Access emulator, which signs the MCP client in", async () => {
      const port = await freePort();
      // The emulator's own options follow the script name directly: `--` would hand them to wrangler.
      dev = startService(pm, ["run", "dev", "--port", String(port), "--email", "grace@example.com"], { cwd: projects["self-hosted"], env });
      const deadline = Date.now() + 120_000;
      while (!dev.output().includes("Press Ctrl-C to stop")) {
        if (Date.now() > deadline || dev.child.exitCode !== null) throw new Error(`${pm} run dev did not come up:\n${dev.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const { identity } = await callWhoami(`http://127.0.0.1:${port}/mcp`);
      expect(identity.email).toBe("grace@example.com");
    });
  });
});
