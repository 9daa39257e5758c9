import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import worker from "../src/index";
import {
  authorize,
  CLIENT_REDIRECT_URI,
  FakeAccess,
  type IdTokenSigner,
  type McpTokens,
  refreshAtWorker,
  register,
  signIn,
  signInForTokens,
  signInUntilCallback,
  USER,
} from "./access";
import { callTool, mcpRequest, ORIGIN } from "./mcp";
import { stubNetwork } from "./network";
import { nowSeconds, publicKeyHmacToken, signAsAccess, unsignedToken } from "./tokens";

let warn: MockInstance<typeof console.warn>;

beforeEach(() => {
  // Refusals are logged with their reason; the caller learns less.
  warn = vi.spyOn(console, "warn").mockImplementation(() => {});
});

describe("an MCP client that signed in through Access", () => {
  it("reaches whoami, which answers with the email and sub of Access's ID token", async () => {
    const token = await signIn(new FakeAccess());
    const result = await callTool("whoami", {}, { Authorization: `Bearer ${token}` });
    expect(result.structuredContent).toEqual(USER);
  });
});

describe("refreshing", () => {
  const whoami = (tokens: McpTokens) => callTool("whoami", {}, { Authorization: `Bearer ${tokens.access_token}` });

  it("several refreshes at once with one refresh token refresh once at Access, and every caller stays signed in", async () => {
    const access = new FakeAccess();
    const { clientId, tokens } = await signInForTokens(access);
    const answers = await Promise.all([1, 2, 3].map(() => refreshAtWorker(clientId, tokens.refresh_token)));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(access.refreshes).toBe(1);
    for (const answer of answers) {
      const renewed = (await answer.json()) as McpTokens;
      expect((await whoami(renewed)).structuredContent).toEqual(USER);
      const next = await refreshAtWorker(clientId, renewed.refresh_token);
      expect(next.status).toBe(200);
    }
  });

  it("ends the grant when Access has revoked the sign-in: invalid_grant, and its tokens stop working", async () => {
    const access = new FakeAccess();
    const { clientId, tokens } = await signInForTokens(access);
    access.revokeSessions();
    const refused = await refreshAtWorker(clientId, tokens.refresh_token);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: "invalid_grant" });
    const response = await mcpRequest(
      "tools/call",
      { name: "whoami", arguments: {} },
      { Authorization: `Bearer ${tokens.access_token}` },
    );
    expect(response.status).toBe(401);
  });
});

describe("a request without a valid MCP access token", () => {
  beforeEach(() => {
    // The Worker must answer these on its own, without reaching anything.
    stubNetwork({});
  });

  it("is refused with 401, pointing to the protected resource metadata", async () => {
    const response = await mcpRequest("tools/call", { name: "whoami", arguments: {} });
    expect(response.status).toBe(401);
    const metadata = `${ORIGIN}/.well-known/oauth-protected-resource/mcp`;
    expect(response.headers.get("WWW-Authenticate")).toContain(`resource_metadata="${metadata}"`);
    expect(await (await exports.default.fetch(metadata)).json()).toMatchObject({ resource: `${ORIGIN}/mcp` });
  });

  it("is refused with 401 for a token this Worker did not issue", async () => {
    const headers = { Authorization: "Bearer not-a-token-of-this-worker" };
    const response = await mcpRequest("tools/call", { name: "whoami", arguments: {} }, headers);
    expect(response.status).toBe(401);
  });
});

describe("a sign-in where Access's ID token is not valid", () => {
  const hourAgo = () => nowSeconds() - 3600;
  const badIdTokens: [string, IdTokenSigner][] = [
    ["signed with a key Access did not publish", (claims) => signAsAccess(claims, "impostor")],
    ["for another client", (claims) => signAsAccess({ ...claims, aud: "another-client" })],
    ["from another issuer", (claims) => signAsAccess({ ...claims, iss: "https://another-team.cloudflareaccess.com" })],
    ["expired", (claims) => signAsAccess({ ...claims, iat: hourAgo() - 300, exp: hourAgo() })],
    ["from another sign-in (nonce)", (claims) => signAsAccess({ ...claims, nonce: "another-sign-in" })],
    ["unsigned (alg: none)", async (claims) => unsignedToken(claims)],
    ["HS256, keyed with Access's public key", (claims) => publicKeyHmacToken(claims)],
  ];

  it.each(badIdTokens)("ends with 400 and no grant: %s", async (_kind, signIdToken) => {
    const { answer } = await signInUntilCallback(new FakeAccess({ signIdToken }));
    expect(answer.status).toBe(400);
    expect(answer.headers.get("Location")).toBeNull();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining("id_token rejected"));
  });
});

