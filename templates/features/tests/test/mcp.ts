import { exports } from "cloudflare:workers";

/** Where the tests reach the Worker: plain http, which the Worker accepts on a loopback host only, as under `npm run dev`. */
export const ORIGIN = "http://localhost";

/** A tool's result, as far as the tests look into it. */
export interface ToolResult {
  content: { type: string; text: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

interface JsonRpcResponse {
  id?: number;
  result?: ToolResult;
  error?: unknown;
}

/** Sends one JSON-RPC request to /mcp as a 2025-11-25 client does, straight to the Worker's fetch handler. */
export function mcpRequest(method: string, params: object, headers: Record<string, string> = {}): Promise<Response> {
  return exports.default.fetch(`${ORIGIN}/mcp`, {
    method: "POST",
    headers: {
      Host: new URL(ORIGIN).host,
      Accept: "application/json, text/event-stream",
      "Content-Type": "application/json",
      "MCP-Protocol-Version": "2025-11-25",
      ...headers,
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
}

/** Calls a tool and returns its result; anything else fails the test. */
export async function callTool(name: string, args: object, headers: Record<string, string>): Promise<ToolResult> {
  const response = await mcpRequest("tools/call", { name, arguments: args }, headers);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`POST /mcp answered ${response.status}: ${text}`);
  // The answer is a JSON body, or a server-sent event carrying the same message.
  const bodies = response.headers.get("Content-Type")?.startsWith("text/event-stream")
    ? text
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice("data:".length))
    : [text];
  const message = bodies.map((body) => JSON.parse(body) as JsonRpcResponse).find((candidate) => candidate.id === 1);
  if (!message?.result) throw new Error(`${name} failed: ${text}`);
  return message.result;
}
