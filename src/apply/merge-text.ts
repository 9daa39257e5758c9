import { diff3Merge } from "node-diff3";
import { eolOf, toLf, withEol } from "./line-endings.js";

/** The labels of a conflict block: what each side is, in the user's words. */
export const MARKERS = {
  yours: "<<<<<<< yours",
  before: "||||||| generated before",
  separator: "=======",
  now: ">>>>>>> generated now",
} as const;

export interface MergeInput {
  /** What the generator wrote last time (the snapshot). */
  before: string;
  /** The file on disk, with the user's edits. */
  yours: string;
  /** What the generator writes now. */
  now: string;
}

export interface MergeOutcome {
  /** The merged file, in the line endings `yours` had. */
  text: string;
  /** Conflict blocks written into `text`; 0 means a clean merge. */
  conflicts: number;
}

/**
 * Three-way line merge, like `git merge-file --diff3` with the labels above.
 * Lines, not words: node-diff3 splits on whitespace unless told otherwise.
 * CRLF is folded to LF first, or every line of a CRLF file would differ from
 * the LF render and the whole file would conflict.
 */
export function mergeText({ before, yours, now }: MergeInput): MergeOutcome {
  const regions = diff3Merge(toLf(yours), toLf(before), toLf(now), { stringSeparator: /\n/ });
  const lines: string[] = [];
  let conflicts = 0;
  for (const region of regions) {
    if (region.ok) lines.push(...region.ok);
    if (!region.conflict) continue;
    conflicts++;
    const { a, o, b } = region.conflict;
    lines.push(MARKERS.yours, ...a, MARKERS.before, ...o, MARKERS.separator, ...b, MARKERS.now);
  }
  return { text: withEol(lines.join("\n"), eolOf(yours)), conflicts };
}

/** The whole file as one conflict block, for a merge that cannot be done line by line. */
export function wholeFileConflict({ before, yours, now }: MergeInput): MergeOutcome {
  const block = (text: string) => (text === "" || text.endsWith("\n") ? text : `${text}\n`);
  const text = `${MARKERS.yours}\n${block(toLf(yours))}${MARKERS.before}\n${block(toLf(before))}${MARKERS.separator}\n${block(toLf(now))}${MARKERS.now}\n`;
  return { text: withEol(text, eolOf(yours)), conflicts: 1 };
}

/**
 * True when a file still holds conflict markers: an opening and a closing
 * marker line (ours, or git's own from a merge the user has not finished).
 */
export function hasConflictMarkers(text: string): boolean {
  return /^<{7}(?: |\r?$)/m.test(text) && /^>{7}(?: |\r?$)/m.test(text);
}
