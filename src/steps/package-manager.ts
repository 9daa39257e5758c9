import { PACKAGE_MANAGERS, type PackageManager } from "../config/options.js";

/**
 * The package manager that ran us: `npm create`, `pnpm create`, `yarn create`
 * and `bun create` each put their name first in npm_config_user_agent
 * ("pnpm/10.2.0 npm/? node/v22…"). Anything else means npm.
 */
export function detectPackageManager(userAgent: string | undefined): PackageManager {
  const name = userAgent?.split("/")[0];
  return (PACKAGE_MANAGERS as readonly string[]).includes(name ?? "") ? (name as PackageManager) : "npm";
}

/** How to run a dependency's command (`wrangler types`) with each package manager. */
export function runBin(pm: PackageManager, command: string): string {
  return `${{ npm: "npx", pnpm: "pnpm exec", yarn: "yarn", bun: "bunx" }[pm]} ${command}`;
}

/** How to run a package.json script with each package manager. */
export function runScript(pm: PackageManager, script: string): string {
  return pm === "npm" ? `npm run ${script}` : `${pm} ${script}`;
}
