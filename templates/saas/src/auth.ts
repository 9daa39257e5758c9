import {
  AuthorizationError,
  type AuthRequest,
  authorizationErrorRedirect,
  GrantType,
  OAuthError,
  type OAuthHelpers,
  type TokenExchangeCallbackOptions,
  type TokenExchangeCallbackResult,
} from "@cloudflare/workers-oauth-provider";
import {
  type AccessIdentity,
  type AccessOidcConfig,
  AccessSignInError,
  exchangeCode,
  RefreshRefusedError,
  randomToken,
  readAccessOidcConfig,
  refreshTokens,
  type SignIn,
  type UpstreamTokens,
  upstreamAuthorizationUrl,
} from "./access-oidc";
import { htmlResponse, renderConsentPage, renderErrorPage } from "./consent-page";
import { SERVER_NAME } from "./server";

/** What a grant keeps, encrypted by the provider with a key only its tokens unwrap. */
export interface GrantProps {
  identity: AccessIdentity;
  upstream: UpstreamTokens;
}

/** What each MCP access token carries, and so what `/mcp` sees: no upstream refresh token. */
export interface McpProps {
  identity: AccessIdentity;
  upstream: { accessToken: string; expiresAt: number };
}

/** Carried through Access in the encrypted upstream transaction; never sent to Access itself. */
interface UpstreamData {
  codeVerifier: string;
  nonce: string;
}

export type AuthEnv = Env & { OAUTH_PROVIDER: OAuthHelpers };

// The provider refuses access tokens shorter than this (KV's minimum expiry), and Access's own
// shortest access token lifetime is one minute too.
const MIN_ACCESS_TOKEN_TTL = 60;
export const MAX_ACCESS_TOKEN_TTL = 3600;
// How long a remembered approval skips the consent page.
const REMEMBER_SECONDS = 30 * 24 * 3600;

function redirect(location: string, headers = new Headers(), status = 302): Response {
  headers.set("Location", location);
  return new Response(null, { status, headers });
}

function callbackUrl(request: Request): string {
  return new URL("/callback", request.url).href;
}

/** After consent (given now, or remembered): park the request and send the browser to Access. */
async function redirectToAccess(
  oauth: OAuthHelpers,
  config: AccessOidcConfig,
  request: Request,
  authRequest: AuthRequest,
  headers?: Headers,
): Promise<Response> {
  const data: UpstreamData = { codeVerifier: randomToken(), nonce: randomToken() };
  const upstream = await oauth.beginUpstream(authRequest, { data, headers });
  const location = await upstreamAuthorizationUrl(config, {
    redirectUri: callbackUrl(request),
    state: upstream.state,
    nonce: data.nonce,
    codeVerifier: data.codeVerifier,
  });
  // 303: the browser follows a POST's redirect with a GET.
  return redirect(location, upstream.headers, 303);
}

/**
 * This server defines no scopes: whoever signs in and consents may call every tool. Scopes a client
 * asks for would mean nothing here, so they are dropped before the consent page, the remembered
 * approval and the grant see the request: nothing shows or records a permission that is not enforced.
 */
function withoutScopes(authRequest: AuthRequest): AuthRequest {
  return { ...authRequest, scope: [] };
}

/** GET /authorize: validate the client's request, then ask the user, unless they said to remember. */
async function showConsent(request: Request, env: AuthEnv, config: AccessOidcConfig): Promise<Response> {
  const oauth = env.OAUTH_PROVIDER;
  // Throws AuthorizationError for an unknown client or a redirect URI it did not register.
  const authRequest = withoutScopes(await oauth.parseAuthRequest(request));
  if (await oauth.isConsentRemembered(request, authRequest, { secret: config.cookieKey })) {
    return redirectToAccess(oauth, config, request, authRequest);
  }
  // describeConsent first: a failed client lookup then leaves nothing behind in KV.
  const details = await oauth.describeConsent(authRequest);
  const consent = await oauth.beginConsent(authRequest);
  return htmlResponse(renderConsentPage(SERVER_NAME, details, consent.handle), { headers: consent.headers });
}

