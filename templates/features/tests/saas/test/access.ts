import { env, exports } from "cloudflare:workers";
import { base64url, type JWTPayload } from "jose";
import { ORIGIN } from "./mcp";
import { type Handler, stubNetwork } from "./network";
import { accessJwks, nowSeconds, signAsAccess } from "./tokens";

/** The user the tests sign in as. */
export const USER = { email: "ada@example.com", sub: "2f8c0a5e-2b0c-4c1e-9b7a-5d0f3e6a1c42" };

/** The test MCP client's redirect URI. Nothing is fetched there: the tests read the redirects. */
export const CLIENT_REDIRECT_URI = "http://127.0.0.1:33418/oauth/callback";

/** Makes the ID token Access returns from its claims. */
export type IdTokenSigner = (claims: JWTPayload) => Promise<string>;

interface FakeAccessOptions {
  /** Answers the Worker's requests to other origins, by origin: the downstream apps. */
  apps?: Record<string, Handler>;
  /** Makes the ID token from its claims. Tests of bad ID tokens pass their own. */
  signIdToken?: IdTokenSigner;
}

async function s256(verifier: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
}

/**
 * Plays the Access for SaaS app the Worker signs users in with: its authorization endpoint, where the
 * user signs in, and its token and key endpoints on the loopback address of vitest.config.ts. Like
 * Access, the token endpoint checks the client secret, the redirect URI and the PKCE verifier, and
 * takes each refresh token once, issuing a new one with each refresh.
 */
export class FakeAccess {
  /** Every request the Worker made, to Access and to the apps. */
  readonly requests: Request[];
  /** The access token of the last sign-in or refresh: what downstream apps must receive. */
  accessToken = "";
  /** How many refreshes Access answered with new tokens. */
  refreshes = 0;
  #signIdToken: IdTokenSigner;
  #pending: { code: string; nonce: string; challenge: string; redirectUri: string } | undefined;
  #refreshTokens = new Set<string>();

  constructor({ apps = {}, signIdToken = signAsAccess }: FakeAccessOptions = {}) {
    this.#signIdToken = signIdToken;
    this.requests = stubNetwork({
      ...apps,
      [new URL(env.ACCESS_TOKEN_URL).origin]: (request) => this.#answer(request),
    });
  }

  /** The browser arrives at Access's authorization URL and the user signs in; returns where Access sends it back to. */
  signInAt(authorizationUrl: string): string {
    const url = new URL(authorizationUrl);
    const params = url.searchParams;
    if (`${url.origin}${url.pathname}` !== env.ACCESS_AUTHORIZATION_URL) throw new Error(`${url.href} is not Access`);
    if (params.get("client_id") !== env.ACCESS_CLIENT_ID || params.get("code_challenge_method") !== "S256") {
      throw new Error(`Access would refuse ${url.search}`);
    }
    const code = crypto.randomUUID();
    const redirectUri = params.get("redirect_uri") ?? "";
    const nonce = params.get("nonce") ?? "";
    this.#pending = { code, nonce, challenge: params.get("code_challenge") ?? "", redirectUri };
    const back = new URL(redirectUri);
    back.search = new URLSearchParams({ code, state: params.get("state") ?? "" }).toString();
    return back.href;
  }

  async #answer(request: Request): Promise<Response> {
    if (request.url === env.ACCESS_JWKS_URL) return Response.json(await accessJwks());
    if (request.url !== env.ACCESS_TOKEN_URL || request.method !== "POST") {
      return new Response("Not found", { status: 404 });
    }
    const form = await request.formData();
    const field = (name: string) => form.get(name)?.toString() ?? "";
    if (field("grant_type") === "refresh_token") {
      const known =
        field("client_secret") === env.ACCESS_CLIENT_SECRET && this.#refreshTokens.delete(field("refresh_token"));
      if (!known) return Response.json({ error: "invalid_grant" }, { status: 400 });
      this.refreshes++;
      return Response.json(this.#issueTokens());
    }
    const pending = this.#pending;
    this.#pending = undefined;
    if (
      !pending ||
      field("grant_type") !== "authorization_code" ||
      field("code") !== pending.code ||
      field("redirect_uri") !== pending.redirectUri ||
      (await s256(field("code_verifier"))) !== pending.challenge ||
      field("client_id") !== env.ACCESS_CLIENT_ID ||
      field("client_secret") !== env.ACCESS_CLIENT_SECRET
    ) {
      return Response.json({ error: "invalid_grant" }, { status: 400 });
    }
    const now = nowSeconds();
    return Response.json({
      ...this.#issueTokens(),
      id_token: await this.#signIdToken({
        ...USER,
        iss: env.ACCESS_TOKEN_URL.replace(/\/token$/, ""),
        aud: env.ACCESS_CLIENT_ID,
        nonce: pending.nonce,
        iat: now,
        exp: now + 300,
      }),
    });
  }

  /** As when an administrator revokes the user's sessions: no refresh token of theirs works any more. */
  revokeSessions(): void {
    this.#refreshTokens.clear();
  }

  #issueTokens() {
    this.accessToken = `access-token-${crypto.randomUUID()}`;
    const refreshToken = `refresh-token-${crypto.randomUUID()}`;
    this.#refreshTokens.add(refreshToken);
    return { token_type: "Bearer", access_token: this.accessToken, refresh_token: refreshToken, expires_in: 300 };
  }
}

