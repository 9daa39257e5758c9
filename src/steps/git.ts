import type { Exec } from "./exec.js";

export type GitOutcome = "committed" | "initialised" | "no-git" | "inside-repository";

/**
 * `git init` and a first commit of the files this run wrote (`generated`) and
 * the lock file its install wrote (`alsoIfPresent`), unless git is missing or
 * the project is already inside a repository (a monorepo: its owner decides
 * what to commit). Never `git add --all`: with --force the directory may hold
 * files of its own, and those are never staged. Nor is a generated file that
 * the directory's ignore rules (.gitignore files, .git/info/exclude, the
 * user's global excludes) exclude; `ignored` lists those. A commit that fails
 * (no user.name configured, say) leaves an initialised repository; that is
 * not an error of the run.
 */
export async function initialiseGit(
  exec: Exec,
  cwd: string,
  generated: readonly string[],
  alsoIfPresent: readonly string[] = [],
): Promise<{ outcome: GitOutcome; ignored: string[] }> {
  const outcome = (result: GitOutcome, ignored: string[] = []) => ({ outcome: result, ignored });
  if ((await exec("git", ["--version"], { cwd })).code !== 0) return outcome("no-git");
  if ((await exec("git", ["rev-parse", "--is-inside-work-tree"], { cwd })).code === 0) return outcome("inside-repository");
  if ((await exec("git", ["init", "--quiet"], { cwd })).code !== 0) return outcome("no-git");

  // Of the wanted paths, the ones git would add: untracked and not excluded by any ignore rule.
  // Literal pathspecs: a file name is never read as a pattern.
  const wanted = [...generated, ...alsoIfPresent];
  const listed = await exec("git", ["--literal-pathspecs", "ls-files", "--others", "--exclude-standard", "-z", "--", ...wanted], { cwd });
  if (listed.code !== 0) return outcome("initialised");
  const asked = new Set(wanted);
  const addable = new Set(listed.output.split("\0").filter((path) => asked.has(path)));
  const ignored = generated.filter((path) => !addable.has(path));
  if (!addable.size) return outcome("initialised", ignored);

  const added = await exec("git", ["--literal-pathspecs", "add", "--", ...addable], { cwd });
  if (added.code !== 0) return outcome("initialised", ignored);
  const committed = await exec("git", ["commit", "--quiet", "-m", "Initial commit from create-mcp-access"], { cwd });
  return outcome(committed.code === 0 ? "committed" : "initialised", ignored);
}