/** POST /authorize: the consent form. Only the handle comes from the form; the request comes from storage. */
async function submitConsent(request: Request, env: AuthEnv, config: AccessOidcConfig): Promise<Response> {
  const contentType = request.headers.get("Content-Type") ?? "";
  if (!contentType.startsWith("application/x-www-form-urlencoded")) {
    return htmlResponse(renderErrorPage("Bad request", "The consent form was not submitted as a form."), {
      status: 415,
    });
  }
  const form = await request.formData();
  const handle = form.get("handle");
  const decision = form.get("decision");
  const oauth = env.OAUTH_PROVIDER;
  // Both helpers refuse a missing or reused handle, and one whose binding cookie this browser
  // lacks: that is the CSRF protection, and what stops a consent page opened elsewhere.
  if (decision === "deny") {
    const denied = await oauth.denyConsent(request, typeof handle === "string" ? handle : "");
    return new Response(null, { status: 303, headers: denied.headers });
  }
  if (decision !== "approve") {
    return htmlResponse(renderErrorPage("Bad request", "Choose Allow or Deny."), { status: 400 });
  }
  const remember =
    form.get("remember") === "1" ? { secret: config.cookieKey, maxAgeSeconds: REMEMBER_SECONDS } : undefined;
  const approved = await oauth.approveConsent(request, typeof handle === "string" ? handle : "", { remember });
  return redirectToAccess(oauth, config, request, approved.request, approved.headers);
}

/** GET /callback: Access sends the browser back here; verify who signed in, then issue the grant. */
async function finishSignIn(request: Request, env: AuthEnv, config: AccessOidcConfig): Promise<Response> {
  const oauth = env.OAUTH_PROVIDER;
  // Refuses a missing, expired or reused state, and one started in another browser.
  const { request: authRequest, data, headers } = await oauth.finishUpstream<UpstreamData>(request);
  const params = new URL(request.url).searchParams;
  if (params.has("error")) {
    // The user cancelled at Access, or Access refused them: tell the client, which can try again.
    return redirect(authorizationErrorRedirect(authRequest, "access_denied"), headers);
  }
  const code = params.get("code");
  if (!code) {
    return htmlResponse(renderErrorPage("Sign-in failed", "Cloudflare Access sent no authorization code."), {
      status: 400,
      headers,
    });
  }

  let signIn: SignIn;
  try {
    signIn = await exchangeCode(config, {
      code,
      redirectUri: callbackUrl(request),
      codeVerifier: data.codeVerifier,
      nonce: data.nonce,
    });
  } catch (error) {
    if (!(error instanceof AccessSignInError)) throw error;
    // The reason goes to the log only; it never contains a token or a claim value.
    console.warn(`Access sign-in failed: ${error.message}`);
    return error.transient
      ? htmlResponse(renderErrorPage("Sign-in failed", "Cloudflare Access could not be reached. Try again."), {
          status: 502,
          headers,
        })
      : htmlResponse(renderErrorPage("Sign-in failed", "Cloudflare Access's answer could not be verified."), {
          status: 400,
          headers,
        });
  }

  const props: GrantProps = { identity: signIn.identity, upstream: signIn.tokens };
  // Only now, with a verified ID token, does a grant exist. `revokeExistingGrants` stays at its
  // default (true): signing in again from the same app replaces its earlier grant, so an abandoned
  // grant does not keep an Access refresh token alive.
  const { redirectTo } = await oauth.completeAuthorization({
    request: authRequest,
    // Token and KV key separator is `:`; an Access `sub` is a UUID, but encode to be safe.
    userId: encodeURIComponent(signIn.identity.sub),
    // Stored unencrypted: keep personal data out of it.
    metadata: {},
    // None, whatever the client asked for (see withoutScopes): the token response says so too.
    scope: [],
    props,
  });
  return redirect(redirectTo, headers);
}

