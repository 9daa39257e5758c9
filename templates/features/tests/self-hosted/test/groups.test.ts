import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { readAccessConfig } from "../src/access";
import { accessGroups } from "../src/groups";
import { appTokenClaims, USER } from "./access";
import { stubNetwork } from "./network";
import { accessJwks, signAsAccess } from "./tokens";

// The caller's groups, as Access publishes them at get-identity. Each test is a user of its own:
// groups are kept per user for a while.
const config = () => readAccessConfig(env);
const someone = () => ({ email: USER.email, sub: crypto.randomUUID() });

/** Plays Access: its keys, and `identity` as get-identity's answer. Returns the requests made. */
function stubIdentity(identity: (request: Request) => Response | Promise<Response>): Request[] {
  return stubNetwork({
    [new URL(env.TEAM_DOMAIN).origin]: async (request) =>
      new URL(request.url).pathname === "/cdn-cgi/access/certs" ? Response.json(await accessJwks()) : identity(request),
  });
}

describe("the caller's Access groups", () => {
  it("are asked of get-identity with the request's own token, and come back by name", async () => {
    const user = someone();
    const requests = stubIdentity(() =>
      Response.json({
        email: user.email.toUpperCase(),
        groups: [{ id: "a1", name: "wiki-editors", email: "" }, { id: "00g-only-an-id" }, "admins"],
      }),
    );
    const token = await signAsAccess(appTokenClaims({ sub: user.sub }));
    expect(await accessGroups(token, user, config())).toEqual(["wiki-editors", "00g-only-an-id", "admins"]);
    const [request] = requests;
    expect(request?.url).toBe(`${config().issuer}/cdn-cgi/access/get-identity`);
    expect(request?.headers.get("Cookie")).toBe(`CF_Authorization=${token}`);
  });

  it("are looked up once, then kept for that user", async () => {
    const user = someone();
    const requests = stubIdentity(() => Response.json({ email: user.email, groups: [] }));
    const token = await signAsAccess(appTokenClaims({ sub: user.sub }));
    await accessGroups(token, user, config());
    expect(await accessGroups(token, user, config())).toEqual([]);
    expect(requests).toHaveLength(1);
  });

  const failures: [string, () => Response | Promise<Response>][] = [
    ["Access answers 500", () => new Response("oops", { status: 500 })],
    ["Access redirects to a sign-in", () => Response.redirect("https://acme.cloudflareaccess.com/login", 302)],
    ["the answer is not JSON", () => new Response("<html>")],
    ["the answer is about someone else", () => Response.json({ email: "mallory@example.com", groups: ["admins"] })],
    ["the groups are not a list", () => Response.json({ email: USER.email, groups: "admins" })],
    ["Access is unreachable", () => Promise.reject(new TypeError("network down"))],
  ];

  it.each(failures)("are unknown, and the reason logged, when %s", async (_, answer) => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const user = someone();
    stubIdentity(answer);
    const token = await signAsAccess(appTokenClaims({ sub: user.sub }));
    expect(await accessGroups(token, user, config())).toBeUndefined();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining(`Access groups unavailable for ${user.sub}`));
    // Nothing of the token reaches the log.
    expect(warn.mock.calls.flat().join("\n")).not.toContain(token);
  });
});
