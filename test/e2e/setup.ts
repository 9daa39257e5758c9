import { existsSync, mkdirSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { packAndInstall } from "../support/package.js";
import { repoRoot, runCli } from "../support/processes.js";
import { e2eRoot, saasProject, selfHostedProject } from "../support/project.js";

/**
 * Generates the projects every e2e file shares, once, through the built CLI
 * exactly as a user would (install included, git left out). The two installs
 * run side by side: with a warm npm cache each takes seconds, with a cold one
 * they share the downloads.
 */
export default async function setup() {
  if (!existsSync(join(repoRoot, "dist", "cli.js"))) throw new Error("dist/cli.js is missing: run npm run build (npm test does)");
  rmSync(e2eRoot, { recursive: true, force: true });
  mkdirSync(e2eRoot, { recursive: true });
  // Every e2e test runs the CLI installed from npm pack's tarball, as a user gets it (test/support/package.ts).
  const packed = await packAndInstall();
  console.log(`e2e: packed ${packed.filename} (${packed.entryCount} files, ${(packed.unpackedSize / 1000).toFixed(0)} kB) and installed it`);
  const started = Date.now();
  // With the tests feature (the default, named here because project-tests.test.ts reuses these
  // installs for its projects): its devDependencies are in, and `npm run typecheck` checks its tests.
  await Promise.all([
    generate(selfHostedProject, ["--auth", "self-hosted", "--team", "acme", "--allow-domain", "example.com", "--features", "tests,lint", "--no-git"]),
    generate(saasProject, ["--auth", "saas", "--team", "acme", "--allow-domain", "example.com", "--features", "tests,lint", "--no-git"]),
  ]);
  console.log(`e2e: generated and installed the self-hosted and saas projects in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

async function generate(dir: string, options: string[]) {
  const result = await runCli([basename(dir), ...options], { cwd: e2eRoot });
  if (result.code !== 0 || !existsSync(join(dir, "node_modules", ".bin", "wrangler"))) {
    throw new Error(`generating the e2e project ${basename(dir)} failed (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
}