/** A request to the Worker, from the browser or the MCP client. Redirects are the tests' to follow. */
function toWorker(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(`${ORIGIN}${path}`, { redirect: "manual", ...init });
}

async function expectStatus(response: Response, status: number): Promise<Response> {
  if (response.status !== status) {
    throw new Error(`expected ${status}, got ${response.status}: ${await response.text()}`);
  }
  return response;
}

/** The cookies responses set, as the browser sends them back. */
function cookies(...responses: Response[]): string {
  return responses
    .flatMap((response) => response.headers.getSetCookie())
    .map((cookie) => cookie.split(";")[0])
    .join("; ");
}

function location(response: Response): string {
  const value = response.headers.get("Location");
  if (!value) throw new Error(`the ${response.status} answer has no Location`);
  return value;
}

/**
 * An MCP client signs a user in, up to where Access sends the browser back to the Worker's /callback:
 * it registers (unless it has a client ID, such as its metadata document's URL), sends the user to
 * /authorize, the user allows it on the consent page and signs in at Access. Returns the Worker's
 * answer to the callback, and what the client needs to finish.
 */
export async function signInUntilCallback(access: FakeAccess, clientId?: string) {
  clientId ??= await register();
  const verifier = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
  const consent = await expectStatus(await authorize(clientId, { challenge: await s256(verifier) }), 200);
  const handle = /name="handle" value="([^"]+)"/.exec(await consent.text())?.[1] ?? "";
  const allowed = await toWorker("/authorize", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: cookies(consent) },
    body: new URLSearchParams({ handle, decision: "approve" }),
  });
  const callback = new URL(access.signInAt(location(await expectStatus(allowed, 303))));
  const answer = await toWorker(`${callback.pathname}${callback.search}`, {
    headers: { Cookie: cookies(consent, allowed) },
  });
  return { answer, clientId, verifier };
}

/** The browser brings an MCP client's authorization request (PKCE S256, state, the /mcp resource, scopes if any) to /authorize. */
export function authorize(
  clientId: string,
  {
    redirectUri = CLIENT_REDIRECT_URI,
    challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    origin = ORIGIN,
    scope = "",
  } = {},
) {
  const query = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: redirectUri,
    state: "client-state",
    code_challenge: challenge,
    code_challenge_method: "S256",
    scope,
    resource: `${origin}/mcp`,
  });
  return exports.default.fetch(`${origin}/authorize?${query}`, { redirect: "manual" });
}

/** Registers a test client at /register; returns its client ID. */
export async function register(redirectUris = [CLIENT_REDIRECT_URI]): Promise<string> {
  const registration = await toWorker("/register", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      client_name: "Test client",
      redirect_uris: redirectUris,
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
    }),
  });
  return ((await (await expectStatus(registration, 201)).json()) as { client_id: string }).client_id;
}

/** What the Worker's token endpoint answers with new tokens. */
export interface McpTokens {
  access_token: string;
  refresh_token: string;
}

/** A whole sign-in: returns the MCP access token the Worker issued to the client. */
export async function signIn(access: FakeAccess, clientId?: string): Promise<string> {
  return (await signInForTokens(access, clientId)).tokens.access_token;
}

/** A whole sign-in: returns the MCP tokens the Worker issued, and the client they were issued to. */
export async function signInForTokens(
  access: FakeAccess,
  knownClientId?: string,
): Promise<{ clientId: string; tokens: McpTokens }> {
  const { answer, clientId, verifier } = await signInUntilCallback(access, knownClientId);
  const redirect = new URL(location(await expectStatus(answer, 302)));
  if (redirect.searchParams.get("state") !== "client-state") throw new Error(`unexpected redirect to ${redirect.href}`);
  const tokens = await toWorker("/token", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: redirect.searchParams.get("code") ?? "",
      redirect_uri: CLIENT_REDIRECT_URI,
      client_id: clientId,
      code_verifier: verifier,
      resource: `${ORIGIN}/mcp`,
    }),
  });
  return { clientId, tokens: (await (await expectStatus(tokens, 200)).json()) as McpTokens };
}

/** The MCP client refreshes its tokens at the Worker. */
export function refreshAtWorker(clientId: string, refreshToken: string): Promise<Response> {
  return toWorker("/token", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken, client_id: clientId }),
  });
}
