import { expect, it, vi } from "vitest";
import { appTokenClaims, stubAccess, USER } from "./access";
import { callTool } from "./mcp";
import { signAsAccess } from "./tokens";

it("writes one JSON line per tool call, with the caller and the outcome, and never the token", async () => {
  stubAccess();
  const log = vi.spyOn(console, "log").mockImplementation(() => {});
  const token = await signAsAccess(appTokenClaims());
  await callTool("whoami", {}, { "Cf-Access-Jwt-Assertion": token, "Cf-Ray": "8f1c2d3e4a5b6c7d-LHR" });
  const lines = log.mock.calls.map(([line]) => JSON.parse(String(line)));
  expect(lines).toEqual([
    expect.objectContaining({
      event: "mcp.tool_call",
      tool: "whoami",
      caller: USER,
      outcome: "ok",
      request_id: 1,
      ray_id: "8f1c2d3e4a5b6c7d-LHR",
      arguments: [],
    }),
  ]);
  expect(log.mock.calls.flat().join("\n")).not.toContain(token);
});