/** The provider's `defaultHandler`: every request that is not discovery, `/token`, `/register` or `/mcp`. */
export async function handleAuthRequest(request: Request, env: AuthEnv, config: AccessOidcConfig): Promise<Response> {
  const { pathname } = new URL(request.url);
  try {
    if (pathname === "/authorize" && request.method === "GET") return await showConsent(request, env, config);
    if (pathname === "/authorize" && request.method === "POST") return await submitConsent(request, env, config);
    if (pathname === "/callback" && request.method === "GET") return await finishSignIn(request, env, config);
  } catch (error) {
    if (!(error instanceof AuthorizationError)) throw error;
    // Redirect back to the client only when the library vouches for the redirect URI.
    if (error.redirectTo) return redirect(error.redirectTo);
    return htmlResponse(renderErrorPage("This sign-in cannot continue", error.description), { status: 400 });
  }
  if (pathname === "/authorize" || pathname === "/callback") return new Response("Method not allowed", { status: 405 });
  return new Response("Not found", { status: 404 });
}

function toMcpProps(grant: GrantProps): McpProps {
  return {
    identity: grant.identity,
    upstream: { accessToken: grant.upstream.accessToken, expiresAt: grant.upstream.expiresAt },
  };
}

/**
 * The provider's `tokenExchangeCallback`: keeps every MCP access token inside the lifetime of the
 * Access token it stands for.
 * - On a refresh, the Access tokens are refreshed first (which also re-checks the user against the
 *   Access policies); at the code exchange, only if the Access token is about to expire.
 * - The MCP token lives as long as the Access token has left, capped at an hour. The provider's
 *   60-second floor can make it outlast a nearly expired Access token by a few seconds; `/mcp`
 *   refuses it from the Access token's expiry on (see index.ts), so it is never usable longer.
 * - Only the grant keeps the Access refresh token; the MCP access token gets the access token.
 */
export async function exchangeTokens(
  options: TokenExchangeCallbackOptions<Env>,
): Promise<TokenExchangeCallbackResult | undefined> {
  if (options.grantType !== GrantType.AUTHORIZATION_CODE && options.grantType !== GrantType.REFRESH_TOKEN) return;
  // A missing secret here is a server fault (500), and it stops the exchange: fail closed.
  const config = readAccessOidcConfig(options.env);
  let grant = options.props as GrantProps;
  const remaining = () => grant.upstream.expiresAt - Math.floor(Date.now() / 1000);

  if (options.grantType === GrantType.REFRESH_TOKEN || remaining() < MIN_ACCESS_TOKEN_TTL) {
    if (grant.upstream.refreshToken) {
      const renewed = await refreshUpstream(options.env.OAUTH_KV, config, grant.identity, grant.upstream);
      grant = { identity: renewed.identity, upstream: renewed.tokens };
    } else if (remaining() <= 0) {
      throw new OAuthError("invalid_grant", {
        description: "The Cloudflare Access sign-in has expired; sign in again.",
      });
    }
  }

  return {
    newProps: grant,
    accessTokenProps: toMcpProps(grant),
    accessTokenTTL: Math.min(MAX_ACCESS_TOKEN_TTL, Math.max(MIN_ACCESS_TOKEN_TTL, remaining())),
    // Without an Access refresh token there is nothing to refresh with: issue no MCP refresh
    // token either, so the client signs in again instead of failing a refresh later.
    ...(grant.upstream.refreshToken ? {} : { refreshTokenTTL: 0 }),
  };
}

// ---------------------------------------------------------------------------------------------
// Refreshes at the same time. Clients do refresh in parallel (several requests meet an expired
// token at once), and Access rotates refresh tokens: of two refreshes with one Access refresh
// token, the second is refused with `invalid_grant`. Taken at its word, that refusal would revoke
// the grant and sign the user out. The provider also keeps one refresh token per grant, so of two
// callers that each got new tokens, one would be left with a refresh token that no longer works.
// So one answer is given to all of them:
// - identical refresh requests in one isolate wait for the same answer (`refreshOnce`);
// - a refresh's answer is kept in KV for a minute, sealed with a key that only the refresh token it
//   answered can derive: the same request in another isolate, or a retry, gets the same tokens;
// - a refresh that Access refuses because another refresh has just used its Access refresh token
//   answers "try again" (`refreshUpstream`); only a refusal that nothing explains ends the grant.
// Without a Durable Object there is no lock across isolates, and KV is eventually consistent:
// this closes the race in one isolate and in one location, and across locations makes it rare.

