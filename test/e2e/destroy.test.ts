import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { cleanEnv, cliBin, type Result, run, runCli } from "../support/processes.js";
import { e2eRoot, saasProject, selfHostedProject } from "../support/project.js";
import { filesUnder, linkNodeModules, Provisioning, removeDir } from "../support/provisioning.js";
import { hasTmux, Terminal } from "../support/terminal.js";

/**
 * destroy end to end: the built CLI and the real `cloudflare` SDK against the
 * local fake of the Cloudflare API, after a full provision (the project's real
 * wrangler deploys) of each mode with a downstream app. Each mode is
 * provisioned once; every case starts from that state (the fake's, and
 * mcp-access.json's).
 */
const root = join(e2eRoot, "destroy");
let world: Provisioning;
const WIKI_APP = "bbbbbbbb-0000-4000-8000-000000000002";
const WIKI_STAFF = "aaaaaaaa-0000-4000-8000-000000000001";

interface Provisioned {
  project: string;
  name: string;
  config: string;
  state: unknown;
}
const projects: Partial<Record<"self-hosted" | "saas", Provisioned>> = {};

function expectOk(result: Result) {
  expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
}

/** The downstream app, as a user's own: a policy and settings of its own. */
function addWikiApp() {
  const account = world.fake.account();
  const staff = { id: WIKI_STAFF, name: "wiki staff", decision: "allow", include: [{ email_domain: { domain: "example.com" } }], exclude: [], require: [], reusable: true };
  account.policies.push(staff);
  account.apps.push({
    id: WIKI_APP,
    uid: WIKI_APP,
    type: "self_hosted",
    name: "Wiki",
    domain: "wiki.example.com",
    aud: "c".repeat(64),
    policies: [{ ...staff, precedence: 1 }],
    allowed_idps: [],
    auto_redirect_to_identity: false,
    session_duration: "6h",
  });
}

beforeAll(async () => {
  removeDir(root);
  mkdirSync(root, { recursive: true });
  world = await Provisioning.start(root);
  addWikiApp();
  for (const auth of ["self-hosted", "saas"] as const) {
    const name = auth === "saas" ? "ss-destroy" : "sh-destroy";
    const created = await runCli(
      [name, "--auth", auth, "--allow-domain", "example.com", "--downstream", "wiki=https://wiki.example.com", "--no-install", "--no-git", "--yes"],
      { cwd: root },
    );
    expectOk(created);
    const project = join(root, name);
    linkNodeModules(project, auth === "saas" ? saasProject : selfHostedProject);
    expectOk(await runCli(["provision"], { cwd: project, env: world.env() }));
    projects[auth] = { project, name, config: "", state: undefined };
  }
  // Both provisioned: this is the state every case starts from.
  const state = world.fake.save();
  for (const provisioned of Object.values(projects)) Object.assign(provisioned!, { config: readFileSync(configPath(provisioned!), "utf8"), state });
}, 600_000);
afterAll(async () => {
  await world?.stop();
});

beforeEach(() => {
  world.fake.restore(projects["self-hosted"]!.state);
  world.fake.clearFaults();
  world.fake.clearLog();
  for (const provisioned of Object.values(projects)) writeFileSync(configPath(provisioned!), provisioned!.config);
});

const configPath = (p: Provisioned) => join(p.project, "mcp-access.json");
const recorded = (p: Provisioned) => JSON.parse(readFileSync(configPath(p), "utf8"));
const destroy = (p: Provisioned, ...args: string[]) => runCli(["destroy", ...args], { cwd: p.project, env: world.env() });

/** What of the project is in the fake's state: its Worker, its app, its policies (by name), its KV namespace. */
function leftovers(p: Provisioned) {
  const account = world.fake.account();
  const ours = (name: string) => name.includes(p.name);
  return {
    worker: Boolean(account.workers[p.name]),
    apps: account.apps.filter((app) => ours(app.name)).map((app) => app.name),
    policies: account.policies.filter((policy) => ours(policy.name)).map((policy) => policy.name),
    kv: account.kvNamespaces.filter((namespace) => ours(namespace.title)).map((namespace) => namespace.title),
    onWiki: account.apps.find((app) => app.id === WIKI_APP)!.policies.map((policy: { id: string }) => policy.id),
  };
}
const NOTHING_BUT_THE_OTHER_PROJECTS_LINK = (other: Provisioned) => {
  const lat = world.fake.account().policies.find((policy) => policy.name === `Allow requests from MCP server ${other.name}`);
  return [WIKI_STAFF, lat.id];
};

