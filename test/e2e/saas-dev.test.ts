import { refreshAuthorization } from "@modelcontextprotocol/sdk/client/auth.js";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InvalidGrantError, TemporarilyUnavailableError } from "@modelcontextprotocol/sdk/server/auth/errors.js";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
  pkcePair,
  postToken,
  RedirectTarget,
  registerClient,
  type SignInSteps,
  signInAtAccess,
  signInThroughBrowser,
  TestOAuthProvider,
  type TokenAnswer,
  whoami,
} from "../support/oauth.js";
import { saasProject as project } from "../support/project.js";
import { type IdTokenFault, rawRequest, type SaasDev, startSaasDev } from "../support/saas.js";

/**
 * `npm run dev` in a generated saas project: the Worker is the MCP client's
 * OAuth server and signs people in through the local Access for SaaS emulator
 * (SPEC §2, §4.4, §7). Access tokens live 60 s (`--token-ttl 60`, Access's
 * minimum), so the refresh tests at the end see one expire; everything else
 * runs while the first sign-in's Access token ages.
 */
const TOKEN_TTL = 60;
const HOSTILE_NAME = `<script>alert(1)</script>"'&`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let dev: SaasDev;
let target: RedirectTarget;
/** Every token the Worker issued in this file, for the leak check at the end. */
const workerTokens: string[] = [];

beforeAll(async () => {
  [dev, target] = await Promise.all([startSaasDev(project, { tokenTtl: TOKEN_TTL }), RedirectTarget.start()]);
});
afterAll(async () => {
  await dev?.stop();
  await target?.close();
});

const mcpUrl = () => `${dev.origin}/mcp`;
const tokenUrl = () => `${dev.origin}/token`;
const nowSeconds = () => Date.now() / 1000;

function keep(answer: TokenAnswer): TokenAnswer {
  for (const name of ["access_token", "refresh_token"]) if (typeof answer.body[name] === "string") workerTokens.push(answer.body[name] as string);
  return answer;
}

async function newClientId(name = "e2e client"): Promise<string> {
  return (await registerClient(dev.origin, { client_name: name, redirect_uris: [target.uri] })).client_id;
}

/** A whole sign-in by hand: browser steps, then the code at /token with the right verifier. */
async function signIn(clientId: string, email: string) {
  const request = authorizationRequest(dev.origin, { clientId, redirectUri: target.uri });
  const steps = await signInThroughBrowser(new Browser(), request.url, email);
  const code = new URL(steps.callback.location!).searchParams.get("code")!;
  const answer = keep(await postToken(tokenUrl(), { grant_type: "authorization_code", code, redirect_uri: target.uri, client_id: clientId, code_verifier: request.verifier }));
  expect(answer.status, answer.text).toBe(200);
  return { tokens: answer.body as { access_token: string; refresh_token: string; expires_in: number } };
}

/** The browser steps up to the code, without redeeming it. */
async function codeFor(clientId: string, email: string) {
  const request = authorizationRequest(dev.origin, { clientId, redirectUri: target.uri });
  const steps = await signInThroughBrowser(new Browser(), request.url, email);
  return { request, code: new URL(steps.callback.location!).searchParams.get("code")! };
}

function refresh(clientId: string, refreshToken: string): Promise<TokenAnswer> {
  return postToken(tokenUrl(), { grant_type: "refresh_token", refresh_token: refreshToken, client_id: clientId }).then(keep);
}

/** A refresh as the SDK's auth() makes it: its errors are the classes the SDK acts on. */
function sdkRefresh(clientId: string, refreshToken: string) {
  return refreshAuthorization(dev.origin, { clientInformation: { client_id: clientId }, refreshToken, resource: new URL(mcpUrl()) });
}

