import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLIENT_NAMES, type ClientName, clientInfo } from "../../src/config/clients.js";
import { CimdServer } from "../support/cimd.js";
import { callWhoami } from "../support/mcp.js";
import { authorizationRequest, Browser, postToken, registerClient, signInThroughBrowser } from "../support/oauth.js";
import { saasProject as project } from "../support/project.js";
import { type SaasDev, startSaasDev } from "../support/saas.js";

/**
 * Every client in the table (src/config/clients.ts) signs in to a saas Worker under its real
 * `npm run dev` the way that client does: registration by its Client ID Metadata Document (served
 * over https on loopback, at the same path as the real one) or by dynamic registration, with its
 * own redirect URIs (https, private-use scheme, loopback on another port than registered, as RFC
 * 8252 lets a native client), PKCE S256 and the RFC 8707 `resource` at /authorize and /token; then
 * `whoami` with the token, a refresh, and `whoami` with the refreshed one. The browser never
 * reaches the client's own callback (https://claude.ai…): the code is read from the Worker's
 * redirect, exactly as the client's callback would receive it.
 *
 * The self-hosted side of the matrix, that `provision` lets each client register with Access, is
 * test/unit/provision.test.ts ("every client in the table can register").
 */

let dev: SaasDev;
let documents: CimdServer;

beforeAll(async () => {
  documents = await CimdServer.start();
  dev = await startSaasDev(project, { env: { NODE_EXTRA_CA_CERTS: documents.caFile } });
});
afterAll(async () => {
  await dev?.stop();
  await documents?.close();
});

const LOOPBACK = /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\//;

/** The redirect URI the client sends this time: a loopback one on a port it did not register, as when its own is busy. */
function redirectUriOf(name: ClientName): string {
  const registered = clientInfo(name).redirectUris[0]!;
  if (!LOOPBACK.test(registered)) return registered;
  const url = new URL(registered);
  url.port = "49321";
  return url.href;
}

/** Registers the client as it does: its metadata document's URL is its client ID, or it registers at /register. */
async function registerAs(name: ClientName): Promise<string> {
  const { label, registration, metadataUrl, redirectUris } = clientInfo(name);
  const metadata = {
    client_name: label,
    redirect_uris: [...redirectUris],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
  };
  if (registration === "dcr") return (await registerClient(dev.origin, metadata)).client_id;
  const clientId = documents.url(`/${name}${new URL(metadataUrl!).pathname}`);
  documents.serve(new URL(clientId).pathname, { json: { client_id: clientId, ...metadata }, headers: { "cache-control": "max-age=300" } });
  return clientId;
}

describe.each(CLIENT_NAMES)("%s signs in to a saas Worker as it does in real life", (name) => {
  const { registration, label } = clientInfo(name);
  const email = `${name}@example.com`;
  let tokens: Record<string, unknown>;
  let clientId: string;

  it(`registers (${registration}), consents, signs in at Access, and its redirect URI gets the code`, async () => {
    clientId = await registerAs(name);
    const redirectUri = redirectUriOf(name);
    const request = authorizationRequest(dev.origin, { clientId, redirectUri });
    const steps = await signInThroughBrowser(new Browser(), request.url, email);

    // The consent page says who asks: the document's host for a CIMD client, the claimed name otherwise.
    if (registration === "cimd") expect(steps.consent.text).toContain("Its client ID is a document on <strong>127.0.0.1</strong>");
    else expect(steps.consent.text).toContain(label.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"));

    const back = steps.callback.location!;
    expect(back.startsWith(`${redirectUri}?`), back).toBe(true);
    const params = new URL(back).searchParams;
    expect(params.get("state")).toBe(request.state);
    expect(params.get("iss")).toBe(dev.origin);

    const answer = await postToken(`${dev.origin}/token`, {
      grant_type: "authorization_code",
      code: params.get("code")!,
      redirect_uri: redirectUri,
      client_id: clientId,
      code_verifier: request.verifier,
      resource: `${dev.origin}/mcp`,
    });
    expect(answer.status, answer.text).toBe(200);
    tokens = answer.body;
    expect(tokens).toMatchObject({ token_type: expect.stringMatching(/^bearer$/i), access_token: expect.any(String), refresh_token: expect.any(String) });
  });

  it("calls whoami with its token, refreshes, and calls it again with the new one", async () => {
    expect(tokens, "the sign-in above failed").toBeDefined();
    const first = await callWhoami(`${dev.origin}/mcp`, { authorization: `Bearer ${tokens.access_token}` });
    expect(first.identity.email).toBe(email);

    const refreshed = await postToken(`${dev.origin}/token`, {
      grant_type: "refresh_token",
      refresh_token: String(tokens.refresh_token),
      client_id: clientId,
      resource: `${dev.origin}/mcp`,
    });
    expect(refreshed.status, refreshed.text).toBe(200);
    expect(refreshed.body.access_token).not.toBe(tokens.access_token);
    const second = await callWhoami(`${dev.origin}/mcp`, { authorization: `Bearer ${refreshed.body.access_token}` });
    expect(second.identity).toEqual(first.identity);
  });
});
