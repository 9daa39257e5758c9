import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import type { Config } from "../../src/config/config.js";
import type { Feature } from "../../src/config/options.js";
import { render } from "../../src/render/render.js";
import type { TemplateSet } from "../../src/render/templates.js";
import { configWith, renderMeta, repoTemplates } from "../support/memory.js";

let templates: TemplateSet;
beforeAll(async () => {
  templates = await repoTemplates();
});

function project(features: Feature[], more: Partial<Config> = {}) {
  const files = render(configWith({ features, ...more }), templates, renderMeta);
  const file = (path: string) => {
    const text = files.get(path);
    if (text === undefined) throw new Error(`${path} was not generated`);
    return text;
  };
  return { files, file, packageJson: JSON.parse(file("package.json")) };
}

interface Workflow {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<string, { if?: string; needs?: string; permissions?: unknown; steps: { uses?: string; run?: string; env?: Record<string, string>; with?: Record<string, unknown> }[] }>;
}

describe("--features ci", () => {
  const workflowOf = (features: Feature[], more: Partial<Config> = {}) =>
    parseYaml(project(features, more).file(".github/workflows/ci.yml")) as Workflow;

  it("checks every push and pull request, and deploys only a push to the default branch after the checks", () => {
    const workflow = workflowOf(["ci"]);
    expect(Object.keys(workflow.on).sort()).toEqual(["pull_request", "push"]);
    expect(workflow.jobs.deploy!.needs).toBe("check");
    expect(workflow.jobs.deploy!.if).toBe("github.event_name == 'push' && github.ref == format('refs/heads/{0}', github.event.repository.default_branch)");
  });

  it("has the least permissions, SHA-pinned actions, and no stored git credentials", () => {
    const workflow = workflowOf(["ci", "tests", "lint"]);
    expect(workflow.permissions).toEqual({ contents: "read" });
    for (const [name, job] of Object.entries(workflow.jobs)) {
      expect(job.permissions, name).toBeUndefined();
      for (const step of job.steps.filter((s) => s.uses)) {
        expect(step.uses, name).toMatch(/^actions\/(checkout|setup-node)@[0-9a-f]{40}$/);
        if (step.uses!.startsWith("actions/checkout")) expect(step.with).toMatchObject({ "persist-credentials": false });
      }
    }
  });

  it("hands the Cloudflare secrets to the deploy step only", () => {
    const text = project(["ci", "tests"]).file(".github/workflows/ci.yml");
    const workflow = parseYaml(text) as Workflow;
    expect(text.match(/\$\{\{ secrets\.[A-Z_]+ \}\}/g)).toEqual(["${{ secrets.CLOUDFLARE_API_TOKEN }}", "${{ secrets.CLOUDFLARE_ACCOUNT_ID }}"]);
    const deploy = workflow.jobs.deploy!.steps.at(-1)!;
    expect(deploy.run).toBe("npx wrangler deploy");
    expect(deploy.env).toEqual({ CLOUDFLARE_API_TOKEN: "${{ secrets.CLOUDFLARE_API_TOKEN }}", CLOUDFLARE_ACCOUNT_ID: "${{ secrets.CLOUDFLARE_ACCOUNT_ID }}" });
  });

  it.each([
    [["ci"], ["npm ci", "npm run typecheck"]],
    [["ci", "lint"], ["npm ci", "npm run typecheck", "npm run lint"]],
    [["ci", "tests", "lint"], ["npm ci", "npm run typecheck", "npm run lint", "npm test"]],
  ] as [Feature[], string[]][])("with %j, the check job runs exactly the scripts the project has", (features, runs) => {
    const { file, packageJson } = project(features);
    const workflow = parseYaml(file(".github/workflows/ci.yml")) as Workflow;
    const commands = workflow.jobs.check!.steps.flatMap((step) => (step.run ? [step.run] : []));
    expect(commands).toEqual(runs);
    for (const command of commands.filter((c) => c.startsWith("npm run "))) {
      expect(packageJson.scripts, command).toHaveProperty(command.slice("npm run ".length));
    }
  });

  it("says in the README which secrets to add", () => {
    expect(project(["ci"]).file("README.md")).toMatch(/`CLOUDFLARE_API_TOKEN`[\s\S]*`CLOUDFLARE_ACCOUNT_ID`/);
    expect(project([]).file("README.md")).not.toMatch(/Continuous integration/);
  });
});

