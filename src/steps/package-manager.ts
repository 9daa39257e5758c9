import { join } from "node:path";
import { PACKAGE_MANAGERS, type PackageManager } from "../config/options.js";
import { exists, type FileSystem } from "../fs.js";

/**
 * The package manager that ran us: `npm create`, `pnpm create`, `yarn create`
 * and `bun create` each put their name first in npm_config_user_agent
 * ("pnpm/10.2.0 npm/? node/v22…"). Anything else means npm.
 */
export function detectPackageManager(userAgent: string | undefined): PackageManager {
  const name = userAgent?.split("/")[0];
  return (PACKAGE_MANAGERS as readonly string[]).includes(name ?? "") ? (name as PackageManager) : "npm";
}

/** The lock file each package manager's install writes beside package.json. */
export const LOCK_FILES: Record<PackageManager, string[]> = {
  npm: ["package-lock.json"],
  pnpm: ["pnpm-lock.yaml"],
  yarn: ["yarn.lock"],
  bun: ["bun.lock", "bun.lockb"],
};

/**
 * The package manager an existing project uses, for regenerate and provision to render the same
 * package-manager-specific files create did: the one whose lock file is beside package.json (create
 * commits it with the project), else pnpm when pnpm-workspace.yaml is there (a pnpm project before
 * its first install), else npm. Nothing else is recorded, so a project moved to another package
 * manager (its lock file replaced) is regenerated for that one.
 */
export async function projectPackageManager(fs: FileSystem, root: string): Promise<PackageManager> {
  const locked = new Set<PackageManager>();
  for (const pm of PACKAGE_MANAGERS) {
    for (const file of LOCK_FILES[pm]) if (await exists(fs, join(root, file))) locked.add(pm);
  }
  if (locked.size === 1) return [...locked][0]!;
  return (await exists(fs, join(root, "pnpm-workspace.yaml"))) ? "pnpm" : "npm";
}

/**
 * The major version of each package manager the generated project is tested with (the end-to-end
 * test installs these), which its CI workflow installs too. npm comes with Node.
 */
export const TESTED_RELEASES: Record<Exclude<PackageManager, "npm">, string> = { pnpm: "pnpm@12", yarn: "yarn@1", bun: "bun@1" };

/** How each package manager runs a package.json script, a dependency's command, and a CI install. */
interface Commands {
  /**
   * Runs a script, always with `run`: a script may share its name with a command of the package
   * manager's own, which the short form would run instead (`pnpm deploy` deploys a workspace
   * package, `bun test` is bun's test runner), never the project's `deploy` or `test`.
   */
  run: string;
  /** Put between a script and its arguments: only npm needs `--`. */
  args: string;
  exec: string;
  /** Installs exactly the lock file, failing if package.json and the lock file disagree. */
  ciInstall: string;
}

export const COMMANDS: Record<PackageManager, Commands> = {
  npm: { run: "npm run", args: " --", exec: "npx", ciInstall: "npm ci" },
  pnpm: { run: "pnpm run", args: "", exec: "pnpm exec", ciInstall: "pnpm install --frozen-lockfile" },
  yarn: { run: "yarn run", args: "", exec: "yarn", ciInstall: "yarn install --frozen-lockfile" },
  bun: { run: "bun run", args: "", exec: "bunx", ciInstall: "bun install --frozen-lockfile" },
};

/** How to run a dependency's command (`wrangler types`) with each package manager. */
export function runBin(pm: PackageManager, command: string): string {
  return `${COMMANDS[pm].exec} ${command}`;
}

/** How to run a package.json script with each package manager. */
export function runScript(pm: PackageManager, script: string): string {
  return `${COMMANDS[pm].run} ${script}`;
}
