import { OAuthError } from "@cloudflare/workers-oauth-provider";
import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";

/** Who signed in, as Cloudflare Access asserted it in the verified `id_token`. */
export interface AccessIdentity {
  email: string;
  sub: string;
  /** The `groups` claim, when the sign-in asked for it (the `groups` scope) and Access sent it. */
  groups?: readonly string[];
}

/** The Access for SaaS tokens a grant stands for. Kept only in the grant's encrypted props. */
export interface UpstreamTokens {
  accessToken: string;
  /** Absent when the Access app has refresh tokens turned off: the grant then ends with the access token. */
  refreshToken?: string;
  /** Unix seconds; a lower bound of what Access issued (counted from before the request was sent). */
  expiresAt: number;
}

/** The Access for SaaS OIDC app this Worker signs people in with, from its secrets. */
export interface AccessOidcConfig {
  clientId: string;
  clientSecret: string;
  /** `https://<team>.cloudflareaccess.com/cdn-cgi/access/sso/oidc/<client_id>`: the exact `iss` of its ID tokens. */
  issuer: string;
  authorizationUrl: string;
  tokenUrl: string;
  jwksUrl: string;
  /** HMAC key for the "remember this approval" cookie. */
  cookieKey: string;
  /** Ask for the `groups` scope at sign-in: set where tool rules name Access groups (src/index). */
  askForGroups?: boolean;
}

/**
 * Access answered `invalid_grant` to a refresh: the refresh token was revoked, has expired, or was
 * already used (Access rotates refresh tokens). Which of these it was is for the caller to find out.
 */
export class RefreshRefusedError extends Error {
  override readonly name = "RefreshRefusedError";
}

/** A secret is missing or unusable; the message names it (never its value) and is safe to show. */
export class AccessConfigError extends Error {
  override readonly name = "AccessConfigError";
}

/**
 * Signing in with Access failed. The message is for logs: it never contains a token, a code or a
 * claim value. `transient` separates Access being unreachable from Access saying no.
 */
export class AccessSignInError extends Error {
  override readonly name = "AccessSignInError";
  readonly transient: boolean;

  constructor(message: string, transient = false) {
    super(message);
    this.transient = transient;
  }
}

export const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** `http:` is for the local Access emulator only; anywhere else it would hand secrets and keys to the network. */
export function isAllowedOrigin(url: URL): boolean {
  return url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname));
}

/** The header through which `npm run dev`'s front door vouches for a request (dev/access-emulator.mjs). */
const DEV_PROXY_HEADER = "Dev-Proxy-Key";

function isLoopbackOrigin(origin: string): boolean {
  try {
    const url = new URL(origin);
    return url.origin === origin && isAllowedOrigin(url) && LOOPBACK_HOSTS.has(url.hostname);
  } catch {
    return false;
  }
}

/**
 * Checks a request that reached the Worker over plain http, i.e. under `wrangler dev`. There the
 * Worker cannot see which host the client addressed: wrangler builds `request.url`, and the Host
 * header with it, from a client-sent `MF-Original-URL` header, which any web page can send, one
 * that rebinds its own hostname to 127.0.0.1 included. So `npm run dev` puts a front door on the
 * port that checks what the client really sent, and passes wrangler dev a per-run key that it
 * adds to each request it lets through: with that key set, a request without it went around the
 * front door and is refused. Whatever the way in, a browser's `Origin` (which no page can forge)
 * must be on loopback: browser-based clients like MCP Inspector are; a web page on the internet is not.
 */
export function refuseUnlessLocal(request: Request, devProxyKey: string | undefined): Response | undefined {
  if (devProxyKey !== undefined && !timingSafeEqual(request.headers.get(DEV_PROXY_HEADER) ?? "", devProxyKey)) {
    return new Response("Misdirected request: use the URL that `npm run dev` printed", { status: 421 });
  }
  // `null` is what a browser sends for a form posted from a no-referrer page, such as the consent page.
  const origin = request.headers.get("Origin");
  if (origin !== null && origin !== "null" && !isLoopbackOrigin(origin)) {
    return new Response("Forbidden: this local server answers only pages on loopback", { status: 403 });
  }
  return undefined;
}

// Empty, or still a `<…>` placeholder from .dev.vars.example. A placeholder can only fail later, in
// a way that hides the real problem, so it is refused up front like a missing value.
const PLACEHOLDER = /^$|[<>]/;

// The library's minimum for the approvals cookie's HMAC key.
const MIN_COOKIE_KEY_LENGTH = 32;

