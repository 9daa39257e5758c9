import type { ParsedArgs } from "../answers/args.js";
import { CONFIG_FILE_NAME } from "../config/config.js";
import type { DestroyProjectDeps } from "../destroy/project.js";
import { ExitCode, UsageError } from "../errors.js";
import type { Exec } from "../steps/exec.js";
import { projectPackageManager, runScript } from "../steps/package-manager.js";
import { createFlags } from "./provision.js";
import { readProjectConfig } from "./regenerate.js";

export interface DestroyDeps extends DestroyProjectDeps {
  cwd: string;
  exec: Exec;
}

/**
 * `create-mcp-access destroy` (SPEC §10), in a project's root: removes from
 * Cloudflare what provision made for the project, found from the ids in
 * mcp-access.json and each proven this project's. The project's files stay
 * as they are, so provision can set it all up again.
 */
export async function destroyCommand(args: ParsedArgs, deps: DestroyDeps): Promise<number> {
  rejectOtherOptions(args);
  for (const note of args.notes) deps.ui.warn(note);
  const apiToken = deps.env.CLOUDFLARE_API_TOKEN?.trim();
  if (!apiToken) {
    throw new UsageError(
      "destroy needs a Cloudflare API token in CLOUDFLARE_API_TOKEN, with the permissions provision's has. Nothing was deleted.",
    );
  }
  const { dryRun, yes } = args.options;
  // Checked before any call: deleting needs somebody to have said yes.
  if (!dryRun && !yes && !deps.prompter) {
    throw new UsageError(
      "destroy deletes for good, and without a terminal nobody can confirm: add --yes (destroy --dry-run shows what would go). Nothing was deleted.",
    );
  }

  const config = await readProjectConfig(deps.fs, deps.cwd, "destroy");
  const { destroyProject } = await import("./cloudflare.js");
  const result = await destroyProject(deps.cwd, config, { dryRun, yes, apiToken }, deps);
  if (dryRun) return result.kept.length ? ExitCode.failure : ExitCode.ok;
  const provisionAgain = runScript(await projectPackageManager(deps.fs, deps.cwd), "provision");
  if (result.kept.length) {
    deps.ui.warn(
      `${result.removed.length} removed, ${result.gone.length} already gone, ${result.kept.length} left alone (listed above; still recorded in ${CONFIG_FILE_NAME}).`,
    );
    return ExitCode.failure;
  }
  deps.ui.outro(
    `${config.name} is removed from Cloudflare (${result.removed.length} removed, ${result.gone.length} already gone). Your files are unchanged: ` +
      `${provisionAgain} sets it all up again.`,
  );
  return ExitCode.ok;
}

/** destroy acts on what mcp-access.json records: it takes --dry-run and --yes only. */
function rejectOtherOptions(args: ParsedArgs): void {
  const flags = [
    ...createFlags(args),
    ...(args.options.deploy !== undefined ? ["--deploy/--no-deploy"] : []),
    ...(args.options.adopt ? ["--adopt"] : []),
  ];
  if (!flags.length) return;
  throw new UsageError(`destroy removes what ${CONFIG_FILE_NAME} records: it does not take ${flags.join(", ")}. Options it accepts: --dry-run, --yes.`);
}
