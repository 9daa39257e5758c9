import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseJsonc } from "jsonc-parser";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Result, runCli } from "../support/processes.js";
import { e2eRoot, saasProject, selfHostedProject } from "../support/project.js";
import { filesUnder, linkNodeModules, Provisioning, removeDir } from "../support/provisioning.js";

/**
 * `--domain` end to end: the packed CLI, the real `cloudflare` SDK and the
 * project's real wrangler against the local fake of the Cloudflare API, which
 * keeps the account's zones and which hostname routes to which Worker. The
 * deploy's custom domain is what wrangler itself sends (changeset, records,
 * the workers.dev and preview switches), not what provision says it did.
 */
const root = join(e2eRoot, "custom-domain");
beforeAll(() => {
  removeDir(root);
  mkdirSync(root, { recursive: true });
});

let world: Provisioning | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

type Mode = "self-hosted" | "saas";
let seq = 0;
async function generate(auth: Mode, domain: string | undefined, extra: string[] = []): Promise<{ project: string; name: string }> {
  const name = `cd-${auth === "saas" ? "ss" : "sh"}-${++seq}`;
  const args = [name, "--auth", auth, "--allow-email", "ada@example.com", ...(domain ? ["--domain", domain] : []), "--no-install", "--no-git", "--yes", ...extra];
  const result = await runCli(args, { cwd: root });
  if (result.code !== 0) throw new Error(`create failed:\n${result.stdout}\n${result.stderr}`);
  const project = join(root, name);
  linkNodeModules(project, auth === "saas" ? saasProject : selfHostedProject);
  return { project, name };
}

const provision = (project: string, ...args: string[]) => runCli(["provision", ...args], { cwd: project, env: world!.env() });
const expectOk = (result: Result) => expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
const configOf = (project: string) => JSON.parse(readFileSync(join(project, "mcp-access.json"), "utf8"));
const editConfig = (project: string, change: (config: any) => void) => {
  const config = configOf(project);
  change(config);
  writeFileSync(join(project, "mcp-access.json"), `${JSON.stringify(config, null, 2)}\n`);
};
/** Where the Access app sends people: self-hosted, the hosts it protects; saas, the OIDC redirect URIs. */
function appHosts(mode: Mode, name: string): string[] {
  const app = world!.fake.account().apps.find((candidate) => candidate.name === `${name} (MCP server)`)!;
  if (mode === "saas") return app.saas_app.redirect_uris;
  return [app.domain, ...app.destinations.map((d: { uri: string }) => d.uri)];
}
const expectedHosts = (mode: Mode, host: string) => (mode === "saas" ? [`https://${host}/callback`] : [host, host]);
/** The account's Access and KV changes; wrangler's Worker calls aside. */
const accountChanges = () => world!.fake.mutations().filter((entry) => !entry.path.includes("/workers/"));
/** Which Worker each custom domain routes to, in the fake's state. */
const routes = () => Object.fromEntries(world!.fake.account().customDomains.map((domain) => [domain.hostname, domain.service]));

