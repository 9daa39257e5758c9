import { join } from "node:path";
import type { FileSystem } from "../fs.js";
import type { FileMap } from "../render/render.js";
import { inspectProjectPath } from "./project-path.js";

const KEPT_HEADING = `
# Kept from the .gitignore that was here before create-mcp-access. These rules come last, so
# whatever they decide about a path stands: nothing they excluded is ever committed.
`;

/**
 * Our .gitignore followed by every line of the user's, unchanged. Git lets the
 * last matching rule decide, so with theirs last every path they matched keeps
 * their answer; ours only decide paths theirs never mentioned. A file that
 * already starts with ours was merged by an earlier run and stays as it is.
 */
export function mergeGitignore(ours: string, theirs: string): string {
  if (theirs.startsWith(ours)) return theirs;
  return `${ours}${KEPT_HEADING}${theirs.endsWith("\n") ? theirs : `${theirs}\n`}`;
}

/**
 * `create --force` into a directory with a .gitignore of its own: the file
 * to write keeps every rule of it (SPEC §7). The snapshot keeps what was
 * generated, so regenerate treats their lines as the user's edit and keeps
 * them too. Returns whether there was one to keep.
 */
export async function keepExistingIgnoreRules(fs: FileSystem, target: string, files: FileMap): Promise<boolean> {
  const ours = files.get(".gitignore");
  if (ours === undefined || (await inspectProjectPath(fs, target, ".gitignore")).state !== "file") return false;
  files.set(".gitignore", mergeGitignore(ours, await fs.readFile(join(target, ".gitignore"), "utf8")));
  return true;
}
