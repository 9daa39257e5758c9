import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postToken, RedirectTarget, registerClient, signInForTokens } from "../support/oauth.js";
import { runCli } from "../support/processes.js";
import { e2eRoot, saasProject } from "../support/project.js";
import { ECHOES, expectCutAtSizeCap, expectCutAtTimeCap, pieceOf, startDownstreamApp } from "../support/downstream-app.js";
import { type SaasDev, startSaasDev } from "../support/saas.js";

type ToolResult = { isError?: boolean; content: { type: string; text: string }[] };

/**
 * call_<name> in a generated saas project under `npm run dev` (SPEC §4.3): the app receives the
 * user's Access access token (never the MCP client's token), a fresh one after a refresh, and
 * each user their own. Access tokens live 60 s here, Access's minimum.
 */
describe("downstream apps (saas)", () => {
  let app: Awaited<ReturnType<typeof startDownstreamApp>>;
  let dev: SaasDev;
  let target: RedirectTarget;
  let root: string;
  let clientId: string;

  beforeAll(async () => {
    app = await startDownstreamApp((request) => String(request.headers.authorization).replace(/^Bearer /, ""));
    root = mkdtempSync(join(e2eRoot, "downstream-saas-"));
    const generated = await runCli(
      ["srv", "--auth", "saas", "--team", "acme", "--allow-domain", "example.com", "--no-install", "--no-git", "--downstream", `app=${app.origin}/api`],
      { cwd: root },
    );
    expect(generated.code, generated.stderr).toBe(0);
    const project = join(root, "srv");
    // Same dependencies as the shared saas project: reuse its install.
    symlinkSync(join(saasProject, "node_modules"), join(project, "node_modules"));
    [dev, target] = await Promise.all([startSaasDev(project, { tokenTtl: 60 }), RedirectTarget.start()]);
    clientId = (await registerClient(dev.origin, { client_name: "downstream e2e", redirect_uris: [target.uri] })).client_id;
  });
  afterAll(async () => {
    await dev?.stop();
    await Promise.all([target?.close(), app?.close()]);
    if (root && existsSync(root)) rmSync(root, { recursive: true, force: true });
  });

  async function signIn(email: string) {
    const answer = await signInForTokens(dev.origin, { clientId, target, email });
    expect(answer.status, answer.text).toBe(200);
    return answer.body as { access_token: string; refresh_token: string };
  }

  async function call(mcpToken: string, args: Record<string, unknown>): Promise<ToolResult> {
    const client = new Client({ name: "e2e", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${dev.origin}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${mcpToken}` } } }),
    );
    try {
      return (await client.callTool({ name: "call_app", arguments: args })) as ToolResult;
    } finally {
      await client.close();
    }
  }

  /** Whose Access token the app received, asked of the emulated Access (its userinfo endpoint). */
  async function ownerOf(bearer: string | undefined): Promise<string | undefined> {
    const response = await fetch(`${dev.issuer}/userinfo`, { headers: { Authorization: bearer ?? "" } });
    return response.ok ? ((await response.json()) as { email: string }).email : undefined;
  }

  let ada: { access_token: string; refresh_token: string };
  let firstUpstream: string;

  it("sends the user's Access access token, not the MCP client's token", async () => {
    ada = await signIn("ada@example.com");
    const result = await call(ada.access_token, { path: "/notes", query: { q: "1" } });
    expect(result.isError, result.content[0]?.text).toBeFalsy();
    const request = app.requests.at(-1)!;
    expect(request.url).toBe("/api/notes?q=1");
    firstUpstream = request.headers.authorization!;
    expect(firstUpstream).toMatch(/^Bearer \S+$/);
    expect(firstUpstream).not.toContain(ada.access_token);
    expect(await ownerOf(firstUpstream)).toBe("ada@example.com");
  });

  it("gives two users calling at the same time each their own token", async () => {
    const grace = await signIn("grace@example.com");
    const users = [
      { email: "ada@example.com", token: ada.access_token },
      { email: "grace@example.com", token: grace.access_token },
    ];
    const before = app.requests.length;
    await Promise.all(Array.from({ length: 6 }, (_, i) => users[i % 2]!).map((user) => call(user.token, { path: "/who", query: { email: user.email } })));
    const calls = app.requests.slice(before);
    expect(calls).toHaveLength(6);
    for (const request of calls) {
      expect(await ownerOf(request.headers.authorization)).toBe(new URL(request.url, "http://x").searchParams.get("email"));
    }
  });

  it("after the Access token expired and the client refreshed, the app gets a new, valid one", async () => {
    // Wait out the 60-second Access token behind ada's first MCP token.
    await new Promise((resolve) => setTimeout(resolve, 62_000));
    expect(await ownerOf(firstUpstream)).toBeUndefined();
    const refreshed = await postToken(`${dev.origin}/token`, { grant_type: "refresh_token", refresh_token: ada.refresh_token, client_id: clientId });
    expect(refreshed.status, refreshed.text).toBe(200);
    const result = await call((refreshed.body as { access_token: string }).access_token, { path: "/after-refresh" });
    expect(result.isError, result.content[0]?.text).toBeFalsy();
    const upstream = app.requests.at(-1)!.headers.authorization!;
    expect(upstream).not.toBe(firstUpstream);
    expect(await ownerOf(upstream)).toBe("ada@example.com");
  }, 120_000);

  describe("what comes back from the app", () => {
    let lin: string;
    beforeAll(async () => {
      lin = (await signIn("lin@example.com")).access_token;
    });

    it("reads a huge body only up to the size cap, says so, and cancels the rest", async () => {
      await expectCutAtSizeCap(await call(lin, { path: "/huge" }), app);
    });

    it("ends a body that never finishes at the time cap, with what had arrived", async () => {
      await expectCutAtTimeCap(await call(lin, { path: "/slow" }), app);
    });

    it.each(ECHOES)("never returns the user's Access token: %s", async (_, args) => {
      const result = await call(lin, args);
      const upstream = app.requests.at(-1)!.headers.authorization!.replace(/^Bearer /, "");
      expect(await ownerOf(`Bearer ${upstream}`)).toBe("lin@example.com");
      const text = result.content.map((item) => item.text).join("\n");
      expect(pieceOf(upstream, text)).toBeUndefined();
      expect(text).toMatch(/The user's credential was removed from \d+ place\(s\) in this answer/);
    });

    it.each(["/../secret", "/..;/secret", "/%2e%2e;/secret", "/.;/x", "/%252e%252e/secret", "/%c0%ae%c0%ae/secret", "/．．/secret", "/..／secret", "/.. /secret", "/..%2fsecret"])(
      "refuses the path %j before any request",
      async (path) => {
        const before = app.requests.length;
        const result = await call(lin, { path });
        expect(result.isError).toBe(true);
        expect(result.content[0]!.text).toMatch(/^Refused to call app:/);
        expect(app.requests.length).toBe(before);
      },
    );
  });

  it("never puts a token in the Worker's or the emulator's output", async () => {
    const output = dev.service.output();
    for (const secret of await dev.emulator.issued()) expect(output).not.toContain(secret);
    expect(output).not.toContain(ada.access_token);
    expect(app.requests.every((request) => request.url.startsWith("/api/"))).toBe(true);
  });
});
