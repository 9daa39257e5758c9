import { createMcpHandler, McpServer } from "@modelcontextprotocol/server";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type Caller, gateTools, type Limit, type ToolGate } from "../src/tool-gate";
import type { ToolRules } from "../src/tool-rules";

// The gate on a server of its own, with rules made up for each test: what the Worker does with the
// rules of mcp-access.json (src/tool-rules.ts), for every kind of rule.
const RULES: ToolRules = {
  by_email: { emails: ["Ada@Example.com"] },
  by_domain: { domains: ["example.com"] },
  by_group: { groups: ["wiki-editors"] },
};
const TOOLS = ["open", ...Object.keys(RULES)];

function caller(email: string, groups?: readonly string[]): Caller & { lookups: number } {
  const who = {
    email,
    sub: `sub-of-${email}`,
    lookups: 0,
    async groups() {
      who.lookups++;
      return groups;
    },
  };
  return who;
}

/** A stand-in for a Workers Rate Limiting binding: `allowed` calls per key, then refusals. */
function fakeLimit(allowed: number): Limit {
  const counts = new Map<string, number>();
  const binding = {
    async limit({ key }: { key: string }) {
      const count = (counts.get(key) ?? 0) + 1;
      counts.set(key, count);
      return { success: count <= allowed };
    },
  };
  return { binding, limit: allowed, period: 60 };
}

let ran: string[] = [];
afterEach(() => {
  ran = [];
});

function serve(gate: Partial<ToolGate> & { caller: Caller }) {
  const full: ToolGate = { rules: RULES, limits: { tools: {} }, audit: {}, rayId: "8f1c2d3e4a5b6c7d-LHR", ...gate };
  return createMcpHandler(() => {
    const server = new McpServer({ name: "gate-test", version: "1.0.0" });
    gateTools(server, full);
    for (const name of TOOLS) {
      server.registerTool(name, { description: `the ${name} tool` }, async () => {
        ran.push(name);
        return { content: [{ type: "text", text: `${name} ran` }] };
      });
    }
    return server;
  });
}

interface Result {
  tools: { name: string }[];
  content: { text: string }[];
  isError?: boolean;
}
interface Answer {
  result?: Result;
  error?: { message: string };
}

/** The result of a request that must succeed at the protocol level. */
function resultOf(answer: Answer): Result {
  if (!answer.result) throw new Error(`no result: ${JSON.stringify(answer)}`);
  return answer.result;
}
const textOf = (result: Result) => result.content.map((item) => item.text).join("\n");

async function rpc(handler: ReturnType<typeof serve>, method: string, params: object, id: number | string = 42) {
  const response = await handler.fetch(
    new Request("http://localhost/mcp", {
      method: "POST",
      headers: {
        Accept: "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": "2025-11-25",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id, method, params }),
    }),
  );
  const text = await response.text();
  const data = text.startsWith("event:")
    ? (text
        .split("\n")
        .find((line) => line.startsWith("data:"))
        ?.slice(5) ?? "")
    : text;
  return JSON.parse(data) as Answer;
}

const listed = async (who: Caller) =>
  resultOf(await rpc(serve({ caller: who }), "tools/list", {})).tools.map((tool: { name: string }) => tool.name);
const call = async (who: Caller, name: string, gate: Partial<ToolGate> = {}) =>
  resultOf(await rpc(serve({ caller: who, ...gate }), "tools/call", { name, arguments: { query: "secret value" } }));

describe("who sees and may call which tool", () => {
  const cases: [string, Caller, string[]][] = [
    [
      "an email rule lets that address in, whatever its case",
      caller("ada@example.COM", []),
      ["open", "by_email", "by_domain"],
    ],
    ["a domain rule lets in its exact domain", caller("bob@example.com", []), ["open", "by_domain"]],
    ["a subdomain is another domain", caller("eve@eu.example.com", []), ["open"]],
    ["a group rule lets in the group's members", caller("gus@other.org", ["wiki-editors"]), ["open", "by_group"]],
    ["group names match exactly", caller("gus@other.org", ["Wiki-Editors", "wiki"]), ["open"]],
    ["without groups, group rules refuse", caller("gus@other.org", undefined), ["open"]],
  ];

  it.each(cases)("%s", async (_, who, allowed) => {
    expect(await listed(who)).toEqual(allowed);
    for (const name of TOOLS) {
      const result = await call(who, name);
      expect(result.isError ?? false).toBe(!allowed.includes(name));
    }
    expect(ran).toEqual(allowed);
  });

  it("refuses with a message about access, and nothing about who has it", async () => {
    const result = await call(caller("mallory@evil.example", []), "by_email");
    expect(textOf(result)).toMatch(/do not have access to the tool by_email/);
    expect(JSON.stringify(result)).not.toMatch(/ada|example\.com/i);
  });

  it("looks up groups only when a rule needs them", async () => {
    const ada = caller("ada@example.com", ["wiki-editors"]);
    await call(ada, "open");
    await call(ada, "by_email");
    expect(ada.lookups).toBe(0);
    await call(ada, "by_group");
    expect(ada.lookups).toBe(1);
  });

  it("finds no rule on Object.prototype: a tool named constructor is the SDK's to refuse", async () => {
    const answer = await rpc(serve({ caller: caller("x@y.org", []) }), "tools/call", {
      name: "constructor",
      arguments: {},
    });
    expect(answer.result).toBeUndefined();
    expect(answer.error?.message).toMatch(/^Tool constructor /);
  });
});

