import type { ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CimdServer } from "../support/cimd.js";
import {
  approve,
  authorizationRequest,
  Browser,
  browserSignIn,
  connectWithOAuth,
  formField,
  initializeWith,
  openConsent,
  type Page,
  postToken,
  RedirectTarget,
  registerClient,
  type SignInSteps,
  signInAtAccess,
  TestOAuthProvider,
  whoami,
} from "../support/oauth.js";
import { saasProject as project } from "../support/project.js";
import { type SaasDev, startSaasDev } from "../support/saas.js";

/**
 * How clients register with a saas Worker under `npm run dev` (SPEC §7): by a Client ID Metadata
 * Document (CIMD), which this file serves over https on loopback with a certificate made for the
 * run and trusted by `wrangler dev` through NODE_EXTRA_CA_CERTS, and by dynamic registration with
 * the redirect URI styles real clients use, a private-use scheme (`cursor://`) among them.
 */
const CURSOR_CALLBACK = "cursor://anysphere.cursor-mcp/oauth/callback";

let dev: SaasDev;
let target: RedirectTarget;
let documents: CimdServer;

beforeAll(async () => {
  [documents, target] = await Promise.all([CimdServer.start(), RedirectTarget.start()]);
  dev = await startSaasDev(project, { env: { NODE_EXTRA_CA_CERTS: documents.caFile } });
});
afterAll(async () => {
  await dev?.stop();
  await target?.close();
  await documents?.close();
});

/** A client's metadata document as MCP clients publish it; `client_id` is the URL it is served at. */
function clientDocument(path: string, changes: Record<string, unknown> = {}) {
  return {
    client_id: documents.url(path),
    client_name: "CIMD test client",
    redirect_uris: [target.uri],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
    ...changes,
  };
}

/** Serves a client document at `path` (no-store unless `headers` say otherwise); returns its URL, the client ID. */
function publish(path: string, changes: Record<string, unknown> = {}, headers: Record<string, string> = { "cache-control": "no-store" }): string {
  return documents.serve(path, { json: clientDocument(path, changes), headers });
}

function expectRefused(page: Page) {
  expect(page.status, page.text).toBe(400);
  expect(page.location).toBeUndefined();
  expect(formField(page.text, "handle")).toBeUndefined();
}

describe("the authorization server metadata", () => {
  it("advertises Client ID Metadata Documents, and keeps dynamic registration for older clients", async () => {
    const metadata = await (await fetch(`${dev.origin}/.well-known/oauth-authorization-server`)).json();
    expect(metadata).toMatchObject({ client_id_metadata_document_supported: true, registration_endpoint: `${dev.origin}/register` });
  });
});

describe("a client whose client ID is its metadata document", () => {
  let clientId: string;
  let provider: TestOAuthProvider;
  let steps: SignInSteps | undefined;

  beforeAll(() => {
    clientId = publish("/clients/cimd.json");
  });

  it("signs in with the official SDK without registering: consent names the document's host, Access, then whoami", async () => {
    provider = new TestOAuthProvider({
      redirectUri: target.uri,
      clientName: "CIMD test client",
      clientMetadataUrl: clientId,
      authorize: browserSignIn(target, "cimd@example.com", (seen) => (steps = seen)),
    });
    const client = await connectWithOAuth(`${dev.origin}/mcp`, provider);
    try {
      expect(await whoami(client)).toMatchObject({ email: "cimd@example.com" });
    } finally {
      await client.close();
    }
    expect(provider.client?.client_id).toBe(clientId);
    expect(provider.authorizations[0]?.searchParams.get("client_id")).toBe(clientId);
    expect(steps!.consent.text).toContain("Its client ID is a document on <strong>127.0.0.1</strong>");
    expect(documents.count("/clients/cimd.json")).toBeGreaterThan(0);
  });

  it("refreshes its tokens with the same client ID, and the new access token works", async () => {
    const answer = await postToken(`${dev.origin}/token`, {
      grant_type: "refresh_token",
      refresh_token: provider.stored!.refresh_token!,
      client_id: clientId,
    });
    expect(answer.status, answer.text).toBe(200);
    expect((await initializeWith(`${dev.origin}/mcp`, answer.body.access_token as string)).status).toBe(200);
  });

  it("may list a private-use redirect URI, and gets a consent page for it", async () => {
    const nativeId = publish("/clients/native.json", { redirect_uris: [CURSOR_CALLBACK] });
    const page = await new Browser().open(authorizationRequest(dev.origin, { clientId: nativeId, redirectUri: CURSOR_CALLBACK }).url);
    expect(page.status, page.text).toBe(200);
    expect(formField(page.text, "handle")).toBeDefined();
  });

  it.each([
    ["another path on the loopback host", () => `${target.uri.replace(/\/callback$/, "")}/evil`],
    ["another host", () => "https://evil.example/callback"],
    ["the listed one with a query added", () => `${target.uri}?next=https://evil.example`],
  ])("refuses a redirect URI its document does not list (%s): an error page, no redirect", async (_, redirectUri) => {
    expectRefused(await new Browser().open(authorizationRequest(dev.origin, { clientId, redirectUri: redirectUri() }).url));
  });
});

