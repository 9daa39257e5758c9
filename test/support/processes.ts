import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/**
 * The CLI as a user gets it: test/e2e/setup.ts packs the package with `npm pack` and installs the
 * tarball here, so a file missing from package.json "files" fails the e2e tests.
 */
export const installDir = join(repoRoot, ".tmp", "package");
export const installedPackage = join(installDir, "node_modules", "create-mcp-access");
export const cliBin = join(installDir, "node_modules", ".bin", "create-mcp-access");

/**
 * The environment a user's shell would give: no npm_config_* from the test runner's npm, no CI
 * unless asked, and no Cloudflare credentials or API address: a test reaches Cloudflare only
 * through the local fake, by passing its env explicitly.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith("npm_") || key.startsWith("CLOUDFLARE_") || key === "CI" || key === "VITEST" || key.startsWith("VITEST_")) continue;
    env[key] = value;
  }
  return { ...env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", ...extra };
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, bounded in time. */
export function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Result> {
  return new Promise((resolve, reject) => {
    // Its own process group, so a timeout stops what it started too (the CLI's npm install), not only it.
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? cleanEnv(), stdio: ["ignore", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL"); // the group is gone already
      }
      reject(new Error(`${command} ${args.join(" ")} timed out\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 300_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

export function runCli(args: string[], options: { cwd: string; env?: Record<string, string>; timeoutMs?: number }): Promise<Result> {
  return run(process.execPath, [cliBin, ...args], { cwd: options.cwd, env: cleanEnv({ CI: "true", ...options.env }), timeoutMs: options.timeoutMs ?? 300_000 });
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A long-running process in its own process group (wrangler starts esbuild
 * and workerd under it), with its output kept for assertions and a stop that
 * takes the whole group down.
 */
export interface Service {
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

export function startService(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Service {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? cleanEnv(), stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      signalGroup(child, "SIGTERM");
      const timeout = setTimeout(() => signalGroup(child, "SIGKILL"), 10_000);
      await exited;
      clearTimeout(timeout);
      signalGroup(child, "SIGKILL"); // anything left in the group (workerd) goes too
    },
  };
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

/** Polls until `url` answers at all (any status), bounded. */
export async function waitForHttp(url: string, service: Service, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (service.child.exitCode !== null) throw new Error(`process exited before ${url} answered:\n${service.output()}`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(2_000) });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${service.output()}`);
}
