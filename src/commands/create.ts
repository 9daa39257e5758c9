import { resolve } from "node:path";
import type { ParsedArgs } from "../answers/args.js";
import { readConfigFile } from "../answers/config-file.js";
import { askMissing, confirmSummary, type Prompter } from "../answers/prompts.js";
import { merge, requireAnswers, withDefaults, type Layer } from "../answers/resolve.js";
import { keepExistingIgnoreRules } from "../apply/gitignore.js";
import { SNAPSHOT_DIR, withSnapshot } from "../apply/snapshot.js";
import { assertNothingInTheWay, checkTarget, type TargetState, writeProject } from "../apply/write.js";
import { assertAvailable } from "../config/availability.js";
import type { RunOptions } from "../config/command.js";
import type { Config } from "../config/config.js";
import { templateForProject } from "../config/template-source.js";
import { PACKAGE_MANAGERS, type PackageManager } from "../config/options.js";
import { choice, InvalidValue, validateAnswers } from "../config/validate.js";
import { Cancelled, RuntimeFailure, UsageError } from "../errors.js";
import { checkAdopt, checkProvisionPrerequisites } from "../provision/prerequisites.js";
import type { ProvisionProjectDeps } from "../provision/project.js";
import type { FileSystem } from "../fs.js";
import type { FileMap } from "../render/render.js";
import type { TemplateLoader } from "../render/templates.js";
import type { Exec } from "../steps/exec.js";
import { type GitOutcome, initialiseGit } from "../steps/git.js";
import { generateWorkerTypes, installDependencies } from "../steps/install.js";
import { detectPackageManager, LOCK_FILES, runBin, runScript } from "../steps/package-manager.js";
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
  loadTemplates: TemplateLoader;
  generatorVersion: string;
  /** Called with the target once it exists, so Ctrl-C during install can remove what this run created. */
  onCreated?: (target: string) => void;
  /** Called when the project is complete and provisioning starts: from then on Ctrl-C keeps it. */
  onKept?: () => void;
  /** Tests: the Cloudflare API and deployer provisioning uses instead of the SDK and wrangler. */
  provisionDeps?: Pick<ProvisionProjectDeps, "api" | "deployer" | "randomKey">;
}

export async function create(args: ParsedArgs, ctx: CreateContext): Promise<void> {
  const { options } = args;
  for (const note of args.notes) ctx.ui.warn(note);
  const pm = packageManager(options.pm, ctx.env);
  // --yes means "use the defaults for whatever is unanswered", in a terminal too.
  const prompter = options.yes ? undefined : ctx.prompter;

  const answered = await gatherConfig(args, ctx, prompter);
  const { directory } = answered;
  const target = resolve(ctx.cwd, directory);
  // A local template folder is recorded relative to the project: regenerate looks for it from there.
  const { template } = answered.config;
  const config = template === undefined ? answered.config : { ...answered.config, template: templateForProject(template, ctx.cwd, target) };
  const provisioning = decideProvisioning(options, config, ctx.env, prompter !== undefined);
  const state = await checkTarget(ctx.fs, target, options.force);
  if (prompter) await confirmSummary(prompter, config, directory);

  // Loaded after the questions: the first prompt must not wait for the renderer (SPEC §8).
  const { render } = await import("../render/render.js");
  const files = render(config, await ctx.loadTemplates(config, target), { generatorVersion: ctx.generatorVersion, packageManager: pm });
  // The snapshot goes in the same staged write: regenerate merges against it later (SPEC §6).
  const toWrite = withSnapshot(files);
  let keptIgnoreRules = false;
  if (state !== "missing") {
    // --force: the directory's own things (links, a .gitignore) are checked before anything is written.
    await assertNothingInTheWay(ctx.fs, target, toWrite.keys());
    keptIgnoreRules = await keepExistingIgnoreRules(ctx.fs, target, toWrite);
  }
  if (options.dryRun) return describeDryRun(ctx.ui, files, target, state, pm, options, provisioning);

  const written = await writeProject(ctx.fs, target, toWrite);
  if (state === "missing") ctx.onCreated?.(target);
  ctx.ui.success(`Wrote ${files.size} files to ${target}`);
  const replaced = written.replaced.filter((path) => !path.startsWith(`${SNAPSHOT_DIR}/`) && !(keptIgnoreRules && path === ".gitignore"));
  if (replaced.length) ctx.ui.warn(`Replaced existing files (--force): ${replaced.join(", ")}`);
  if (keptIgnoreRules) ctx.ui.info("Kept every rule of the .gitignore that was there, after the generated ones.");

  if (options.install) {
    await ctx.ui.step(`Installing dependencies with ${pm}`, () => installDependencies(ctx.exec, pm, target));
    if (!(await generateWorkerTypes(ctx.exec, target))) {
      // JavaScript projects have no typecheck script: the types are only for the editor.
      const later = config.lang === "ts" ? `${runScript(pm, "typecheck")} will write the types` : `run ${runBin(pm, "wrangler types")} for your editor's types`;
      ctx.ui.warn(`"wrangler types" failed; ${later}.`);
    }
  }
  if (options.git) {
    const { outcome, ignored } = await initialiseGit(ctx.exec, target, [...toWrite.keys()], options.install ? LOCK_FILES[pm] : []);
    ctx.ui.info(GIT_OUTCOMES[outcome]);
    if (ignored.length) ctx.ui.warn(`Not committed, because the directory's ignore rules exclude them: ${ignored.join(", ")}`);
  }
  const deployed = await provisionIfWanted(provisioning, config, target, pm, ctx, prompter);
  ctx.ui.note(nextSteps(config, directory, pm, options.install, deployed), "Next steps");
  ctx.ui.outro(`Your MCP server ${config.name} is ready. README.md says how to connect each of its MCP clients.`);
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
  else if (!args.options.yes) requireAnswers(answers, directory, args.options.provision === true);
  ({ answers, directory } = withDefaults(answers, directory, ctx.cwd));

  const config = validateAnswers(answers, given.origins);
  assertAvailable("create", config, args.options);
  return { config, directory };
}

