import type { ParsedArgs } from "../answers/args.js";
import { notYetAvailable } from "../config/availability.js";
import { CONFIG_FILE_NAME } from "../config/config.js";
import { accountId, FLAG_OF, InvalidValue } from "../config/validate.js";
import { ExitCode, UsageError } from "../errors.js";
import { checkAdopt, checkProvisionPrerequisites } from "../provision/prerequisites.js";
import type { ProvisionProjectDeps } from "../provision/project.js";
import { readProjectConfig } from "./regenerate.js";

/**
 * `create-mcp-access provision` (SPEC §3.1, §5), in a project's root: the
 * Cloudflare side of the project described by mcp-access.json, then one
 * deploy (unless --no-deploy). Answers come from mcp-access.json; only the
 * account can be given as an option, since it is a property of where you
 * deploy, not of the project.
 */
export async function provisionCommand(args: ParsedArgs, deps: ProvisionProjectDeps & { cwd: string }): Promise<number> {
  rejectAnswerOptions(args);
  for (const note of args.notes) deps.ui.warn(note);
  const config = await readProjectConfig(deps.fs, deps.cwd, "provision");
  const unavailable = notYetAvailable("provision", config, args.options);
  if (unavailable.length) {
    throw new UsageError(`${CONFIG_FILE_NAME} asks for what this create-mcp-access cannot provision yet; change it there and run provision again:`, unavailable);
  }
  const flagAccount = accountFlag(args);
  // Checked before the SDK is even loaded.
  checkProvisionPrerequisites(config, deps.env, "file");
  checkAdopt(args.options, deps.prompter !== undefined);

  const { provisionProject } = await import("./cloudflare.js");
  const result = await provisionProject(
    deps.cwd,
    config,
    { dryRun: args.options.dryRun, deploy: args.options.deploy ?? true, adopt: args.options.adopt, where: "file", ...(flagAccount ? { accountId: flagAccount } : {}) },
    deps,
  );
  if (!args.options.dryRun) deps.ui.outro(result.liveUrl ? `${config.name} is live at ${result.liveUrl}.` : `${config.name} is set up in Cloudflare.`);
  return ExitCode.ok;
}

/** `--account-id`, validated; the one answer commands run in a project take as a flag (it is where you deploy, not the project). */
export function accountFlag(args: ParsedArgs): string | undefined {
  if (args.answers.accountId === undefined) return undefined;
  try {
    return accountId(args.answers.accountId);
  } catch (error) {
    if (error instanceof InvalidValue) throw new UsageError(`Invalid input: ${args.origins.accountId ?? FLAG_OF.accountId}: ${error.message}`);
    throw error;
  }
}

/** Every other answer lives in mcp-access.json: a flag here would be forgotten by the next run. */
function rejectAnswerOptions(args: ParsedArgs): void {
  const flags = createFlags(args).filter((flag) => flag !== (args.origins.accountId ?? FLAG_OF.accountId));
  if (!flags.length) return;
  throw new UsageError(
    `provision takes its answers from ${CONFIG_FILE_NAME}, not from ${flags.join(", ")}: edit ${CONFIG_FILE_NAME} (and run regenerate) first. ` +
      "Options it accepts: --account-id, --adopt, --deploy/--no-deploy, --dry-run, --yes.",
  );
}

/** The answers and create-only options given as flags, as typed: commands run in a project take theirs from mcp-access.json. */
export function createFlags(args: ParsedArgs): string[] {
  return [
    ...Object.keys(args.answers).map((field) => args.origins[field as keyof typeof FLAG_OF] ?? FLAG_OF[field as keyof typeof FLAG_OF]),
    ...(args.options.configFile !== undefined ? ["--config"] : []),
    ...(args.options.pm !== undefined ? ["--pm"] : []),
    ...(args.options.provision !== undefined ? ["--provision/--no-provision"] : []),
    ...(args.options.force ? ["--force"] : []),
  ];
}