describe("--features lint", () => {
  it("adds Biome, its settings and the lint and format scripts", () => {
    const { file, packageJson } = project(["lint"]);
    expect(packageJson.scripts).toMatchObject({ lint: "biome check", format: "biome check --write" });
    expect(packageJson.devDependencies).toHaveProperty("@biomejs/biome");
    const settings = JSON.parse(file("biome.json"));
    // What the tool writes and owns is left alone; everything else is checked.
    expect(settings.files.includes).toEqual(["**", "!**/*.md", "!mcp-access.json", "!.mcp-access", "!worker-configuration.d.ts"]);
    expect(file("README.md")).toMatch(/`npm run lint`/);
  });

  it("adds nothing without it", () => {
    const { files, packageJson } = project([]);
    expect(files.has("biome.json")).toBe(false);
    expect(packageJson.scripts).not.toHaveProperty("lint");
    expect(packageJson.devDependencies).not.toHaveProperty("@biomejs/biome");
  });
});

describe("--features examples", () => {
  it.each(["self-hosted", "saas"] as const)("%s: a resource and a prompt, registered with the caller's identity", (auth) => {
    const { file } = project(["examples"], { auth });
    const examples = file("src/examples.ts");
    expect(examples).toMatch(/server\.registerResource\(\s*"profile",\s*"profile:\/\/me"/);
    expect(examples).toMatch(/server\.registerPrompt\(\s*"status_update"/);
    expect(examples).toContain(auth === "saas" ? 'from "./access-oidc"' : 'from "./access"');
    const server = file("src/server.ts");
    expect(server).toContain('import { registerExamples } from "./examples";');
    expect(server).toContain("registerExamples(server, identity);");
  });

  it("leaves no trace without it", () => {
    const { files, file } = project([]);
    expect(files.has("src/examples.ts")).toBe(false);
    expect(file("src/server.ts")).not.toMatch(/examples/i);
    expect(file("README.md")).not.toMatch(/## Examples/);
  });
});

describe("--features tests", () => {
  const wiki = [{ name: "wiki", url: "https://wiki.example.com/api" }];
  const testFiles = (files: Map<string, string>) => [...files.keys()].filter((path) => /^(test\/|vitest\.config)/.test(path)).sort();
  const withoutApps = [
    "test/access.ts",
    "test/audit.test.ts",
    "test/auth.test.ts",
    "test/groups.test.ts",
    "test/mcp.ts",
    "test/network.ts",
    "test/tokens.ts",
    "test/tool-gate.test.ts",
    "test/tsconfig.json",
    "vitest.config.ts",
  ];

  it.each(["self-hosted", "saas"] as const)("%s: the tests of its own auth, two more files with downstream apps, npm test and its runner", (auth) => {
    expect(testFiles(project(["tests"], { auth }).files)).toEqual(withoutApps);
    const { files, file, packageJson } = project(["tests"], { auth, downstreams: wiki });
    expect(testFiles(files)).toEqual([...withoutApps.slice(0, 3), "test/downstream-app.ts", "test/downstream.test.ts", ...withoutApps.slice(3)]);
    expect(packageJson.scripts.test).toBe("vitest run");
    // The tests are type-checked with the rest (test/tsconfig.json adds the test runner's types).
    expect(packageJson.scripts.typecheck).toBe("wrangler types && tsc --noEmit && tsc --noEmit -p test");
    // vite is vitest's peer, declared because yarn classic installs no peers.
    expect(Object.keys(packageJson.devDependencies)).toEqual(["@cloudflare/vitest-plugin", "typescript", "vite", "vitest", "wrangler"]);
    // Each mode's tests drive its own auth: the Access JWT header, or the Worker's OAuth flow and its secrets.
    if (auth === "self-hosted") {
      expect(file("test/auth.test.ts")).toContain('"Cf-Access-Jwt-Assertion": token');
      expect(file("test/downstream.test.ts")).toContain('get("Cf-Access-Token")');
      expect(file("vitest.config.ts")).toMatch(/TEAM_DOMAIN: "http:\/\/127\.0\.0\.1:\d+"/);
    } else {
      expect(file("test/auth.test.ts")).toContain("signIn(new FakeAccess())");
      expect(file("test/downstream.test.ts")).toContain('get("Authorization")');
      expect(file("vitest.config.ts")).toMatch(/const ACCESS_APP = "http:\/\/127\.0\.0\.1:\d+\//);
    }
    const readme = file("README.md");
    expect(readme).toContain("## Tests");
    expect(readme).toContain("| `npm test` |");
    expect(readme).toContain("each `call_<name>` tool");
    expect(project(["tests"], { auth }).file("README.md")).not.toContain("each `call_<name>` tool");
  });

  it.each(["self-hosted", "saas"] as const)("%s: leaves no trace without it", (auth) => {
    const { files, file, packageJson } = project([], { auth, downstreams: wiki });
    expect(testFiles(files)).toEqual([]);
    expect(packageJson.scripts).not.toHaveProperty("test");
    expect(packageJson.scripts.typecheck).toBe("wrangler types && tsc --noEmit");
    expect(packageJson.devDependencies).not.toHaveProperty("vitest");
    expect(file("README.md")).not.toMatch(/## Tests|npm test|vitest/i);
  });
});
