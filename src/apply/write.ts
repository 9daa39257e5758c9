import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { UsageError } from "../errors.js";
import { exists, type FileSystem } from "../fs.js";
import type { FileMap } from "../render/render.js";

export type TargetState = "missing" | "empty" | "non-empty";

/** Entries that do not make a directory "non-empty": a fresh `git init` is a fine place to generate into. */
const IGNORABLE = new Set([".git"]);

export async function inspectTarget(fs: FileSystem, target: string): Promise<TargetState> {
  if (!(await exists(fs, target))) return "missing";
  if (!(await fs.stat(target)).isDirectory()) {
    throw new UsageError(`${JSON.stringify(target)} exists and is not a directory: choose another directory.`);
  }
  const entries = (await fs.readdir(target)).filter((entry) => !IGNORABLE.has(entry));
  return entries.length ? "non-empty" : "empty";
}

/** The non-empty directory rule (SPEC §3.2 --force), checked before anything is written. */
export async function checkTarget(fs: FileSystem, target: string, force: boolean): Promise<TargetState> {
  const state = await inspectTarget(fs, target);
  if (state === "non-empty" && !force) {
    throw new UsageError(
      `The directory ${JSON.stringify(target)} is not empty. Choose a new directory, or add --force to write into it ` +
        "(files of the same name are replaced; no other file is touched).",
    );
  }
  return state;
}

export interface WriteResult {
  created: string[];
  /** Files that existed (only possible with --force) and were replaced. */
  replaced: string[];
}

/**
 * Writes the project without ever leaving half of it behind: every file goes
 * to a staging folder beside the target first (same file system, so the
 * moves are renames), then into place. A new target appears in one rename.
 * Files already in the target are only ever replaced by a file of the same
 * path; nothing is deleted.
 */
export async function writeProject(fs: FileSystem, target: string, files: FileMap): Promise<WriteResult> {
  const state = await inspectTarget(fs, target);
  const staging = join(dirname(target), `.${basename(target)}.staging-${randomBytes(4).toString("hex")}`);
  const result: WriteResult = { created: [], replaced: [] };
  try {
    for (const [path, text] of files) {
      const file = join(staging, path);
      await fs.mkdir(dirname(file), { recursive: true });
      await fs.writeFile(file, text);
    }
    if (state === "missing") {
      await fs.mkdir(dirname(target), { recursive: true });
      await fs.rename(staging, target);
      result.created.push(...files.keys());
      return result;
    }
    for (const path of files.keys()) {
      const destination = join(target, path);
      (await exists(fs, destination) ? result.replaced : result.created).push(path);
      await fs.mkdir(dirname(destination), { recursive: true });
      await fs.rename(join(staging, path), destination);
    }
    return result;
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}
