import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeAccess, startFakeAccess, startSelfHostedWorker } from "../support/access.js";
import { RedirectTarget, registerClient, signInForTokens } from "../support/oauth.js";
import { cleanEnv, freePort, runCli, type Service, startService } from "../support/processes.js";
import { e2eRoot, saasProject, selfHostedProject } from "../support/project.js";
import { startRecorder } from "../support/recorder.js";
import { type SaasDev, startSaasDev } from "../support/saas.js";

/**
 * Who may call what (issue 14, SPEC §9) in generated projects of both modes and both languages,
 * under `wrangler dev` with the local Access stand-ins: two users with different groups see
 * different tool lists and get different answers for the same call, a refused call reaches no
 * downstream app, a rate limit holds under concurrent calls from one user while another is not
 * affected, and every call leaves one audit line in the Worker's output, with no token anywhere in it.
 */
const LIMIT = 4;
const config = (appOrigin: string, auth: string, lang: string) => ({
  name: "governed",
  auth,
  team: "https://acme.cloudflareaccess.com",
  access: { emails: [], domains: ["example.com"], idps: [] },
  downstreams: [{ name: "wiki", url: `${appOrigin}/api` }],
  tools: { call_wiki: { allow: { groups: ["wiki-editors"] } } },
  rateLimit: { limit: LIMIT, period: 60 },
  lang,
  features: [],
});

interface Caller {
  /** Headers that make a request this user's. */
  headers: Record<string, string>;
  /** Every secret of this user's that must never be logged. */
  secrets: string[];
}

interface Running {
  origin: string;
  output: () => string;
  /** Signs a user in (with these Access groups) and returns how their requests are made. */
  signIn: (email: string, groups: string[]) => Promise<Caller>;
  /** How many times the Worker asked Access for groups (self-hosted only). */
  identityRequests?: () => number;
  stop: () => Promise<void>;
}

type ToolResult = { content: { type: string; text: string }[]; isError?: boolean; structuredContent?: unknown };

