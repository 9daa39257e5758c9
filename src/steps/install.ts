import { join } from "node:path";
import { RuntimeFailure } from "../errors.js";
import type { PackageManager } from "../config/options.js";
import type { Exec } from "./exec.js";

export async function installDependencies(exec: Exec, pm: PackageManager, cwd: string): Promise<void> {
  const result = await exec(pm, ["install"], { cwd });
  if (result.code === 0) return;
  const tail = result.output.trim().split("\n").slice(-15).join("\n");
  throw new RuntimeFailure(
    `${pm} install failed (exit ${result.code}). The project is written; fix the problem and run "${pm} install" in it.\n${tail}`,
  );
}

/**
 * `wrangler types` writes worker-configuration.d.ts (the Env type and the
 * Workers runtime types), so the editor understands the project before the
 * first `npm run typecheck` (in a JavaScript project, only the editor reads
 * it, through jsconfig.json). Not fatal: typecheck writes it again anyway.
 */
export async function generateWorkerTypes(exec: Exec, cwd: string): Promise<boolean> {
  const result = await exec(join(cwd, "node_modules", ".bin", "wrangler"), ["types"], {
    cwd,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  return result.code === 0;
}
