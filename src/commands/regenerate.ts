import { dirname, join } from "node:path";
import { parse as parseJsonc } from "jsonc-parser";
import type { ParsedArgs } from "../answers/args.js";
import { readConfigFile } from "../answers/config-file.js";
import type { Prompter } from "../answers/prompts.js";
import { applyChanges } from "../apply/apply-plan.js";
import { type Change, changesAnything, planRegeneration } from "../apply/plan.js";
import { hasConflictMarkers } from "../apply/merge-text.js";
import { noSnapshot, projectFiles, readProjectFiles } from "../apply/regeneration.js";
import { readSnapshot, SNAPSHOT_DIR } from "../apply/snapshot.js";
import { notYetAvailable } from "../config/availability.js";
import { CONFIG_FILE_NAME, type Config } from "../config/config.js";
import { FLAG_OF, validateAnswers } from "../config/validate.js";
import { Cancelled, ConflictError, ExitCode, UsageError } from "../errors.js";
import { exists, type FileSystem } from "../fs.js";
import { render } from "../render/render.js";
import type { TemplateLoader } from "../render/templates.js";
import type { PackageManager } from "../config/options.js";
import { projectPackageManager } from "../steps/package-manager.js";
import type { Ui } from "../ui.js";
import { describeChanges, unifiedDiffs } from "./change-list.js";

export interface RegenerateContext {
  /** The project root: where mcp-access.json is. */
  cwd: string;
  env: Record<string, string | undefined>;
  fs: FileSystem;
  ui: Ui;
  /** Where the change list and diffs go (stdout): they are the command's output, not progress. */
  print: (text: string) => void;
  /** Set in a terminal: regenerate shows the changes and asks before writing (unless --yes). */
  prompter?: Pick<Prompter, "confirm" | "isCancel">;
  loadTemplates: TemplateLoader;
  generatorVersion: string;
}

/**
 * `create-mcp-access regenerate` (SPEC §6): mcp-access.json → a new render,
 * merged into the project against the snapshot of the last one. Returns the
 * exit code: 0 done (or nothing to do), 1 `--check` found drift, 3 conflicts.
 */
export async function regenerate(args: ParsedArgs, ctx: RegenerateContext): Promise<number> {
  const { options } = args;
  rejectCreateOptions(args);
  const root = ctx.cwd;
  const config = await readProjectConfig(ctx.fs, root);
  const unavailable = notYetAvailable("regenerate", config, options);
  if (unavailable.length) {
    throw new UsageError(`${CONFIG_FILE_NAME} asks for what this create-mcp-access cannot generate yet; change it there and run regenerate again:`, unavailable);
  }
  const snapshot = await readSnapshot(ctx.fs, root);
  if (!snapshot) throw noSnapshot();

  // From the template source mcp-access.json names: a --template one is fetched (or read) again.
  const pm = await projectPackageManager(ctx.fs, root);
  const templates = await ctx.loadTemplates(config, root);
  const next = projectFiles(render(config, templates, { generatorVersion: ctx.generatorVersion, packageManager: pm }));
  const { disk, blocked, modes } = await readProjectFiles(ctx.fs, root, [...new Set([...snapshot.keys(), ...next.keys()])]);

  const conflicted = [...snapshot.keys()].filter((path) => hasConflictMarkers(disk.get(path) ?? ""));
  if (conflicted.length && !options.force) {
    throw new ConflictError(
      "Conflict markers from the last regenerate are still in these files: resolve each <<<<<<< yours … >>>>>>> generated now block " +
        "(keep what the file should say, delete the marker lines), then run regenerate again. --force regenerates anyway.",
      conflicted,
    );
  }
  if (conflicted.length) ctx.ui.warn(`Regenerating with conflict markers still in ${conflicted.join(", ")} (--force).`);

  const changes = planRegeneration({ snapshot, next, disk, blocked });
  const pending = changes.some(changesAnything);
  ctx.print(describeChanges(config.name, changes));

  if (options.dryRun || options.check) {
    const diffs = unifiedDiffs(changes);
    if (diffs) ctx.print(`\n${diffs}`);
    const flag = options.check ? "--check" : "--dry-run";
    if (!pending) ctx.print(`\nNothing would change (${flag}).\n`);
    else if (options.dryRun) ctx.print(`\nNothing was written (${flag}).\n`);
    else ctx.print(`\nThe project differs from what mcp-access.json generates: run regenerate and commit the result. Nothing was written (${flag}).\n`);
    return options.check && pending ? ExitCode.failure : ExitCode.ok;
  }
  if (!pending) return ExitCode.ok;
  if (ctx.prompter && !options.yes) await confirm(ctx.prompter);

  await applyChanges(ctx.fs, root, changes, modes);
  return report(ctx, changes, pm);
}

