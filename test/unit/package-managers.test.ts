import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { parseArgv } from "../../src/answers/args.js";
import { regenerateProvisionedValues } from "../../src/apply/regeneration.js";
import { readProjectConfig, regenerate } from "../../src/commands/regenerate.js";
import { PACKAGE_MANAGERS, type PackageManager } from "../../src/config/options.js";
import type { TemplateSet } from "../../src/render/templates.js";
import { runScript } from "../../src/steps/package-manager.js";
import { createdInMemory, recordingUi, repoTemplates } from "../support/memory.js";

/**
 * What each package manager `--pm` offers needs in the project, rendered only for it: pnpm's
 * allowed builds, yarn classic's missing peer, and every command the project's own texts show.
 */

let templates: TemplateSet;
beforeAll(async () => {
  templates = await repoTemplates();
});

async function project(pm: PackageManager, more: string[] = []) {
  const said: string[] = [];
  const answers = ["--auth", "self-hosted", "--team", "acme", "--allow-domain", "example.com", "--features", "tests,ci,lint", "--pm", pm, ...more];
  const made = await createdInMemory(answers, templates, recordingUi(said));
  const read = (path: string) => made.volume.readFileSync(join(made.root, path), "utf8") as string;
  const has = (path: string) => made.volume.existsSync(join(made.root, path));
  return { ...made, said, read, has };
}

describe("package-manager-specific files, for that package manager only", () => {
  it("pnpm: pnpm-workspace.yaml allows exactly the builds the install needs (esbuild, workerd)", async () => {
    const { read } = await project("pnpm");
    expect(parseYaml(read("pnpm-workspace.yaml"))).toEqual({ allowBuilds: { esbuild: true, workerd: true } });
  });

  it.each(["npm", "yarn", "bun"] as const)("%s: no pnpm-workspace.yaml", async (pm) => {
    const { has } = await project(pm);
    expect(has("pnpm-workspace.yaml")).toBe(false);
  });

  it.each(PACKAGE_MANAGERS)("%s: vite, the peer vitest needs (yarn classic installs no peers), is a devDependency with the tests", async (pm) => {
    expect(JSON.parse((await project(pm)).read("package.json")).devDependencies.vite).toMatch(/^\^8\./);
    // Without the tests feature there is no vitest, so no peer to add.
    expect(JSON.parse((await project(pm, ["--features", "none"])).read("package.json")).devDependencies).not.toHaveProperty("vite");
  });
});

describe("commands shown in the project use its package manager", () => {
  it.each(["pnpm", "yarn", "bun"] as const)("%s: the CI workflow installs and runs with it", async (pm) => {
    const ci = (await project(pm)).read(".github/workflows/ci.yml");
    expect(ci).not.toMatch(/(^|[^p])npm (ci|run|test)|\bnpx\b|cache: npm/m);
    expect(ci).toContain(`npm install --global ${pm}@`);
    expect(ci).toContain(`- run: ${pm} install --frozen-lockfile`);
    expect(ci).toContain(`- run: ${runScript(pm, "test")}`);
    expect(ci).toContain(`- run: ${runScript(pm, "typecheck")}`);
    expect(ci).toContain(`- run: ${runScript(pm, "lint")}`);
  });

  it("the other auth mode and the JavaScript output too: saas, --lang js, with pnpm", async () => {
    const made = await project("pnpm", ["--auth", "saas", "--lang", "js"]);
    expect(made.has("src/auth.js")).toBe(true);
    expect(parseYaml(made.read("pnpm-workspace.yaml"))).toEqual({ allowBuilds: { esbuild: true, workerd: true } });
    const ci = made.read(".github/workflows/ci.yml");
    expect(ci).toContain("- run: pnpm run test");
    expect(ci).toContain("- run: pnpm exec wrangler deploy");
    expect(ci).not.toContain("typecheck"); // a JavaScript project has no typecheck script
    expect(made.read("README.md")).toContain("pnpm run provision --dry-run");
    // `pnpm deploy` is pnpm's own command (it deploys a workspace package), never the project's script.
    expect(made.read("README.md")).toContain("`pnpm run deploy`");
    expect(made.read("README.md")).not.toMatch(/pnpm (deploy|test|dev)\b/);
  });

  it("npm: the CI workflow is npm's (npm ci, with the npm cache)", async () => {
    const ci = (await project("npm")).read(".github/workflows/ci.yml");
    expect(ci).toContain("- run: npm ci");
    expect(ci).toContain("cache: npm");
    expect(ci).not.toContain("npm install --global");
  });

  it("scripts run with `run`: `bun test` is bun's test runner and `pnpm deploy` pnpm's, not the project's scripts", () => {
    expect(runScript("bun", "test")).toBe("bun run test");
    expect(runScript("bun", "dev")).toBe("bun run dev");
    expect(runScript("pnpm", "deploy")).toBe("pnpm run deploy");
    expect(runScript("yarn", "test")).toBe("yarn run test");
    expect(runScript("npm", "test")).toBe("npm run test");
  });

  it.each(["pnpm", "yarn", "bun"] as const)("%s: the README's optional parts name its commands, not npm's", async (pm) => {
    const readme = (await project(pm)).read("README.md");
    const optional = readme.slice(readme.indexOf("## Tests"));
    expect(optional).toContain(runScript(pm, "test"));
    expect(optional).toContain(runScript(pm, "lint"));
    expect(optional).not.toMatch(/(^|[^p])npm (run|test|ci)|package-lock/m);
    if (pm === "bun") expect(readme).not.toMatch(/`bun test`/);
  });

  it.each(["pnpm", "yarn", "bun"] as const)("%s: the next steps after create use it", async (pm) => {
    const { said } = await project(pm);
    const next = said.find((line) => line.startsWith("Next steps:"))!;
    expect(next).toContain(`${pm} install\n${runScript(pm, "dev")}`);
  });
});

