import type { FileMap } from "../render/render.js";
import { eolOf, sameText as same, toLf, withEol } from "./line-endings.js";
import { JSON_MERGED_FILES, mergeJson } from "./merge-json.js";
import { type MergeInput, type MergeOutcome, mergeText } from "./merge-text.js";

/**
 * What regenerate does to each file (SPEC §6), decided from three versions:
 * the snapshot (what was generated last), the file on disk (the user's), and
 * the new render. Pure: no I/O, so every case is tested in memory.
 */
export type ChangeKind = "created" | "updated" | "merged" | "conflict" | "deleted" | "kept" | "unchanged";

export interface Change {
  path: string;
  kind: ChangeKind;
  /** Why, for the change list. */
  note?: string;
  /** The file on disk now; undefined when there is none. */
  current?: string;
  /** What to do to the file: new contents, `null` to delete it, undefined to leave it alone. */
  write?: string | null;
  /** What to do to its snapshot entry: new contents, `null` to drop it, undefined to leave it. */
  snapshot?: string | null;
  /** Conflict blocks in `write`. */
  conflicts?: number;
}

export interface PlanInput {
  /** The snapshot: path → what was generated last. */
  snapshot: ReadonlyMap<string, string>;
  /** The new render, without the user's config file. */
  next: FileMap;
  /** Readable files on disk, for every path in the snapshot or the render that exists. */
  disk: ReadonlyMap<string, string>;
  /** Paths regenerate must not touch (a link, a folder), with the reason. */
  blocked?: ReadonlyMap<string, string>;
}

export function planRegeneration({ snapshot, next, disk, blocked = new Map() }: PlanInput): Change[] {
  const paths = [...new Set([...next.keys(), ...snapshot.keys()])].sort();
  const renamed = planRenames({ snapshot, next, disk, blocked });
  return paths.map((path) => {
    const reason = blocked.get(path);
    if (reason !== undefined) return { path, kind: "kept", note: `not touched: ${reason}` };
    return renamed.get(path) ?? planFile(path, snapshot.get(path), disk.get(path), next.get(path));
  });
}

/**
 * The file another language gives the same part of the project: `src/index.ts` ↔ `src/index.js`,
 * `.mts` ↔ `.mjs`, `tsconfig.json` ↔ `jsconfig.json`, also in a folder (not `.d.ts` files, which
 * both languages use).
 */
export function languageTwin(path: string): string | undefined {
  const config = /^(.*\/)?([tj])sconfig\.json$/.exec(path);
  if (config) return `${config[1] ?? ""}${config[2] === "t" ? "j" : "t"}sconfig.json`;
  const match = /^(.+)\.(m?)([tj])s$/.exec(path);
  if (!match || /\.d\.m?ts$/.test(path)) return undefined;
  return `${match[1]}.${match[2]}${match[3] === "t" ? "j" : "t"}s`;
}

/**
 * `"lang"` switched in mcp-access.json: each generated file whose language twin is generated now
 * instead (`src/server.ts` → `src/server.js`) is renamed, and the user's edits go with it. The new
 * file is merged three ways like any other (before: the old file's snapshot, yours: the old file,
 * now: the new render), so edits the switch does not touch are kept and overlapping ones are
 * marked; the old file then goes, since everything the user changed in it is in the new one. Left
 * beside it, an edited `server.ts` would win over `server.js` (the bundler resolves `./server` to
 * .ts first), and would run instead of the code the project now has. A carried-over edit may still
 * be TypeScript, and the change list says to check. Not a rename: a twin already on disk (the
 * user's own file), or a blocked path.
 */
function planRenames({ snapshot, next, disk, blocked = new Map() }: PlanInput): Map<string, Change> {
  const changes = new Map<string, Change>();
  for (const [from, before] of snapshot) {
    const to = languageTwin(from);
    if (!to || next.has(from) || !next.has(to) || snapshot.has(to) || disk.has(to) || blocked.has(from) || blocked.has(to)) continue;
    const now = next.get(to)!;
    const current = disk.get(from);
    if (current === undefined) {
      changes.set(from, { path: from, kind: "unchanged", snapshot: null });
      changes.set(to, { path: to, kind: "kept", snapshot: now, note: `you deleted ${from}: it stays deleted` });
    } else if (same(current, before)) {
      changes.set(from, { path: from, kind: "deleted", current, write: null, snapshot: null, note: `replaced by ${to}` });
      changes.set(to, { path: to, kind: "created", write: now, snapshot: now, note: `replaces ${from}` });
    } else {
      const merged = merge(to, { before, yours: current, now });
      const language = /\.m?js$/.test(to) ? "JavaScript" : /\.m?ts$/.test(to) ? "TypeScript" : undefined;
      const carried = `your edits to ${from} carried over${language ? `: check that they are ${language}` : ""}`;
      changes.set(from, { path: from, kind: "deleted", current, write: null, snapshot: null, note: `replaced by ${to}, your edits with it` });
      changes.set(
        to,
        merged.conflicts
          ? { path: to, kind: "conflict", write: merged.text, snapshot: now, conflicts: merged.conflicts, note: carried }
          : { path: to, kind: "merged", write: merged.text, snapshot: now, note: carried },
      );
    }
  }
  return changes;
}

/** True when applying the change writes or deletes anything, in the project or the snapshot. */
export function changesAnything(change: Change): boolean {
  return change.write !== undefined || change.snapshot !== undefined;
}

function planFile(path: string, before: string | undefined, current: string | undefined, now: string | undefined): Change {
  // The snapshot entry to record: the new render, only when it differs from the one there
  // (line endings aside: git may have checked the snapshot out with CRLF).
  const record = now !== undefined && (before === undefined || !same(before, now)) ? now : undefined;

  if (before === undefined) {
    // Generated now for the first time.
    if (current === undefined) return { path, kind: "created", write: now!, snapshot: now! };
    if (same(current, now!)) return { path, kind: "unchanged", current, snapshot: now! };
    return { path, kind: "kept", current, note: "a file of yours has this name, so the generated one was not written; rename yours to get it" };
  }

  if (now === undefined) {
    // No longer generated: removed only if the user never edited it.
    if (current === undefined) return { path, kind: "unchanged", snapshot: null };
    if (same(current, before)) return { path, kind: "deleted", current, write: null, snapshot: null, note: "no longer generated" };
    return { path, kind: "kept", current, snapshot: null, note: "no longer generated, but you edited it: it is yours now" };
  }

  if (current === undefined) return { path, kind: "kept", snapshot: record, note: "you deleted it: it stays deleted" };
  if (same(current, now)) return { path, kind: "unchanged", current, snapshot: record };
  if (same(current, before)) return { path, kind: "updated", current, write: keepLineEndings(now, current), snapshot: record };
  if (same(before, now)) return { path, kind: "unchanged", current, snapshot: record }; // only the user's edits: nothing to bring in

  const merged = merge(path, { before, yours: current, now });
  if (merged.conflicts) {
    return { path, kind: "conflict", current, write: merged.text, snapshot: record, conflicts: merged.conflicts };
  }
  if (merged.text === current) return { path, kind: "unchanged", current, snapshot: record };
  return { path, kind: "merged", current, write: merged.text, snapshot: record, note: "your edits kept" };
}

function merge(path: string, input: MergeInput): MergeOutcome {
  return JSON_MERGED_FILES.has(path) ? mergeJson(input) : mergeText(input);
}

/** A file the user never edited but has with CRLF (a Windows checkout) stays CRLF. */
function keepLineEndings(text: string, current: string): string {
  return withEol(toLf(text), eolOf(current));
}