it("fails closed: a tool registered without both of its handlers behind the gate is refused", () => {
  const server = new McpServer({ name: "gate-test", version: "1.0.0" });
  const tool = async () => ({ content: [{ type: "text" as const, text: "ran" }] });
  // The handlers are installed with the first tool: a gate put in place after that sees neither.
  server.registerTool("early", { description: "registered before the gate" }, tool);
  gateTools(server, { caller: caller("ada@example.com", []), rules: RULES, audit: false, rayId: null });
  expect(() => server.registerTool("late", { description: "registered after" }, tool)).toThrow(
    /tool gate is not in place/,
  );
});

describe("rate limits", () => {
  it("refuse a user's calls past the limit, say when to retry, and leave other users alone", async () => {
    const all = fakeLimit(2);
    const ada = caller("ada@example.com", []);
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push(await call(ada, "open", { limits: { all, tools: {} } }));
    expect(outcomes.map((result) => result.isError ?? false)).toEqual([false, false, true]);
    expect(textOf(outcomes[2] as Result)).toMatch(/at most 2 calls in 60 seconds\. Try again in 60 seconds/);
    expect(ran).toEqual(["open", "open"]);
    expect((await call(caller("bob@example.com", []), "open", { limits: { all, tools: {} } })).isError ?? false).toBe(
      false,
    );
  });

  it("count a tool's own limit only for that tool", async () => {
    const ada = caller("ada@example.com", []);
    const limits = { tools: { by_email: fakeLimit(1) } };
    expect((await call(ada, "by_email", { limits })).isError ?? false).toBe(false);
    expect((await call(ada, "by_email", { limits })).isError).toBe(true);
    expect((await call(ada, "open", { limits })).isError ?? false).toBe(false);
  });
});

describe("the audit log", () => {
  /** The JSON lines written to the log, parsed. */
  const lines = (log: { mock: { calls: unknown[][] } }) =>
    log.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);

  it("has one line per call, with the outcome, and never an argument value", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const ada = caller("ada@example.com", []);
    await call(ada, "by_email");
    await call(caller("mallory@evil.example", []), "by_email");
    await call(ada, "open", { limits: { all: fakeLimit(0), tools: {} } });
    expect(lines(log)).toEqual([
      expect.objectContaining({ event: "mcp.tool_call", tool: "by_email", outcome: "ok", request_id: 42 }),
      expect.objectContaining({
        tool: "by_email",
        outcome: "denied",
        caller: { email: "mallory@evil.example", sub: "sub-of-mallory@evil.example" },
      }),
      expect.objectContaining({ tool: "open", outcome: "rate_limited" }),
    ]);
    const [first] = lines(log);
    expect(first).toMatchObject({ ray_id: "8f1c2d3e4a5b6c7d-LHR", arguments: ["query"] });
    expect(typeof first?.duration_ms).toBe("number");
    const all = log.mock.calls.flat().join("\n");
    expect(all).not.toContain("secret value");
  });

  it("adds a keyed hash of the arguments when asked, the same for the same values", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const ada = caller("ada@example.com", []);
    await call(ada, "open", { audit: { hashKey: "k1" } });
    await call(ada, "open", { audit: { hashKey: "k1" } });
    await call(ada, "open", { audit: { hashKey: "k2" } });
    const hashes = lines(log).map((line) => line.arguments_hash);
    expect(hashes[0]).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(hashes[1]).toBe(hashes[0]);
    expect(hashes[2]).not.toBe(hashes[0]);
  });

  it("keeps what a client chooses short: the tool name, the argument names, the request id", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const long = "x".repeat(10_000);
    const params = {
      name: long,
      arguments: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`${long}${i}`, i])),
    };
    await rpc(serve({ caller: caller("ada@example.com", []) }), "tools/call", params, long);
    const [line] = lines(log);
    expect(String(line?.tool)).toHaveLength(128);
    expect(String(line?.request_id)).toHaveLength(128);
    expect(line?.arguments).toHaveLength(32);
    expect(JSON.stringify(line).length).toBeLessThan(6000);
  });

  it("is not written when audit is off", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    await call(caller("ada@example.com", []), "open", { audit: false });
    expect(log).not.toHaveBeenCalled();
  });
});
