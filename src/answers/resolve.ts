import { basename, resolve } from "node:path";
import { FLAG_OF, normaliseWorkerName, type Origins, type RawAnswers } from "../config/validate.js";
import { UsageError } from "../errors.js";

/** Where the project goes when nobody said (`--yes` with no directory). */
export const DEFAULT_DIRECTORY = "my-mcp-server";

export interface Layer {
  answers: RawAnswers;
  origins: Origins;
}

/** Later layers win: `merge(file, flags)` lets flags override the config file. */
export function merge(...layers: Layer[]): Layer {
  const merged: Layer = { answers: {}, origins: {} };
  for (const layer of layers) {
    for (const [field, value] of Object.entries(layer.answers) as [keyof RawAnswers, unknown][]) {
      if (value === undefined) continue;
      merged.answers[field] = value;
      merged.origins[field] = layer.origins[field];
    }
  }
  return merged;
}

/**
 * Answers a non-interactive run cannot do without unless `--yes` accepts the
 * defaults. Everything else has a natural default (no downstream apps, every
 * IdP, TypeScript…); the team may stay unset because the project runs locally
 * without one and provisioning reads it from the account.
 */
export function missingRequired(answers: RawAnswers, directory: string | undefined, provisioning = false): string[] {
  const missing: string[] = [];
  if (directory === undefined) missing.push("a directory (the first argument)");
  if (answers.auth === undefined) missing.push(`${FLAG_OF.auth} <self-hosted|saas>`);
  // Provisioning reads the team from the account.
  if (answers.team === undefined && !provisioning) missing.push(`${FLAG_OF.team} <name|url>`);
  if (answers.emails === undefined && answers.domains === undefined) {
    missing.push(`${FLAG_OF.emails} <email> or ${FLAG_OF.domains} <domain>`);
  }
  return missing;
}

export function requireAnswers(answers: RawAnswers, directory: string | undefined, provisioning = false): void {
  const missing = missingRequired(answers, directory, provisioning);
  if (!missing.length) return;
  throw new UsageError(
    "Missing answers, and there is no terminal to ask them in. Give them as options, or add --yes to accept the defaults:",
    missing,
  );
}

/** Fills what is still open with defaults. The Worker name derives from the directory. */
export function withDefaults(
  answers: RawAnswers,
  directory: string | undefined,
  cwd: string,
): { answers: RawAnswers; directory: string } {
  const dir = directory ?? DEFAULT_DIRECTORY;
  const filled: RawAnswers = { auth: "self-hosted", ...answers };
  if (filled.name === undefined) {
    const base = basename(resolve(cwd, dir));
    const name = normaliseWorkerName(base);
    if (!name) {
      throw new UsageError(
        `Cannot make a Worker name from the directory name ${JSON.stringify(base)}: give one with --name (lowercase letters, digits, dashes).`,
      );
    }
    filled.name = name;
  }
  return { answers: filled, directory: dir };
}
