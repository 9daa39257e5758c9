import type { ChildProcess } from "node:child_process";

export interface ExecResult {
  code: number;
  output: string;
}

/** Runs a program without a shell (arguments are never parsed by one). Passed in so steps can be tested. */
export type Exec = (command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) => Promise<ExecResult>;

/** Children still running, so Ctrl-C can wait for them before removing what they were writing into. */
const running = new Set<ChildProcess>();

// Loaded on the first run of a program: a --no-install --no-git run never needs it (SPEC §8).
let childProcess: Promise<typeof import("node:child_process")> | undefined;

export const exec: Exec = async (command, args, { cwd, env }) => {
  const { spawn } = await (childProcess ??= import("node:child_process"));
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    running.add(child);
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    // A missing program is an answer ("not installed"), not a crash.
    child.on("error", (error) => {
      running.delete(child);
      resolve({ code: 127, output: error.message });
    });
    child.on("close", (code) => {
      running.delete(child);
      resolve({ code: code ?? 1, output });
    });
  });
};

/** Stops every running child and waits (bounded) until they are gone. */
export async function stopChildren(timeoutMs = 5_000): Promise<void> {
  const children = [...running];
  for (const child of children) child.kill("SIGTERM");
  const gone = Promise.all(children.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once("close", resolve)))));
  await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
}
