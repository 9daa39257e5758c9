import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withSnapshot } from "../../src/apply/snapshot.js";
import { startFakeAccess, startSelfHostedWorker } from "../support/access.js";
import { RedirectTarget, registerClient, signInForTokens } from "../support/oauth.js";
import { repoRoot, run, runCli, type Service } from "../support/processes.js";
import { e2eRoot, saasProject, selfHostedProject } from "../support/project.js";
import { startRecorder } from "../support/recorder.js";
import { startSaasDev } from "../support/saas.js";

type ToolResult = { isError?: boolean; content: { type: string; text: string }[] };
type Recorder = Awaited<ReturnType<typeof startRecorder>>;

/**
 * Projects made by create-mcp-access 0.1.0 (test/fixtures/generated-0.1.0.json: exactly what that
 * version wrote, before the security review's fixes) are brought up to date by `regenerate`, and the
 * fixes then work in them: checked on the running Worker before (the holes are there) and after.
 */
const fixture = JSON.parse(readFileSync(join(repoRoot, "test", "fixtures", "generated-0.1.0.json"), "utf8")) as {
  projects: Record<string, { files: Record<string, string> }>;
};
const OLD_DOWNSTREAM = "https://wiki.example.com/api";
const root = join(e2eRoot, "regenerate-old");

/** Writes the 0.1.0 project as that version did (snapshot included), its downstream app at `downstream`. */
function writeOldProject(name: string, downstream: string, installed: string): string {
  const dir = join(root, name);
  const files = new Map(Object.entries(fixture.projects[name]!.files).map(([path, text]) => [path, text.replaceAll(OLD_DOWNSTREAM, downstream)]));
  for (const [path, text] of withSnapshot(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  symlinkSync(join(installed, "node_modules"), join(dir, "node_modules"));
  return dir;
}

/** A downstream app that echoes the credential it got, in its body and in a redirect. */
async function echoingApp(): Promise<Recorder> {
  return startRecorder((request, response) => {
    const credential = String(request.headers["cf-access-token"] ?? request.headers.authorization ?? "");
    if (request.url.startsWith("/api/redirect")) {
      response.writeHead(302, { location: `https://elsewhere.example/login?token=${encodeURIComponent(credential)}` }).end();
      return true;
    }
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ path: request.url, headers: request.headers }));
    return true;
  });
}