describe("a client document the Worker refuses: an error page, no redirect, no consent", () => {
  const authorize = (clientId: string) => new Browser().open(authorizationRequest(dev.origin, { clientId, redirectUri: target.uri }).url);

  it.each<[string, string, Record<string, unknown>]>([
    ["whose client_id is another URL", "/refused/mismatch.json", { client_id: "https://127.0.0.1/clients/cimd.json" }],
    ["whose client_id differs only by a trailing slash", "/refused/slash.json", { client_id: "SELF/" }],
    ["that lists a javascript: redirect URI", "/refused/javascript.json", { redirect_uris: ["javascript:alert(1)"] }],
    ["that carries a client secret", "/refused/secret.json", { client_secret: "s3cret" }],
    ["without a name", "/refused/nameless.json", { client_name: "" }],
  ])("%s", async (_, path, changes) => {
    const url = documents.url(path);
    const document = { ...clientDocument(path), ...changes };
    if (document.client_id === "SELF/") document.client_id = `${url}/`;
    documents.serve(path, { json: document });
    expectRefused(await authorize(url));
    expect(documents.count(path)).toBeGreaterThan(0);
  });

  it("that is not there (404)", async () => {
    expectRefused(await authorize(documents.url("/refused/missing.json")));
    expect(documents.count("/refused/missing.json")).toBeGreaterThan(0);
  });

  const padded = (path: string) => JSON.stringify(clientDocument(path, { contacts: ["x".repeat(6 * 1024)] }));
  it.each<[string, string, (path: string) => (res: ServerResponse) => void]>([
    [
      "larger than 5 KiB, as its Content-Length says",
      "/refused/large.json",
      (path) => (res) => res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(padded(path)) }).end(padded(path)),
    ],
    [
      "larger than 5 KiB, sent in chunks without a length",
      "/refused/large-chunked.json",
      (path) => (res) => {
        res.writeHead(200, { "content-type": "application/json" });
        for (const chunk of padded(path).match(/.{1,1024}/g)!) res.write(chunk);
        res.end();
      },
    ],
    [
      // The fetch is bounded at 10 s: headers come, the body never ends.
      "that never finishes",
      "/refused/slow.json",
      () => (res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"client_id":');
      },
    ],
  ])("%s", async (_, path, answer) => {
    documents.serve(path, answer(path));
    expectRefused(await authorize(documents.url(path)));
    expect(documents.count(path)).toBeGreaterThan(0);
  });
});

