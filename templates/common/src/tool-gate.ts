import type { McpServer } from "@modelcontextprotocol/server";
import type { ToolRule, ToolRules } from "./tool-rules";

/** The signed-in user calling a tool. */
export interface Caller {
  email: string;
  sub: string;
  /**
   * The caller's Access groups, looked up on first use. `undefined` when they cannot be had: every
   * rule that needs groups then refuses (the reason is logged where the lookup failed).
   */
  groups: () => Promise<readonly string[] | undefined>;
}

/** What the gate needs for one request. */
export interface ToolGate {
  caller: Caller;
  rules: ToolRules;
  /** Per-user limits: `all` counts every tool call, `tools` one tool each (by name). */
  limits?: { all?: Limit; tools?: Readonly<Record<string, Limit>> };
  /**
   * Write one JSON line per tool call, or not (`false`). `hashKey`: add a keyed hash of the
   * arguments (AUDIT_HASH_KEY); empty when the secret is missing, and the lines then say so.
   */
  audit: false | { hashKey?: string };
  /** Cloudflare's id for the HTTP request, to find it in Workers Logs next to the audit line. */
  rayId: string | null;
}

/** A Workers Rate Limiting binding and the figures it was configured with, for the refusal text. */
export interface Limit {
  binding: RateLimit;
  limit: number;
  period: number;
}

type Outcome = "ok" | "error" | "denied" | "rate_limited";

// Only the tool list and tool calls are gated; resources and prompts stay open to every signed-in user.
type RequestHandler = (request: unknown, ctx: unknown) => unknown;
type ToolsListRequest = { params?: unknown };
type ToolsCallRequest = { params: { name: string; arguments?: Record<string, unknown> } };
type HandlerContext = { mcpReq?: { id?: string | number } };

/**
 * Puts every tool of `server` behind the gate: the tool list shows a caller only the tools they may
 * call, and a call is checked against the rules and the rate limits before the tool's handler runs.
 * Call it before registering any tool.
 *
 * McpServer installs its `tools/list` and `tools/call` handlers through `server.server.setRequestHandler`
 * when the first tool is registered; the gate wraps that method, so tools written by hand are gated
 * exactly like the generated ones. If a future SDK installed them another way, registering a tool
 * throws, and every request fails, rather than the server being open to everyone.
 */
export function gateTools(server: McpServer, gate: ToolGate): void {
  const lowLevel = server.server as unknown as { setRequestHandler: (method: string, ...rest: unknown[]) => void };
  const setRequestHandler = lowLevel.setRequestHandler.bind(lowLevel);
  const wrapped = new Set<string>();
  lowLevel.setRequestHandler = (method, ...rest) => {
    const handler = rest.length === 1 && typeof rest[0] === "function" ? (rest[0] as RequestHandler) : undefined;
    if (method === "tools/list" && handler) {
      wrapped.add(method);
      return setRequestHandler(method, (request: ToolsListRequest, ctx: unknown) =>
        listTools(gate, handler, request, ctx),
      );
    }
    if (method === "tools/call" && handler) {
      wrapped.add(method);
      return setRequestHandler(method, (request: ToolsCallRequest, ctx: HandlerContext) =>
        callTool(gate, handler, request, ctx),
      );
    }
    return setRequestHandler(method, ...rest);
  };
  // Fail closed: once a tool is registered, both handlers must have come through the gate.
  const registerTool = server.registerTool.bind(server) as (...args: unknown[]) => unknown;
  (server as unknown as { registerTool: (...args: unknown[]) => unknown }).registerTool = (...args) => {
    const tool = registerTool(...args);
    if (!wrapped.has("tools/list") || !wrapped.has("tools/call")) {
      throw new Error("the tool gate is not in place: refusing to serve tools without their access rules");
    }
    return tool;
  };
}

/** Whether the caller may call `tool`. Rules that need groups are the only ones that look them up. */
export async function mayCall(tool: string, caller: Caller, rules: ToolRules): Promise<boolean> {
  // Own properties only: a tool named `constructor` or `__proto__` must not find a rule on Object.prototype.
  if (!Object.hasOwn(rules, tool)) return true;
  const rule = rules[tool] as ToolRule;
  // Addresses are compared without case, as mail systems do; Access reports them as the IdP has them.
  const email = caller.email.toLowerCase();
  if (rule.emails?.some((allowed) => allowed.toLowerCase() === email)) return true;
  const domain = email.slice(email.lastIndexOf("@") + 1);
  if (rule.domains?.some((allowed) => allowed.toLowerCase() === domain)) return true;
  if (!rule.groups?.length) return false;
  const groups = await caller.groups();
  // Fail closed: without the caller's groups, a group rule cannot be met.
  return groups !== undefined && rule.groups.some((group) => groups.includes(group));
}