describe.each(["self-hosted", "saas"] as const)("provision --domain, %s", (mode) => {
  it("the Access app is on the custom host, the deploy attaches it with workers.dev and previews off; a re-run changes nothing; a new domain moves app and route", async () => {
    world = await Provisioning.start(root, { zones: ["example.com"] });
    // With a custom domain the account needs no workers.dev subdomain.
    world.fake.removeWorkersSubdomain();
    const { project, name } = await generate(mode, "mcp.example.com");

    const first = await provision(project);
    expectOk(first);
    expect(appHosts(mode, name)).toEqual(expectedHosts(mode, "mcp.example.com"));
    expect(routes()).toEqual({ "mcp.example.com": name });
    expect(world.fake.deployedWorker(name)).toMatchObject({ workersDev: { enabled: false, previews_enabled: false }, customDomains: ["mcp.example.com"] });
    // What wrangler sent: the switches off, the route in its zone.
    expect(world.fake.requests("POST", `/accounts/:account/workers/scripts/${name}/subdomain`).map((entry) => entry.body)).toEqual([{ enabled: false, previews_enabled: false }]);
    expect(world.fake.requests("PUT", `/accounts/:account/workers/scripts/${name}/domains/records`).map((entry) => entry.body.origins)).toEqual([[{ hostname: "mcp.example.com", zone_name: "example.com" }]]);
    const wrangler = parseJsonc(readFileSync(join(project, "wrangler.jsonc"), "utf8"));
    expect(wrangler).toMatchObject({ workers_dev: false, preview_urls: false, routes: [{ pattern: "mcp.example.com", custom_domain: true, zone_name: "example.com" }] });
    expect(configOf(project).provisioned.customDomain).toEqual({ hostname: "mcp.example.com", zone: "example.com" });
    expect(first.stdout).toContain("MCP endpoint: https://mcp.example.com/mcp");
    expect(first.stdout).not.toContain("workers.dev");
    console.log(`provision --domain, ${mode}, first run: ${world.fake.log.length} requests\n  ${world.fake.summary().map((line) => line.replace(/[0-9a-f]{32}/, ":account")).join("\n  ")}`);

    world.fake.clearLog();
    const again = await provision(project);
    expectOk(again);
    expect(accountChanges()).toEqual([]);
    expect(routes()).toEqual({ "mcp.example.com": name });
    expect(appHosts(mode, name)).toEqual(expectedHosts(mode, "mcp.example.com"));

    editConfig(project, (config) => (config.domain = "tools.example.com"));
    world.fake.clearLog();
    const moved = await provision(project);
    expectOk(moved);
    expect(appHosts(mode, name)).toEqual(expectedHosts(mode, "tools.example.com"));
    // The old host no longer routes to the Worker: wrangler's records call with the whole set replaced it.
    expect(routes()).toEqual({ "tools.example.com": name });
    expect(accountChanges().map((entry) => `${entry.method} ${entry.path.replace(/[0-9a-f]{32}/, ":account")}`)).toEqual([expect.stringMatching(/^PUT \/accounts\/:account\/access\/apps\//)]);
    expect(parseJsonc(readFileSync(join(project, "wrangler.jsonc"), "utf8")).routes).toEqual([{ pattern: "tools.example.com", custom_domain: true, zone_name: "example.com" }]);
    expect(moved.stdout).toContain("MCP endpoint: https://tools.example.com/mcp");

    // destroy detaches the custom domain before the Worker goes, and nothing of the project stays.
    const destroyed = await runCli(["destroy", "--yes"], { cwd: project, env: world.env() });
    expectOk(destroyed);
    expect(destroyed.stdout).toMatch(/the custom domain tools\.example\.com \([^)]+\): detached/);
    expect(routes()).toEqual({});
    expect(world.fake.deployedWorker(name)).toBeNull();
    expect(world.fake.account().apps.filter((app) => app.name === `${name} (MCP server)`)).toEqual([]);
    expect(configOf(project).provisioned.customDomain).toBeUndefined();
  });

  it("from workers.dev to a custom domain and back: the app and the Worker's URLs follow, and the custom domain is detached when it goes", async () => {
    world = await Provisioning.start(root, { zones: ["example.com"] });
    const { project, name } = await generate(mode, undefined);
    const workersDev = `${name}.acme.workers.dev`;
    expectOk(await provision(project));
    expect(appHosts(mode, name)).toEqual(expectedHosts(mode, workersDev));

    editConfig(project, (config) => (config.domain = "mcp.example.com"));
    expectOk(await provision(project));
    expect(appHosts(mode, name)).toEqual(expectedHosts(mode, "mcp.example.com"));
    expect(world.fake.deployedWorker(name)).toMatchObject({ workersDev: { enabled: false, previews_enabled: false }, customDomains: ["mcp.example.com"] });

    editConfig(project, (config) => delete config.domain);
    const back = await provision(project);
    expectOk(back);
    expect(appHosts(mode, name)).toEqual(expectedHosts(mode, workersDev));
    expect(routes()).toEqual({});
    expect(world.fake.deployedWorker(name)).toMatchObject({ workersDev: { enabled: true }, customDomains: [] });
    expect(configOf(project).provisioned).not.toHaveProperty("customDomain");
    expect(back.stdout).toContain(`MCP endpoint: https://${workersDev}/mcp`);
  });

  it("--lang js: the same custom domain, deployed from the JavaScript project", async () => {
    world = await Provisioning.start(root, { zones: ["example.com"] });
    const { project, name } = await generate(mode, "mcp.example.com", ["--lang", "js"]);
    expect(existsSync(join(project, "src", "index.js"))).toBe(true);
    expectOk(await provision(project));
    expect(appHosts(mode, name)).toEqual(expectedHosts(mode, "mcp.example.com"));
    expect(world.fake.deployedWorker(name)).toMatchObject({ mainModule: "index.js", workersDev: { enabled: false, previews_enabled: false }, customDomains: ["mcp.example.com"] });
  });

  it("a host in no zone of the account: exit 2 naming the host and the zones it sees; nothing created, no project file changed", async () => {
    world = await Provisioning.start(root, { zones: ["example.com", "example.net"] });
    const { project } = await generate(mode, "mcp.example.org");
    const before = filesUnder(project);
    const result = await provision(project);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/"mcp\.example\.org" is in no zone of the account [0-9a-f]{32}\. The zones the API token sees: "example\.com", "example\.net"/);
    expect(world.fake.mutations()).toEqual([]);
    expect(world.fake.account().apps).toEqual([]);
    // mcp-access.json learnt the account and team on the way, nothing of the domain; the project's files are as they were.
    expect(configOf(project).provisioned ?? {}).not.toHaveProperty("customDomain");
    const after = filesUnder(project);
    for (const path of Object.keys(before).filter((file) => file !== "mcp-access.json")) expect(after[path], path).toBe(before[path]);
  });

  it("a host with a DNS record of its own (a site already there): exit 2 naming it; nothing created, the record stays", async () => {
    world = await Provisioning.start(root, { zones: ["example.com"], dnsRecords: ["mcp.example.com"] });
    const { project, name } = await generate(mode, "mcp.example.com");
    const result = await provision(project);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/"mcp\.example\.com" already has DNS records of its own \(CNAME "[^"]+"\)/);
    expect(world.fake.mutations()).toEqual([]);
    expect(world.fake.account().apps).toEqual([]);
    expect(routes()).toEqual({});
    expect(world.fake.account().dnsRecords.map((record) => record.name)).toEqual(["mcp.example.com"]);
    expect(world.fake.deployedWorker(name)).toBeNull();
  });

  it("a host another Worker serves: exit 2 naming that Worker; nothing created, the host still routes there", async () => {
    world = await Provisioning.start(root, { zones: ["example.com"] });
    world.fake.addWorker("payroll");
    world.fake.account().customDomains.push({ id: "d".repeat(32), cert_id: "c", environment: "production", hostname: "mcp.example.com", service: "payroll", zone_id: world.fake.account().zones[0]!.id, zone_name: "example.com" });
    const { project } = await generate(mode, "mcp.example.com");
    const result = await provision(project);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/"mcp\.example\.com" is a custom domain of the Worker "payroll"/);
    expect(world.fake.mutations()).toEqual([]);
    expect(routes()).toEqual({ "mcp.example.com": "payroll" });
  });
});