// KV's shortest expiry: how long an answer, and the use of an Access refresh token, are remembered.
const RACE_MEMORY_SECONDS = 60;
// How long a refresh waits for what another may have just written to KV, which takes a moment to
// show: the winner's answer after a lost race (3 s), and the mark that an Access refresh token was
// used, before taking Access's refusal for the end of the sign-in (1.2 s).
const KV_POLL_MS = 300;
const WINNER_WAIT_ATTEMPTS = 10;
const USE_CHECK_ATTEMPTS = 4;
const LOST_RACE = "Another refresh of this sign-in finished first; try again.";

const encoder = new TextEncoder();

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** An AES-GCM key that only a holder of `secret` (a refresh token) can derive. */
async function sealingKey(secret: string): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(), info: encoder.encode("refresh answer") },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const fromBase64 = (text: string) => Uint8Array.from(atob(text), (char) => char.charCodeAt(0));

/** A token endpoint answer as it is shared and kept: status, headers and JSON body. */
interface TokenAnswer {
  status: number;
  headers: [string, string][];
  body: string;
}

/** One refresh request: its refresh token, and what makes another request the same one. */
interface RefreshRequest {
  refreshToken: string;
  /** SHA-256 of every parameter (in any order), the client's credentials and the CORS origin. */
  fingerprint: string;
}

async function readRefreshRequest(request: Request): Promise<RefreshRequest | undefined> {
  const contentType = request.headers.get("Content-Type") ?? "";
  if (request.method !== "POST" || !contentType.toLowerCase().startsWith("application/x-www-form-urlencoded")) return;
  const params = new URLSearchParams(await request.clone().text());
  const refreshToken = params.get("refresh_token");
  if (params.get("grant_type") !== "refresh_token" || !refreshToken) return;
  const fingerprint = await sha256Hex(
    JSON.stringify([
      request.headers.get("Authorization"),
      request.headers.get("Origin"),
      [...params].map((pair) => JSON.stringify(pair)).sort(),
    ]),
  );
  return { refreshToken, fingerprint };
}

/** The answer kept for this request, if any. The KV key and the sealing key both need the refresh token. */
async function keptAnswer(kv: KVNamespace, refresh: RefreshRequest): Promise<TokenAnswer | undefined> {
  const sealed = await kv.get(`refresh-answer:${refresh.fingerprint}`);
  if (!sealed) return undefined;
  const [iv = "", data = ""] = sealed.split(".");
  try {
    const key = await sealingKey(refresh.refreshToken);
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromBase64(iv) }, key, fromBase64(data));
    return JSON.parse(new TextDecoder().decode(plain)) as TokenAnswer;
  } catch {
    return undefined;
  }
}

async function keepAnswer(kv: KVNamespace, refresh: RefreshRequest, answer: TokenAnswer): Promise<void> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const key = await sealingKey(refresh.refreshToken);
  const data = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, encoder.encode(JSON.stringify(answer)));
  await kv.put(`refresh-answer:${refresh.fingerprint}`, `${toBase64(iv)}.${toBase64(new Uint8Array(data))}`, {
    expirationTtl: RACE_MEMORY_SECONDS,
  });
}

function isLostRace(answer: TokenAnswer): boolean {
  if (answer.status !== 503) return false;
  try {
    return (JSON.parse(answer.body) as { error_description?: unknown }).error_description === LOST_RACE;
  } catch {
    return false;
  }
}

