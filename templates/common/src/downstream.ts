import type { CallToolResult, McpServer } from "@modelcontextprotocol/server";
// Namespace import on purpose: it lets the bundler drop the parts of zod that are unused.
import * as z from "zod";
import { type BodyPart, readBody } from "./downstream-body";
import { targetUrl, UnsafePathError } from "./downstream-path";
import { redactCredential } from "./downstream-redact";

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

/** One tool call's arguments. */
export interface DownstreamCall {
  method: string;
  path: string;
  query?: Record<string, string | number | boolean>;
  body?: unknown;
}

/** For the whole call: the answer's headers and its body. */
const TIMEOUT_MS = 15_000;
const MAX_BODY_BYTES = 64 * 1024;

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

/**
 * Calls the app for the user and turns every outcome into a tool result: a refusal, an error status,
 * a redirect or a network failure is reported to the model (`isError`), never thrown. Redirects are
 * not followed: the token must not travel to wherever a `Location` header points. The app's answer
 * may quote the credential back (an echo endpoint, an error page): it is removed from everything
 * the result says.
 */
export async function callDownstream(
  app: DownstreamApp,
  credential: DownstreamCredential,
  call: DownstreamCall,
): Promise<CallToolResult> {
  const result = await callApp(app, credential, call);
  const secret = credential.value.replace(/^Bearer\s+/i, "");
  const content = result.content.map((item) => {
    if (item.type !== "text") return item;
    const { text, removed } = redactCredential(item.text, secret);
    const note = `\n\n[The user's credential was removed from ${removed} place(s) in this answer.]`;
    return { ...item, text: removed ? text + note : text };
  });
  return { ...result, content };
}

async function callApp(
  app: DownstreamApp,
  credential: DownstreamCredential,
  call: DownstreamCall,
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

  const deadline = AbortSignal.timeout(TIMEOUT_MS);
  let response: Response;
  try {
    response = await fetch(url, {
      method: call.method,
      headers,
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      redirect: "manual",
      signal: deadline,
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
  const body = await readBody(response, MAX_BODY_BYTES, deadline);
  const shown = body.cut ? `${body.text}\n\n[${cutNote(body.cut, body.bytes)}]` : body.text;
  const summary = `${call.method} ${url.pathname}${url.search} → ${status} (${contentType})`;
  if (response.ok) return { content: [{ type: "text", text: `${summary}\n\n${shown}` }] };
  const hint =
    response.status === 401 || response.status === 403
      ? ` ${app.name} refused the user's credential: does its Access application have a Linked App Token policy for this server?`
      : "";
  return failure(`${summary}.${hint}\n\n${shown}`);
}

/** Says that the body shown is not all of it, why, and how much of it was read. */
function cutNote(cut: NonNullable<BodyPart["cut"]>, bytes: number): string {
  const why = {
    size: `it is longer than ${MAX_BODY_BYTES} bytes`,
    time: `it did not end within ${TIMEOUT_MS / 1000} s`,
    broken: "the connection failed",
  }[cut];
  return `cut: ${why}; the first ${bytes} bytes are shown`;
}

function failure(text: string): CallToolResult {
  return { isError: true, content: [{ type: "text", text }] };
}
