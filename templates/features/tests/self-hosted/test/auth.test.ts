import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import { appTokenClaims as claims, stubAccess, USER } from "./access";
import { callTool, mcpRequest, ORIGIN } from "./mcp";
import { nowSeconds, publicKeyHmacToken, signAsAccess, unsignedToken } from "./tokens";

beforeEach(() => {
  stubAccess();
});

describe("a request with a valid Access token", () => {
  it("reaches whoami, which answers with the token's email and sub", async () => {
    const token = await signAsAccess(claims());
    const result = await callTool("whoami", {}, { "Cf-Access-Jwt-Assertion": token });
    expect(result.structuredContent).toEqual(USER);
  });
});

describe("a request without a valid Access token", () => {
  const hourAgo = () => nowSeconds() - 3600;
  const badTokens: [string, () => string | Promise<string>][] = [
    ["no token", () => ""],
    ["a token that is not a JWT", () => "not-a-jwt"],
    ["an expired token", () => signAsAccess(claims({ iat: hourAgo() - 300, nbf: hourAgo() - 300, exp: hourAgo() }))],
    ["a token from another team", () => signAsAccess(claims({ iss: "https://another-team.cloudflareaccess.com" }))],
    ["a token for another Access application", () => signAsAccess(claims({ aud: ["another-application-aud"] }))],
    ["a token signed with a key Access did not publish", () => signAsAccess(claims(), "impostor")],
    ["an unsigned token (alg: none)", () => unsignedToken(claims())],
    ["an HS256 token keyed with Access's public key", () => publicKeyHmacToken(claims())],
    ["an Access session token instead of an application token", () => signAsAccess(claims({ type: "org" }))],
  ];

  it.each(badTokens)("is refused with 401: %s", async (_kind, makeToken) => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const token = await makeToken();
    const headers: Record<string, string> = token ? { "Cf-Access-Jwt-Assertion": token } : {};
    const response = await mcpRequest("tools/call", { name: "whoami", arguments: {} }, headers);
    expect(response.status).toBe(401);
    // Why goes to the log; the caller gets a fixed answer that repeats nothing it sent.
    expect(warn).toHaveBeenCalledWith(expect.stringContaining("Access authentication failed"));
    if (token) expect(await response.text()).not.toContain(token);
  });
});

it("answers a CORS preflight without asking for a token", async () => {
  const response = await exports.default.fetch(`${ORIGIN}/mcp`, {
    method: "OPTIONS",
    headers: {
      Host: new URL(ORIGIN).host,
      Origin: "https://inspector.example.com",
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "content-type, mcp-protocol-version",
    },
  });
  expect(response.status).toBe(204);
  expect(response.headers.get("Access-Control-Allow-Methods")).toContain("POST");
});

describe.each(["TEAM_DOMAIN", "POLICY_AUD"] as const)("without %s", (name) => {
  it("fails closed: 500 for every request", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const request = new Request<unknown, IncomingRequestCfProperties>(`${ORIGIN}/mcp`, {
      method: "POST",
      headers: { Host: new URL(ORIGIN).host },
    });
    const response = await worker.fetch(request, { ...env, [name]: "" });
    expect(response.status).toBe(500);
    expect(await response.text()).toContain(name);
  });
});
