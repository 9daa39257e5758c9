import { beforeEach, describe, expect, it } from "vitest";
import { DOWNSTREAM_APPS } from "../src/downstreams";
import { FakeAccess, signIn } from "./access";
import { callTool } from "./mcp";

let access: FakeAccess;
let token: string;

beforeEach(async () => {
  // Every app answers 200 with what it was asked.
  const app = (request: Request) => Response.json({ method: request.method, url: request.url });
  access = new FakeAccess({ apps: Object.fromEntries(DOWNSTREAM_APPS.map(({ url }) => [new URL(url).origin, app])) });
  token = await signIn(access);
});

describe.each(DOWNSTREAM_APPS)("call_$name", ({ name, url }) => {
  const sentToApp = () => access.requests.filter((request) => new URL(request.url).origin === new URL(url).origin);

  it("calls the app below its URL with the user's Access token, never the MCP client's", async () => {
    const args = { path: "/items", query: { q: "test" } };
    const result = await callTool(`call_${name}`, args, { Authorization: `Bearer ${token}` });
    expect(result.isError).toBeFalsy();
    const expected = new URL(url);
    expected.pathname = `${expected.pathname.replace(/\/+$/, "")}/items`;
    expected.search = "?q=test";
    expect(sentToApp().map((request) => request.url)).toEqual([expected.href]);
    expect(sentToApp()[0]?.headers.get("Authorization")).toBe(`Bearer ${access.accessToken}`);
  });

  it("refuses a path that leads outside the app, and calls nothing", async () => {
    const result = await callTool(`call_${name}`, { path: "/../admin" }, { Authorization: `Bearer ${token}` });
    expect(result.isError).toBe(true);
    expect(sentToApp()).toEqual([]);
  });
});
