import type { Handler } from "./network";

/** How far the app's endless answer got before the Worker stopped reading it. */
export interface EndlessBody {
  chunks: number;
  cancelled: boolean;
}

/**
 * A downstream app. Below its URL it answers `…/endless` with text that never ends, made as it is
 * read; `…/echo` with the request's headers (status from `?status=`); `…/redirect` with a redirect
 * that carries the credential; `…/status` with the credential in the status text and content type;
 * anything else with 200 and what it was asked.
 */
export function downstreamApp(endless: EndlessBody): Handler {
  return (request) => {
    const url = new URL(request.url);
    const credential = request.headers.get("Cf-Access-Token") ?? request.headers.get("Authorization") ?? "";
    const token = credential.replace(/^Bearer /, "");
    switch (url.pathname.split("/").at(-1)) {
      case "endless": {
        const chunk = new TextEncoder().encode("a".repeat(16 * 1024));
        const body = new ReadableStream({
          pull(controller) {
            endless.chunks++;
            controller.enqueue(chunk);
          },
          cancel() {
            endless.cancelled = true;
          },
        });
        return new Response(body, { headers: { "Content-Type": "text/plain" } });
      }
      case "echo":
        return Response.json(Object.fromEntries(request.headers), {
          status: Number(url.searchParams.get("status") ?? 200),
        });
      case "redirect":
        return new Response(null, {
          status: 302,
          headers: { Location: `https://elsewhere.example/?t=${encodeURIComponent(token)}` },
        });
      case "status":
        return new Response("failed", {
          status: 502,
          statusText: token,
          headers: { "Content-Type": `text/plain; t=${token}` },
        });
      default:
        return Response.json({ method: request.method, url: request.url });
    }
  };
}

/** Tool calls that make the app quote the credential back. */
export const ECHOES: [string, { path: string; query?: Record<string, number> }][] = [
  ["in a 200 body", { path: "/echo" }],
  ["in a 500 body", { path: "/echo", query: { status: 500 } }],
  ["in a redirect's Location", { path: "/redirect" }],
  ["in the status text and content type", { path: "/status" }],
];

/** Paths that some server reads as leading out of the app's path. */
export const REFUSED_PATHS = [
  "/../admin",
  "/..;/admin",
  "/%2e%2e;/admin",
  "/.;/x",
  "/%2e%2e/admin",
  "/%252e%252e/admin",
  "/..%2fadmin",
  "/..%5cadmin",
  "/%c0%ae%c0%ae/admin",
  "/．．/admin",
  "/..／admin",
  "/.. /admin",
  "/.../admin",
  "/.\u200b./admin",
];

/** Paths that must keep working. */
export const ACCEPTED_PATHS = ["/pages/42", "/a.b/c", "/v1.2/x", "/wiki/Z%C3%BCrich"];

/** A piece of 12 or more consecutive characters of `secret` that `text` holds, if any. */
export function pieceOf(secret: string, text: string): string | undefined {
  for (let i = 0; i + 12 <= secret.length; i++) {
    if (text.includes(secret.slice(i, i + 12))) return secret.slice(i, i + 12);
  }
  return undefined;
}
