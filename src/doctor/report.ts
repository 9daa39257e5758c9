import { type Check, type CheckGroup, anyFailed, escaped } from "./checks.js";

/** What doctor looked at, for the heading and the JSON. */
export interface DoctorSubject {
  name: string;
  auth: string;
  /** The origin the public checks asked; undefined when none is known. */
  url?: string;
}

const GROUP_TITLES: Record<CheckGroup, string> = {
  public: "What any MCP client sees",
  cloudflare: "Cloudflare objects (read with CLOUDFLARE_API_TOKEN)",
};
const MARKS = { ok: "ok  ", warn: "warn", fail: "FAIL", skip: "skip" } as const;

/** The findings for a person: grouped, in the order they were checked, each failure with its fix and its drift. */
export function textReport(subject: DoctorSubject, checks: readonly Check[]): string {
  const lines = [`doctor: ${subject.name} (${subject.auth})${subject.url ? ` at ${subject.url}` : ""}`];
  for (const group of ["public", "cloudflare"] as const) {
    const inGroup = checks.filter((c) => c.group === group);
    if (!inGroup.length) continue;
    lines.push("", GROUP_TITLES[group]);
    for (const c of inGroup) {
      lines.push(`  ${MARKS[c.status]}  ${c.id}: ${c.message}`);
      for (const d of c.drift ?? []) lines.push(`        ${d.field}: expected ${valueOf(d.expected)}, found ${valueOf(d.actual)}`);
      if (c.fix && c.status !== "ok") lines.push(`        fix: ${c.fix}`);
    }
  }
  const failed = checks.filter((c) => c.status === "fail").length;
  lines.push("", anyFailed(checks) ? `${failed} problem${failed === 1 ? "" : "s"} found.` : "All well.");
  return `${lines.join("\n")}\n`;
}

/** A drift value, escaped: it may come from the API. */
const valueOf = (value: unknown) => (value === undefined ? "nothing" : escaped(JSON.stringify(value)));

/** `doctor --json`: a stable shape for CI (docs/lifecycle.md, "doctor"). */
export function jsonReport(subject: DoctorSubject, checks: readonly Check[]): string {
  const json = JSON.stringify({ version: 1, name: subject.name, auth: subject.auth, url: subject.url ?? null, ok: !anyFailed(checks), checks }, null, 2);
  // JSON.stringify leaves C1 controls and bidirectional overrides from the API raw; as \u escapes the
  // JSON means the same, and a CI log that shows it cannot be rewritten by them.
  return `${json.replace(/[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`)}\n`;
}
