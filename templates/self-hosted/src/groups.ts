import { decodeJwt } from "jose";
import type { AccessConfig, AccessIdentity } from "./access";

// Groups looked up per user, kept until the token they were looked up with expires and for five
// minutes at most, so a change of membership reaches the Worker within minutes. Bounded, oldest
// entry out first: one isolate serves many users.
const GROUPS_TTL_SECONDS = 300;
const MAX_CACHED_USERS = 500;
const groupsByUser = new Map<string, { groups: readonly string[]; until: number }>();

/**
 * The caller's groups as Access publishes them for this application: `get-identity` on the team
 * domain, asked with the request's own application token (the `CF_Authorization` cookie Access would
 * send). Returns undefined, and logs why, when they cannot be had; the caller then fails every rule
 * that needs groups.
 */
export async function accessGroups(
  token: string,
  identity: AccessIdentity,
  config: AccessConfig,
): Promise<readonly string[] | undefined> {
  const now = Date.now() / 1000;
  const cached = groupsByUser.get(identity.sub);
  if (cached && cached.until > now) return cached.groups;

  let body: unknown;
  try {
    const response = await fetch(new URL("/cdn-cgi/access/get-identity", config.issuer), {
      headers: { Cookie: `CF_Authorization=${token}` },
      // A redirect is Access asking for a sign-in: the token was not accepted.
      redirect: "manual",
      // A slow identity endpoint must not hold every call to a group-ruled tool.
      signal: AbortSignal.timeout(3000),
    });
    if (!response.ok) throw new Error(`get-identity answered ${response.status}`);
    body = await response.json();
  } catch (error) {
    console.warn(`Access groups unavailable for ${identity.sub}: ${error instanceof Error ? error.message : error}`);
    return undefined;
  }
  const groups = groupNames(body, identity);
  if (!groups) {
    console.warn(`Access groups unavailable for ${identity.sub}: get-identity did not describe this user`);
    return undefined;
  }
  const { exp } = decodeJwt(token);
  if (groupsByUser.size >= MAX_CACHED_USERS) groupsByUser.delete(groupsByUser.keys().next().value as string);
  groupsByUser.set(identity.sub, { groups, until: Math.min(now + GROUPS_TTL_SECONDS, exp ?? now) });
  return groups;
}

/**
 * Group names from a get-identity answer (`groups: [{ id, name, email }]`, or plain strings), if it
 * is about this user: an answer about anyone else is not used.
 */
function groupNames(body: unknown, identity: AccessIdentity): readonly string[] | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const { email, groups } = body as { email?: unknown; groups?: unknown };
  if (typeof email !== "string" || email.toLowerCase() !== identity.email.toLowerCase()) return undefined;
  if (groups === undefined) return [];
  if (!Array.isArray(groups)) return undefined;
  return groups.flatMap((group) => {
    if (typeof group === "string") return [group];
    const { name, id } = (group ?? {}) as { name?: unknown; id?: unknown };
    return typeof name === "string" && name ? [name] : typeof id === "string" && id ? [id] : [];
  });
}
