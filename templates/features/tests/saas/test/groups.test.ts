import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readAccessOidcConfig, upstreamAuthorizationUrl, verifyIdToken } from "../src/access-oidc";
import { USER } from "./access";
import { stubNetwork } from "./network";
import { accessJwks, nowSeconds, signAsAccess } from "./tokens";

// The caller's Access groups come with the sign-in: the `groups` claim of Access's ID token.
const config = () => readAccessOidcConfig(env);

function idToken(claims: object) {
  const now = nowSeconds();
  return signAsAccess({
    ...USER,
    iss: config().issuer,
    aud: config().clientId,
    iat: now,
    nbf: now,
    exp: now + 300,
    ...claims,
  });
}

describe("the caller's Access groups", () => {
  it("are read from the ID token's groups claim, by name", async () => {
    stubNetwork({ [new URL(env.ACCESS_JWKS_URL).origin]: async () => Response.json(await accessJwks()) });
    const token = await idToken({ groups: ["wiki-editors", { id: "a1", name: "admins" }, { id: "00g-only-an-id" }] });
    const identity = await verifyIdToken(config(), token, { sub: USER.sub });
    expect(identity.groups).toEqual(["wiki-editors", "admins", "00g-only-an-id"]);
  });

  it("are unknown when Access sent no groups claim", async () => {
    stubNetwork({ [new URL(env.ACCESS_JWKS_URL).origin]: async () => Response.json(await accessJwks()) });
    const identity = await verifyIdToken(config(), await idToken({}), { sub: USER.sub });
    expect(identity.groups).toBeUndefined();
  });

  it("are asked for at sign-in only when the tool rules need them", async () => {
    const params = { redirectUri: "http://localhost/callback", state: "s", nonce: "n", codeVerifier: "v".repeat(43) };
    const scope = async (askForGroups: boolean) =>
      new URL(await upstreamAuthorizationUrl({ ...config(), askForGroups }, params)).searchParams
        .get("scope")
        ?.split(" ");
    expect(await scope(true)).toContain("groups");
    expect(await scope(false)).not.toContain("groups");
  });
});
