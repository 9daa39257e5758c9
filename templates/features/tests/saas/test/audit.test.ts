import { expect, it, vi } from "vitest";
import { FakeAccess, signIn, USER } from "./access";
import { callTool } from "./mcp";

it("writes one JSON line per tool call, with the caller and the outcome, and never a token", async () => {
  const access = new FakeAccess();
  const token = await signIn(access);
  const log = vi.spyOn(console, "log").mockImplementation(() => {});
  await callTool("whoami", {}, { Authorization: `Bearer ${token}`, "Cf-Ray": "8f1c2d3e4a5b6c7d-LHR" });
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
  const written = log.mock.calls.flat().join("\n");
  expect(written).not.toContain(token);
  expect(written).not.toContain(access.accessToken);
});
