import { spawn } from "node:child_process";

export interface ExecResult {
  code: number;
  output: string;
}

/** Runs a program without a shell (arguments are never parsed by one). Passed in so steps can be tested. */
export type Exec = (command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) => Promise<ExecResult>;

export const exec: Exec = (command, args, { cwd, env }) =>
  new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    // A missing program is an answer ("not installed"), not a crash.
    child.on("error", (error) => resolve({ code: 127, output: error.message }));
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