async function callTool(url: string, headers: Record<string, string>, args: Record<string, unknown>): Promise<ToolResult> {
  const client = new Client({ name: "e2e", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  try {
    return (await client.callTool({ name: "call_wiki", arguments: args })) as ToolResult;
  } finally {
    await client.close();
  }
}

/** What the review found, as seen from the MCP client, on a Worker whose downstream app echoes. */
async function holes(call: (args: Record<string, unknown>) => Promise<ToolResult>, app: Recorder, credential: string) {
  const echoed = await call({ path: "/echo" });
  const redirected = await call({ path: "/redirect" });
  const before = app.requests.length;
  const traversal = await call({ path: "/..;/secret" });
  return {
    credentialInEcho: echoed.content[0]!.text.includes(credential),
    credentialInRedirect: redirected.content[0]!.text.includes(encodeURIComponent(credential)),
    traversalSent: app.requests.length > before,
    traversalRefused: traversal.isError === true && /^Refused/.test(traversal.content[0]!.text),
  };
}

function regenerate(dir: string) {
  return runCli(["regenerate"], { cwd: dir });
}

beforeAll(() => {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
});
afterAll(() => {
  if (existsSync(root)) rmSync(root, { recursive: true, force: true });
});

/** A project from before doctor and destroy gets their npm scripts from regenerate, next to provision's. */
function expectLifecycleScripts(dir: string): void {
  const { scripts } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { scripts: Record<string, string> };
  const cli = scripts.provision!.replace(/ provision$/, "");
  expect(scripts).toMatchObject({ doctor: `${cli} doctor`, destroy: `${cli} destroy` });
}

describe("regenerate brings the hardening into a self-hosted project made by 0.1.0", () => {
  let app: Recorder;
  let access: Awaited<ReturnType<typeof startFakeAccess>>;
  let dir: string;
  let worker: Service | undefined;

  beforeAll(async () => {
    [app, access] = await Promise.all([echoingApp(), startFakeAccess()]);
    dir = writeOldProject("sh-app", `${app.origin}/api`, selfHostedProject);
  });
  afterAll(async () => {
    await worker?.stop();
    await Promise.all([app?.close(), access?.close()]);
  });

  async function holesOfRunningWorker() {
    const started = await startSelfHostedWorker(dir, access);
    worker = started.worker;
    try {
      const token = access.token();
      return await holes((args) => callTool(`${started.base}/mcp`, { "Cf-Access-Jwt-Assertion": token }, args), app, token);
    } finally {
      await started.worker.stop();
      worker = undefined;
    }
  }

  it("has the holes before, and none after regenerate, with the user's edit kept", async () => {
    expect(await holesOfRunningWorker()).toEqual({ credentialInEcho: true, credentialInRedirect: true, traversalSent: true, traversalRefused: false });

    const server = join(dir, "src", "server.ts");
    // Away from the lines today's templates change (createServer gains the tool gate in its signature:
    // an edit on the lines next to it would be a conflict to resolve by hand, as regenerate says).
    writeFileSync(server, `${readFileSync(server, "utf8")}\n// Our own note, kept by regenerate.\n`);
    const result = await regenerate(dir);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/src\/downstream\.ts/);
    expect(readFileSync(server, "utf8")).toContain("// Our own note, kept by regenerate.");
    expect(readFileSync(join(dir, "wrangler.jsonc"), "utf8")).toMatch(/"preview_urls": false/);
    expectLifecycleScripts(dir);

    expect(await holesOfRunningWorker()).toEqual({ credentialInEcho: false, credentialInRedirect: false, traversalSent: false, traversalRefused: true });
  });

  it("and the project's own tests, regenerated with it, pass", async () => {
    const result = await run("npm", ["test"], { cwd: dir, timeoutMs: 180_000 });
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
  });
});

describe("regenerate brings the hardening into a saas project made by 0.1.0", () => {
  let app: Recorder;
  let target: RedirectTarget;
  let dir: string;
  let stop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    [app, target] = await Promise.all([echoingApp(), RedirectTarget.start()]);
    dir = writeOldProject("saas-app", `${app.origin}/api`, saasProject);
  });
  afterAll(async () => {
    await stop?.();
    await Promise.all([app?.close(), target?.close()]);
  });

  /** `npm run dev`, a real sign-in through the consent page and the emulated Access, then the checks. */
  async function holesOfRunningWorker() {
    const dev = await startSaasDev(dir, { tokenTtl: 300 });
    stop = dev.stop;
    try {
      const { client_id: clientId } = await registerClient(dev.origin, { client_name: "regenerate e2e", redirect_uris: [target.uri] });
      const answer = await signInForTokens(dev.origin, { clientId, target, email: "ada@example.com" });
      expect(answer.status, answer.text).toBe(200);
      const mcpToken = (answer.body as { access_token: string }).access_token;
      const call = (args: Record<string, unknown>) => callTool(`${dev.origin}/mcp`, { Authorization: `Bearer ${mcpToken}` }, args);
      await call({ path: "/who" });
      // The Access access token the app got: what must never reach the MCP client.
      const upstream = app.requests.at(-1)!.headers.authorization!.replace(/^Bearer /, "");
      // Today's clients, which 0.1.0 turned away: a Client ID Metadata Document, and Cursor's own scheme.
      const metadata = await (await fetch(`${dev.origin}/.well-known/oauth-authorization-server`)).json();
      const cursor = await fetch(`${dev.origin}/register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ client_name: "Cursor", redirect_uris: ["cursor://anysphere.cursor-mcp/oauth/callback"], token_endpoint_auth_method: "none" }),
      });
      const clients = { cimd: metadata.client_id_metadata_document_supported === true, privateUseScheme: cursor.status === 201 };
      return { ...(await holes(call, app, upstream)), ...clients };
    } finally {
      await dev.stop();
      stop = undefined;
    }
  }

  it("has the holes before, and none after regenerate; then it takes today's clients too", async () => {
    expect(await holesOfRunningWorker()).toEqual({
      credentialInEcho: true,
      credentialInRedirect: true,
      traversalSent: true,
      traversalRefused: false,
      cimd: false,
      privateUseScheme: false,
    });

    const result = await regenerate(dir);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/src\/downstream\.ts/);
    expect(readFileSync(join(dir, "wrangler.jsonc"), "utf8")).toMatch(/"preview_urls": false/);
    expectLifecycleScripts(dir);

    expect(await holesOfRunningWorker()).toEqual({
      credentialInEcho: false,
      credentialInRedirect: false,
      traversalSent: false,
      traversalRefused: true,
      cimd: true,
      privateUseScheme: true,
    });
  });

  it("and the project's own tests, regenerated with it, pass", async () => {
    const result = await run("npm", ["test"], { cwd: dir, timeoutMs: 180_000 });
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
  });
});