describe.each(["self-hosted", "saas"] as const)("destroy after a full provision (%s, with a downstream app)", (auth) => {
  const other = auth === "saas" ? "self-hosted" : "saas";

  it("npm run destroy -- --yes removes everything of the project's; the wiki keeps its own policy and settings; a re-run sends no write", async () => {
    const p = projects[auth]!;
    const wikiBefore = structuredClone(world.fake.account().apps.find((app) => app.id === WIKI_APP));
    const files = filesUnder(p.project);
    const result = await run("npm", ["run", "destroy", "--", "--yes"], { cwd: p.project, env: cleanEnv({ ...world.env(), CI: "true", npm_config_offline: "true" }) });
    expectOk(result);
    console.log(`destroy, ${auth} with one downstream app: ${world.fake.log.length} requests\n  ${world.fake.summary().map((line) => line.replace(/[0-9a-f]{32}/, ":account")).join("\n  ")}`);
    // Reads: the Linked App Token policy, the downstream app, the reusable policies (two pages: the SDK asks until one is
    // empty), our app, (saas: the KV namespaces, two pages), the Worker's settings, the allow policy. Then the five or six writes.
    expect(world.fake.log).toHaveLength(auth === "saas" ? 15 : 12);

    const expectedWiki = NOTHING_BUT_THE_OTHER_PROJECTS_LINK(projects[other]!);
    expect(leftovers(p)).toEqual({ worker: false, apps: [], policies: [], kv: [], onWiki: expectedWiki });
    const wikiAfter = world.fake.account().apps.find((app) => app.id === WIKI_APP);
    const { policies: _before, updated_at: _b, ...wikiSettingsBefore } = wikiBefore;
    const { policies: _after, updated_at: _a, ...wikiSettingsAfter } = wikiAfter;
    expect(wikiSettingsAfter).toEqual(wikiSettingsBefore);
    expect(wikiAfter.policies.find((policy: { id: string }) => policy.id === WIKI_STAFF).precedence).toBe(1);
    // The other project is untouched.
    expect(leftovers(projects[other]!)).toMatchObject({ worker: true, apps: [`${projects[other]!.name} (MCP server)`] });

    expect(recorded(p).provisioned).toEqual({ workersSubdomain: "acme" });
    const { "mcp-access.json": _config, ...others } = filesUnder(p.project);
    const { "mcp-access.json": _configBefore, ...othersBefore } = files;
    expect(others).toEqual(othersBefore);
    expect(result.stdout).toMatch(/npm run provision sets it all up again/);
    expect(result.stdout).not.toContain(world.fake.token);

    world.fake.clearLog();
    expectOk(await destroy(p, "--yes"));
    expect(world.fake.mutations()).toEqual([]);
    expect(world.foreignConnections()).toEqual([]);
  });

  it("an app recorded in provisioned that is somebody else's survives and is reported (exit 1)", async () => {
    const p = projects[auth]!;
    const account = world.fake.account();
    const payroll = {
      id: "dddddddd-0000-4000-8000-000000000004",
      uid: "dddddddd-0000-4000-8000-000000000004",
      type: auth === "saas" ? "saas" : "self_hosted",
      name: "Payroll",
      ...(auth === "saas" ? { saas_app: { auth_type: "oidc", redirect_uris: ["https://payroll.example.com/cb"], client_id: "p".repeat(32) } } : { domain: "payroll.example.com" }),
      aud: "e".repeat(64),
      policies: [],
    };
    account.apps.push(payroll);
    const config = recorded(p);
    config.provisioned.accessApp = { id: payroll.id };
    writeFileSync(configPath(p), JSON.stringify(config, null, 2));

    const result = await destroy(p, "--yes");
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(world.fake.account().apps.find((app) => app.id === payroll.id)).toMatchObject({ name: "Payroll" });
    expect(result.stdout).toMatch(/Left alone:[\s\S]*"Payroll"[^\n]*not provably this project's/);
    expect(world.fake.requests("DELETE", `/accounts/:account/access/apps/${payroll.id}`)).toEqual([]);
  });

  it("--dry-run lists every call and changes nothing (the fake's state and mcp-access.json identical)", async () => {
    const p = projects[auth]!;
    const before = world.fake.save();
    const result = await destroy(p, "--dry-run");
    expectOk(result);
    expect(world.fake.mutations()).toEqual([]);
    expect(world.fake.save()).toEqual(before);
    expect(readFileSync(configPath(p), "utf8")).toBe(p.config);
    expect(result.stdout).toMatch(/not sent {2}DELETE \/accounts\/[0-9a-f]{32}\/workers\/scripts\//);
  });

  it("without a terminal and without --yes: exit 2, not one request", async () => {
    const result = await destroy(projects[auth]!);
    expect(result.code).toBe(2);
    expect(result.stdout + result.stderr).toMatch(/add --yes/);
    expect(world.fake.log).toEqual([]);
  });
});

describe("a failure at any step, then a re-run, ends as an uninterrupted run does (saas)", () => {
  let expected: ReturnType<typeof leftovers>;
  let expectedConfig: unknown;
  beforeAll(async () => {
    const p = projects.saas!;
    world.fake.restore(p.state);
    writeFileSync(configPath(p), p.config);
    expectOk(await destroy(p, "--yes"));
    expected = leftovers(p);
    expectedConfig = recorded(p).provisioned;
  });

  it.each([
    ["the downstream app's update", "PUT", `/accounts/:account/access/apps/${WIKI_APP}`, 0],
    ["the Linked App Token policy", "DELETE", "/accounts/:account/access/policies/:policy", 0],
    ["the Worker", "DELETE", "/accounts/:account/workers/scripts/:name", 0],
    ["the Access app", "DELETE", "/accounts/:account/access/apps/:app", 0],
    ["the allow policy", "DELETE", "/accounts/:account/access/policies/:policy", 1],
    ["the KV namespace", "DELETE", "/accounts/:account/storage/kv/namespaces/:ns", 0],
  ] as const)("%s", async (_step, method, path, after) => {
    const p = projects.saas!;
    // 403: the SDK does not retry it, so the run stops there.
    const fault = world.fake.addFault({ method, path, status: 403, times: 1, after });
    const failed = await destroy(p, "--yes");
    expect(failed.code, failed.stdout + failed.stderr).toBe(1);
    expect(fault.hits).toBe(1);
    expect(failed.stderr + failed.stdout).toMatch(/answered 403[\s\S]*run destroy again/);
    expectOk(await destroy(p, "--yes"));
    expect(leftovers(p)).toEqual(expected);
    expect(recorded(p).provisioned).toEqual(expectedConfig);
  });
});

describe.skipIf(!hasTmux)("destroy in a terminal", () => {
  it("lists what will go and asks: no deletes nothing; yes deletes it", async () => {
    const p = projects["self-hosted"]!;
    const { CI: _, NODE_OPTIONS: __, ...env } = cleanEnv(world.env());
    const ask = async (answer: string[]) => {
      const terminal = new Terminal([process.execPath, cliBin, "destroy"], { cwd: p.project, env });
      try {
        await terminal.waitFor(/To remove:[\s\S]*the Worker "sh-destroy": deleted[\s\S]*Delete these 5 for good\?/);
        terminal.press(...answer);
        return await terminal.exitCode();
      } finally {
        terminal.close();
      }
    };
    // The default is No.
    expect(await ask(["Enter"])).toBe(130);
    expect(world.fake.mutations()).toEqual([]);
    expect(await ask(["Left", "Enter"])).toBe(0);
    expect(leftovers(p)).toMatchObject({ worker: false, apps: [], policies: [] });
  });
});
