import type { CallToolResult, McpServer } from "@modelcontextprotocol/server";
// Namespace import on purpose: it lets the bundler drop the parts of zod that are unused.
import * as z from "zod";

/**
 * An Access-protected app this server calls for the signed-in user. Access lets the call through
 * when the app has a Linked App Token policy naming this server's Access application (see README).
 */
export interface DownstreamApp {
  /** The tool is `call_<name>`. */
  name: string;
  /** Base URL: tool calls can reach this origin, at or below this path, and nothing else. */
  url: string;
}

/** The user's credential for downstream apps, as one header. It is sent to configured apps only. */
export interface DownstreamCredential {
  header: "Cf-Access-Token" | "Authorization";
  value: string;
}

const TIMEOUT_MS = 15_000;
const MAX_BODY_CHARS = 64 * 1024;

const callArguments = z.object({
  method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE"]).default("GET").describe("HTTP method"),
  path: z.string().max(2048).default("/").describe("Path below the app's URL, such as /pages/42"),
  query: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
    .optional()
    .describe("Query parameters"),
  body: z.unknown().optional().describe("JSON request body (not for GET)"),
});

/** Registers `call_<name>` for each app; every call carries this request's user credential. */
export function registerDownstreamTools(
  server: McpServer,
  apps: readonly DownstreamApp[],
  credential: DownstreamCredential,
): void {
  for (const app of apps) {
    server.registerTool(
      `call_${app.name}`,
      {
        title: `Call ${app.name}`,
        description: `Calls ${app.url} as the signed-in user and returns the status and the response body.`,
        inputSchema: callArguments,
        annotations: { openWorldHint: true },
      },
      async ({ method, path, query, body }) => callDownstream(app, credential, { method, path, query, body }),
    );
  }
}

export class UnsafePathError extends Error {
  override readonly name = "UnsafePathError";
}

/**
 * The URL a tool call may reach: the app's own origin, at or below its path. Every way a path could
 * step outside is refused before any request exists, because the request carries the user's token:
 * absolute and protocol-relative URLs, `..` and `.` segments (also percent-encoded), backslashes
 * (some servers read them as `/`), `@`, control characters, and `?`/`#` (query goes in `query`).
 */
export function targetUrl(
  app: DownstreamApp,
  path: string,
  query: Record<string, string | number | boolean> = {},
): URL {
  const base = new URL(app.url);
  if (/[\\@?#]/.test(path) || hasControlCharacter(path)) {
    throw new UnsafePathError("the path has a character that is not allowed (\\, @, ?, # or a control character)");
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith("//")) {
    throw new UnsafePathError("the path must be relative to the app, not a URL");
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    throw new UnsafePathError("the path has a malformed percent-encoding");
  }
  const segments = decoded.split("/");
  if (
    segments.some((segment) => segment === ".." || segment === ".") ||
    decoded.includes("\\") ||
    hasControlCharacter(decoded)
  ) {
    throw new UnsafePathError("the path may not contain . or .. segments");
  }
  const prefix = base.pathname.replace(/\/+$/, "");
  const target = new URL(`${prefix}/${path.replace(/^\/+/, "")}`, base.origin);
  // Belt and braces: whatever the parser made of it, it must still be inside the app.
  if (target.origin !== base.origin || (target.pathname !== prefix && !target.pathname.startsWith(`${prefix}/`))) {
    throw new UnsafePathError("the path leads outside the app");
  }
  for (const [key, value] of Object.entries(query)) target.searchParams.append(key, String(value));
  return target;
}

/** C0 controls and DEL: no real path has them, and they are the stuff of header and log injection. */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * Calls the app for the user and turns every outcome into a tool result: a refusal, an error status,
 * a redirect or a network failure is reported to the model (`isError`), never thrown, and never
 * with the credential in it. Redirects are not followed: the token must not travel to wherever a
 * `Location` header points.
 */
export async function callDownstream(
  app: DownstreamApp,
  credential: DownstreamCredential,
  call: { method: string; path: string; query?: Record<string, string | number | boolean>; body?: unknown },
): Promise<CallToolResult> {
  let url: URL;
  try {
    url = targetUrl(app, call.path, call.query);
  } catch (error) {
    if (!(error instanceof UnsafePathError)) throw error;
    return failure(`Refused to call ${app.name}: ${error.message}.`);
  }
  if (call.body !== undefined && call.method === "GET") return failure("A GET request cannot have a body.");

  // Only headers this server sets: nothing from the tool call, and never the MCP client's own token.
  const headers = new Headers({ Accept: "application/json, text/*;q=0.9, */*;q=0.5" });
  headers.set(credential.header, credential.value);
  if (call.body !== undefined) headers.set("Content-Type", "application/json");

  let response: Response;
  try {
    response = await fetch(url, {
      method: call.method,
      headers,
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      redirect: "manual",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    const reason =
      error instanceof Error && error.name === "TimeoutError"
        ? `no answer within ${TIMEOUT_MS / 1000} s`
        : "the app could not be reached";
    return failure(`${call.method} ${url.pathname} on ${app.name} failed: ${reason}.`);
  }

  const status = `${response.status} ${response.statusText}`.trim();
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel();
    const location = response.headers.get("Location");
    return failure(
      `${app.name} answered ${status}, a redirect${location ? ` to ${location}` : ""}. It was not followed.`,
    );
  }
  const contentType = response.headers.get("Content-Type") ?? "unknown";
  const text = await response.text();
  const shown =
    text.length > MAX_BODY_CHARS
      ? `${text.slice(0, MAX_BODY_CHARS)}\n[truncated: ${text.length - MAX_BODY_CHARS} more characters]`
      : text;
  const summary = `${call.method} ${url.pathname}${url.search} → ${status} (${contentType})`;
  if (response.ok) return { content: [{ type: "text", text: `${summary}\n\n${shown}` }] };
  const hint =
    response.status === 401 || response.status === 403
      ? ` ${app.name} refused the user's credential: does its Access application have a Linked App Token policy for this server?`
      : "";
  return failure(`${summary}.${hint}\n\n${shown}`);
}

function failure(text: string): CallToolResult {
  return { isError: true, content: [{ type: "text", text }] };
}
