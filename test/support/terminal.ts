import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * A real terminal for a CLI under test: tmux on a private socket (its own
 * server, started with this process's environment), a screen to read, keys
 * to send, and the exit code once the command ends.
 */
export class Terminal {
  private readonly socket = `cma-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  private readonly exitFile: string;

  constructor(command: string[], options: { cwd: string; env: NodeJS.ProcessEnv }) {
    this.exitFile = join(options.cwd, "..", `${this.socket}.exit`);
    const quoted = command.map((part) => `'${part.replaceAll("'", "'\\''")}'`).join(" ");
    this.tmux(["new-session", "-d", "-s", "cli", "-x", "120", "-y", "50", `${quoted}; echo $? > '${this.exitFile}'; sleep 120`], options);
  }

  screen(): string {
    return this.tmux(["capture-pane", "-p", "-t", "cli"]);
  }

  /** Keys as tmux names them: text, "Enter", "Down", "Space", "C-c", "Escape", "BSpace". */
  press(...keys: string[]): void {
    this.tmux(["send-keys", "-t", "cli", ...keys]);
  }

  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.screen())) {
      if (Date.now() > deadline) throw new Error(`screen never matched ${pattern}:\n${this.screen()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async exitCode(timeoutMs = 30_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(this.exitFile)) {
      if (Date.now() > deadline) throw new Error(`the command did not exit:\n${this.screen()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return Number(readFileSync(this.exitFile, "utf8").trim());
  }

  close(): void {
    try {
      this.tmux(["kill-server"]);
    } catch {
      // already gone
    }
    execFileSync("rm", ["-f", this.exitFile]);
  }

  private tmux(args: string[], options?: { cwd: string; env: NodeJS.ProcessEnv }): string {
    return execFileSync("tmux", ["-L", this.socket, ...args], { encoding: "utf8", cwd: options?.cwd, env: options?.env });
  }
}

/** Whether tmux can be run here (.ci/run installs it; the terminal tests skip without it). */
export const hasTmux = (() => {
  try {
    execFileSync("tmux", ["-V"]);
    return true;
  } catch {
    return false;
  }
})();