async function withClient<T>(origin: string, caller: Caller, use: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ name: "governance-e2e", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${origin}/mcp`), { requestInit: { headers: caller.headers } }));
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

const toolNames = (origin: string, caller: Caller) =>
  withClient(origin, caller, async (client) => (await client.listTools()).tools.map((tool) => tool.name).sort());
const callTool = (origin: string, caller: Caller, name: string, args: Record<string, unknown> = {}) =>
  withClient(origin, caller, async (client) => (await client.callTool({ name, arguments: args })) as ToolResult);

/** The audit lines in the Worker's output. */
function auditLines(output: string): Record<string, unknown>[] {
  return output
    .split("\n")
    .map((line) => line.slice(line.indexOf("{")))
    .filter((line) => line.startsWith('{"event":"mcp.tool_call"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Waits, if needed, so a burst of calls lands inside one rate-limit window (local limits count per fixed minute). */
async function awayFromWindowEdge(period = 60_000): Promise<void> {
  const into = Date.now() % period;
  if (into > period - 5_000) await new Promise((resolve) => setTimeout(resolve, period - into + 250));
}

async function generate(root: string, auth: "self-hosted" | "saas", lang: "ts" | "js", appOrigin: string): Promise<string> {
  const configFile = join(root, `${auth}-${lang}.json`);
  writeFileSync(configFile, JSON.stringify(config(appOrigin, auth, lang)));
  const dir = `${auth}-${lang}`;
  const result = await runCli([dir, "--config", configFile, "--yes", "--no-install", "--no-git"], { cwd: root });
  if (result.code !== 0) throw new Error(`generating ${dir} failed (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  const project = join(root, dir);
  // The same dependencies as the shared project of that mode: reuse its install.
  symlinkSync(join(auth === "saas" ? saasProject : selfHostedProject, "node_modules"), join(project, "node_modules"));
  return project;
}

async function startSelfHosted(project: string): Promise<Running> {
  const access: FakeAccess = await startFakeAccess();
  let worker: Service;
  let origin: string;
  try {
    ({ base: origin, worker } = await startSelfHostedWorker(project, access));
  } catch (error) {
    await access.close();
    throw error;
  }
  let users = 0;
  return {
    origin,
    output: () => worker.output(),
    identityRequests: access.identityRequests,
    async signIn(email, groups) {
      access.groups.set(email, groups);
      const token = access.token({ claims: { email, sub: `user-${++users}-${email}` } });
      return { headers: { "Cf-Access-Jwt-Assertion": token }, secrets: [token] };
    },
    async stop() {
      await worker.stop();
      await access.close();
    },
  };
}

async function startSaas(project: string): Promise<Running> {
  const [dev, target]: [SaasDev, RedirectTarget] = await Promise.all([startSaasDev(project), RedirectTarget.start()]);
  const { client_id: clientId } = await registerClient(dev.origin, { client_name: "governance e2e", redirect_uris: [target.uri] });
  return {
    origin: dev.origin,
    output: () => dev.service.output(),
    async signIn(email, groups) {
      const answer = await signInForTokens(dev.origin, { clientId, target, email, groups });
      if (answer.status !== 200) throw new Error(`sign-in failed: ${answer.text}`);
      const body = answer.body as { access_token: string; refresh_token?: string };
      return {
        headers: { Authorization: `Bearer ${body.access_token}` },
        secrets: [body.access_token, ...(body.refresh_token ? [body.refresh_token] : [])],
      };
    },
    async stop() {
      await dev.stop();
      await target.close();
    },
  };
}

const cases = [
  ["self-hosted", "ts"],
  ["self-hosted", "js"],
  ["saas", "ts"],
  ["saas", "js"],
] as const;

describe.each(cases)("who may call what: %s, %s", (auth, lang) => {
  let root: string;
  let app: Awaited<ReturnType<typeof startRecorder>>;
  let server: Running;
  let editor: Caller;
  let outsider: Caller;
  const callers: Caller[] = [];

  beforeAll(async () => {
    root = mkdtempSync(join(e2eRoot, `governance-${auth}-${lang}-`));
    app = await startRecorder();
    const project = await generate(root, auth, lang, app.origin);
    server = auth === "saas" ? await startSaas(project) : await startSelfHosted(project);
    editor = await server.signIn("editor@example.com", ["wiki-editors", "staff"]);
    outsider = await server.signIn("outsider@example.com", ["staff"]);
    callers.push(editor, outsider);
  }, 240_000);
  afterAll(async () => {
    await server?.stop();
    await app?.close();
    if (root && existsSync(root)) rmSync(root, { recursive: true, force: true });
  });

  it("shows each user only the tools they may call", async () => {
    expect(await toolNames(server.origin, editor)).toEqual(["call_wiki", "whoami"]);
    expect(await toolNames(server.origin, outsider)).toEqual(["whoami"]);
  });

  it("gives the same call different answers, and a refused call reaches no downstream app", async () => {
    const refused = await callTool(server.origin, outsider, "call_wiki", { path: "/pages/1" });
    expect(refused.isError).toBe(true);
    expect(refused.content[0]?.text).toMatch(/do not have access to the tool call_wiki/);
    expect(refused.content[0]?.text).not.toMatch(/wiki-editors|editor@/);
    expect(app.requests).toHaveLength(0);

    const allowed = await callTool(server.origin, editor, "call_wiki", { path: "/pages/1" });
    expect(allowed.isError ?? false).toBe(false);
    expect(app.requests.map((request) => request.url)).toEqual(["/api/pages/1"]);
  });

  it("holds the rate limit under concurrent calls from one user, and another user is not affected", async () => {
    const busy = await server.signIn("busy@example.com", []);
    const calm = await server.signIn("calm@example.com", []);
    callers.push(busy, calm);
    await awayFromWindowEdge();
    const results = await Promise.all(Array.from({ length: LIMIT + 3 }, () => callTool(server.origin, busy, "whoami")));
    const limited = results.filter((result) => result.isError);
    expect(results.length - limited.length).toBe(LIMIT);
    expect(limited).toHaveLength(3);
    for (const result of limited) expect(result.content[0]?.text).toMatch(/Rate limit reached: at most 4 calls in 60 seconds\. Try again in 60 seconds/);
    expect((await callTool(server.origin, calm, "whoami")).isError ?? false).toBe(false);
  });

  it("writes one complete audit line per call, and no token anywhere in the Worker's output", async () => {
    // The calls so far: 1 refused + 1 allowed call_wiki, 7 whoami from busy (4 ok, 3 limited), 1 whoami from calm.
    const deadline = Date.now() + 10_000;
    while (auditLines(server.output()).length < 10 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    const lines = auditLines(server.output());
    const outcomes = (email: string, tool: string) =>
      lines
        .filter((line) => (line.caller as { email: string }).email === email && line.tool === tool)
        .map((line) => line.outcome)
        .sort();
    expect(outcomes("outsider@example.com", "call_wiki")).toEqual(["denied"]);
    expect(outcomes("editor@example.com", "call_wiki")).toEqual(["ok"]);
    expect(outcomes("busy@example.com", "whoami")).toEqual(["ok", "ok", "ok", "ok", "rate_limited", "rate_limited", "rate_limited"]);
    expect(outcomes("calm@example.com", "whoami")).toEqual(["ok"]);
    expect(lines).toHaveLength(10);
    for (const line of lines) {
      expect(Object.keys(line).sort()).toEqual(["arguments", "caller", "duration_ms", "event", "outcome", "ray_id", "request_id", "time", "tool"]);
      expect(line.caller).toEqual({ email: expect.stringMatching(/@example\.com$/), sub: expect.any(String) });
      expect(Number.isNaN(Date.parse(String(line.time)))).toBe(false);
    }
    expect(lines.find((line) => line.tool === "call_wiki" && line.outcome === "ok")?.arguments).toEqual(["path"]);
    const output = server.output();
    for (const caller of callers) for (const secret of caller.secrets) expect(output).not.toContain(secret);
    if (server.identityRequests) {
      // Groups are looked up only when a rule needs them, and at most once per user (then kept).
      expect(server.identityRequests()).toBeGreaterThanOrEqual(2);
      expect(server.identityRequests()).toBeLessThanOrEqual(callers.length);
    }
  });
});

describe("npm run dev gives the dev identity Access groups (self-hosted emulator)", () => {
  let root: string;
  let project: string;

  beforeAll(async () => {
    root = mkdtempSync(join(e2eRoot, "governance-dev-"));
    project = await generate(root, "self-hosted", "ts", "http://127.0.0.1:9");
  });
  afterAll(() => {
    if (root && existsSync(root)) rmSync(root, { recursive: true, force: true });
  });

  /** The tools the emulator's dev user sees under `npm run dev` with `args` and `env`. */
  async function devTools(args: string[], env: Record<string, string> = {}): Promise<string[]> {
    const port = await freePort();
    const dev = startService("npm", ["run", "dev", "--", "--port", String(port), ...args], { cwd: project, env: cleanEnv(env) });
    try {
      const deadline = Date.now() + 90_000;
      while (!dev.output().includes("Press Ctrl-C to stop")) {
        if (Date.now() > deadline || dev.child.exitCode !== null) throw new Error(`npm run dev did not come up:\n${dev.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      // The emulator signs every request as the dev user: no headers of ours.
      return await toolNames(`http://127.0.0.1:${port}`, { headers: {}, secrets: [] });
    } finally {
      await dev.stop();
    }
  }

  it("--groups and DEV_GROUPS reach the tool rules, served at get-identity as Access serves them", async () => {
    expect(await devTools(["--email", "dev@example.com", "--groups", "staff, wiki-editors"])).toEqual(["call_wiki", "whoami"]);
    expect(await devTools(["--email", "dev@example.com"], { DEV_GROUPS: "wiki-editors" })).toEqual(["call_wiki", "whoami"]);
    expect(await devTools(["--email", "dev@example.com"])).toEqual(["whoami"]);
  }, 300_000);
});
