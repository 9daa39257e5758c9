import * as clack from "@clack/prompts";
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
    error: (message, details = []) => err(`error: ${[message, ...details.map((line) => `  - ${line}`)].join("\n")}\n`),
    step: async (label, work) => {
      out(`${label}...\n`);
      return work();
    },
    outro: (message) => out(`${message}\n`),
  };
}

export function clackUi(): Ui {
  return {
    intro: (title) => clack.intro(kleur.inverse(` ${title} `)),
    info: (message) => clack.log.info(message),
    warn: (message) => clack.log.warn(message),
    success: (message) => clack.log.success(message),
    error: (message, details = []) => clack.log.error([message, ...details.map((line) => `- ${line}`)].join("\n")),
    step: async (label, work) => {
      const spinner = clack.spinner();
      spinner.start(label);
      try {
        const result = await work();
        spinner.stop(label);
        return result;
      } catch (error) {
        spinner.error(label);
        throw error;
      }
    },
    outro: (message) => clack.outro(message),
  };
}
