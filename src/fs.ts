import * as nodeFs from "node:fs";

/**
 * The slice of node:fs/promises the generator uses. The real one is passed in
 * by the CLI; tests pass memfs's, so the core runs in memory.
 */
export interface FileSystem {
  readFile(path: string, encoding: "utf8"): Promise<string>;
  writeFile(path: string, data: string, options?: { mode?: number }): Promise<void>;
  mkdir(path: string, options: { recursive: true }): Promise<string | undefined>;
  /** Creates a new directory named `prefix` plus random characters, and returns its path. */
  mkdtemp(prefix: string): Promise<string>;
  readdir(path: string): Promise<string[]>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string, options: { recursive: true; force: true }): Promise<void>;
  stat(path: string): Promise<{ isDirectory(): boolean; mode: number }>;
  /** Like stat, but about a symbolic link itself: regenerate never follows one (SPEC §7). */
  lstat(path: string): Promise<{ isDirectory(): boolean; isFile(): boolean; isSymbolicLink(): boolean; mode: number }>;
  /** Where a symbolic link points, for messages that name it. */
  readlink(path: string): Promise<string>;
}

/**
 * The real file system: node:fs's synchronous calls behind the promise interface. A project is a
 * few dozen small files, and a call through the thread pool (what node:fs/promises does) costs
 * more than the work of writing one of them; the synchronous calls also keep Node from loading the
 * promise API's machinery at all. Each call still settles as a promise, with node:fs's own errors.
 */
export const nodeFileSystem: FileSystem = {
  readFile: async (path, encoding) => nodeFs.readFileSync(path, encoding),
  writeFile: async (path, data, options) => nodeFs.writeFileSync(path, data, options),
  mkdir: async (path, options) => nodeFs.mkdirSync(path, options),
  mkdtemp: async (prefix) => nodeFs.mkdtempSync(prefix),
  readdir: async (path) => nodeFs.readdirSync(path),
  rename: async (from, to) => nodeFs.renameSync(from, to),
  rm: async (path, options) => nodeFs.rmSync(path, options),
  stat: async (path) => nodeFs.statSync(path),
  lstat: async (path) => nodeFs.lstatSync(path),
  readlink: async (path) => nodeFs.readlinkSync(path),
};

export async function exists(fs: FileSystem, path: string): Promise<boolean> {
  try {
    await fs.stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}
