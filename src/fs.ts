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

export async function exists(fs: FileSystem, path: string): Promise<boolean> {
  try {
    await fs.stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}
