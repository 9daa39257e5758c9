import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { repoRoot, runCli } from "../support/processes.js";
import { e2eRoot, saasProject, selfHostedProject } from "../support/project.js";

/**
 * Generates each mode's project once for every e2e file, through the built
 * CLI exactly as a user would (install included, git left out). The two
 * installs run side by side.
 */
export default async function setup() {
  if (!existsSync(join(repoRoot, "dist", "cli.js"))) throw new Error("dist/cli.js is missing: run npm run build (npm test does)");
  rmSync(e2eRoot, { recursive: true, force: true });
  mkdirSync(e2eRoot, { recursive: true });
  const started = Date.now();
  await Promise.all(
    [
      { dir: selfHostedProject, args: ["self-hosted", "--auth", "self-hosted"] },
      { dir: saasProject, args: ["saas", "--auth", "saas"] },
    ].map(async ({ dir, args }) => {
      const result = await runCli([...args, "--team", "acme", "--allow-domain", "example.com", "--no-git"], { cwd: e2eRoot });
      if (result.code !== 0 || !existsSync(join(dir, "node_modules", ".bin", "wrangler"))) {
        throw new Error(`generating the e2e project ${dir} failed (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
      }
    }),
  );
  console.log(`e2e: generated and installed the self-hosted and saas projects in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