/** Waits (briefly: wrangler relays workerd's console) until the dev output after `from` matches. */
async function logAfter(from: number, pattern: RegExp): Promise<string> {
  const deadline = Date.now() + 3_000;
  while (!pattern.test(dev.service.output().slice(from)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  return dev.service.output().slice(from);
}

// ---------------------------------------------------------------------------------------------

describe("an MCP client signs in through the Worker and Access", () => {
  const requests: string[] = [];
  const recordingFetch: FetchLike = async (url, init) => {
    const response = await fetch(url, init);
    requests.push(`${init?.method ?? "GET"} ${new URL(url).pathname} ${response.status}`);
    return response;
  };
  let provider: TestOAuthProvider;
  let client: Client;
  let steps: SignInSteps;
  /** When the Access token behind the client's first MCP token expires (unix seconds). */
  let accessExpiresAt: number;

  it("meets 401 at /mcp, with WWW-Authenticate pointing at the protected resource metadata", async () => {
    const response = await initializeWith(mcpUrl());
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe(
      `Bearer realm="OAuth", resource_metadata="${dev.origin}/.well-known/oauth-protected-resource/mcp"`,
    );
  });

  it("finds the resource and authorization server metadata: S256 only, dynamic registration, refresh tokens", async () => {
    const resource = await (await fetch(`${dev.origin}/.well-known/oauth-protected-resource/mcp`)).json();
    expect(resource).toMatchObject({ resource: `${dev.origin}/mcp`, authorization_servers: [dev.origin] });
    const server = await (await fetch(`${dev.origin}/.well-known/oauth-authorization-server`)).json();
    expect(server).toMatchObject({
      issuer: dev.origin,
      authorization_endpoint: `${dev.origin}/authorize`,
      token_endpoint: `${dev.origin}/token`,
      registration_endpoint: `${dev.origin}/register`,
      code_challenge_methods_supported: ["S256"],
    });
    expect(server.grant_types_supported).toEqual(expect.arrayContaining(["authorization_code", "refresh_token"]));
  });

  it("the official SDK client registers, the browser consents and signs in at Access, and whoami returns the email typed there", async () => {
    provider = new TestOAuthProvider({
      redirectUri: target.uri,
      clientName: HOSTILE_NAME,
      authorize: browserSignIn(target, "alice@example.com", (seen) => (steps = seen)),
    });
    client = await connectWithOAuth(mcpUrl(), provider, recordingFetch);
    workerTokens.push(...provider.issued.flatMap((tokens) => [tokens.access_token, tokens.refresh_token ?? ""]));
    accessExpiresAt = (await dev.emulator.stats()).lastAccessTokenExpiresAt;

    const identity = await whoami(client);
    expect(identity.email).toBe("alice@example.com");
    expect(identity.sub).toMatch(UUID);

    // What the SDK did, in order: met 401, discovered, registered, redeemed the code, connected.
    const flow = ["POST /mcp 401", "GET /.well-known/oauth-protected-resource/mcp 200", "GET /.well-known/oauth-authorization-server 200", "POST /register 201", "POST /token 200", "POST /mcp 200"];
    expect(requests.filter((request) => flow.includes(request)).filter((request, i, all) => all.indexOf(request) === i)).toEqual(flow);
    const authorization = provider.authorizations[0]!.searchParams;
    expect(Object.fromEntries(authorization)).toMatchObject({
      client_id: (provider.client as { client_id: string }).client_id,
      redirect_uri: target.uri,
      code_challenge_method: "S256",
      resource: `${dev.origin}/mcp`,
    });
    // The client's redirect URI got the code with the client's own state, and the issuer (RFC 9207).
    const landing = target.hits.at(-1)!;
    expect(landing.get("state")).toBe(authorization.get("state"));
    expect(landing.get("iss")).toBe(dev.origin);
    expect(await dev.grants()).toEqual([expect.stringMatching(new RegExp(`^grant:${identity.sub}:`))]);
  });

  it("showed a consent page that no one can frame, script or cache", () => {
    const headers = steps.consent.headers;
    const csp = headers.get("content-security-policy") ?? "";
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(headers.get("x-frame-options")).toBe("DENY");
    expect(headers.get("cache-control")).toContain("no-store");
    expect([...headers.getSetCookie()].some((cookie) => cookie.startsWith("__Host-") && /;\s*HttpOnly/i.test(cookie) && /;\s*Secure/i.test(cookie))).toBe(true);
  });

  it("showed the client's self-chosen name escaped, where its tokens go, and a plain form", () => {
    const html = steps.consent.text;
    expect(html).toContain("&#60;script&#62;alert(1)&#60;/script&#62;&#34;&#39;&#38;");
    expect(html).not.toContain("<script");
    expect(html).toContain(`<code>${target.uri}</code>`);
    expect(html).toContain("an app on your computer"); // a loopback redirect URI gets a warning
    expect(html).toMatch(/<form method="post" action="\/authorize">/);
  });

  it("sent the browser to Access with PKCE S256, a nonce, its own state and the Worker's /callback", () => {
    const upstream = new URL(steps.approval.location!);
    expect(upstream.origin + upstream.pathname).toBe(`${dev.issuer}/authorization`);
    expect(Object.fromEntries(upstream.searchParams)).toMatchObject({
      response_type: "code",
      client_id: dev.vars.ACCESS_CLIENT_ID,
      redirect_uri: `${dev.origin}/callback`,
      code_challenge_method: "S256",
      scope: expect.stringMatching(/\bopenid\b.*\boffline_access\b/),
    });
    expect(upstream.searchParams.get("code_challenge")).toMatch(/^[\w-]{43}$/);
    expect(upstream.searchParams.get("nonce")!.length).toBeGreaterThanOrEqual(43);
    // Access gets the Worker's own transaction state, never the MCP client's.
    expect(upstream.searchParams.get("state")).not.toBe(provider.authorizations[0]!.searchParams.get("state"));
  });

  describe("the consent page presents nothing a client made up as fact", () => {
    const HOSTILE_URI = `https://evil.example/"><style>*{display:none}</style><b x='`;
    let html: string;
    let answer: TokenAnswer;

    beforeAll(async () => {
      const clientId = (
        await registerClient(dev.origin, {
          client_name: `Claude\u202e"><img src=x onerror=alert(1)>`,
          client_uri: HOSTILE_URI,
          logo_uri: "https://evil.example/logo.png",
          policy_uri: HOSTILE_URI,
          tos_uri: HOSTILE_URI,
          redirect_uris: [target.uri],
        })
      ).client_id;
      const request = authorizationRequest(dev.origin, { clientId, redirectUri: target.uri });
      const url = new URL(request.url);
      url.searchParams.set("scope", "read-only anything<b>");
      const steps = await signInThroughBrowser(new Browser(), url.href, "scoped@example.com");
      html = steps.consent.text;
      const code = new URL(steps.callback.location!).searchParams.get("code")!;
      answer = keep(await postToken(tokenUrl(), { grant_type: "authorization_code", code, redirect_uri: target.uri, client_id: clientId, code_verifier: request.verifier }));
    });

    it("shows no scope the client asked for, since the server defines none, and grants none either", () => {
      expect(html).not.toContain("read-only");
      expect(html).not.toContain("anything");
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body.scope ?? "").toBe("");
    });

    it("labels the name as the app's own claim, and shows where the browser goes next", () => {
      expect(html).toContain("calls itself");
      expect(html).toContain(`<strong>${new URL(target.uri).origin}</strong>`);
    });

    it("lets no client-provided value add markup, styles or attributes", () => {
      expect(html).not.toMatch(/<img|<style>\*|<b x=|<[^>]*onerror=/);
      expect(html).not.toContain("\u202e");
      // The only style sheet is the page's own, allowed by hash.
      expect(html.match(/<style>/g)).toHaveLength(1);
    });
  });

  // ------------------------------------------------------------------------------------------
  // Refusals: each must end without a grant, and as a 4xx (never a 500).

  describe("an Access ID token that is not right: /callback refuses it, no code reaches the client, KV holds no grant", () => {
    let clientId: string;
    beforeAll(async () => {
      clientId = await newClientId();
    });

    it.each<[IdTokenFault, string, RegExp]>([
      ["wrong-iss", "from another issuer", /ERR_JWT_CLAIM_VALIDATION_FAILED/],
      ["wrong-aud", "for another client", /ERR_JWT_CLAIM_VALIDATION_FAILED/],
      ["wrong-nonce", "with another sign-in's nonce", /nonce missing or not the one/],
      ["no-nonce", "without a nonce", /nonce missing or not the one/],
      ["expired", "expired", /ERR_JWT_EXPIRED/],
      ["bad-signature", "signed by a key Access does not publish", /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/],
      ["alg-none", "unsigned (alg none)", /ERR_JOSE_ALG_NOT_ALLOWED/],
    ])("%s: an ID token %s", async (fault, _, reason) => {
      const grantsBefore = await dev.grants();
      const { codeExchanges } = await dev.emulator.stats();
      const browser = new Browser();
      const request = authorizationRequest(dev.origin, { clientId, redirectUri: target.uri });
      const { handle } = await openConsent(browser, request.url);
      const approval = await approve(browser, request.url, handle);
      const { answer } = await signInAtAccess(browser, approval.location!, `mallory.${fault}@example.com`);
      await dev.emulator.fault({ idToken: fault });
      const logFrom = dev.service.output().length;
      const hits = target.hits.length;

      const callback = await browser.open(answer.location!);
      expect(callback.status).toBe(400);
      expect(callback.location).toBeUndefined();
      expect(target.hits).toHaveLength(hits);
      expect(callback.text).toContain("could not be verified");
      // The Worker redeemed the code at Access, and refused what came back for this reason.
      expect((await dev.emulator.stats()).codeExchanges).toBe(codeExchanges + 1);
      expect(await logAfter(logFrom, reason)).toMatch(reason);
      expect(await dev.grants()).toEqual(grantsBefore);
    });
  });

  describe("consent and the way back from Access: only the browser that started a sign-in can finish it", () => {
    let clientId: string;
    beforeAll(async () => {
      clientId = await newClientId();
    });

    /** A consent page opened in a new browser, then whatever `post` does with it. */
    async function consentThen(post: (browser: Browser, handle: string, url: string) => Promise<Page>) {
      const browser = new Browser();
      const request = authorizationRequest(dev.origin, { clientId, redirectUri: target.uri });
      const { handle } = await openConsent(browser, request.url);
      return { answer: await post(browser, handle, request.url), browser, handle, request };
    }

    it("Deny: back to the client with access_denied and its state, Access never asked", async () => {
      const { answer, request } = await consentThen((browser, handle, url) => browser.open(new URL("/authorize", url).href, { form: { handle, decision: "deny" } }));
      expect(answer.status).toBe(303);
      const back = new URL(answer.location!);
      expect(back.origin + back.pathname).toBe(target.uri);
      expect(back.searchParams.get("error")).toBe("access_denied");
      expect(back.searchParams.get("state")).toBe(request.state);
      expect(back.searchParams.has("code")).toBe(false);
    });

    it("Cancel at Access: back to the client with access_denied and its state, no code redeemed", async () => {
      const { answer: approval, browser, request } = await consentThen((browser, handle, url) => approve(browser, url, handle));
      const accessPage = await browser.open(approval.location!);
      const cancel = await browser.open(approval.location!, { form: { request: formField(accessPage.text, "request")!, action: "cancel" } });
      const { codeExchanges } = await dev.emulator.stats();
      const callback = await browser.open(cancel.location!);
      expect(callback.status).toBe(302);
      const back = new URL(callback.location!);
      expect(back.origin + back.pathname).toBe(target.uri);
      expect(back.searchParams.get("error")).toBe("access_denied");
      expect(back.searchParams.get("state")).toBe(request.state);
      expect(back.searchParams.has("code")).toBe(false);
      expect((await dev.emulator.stats()).codeExchanges).toBe(codeExchanges);
    });

    it("Allow with \"don't ask again\": the next sign-in in the same browser skips the page, another browser still sees it", async () => {
      const { answer, browser } = await consentThen((browser, handle, url) => approve(browser, url, handle, { remember: "1" }));
      expect(answer.status).toBe(303);
      const again = await browser.open(authorizationRequest(dev.origin, { clientId, redirectUri: target.uri }).url);
      expect(again.status).toBe(303);
      expect(again.location).toMatch(new RegExp(`^${dev.issuer}/authorization\\?`));
      expect((await new Browser().open(authorizationRequest(dev.origin, { clientId, redirectUri: target.uri }).url)).status).toBe(200);
    });

    it("refuses an Allow without the handle", async () => {
      const { answer } = await consentThen((browser, _, url) => browser.open(new URL("/authorize", url).href, { form: { decision: "approve" } }));
      expectRefused(answer);
    });

    it("refuses an Allow with a tampered handle", async () => {
      const { answer } = await consentThen((browser, handle, url) => approve(browser, url, tamper(handle)));
      expectRefused(answer);
    });

    it("refuses an Allow from a browser without the consent cookie (a cross-site form post)", async () => {
      const { answer } = await consentThen((_, handle, url) => approve(new Browser(), url, handle));
      expectRefused(answer);
    });

    it("refuses an Allow whose consent cookie was tampered with", async () => {
      const { answer } = await consentThen((browser, handle, url) => {
        const cookies = browser.cookies(dev.origin);
        const [name, value] = [...cookies].find(([cookie]) => cookie.startsWith("__Host-"))!;
        cookies.set(name, tamper(value));
        return approve(browser, url, handle);
      });
      expectRefused(answer);
    });

    it("refuses a handle used twice", async () => {
      const { answer, browser, handle, request } = await consentThen((browser, handle, url) => approve(browser, url, handle));
      expect(answer.status).toBe(303);
      expectRefused(await approve(browser, request.url, handle));
    });

    it("refuses a /callback whose state was tampered with, before redeeming the code at Access", async () => {
      const { answer: approval, browser } = await consentThen((browser, handle, url) => approve(browser, url, handle));
      const { answer } = await signInAtAccess(browser, approval.location!, "frank@example.com");
      const { codeExchanges } = await dev.emulator.stats();
      const callback = new URL(answer.location!);
      callback.searchParams.set("state", tamper(callback.searchParams.get("state")!));
      expectRefused(await browser.open(callback.href));
      expect((await dev.emulator.stats()).codeExchanges).toBe(codeExchanges);
    });

    it("refuses a /callback in another browser (no upstream cookie), before redeeming the code at Access", async () => {
      const { answer: approval, browser } = await consentThen((browser, handle, url) => approve(browser, url, handle));
      const { answer } = await signInAtAccess(browser, approval.location!, "frank@example.com");
      const { codeExchanges } = await dev.emulator.stats();
      expectRefused(await new Browser().open(answer.location!));
      expect((await dev.emulator.stats()).codeExchanges).toBe(codeExchanges);
    });
  });

  describe("/authorize checks the request before showing anything", () => {
    let clientId: string;
    beforeAll(async () => {
      clientId = await newClientId();
    });

    it.each([
      ["another path on the same loopback host", () => `${target.uri.replace(/\/callback$/, "")}/evil`],
      ["a path that walks out of the registered one", () => `${target.uri}/../evil`],
      ["another host", () => "https://evil.example/callback"],
      ["the registered one with a query added", () => `${target.uri}?next=https://evil.example`],
    ])("refuses a redirect URI the client did not register (%s): an error page, no redirect, no consent transaction", async (_, redirectUri) => {
      const browser = new Browser();
      const page = await browser.open(authorizationRequest(dev.origin, { clientId, redirectUri: redirectUri() }).url);
      expectRefused(page);
      expect(formField(page.text, "handle")).toBeUndefined();
      expect(browser.cookies(dev.origin).size).toBe(0);
    });

    it("refuses an unknown client", async () => {
      const request = authorizationRequest(dev.origin, { clientId: "no-such-client", redirectUri: target.uri });
      expectRefused(await new Browser().open(request.url));
    });

    it.each<[string, (url: URL) => void, string]>([
      ["PKCE with the plain method", (url) => url.searchParams.set("code_challenge_method", "plain"), "invalid_request"],
      ["no PKCE at all", (url) => ["code_challenge", "code_challenge_method"].forEach((name) => url.searchParams.delete(name)), "invalid_request"],
      ["a resource other than this server's /mcp", (url) => url.searchParams.set("resource", "https://evil.example/mcp"), "invalid_target"],
      ["the implicit flow", (url) => url.searchParams.set("response_type", "token"), "unsupported_response_type"],
    ])("refuses %s: back to the (registered) redirect URI with %s, no consent page", async (_, change, error) => {
      const request = authorizationRequest(dev.origin, { clientId, redirectUri: target.uri });
      const url = new URL(request.url);
      change(url);
      const page = await new Browser().open(url.href);
      expect(page.status).toBe(302);
      const back = new URL(page.location!);
      expect(back.origin + back.pathname).toBe(target.uri);
      expect(back.searchParams.get("error")).toBe(error);
      expect(back.searchParams.get("state")).toBe(request.state);
      expect(back.searchParams.has("code")).toBe(false);
    });
  });

  describe("the token endpoint", () => {
    let clientId: string;
    beforeAll(async () => {
      clientId = await newClientId();
    });

    it("refuses a code with the wrong code_verifier: invalid_grant, no tokens, Access not asked", async () => {
      const { code } = await codeFor(clientId, "dave@example.com");
      const { refreshes } = await dev.emulator.stats();
      const answer = keep(await postToken(tokenUrl(), { grant_type: "authorization_code", code, redirect_uri: target.uri, client_id: clientId, code_verifier: pkcePair().verifier }));
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe("invalid_grant");
      expect(answer.body).not.toHaveProperty("access_token");
      expect((await dev.emulator.stats()).refreshes).toBe(refreshes);
    });

    it("refuses a code used twice, and revokes what the first use issued", async () => {
      const grantsBefore = await dev.grants();
      const { code, request } = await codeFor(clientId, "erin@example.com");
      const params = { grant_type: "authorization_code", code, redirect_uri: target.uri, client_id: clientId, code_verifier: request.verifier };
      const first = keep(await postToken(tokenUrl(), params));
      expect(first.status).toBe(200);
      const second = keep(await postToken(tokenUrl(), params));
      expect(second.status).toBe(400);
      expect(second.body.error).toBe("invalid_grant");
      expect(second.body).not.toHaveProperty("access_token");
      expect((await initializeWith(mcpUrl(), first.body.access_token as string)).status).toBe(401);
      expect((await refresh(clientId, first.body.refresh_token as string)).body.error).toBe("invalid_grant");
      expect(await dev.grants()).toEqual(grantsBefore);
    });
  });

  describe("/mcp accepts only this server's own access tokens", () => {
    it("refuses one of its tokens on another of its origins: each is bound to the /mcp resource it was issued for", async () => {
      const { tokens } = await signIn(await newClientId(), "heidi@example.com");
      expect((await initializeWith(mcpUrl(), tokens.access_token)).status).toBe(200);
      const elsewhere = await initializeWith(`http://localhost:${dev.port}/mcp`, tokens.access_token);
      expect(elsewhere.status).toBe(401);
      expect(elsewhere.headers.get("www-authenticate")).toContain('error="invalid_token"');
    });

    it("refuses Access's own access token and ID token as the MCP bearer: 401 invalid_token, nothing echoed", async () => {
      // Sign in at the emulator as the Worker would, to hold real Access tokens.
      const { verifier, challenge } = pkcePair();
      const authorization = new URL(`${dev.issuer}/authorization`);
      authorization.search = new URLSearchParams({
        response_type: "code",
        client_id: dev.vars.ACCESS_CLIENT_ID!,
        redirect_uri: `${dev.origin}/callback`,
        scope: "openid email offline_access",
        state: "s",
        nonce: "n",
        code_challenge: challenge,
        code_challenge_method: "S256",
      }).toString();
      const { answer } = await signInAtAccess(new Browser(), authorization.href, "eve@example.com");
      const access = await postToken(`${dev.issuer}/token`, {
        grant_type: "authorization_code",
        code: new URL(answer.location!).searchParams.get("code")!,
        redirect_uri: `${dev.origin}/callback`,
        code_verifier: verifier,
        client_id: dev.vars.ACCESS_CLIENT_ID!,
        client_secret: dev.vars.ACCESS_CLIENT_SECRET!,
      });
      expect(access.status, access.text).toBe(200);

      for (const token of [access.body.access_token as string, access.body.id_token as string, `${access.body.access_token}:x:y`]) {
        const response = await initializeWith(mcpUrl(), token);
        const body = await response.text();
        expect(response.status).toBe(401);
        expect(response.headers.get("www-authenticate")).toContain('error="invalid_token"');
        expect(body).not.toContain(token);
      }
    });
  });

  // ------------------------------------------------------------------------------------------
  // The dev server is on loopback: a web page that rebinds its own hostname to 127.0.0.1 reaches it
  // as a "same-origin" server, and can send any header but Host, Origin and the Sec-* ones.

  describe("the dev server answers only requests addressed to it on loopback", () => {
    const registration = JSON.stringify({ client_name: "rebound", redirect_uris: ["http://127.0.0.1:9/cb"], token_endpoint_auth_method: "none" });
    const register = (target: string, headers: string[], port = dev.port) =>
      rawRequest(port, [`POST ${target} HTTP/1.1`, ...headers, "Content-Type: application/json"], registration);
    const local = () => `Host: 127.0.0.1:${dev.port}`;

    it("registers a client addressed as 127.0.0.1, localhost or [::1] on its port (the control)", async () => {
      for (const host of ["127.0.0.1", "localhost", "[::1]"]) {
        const answer = await register("/register", [`Host: ${host}:${dev.port}`]);
        expect(answer.status, `${host}: ${answer.text}`).toBe(201);
      }
      // A browser-based client on another loopback port, such as MCP Inspector.
      expect((await register("/register", [local(), "Origin: http://localhost:6274"])).status).toBe(201);
    });

    it.each<[string, () => [string, string[]]]>([
      ["a rebinding host", () => ["/register", [`Host: evil.example:${dev.port}`]]],
      ["a rebinding host that names loopback in MF-Original-URL", () => ["/register", [`Host: evil.example:${dev.port}`, `MF-Original-URL: http://localhost:${dev.port}/register`]]],
      ["MF-Original-URL naming another host", () => ["/register", [local(), "MF-Original-URL: http://evil.example/register"]]],
      ["an MF-* header", () => ["/register", [local(), `MF-Original-Hostname: evil.example`]]],
      ["X-Forwarded-Host", () => ["/register", [local(), "X-Forwarded-Host: evil.example"]]],
      ["X-Forwarded-Proto with a rebinding host", () => ["/register", [`Host: evil.example:${dev.port}`, "X-Forwarded-Proto: https"]]],
      ["X-Forwarded-Proto", () => ["/register", [local(), "X-Forwarded-Proto: https"]]],
      ["Forwarded", () => ["/register", [local(), "Forwarded: host=evil.example;proto=https"]]],
      ["an absolute-form request target naming loopback, with a rebinding host", () => [`http://localhost:${dev.port}/register`, [`Host: evil.example:${dev.port}`]]],
      ["an absolute-form request target naming another host", () => ["http://evil.example/register", [local()]]],
      ["a Host with a trailing dot", () => ["/register", [`Host: localhost.:${dev.port}`]]],
      ["a Host in capitals", () => ["/register", [`Host: EVIL.EXAMPLE:${dev.port}`]]],
      ["a Host with userinfo", () => ["/register", [`Host: user@evil.example:${dev.port}`]]],
      ["a Host that is another IPv6 address", () => ["/register", [`Host: [2001:db8::1]:${dev.port}`]]],
      ["a Host on another port", () => ["/register", [`Host: localhost:${dev.port + 1}`]]],
      ["a Host without a port", () => ["/register", ["Host: localhost"]]],
    ])("421 for %s, and no client registered", async (_, request) => {
      const [target, headers] = request();
      const answer = await register(target, headers);
      expect(answer.status, answer.text).toBe(421);
      expect(answer.text).not.toContain("client_id");
    });

    it("403 for a request from a web page that is not on loopback (its Origin), whatever Host it reached", async () => {
      for (const origin of [`http://evil.example:${dev.port}`, "https://evil.example", "http://localhost.evil.example"]) {
        const answer = await register("/register", [local(), `Origin: ${origin}`]);
        expect(answer.status, `${origin}: ${answer.text}`).toBe(403);
        expect(answer.text).not.toContain("client_id");
      }
    });

    it("the Worker itself refuses what did not come through npm run dev's check, even with MF-Original-URL", async () => {
      const internal = Number(/Ready on http:\/\/127\.0\.0\.1:(\d+)/.exec(dev.service.output())?.[1]);
      expect(internal).toBeGreaterThan(0);
      expect(internal).not.toBe(dev.port);
      for (const headers of [[`Host: 127.0.0.1:${dev.port}`], [`Host: evil.example:${internal}`, `MF-Original-URL: http://localhost:${dev.port}/register`]]) {
        const answer = await register("/register", headers, internal);
        expect(answer.status, answer.text).toBe(421);
      }
    });
  });

  // ------------------------------------------------------------------------------------------
  // Refreshing: Access is asked again, and its answer decides what happens to the grant.

  describe("refreshing", () => {
    let clientId: string;
    beforeAll(async () => {
      clientId = await newClientId();
    });

    it("Access failing (5xx) on a refresh: 503 temporarily_unavailable with Retry-After, and the grant is kept", async () => {
      const { tokens } = await signIn(clientId, "bob@example.com");
      const grantsBefore = await dev.grants();
      const { refreshFailures } = await dev.emulator.stats();
      await dev.emulator.fault({ refresh: "server_error" });

      const failed = await refresh(clientId, tokens.refresh_token);
      expect(failed.status).toBe(503);
      expect(failed.body.error).toBe("temporarily_unavailable");
      expect(failed.headers.get("retry-after")).toMatch(/^\d+$/);
      expect((await dev.emulator.stats()).refreshFailures).toBe(refreshFailures + 1);
      expect(await dev.grants()).toEqual(grantsBefore);
      // The SDK reads it as retryable: it keeps its tokens rather than sending the user to sign in.
      await dev.emulator.fault({ refresh: "server_error" });
      await expect(sdkRefresh(clientId, tokens.refresh_token)).rejects.toBeInstanceOf(TemporarilyUnavailableError);

      // The client retries with the same refresh token, and goes on.
      const retried = await refresh(clientId, tokens.refresh_token);
      expect(retried.status, retried.text).toBe(200);
      expect((await initializeWith(mcpUrl(), retried.body.access_token as string)).status).toBe(200);
    });

    it("Access refusing a refresh (invalid_grant): invalid_grant, and the grant is revoked with its tokens", async () => {
      const before = await dev.grants();
      const { tokens } = await signIn(clientId, "carol@example.com");
      expect((await dev.grants()).length).toBe(before.length + 1);
      await dev.emulator.fault({ refresh: "invalid_grant" });

      const refused = await refresh(clientId, tokens.refresh_token);
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe("invalid_grant");
      expect(await dev.grants()).toEqual(before);
      // The SDK reads it as final: it drops its tokens and signs in again.
      await expect(sdkRefresh(clientId, tokens.refresh_token)).rejects.toBeInstanceOf(InvalidGrantError);
      expect((await initializeWith(mcpUrl(), tokens.access_token)).status).toBe(401);
    });

    it("a refreshed ID token that is not right (another issuer): invalid_grant, and the grant is revoked", async () => {
      const before = await dev.grants();
      const { tokens } = await signIn(clientId, "grace@example.com");
      await dev.emulator.fault({ idToken: "wrong-iss" });
      const refused = await refresh(clientId, tokens.refresh_token);
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe("invalid_grant");
      expect(refused.body).not.toHaveProperty("access_token");
      expect(await dev.grants()).toEqual(before);
    });

    /** An answer to one of several refreshes sent at once: new tokens, or "try again shortly". */
    function expectRefreshedOrRetryable(answer: TokenAnswer) {
      if (answer.status === 200) return;
      expect(answer.status, answer.text).toBe(503);
      expect(answer.body.error).toBe("temporarily_unavailable");
      expect(answer.headers.get("retry-after")).toMatch(/^\d+$/);
    }

    it.each([2, 5])("%i refreshes at once with the same refresh token: the user stays signed in, with one refresh at Access", async (count) => {
      const { tokens } = await signIn(clientId, `parallel${count}@example.com`);
      const grants = await dev.grants();
      const before = await dev.emulator.stats();

      const answers = await Promise.all(Array.from({ length: count }, () => refresh(clientId, tokens.refresh_token)));
      answers.forEach(expectRefreshedOrRetryable);
      const refreshed = answers.filter((answer) => answer.status === 200);
      expect(refreshed.length).toBeGreaterThan(0);
      // Access was asked once, and never refused: nothing was mistaken for the end of the sign-in.
      const after = await dev.emulator.stats();
      expect(after.refreshes).toBe(before.refreshes + 1);
      expect(after.refreshFailures).toBe(before.refreshFailures);
      expect(await dev.grants()).toEqual(grants);
      // Every caller that got tokens can use them, and refresh again with its refresh token.
      for (const answer of refreshed) {
        expect((await initializeWith(mcpUrl(), answer.body.access_token as string)).status).toBe(200);
      }
      for (const refreshToken of new Set(refreshed.map((answer) => answer.body.refresh_token as string))) {
        const next = await refresh(clientId, refreshToken);
        expect(next.status, next.text).toBe(200);
        expect((await initializeWith(mcpUrl(), next.body.access_token as string)).status).toBe(200);
      }
      expect(await dev.grants()).toEqual(grants);
    });

    it("two different refresh requests at once with the same refresh token (as from two isolates): one refreshes, the other may retry, and no one is signed out", async () => {
      const { tokens } = await signIn(clientId, "twins@example.com");
      const grants = await dev.grants();
      const { refreshFailures } = await dev.emulator.stats();

      // The second asks for the /mcp resource explicitly: not the same request, so not answered together.
      const [plain, withResource] = await Promise.all([
        refresh(clientId, tokens.refresh_token),
        postToken(tokenUrl(), { grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id: clientId, resource: mcpUrl() }).then(keep),
      ]);
      [plain, withResource].forEach(expectRefreshedOrRetryable);
      const refreshed = [plain, withResource].filter((answer) => answer.status === 200);
      expect(refreshed.length).toBeGreaterThan(0);
      expect(await dev.grants()).toEqual(grants);
      // Whoever lost the race at Access answered "try again", and did not revoke the grant: the
      // winner's tokens work, and so does its next refresh.
      const winner = refreshed.at(-1)!;
      expect((await initializeWith(mcpUrl(), winner.body.access_token as string)).status).toBe(200);
      const next = await refresh(clientId, winner.body.refresh_token as string);
      expect(next.status, next.text).toBe(200);
      expect((await dev.emulator.stats()).refreshFailures).toBeLessThanOrEqual(refreshFailures + 1);
      expect(await dev.grants()).toEqual(grants);
    });

    it("Access revoking the user's sessions: the next refresh answers invalid_grant, and the grant is revoked with its tokens", async () => {
      const before = await dev.grants();
      const { tokens } = await signIn(clientId, "revoked@example.com");
      expect(await dev.emulator.revoke("revoked@example.com")).toBe(1);

      const refused = await refresh(clientId, tokens.refresh_token);
      expect(refused.status, refused.text).toBe(400);
      expect(refused.body.error).toBe("invalid_grant");
      expect(refused.body).not.toHaveProperty("access_token");
      expect(await dev.grants()).toEqual(before);
      expect((await initializeWith(mcpUrl(), tokens.access_token)).status).toBe(401);
    });

    it(
      "once the Access token has expired: /mcp answers invalid_token, the SDK client refreshes, Access issues a new token, whoami still answers",
      async () => {
        const oldToken = provider.stored!.access_token;
        const waitMs = Math.max(0, (accessExpiresAt + 1 - nowSeconds()) * 1000);
        console.log(`saas dev: waiting ${(waitMs / 1000).toFixed(1)} s for the first Access token to expire`);
        await new Promise((resolve) => setTimeout(resolve, waitMs));

        const expired = await initializeWith(mcpUrl(), oldToken);
        expect(expired.status).toBe(401);
        expect(expired.headers.get("www-authenticate")).toMatch(/error="invalid_token"/);
        expect(expired.headers.get("www-authenticate")).toContain("resource_metadata=");

        const before = await dev.emulator.stats();
        const identity = await whoami(client); // the SDK meets the 401, refreshes, retries
        expect(identity.email).toBe("alice@example.com");
        const after = await dev.emulator.stats();
        expect(after.refreshes).toBe(before.refreshes + 1);
        expect(after.lastAccessTokenExpiresAt).toBeGreaterThan(accessExpiresAt);
        expect(provider.stored!.access_token).not.toBe(oldToken);
        expect(provider.authorizations).toHaveLength(1); // refreshed, not signed in again
        workerTokens.push(...provider.issued.flatMap((tokens) => [tokens.access_token, tokens.refresh_token ?? ""]));
      },
      TOKEN_TTL * 1000 + 60_000,
    );
  });

  it("printed no code or token, neither Access's nor its own, and not the client secret", async () => {
    const issued = await dev.emulator.issued();
    expect(issued.length).toBeGreaterThan(0);
    const secrets = [...issued, ...workerTokens.filter(Boolean), dev.vars.ACCESS_CLIENT_SECRET!, dev.vars.COOKIE_ENCRYPTION_KEY!];
    const output = dev.service.output();
    // Only a prefix of a leaked value goes into the failure message.
    expect(secrets.filter((secret) => output.includes(secret)).map((secret) => `${secret.slice(0, 6)}…`)).toEqual([]);
  });

  it("stops on Ctrl-C, taking wrangler, workerd and the emulator down with it", async () => {
    process.kill(-dev.service.child.pid!, "SIGINT"); // what a terminal's Ctrl-C does: the whole foreground group
    await new Promise((resolve) => dev.service.child.once("exit", resolve));
    for (const origin of [dev.origin, dev.emulator.origin]) {
      await expect(fetch(origin, { signal: AbortSignal.timeout(2_000) }), origin).rejects.toThrow();
    }
  });
});

/** A refusal as an error page of ours: 400, and no redirect, neither onwards to Access nor back to the client. */
function expectRefused(page: { status: number; location: string | undefined }) {
  expect(page.status).toBe(400);
  expect(page.location).toBeUndefined();
}

/** Changes one character in the middle, keeping the alphabet (base64url and hex both have "a" and "b"). */
function tamper(value: string): string {
  const i = Math.floor(value.length / 2);
  return value.slice(0, i) + (value[i] === "a" ? "b" : "a") + value.slice(i + 1);
}