describe("regenerate keeps the package manager's files", () => {
  const lockFiles: Record<PackageManager, string> = { npm: "package-lock.json", pnpm: "pnpm-lock.yaml", yarn: "yarn.lock", bun: "bun.lock" };

  it.each(PACKAGE_MANAGERS)("%s, installed (its lock file beside package.json): nothing to change", async (pm) => {
    const made = await project(pm);
    made.volume.writeFileSync(join(made.root, lockFiles[pm]), "");
    const said: string[] = [];
    const ctx = { cwd: made.root, env: {}, fs: made.fs, ui: recordingUi(said), print: (text: string) => said.push(text), loadTemplates: async () => templates, generatorVersion: "0.1.0" };
    expect(await regenerate(parseArgv(["regenerate", "--check"]), ctx)).toBe(0);
    expect(said.join("\n")).toMatch(/nothing to change/);
  });

  it("pnpm, before its first install: pnpm-workspace.yaml itself says so", async () => {
    const made = await project("pnpm");
    const said: string[] = [];
    const ctx = { cwd: made.root, env: {}, fs: made.fs, ui: recordingUi(said), print: (text: string) => said.push(text), loadTemplates: async () => templates, generatorVersion: "0.1.0" };
    expect(await regenerate(parseArgv(["regenerate", "--check"]), ctx)).toBe(0);
  });

  it("several lock files: pnpm-workspace.yaml decides, else npm", async () => {
    const made = await project("pnpm");
    for (const file of ["pnpm-lock.yaml", "package-lock.json"]) made.volume.writeFileSync(join(made.root, file), "");
    const said: string[] = [];
    const ctx = { cwd: made.root, env: {}, fs: made.fs, ui: recordingUi(said), print: (text: string) => said.push(text), loadTemplates: async () => templates, generatorVersion: "0.1.0" };
    expect(await regenerate(parseArgv(["regenerate", "--check"]), ctx)).toBe(0);
  });

  it.each(["pnpm", "bun"] as const)("%s: provision, bringing the Worker's host into the README, keeps its commands there", async (pm) => {
    const made = await project(pm);
    made.volume.writeFileSync(join(made.root, lockFiles[pm]), "");
    const config = { ...(await readProjectConfig(made.fs, made.root)), provisioned: { workersSubdomain: "acme" } };
    const changed = await regenerateProvisionedValues(made.fs, made.root, config, templates, "0.1.0", false);
    expect(changed).toContain("README.md");
    const readme = made.read("README.md");
    expect(readme).toContain("srv.acme.workers.dev");
    expect(readme).toContain(`${runScript(pm, "provision")} --dry-run`);
    expect(readme).toContain(`${runScript(pm, "regenerate")} --check`);
  });
});
