import { expect } from "vitest";
import type { ServerResponse } from "node:http";
import { type Recorded, startRecorder } from "./recorder.js";

/** What a streamed answer managed to send before the connection closed. */
export interface Stream {
  /** Bytes handed to the socket. */
  sent: number;
  /** The whole body was sent. */
  ended: boolean;
  /** The connection is closed (by the end, or by the Worker cancelling the body). */
  closed: boolean;
}

const MiB = 1024 * 1024;
/** The huge answer: what one tool call must never hold in a Worker's memory. */
export const HUGE_BYTES = 150 * MiB;

/**
 * A downstream app on loopback for the call_<name> end-to-end tests, below `/api`. Besides recording
 * requests (startRecorder), it answers:
 * - `/api/huge`: 150 MiB of text, made on the fly and written only as fast as the reader takes it;
 * - `/api/slow`: headers at once, then a line every 200 ms (for at most a minute);
 * - `/api/echo?status=N`: the request's headers as JSON, with status N;
 * - `/api/echo-cut`: text that puts the credential across the 64 KiB cap;
 * - `/api/echo-base64`: the credential header line, base64-encoded;
 * - `/api/redirect-token`: a redirect whose Location carries the credential;
 * - `/api/status-token`: the credential in the status text and the content type.
 * and otherwise what `respond` says, or the recorder's default. `streams` records how far each
 * streamed answer got. `credentialOf` picks the credential out of a request.
 */
export async function startDownstreamApp(
  credentialOf: (request: Recorded) => string,
  respond?: (request: Recorded, response: ServerResponse) => boolean,
) {
  const streams: Record<"huge" | "slow", Stream[]> = { huge: [], slow: [] };
  const app = await startRecorder((request, response) => {
    const url = new URL(request.url, "http://app");
    const credential = credentialOf(request);
    switch (url.pathname) {
      case "/api/huge":
        streams.huge.push(streamHuge(response));
        return true;
      case "/api/slow":
        streams.slow.push(streamSlowly(response));
        return true;
      case "/api/echo":
        response.writeHead(Number(url.searchParams.get("status") ?? 200), { "content-type": "application/json" });
        response.end(JSON.stringify({ headers: request.headers }));
        return true;
      case "/api/echo-cut":
        response.writeHead(200, { "content-type": "text/plain" });
        response.end(`${"x".repeat(64 * 1024 - 20)}${credential}`);
        return true;
      case "/api/echo-base64":
        response.writeHead(200, { "content-type": "text/plain" });
        response.end(Buffer.from(`debug: ${request.headers["cf-access-token"] ? "Cf-Access-Token" : "Authorization"}: ${credential}`).toString("base64"));
        return true;
      case "/api/redirect-token":
        response.writeHead(302, { location: `https://elsewhere.example/login?token=${encodeURIComponent(credential)}` });
        response.end();
        return true;
      case "/api/status-token":
        response.writeHead(500, `Failed for ${credential}`, { "content-type": `text/plain; token=${credential}` });
        response.end("failed");
        return true;
      default:
        return respond?.(request, response) ?? false;
    }
  });
  return { ...app, streams };
}

function streamHuge(response: ServerResponse): Stream {
  const stream: Stream = { sent: 0, ended: false, closed: false };
  const chunk = Buffer.alloc(64 * 1024, "a");
  response.on("close", () => (stream.closed = true));
  response.writeHead(200, { "content-type": "text/plain", "content-length": String(HUGE_BYTES) });
  const write = () => {
    while (stream.sent < HUGE_BYTES && !stream.closed) {
      stream.sent += chunk.length;
      if (!response.write(chunk)) return void response.once("drain", write);
    }
    if (!stream.closed) response.end(() => (stream.ended = true));
  };
  write();
  return stream;
}

function streamSlowly(response: ServerResponse): Stream {
  const stream: Stream = { sent: 0, ended: false, closed: false };
  response.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
  const line = Buffer.from("tick ✓\n");
  let ticks = 0;
  const timer = setInterval(() => {
    if (stream.closed || ++ticks > 300) {
      clearInterval(timer);
      if (!stream.closed) response.end(() => (stream.ended = true));
      return;
    }
    response.write(line);
    stream.sent += line.length;
  }, 200);
  response.on("close", () => {
    stream.closed = true;
    clearInterval(timer);
  });
  return stream;
}

/** Waits (at most `ms`) until `done()` is true. */
export async function waitFor(done: () => boolean, ms = 30_000): Promise<void> {
  for (let waited = 0; !done() && waited < ms; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** The tool calls that make the app quote the credential back, in every place a result shows. */
export const ECHOES: [string, Record<string, unknown>][] = [
  ["headers echoed in a 200 body", { path: "/echo" }],
  ["headers echoed in a 403 body", { path: "/echo", query: { status: 403 } }],
  ["headers echoed in a 500 body", { path: "/echo", query: { status: 500 } }],
  ["the credential across the size cap", { path: "/echo-cut" }],
  ["the header line in base64", { path: "/echo-base64" }],
  ["a redirect's Location", { path: "/redirect-token" }],
  ["the status text and content type", { path: "/status-token" }],
];

/** A piece of 12 or more consecutive characters of `secret` that `text` holds, if any. */
export function pieceOf(secret: string, text: string): string | undefined {
  for (let i = 0; i + 12 <= secret.length; i++) if (text.includes(secret.slice(i, i + 12))) return secret.slice(i, i + 12);
  return undefined;
}

type ToolResult = { isError?: unknown; content: { text: string }[] };
type App = Awaited<ReturnType<typeof startDownstreamApp>>;

/** A call of `/huge` read only up to the 64 KiB cap, said so, and the app's stream cancelled early. */
export async function expectCutAtSizeCap(result: ToolResult, app: App): Promise<void> {
  expect(result.isError).toBeFalsy();
  const text = result.content[0]!.text;
  // Only short slices in the assertions: a failure must not print megabytes.
  expect(text.slice(0, 40)).toMatch(/^GET \/api\/huge → 200/);
  expect(text.slice(-100)).toMatch(/a{10}\n\n\[cut: it is longer than 65536 bytes; the first 65536 bytes are shown\]$/);
  expect(text.length).toBeLessThan(65536 + 200);
  const stream = app.streams.huge.at(-1)!;
  await waitFor(() => stream.closed);
  expect(stream).toMatchObject({ closed: true, ended: false });
  expect(stream.sent).toBeLessThan(HUGE_BYTES / 10);
}

/** A call of `/slow` ended at the 15 s cap with what had arrived, and the app's stream closed. */
export async function expectCutAtTimeCap(result: ToolResult, app: App): Promise<void> {
  expect(result.isError).toBeFalsy();
  const text = result.content[0]!.text;
  expect(text.slice(0, 40)).toMatch(/^GET \/api\/slow → 200/);
  expect(text).toContain("tick ✓\ntick ✓\n");
  expect(text).toMatch(/\[cut: it did not end within 15 s; the first \d+ bytes are shown\]$/);
  const stream = app.streams.slow.at(-1)!;
  await waitFor(() => stream.closed);
  expect(stream).toMatchObject({ closed: true, ended: false });
}
