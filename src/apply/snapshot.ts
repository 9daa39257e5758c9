import { join } from "node:path";
import { CONFIG_FILE_NAME } from "../config/config.js";
import { UsageError } from "../errors.js";
import type { FileSystem } from "../fs.js";
import type { FileMap } from "../render/render.js";
import { isSafeRelativePath } from "./project-path.js";

/**
 * The snapshot: an exact copy of what the generator last wrote, one file per
 * generated file, committed with the project. It is the common ancestor of
 * the three-way merge (SPEC §6), so regenerate needs neither git history nor
 * the generator version that made the project.
 *
 * `src/index.ts` is kept as `.mcp-access/generated/src/index.ts.snapshot`. The
 * suffix keeps every tool from taking the copies for project files: no
 * second package.json or .gitignore, no test file picked up by a test runner,
 * no source file linted or type-checked. The folder's own .gitignore
 * re-includes everything, because the project's ignore rules (`.dev.vars.*`,
 * `dist/`…) would otherwise hide a copy from git.
 */
export const SNAPSHOT_DIR = ".mcp-access/generated";
const SUFFIX = ".snapshot";
const SNAPSHOT_GITIGNORE = `${SNAPSHOT_DIR}/.gitignore`;
const GITIGNORE_TEXT = `# What create-mcp-access last generated: regenerate merges your edits against it.
# Commit it with the project and do not edit it. The project's own ignore rules
# must not hide any of it, hence:
!*
`;

/** Generated files that have a snapshot: all but the user's own config file (and the snapshot itself). */
export function isSnapshotted(path: string): boolean {
  return path !== CONFIG_FILE_NAME && !path.startsWith(`${SNAPSHOT_DIR}/`);
}

export function snapshotPathOf(path: string): string {
  return `${SNAPSHOT_DIR}/${path}${SUFFIX}`;
}

/** The project files with the snapshot of them added: what `create` writes. */
export function withSnapshot(files: FileMap): FileMap {
  const all: FileMap = new Map(files);
  for (const [path, text] of files) if (isSnapshotted(path)) all.set(snapshotPathOf(path), text);
  all.set(SNAPSHOT_GITIGNORE, GITIGNORE_TEXT);
  return all;
}

/** The snapshot's own files that are not copies: written with it, never listed in it. */
export function snapshotSupportFiles(): FileMap {
  return new Map([[SNAPSHOT_GITIGNORE, GITIGNORE_TEXT]]);
}

/**
 * Reads the snapshot of the project at `root`: generated path → what was
 * generated. `undefined` when the project has none. Walks the folder without
 * following links; a link, or a name that is not a safe project path, means
 * the snapshot was tampered with, and nothing is done.
 */
export async function readSnapshot(fs: FileSystem, root: string): Promise<FileMap | undefined> {
  const top = join(root, SNAPSHOT_DIR);
  for (const dir of [".mcp-access", SNAPSHOT_DIR]) {
    const info = await fs.lstat(join(root, dir)).catch(() => undefined);
    if (!info) return undefined;
    if (info.isSymbolicLink() || !info.isDirectory()) throw tampered(`${dir} is not a folder`);
  }
  const snapshot: FileMap = new Map();
  const walk = async (relative: string): Promise<void> => {
    for (const name of (await fs.readdir(join(top, relative))).sort()) {
      const entry = relative ? `${relative}/${name}` : name;
      const info = await fs.lstat(join(top, entry));
      if (info.isSymbolicLink()) throw tampered(`${SNAPSHOT_DIR}/${entry} is a symbolic link`);
      if (info.isDirectory()) {
        await walk(entry);
      } else if (entry.endsWith(SUFFIX)) {
        const path = entry.slice(0, -SUFFIX.length);
        if (!isSafeRelativePath(path) || !isSnapshotted(path)) throw tampered(`${SNAPSHOT_DIR}/${entry} names no project file`);
        snapshot.set(path, await fs.readFile(join(top, entry), "utf8"));
      }
      // Anything else (the folder's .gitignore, an editor's backup file) is not part of the snapshot.
    }
  };
  await walk("");
  return snapshot;
}

function tampered(what: string): UsageError {
  return new UsageError(
    `The snapshot in ${SNAPSHOT_DIR}/ is not as create-mcp-access wrote it: ${what}. ` +
      `Nothing was changed. Restore the folder from git (git checkout -- ${SNAPSHOT_DIR}) and run regenerate again.`,
  );
}
