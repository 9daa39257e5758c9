import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import type { FileSystem } from "../fs.js";
import type { Change } from "./plan.js";
import { snapshotPathOf, snapshotSupportFiles } from "./snapshot.js";

/**
 * Carries out a regeneration plan. Every new file is written to a staging
 * folder inside the project first (same file system, so putting it in place
 * is a rename, atomic per file); a failed write leaves the project as it
 * was. Project files go first and the snapshot last, so a run stopped half
 * way leaves the old snapshot, and the next run merges against it again
 * (files already updated then match the new render and stay as they are).
 */
export async function applyChanges(
  fs: FileSystem,
  root: string,
  changes: readonly Change[],
  /** Permission bits of the files on disk, kept when a file is replaced (an executable script stays executable). */
  modes: ReadonlyMap<string, number> = new Map(),
): Promise<void> {
  const files = new Map<string, string>();
  const deletions: string[] = [];
  const snapshot = new Map<string, string>();
  const snapshotDeletions: string[] = [];
  for (const change of changes) {
    if (typeof change.write === "string") files.set(change.path, change.write);
    else if (change.write === null) deletions.push(change.path);
    if (typeof change.snapshot === "string") snapshot.set(snapshotPathOf(change.path), change.snapshot);
    else if (change.snapshot === null) snapshotDeletions.push(snapshotPathOf(change.path));
  }
  if (snapshot.size || snapshotDeletions.length) for (const [path, text] of snapshotSupportFiles()) snapshot.set(path, text);

  const staging = join(root, ".mcp-access", `.staging-${randomBytes(4).toString("hex")}`);
  try {
    for (const [path, text] of [...files, ...snapshot]) {
      const file = join(staging, path);
      await fs.mkdir(dirname(file), { recursive: true });
      await fs.writeFile(file, text, modes.has(path) ? { mode: modes.get(path)! } : undefined);
    }
    await moveIntoPlace(fs, staging, root, files.keys());
    for (const path of deletions) await remove(fs, root, path);
    await moveIntoPlace(fs, staging, root, snapshot.keys());
    for (const path of snapshotDeletions) await remove(fs, root, path);
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

async function moveIntoPlace(fs: FileSystem, staging: string, root: string, paths: Iterable<string>): Promise<void> {
  for (const path of paths) {
    await fs.mkdir(dirname(join(root, path)), { recursive: true });
    await fs.rename(join(staging, path), join(root, path));
  }
}

/** Deletes a generated file, then the folders it leaves empty (never the project root). */
async function remove(fs: FileSystem, root: string, path: string): Promise<void> {
  await fs.rm(join(root, path), { recursive: true, force: true });
  for (let dir = dirname(path); dir !== "."; dir = dirname(dir)) {
    const entries = await fs.readdir(join(root, dir)).catch(() => undefined);
    if (!entries || entries.length) return;
    await fs.rm(join(root, dir), { recursive: true, force: true });
  }
}