async function answerRefresh(
  kv: KVNamespace,
  refresh: RefreshRequest,
  next: () => Promise<Response>,
): Promise<TokenAnswer> {
  const kept = await keptAnswer(kv, refresh);
  if (kept) return kept;
  const response = await next();
  const answer: TokenAnswer = { status: response.status, headers: [...response.headers], body: await response.text() };
  if (answer.status === 200) {
    // Not keeping it only costs a later caller with the same request its share of this answer.
    await keepAnswer(kv, refresh, answer).catch((error: Error) => console.warn(`Answer not kept: ${error.message}`));
  } else if (isLostRace(answer)) {
    // The refresh that won at Access may be this same request in another isolate: its answer is
    // this caller's answer too, once it is in KV.
    for (let attempt = 0; attempt < WINNER_WAIT_ATTEMPTS; attempt++) {
      await sleep(KV_POLL_MS);
      const winner = await keptAnswer(kv, refresh);
      if (winner) return winner;
    }
  }
  return answer;
}

const refreshesInFlight = new Map<string, Promise<TokenAnswer>>();

/**
 * In front of the provider's `/token`: a refresh request that is already being answered, here or
 * (within the last minute) elsewhere, gets that answer instead of refreshing a second time.
 */
export async function refreshOnce(request: Request, kv: KVNamespace, next: () => Promise<Response>): Promise<Response> {
  const refresh = await readRefreshRequest(request);
  if (!refresh) return next();
  let answer = refreshesInFlight.get(refresh.fingerprint);
  if (!answer) {
    answer = answerRefresh(kv, refresh, next).finally(() => refreshesInFlight.delete(refresh.fingerprint));
    refreshesInFlight.set(refresh.fingerprint, answer);
  }
  const { status, headers, body } = await answer;
  return new Response(body, { status, headers });
}

function lostRace(): OAuthError {
  return new OAuthError("temporarily_unavailable", {
    description: LOST_RACE,
    statusCode: 503,
    headers: { "Retry-After": "1" },
  });
}

// Access refresh tokens being used by a refresh in this isolate, by the key that remembers their use.
const upstreamRefreshes = new Map<string, Promise<SignIn>>();

/** Whether a refresh that succeeded has used this Access refresh token (in another isolate, perhaps just now). */
async function wasUsed(kv: KVNamespace, usedKey: string): Promise<boolean> {
  for (let attempt = 0; attempt < USE_CHECK_ATTEMPTS; attempt++) {
    if ((await kv.get(usedKey)) !== null) return true;
    await sleep(KV_POLL_MS);
  }
  return false;
}

/**
 * Renews the Access tokens of a grant, and tells a refresh token that another refresh has just
 * used (`temporarily_unavailable`: the grant stays) from one Access has ended (`invalid_grant`:
 * the provider revokes the grant).
 */
async function refreshUpstream(
  kv: KVNamespace,
  config: AccessOidcConfig,
  identity: AccessIdentity,
  tokens: UpstreamTokens,
): Promise<SignIn> {
  // Only a hash of the refresh token goes into KV, and only the fact that it was used.
  const usedKey = `access-refresh-used:${await sha256Hex(tokens.refreshToken ?? "")}`;
  const running = upstreamRefreshes.get(usedKey);
  if (running) {
    // Access would refuse this one: let the other one finish (whatever it gets), then retry.
    await running.catch(() => undefined);
    throw lostRace();
  }
  const refresh = refreshTokens(config, identity, tokens);
  upstreamRefreshes.set(usedKey, refresh);
  try {
    const renewed = await refresh;
    // Not remembering it only risks taking a lost race elsewhere for the end of the sign-in.
    await kv
      .put(usedKey, "1", { expirationTtl: RACE_MEMORY_SECONDS })
      .catch((error: Error) => console.warn(`Refresh not remembered: ${error.message}`));
    return renewed;
  } catch (error) {
    if (!(error instanceof RefreshRefusedError)) throw error;
    if (await wasUsed(kv, usedKey)) throw lostRace();
    console.warn("Access refused to refresh a sign-in (invalid_grant): revoking the grant");
    throw new OAuthError("invalid_grant", { description: "Cloudflare Access ended this sign-in; sign in again." });
  } finally {
    upstreamRefreshes.delete(usedKey);
  }
}