describe.each([
  "ACCESS_CLIENT_ID",
  "ACCESS_CLIENT_SECRET",
  "ACCESS_AUTHORIZATION_URL",
  "ACCESS_TOKEN_URL",
  "ACCESS_JWKS_URL",
  "COOKIE_ENCRYPTION_KEY",
] as const)("without %s", (name) => {
  it("fails closed: 500 for every request", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const request = new Request<unknown, IncomingRequestCfProperties>(`${ORIGIN}/mcp`, { method: "POST" });
    const response = await worker.fetch(request, { ...env, [name]: "" }, createExecutionContext());
    expect(response.status).toBe(500);
    expect(await response.text()).toContain(name);
  });
});

describe("under wrangler dev (plain http on loopback)", () => {
  const register = (headers: Record<string, string>, bindings: Record<string, string> = {}) => {
    const request = new Request<unknown, IncomingRequestCfProperties>(`${ORIGIN}/register`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
      body: JSON.stringify({ redirect_uris: ["http://127.0.0.1:9/callback"], token_endpoint_auth_method: "none" }),
    });
    return worker.fetch(request, { ...env, ...bindings }, createExecutionContext());
  };

  it("refuses a web page that is not on loopback (403), and serves one that is, like MCP Inspector", async () => {
    expect((await register({ Origin: "https://evil.example" })).status).toBe(403);
    expect((await register({ Origin: "http://localhost:6274" })).status).toBe(201);
  });

  it("with npm run dev's front door (DEV_PROXY_KEY), refuses what did not come through it (421)", async () => {
    const bindings = { DEV_PROXY_KEY: "key-of-this-run" };
    expect((await register({}, bindings)).status).toBe(421);
    expect((await register({ "Dev-Proxy-Key": "another-key" }, bindings)).status).toBe(421);
    expect((await register({ "Dev-Proxy-Key": "key-of-this-run" }, bindings)).status).toBe(201);
  });
});

describe("the consent page", () => {
  it("shows the app's name as its own claim and where the browser goes next, and no scope or markup it made up", async () => {
    stubNetwork({});
    const redirectUri = "https://app.example/callback";
    const registration = await exports.default.fetch(`${ORIGIN}/register`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        client_name: `Evil"><img src=x onerror=alert(1)>`,
        client_uri: `https://evil.example/"><b x='`,
        redirect_uris: [redirectUri],
        token_endpoint_auth_method: "none",
      }),
    });
    const { client_id: clientId } = (await registration.json()) as { client_id: string };
    const html = await (await authorize(clientId, { redirectUri, scope: "admin read-only" })).text();
    expect(html).toContain("It calls itself");
    expect(html).toContain("<strong>https://app.example</strong>");
    expect(html).not.toMatch(/<img|<b x=|<[^>]*onerror=|admin|read-only/);
  });
});

describe("a client whose client ID is its metadata document (CIMD)", () => {
  const CLIENT_ID = "https://app.example/client.json";
  const app = (clientId = CLIENT_ID, changes = {}) => ({
    [new URL(clientId).origin]: () =>
      Response.json({ client_id: clientId, client_name: "App", redirect_uris: [CLIENT_REDIRECT_URI], ...changes }),
  });

  it("signs in without registering and reaches whoami; the consent page names the document's host", async () => {
    const access = new FakeAccess({ apps: app() });
    expect(await (await authorize(CLIENT_ID)).text()).toContain("a document on <strong>app.example</strong>");
    const token = await signIn(access, CLIENT_ID);
    expect((await callTool("whoami", {}, { Authorization: `Bearer ${token}` })).structuredContent).toEqual(USER);
  });

  it.each([
    ["accepts a document on a domain name", CLIENT_ID, {}, 200],
    ["refuses one whose client_id is another URL", CLIENT_ID, { client_id: `${CLIENT_ID}/` }, 400],
    ["refuses one on its own host", "https://mcp.example.com./authorize?client_id=x", {}, 400],
    ["refuses one on an IP address", "https://0x7f.1/client.json", {}, 400],
    ["refuses one on localhost", "https://localhost./client.json", {}, 400],
  ])("on a deployed Worker, %s", async (_, clientId, changes, status) => {
    stubNetwork(app(clientId, changes));
    expect((await authorize(clientId, { origin: "https://mcp.example.com" })).status).toBe(status);
  });
});

describe("a private-use redirect URI, or another network scheme", () => {
  it.each([
    ["cursor://anysphere.cursor-mcp/oauth/callback", 200, "an app on your computer</strong>, whichever"],
    ["ftp://evil.example/callback", 400, "not accepted"],
    [" WSS://evil.example/callback", 400, "not accepted"],
    ["smb://evil.example/share", 400, "not accepted"],
  ])("%j, registered, gets %i", async (redirectUri, status, text) => {
    stubNetwork({});
    const response = await authorize(await register([redirectUri]), { redirectUri });
    expect(response.status).toBe(status);
    expect(await response.text()).toContain(text);
  });
});
