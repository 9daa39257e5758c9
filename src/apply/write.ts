import { basename, dirname, join } from "node:path";
import { UsageError } from "../errors.js";
import { exists, type FileSystem } from "../fs.js";
import type { FileMap } from "../render/render.js";
import { inspectProjectPath, isSafeRelativePath } from "./project-path.js";

export type TargetState = "missing" | "empty" | "non-empty";

/** Entries that do not make a directory "non-empty": a fresh `git init` is a fine place to generate into. */
const IGNORABLE = new Set([".git"]);

export async function inspectTarget(fs: FileSystem, target: string): Promise<TargetState> {
  const info = await fs.lstat(target).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (!info) return "missing";
  // Everything would land wherever the link points: name that folder itself, knowingly.
  if (info.isSymbolicLink()) {
    throw new UsageError(
      `${JSON.stringify(target)} is a symbolic link (to ${JSON.stringify(await fs.readlink(target))}); create does not write through links. ` +
        "Give the folder it points to as the directory, or choose another directory.",
    );
  }
  if (!info.isDirectory()) {
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

/**
 * With --force the directory holds things of its own. A symbolic link at, or
 * on the way to, any path the project writes is refused before anything is
 * written (SPEC §7): moving a file into place follows links in its folders,
 * and a link can point anywhere, back into the project included. So is a
 * folder where a file goes, or a file where a folder goes, which would stop
 * the write half way. Links and files on other paths are left as they are.
 */
export async function assertNothingInTheWay(fs: FileSystem, target: string, paths: Iterable<string>): Promise<void> {
  const found = await Promise.all([...paths].map((path) => inspectProjectPath(fs, target, path)));
  const reasons = new Map<string, string>();
  for (const path of found) if (path.state === "blocked") reasons.set(path.at, path.reason);
  if (!reasons.size) return;
  throw new UsageError(
    `Cannot write the project into ${JSON.stringify(target)}: ${[...reasons.values()].join(", ")}. ` +
      "create never writes through a symbolic link (it could lead out of the project) and never replaces a folder with a file. " +
      "Remove the link or move that path aside (a real folder in place of a linked one is fine), or choose another directory.",
  );
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
  if (state !== "missing") await assertNothingInTheWay(fs, target, files.keys());
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
