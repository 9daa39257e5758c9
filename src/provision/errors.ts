import { isExpected, RuntimeFailure } from "../errors.js";
import { API_CALLS, type ApiCall, type ApiErrorLike, type CloudflareApi, isApiError, type Route, routeOf } from "./cloudflare-api.js";
import type { Redactor } from "./redact.js";

/** An API call that failed, with the call it was: the message can then name the permission it needs. */
export class ApiCallFailed extends Error {
  constructor(
    readonly route: Route,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = "ApiCallFailed";
  }
}

/** The API's answer inside an error, whether or not it has been tagged with its call. */
export function apiAnswerOf(error: unknown): ApiErrorLike | undefined {
  const inner = error instanceof ApiCallFailed ? error.cause : error;
  return isApiError(inner) ? inner : undefined;
}

/** The API with every failure tagged with its call. */
export function withCallInfo(api: CloudflareApi): CloudflareApi {
  const tagged = {} as Record<ApiCall, unknown>;
  for (const call of API_CALLS) {
    const method = (api[call] as (...args: unknown[]) => Promise<unknown>).bind(api);
    tagged[call] = async (...args: unknown[]) => {
      try {
        return await method(...args);
      } catch (error) {
        if (error instanceof ApiCallFailed || isExpected(error)) throw error;
        throw new ApiCallFailed(routeOf(call, args), error);
      }
    };
  }
  return tagged as CloudflareApi;
}

const AFTER = "What was done before is recorded in mcp-access.json: run provision again once this is fixed, and it carries on from there.";

/**
 * A failed step as the user should read it (SPEC §3.6, issue 5): which step,
 * what Cloudflare said, what to do. Anything that is not an API answer or an
 * expected error is a bug and goes up unchanged, with its stack.
 */
export function explainFailure(step: string, error: unknown, redactor: Redactor, apiBase: string, after = AFTER): unknown {
  if (isExpected(error)) {
    error.message = redactor.redact(error.message);
    return error;
  }
  if (!(error instanceof ApiCallFailed)) return error;
  const { route, cause } = error;
  const call = `${route.method} ${route.path}`;
  if (isApiError(cause) && cause.status !== undefined) {
    const said = cause.errors.length ? cause.errors.map((e) => `${e.message} (code ${e.code})`).join("; ") : cause.message;
    return new RuntimeFailure(redactor.redact(`${step} failed: ${call} answered ${cause.status}. Cloudflare said: ${said}.\n${advice(cause.status, route)} ${after}`));
  }
  // No answer at all: a connection refused, a timeout, a DNS failure.
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new RuntimeFailure(
    redactor.redact(`${step} failed: ${call} got no answer from ${apiBase} (${reason}). Check the network (and CLOUDFLARE_API_BASE_URL, if set). ${after}`),
  );
}

function advice(status: number, route: Route): string {
  if (status === 403) {
    return (
      `The API token is not allowed to do this: it needs the permission "${route.permission ?? "for this call"}" on the account. ` +
      "Edit the token at https://dash.cloudflare.com/profile/api-tokens and add it."
    );
  }
  if (status === 401) return "The API token was refused: check CLOUDFLARE_API_TOKEN (is it expired or revoked?).";
  if (status === 429 || status >= 500) return "Cloudflare is busy or failing right now: wait a little.";
  return "Fix what Cloudflare says (in the Cloudflare dashboard, or in mcp-access.json).";
}
