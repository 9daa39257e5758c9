import { beforeEach, describe, expect, it } from "vitest";
import { DOWNSTREAM_APPS } from "../src/downstreams";
import { appTokenClaims, stubAccess } from "./access";
import { callTool } from "./mcp";
import { signAsAccess } from "./tokens";

let token: string;
let requests: Request[];

beforeEach(async () => {
  token = await signAsAccess(appTokenClaims());
  // Every app answers 200 with what it was asked.
  const app = (request: Request) => Response.json({ method: request.method, url: request.url });
  requests = stubAccess(Object.fromEntries(DOWNSTREAM_APPS.map(({ url }) => [new URL(url).origin, app])));
});

describe.each(DOWNSTREAM_APPS)("call_$name", ({ name, url }) => {
  const sentToApp = () => requests.filter((request) => new URL(request.url).origin === new URL(url).origin);

  it("calls the app below its URL, with the user's Access token as Cf-Access-Token", async () => {
    const args = { path: "/items", query: { q: "test" } };
    const result = await callTool(`call_${name}`, args, { "Cf-Access-Jwt-Assertion": token });
    expect(result.isError).toBeFalsy();
    const expected = new URL(url);
    expected.pathname = `${expected.pathname.replace(/\/+$/, "")}/items`;
    expected.search = "?q=test";
    expect(sentToApp().map((request) => request.url)).toEqual([expected.href]);
    expect(sentToApp()[0]?.headers.get("Cf-Access-Token")).toBe(token);
  });

  it("refuses a path that leads outside the app, and calls nothing", async () => {
    const result = await callTool(`call_${name}`, { path: "/../admin" }, { "Cf-Access-Jwt-Assertion": token });
    expect(result.isError).toBe(true);
    expect(sentToApp()).toEqual([]);
  });
});
