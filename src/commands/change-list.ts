import { createTwoFilesPatch, FILE_HEADERS_ONLY } from "diff";
import { toLf } from "../apply/line-endings.js";
import { type Change, changesAnything } from "../apply/plan.js";
import { SNAPSHOT_DIR } from "../apply/snapshot.js";

/**
 * The change list regenerate prints: one line per file it writes, deletes or
 * deliberately leaves alone, with why. Files that stay as they are and need
 * nothing are not listed.
 */
export function describeChanges(name: string, changes: readonly Change[]): string {
  const listed = changes.filter((change) => change.kind !== "unchanged");
  const snapshotOnly = changes.filter((change) => change.kind === "unchanged" && changesAnything(change)).length;
  const pending = changes.filter(changesAnything).length;
  const lines = [pending ? `Regenerating ${name} from mcp-access.json:` : `${name} is up to date with mcp-access.json: nothing to change.`];
  for (const change of listed) lines.push(`  ${change.kind.padEnd(9)} ${change.path}${noteOf(change)}`);
  if (snapshotOnly) {
    lines.push(`  snapshot  ${snapshotOnly} entr${snapshotOnly === 1 ? "y" : "ies"} in ${SNAPSHOT_DIR}/ brought up to date (no project file changes)`);
  }
  return `${lines.join("\n")}\n`;
}

function noteOf(change: Change): string {
  if (change.kind === "conflict") {
    return `  (${change.conflicts} conflict${change.conflicts === 1 ? "" : "s"}: marked in the file${change.note ? `; ${change.note}` : ""})`;
  }
  return change.note ? `  (${change.note})` : "";
}

/** Unified diffs of every project file that would change: on disk now → after regenerate. */
export function unifiedDiffs(changes: readonly Change[]): string {
  return changes
    .filter((change) => change.write !== undefined)
    .map((change) =>
      createTwoFilesPatch(
        change.current === undefined ? "/dev/null" : `a/${change.path}`,
        change.write === null ? "/dev/null" : `b/${change.path}`,
        toLf(change.current ?? ""),
        toLf(change.write ?? ""),
        undefined,
        undefined,
        { headerOptions: FILE_HEADERS_ONLY },
      ),
    )
    .join("");
}
