import { join } from "node:path";
import { UsageError } from "../errors.js";
import type { FileSystem } from "../fs.js";

/**
 * Paths regenerate reads, writes or deletes come from the snapshot on disk
 * (which anyone can edit) and from a template manifest. Each must stay
 * inside the project (SPEC §7): relative, `/`-separated, no `.` or `..`
 * segment, and no symbolic link on the way to it.
 */
export function isSafeRelativePath(path: string): boolean {
  if (path === "" || path.startsWith("/") || /[\\\0]/.test(path) || /^[a-zA-Z]:/.test(path)) return false;
  return path.split("/").every((segment) => segment !== "" && segment !== "." && segment !== "..");
}

export function assertSafeRelativePath(path: string, where: string): void {
  if (!isSafeRelativePath(path)) {
    throw new UsageError(
      `${JSON.stringify(path)} in ${where} is not a path inside the project (it must be relative, with no "..", "." or empty part). ` +
        "Restore the file list from git, or re-create the project.",
    );
  }
}

/** A project file as regenerate may use it. */
export type ProjectFile =
  | { state: "missing" }
  | { state: "file"; text: string; mode: number }
  /** Something regenerate will not touch: a link, a directory where a file should be. */
  | { state: "blocked"; reason: string };

/** What is at `root/path`, found without following links. */
export type PathState =
  | { state: "missing" }
  | { state: "file"; mode: number }
  /** A symbolic link at the path or on the way to it (`at`), or something else where a file or folder is expected. */
  | { state: "blocked"; at: string; link: boolean; reason: string };

/**
 * Looks at `root/path` one segment at a time with lstat, so a symbolic link
 * anywhere from the first segment to the file itself is found, not followed:
 * whatever it points to (out of the project, back into it, nowhere) is never
 * reached through it.
 */
export async function inspectProjectPath(fs: FileSystem, root: string, path: string): Promise<PathState> {
  const segments = path.split("/");
  for (let i = 1; i <= segments.length; i++) {
    const partial = segments.slice(0, i).join("/");
    let info: Awaited<ReturnType<FileSystem["lstat"]>>;
    try {
      info = await fs.lstat(join(root, partial));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ENOTDIR") return { state: "missing" };
      throw error;
    }
    if (info.isSymbolicLink()) return { state: "blocked", at: partial, link: true, reason: `${partial} is a symbolic link` };
    const last = i === segments.length;
    if (!last && !info.isDirectory()) return { state: "blocked", at: partial, link: false, reason: `${partial} is a file where a folder is expected` };
    if (last && !info.isFile()) return { state: "blocked", at: partial, link: false, reason: `${partial} is not a regular file` };
    if (last) return { state: "file", mode: info.mode & 0o777 };
  }
  return { state: "missing" };
}

/**
 * Reads `root/path` without following links: a symbolic link at the path or
 * on the way to it makes the file "blocked", so a link pointing out of the
 * project can never make regenerate read, write or delete outside it.
 */
export async function readProjectFile(fs: FileSystem, root: string, path: string): Promise<ProjectFile> {
  const found = await inspectProjectPath(fs, root, path);
  if (found.state === "blocked") return { state: "blocked", reason: found.link ? `${found.reason}; regenerate does not follow links` : found.reason };
  if (found.state === "missing") return found;
  return { state: "file", text: await fs.readFile(join(root, path), "utf8"), mode: found.mode };
}
