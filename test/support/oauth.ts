import { createHash, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type OAuthClientProvider, UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";

/**
 * What an MCP client and a person's browser do during an OAuth sign-in to a
 * saas-mode Worker, over plain HTTP: a browser with a cookie jar, the client's
 * loopback redirect URI, the SDK's OAuthClientProvider, and the raw OAuth
 * requests the negative tests need to make by hand.
 */

/** One response as the browser got it. Redirects are never followed automatically. */
export interface Page {
  url: string;
  status: number;
  headers: Headers;
  text: string;
  location: string | undefined;
}

/**
 * A browser without JavaScript: cookies per origin (the flow's cookies are
 * `__Host-` ones, host-only by definition), forms posted as
 * application/x-www-form-urlencoded, each redirect left to the caller.
 */
export class Browser {
  private readonly jar = new Map<string, Map<string, string>>();

  async open(url: string, options: { form?: Record<string, string> } = {}): Promise<Page> {
    const target = new URL(url);
    const headers = new Headers();
    const cookies = this.jar.get(target.origin);
    if (cookies?.size) headers.set("cookie", [...cookies].map(([name, value]) => `${name}=${value}`).join("; "));
    let body: URLSearchParams | undefined;
    if (options.form) {
      headers.set("content-type", "application/x-www-form-urlencoded");
      body = new URLSearchParams(options.form);
    }
    const response = await fetch(url, { method: body ? "POST" : "GET", headers, body, redirect: "manual" });
    this.store(target.origin, response.headers.getSetCookie());
    return {
      url,
      status: response.status,
      headers: response.headers,
      text: await response.text(),
      location: response.headers.get("location") ?? undefined,
    };
  }

  cookies(origin: string): Map<string, string> {
    let cookies = this.jar.get(origin);
    if (!cookies) this.jar.set(origin, (cookies = new Map()));
    return cookies;
  }

  private store(origin: string, setCookies: string[]) {
    const cookies = this.cookies(origin);
    for (const line of setCookies) {
      const [pair = "", ...attributes] = line.split(";");
      const at = pair.indexOf("=");
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const maxAge = attributes.map((attribute) => attribute.trim()).find((attribute) => /^max-age=/i.test(attribute));
      if (value === "" || (maxAge && Number(maxAge.split("=")[1]) <= 0)) cookies.delete(name);
      else cookies.set(name, value);
    }
  }
}

/** The value of a form field in a page we render or the emulator renders (`name="…" value="…"`). */
export function formField(html: string, name: string): string | undefined {
  return new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
}

/** The browser's walk through one sign-in, each step's response kept for assertions. */
export interface SignInSteps {
  /** GET /authorize: the consent page. */
  consent: Page;
  /** POST /authorize with Allow: 303 to Access. */
  approval: Page;
  /** GET of Access's authorization endpoint: its sign-in page. */
  accessPage: Page;
  /** POST of Access's sign-in form: 302 back to the Worker's /callback. */
  accessAnswer: Page;
  /** GET /callback: 302 to the client's redirect URI, with the code. */
  callback: Page;
}

function expectStep(page: Page, status: number, what: string): Page {
  if (page.status !== status) throw new Error(`${what}: expected ${status}, got ${page.status} ${page.location ?? ""}\n${page.text.slice(0, 500)}`);
  return page;
}

/** Opens the consent page and reads its transaction handle. */
export async function openConsent(browser: Browser, authorizeUrl: string): Promise<{ page: Page; handle: string }> {
  const page = expectStep(await browser.open(authorizeUrl), 200, "consent page");
  const handle = formField(page.text, "handle");
  if (!handle) throw new Error(`the consent page has no handle:\n${page.text}`);
  return { page, handle };
}

/** Posts the consent form as its Allow button does. */
export function approve(browser: Browser, authorizeUrl: string, handle: string, extra: Record<string, string> = {}): Promise<Page> {
  return browser.open(new URL("/authorize", authorizeUrl).href, { form: { handle, decision: "approve", ...extra } });
}

/** At Access (the emulator): opens the sign-in page and signs in with `email`. Returns both pages; the answer redirects to /callback. */
export async function signInAtAccess(browser: Browser, accessUrl: string, email: string, groups?: string[]): Promise<{ page: Page; answer: Page }> {
  const page = expectStep(await browser.open(accessUrl), 200, "Access sign-in page");
  const request = formField(page.text, "request");
  if (!request) throw new Error(`the Access sign-in page has no request field:\n${page.text}`);
  // The groups field is there when the Worker asked for the groups scope; typed as a person would.
  const form = { request, email, action: "sign-in", ...(groups ? { groups: groups.join(", ") } : {}) };
  const answer = expectStep(await browser.open(accessUrl, { form }), 302, "Access sign-in");
  return { page, answer };
}

/**
 * The browser part of a sign-in, as a person does it: the consent page, Allow,
 * the Access sign-in page with `email` typed in, then /callback. Stops with an
 * error at the first step that does not answer as it should.
 */
export async function signInThroughBrowser(browser: Browser, authorizeUrl: string, email: string, groups?: string[]): Promise<SignInSteps> {
  const { page: consent, handle } = await openConsent(browser, authorizeUrl);
  const approval = expectStep(await approve(browser, authorizeUrl, handle), 303, "consent approval");
  const { page: accessPage, answer: accessAnswer } = await signInAtAccess(browser, approval.location!, email, groups);
  const callback = expectStep(await browser.open(accessAnswer.location!), 302, "/callback");
  return { consent, approval, accessPage, accessAnswer, callback };
}

/**
 * A TestOAuthProvider's `authorize` that plays the browser: signs in as `email`, lands on the
 * client's redirect URI (`target`), and returns the code it received. `seen` gets the steps.
 */
export function browserSignIn(target: RedirectTarget, email: string, seen?: (steps: SignInSteps) => void): (url: URL) => Promise<string> {
  const browser = new Browser();
  return async (url) => {
    const steps = await signInThroughBrowser(browser, url.href, email);
    seen?.(steps);
    await fetch(steps.callback.location!);
    return target.hits.at(-1)!.get("code")!;
  };
}

/** The MCP client's loopback redirect URI: a tiny server that records what it was sent. */
export class RedirectTarget {
  readonly hits: URLSearchParams[] = [];
  private constructor(
    private readonly server: Server,
    readonly uri: string,
  ) {}

  static async start(): Promise<RedirectTarget> {
    let target: RedirectTarget | undefined;
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      // Only the redirect URI counts; a browser also asks for /favicon.ico.
      if (url.pathname !== "/callback") return void res.writeHead(404).end();
      target!.hits.push(url.searchParams);
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end("<!doctype html><title>Signed in</title><p>You can close this window.</p>");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    target = new RedirectTarget(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`);
    return target;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * The SDK's OAuthClientProvider, kept in memory. Its `redirectToAuthorization`
 * hands the authorization URL to `authorize`, which plays the browser and
 * returns the code the client's redirect URI received.
 */
export class TestOAuthProvider implements OAuthClientProvider {
  client: OAuthClientInformationMixed | undefined;
  stored: OAuthTokens | undefined;
  /** Every token set the client was given, in order. */
  readonly issued: OAuthTokens[] = [];
  /** Every authorization URL the client sent the browser to. */
  readonly authorizations: URL[] = [];
  private verifier: string | undefined;
  private code: string | undefined;

  constructor(
    private readonly options: {
      redirectUri: string;
      clientName: string;
      authorize: (url: URL) => Promise<string>;
      /** A Client ID Metadata Document's URL: the client uses it as its client ID where the server supports that, instead of registering. */
      clientMetadataUrl?: string;
    },
  ) {}

  get clientMetadataUrl(): string | undefined {
    return this.options.clientMetadataUrl;
  }

  get redirectUrl(): string {
    return this.options.redirectUri;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: this.options.clientName,
      redirect_uris: [this.options.redirectUri],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }

  clientInformation() {
    return this.client;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.client = info;
  }
  tokens() {
    return this.stored;
  }
  saveTokens(tokens: OAuthTokens) {
    this.stored = tokens;
    this.issued.push(tokens);
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier(): string {
    if (!this.verifier) throw new Error("no code verifier saved");
    return this.verifier;
  }
  invalidateCredentials(scope: "all" | "client" | "tokens" | "verifier" | "discovery") {
    if (scope === "all" || scope === "tokens") this.stored = undefined;
    if (scope === "all" || scope === "client") this.client = undefined;
  }

  async redirectToAuthorization(url: URL) {
    this.authorizations.push(url);
    this.code = await this.options.authorize(url);
  }

  /** The code from the last authorization, once. */
  takeCode(): string {
    const code = this.code;
    this.code = undefined;
    if (!code) throw new Error("no authorization code: the client was not sent through a sign-in");
    return code;
  }
}

/**
 * Connects the official MCP SDK client as an app does: the first attempt meets
 * 401, the SDK discovers the server's metadata, registers, sends the browser
 * through the sign-in, and the app finishes with the code and connects again.
 */
export async function connectWithOAuth(mcpUrl: string, provider: TestOAuthProvider, fetchFn?: FetchLike): Promise<Client> {
  const attempt = () => ({
    client: new Client({ name: "create-mcp-access-e2e", version: "1.0.0" }),
    transport: new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider, fetch: fetchFn }),
  });
  const first = attempt();
  try {
    await first.client.connect(first.transport);
    return first.client;
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error;
    await first.transport.finishAuth(provider.takeCode());
  }
  const second = attempt();
  await second.client.connect(second.transport);
  return second.client;
}

export async function whoami(client: Client): Promise<{ email: string; sub: string }> {
  const result = await client.callTool({ name: "whoami", arguments: {} });
  return result.structuredContent as { email: string; sub: string };
}

// ---------------------------------------------------------------------------------------------
// Raw OAuth requests, for what a well-behaved client never sends.

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

export async function registerClient(origin: string, metadata: Partial<OAuthClientMetadata> & { redirect_uris: string[] }): Promise<{ client_id: string }> {
  const response = await fetch(`${origin}/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token_endpoint_auth_method: "none", grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], ...metadata }),
  });
  if (response.status !== 201) throw new Error(`registration: ${response.status} ${await response.text()}`);
  return (await response.json()) as { client_id: string };
}