describe("a changed client document", () => {
  const consentStatus = async (clientId: string) =>
    (await new Browser().open(authorizationRequest(dev.origin, { clientId, redirectUri: target.uri }).url)).status;

  it("that allows caching is read again only once its max-age is over: a change waits for it", async () => {
    const path = "/changing/cached.json";
    const clientId = publish(path, {}, { "cache-control": "max-age=600" });
    expect(await consentStatus(clientId)).toBe(200);
    publish(path, { redirect_uris: ["https://elsewhere.example/callback"] }, { "cache-control": "max-age=600" });
    expect(await consentStatus(clientId)).toBe(200);
    expect(documents.count(path)).toBe(1);
  });

  it("that forbids caching is read at every request: a redirect URI it drops is refused at once", async () => {
    const path = "/changing/no-store.json";
    const clientId = publish(path);
    expect(await consentStatus(clientId)).toBe(200);
    const reads = documents.count(path);
    publish(path, { redirect_uris: ["https://elsewhere.example/callback"] });
    expect(await consentStatus(clientId)).toBe(400);
    expect(documents.count(path)).toBeGreaterThan(reads);
  });
});

describe("a client with a private-use redirect URI (Cursor's), registered dynamically", () => {
  let clientId: string;
  beforeAll(async () => {
    clientId = (await registerClient(dev.origin, { client_name: "Cursor", redirect_uris: [CURSOR_CALLBACK] })).client_id;
  });

  it("gets its code at exactly that URI, with its state and this server as iss; the consent page says an app on the computer gets it", async () => {
    const request = authorizationRequest(dev.origin, { clientId, redirectUri: CURSOR_CALLBACK });
    const browser = new Browser();
    const { page, handle } = await openConsent(browser, request.url);
    expect(page.text).toContain("<strong>cursor://anysphere.cursor-mcp</strong>");
    expect(page.text).toContain("an app on your computer");
    const approval = await approve(browser, request.url, handle);
    const { answer } = await signInAtAccess(browser, approval.location!, "cursor@example.com");
    const callback = await browser.open(answer.location!);
    expect(callback.status).toBe(302);
    const back = new URL(callback.location!);
    expect(`${back.protocol}//${back.host}${back.pathname}`).toBe(CURSOR_CALLBACK);
    expect(back.searchParams.get("state")).toBe(request.state);
    expect(back.searchParams.get("iss")).toBe(dev.origin);
    const tokens = await postToken(`${dev.origin}/token`, {
      grant_type: "authorization_code",
      code: back.searchParams.get("code")!,
      redirect_uri: CURSOR_CALLBACK,
      client_id: clientId,
      code_verifier: request.verifier,
    });
    expect(tokens.status, tokens.text).toBe(200);
  });

  it.each([
    ["another case", "Cursor://anysphere.cursor-mcp/oauth/callback"],
    ["a trailing slash", `${CURSOR_CALLBACK}/`],
    ["a longer path", `${CURSOR_CALLBACK}/more`],
    ["another host", "cursor://anysphere.cursor-mcp.evil.example/oauth/callback"],
    ["a query added", `${CURSOR_CALLBACK}?next=x`],
  ])("refuses a near miss (%s) with an error page, never a redirect", async (_, redirectUri) => {
    expectRefused(await new Browser().open(authorizationRequest(dev.origin, { clientId, redirectUri }).url));
  });

  it.each([
    ["javascript:", "javascript:alert(document.cookie)"],
    ["data:", "data:text/html,<script>alert(1)</script>"],
    ["plain http to a remote host", "http://evil.example/callback"],
  ])("cannot register a %s redirect URI", async (_, redirectUri) => {
    const response = await fetch(`${dev.origin}/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_name: "x", redirect_uris: [redirectUri], token_endpoint_auth_method: "none" }),
    });
    expect(response.status).toBe(400);
  });

  it.each([
    ["ftp", "ftp://evil.example/callback"],
    ["ws", "ws://evil.example/callback"],
    ["wss", "wss://evil.example/callback"],
    ["smb, which would also send a Windows password hash", "smb://evil.example/share"],
    ["ldap", "ldap://evil.example/callback"],
    ["FTP, after a space", " FTP://evil.example/callback"],
  ])("never sends a code to a network scheme other than https (%s), even one registered", async (_, redirectUri) => {
    const registered = (await registerClient(dev.origin, { client_name: "x", redirect_uris: [redirectUri, target.uri] })).client_id;
    expectRefused(await new Browser().open(authorizationRequest(dev.origin, { clientId: registered, redirectUri }).url));
  });
});
