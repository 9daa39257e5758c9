import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Check } from "../../src/doctor/checks.js";
import { cleanEnv, freePort, run, runCli, type Service, startService } from "../support/processes.js";
import { e2eRoot, saasProject, selfHostedProject } from "../support/project.js";
import { linkNodeModules, Provisioning, removeDir } from "../support/provisioning.js";
import { type SaasDev, startSaasDev } from "../support/saas.js";

/**
 * `doctor` end to end: the packed CLI against generated projects running
 * under `npm run dev` (the public checks, the local emulator playing Access in
 * self-hosted mode), and, after a real `provision` (the real SDK and wrangler
 * against the local fake of the Cloudflare API), against the fake's state,
 * changed behind provision's back the way a dashboard edit would.
 */

interface Report {
  ok: boolean;
  url: string | null;
  checks: Check[];
}

function parseReport(stdout: string): Report {
  return JSON.parse(stdout) as Report;
}

const PUBLIC_IDS = ["reachable", "challenge", "resource-metadata", "authorization-server", "cors"];

describe("doctor against npm run dev", () => {
  it("self-hosted: the local Access emulator answers as Managed OAuth does, and every public check passes (exit 0)", async () => {
    const port = await freePort();
    const dev: Service = startService("npm", ["run", "dev", "--", "--port", String(port)], { cwd: selfHostedProject, env: cleanEnv() });
    try {
      const deadline = Date.now() + 90_000;
      while (!dev.output().includes("Press Ctrl-C to stop")) {
        if (Date.now() > deadline || dev.child.exitCode !== null) throw new Error(`npm run dev did not come up:\n${dev.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const origin = `http://127.0.0.1:${port}`;
      const result = await runCli(["doctor", "--url", origin, "--json"], { cwd: selfHostedProject });
      const report = parseReport(result.stdout);
      expect(report.checks.filter((c) => c.status !== "ok" && c.group === "public"), result.stdout).toEqual([]);
      expect(report.checks.map((c) => c.id)).toEqual([...PUBLIC_IDS, "token"]);
      expect(report.checks.at(-1)).toMatchObject({ status: "skip" });
      expect(result.code).toBe(0);
      expect(report).toMatchObject({ ok: true, url: origin });
      expect(report.checks.find((c) => c.id === "resource-metadata")!.message).toContain(`${origin}/mcp`);

      // The MCP clients this emulator signs in still get through as before: the signed-out answer is only for those asking.
      const signedIn = await fetch(`${origin}/mcp`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
      });
      expect(signedIn.status).toBe(200);
      // Asked for a signed-out answer, the emulator gives Access's 401; a path that cannot go into the header's quoted value is left out of it.
      const challenge = await fetch(`${origin}/mcp%22,x=%22y`, { method: "POST", headers: { "X-Access-Emulator-Session": "signed-out" } });
      expect(challenge.status).toBe(401);
      expect(challenge.headers.get("www-authenticate")).toBe(`Bearer realm="OAuth", error="invalid_token", resource_metadata="${origin}/.well-known/cloudflare-access-protected-resource/"`);
      // A web page on another origin is refused before anything else, header or not.
      const page = await fetch(`${origin}/mcp`, { method: "POST", headers: { "X-Access-Emulator-Session": "signed-out", Origin: "http://localhost:6006" } });
      expect(page.status).toBe(403);

      // The same, for a person: plain text, exit 0.
      const text = await runCli(["doctor", "--url", `${origin}/mcp`], { cwd: selfHostedProject });
      expect(text.code, text.stdout + text.stderr).toBe(0);
      expect(text.stdout).toMatch(/ok +challenge: POST \/mcp asks for sign-in/);
      expect(text.stdout).toMatch(/skip {2}token: Not checked: CLOUDFLARE_API_TOKEN is not set/);
      expect(text.stdout).toContain("All well.");
    } finally {
      await dev.stop();
    }
  });

  it("saas: the Worker is its own authorization server, and every public check passes (exit 0)", async () => {
    let dev: SaasDev | undefined;
    try {
      dev = await startSaasDev(saasProject);
      const result = await runCli(["doctor", "--url", dev.origin, "--json"], { cwd: saasProject });
      const report = parseReport(result.stdout);
      expect(report.checks.filter((c) => c.status !== "ok" && c.group === "public"), result.stdout).toEqual([]);
      expect(result.code).toBe(0);
      expect(report.checks.find((c) => c.id === "authorization-server")!.message).toContain(dev.origin);
    } finally {
      await dev?.stop();
    }
  });

  it("a URL nothing listens on is the first finding, exit 1; a URL it may not use is exit 2", async () => {
    const port = await freePort();
    const down = await runCli(["doctor", "--url", `http://127.0.0.1:${port}`], { cwd: selfHostedProject });
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/FAIL {2}reachable: http:\/\/127\.0\.0\.1:\d+\/mcp does not answer: nothing accepts the connection/);
    expect(down.stdout).toContain("fix: Start the server with npm run dev");
    const plain = await runCli(["doctor", "--url", "http://example.com"], { cwd: selfHostedProject });
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain('--url "http://example.com" must use https://');
  });
});

