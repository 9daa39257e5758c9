import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { repoRoot, runCli } from "../support/processes.js";
import { e2eRoot, selfHostedProject } from "../support/project.js";

/**
 * Generates the self-hosted project once for every e2e file, through the
 * built CLI exactly as a user would (install included, git left out).
 */
export default async function setup() {
  if (!existsSync(join(repoRoot, "dist", "cli.js"))) throw new Error("dist/cli.js is missing: run npm run build (npm test does)");
  rmSync(e2eRoot, { recursive: true, force: true });
  mkdirSync(e2eRoot, { recursive: true });
  const started = Date.now();
  const result = await runCli(
    ["self-hosted", "--auth", "self-hosted", "--team", "acme", "--allow-domain", "example.com", "--no-git"],
    { cwd: e2eRoot },
  );
  if (result.code !== 0 || !existsSync(join(selfHostedProject, "node_modules", ".bin", "wrangler"))) {
    throw new Error(`generating the e2e project failed (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
  console.log(`e2e: generated and installed the self-hosted project in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
