import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";

/** Who is calling, as asserted by Cloudflare Access. */
export interface AccessIdentity {
  email: string;
  sub: string;
}

/** What tokens are checked against, derived from `TEAM_DOMAIN` and `POLICY_AUD`. */
export interface AccessConfig {
  /** The team domain's origin, e.g. `https://acme.cloudflareaccess.com`: the exact `iss` of Access tokens. */
  issuer: string;
  /** The Access application's AUD tag. */
  audience: string;
}

export type AccessErrorCode = "missing_token" | "invalid_token" | "jwks_unavailable";

/**
 * Why a request could not be authenticated. The message is for logs: it never contains the token
 * or any claim from it, and it is never sent to the client.
 */
export class AccessAuthError extends Error {
  override readonly name = "AccessAuthError";
  readonly code: AccessErrorCode;

  constructor(code: AccessErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** `TEAM_DOMAIN` or `POLICY_AUD` is unusable; the message says which and is safe to show. */
export class AccessConfigError extends Error {
  override readonly name = "AccessConfigError";
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

// Empty, or still the `<…>` placeholder that wrangler.jsonc ships with. Checking tokens against
// a placeholder can only fail, and failing that way would hide the real problem.
const PLACEHOLDER = /^$|[<>]/;

export function readAccessConfig(env: { TEAM_DOMAIN?: string; POLICY_AUD?: string }): AccessConfig {
  const teamDomain = env.TEAM_DOMAIN?.trim() ?? "";
  const audience = env.POLICY_AUD?.trim() ?? "";
  if (PLACEHOLDER.test(teamDomain)) {
    throw new AccessConfigError("TEAM_DOMAIN is not configured: set it to https://<your-team>.cloudflareaccess.com");
  }
  if (PLACEHOLDER.test(audience)) {
    throw new AccessConfigError("POLICY_AUD is not configured: set it to the Access application's AUD tag");
  }

  let url: URL;
  try {
    url = new URL(teamDomain);
  } catch {
    throw new AccessConfigError("TEAM_DOMAIN is not a valid URL");
  }
  // The signing keys are fetched from this URL: over plain http anyone on the path could swap
  // them. Plain http is only for the local Access emulator, which listens on loopback.
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname))) {
    throw new AccessConfigError(
      "TEAM_DOMAIN must be an https:// URL (http:// is accepted only on 127.0.0.1, localhost or [::1])",
    );
  }
  // A team domain is an origin. A path or query is a mistake that would make every `iss`
  // comparison fail, so report it rather than guess.
  if (url.username || url.password || url.pathname !== "/" || url.search || url.hash) {
    throw new AccessConfigError("TEAM_DOMAIN must be just the team domain, with no path, query or credentials");
  }
  return { issuer: url.origin, audience };
}

/** Whether tokens come from the local Access emulator rather than from Cloudflare. */
export function isLocalAccess(config: AccessConfig): boolean {
  return LOOPBACK_HOSTS.has(new URL(config.issuer).hostname);
}

// One key set per team domain for the life of the isolate. jose keeps the keys for 10 minutes and
// refetches at most every 30 s when a token names an unknown `kid` (Access rotates its keys), so an
// isolate fetches the certs a handful of times an hour instead of on every request. The map holds
// public keys only, nothing about any caller.
const keySets = new Map<string, JWTVerifyGetKey>();

function keySetFor(issuer: string): JWTVerifyGetKey {
  let keySet = keySets.get(issuer);
  if (!keySet) {
    keySet = createRemoteJWKSet(new URL("/cdn-cgi/access/certs", issuer));
    keySets.set(issuer, keySet);
  }
  return keySet;
}

/**
 * Validates the `Cf-Access-Jwt-Assertion` that Access adds to every request it lets through, and
 * returns the caller's identity. Throws `AccessAuthError` for anything short of a valid token.
 */
export async function verifyAccessJwt(token: string | null, config: AccessConfig): Promise<AccessIdentity> {
  if (!token) {
    throw new AccessAuthError("missing_token", "no Cf-Access-Jwt-Assertion header");
  }

  const keySet = keySetFor(config.issuer);
  // An unreachable key server is our outage, not the caller's mistake: keep the two apart.
  const getKey: JWTVerifyGetKey = async (header, jws) => {
    try {
      return await keySet(header, jws);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
      throw new AccessAuthError("jwks_unavailable", `could not load the signing keys from ${config.issuer}`);
    }
  };

  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, getKey, {
      // Access signs with RS256 only. Pinning it is what refuses `alg: none`, and HS256 tokens
      // "signed" with the public key as an HMAC secret.
      algorithms: ["RS256"],
      // Exact match: Access issues `https://<team>.cloudflareaccess.com`, with no trailing slash.
      issuer: config.issuer,
      // `aud` is an array of AUD tags (a string for some service tokens); ours must be in it.
      audience: config.audience,
      requiredClaims: ["exp"],
      // Room for clock skew between Access and this Worker, and no more.
      clockTolerance: 30,
    }));
  } catch (error) {
    if (error instanceof AccessAuthError) throw error;
    const reason = error instanceof errors.JOSEError ? error.code : "malformed token";
    throw new AccessAuthError("invalid_token", `token rejected: ${reason}`);
  }

  // Access signs its organization-wide session tokens (`type: "org"`) with the same keys. Only an
  // application token shows that the request passed this application's policies.
  if (payload.type !== "app") {
    throw new AccessAuthError("invalid_token", "not an Access application token");
  }
  const { email, sub } = payload;
  if (typeof email !== "string" || email === "" || typeof sub !== "string" || sub === "") {
    throw new AccessAuthError("invalid_token", "token carries no user identity");
  }
  return { email, sub };
}
