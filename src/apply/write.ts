import { basename, dirname, join } from "node:path";
import { UsageError } from "../errors.js";
import { exists, type FileSystem } from "../fs.js";
import type { FileMap } from "../render/render.js";
import { isSafeRelativePath } from "./project-path.js";

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
  // Templates are checked long before this (a --template is third-party content); this is the last line.
  for (const path of files.keys()) if (!isSafeRelativePath(path)) throw new Error(`refusing to write ${JSON.stringify(path)}: not a path inside the project`);
  const state = await inspectTarget(fs, target);
  await fs.mkdir(dirname(target), { recursive: true });
  // A fresh, unguessable name (mkdtemp): nothing else can be in it or be made to look like it.
  const staging = await fs.mkdtemp(join(dirname(target), `.${basename(target)}.staging-`));
  const result: WriteResult = { created: [], replaced: [] };
  try {
    // Folders first, then every file at once: one round of I/O rather than one per file.
    const folders = new Set([...files.keys()].map((path) => dirname(join(staging, path))));
    await Promise.all([...folders].map((folder) => fs.mkdir(folder, { recursive: true })));
    const written = await Promise.allSettled([...files].map(([path, text]) => fs.writeFile(join(staging, path), text)));
    // Every write has settled before the staging folder is removed, so none can land after it.
    const failed = written.find((outcome) => outcome.status === "rejected");
    if (failed) throw failed.reason;
    if (state === "missing") {
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
