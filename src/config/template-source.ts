import { relative, resolve, sep } from "node:path";

/**
 * `--template` takes a source giget understands (`gh:org/repo/path`, a tarball URL, …) or a
 * folder on this machine, written as a path: `./x`, `../x`, `/x` (`C:\x` on Windows). Anything
 * that does not start like a path goes to giget.
 */
export function isLocalTemplate(source: string): boolean {
  return /^\.\.?([\\/]|$)/.test(source) || source.startsWith("/") || /^[A-Za-z]:[\\/]/.test(source);
}

/**
 * The source as mcp-access.json keeps it. `regenerate` and `provision` run in the project's root,
 * so a relative folder given to `create` (relative to where it ran) is stored relative to the
 * project, `/`-separated; an absolute folder and every giget source are stored as given.
 */
export function templateForProject(source: string, cwd: string, projectDir: string): string {
  if (!isLocalTemplate(source) || !/^\.\.?([\\/]|$)/.test(source)) return source;
  const path = relative(projectDir, resolve(cwd, source)).split(sep).join("/");
  if (path === "") return ".";
  return /^\.\.?(\/|$)/.test(path) || /^[A-Za-z]:\//.test(path) ? path : `./${path}`;
}

/** The folder a local source names, for a project in `projectDir`. */
export function localTemplateDir(source: string, projectDir: string): string {
  return resolve(projectDir, source);
}
