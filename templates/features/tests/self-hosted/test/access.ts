import { env } from "cloudflare:workers";
import type { JWTPayload } from "jose";
import { type Handler, stubNetwork } from "./network";
import { accessJwks, nowSeconds } from "./tokens";

/** The user the tests act as. */
export const USER = { email: "ada@example.com", sub: "2f8c0a5e-2b0c-4c1e-9b7a-5d0f3e6a1c42" };

/** The claims of the application token Access adds to USER's requests, with `changes` made. */
export function appTokenClaims(changes: JWTPayload = {}): JWTPayload {
  const now = nowSeconds();
  return {
    ...USER,
    iss: env.TEAM_DOMAIN,
    aud: [env.POLICY_AUD],
    type: "app",
    iat: now,
    nbf: now,
    exp: now + 300,
    ...changes,
  };
}

/**
 * Plays Cloudflare Access on the network: the certs endpoint of the team domain (a loopback address,
 * see vitest.config.ts) serves the key the tests sign with. `apps` answers other origins (by origin).
 * Returns the list the Worker's requests are recorded in.
 */
export function stubAccess(apps: Record<string, Handler> = {}): Request[] {
  return stubNetwork({
    ...apps,
    [new URL(env.TEAM_DOMAIN).origin]: async (request) =>
      new URL(request.url).pathname === "/cdn-cgi/access/certs"
        ? Response.json(await accessJwks())
        : new Response("Not found", { status: 404 }),
  });
}