type AccessSecrets = Pick<
  Env,
  | "ACCESS_CLIENT_ID"
  | "ACCESS_CLIENT_SECRET"
  | "ACCESS_AUTHORIZATION_URL"
  | "ACCESS_TOKEN_URL"
  | "ACCESS_JWKS_URL"
  | "COOKIE_ENCRYPTION_KEY"
>;

function secret(env: AccessSecrets, name: keyof AccessSecrets, hint: string): string {
  const value = (env[name] as string | undefined)?.trim() ?? "";
  if (PLACEHOLDER.test(value)) throw new AccessConfigError(`${name} is not configured: ${hint}`);
  return value;
}

/**
 * Reads and checks the six secrets. Access for SaaS derives every endpoint from one issuer,
 * `https://<team>.cloudflareaccess.com/cdn-cgi/access/sso/oidc/<client_id>`, so the three URLs must be
 * that issuer plus `/authorization`, `/token` and `/jwks`: anything else is a copy-paste mistake (the
 * dashboard also shows the identity provider's own URLs, which must not be used here).
 */
export function readAccessOidcConfig(env: AccessSecrets): AccessOidcConfig {
  const fromApp = "copy it from the Access for SaaS application (see .dev.vars.example)";
  const clientId = secret(env, "ACCESS_CLIENT_ID", fromApp);
  const clientSecret = secret(env, "ACCESS_CLIENT_SECRET", fromApp);
  const issuerPath = `/cdn-cgi/access/sso/oidc/${clientId}`;
  const endpoint = (name: EndpointSecret, last: string) =>
    endpointUrl(name, secret(env, name, fromApp), issuerPath, last);
  const authorizationUrl = endpoint("ACCESS_AUTHORIZATION_URL", "authorization");
  const tokenUrl = endpoint("ACCESS_TOKEN_URL", "token");
  const jwksUrl = endpoint("ACCESS_JWKS_URL", "jwks");
  for (const [name, url] of [
    ["ACCESS_TOKEN_URL", tokenUrl],
    ["ACCESS_JWKS_URL", jwksUrl],
  ] as const) {
    if (url.origin !== authorizationUrl.origin) {
      throw new AccessConfigError(`${name} is on another host than ACCESS_AUTHORIZATION_URL`);
    }
  }
  const cookieKey = secret(env, "COOKIE_ENCRYPTION_KEY", "generate one with `openssl rand -hex 32`");
  if (cookieKey.length < MIN_COOKIE_KEY_LENGTH) {
    throw new AccessConfigError(`COOKIE_ENCRYPTION_KEY is too short: generate one with \`openssl rand -hex 32\``);
  }
  return {
    clientId,
    clientSecret,
    issuer: `${authorizationUrl.origin}${issuerPath}`,
    authorizationUrl: authorizationUrl.href,
    tokenUrl: tokenUrl.href,
    jwksUrl: jwksUrl.href,
    cookieKey,
  };
}

type EndpointSecret = "ACCESS_AUTHORIZATION_URL" | "ACCESS_TOKEN_URL" | "ACCESS_JWKS_URL";

/** One of the three endpoint secrets, which must be exactly `<origin><issuerPath>/<last>`. */
function endpointUrl(name: EndpointSecret, value: string, issuerPath: string, last: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AccessConfigError(`${name} is not a valid URL`);
  }
  // Tokens, the client secret and the ID token signing keys travel over these URLs.
  if (!isAllowedOrigin(url)) {
    throw new AccessConfigError(
      `${name} must be an https:// URL (http:// is accepted only on 127.0.0.1, localhost or [::1])`,
    );
  }
  if (url.username || url.password || url.search || url.hash || url.pathname !== `${issuerPath}/${last}`) {
    throw new AccessConfigError(
      `${name} must be https://<team>.cloudflareaccess.com${issuerPath}/${last} (the Access for SaaS app's endpoint for ACCESS_CLIENT_ID)`,
    );
  }
  return url;
}

// What we ask Access for: an identity (`openid`), the email `whoami` reports, and a refresh token
// (`offline_access`) so that a sign-in outlives Access's short access tokens (5 minutes by default).
// And, when the tool rules name groups, the user's groups (`groups`, see askForGroups).
const UPSTREAM_SCOPE = "openid email profile offline_access";

/** Random URL-safe value: PKCE verifiers, nonces. 32 bytes, as RFC 7636 recommends. */
export function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return base64url(bytes);
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

async function s256(verifier: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
}