function report(ctx: RegenerateContext, changes: Change[], pm: PackageManager): number {
  const conflicts = changes.filter((change) => change.kind === "conflict");
  if (changes.some(dependenciesChanged)) {
    ctx.ui.info(`The dependencies in package.json changed: run ${pm} install.`);
  }
  if (!conflicts.length) {
    ctx.ui.success(`Regenerated; the snapshot in ${SNAPSHOT_DIR}/ is up to date. Commit it with your changes.`);
    return ExitCode.ok;
  }
  ctx.ui.warn(
    [
      `Regenerated with conflicts in ${conflicts.length} file${conflicts.length === 1 ? "" : "s"}, where your edits and the generator's overlap:`,
      ...conflicts.map((change) => `  ${change.path}`),
      "In each, edit the block from <<<<<<< yours to >>>>>>> generated now into what it should say and delete the marker lines,",
      "then run regenerate again: it refuses to run while markers remain.",
    ].join("\n"),
  );
  return ExitCode.conflicts;
}

function dependenciesChanged(change: Change): boolean {
  if (change.path !== "package.json" || typeof change.write !== "string") return false;
  const dependencies = (text = "{}") => {
    const manifest = parseJsonc(text) as Record<string, unknown> | undefined;
    return JSON.stringify(["dependencies", "devDependencies", "peerDependencies", "optionalDependencies"].map((key) => manifest?.[key]));
  };
  return dependencies(change.current) !== dependencies(change.write);
}

/** mcp-access.json in `root`, validated like any other input: every problem names the key and the value. */
export async function readProjectConfig(fs: FileSystem, root: string, command = "regenerate"): Promise<Config> {
  const path = join(root, CONFIG_FILE_NAME);
  if (!(await exists(fs, path))) throw new UsageError(await notAProject(fs, root, command));
  const { answers, origins } = await readConfigFile(fs, path);
  for (const field of ["name", "auth"] as const) origins[field] ??= `${JSON.stringify(field)} in ${path}`;
  return validateAnswers(answers, origins);
}

async function notAProject(fs: FileSystem, cwd: string, command = "regenerate"): Promise<string> {
  for (let dir = dirname(cwd); dir !== dirname(dir); dir = dirname(dir)) {
    if (await exists(fs, join(dir, CONFIG_FILE_NAME))) {
      return `There is no ${CONFIG_FILE_NAME} in ${cwd}. ${command} runs in the project's root folder: cd ${dir} and run it there.`;
    }
  }
  return (
    `There is no ${CONFIG_FILE_NAME} in ${cwd}. ${command} runs in the root folder of a project made by create-mcp-access ` +
    "(the one with mcp-access.json): cd into it and run it there."
  );
}

/** Answers come from mcp-access.json only: a flag would be forgotten by the next regenerate. */
function rejectCreateOptions(args: ParsedArgs): void {
  const flags = [
    ...Object.keys(args.answers).map((field) => args.origins[field as keyof typeof FLAG_OF] ?? FLAG_OF[field as keyof typeof FLAG_OF]),
    ...(args.options.configFile !== undefined ? ["--config"] : []),
    ...(args.options.pm !== undefined ? ["--pm"] : []),
  ];
  if (!flags.length) return;
  throw new UsageError(
    `regenerate takes its answers from ${CONFIG_FILE_NAME}, not from ${flags.join(", ")}: edit ${CONFIG_FILE_NAME} and run regenerate again ` +
      "(options it accepts: --dry-run, --check, --force, --yes).",
  );
}

async function confirm(prompter: Pick<Prompter, "confirm" | "isCancel">): Promise<void> {
  const go = await prompter.confirm({ message: "Apply these changes?", initialValue: true });
  if (prompter.isCancel(go) || !go) throw new Cancelled();
}
