import { resolve } from "node:path";
import type { ParsedArgs, RunOptions } from "../answers/args.js";
import { readConfigFile } from "../answers/config-file.js";
import { askMissing, confirmSummary, type Prompter } from "../answers/prompts.js";
import { merge, requireAnswers, withDefaults, type Layer } from "../answers/resolve.js";
import { SNAPSHOT_DIR, withSnapshot } from "../apply/snapshot.js";
import { checkTarget, type TargetState, writeProject } from "../apply/write.js";
import { assertAvailable } from "../config/availability.js";
import type { Config } from "../config/config.js";
import { PACKAGE_MANAGERS, type PackageManager } from "../config/options.js";
import { choice, InvalidValue, validateAnswers } from "../config/validate.js";
import { UsageError } from "../errors.js";
import type { FileSystem } from "../fs.js";
import { type FileMap, render } from "../render/render.js";
import type { TemplateSet } from "../render/templates.js";
import type { Exec } from "../steps/exec.js";
import { type GitOutcome, initialiseGit } from "../steps/git.js";
import { generateWorkerTypes, installDependencies } from "../steps/install.js";
import { detectPackageManager, runScript } from "../steps/package-manager.js";
import type { Ui } from "../ui.js";

/** Everything `create` touches, passed in: the real things in the CLI, memfs and fakes in unit tests. */
export interface CreateContext {
  cwd: string;
  env: Record<string, string | undefined>;
  fs: FileSystem;
  exec: Exec;
  ui: Ui;
  /** Set when stdin and stdout are terminals and CI is unset (SPEC §3.3). */
  prompter?: Prompter;
  loadTemplates: () => Promise<TemplateSet>;
  generatorVersion: string;
  /** Called with the target once it exists, so Ctrl-C during install can remove what this run created. */
  onCreated?: (target: string) => void;
}

export async function create(args: ParsedArgs, ctx: CreateContext): Promise<void> {
  const { options } = args;
  for (const note of args.notes) ctx.ui.warn(note);
  const pm = packageManager(options.pm, ctx.env);
  // --yes means "use the defaults for whatever is unanswered", in a terminal too.
  const prompter = options.yes ? undefined : ctx.prompter;

  const { config, directory } = await gatherConfig(args, ctx, prompter);
  const target = resolve(ctx.cwd, directory);
  const state = await checkTarget(ctx.fs, target, options.force);
  if (prompter) await confirmSummary(prompter, config, directory);

  const files = render(config, await ctx.loadTemplates(), { generatorVersion: ctx.generatorVersion });
  if (options.dryRun) return describeDryRun(ctx.ui, files, target, state, pm, options);

  // The snapshot goes in the same staged write: regenerate merges against it later (SPEC §6).
  const written = await writeProject(ctx.fs, target, withSnapshot(files));
  if (state === "missing") ctx.onCreated?.(target);
  ctx.ui.success(`Wrote ${files.size} files to ${target}`);
  const replaced = written.replaced.filter((path) => !path.startsWith(`${SNAPSHOT_DIR}/`));
  if (replaced.length) ctx.ui.warn(`Replaced existing files (--force): ${replaced.join(", ")}`);

  if (options.install) {
    await ctx.ui.step(`Installing dependencies with ${pm}`, () => installDependencies(ctx.exec, pm, target));
    if (!(await generateWorkerTypes(ctx.exec, target))) ctx.ui.warn(`"wrangler types" failed; ${runScript(pm, "typecheck")} will write the types.`);
  }
  if (options.git) ctx.ui.info(GIT_OUTCOMES[await initialiseGit(ctx.exec, target)]);
  ctx.ui.note(nextSteps(config, directory, pm, options.install), "Next steps");
  ctx.ui.outro(`Your MCP server ${config.name} is ready. README.md says how to connect Claude, Cursor, VS Code and MCP Inspector.`);
}

/**
 * answers (config file, then flags over it, then prompts for what is still
 * open) → one validated Config. Given answers are checked before anything is
 * asked, so a bad flag is reported at once, not after five questions.
 */
async function gatherConfig(args: ParsedArgs, ctx: CreateContext, prompter: Prompter | undefined) {
  const fromFile: Layer = args.options.configFile
    ? await readConfigFile(ctx.fs, resolve(ctx.cwd, args.options.configFile))
    : { answers: {}, origins: {} };
  const given = merge(fromFile, { answers: args.answers, origins: args.origins });
  // `name` and `auth` are the two answers always needed; stand-ins let the rest be checked now.
  assertAvailable("create", validateAnswers({ name: "placeholder", auth: "self-hosted", ...given.answers }, given.origins), args.options);

  let { answers } = given;
  let directory = args.directory;
  if (prompter) ({ answers, directory } = await askMissing(prompter, answers, directory));
  else if (!args.options.yes) requireAnswers(answers, directory);
  ({ answers, directory } = withDefaults(answers, directory, ctx.cwd));

  const config = validateAnswers(answers, given.origins);
  assertAvailable("create", config, args.options);
  return { config, directory };
}

const GIT_OUTCOMES: Record<GitOutcome, string> = {
  committed: "Created a git repository with a first commit.",
  initialised: "Created a git repository (no commit: set git's user.name and user.email, then commit).",
  "no-git": "git is not installed: no repository created.",
  "inside-repository": "The project is inside a git repository already: nothing committed.",
};

function describeDryRun(ui: Ui, files: FileMap, target: string, state: TargetState, pm: PackageManager, options: RunOptions): void {
  ui.info(`Would write ${files.size} files to ${target}${state === "missing" ? "" : " (existing directory)"}:`);
  for (const [path, text] of files) ui.info(`  ${path}  (${Buffer.byteLength(text)} bytes)`);
  ui.info(`  ${SNAPSHOT_DIR}/  (a copy of those files, which regenerate merges your edits against)`);
  if (options.install) ui.info(`Would run: ${pm} install, then wrangler types`);
  if (options.git) ui.info("Would run: git init, then a first commit (unless inside a repository)");
  ui.info("Nothing was written (--dry-run).");
}

function packageManager(flag: string | undefined, env: Record<string, string | undefined>): PackageManager {
  if (flag === undefined) return detectPackageManager(env.npm_config_user_agent);
  try {
    return choice(PACKAGE_MANAGERS)(flag);
  } catch (error) {
    throw new UsageError(`--pm: ${(error as InvalidValue).message}`);
  }
}

function nextSteps(config: Config, directory: string, pm: PackageManager, installed: boolean): string {
  const before = config.auth === "saas" ? "the Access for SaaS app, OAUTH_KV and the secrets exist" : "TEAM_DOMAIN and POLICY_AUD are set";
  return [
    `cd ${directory}`,
    ...(installed ? [] : [`${pm} install`]),
    `${runScript(pm, "dev")}      # local server with an Access emulator: no account needed`,
    `${runScript(pm, "deploy")}   # once ${before} (see README.md)`,
  ].join("\n");
}