async function listTools(gate: ToolGate, handler: RequestHandler, request: ToolsListRequest, ctx: unknown) {
  const result = (await handler(request, ctx)) as { tools: { name: string }[] };
  const allowed = await Promise.all(result.tools.map((tool) => mayCall(tool.name, gate.caller, gate.rules)));
  return { ...result, tools: result.tools.filter((_, index) => allowed[index]) };
}

async function callTool(gate: ToolGate, handler: RequestHandler, request: ToolsCallRequest, ctx: HandlerContext) {
  const started = Date.now();
  const { name } = request.params;
  const record = (outcome: Outcome) => audit(gate, request, ctx, outcome, Date.now() - started);

  if (!(await mayCall(name, gate.caller, gate.rules))) {
    await record("denied");
    // Says that access is missing, and nothing about who has it.
    return refusal(`You do not have access to the tool ${name}. Ask the people who run this server if you need it.`);
  }
  const over = await overLimit(name, gate);
  if (over) {
    await record("rate_limited");
    return refusal(
      `Rate limit reached: at most ${over.limit} calls in ${over.period} seconds. Try again in ${over.period} seconds.`,
    );
  }
  try {
    const result = (await handler(request, ctx)) as { isError?: boolean };
    await record(result.isError ? "error" : "ok");
    return result;
  } catch (error) {
    await record("error");
    throw error;
  }
}

/** The first limit the call would exceed, or undefined. Every applicable limit counts the call. */
async function overLimit(tool: string, gate: ToolGate): Promise<Limit | undefined> {
  const { all, tools = {} } = gate.limits ?? {};
  const limits = [all, Object.hasOwn(tools, tool) ? tools[tool] : undefined];
  for (const limit of limits) {
    if (!limit) continue;
    // Keyed by the user's stable id: every client and session of one person shares their allowance.
    const { success } = await limit.binding.limit({ key: gate.caller.sub });
    if (!success) return limit;
  }
  return undefined;
}

function refusal(text: string) {
  return { content: [{ type: "text" as const, text }], isError: true };
}

// Bounds for what a client controls, so one call cannot write an arbitrarily long log line.
const MAX_NAME = 128;
const MAX_ARGUMENT_NAMES = 32;

/**
 * One JSON line per tool call, to Workers Logs (observability is on in wrangler.jsonc) and Logpush.
 * It names the arguments but never holds their values, nor any token or cookie: with
 * `audit.arguments: "hash"` it adds an HMAC of the values under AUDIT_HASH_KEY, which shows whether
 * two calls had the same arguments without revealing them.
 */
async function audit(gate: ToolGate, request: ToolsCallRequest, ctx: HandlerContext, outcome: Outcome, ms: number) {
  if (!gate.audit) return;
  const args = request.params.arguments ?? {};
  const entry: Record<string, unknown> = {
    event: "mcp.tool_call",
    time: new Date().toISOString(),
    tool: request.params.name.slice(0, MAX_NAME),
    caller: { email: gate.caller.email, sub: gate.caller.sub },
    outcome,
    duration_ms: ms,
    request_id: bounded(ctx.mcpReq?.id ?? null),
    ray_id: bounded(gate.rayId),
    arguments: Object.keys(args)
      .slice(0, MAX_ARGUMENT_NAMES)
      .map((name) => name.slice(0, MAX_NAME)),
  };
  if (gate.audit.hashKey !== undefined) {
    // Without the key a hash of low-entropy values could be reversed by guessing: write none.
    entry.arguments_hash = gate.audit.hashKey ? await keyedHash(gate.audit.hashKey, args) : null;
    if (!gate.audit.hashKey) console.warn("AUDIT_HASH_KEY is not set: audit lines carry no arguments_hash");
  }
  console.log(JSON.stringify(entry));
}

/** A client-chosen id as it is, but a string no longer than MAX_NAME. */
function bounded<T>(value: T): T | string {
  return typeof value === "string" ? value.slice(0, MAX_NAME) : value;
}

async function keyedHash(key: string, value: unknown): Promise<string> {
  const encoder = new TextEncoder();
  const hmacKey = await crypto.subtle.importKey("raw", encoder.encode(key), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = await crypto.subtle.sign("HMAC", hmacKey, encoder.encode(canonicalJson(value)));
  return btoa(String.fromCharCode(...new Uint8Array(mac)));
}

/** JSON with object keys sorted, so the same arguments hash the same whatever order a client sent them in. */
function canonicalJson(value: unknown): string {
  const sorted = (_key: string, item: unknown) =>
    item !== null && typeof item === "object" && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item;
  return JSON.stringify(value, sorted) ?? "null";
}
