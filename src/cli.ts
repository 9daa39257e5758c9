import { parseArgv } from "./answers/args.js";
import { ExitCode, UsageError } from "./errors.js";
import { helpText } from "./help.js";
import { packageVersion } from "./package-root.js";

/**
 * The CLI entry: argv in, exit code out. Only parsing lives here, so
 * `--help`, `--version` and a mistyped option answer without loading the
 * prompts, templates or merge code; `run.ts` is loaded for real work.
 */
export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  const version = packageVersion();
  let args;
  try {
    args = parseArgv(argv, process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`error: ${error.message}\n`);
    return error.exitCode;
  }
  if (args.help) return print(helpText(version));
  if (args.version) return print(`${version}\n`);
  const { run } = await import("./run.js");
  return run(args, version);
}

function print(text: string): number {
  process.stdout.write(text);
  return ExitCode.ok;
}
