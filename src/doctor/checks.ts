import { escapeInvisible } from "../untrusted.js";

/**
 * What doctor reports: one check per thing a user would look at, in the order
 * they would look, each with its fix. This shape is also `doctor --json`'s
 * (docs/lifecycle.md, "doctor"): keep it stable.
 */

export type CheckStatus = "ok" | "warn" | "fail" | "skip";

/** Public: what any MCP client sees at the URL. cloudflare: the recorded objects, read with the API token. */
export type CheckGroup = "public" | "cloudflare";

/** One field of a Cloudflare object that is not what provision would make it. */
export interface Drift {
  /** A dotted path in the object as the API answers it, e.g. `oauth_configuration.enabled`. */
  field: string;
  expected: unknown;
  /** undefined (absent from JSON) when the object lacks the field. */
  actual: unknown;
}

export interface Check {
  /** Stable, for scripts: `reachable`, `challenge`, `access-app`, `downstream:wiki`… */
  id: string;
  group: CheckGroup;
  status: CheckStatus;
  message: string;
  fix?: string;
  drift?: Drift[];
}

export const check = (group: CheckGroup, id: string, status: CheckStatus, message: string, fix?: string, drift?: Drift[]): Check => ({
  id,
  group,
  status,
  message,
  ...(fix ? { fix } : {}),
  ...(drift?.length ? { drift } : {}),
});

/** Exit 1 when a check failed; a warning or a skipped check alone is not a failure. */
export const anyFailed = (checks: readonly Check[]) => checks.some((c) => c.status === "fail");

const MAX_SHOWN = 200;

/**
 * Text from the network or the API, fit to print: control characters (which
 * could move the cursor, recolour or rewrite the terminal) and the
 * bidirectional overrides (which reorder what is read) escaped as \uXXXX, and
 * cut to 200 characters. Nothing from outside reaches a message any other way.
 */
export function escaped(text: string): string {
  const cut = text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
  return escapeInvisible(cut);
}

/** A value from outside, escaped and quoted: `"…"`. */
export function shown(value: unknown): string {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  return `"${escaped(text).replaceAll('"', '\\"')}"`;
}
