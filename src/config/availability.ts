import { UsageError } from "../errors.js";
import type { Command, RunOptions } from "./command.js";
import type { Config } from "./config.js";

/**
 * Options the CLI already parses and validates, whose behaviour is still
 * being built. Each says so with exit 2 rather than being silently ignored.
 * An entry goes away when its feature lands.
 */
const NOT_YET: { applies: (command: Command, config: Config | undefined, options: RunOptions) => boolean; what: string; instead: string }[] = [];

export function notYetAvailable(command: Command, config: Config | undefined, options: RunOptions): string[] {
  return NOT_YET.filter((entry) => entry.applies(command, config, options)).map(
    (entry) => `${entry.what} is not available yet in create-mcp-access; ${entry.instead}.`,
  );
}

export function assertAvailable(command: Command, config: Config | undefined, options: RunOptions): void {
  const missing = notYetAvailable(command, config, options);
  if (missing.length === 1) throw new UsageError(missing[0]!);
  if (missing.length) throw new UsageError("Some options are not available yet:", missing);
}
