import type * as Clack from "@clack/prompts";
import kleur from "kleur";

/**
 * How the CLI talks to the user. Interactive runs use clack's look; every
 * other run (CI, pipes, tests) prints plain lines: progress to stdout,
 * problems to stderr, no spinners or escape codes to clutter a log.
 */
export interface Ui {
  intro(title: string): void;
  info(message: string): void;
  warn(message: string): void;
  success(message: string): void;
  error(message: string, details?: string[]): void;
  /** A titled block of lines, like next steps. */
  note(message: string, title: string): void;
  /** Runs a slow step with a spinner (interactive) or a start line (plain). */
  step<T>(label: string, work: () => Promise<T>): Promise<T>;
  outro(message: string): void;
}

type Write = (text: string) => void;

export function plainUi(out: Write, err: Write): Ui {
  return {
    intro: (title) => out(`${title}\n`),
    info: (message) => out(`${message}\n`),
    warn: (message) => err(`warning: ${message}\n`),
    success: (message) => out(`${message}\n`),
    note: (message, title) => out(`\n${title}:\n${message.replace(/^/gm, "  ")}\n\n`),
    error: (message, details = []) => err(`error: ${[message, ...details.map((line) => `  - ${line}`)].join("\n")}\n`),
    step: async (label, work) => {
      out(`${label}...\n`);
      return work();
    },
    outro: (message) => out(`${message}\n`),
  };
}

/** `clack` is passed in: run.ts loads it only when there is a terminal. */
export function clackUi(clack: typeof Clack): Ui {
  return {
    intro: (title) => clack.intro(kleur.inverse(` ${title} `)),
    info: (message) => clack.log.info(message),
    warn: (message) => clack.log.warn(message),
    success: (message) => clack.log.success(message),
    note: (message, title) => clack.note(message, title),
    error: (message, details = []) => clack.log.error([message, ...details.map((line) => `- ${line}`)].join("\n")),
    // Not clack's spinner: it puts the terminal in raw mode and turns Ctrl-C into exit code 0,
    // so the installer it wraps would never see the interrupt. This one leaves the terminal
    // alone: Ctrl-C is a SIGINT for the whole foreground group, which the CLI turns into 130.
    step: async (label, work) => {
      const frames = ["◒", "◐", "◓", "◑"];
      let frame = 0;
      const draw = () => process.stdout.write(`\r${kleur.magenta(frames[frame++ % frames.length]!)}  ${label}`);
      draw();
      const timer = setInterval(draw, 120);
      const clear = () => {
        clearInterval(timer);
        process.stdout.write("\r\x1b[2K");
      };
      try {
        const result = await work();
        clear();
        clack.log.success(label);
        return result;
      } catch (error) {
        clear();
        clack.log.error(label);
        throw error;
      }
    },
    outro: (message) => clack.outro(message),
  };
}
