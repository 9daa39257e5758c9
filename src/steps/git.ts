import type { Exec } from "./exec.js";

export type GitOutcome = "committed" | "initialised" | "no-git" | "inside-repository";

/**
 * `git init` and a first commit, unless git is missing or the project is
 * already inside a repository (a monorepo: its owner decides what to commit).
 * A commit that fails (no user.name configured, say) leaves an initialised
 * repository; that is not an error of the run.
 */
export async function initialiseGit(exec: Exec, cwd: string): Promise<GitOutcome> {
  if ((await exec("git", ["--version"], { cwd })).code !== 0) return "no-git";
  if ((await exec("git", ["rev-parse", "--is-inside-work-tree"], { cwd })).code === 0) return "inside-repository";
  if ((await exec("git", ["init", "--quiet"], { cwd })).code !== 0) return "no-git";
  const added = await exec("git", ["add", "--all"], { cwd });
  if (added.code !== 0) return "initialised";
  const committed = await exec("git", ["commit", "--quiet", "-m", "Initial commit from create-mcp-access"], { cwd });
  return committed.code === 0 ? "committed" : "initialised";
}