/** An authorization request as an MCP client builds it: PKCE S256, state, and the /mcp resource. */
export function authorizationRequest(origin: string, options: { clientId: string; redirectUri: string; state?: string }) {
  const { verifier, challenge } = pkcePair();
  const state = options.state ?? randomBytes(8).toString("hex");
  const url = new URL("/authorize", origin);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: options.clientId,
    redirect_uri: options.redirectUri,
    code_challenge: challenge,
    code_challenge_method: "S256",
    state,
    resource: `${origin}/mcp`,
  }).toString();
  return { url: url.href, verifier, state };
}

export interface TokenAnswer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  text: string;
}

/**
 * A whole sign-in as a public client does it: the authorization request (PKCE, state, resource),
 * the browser's way through consent and Access, then the code at `/token` with its verifier.
 */
export async function signInForTokens(
  origin: string,
  options: { clientId: string; target: RedirectTarget; email: string; groups?: string[] },
): Promise<TokenAnswer> {
  const request = authorizationRequest(origin, { clientId: options.clientId, redirectUri: options.target.uri });
  const steps = await signInThroughBrowser(new Browser(), request.url, options.email, options.groups);
  const code = new URL(steps.callback.location!).searchParams.get("code")!;
  return postToken(`${origin}/token`, {
    grant_type: "authorization_code",
    code,
    redirect_uri: options.target.uri,
    client_id: options.clientId,
    code_verifier: request.verifier,
  });
}

/** POSTs a form to a token endpoint and parses the JSON answer. */
export async function postToken(tokenUrl: string, params: Record<string, string>): Promise<TokenAnswer> {
  const response = await fetch(tokenUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(params),
  });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: the assertions on `status` and `text` say what it was
  }
  return { status: response.status, headers: response.headers, body, text };
}

/** An MCP `initialize` with a given bearer token (or none): how a client first meets /mcp. */
export function initializeWith(mcpUrl: string, token?: string): Promise<Response> {
  return fetch(mcpUrl, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "e2e", version: "0" } },
    }),
  });
}
