import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cliBin, installDir, repoRoot, run } from "./processes.js";

/** What `npm pack --json` says about the tarball (the part the tests read). */
export interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: { path: string; size: number }[];
}

export const packResultFile = join(installDir, "pack.json");

/**
 * Packs the built package (`npm pack`, without its prepack build: `npm test` has just built it)
 * and installs the tarball into an empty project at installDir, as `npm create` would.
 */
export async function packAndInstall(): Promise<PackResult> {
  rmSync(installDir, { recursive: true, force: true });
  mkdirSync(installDir, { recursive: true });
  const packed = await run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", installDir], { cwd: repoRoot, timeoutMs: 120_000 });
  if (packed.code !== 0) throw new Error(`npm pack failed (exit ${packed.code}):\n${packed.stderr}`);
  const [result] = JSON.parse(packed.stdout) as PackResult[];
  writeFileSync(packResultFile, JSON.stringify(result, null, 2));
  writeFileSync(join(installDir, "package.json"), JSON.stringify({ name: "e2e-install", private: true }, null, 2));
  const installed = await run("npm", ["install", "--no-audit", "--no-fund", join(installDir, result!.filename)], { cwd: installDir, timeoutMs: 120_000 });
  if (installed.code !== 0 || !existsSync(cliBin)) {
    throw new Error(`installing the packed tarball failed (exit ${installed.code}):\n${installed.stdout}\n${installed.stderr}`);
  }
  return result!;
}