/**
 * Production's public answers, played on loopback: Access with Managed OAuth in front (self-hosted) or the
 * Worker's OAuth provider (saas), with this server as the authorization server (doctor's rule for a
 * loopback URL). The deployed Worker is in the fake's state; this stands for the network in front of it.
 */
async function startLivePublic(): Promise<{ origin: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(JSON.stringify(body));
    };
    const path = req.url!.split("?")[0];
    if (req.method === "OPTIONS") {
      res.writeHead(204, { "access-control-allow-origin": "*", "access-control-allow-headers": "Authorization, Content-Type, MCP-Protocol-Version" });
      return res.end();
    }
    if (path === "/mcp") return json(401, { error: "invalid_token" }, { "www-authenticate": `Bearer resource_metadata="${origin}/.well-known/cloudflare-access-protected-resource/mcp"` });
    if (path === "/.well-known/cloudflare-access-protected-resource/mcp") return json(200, { resource: `${origin}/mcp`, authorization_servers: [origin] });
    if (path === "/.well-known/oauth-authorization-server") {
      return json(200, { issuer: origin, authorization_endpoint: `${origin}/a`, token_endpoint: `${origin}/t`, registration_endpoint: `${origin}/r`, code_challenge_methods_supported: ["S256"] });
    }
    json(404, {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe("doctor against the Cloudflare API (the local fake), after a real provision", () => {
  const root = join(e2eRoot, "doctor");
  let live: Awaited<ReturnType<typeof startLivePublic>>;
  let world: Provisioning | undefined;
  beforeAll(async () => {
    removeDir(root);
    mkdirSync(root, { recursive: true });
    live = await startLivePublic();
  });
  afterAll(async () => {
    await live?.close();
  });
  afterEach(async () => {
    await world?.stop();
    world = undefined;
  });

  /** A provisioned project of this mode with one downstream app, the Wiki, already protected by Access in the account. */
  async function provisioned(auth: "self-hosted" | "saas") {
    world = await Provisioning.start(root);
    const account = world.fake.account();
    const staff = { id: "aaaaaaaa-0000-4000-8000-000000000001", name: "wiki staff", decision: "allow", include: [{ email_domain: { domain: "example.com" } }], exclude: [], require: [], reusable: true };
    account.policies.push(staff);
    account.apps.push({ id: "bbbbbbbb-0000-4000-8000-000000000002", uid: "bbbbbbbb-0000-4000-8000-000000000002", type: "self_hosted", name: "Wiki", domain: "wiki.example.com", aud: "c".repeat(64), policies: [{ ...staff, precedence: 1 }], allowed_idps: [], auto_redirect_to_identity: false, session_duration: "6h" });
    const name = `${auth === "saas" ? "dss" : "dsh"}-${Math.random().toString(16).slice(2, 8)}`;
    const created = await runCli([name, "--auth", auth, "--allow-domain", "example.com", "--downstream", "wiki=https://wiki.example.com", "--no-install", "--no-git", "--yes"], { cwd: root });
    expect(created.code, created.stdout + created.stderr).toBe(0);
    const project = join(root, name);
    linkNodeModules(project, auth === "saas" ? saasProject : selfHostedProject);
    const provision = await runCli(["provision"], { cwd: project, env: world.env() });
    expect(provision.code, provision.stdout + provision.stderr).toBe(0);
    const app = () => account.apps.find((candidate) => candidate.name === `${name} (MCP server)`);
    /** doctor as CI runs it: npm run doctor, JSON, the token and the fake's address in the environment. */
    const doctor = async () => {
      world!.fake.clearLog();
      const result = await run("npm", ["run", "--silent", "doctor", "--", "--url", live.origin, "--json"], {
        cwd: project,
        env: cleanEnv({ ...world!.env(), CI: "true", npm_config_offline: "true" }),
      });
      const report = parseReport(result.stdout);
      return { code: result.code, report, check: (id: string) => report.checks.find((c) => c.id === id)!, log: world!.fake.log, output: result.stdout + result.stderr };
    };
    return { name, project, account, app, doctor, config: () => JSON.parse(readFileSync(join(project, "mcp-access.json"), "utf8")) };
  }

  it("self-hosted: all is well after provision (exit 0), with GETs only; each drift is then found and named (exit 1)", async () => {
    const p = await provisioned("self-hosted");
    const well = await p.doctor();
    expect(well.report.checks.filter((c) => c.status !== "ok"), well.output).toEqual([]);
    expect(well.code).toBe(0);
    expect(well.log.every((entry) => entry.method === "GET")).toBe(true);
    console.log(`doctor, self-hosted with one downstream app: ${well.log.length} API requests\n  ${world!.fake.summary().map((line) => line.replace(/[0-9a-f]{32}/, ":account")).join("\n  ")}`);
    expect(well.log.map((entry) => entry.path.replace(/\/accounts\/[0-9a-f]{32}/, ""))).toEqual([
      `/access/apps/${p.app().id}`,
      `/access/policies/${p.config().provisioned.allowPolicyId}`,
      "/access/apps/bbbbbbbb-0000-4000-8000-000000000002",
      `/access/policies/${p.config().provisioned.downstreams.wiki.policyId}`,
      `/workers/scripts/${p.name}/settings`,
    ]);

    // Managed OAuth turned off in the dashboard.
    p.app().oauth_configuration.enabled = false;
    let found = await p.doctor();
    expect(found.code).toBe(1);
    expect(found.check("access-app")).toMatchObject({ status: "fail", message: expect.stringContaining("Managed OAuth is off") });
    expect(found.check("access-app").drift).toContainEqual({ field: "oauth_configuration.enabled", expected: true, actual: false });
    p.app().oauth_configuration.enabled = true;

    // A redirect URI removed from the allowlist.
    const registration = p.app().oauth_configuration.dynamic_client_registration;
    const allowed = [...registration.allowed_uris];
    registration.allowed_uris = allowed.filter((uri: string) => uri !== "https://claude.ai/api/mcp/auth_callback");
    found = await p.doctor();
    expect(found.code).toBe(1);
    expect(found.check("access-app").message).toContain("redirect allowlist");
    expect(found.check("access-app").drift![0]).toMatchObject({ field: "oauth_configuration.dynamic_client_registration.allowed_uris", expected: expect.arrayContaining(["https://claude.ai/api/mcp/auth_callback"]) });
    registration.allowed_uris = allowed;

    // The allow policy detached from the app.
    const policies = p.app().policies;
    p.app().policies = [];
    found = await p.doctor();
    expect(found.code).toBe(1);
    expect(found.check("access-app")).toMatchObject({ message: expect.stringContaining("the allow policy is not attached"), drift: [{ field: "policies", expected: [policies[0].id], actual: [] }] });
    p.app().policies = policies;

    // The app moved to another host.
    const hosts = { domain: p.app().domain, destinations: p.app().destinations, self_hosted_domains: p.app().self_hosted_domains };
    Object.assign(p.app(), { domain: "elsewhere.example.com", destinations: [{ type: "public", uri: "elsewhere.example.com" }], self_hosted_domains: ["elsewhere.example.com"] });
    found = await p.doctor();
    expect(found.code).toBe(1);
    expect(found.check("access-app").message).toContain(`it does not protect ${p.name}.acme.workers.dev`);
    Object.assign(p.app(), hosts);

    // The Linked App Token policy taken off the downstream app.
    const wiki = p.account.apps.find((candidate) => candidate.name === "Wiki");
    const wikiPolicies = wiki.policies;
    wiki.policies = wikiPolicies.filter((policy: { id: string }) => policy.id !== p.config().provisioned.downstreams.wiki.policyId);
    found = await p.doctor();
    expect(found.code).toBe(1);
    expect(found.check("downstream:wiki")).toMatchObject({ status: "fail", message: expect.stringContaining('the Linked App Token policy is not on "Wiki"') });
    wiki.policies = wikiPolicies;

    expect((await p.doctor()).code).toBe(0);
    expect(world!.foreignConnections()).toEqual([]);
  });

  it("saas: all is well after provision (exit 0); a missing secret is named by name, never a value (exit 1)", async () => {
    const p = await provisioned("saas");
    const well = await p.doctor();
    expect(well.report.checks.filter((c) => c.status !== "ok"), well.output).toEqual([]);
    expect(well.code).toBe(0);
    console.log(`doctor, saas with one downstream app: ${well.log.length} API requests`);
    expect(well.log.every((entry) => entry.method === "GET")).toBe(true);

    const deployed = world!.fake.deployedWorker(p.name) as { secrets: Record<string, string> };
    const worker = p.account.workers[p.name];
    const version = worker.versions.find((candidate: { id: string }) => candidate.id === worker.deployedVersionId);
    const cookieKey = deployed.secrets.COOKIE_ENCRYPTION_KEY!;
    version.bindings = version.bindings.filter((binding: { name: string }) => binding.name !== "COOKIE_ENCRYPTION_KEY");
    const found = await p.doctor();
    expect(found.code).toBe(1);
    expect(found.check("worker")).toMatchObject({ status: "fail", message: expect.stringContaining("the secret COOKIE_ENCRYPTION_KEY is missing") });
    expect(found.output).not.toContain(cookieKey);
    expect(found.output).not.toContain(world!.fake.token);

    // The SaaS app's redirect URI moved off the Worker's host.
    p.app().saas_app.redirect_uris = ["https://elsewhere.example.com/callback"];
    expect((await p.doctor()).check("access-app")).toMatchObject({ status: "fail", message: expect.stringContaining(`redirect URIs lack https://${p.name}.acme.workers.dev/callback`) });
    expect(world!.foreignConnections()).toEqual([]);
  });
});
