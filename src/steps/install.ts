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
