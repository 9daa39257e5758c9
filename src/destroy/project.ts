import { join } from "node:path";
import { CONFIG_FILE_NAME, type Config } from "../config/config.js";
import type { FileSystem } from "../fs.js";
import type { CloudflareApi } from "../provision/cloudflare-api.js";
import { ConfigRecord } from "../provision/config-record.js";
import type { ProvisionPrompter } from "../provision/context.js";
import { Redactor } from "../provision/redact.js";
import { sdkApi } from "../provision/sdk-api.js";
import type { Ui } from "../ui.js";
import { type DestroyResult, destroy } from "./destroy.js";

export interface DestroyProjectDeps {
  fs: FileSystem;
  ui: Ui;
  prompter?: ProvisionPrompter;
  env: Record<string, string | undefined>;
  /** Tests: the API to use instead of the SDK. */
  api?: CloudflareApi;
}

/**
 * destroy for the project at `root`, with the token already checked. This
 * module is loaded only when destroy runs: it pulls in the Cloudflare SDK.
 */
export async function destroyProject(
  root: string,
  config: Config,
  options: { dryRun: boolean; yes: boolean; apiToken: string },
  deps: DestroyProjectDeps,
): Promise<DestroyResult> {
  const redactor = new Redactor();
  redactor.add(options.apiToken);
  const baseURL = deps.env.CLOUDFLARE_API_BASE_URL?.trim() || undefined;
  const record = options.dryRun ? undefined : await ConfigRecord.open(deps.fs, join(root, CONFIG_FILE_NAME));
  return destroy({
    config,
    api: deps.api ?? sdkApi({ apiToken: options.apiToken, ...(baseURL ? { baseURL } : {}) }),
    ui: deps.ui,
    ...(deps.prompter ? { prompter: deps.prompter } : {}),
    dryRun: options.dryRun,
    yes: options.yes,
    // jsonc-parser removes a key set to undefined, keeping the rest of the file as the user wrote it.
    forget: async (path) => record?.set(path, undefined),
    redactor,
    apiBase: baseURL ?? "https://api.cloudflare.com/client/v4",
  });
}
