import { join } from "node:path";
import { regenerateProvisionedValues } from "../apply/regeneration.js";
import { readSnapshot, SNAPSHOT_DIR } from "../apply/snapshot.js";
import { CONFIG_FILE_NAME, type Config } from "../config/config.js";
import { RuntimeFailure, UsageError } from "../errors.js";
import { exists, type FileSystem } from "../fs.js";
import type { TemplateLoader } from "../render/templates.js";
import type { Exec } from "../steps/exec.js";
import { projectPackageManager } from "../steps/package-manager.js";
import type { Ui } from "../ui.js";
import type { CloudflareApi } from "./cloudflare-api.js";
import { ConfigRecord } from "./config-record.js";
import type { Deployer, ProvisionPrompter } from "./context.js";
import { checkProvisionPrerequisites } from "./prerequisites.js";
import { type ProvisionResult, provision } from "./provision.js";
import { Redactor } from "./redact.js";
import { sdkApi } from "./sdk-api.js";
import { wranglerBin, wranglerDeployer } from "./wrangler-deployer.js";

export interface ProvisionProjectDeps {
  fs: FileSystem;
  exec: Exec;
  ui: Ui;
  prompter?: ProvisionPrompter;
  env: Record<string, string | undefined>;
  loadTemplates: TemplateLoader;
  generatorVersion: string;
  /** Tests: the API and the deployer to use instead of the SDK and wrangler. */
  api?: CloudflareApi;
  deployer?: Deployer;
  randomKey?: () => string;
}

export interface ProvisionProjectOptions {
  dryRun: boolean;
  deploy: boolean;
  /** `--adopt`: take over what is not provably this project's, after a confirmation. */
  adopt: boolean;
  /** `--account-id`: wins over mcp-access.json and CLOUDFLARE_ACCOUNT_ID. */
  accountId?: string;
  where: "flags" | "file";
}

/**
 * Provisioning for the project at `root` (SPEC §5), from `provision` or at
 * the end of `create`: the checks that need no network first, then the
 * steps. This module is loaded only when provisioning runs: it pulls in the
 * Cloudflare SDK.
 */
export async function provisionProject(root: string, config: Config, options: ProvisionProjectOptions, deps: ProvisionProjectDeps): Promise<ProvisionResult> {
  const apiToken = checkProvisionPrerequisites(config, deps.env, options.where);
  if (!(await readSnapshot(deps.fs, root))) {
    throw new UsageError(
      `There is no snapshot in ${SNAPSHOT_DIR}/, which provisioning merges the recorded ids into wrangler.jsonc against. ` +
        `Restore it from git (git checkout -- ${SNAPSHOT_DIR}).`,
    );
  }
  const packageManager = await projectPackageManager(deps.fs, root);
  if (options.deploy && !options.dryRun && !deps.deployer && !(await exists(deps.fs, wranglerBin(root)))) {
    throw new RuntimeFailure(
      `The project's wrangler is not installed (${wranglerBin(root)}), and it does the deploy. Run ${packageManager} install in ${root}, then provision again ` +
        "(or add --no-deploy).",
    );
  }

  const redactor = new Redactor();
  redactor.add(apiToken);
  const baseURL = deps.env.CLOUDFLARE_API_BASE_URL?.trim() || undefined;
  const templates = await deps.loadTemplates(config, root);
  const configPath = join(root, CONFIG_FILE_NAME);
  const configRecord = options.dryRun ? { set: async () => {} } : await ConfigRecord.open(deps.fs, configPath);
  return provision({
    packageManager,
    root,
    config,
    ...(options.accountId ? { accountIdFlag: options.accountId } : {}),
    configRecord,
    api: deps.api ?? sdkApi({ apiToken, ...(baseURL ? { baseURL } : {}) }),
    ui: deps.ui,
    ...(deps.prompter ? { prompter: deps.prompter } : {}),
    env: deps.env,
    dryRun: options.dryRun,
    deploy: options.deploy,
    adopt: options.adopt,
    deployer: deps.deployer ?? wranglerDeployer({ exec: deps.exec, env: deps.env, apiToken, redactor }),
    redactor,
    updateProjectFiles: (next) => regenerateProvisionedValues(deps.fs, root, next, templates, deps.generatorVersion, options.dryRun),
    apiBase: baseURL ?? "https://api.cloudflare.com/client/v4",
    ...(deps.randomKey ? { randomKey: deps.randomKey } : {}),
  });
}
