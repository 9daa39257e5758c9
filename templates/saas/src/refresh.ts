import { OAuthError } from "@cloudflare/workers-oauth-provider";
import {
  type AccessIdentity,
  type AccessOidcConfig,
  RefreshRefusedError,
  refreshTokens,
  type SignIn,
  type UpstreamTokens,
} from "./access-oidc";

/**
 * Refreshes at the same time. Clients do refresh in parallel (several requests meet an expired
 * token at once), and Access rotates refresh tokens: of two refreshes with one Access refresh
 * token, the second is refused with `invalid_grant`. Taken at its word, that refusal would revoke
 * the grant and sign the user out. The provider also keeps one refresh token per grant, so of two
 * callers that each got new tokens, one would be left with a refresh token that no longer works.
 * So one answer is given to all of them:
 * - identical refresh requests in one isolate wait for the same answer (`refreshOnce`);
 * - a refresh's answer is kept in KV for a minute, sealed with a key that only the refresh token it
 *   answered can derive: the same request in another isolate, or a retry, gets the same tokens;
 * - a refresh that Access refuses because another refresh has just used its Access refresh token
 *   answers "try again" (`refreshUpstream`); only a refusal that nothing explains ends the grant.
 * Without a Durable Object there is no lock across isolates, and KV is eventually consistent:
 * this closes the race in one isolate and in one location, and across locations makes it rare.
 */

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
export async function refreshUpstream(
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
