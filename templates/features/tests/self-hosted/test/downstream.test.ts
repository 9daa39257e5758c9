import { beforeEach, describe, expect, it } from "vitest";
import { DOWNSTREAM_APPS } from "../src/downstreams";
import { appTokenClaims, stubAccess } from "./access";
import { ACCEPTED_PATHS, downstreamApp, ECHOES, type EndlessBody, pieceOf, REFUSED_PATHS } from "./downstream-app";
import { callTool } from "./mcp";
import { signAsAccess } from "./tokens";

let token: string;
let requests: Request[];
let endless: EndlessBody;

beforeEach(async () => {
  token = await signAsAccess(appTokenClaims());
  endless = { chunks: 0, cancelled: false };
  const app = downstreamApp(endless);
  requests = stubAccess(Object.fromEntries(DOWNSTREAM_APPS.map(({ url }) => [new URL(url).origin, app])));
});

describe.each(DOWNSTREAM_APPS)("call_$name", ({ name, url }) => {
  const sentToApp = () => requests.filter((request) => new URL(request.url).origin === new URL(url).origin);
  const call = (args: object) => callTool(`call_${name}`, args, { "Cf-Access-Jwt-Assertion": token });

  it("calls the app below its URL, with the user's Access token as Cf-Access-Token", async () => {
    const result = await call({ path: "/items", query: { q: "test" } });
    expect(result.isError).toBeFalsy();
    const expected = new URL(url);
    expected.pathname = `${expected.pathname.replace(/\/+$/, "")}/items`;
    expected.search = "?q=test";
    expect(sentToApp().map((request) => request.url)).toEqual([expected.href]);
    expect(sentToApp()[0]?.headers.get("Cf-Access-Token")).toBe(token);
  });

  it.each(REFUSED_PATHS)("refuses the path %j and calls nothing", async (path) => {
    const result = await call({ path });
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toMatch(/^Refused to call/);
    expect(sentToApp()).toEqual([]);
  });

  it.each(ACCEPTED_PATHS)("calls the path %j", async (path) => {
    const result = await call({ path });
    expect(result.isError).toBeFalsy();
    expect(sentToApp()).toHaveLength(1);
  });

  it("reads at most 64 KiB of a body, says so, and cancels the rest", async () => {
    const result = await call({ path: "/endless" });
    expect(result.isError).toBeFalsy();
    expect(result.content[0]?.text.slice(-100)).toMatch(
      /a\n\n\[cut: it is longer than 65536 bytes; the first 65536 bytes are shown\]$/,
    );
    expect(endless.cancelled).toBe(true);
    expect(endless.chunks).toBeLessThan(10);
  });

  it.each(ECHOES)("never returns the user's Access token when the app quotes it %s", async (_, args) => {
    const result = await call(args);
    expect(sentToApp()[0]?.headers.get("Cf-Access-Token")).toBe(token);
    const text = result.content.map((item) => item.text).join("\n");
    expect(pieceOf(token, text)).toBeUndefined();
    expect(text).toMatch(/credential was removed/);
  });
});