interface ProvisioningDecision {
  /** "ask": in a terminal, once the project is written (the answer defaults to no). */
  wanted: boolean | "ask";
  deploy: boolean;
  /** `--adopt`: provisioning takes over what is not provably this project's. */
  adopt: boolean;
}

/**
 * `--provision` (or, in a terminal, a question at the end) runs the Cloudflare
 * steps on the new project. What they need without the network (a token,
 * someone to let in, wrangler for the deploy) is checked now, before anything
 * is written.
 */
function decideProvisioning(options: RunOptions, config: Config, env: Record<string, string | undefined>, interactive: boolean): ProvisioningDecision {
  if (options.deploy === true && !options.install) {
    throw new UsageError("--deploy needs the project's dependencies (wrangler deploys): leave out --no-install, or use --no-deploy.");
  }
  const deploy = options.deploy ?? options.install;
  if (options.provision === true) {
    checkProvisionPrerequisites(config, env, "flags");
    checkAdopt(options, interactive);
    return { wanted: true, deploy, adopt: options.adopt };
  }
  if (options.adopt && !interactive) {
    throw new UsageError("--adopt only applies to provisioning, which runs here only with --provision: add --provision (and --yes to confirm the takeover).");
  }
  return { wanted: options.provision === undefined && interactive ? "ask" : false, deploy, adopt: options.adopt };
}

async function provisionIfWanted(
  decision: ProvisioningDecision,
  config: Config,
  target: string,
  pm: PackageManager,
  ctx: CreateContext,
  prompter: Prompter | undefined,
): Promise<boolean> {
  let wanted = decision.wanted;
  if (wanted === "ask") {
    if (!ctx.env.CLOUDFLARE_API_TOKEN?.trim()) {
      ctx.ui.info(`Set CLOUDFLARE_API_TOKEN and run ${runScript(pm, "provision")} in the project to set up Access and deploy (README.md: Deploy).`);
      return false;
    }
    const answer = await prompter!.confirm({
      message: `Set up Cloudflare now (the Access ${config.auth === "saas" ? "for SaaS app, KV namespace, secrets" : "application and policy"}${decision.deploy ? ", and the first deploy" : ""})?`,
      initialValue: false,
    });
    if (prompter!.isCancel(answer)) throw new Cancelled();
    wanted = answer;
  }
  if (!wanted) return false;
  ctx.onKept?.();
  const { provisionProject } = await import("./cloudflare.js");
  try {
    const result = await provisionProject(target, config, { dryRun: false, deploy: decision.deploy, adopt: decision.adopt, where: "flags" }, {
      fs: ctx.fs,
      exec: ctx.exec,
      ui: ctx.ui,
      ...(prompter ? { prompter } : {}),
      env: ctx.env,
      loadTemplates: ctx.loadTemplates,
      generatorVersion: ctx.generatorVersion,
      ...ctx.provisionDeps,
    });
    return result.liveUrl !== undefined;
  } catch (error) {
    if (error instanceof Cancelled) throw new Cancelled(`the project in ${target} is kept, and nothing was changed in Cloudflare`);
    // An answer only the account could check (a --domain in none of its zones, say) is still the project's: it is written.
    if (error instanceof RuntimeFailure || error instanceof UsageError) {
      error.message += `\nThe project itself is ready in ${target}: run ${runScript(pm, "provision")} there once this is fixed.`;
    }
    throw error;
  }
}

const GIT_OUTCOMES: Record<GitOutcome, string> = {
  committed: "Created a git repository with a first commit.",
  initialised: "Created a git repository (no commit: set git's user.name and user.email, then commit).",
  "no-git": "git is not installed: no repository created.",
  "inside-repository": "The project is inside a git repository already: nothing committed.",
};

function describeDryRun(
  ui: Ui,
  files: FileMap,
  target: string,
  state: TargetState,
  pm: PackageManager,
  options: RunOptions,
  provisioning: ProvisioningDecision,
): void {
  ui.info(`Would write ${files.size} files to ${target}${state === "missing" ? "" : " (existing directory)"}:`);
  for (const [path, text] of files) ui.info(`  ${path}  (${Buffer.byteLength(text)} bytes)`);
  ui.info(`  ${SNAPSHOT_DIR}/  (a copy of those files, which regenerate merges your edits against)`);
  if (options.install) ui.info(`Would run: ${pm} install, then wrangler types`);
  if (options.git) ui.info("Would run: git init, then a first commit (unless inside a repository)");
  if (provisioning.wanted === true) {
    ui.info(
      `Would then provision${provisioning.deploy ? " and deploy" : ""}: the API calls depend on what the account holds; ` +
        "create-mcp-access provision --dry-run in the project lists them, reading the account and changing nothing.",
    );
  }
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

function nextSteps(config: Config, directory: string, pm: PackageManager, installed: boolean, deployed: boolean): string {
  return [
    `cd ${directory}`,
    ...(installed ? [] : [`${pm} install`]),
    `${runScript(pm, "dev")}        # local server with an Access emulator: no account needed`,
    deployed
      ? `${runScript(pm, "deploy")}     # deploy your changes`
      : `${runScript(pm, "provision")}  # set up Access${config.auth === "saas" ? ", KV and the secrets" : ""} in your account and deploy (CLOUDFLARE_API_TOKEN)`,
  ].join("\n");
}
