import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeAccess, startFakeAccess, startSelfHostedWorker } from "../support/access.js";
import { runCli, type Service } from "../support/processes.js";
import { e2eRoot, selfHostedProject } from "../support/project.js";
import { ECHOES, expectCutAtSizeCap, expectCutAtTimeCap, pieceOf, startDownstreamApp } from "../support/downstream-app.js";
import { startRecorder } from "../support/recorder.js";

type ToolResult = { isError?: boolean; content: { type: string; text: string }[] };

/**
 * call_<name> in a generated self-hosted project under wrangler dev (SPEC §4.3): the user's Access
 * JWT reaches the configured app, and nothing reaches anywhere else.
 */
describe("downstream apps (self-hosted)", () => {
  let access: FakeAccess;
  let app: Awaited<ReturnType<typeof startDownstreamApp>>;
  let evil: Awaited<ReturnType<typeof startRecorder>>;
  let worker: Service;
  let base: string;
  let root: string;

  beforeAll(async () => {
    access = await startFakeAccess();
    evil = await startRecorder();
    app = await startDownstreamApp((request) => String(request.headers["cf-access-token"]), (request, response) => {
      if (request.url.startsWith("/api/redirect")) {
        response.writeHead(302, { location: `${evil.origin}/steal` }).end();
        return true;
      }
      if (request.url.startsWith("/api/fail")) {
        response.writeHead(request.url.includes("401") ? 401 : 500, { "content-type": "text/plain" }).end("nope");
        return true;
      }
      return false;
    });
    root = mkdtempSync(join(e2eRoot, "downstream-"));
    const generated = await runCli(
      ["srv", "--auth", "self-hosted", "--team", "acme", "--allow-domain", "example.com", "--no-install", "--no-git", "--downstream", `app=${app.origin}/api`],
      { cwd: root },
    );
    expect(generated.code, generated.stderr).toBe(0);
    const project = join(root, "srv");
    // Same dependencies as the shared self-hosted project: reuse its install.
    symlinkSync(join(selfHostedProject, "node_modules"), join(project, "node_modules"));
    ({ base, worker } = await startSelfHostedWorker(project, access));
  });
  afterAll(async () => {
    await worker?.stop();
    await Promise.all([access?.close(), app?.close(), evil?.close()]);
    if (root && existsSync(root)) rmSync(root, { recursive: true, force: true });
  });

  async function call(token: string, args: Record<string, unknown>, extraHeaders: Record<string, string> = {}): Promise<ToolResult> {
    const client = new Client({ name: "e2e", version: "1.0.0" });
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
      requestInit: { headers: { "Cf-Access-Jwt-Assertion": token, ...extraHeaders } },
    });
    await client.connect(transport);
    try {
      return (await client.callTool({ name: "call_app", arguments: args })) as ToolResult;
    } finally {
      await client.close();
    }
  }

  it("sends the user's own Access JWT, and nothing of the MCP client's, to the app's path", async () => {
    const token = access.token();
    const result = await call(token, { path: "/pages/42", query: { q: "a b", n: 1 } }, { Authorization: "Bearer client-token", Cookie: "session=client" });
    expect(result.isError).toBeFalsy();
    expect(result.content[0]!.text).toMatch(/^GET \/api\/pages\/42\?q=a\+b&n=1 → 200/);
    const request = app.requests.at(-1)!;
    expect(request).toMatchObject({ method: "GET", url: "/api/pages/42?q=a+b&n=1" });
    expect(request.headers["cf-access-token"]).toBe(token);
    expect(request.headers.authorization).toBeUndefined();
    expect(request.headers.cookie).toBeUndefined();
    expect(request.headers["cf-access-jwt-assertion"]).toBeUndefined();
  });

  it("sends a JSON body", async () => {
    const result = await call(access.token(), { method: "POST", path: "items", body: { title: "x" } });
    expect(result.isError).toBeFalsy();
    expect(app.requests.at(-1)).toMatchObject({ method: "POST", url: "/api/items", body: '{"title":"x"}' });
    expect(app.requests.at(-1)!.headers["content-type"]).toBe("application/json");
  });

  it.each([
    "https://evil.example/x",
    "//127.0.0.1:1/x",
    "/../secret",
    "/api/../../secret",
    "/%2e%2e/secret",
    "/%2E%2E%2Fsecret",
    "/..%2fsecret",
    "/.%2e/secret",
    "\\\\evil.example\\x",
    "/%5c..%5csecret",
    "/@evil.example",
    "/x?admin=1",
    "/x#frag",
    "/a\u0000b",
    "/a\nb",
    "javascript:alert(1)",
    // forms that Tomcat, Jetty, Spring, IIS or a server decoding twice read as ..
    "/..;/secret",
    "/%2e%2e;/secret",
    "/.;/x",
    "/%252e%252e/secret",
    "/%c0%ae%c0%ae/secret",
    "/．．/secret",
    "/..／secret",
    "/.. /secret",
    "/.../secret",
    "/..%2fsecret",
    "/..%5csecret",
  ])("refuses the path %j before any request", async (path) => {
    const before = app.requests.length;
    const result = await call(access.token(), { path });
    expect(result.isError).toBe(true);
    expect(result.content[0]!.text).toMatch(/^Refused to call app:/);
    expect(app.requests.length).toBe(before);
    expect(evil.requests).toEqual([]);
  });

  it("reports a redirect without following it: the other server gets nothing", async () => {
    const result = await call(access.token(), { path: "/redirect" });
    expect(result.isError).toBe(true);
    expect(result.content[0]!.text).toMatch(/302.*redirect.*not followed/);
    expect(evil.requests).toEqual([]);
  });

  it("turns downstream errors into tool errors, with a hint for a refused token", async () => {
    const denied = await call(access.token(), { path: "/fail/401" });
    expect(denied.isError).toBe(true);
    expect(denied.content[0]!.text).toMatch(/401.*Linked App Token/);
    const broken = await call(access.token(), { path: "/fail/500" });
    expect(broken).toMatchObject({ isError: true });
    expect(broken.content[0]!.text).toMatch(/→ 500/);
  });

  it("gives each of two concurrent users their own token downstream", async () => {
    const users = ["ada@example.com", "grace@example.com"].map((email, i) => ({ email, token: access.token({ claims: { email, sub: `sub-${i}` } }) }));
    await Promise.all(
      Array.from({ length: 6 }, (_, i) => users[i % 2]!).map((user) => call(user.token, { path: "/whoami", query: { email: user.email } })),
    );
    const calls = app.requests.filter((request) => request.url.startsWith("/api/whoami"));
    expect(calls).toHaveLength(6);
    for (const request of calls) {
      const email = new URL(request.url, "http://x").searchParams.get("email");
      expect(request.headers["cf-access-token"]).toBe(users.find((user) => user.email === email)!.token);
    }
  });

  it("reads a huge body only up to the size cap, says so, and cancels the rest", async () => {
    await expectCutAtSizeCap(await call(access.token(), { path: "/huge" }), app);
  });

  it("ends a body that never finishes at the time cap, with what had arrived", async () => {
    await expectCutAtTimeCap(await call(access.token(), { path: "/slow" }), app);
  });

  it.each(ECHOES)("never returns the user's JWT: %s", async (_, args) => {
    const token = access.token();
    const result = await call(token, args);
    expect(app.requests.at(-1)!.headers["cf-access-token"]).toBe(token);
    const text = result.content.map((item) => item.text).join("\n");
    expect(pieceOf(token, text)).toBeUndefined();
    expect(text).toMatch(/The user's credential was removed from \d+ place\(s\) in this answer/);
  });

  it("never reaches any path outside the app's, and never logs a token", () => {
    expect(app.requests.every((request) => request.url.startsWith("/api/"))).toBe(true);
    expect(evil.requests).toEqual([]);
    const tokens = new Set(app.requests.map((request) => request.headers["cf-access-token"] as string));
    for (const token of tokens) expect(worker.output()).not.toContain(token);
  });
});