/** Where to send the browser to sign in with Access: code flow with PKCE S256 and a nonce. */
export async function upstreamAuthorizationUrl(
  config: AccessOidcConfig,
  params: { redirectUri: string; state: string; nonce: string; codeVerifier: string },
): Promise<string> {
  const url = new URL(config.authorizationUrl);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: config.clientId,
    redirect_uri: params.redirectUri,
    scope: config.askForGroups ? `${UPSTREAM_SCOPE} groups` : UPSTREAM_SCOPE,
    state: params.state,
    nonce: params.nonce,
    code_challenge: await s256(params.codeVerifier),
    code_challenge_method: "S256",
  }).toString();
  return url.href;
}

interface TokenEndpointResult {
  ok: boolean;
  status: number;
  /** OAuth `error` code of a failed request, if Access sent one. */
  error?: string;
  body?: Record<string, unknown>;
}

const UPSTREAM_TIMEOUT_MS = 10_000;

async function callTokenEndpoint(
  config: AccessOidcConfig,
  params: Record<string, string>,
): Promise<TokenEndpointResult> {
  let response: Response;
  try {
    response = await fetch(config.tokenUrl, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      // client_secret_post, as Access for SaaS accepts it.
      body: new URLSearchParams({ ...params, client_id: config.clientId, client_secret: config.clientSecret }),
      // A redirect from the token endpoint is never legitimate: don't follow it anywhere.
      redirect: "manual",
      signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
    });
  } catch {
    return { ok: false, status: 0 };
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const record = body && typeof body === "object" ? (body as Record<string, unknown>) : undefined;
  const error = typeof record?.error === "string" ? record.error : undefined;
  return { ok: response.ok && record !== undefined, status: response.status, error, body: record };
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function readTokens(
  body: Record<string, unknown>,
  startedAt: number,
  previousRefreshToken?: string,
): UpstreamTokens | undefined {
  const { access_token: accessToken, refresh_token: refreshToken, expires_in: expiresIn } = body;
  if (typeof accessToken !== "string" || accessToken === "") return undefined;
  if (typeof expiresIn !== "number" || !Number.isFinite(expiresIn) || expiresIn <= 0) return undefined;
  return {
    accessToken,
    // Access may rotate the refresh token; when it sends none, the old one stays valid.
    refreshToken: typeof refreshToken === "string" && refreshToken !== "" ? refreshToken : previousRefreshToken,
    // Counted from before the request went out, so never later than Access's own expiry.
    expiresAt: startedAt + Math.floor(expiresIn),
  };
}

/** A verified sign-in: who it is, and the Access tokens that go with it. */
export interface SignIn {
  identity: AccessIdentity;
  tokens: UpstreamTokens;
}

/** Exchanges the authorization code from `/callback`, then verifies the ID token that came with it. */
export async function exchangeCode(
  config: AccessOidcConfig,
  params: { code: string; redirectUri: string; codeVerifier: string; nonce: string },
): Promise<SignIn> {
  const startedAt = nowSeconds();
  const result = await callTokenEndpoint(config, {
    grant_type: "authorization_code",
    code: params.code,
    redirect_uri: params.redirectUri,
    code_verifier: params.codeVerifier,
  });
  if (!result.ok || !result.body) {
    const transient = result.status === 0 || result.status >= 500 || result.status === 429;
    throw new AccessSignInError(
      `token endpoint answered ${result.status || "nothing"} ${result.error ?? ""}`.trim(),
      transient,
    );
  }
  const tokens = readTokens(result.body, startedAt);
  const idToken = result.body.id_token;
  if (!tokens || typeof idToken !== "string") {
    throw new AccessSignInError("token response lacks access_token, expires_in or id_token");
  }
  const identity = await verifyIdToken(config, idToken, { nonce: params.nonce });
  return { identity, tokens };
}

/**
 * Renews the Access tokens for `tokenExchangeCallback`. Throws `RefreshRefusedError` when Access
 * refuses the refresh token, and otherwise the provider's `OAuthError`: `invalid_grant` when Access
 * returned a sign-in that fails verification (the provider then revokes the grant, and the MCP
 * client signs in anew), `temporarily_unavailable` for anything that a retry may fix (the grant stays).
 */
export async function refreshTokens(
  config: AccessOidcConfig,
  identity: AccessIdentity,
  tokens: UpstreamTokens,
): Promise<SignIn> {
  if (!tokens.refreshToken) {
    throw new OAuthError("invalid_grant", { description: "The Cloudflare Access sign-in has expired; sign in again." });
  }
  const startedAt = nowSeconds();
  const result = await callTokenEndpoint(config, { grant_type: "refresh_token", refresh_token: tokens.refreshToken });
  if (result.error === "invalid_grant") throw new RefreshRefusedError("Access refused the refresh token");
  const renewed = result.ok && result.body ? readTokens(result.body, startedAt, tokens.refreshToken) : undefined;
  if (!renewed || !result.body) {
    console.warn(`Access token refresh failed: ${result.status || "no answer"} ${result.error ?? ""}`.trim());
    throw unavailable();
  }
  // A refreshed ID token, when Access sends one, must still be the same person.
  let current = identity;
  if (typeof result.body.id_token === "string") {
    try {
      current = await verifyIdToken(config, result.body.id_token, { sub: identity.sub });
    } catch (error) {
      if (error instanceof AccessSignInError && error.transient) throw unavailable();
      console.warn(`Refreshed ID token rejected: ${(error as Error).message}`);
      throw new OAuthError("invalid_grant", {
        description: "Cloudflare Access returned an invalid sign-in; sign in again.",
      });
    }
  }
  return { identity: current, tokens: renewed };
}

function unavailable(): OAuthError {
  return new OAuthError("temporarily_unavailable", {
    description: "Cloudflare Access is not reachable right now; try again shortly.",
    statusCode: 503,
    headers: { "Retry-After": "10" },
  });
}

// One key set per JWKS URL for the life of the isolate. jose keeps the keys for 10 minutes and
// refetches at most every 30 s when a token names an unknown `kid`, so key rotation is picked up
// without fetching the keys on every sign-in. Only public keys are held here.
const keySets = new Map<string, JWTVerifyGetKey>();

function keySetFor(jwksUrl: string): JWTVerifyGetKey {
  let keySet = keySets.get(jwksUrl);
  if (!keySet) {
    keySet = createRemoteJWKSet(new URL(jwksUrl), { timeoutDuration: UPSTREAM_TIMEOUT_MS });
    keySets.set(jwksUrl, keySet);
  }
  return keySet;
}

/**
 * Verifies an Access `id_token`: RS256 only, signed by a key from `ACCESS_JWKS_URL`, exact `iss`,
 * `aud` = our client id, unexpired, and either the `nonce` this sign-in sent (at the callback) or
 * the `sub` of the existing grant (on refresh, where OIDC allows the nonce to be absent).
 */
export async function verifyIdToken(
  config: AccessOidcConfig,
  idToken: string,
  expect: { nonce: string } | { sub: string },
): Promise<AccessIdentity> {
  const keySet = keySetFor(config.jwksUrl);
  // An unreachable key server is an outage, not a forged token: keep the two apart.
  const getKey: JWTVerifyGetKey = async (header, token) => {
    try {
      return await keySet(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
      throw new AccessSignInError("could not load the Access signing keys", true);
    }
  };

  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, getKey, {
      // Pinning RS256 is what refuses `alg: none`, and HS256 "signed" with the public key.
      algorithms: ["RS256"],
      issuer: config.issuer,
      audience: config.clientId,
      requiredClaims: ["exp", "iat", "sub"],
      clockTolerance: 30,
    }));
  } catch (error) {
    if (error instanceof AccessSignInError) throw error;
    const reason = error instanceof errors.JOSEError ? error.code : "malformed token";
    throw new AccessSignInError(`id_token rejected: ${reason}`);
  }

  // With several audiences, OIDC requires `azp` to name us.
  if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== config.clientId) {
    throw new AccessSignInError("id_token rejected: azp is not this client");
  }
  if ("nonce" in expect) {
    if (typeof payload.nonce !== "string" || !timingSafeEqual(payload.nonce, expect.nonce)) {
      throw new AccessSignInError("id_token rejected: nonce missing or not the one this sign-in sent");
    }
  } else if (payload.sub !== expect.sub) {
    throw new AccessSignInError("id_token rejected: a different user than the grant's");
  }

  const { email, sub } = payload;
  if (typeof sub !== "string" || sub === "") throw new AccessSignInError("id_token rejected: no sub");
  if (typeof email !== "string" || email === "") {
    throw new AccessSignInError("id_token carries no email: add the `email` scope to the Access for SaaS app");
  }
  const groups = groupNames(payload.groups);
  return groups ? { email, sub, groups } : { email, sub };
}

/** Group names from a `groups` claim: strings, or objects with a `name` (or only an `id`). */
function groupNames(claim: unknown): readonly string[] | undefined {
  if (!Array.isArray(claim)) return undefined;
  return claim.flatMap((group) => {
    if (typeof group === "string") return [group];
    const { name, id } = (group ?? {}) as { name?: unknown; id?: unknown };
    return typeof name === "string" && name ? [name] : typeof id === "string" && id ? [id] : [];
  });
}

function timingSafeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  if (x.length !== y.length) return false;
  let diff = 0;
  for (const [i, byte] of x.entries()) diff |= byte ^ (y[i] ?? 0);
  return diff === 0;
}
