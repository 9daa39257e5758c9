/**
 * One HTTP request of doctor's public checks, made the careful way: the
 * server is somebody's live deployment, or an attacker's page pretending to
 * be one. Never a redirect followed (a 3xx is itself the answer to judge),
 * a time limit per request, at most 64 KiB of a body read.
 */

export interface ProbeRequest {
  method: "GET" | "POST" | "OPTIONS";
  url: string;
  headers: Record<string, string>;
  body?: string;
}

export type ProbeAnswer =
  | { ok: true; status: number; headers: Headers; body: string }
  /** No HTTP answer: the name does not resolve, nothing listens, TLS failed, or it took too long. */
  | { ok: false; failure: "dns" | "refused" | "tls" | "timeout" | "network"; detail: string };

export type Probe = (request: ProbeRequest) => Promise<ProbeAnswer>;

export const MAX_BODY_BYTES = 64 * 1024;
export const TIMEOUT_MS = 10_000;

export function fetchProbe(timeoutMs = TIMEOUT_MS): Probe {
  return async (request) => {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const response = await fetch(request.url, {
        method: request.method,
        headers: request.headers,
        ...(request.body === undefined ? {} : { body: request.body }),
        redirect: "manual",
        signal,
      });
      return { ok: true, status: response.status, headers: response.headers, body: await readBounded(response, MAX_BODY_BYTES) };
    } catch (error) {
      return { ok: false, ...failureOf(error) };
    }
  };
}

/** The body up to `limit` bytes; the rest is never downloaded (the stream is cancelled). */
async function readBounded(response: Response, limit: number): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, limit));
}

const TLS_CODES = /^(ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_SSL_|HOSTNAME_MISMATCH)/;

function failureOf(error: unknown): { failure: Extract<ProbeAnswer, { ok: false }>["failure"]; detail: string } {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) return { failure: "timeout", detail: "no answer in time" };
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  const code = cause?.code ?? "";
  const detail = code || cause?.message || (error instanceof Error ? error.message : String(error));
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return { failure: "dns", detail };
  if (code === "ECONNREFUSED" || code === "ECONNRESET") return { failure: "refused", detail };
  if (TLS_CODES.test(code)) return { failure: "tls", detail };
  if (code === "UND_ERR_CONNECT_TIMEOUT" || code === "UND_ERR_HEADERS_TIMEOUT" || code === "ETIMEDOUT") return { failure: "timeout", detail };
  return { failure: "network", detail };
}
