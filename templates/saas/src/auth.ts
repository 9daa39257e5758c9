import {
  AuthorizationError,
  type AuthRequest,
  authorizationErrorRedirect,
  CimdFetchError,
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
  randomToken,
  readAccessOidcConfig,
  type SignIn,
  type UpstreamTokens,
  upstreamAuthorizationUrl,
} from "./access-oidc";
import { htmlResponse, renderConsentPage, renderErrorPage } from "./consent-page";
import { refreshUpstream } from "./refresh";
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

/**
 * Schemes of network protocols the system hands to its own handlers, not to an app: the provider
 * takes any scheme but http(s) for an app's own (cursor://), yet these would carry the code to a
 * remote host (and smb:// a Windows password hash with it).
 */
const NETWORK_SCHEMES = new Set(
  "ftp ftps sftp ssh telnet ws wss smb cifs nfs afp dav webdav ldap ldaps gopher".split(" ").map((name) => `${name}:`),
);

/**
 * Refused before any client document is fetched: on a deployed Worker, a client ID on its own host
 * (this /authorize would fetch itself, a loop) or on an IP address or localhost (names no one on the
 * consent page; aims at private networks). `wrangler dev` is plain http: tests there serve loopback
 * documents. And a redirect URI with a network scheme (NETWORK_SCHEMES).
 */
function checkAuthorizationRequest(url: URL): void {
  const clientId = URL.parse(url.searchParams.get("client_id") ?? "");
  const host = clientId?.protocol === "https:" ? clientId.hostname.replace(/\.$/, "") : "";
  const badHost = host === url.hostname || /^[\d.]+$|^\[|^localhost$|\.localhost$/.test(host);
  const scheme = URL.parse(url.searchParams.get("redirect_uri") ?? "")?.protocol ?? "";
  if ((url.protocol === "https:" && host && badHost) || NETWORK_SCHEMES.has(scheme)) {
    throw new AuthorizationError("invalid_request", { description: "This client ID or redirect URI is not accepted." });
  }
}

/** GET /authorize: validate the client's request, then ask the user, unless they said to remember. */
async function showConsent(request: Request, env: AuthEnv, config: AccessOidcConfig): Promise<Response> {
  const oauth = env.OAUTH_PROVIDER;
  checkAuthorizationRequest(new URL(request.url));
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
    // The provider logged why (missing, too large or slow, its client_id not its URL, …).
    if (error instanceof CimdFetchError) {
      const message = "The app's client metadata document could not be used.";
      return htmlResponse(renderErrorPage("This sign-in cannot continue", message), { status: 400 });
    }
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
