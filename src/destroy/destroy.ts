import type { JSONPath } from "jsonc-parser";
import type { Config } from "../config/config.js";
import { Cancelled } from "../errors.js";
import type { CloudflareApi } from "../provision/cloudflare-api.js";
import type { ProvisionPrompter } from "../provision/context.js";
import { dryRunApi, type PlannedCall, planLines } from "../provision/dry-run-api.js";
import { apiAnswerOf, explainFailure, withCallInfo } from "../provision/errors.js";
import type { Redactor } from "../provision/redact.js";
import type { Ui } from "../ui.js";
import { survey, type Target } from "./survey.js";

export interface DestroyInput {
  config: Config;
  api: CloudflareApi;
  ui: Ui;
  /** Set in a terminal: the list is shown and confirmed before anything goes. */
  prompter?: ProvisionPrompter;
  dryRun: boolean;
  /** `--yes`: no question. */
  yes: boolean;
  /** Removes an entry of mcp-access.json (kept as the user formatted it); never called in a dry run. */
  forget: (path: JSONPath) => Promise<void>;
  redactor: Redactor;
  /** Where API calls go, for messages. */
  apiBase: string;
}

export interface DestroyResult {
  removed: string[];
  gone: string[];
  kept: { what: string; why: string }[];
  plan?: PlannedCall[];
}

const AFTER =
  "What was removed before is no longer recorded in mcp-access.json: run destroy again once this is fixed, and it carries on from there.";

/**
 * SPEC §10's teardown: find and prove what the project made (reads only),
 * show it, ask, then remove it in an order where nothing points at what is
 * already gone: the downstream links, their policy, the custom domain, the
 * Worker, the Access app, the allow policy, the KV namespace. Each removal is
 * taken off mcp-access.json's record at once, so a run that stops half way is
 * simply run again; what is already gone (404) counts as removed.
 */
export async function destroy(input: DestroyInput): Promise<DestroyResult> {
  const { ui, redactor, config } = input;
  const result: DestroyResult = { removed: [], gone: [], kept: [] };
  const account = config.accountId;
  if (!account) {
    ui.info(`Nothing to remove: mcp-access.json records no account, so provision never ran for ${config.name}.`);
    return result;
  }
  const plan: PlannedCall[] = [];
  const api = withCallInfo(input.dryRun ? dryRunApi(input.api, plan) : input.api);
  const fail = (step: string, error: unknown) => explainFailure(step, error, redactor, input.apiBase, AFTER);

  let targets: Target[];
  try {
    targets = (await ui.step("Finding what this project made", () => survey(api, config, account))).targets;
  } catch (error) {
    throw fail("Finding what this project made", error);
  }
  ui.note(redactor.redact(listing(targets, input.dryRun)), input.dryRun ? "destroy --dry-run" : "destroy");
  for (const target of targets) if (target.fate === "keep") result.kept.push({ what: target.what, why: target.why! });

  const removing = targets.filter((target) => target.fate === "remove");
  if (removing.length && !input.dryRun && !input.yes && input.prompter) {
    const answer = await input.prompter.confirm({ message: `Delete ${removing.length === 1 ? "this" : `these ${removing.length}`} for good?`, initialValue: false });
    if (input.prompter.isCancel(answer) || !answer) throw new Cancelled();
  }

  const forgotten: string[] = [];
  const downstreams = Object.keys(config.provisioned?.downstreams ?? {});
  const forget = async (records: JSONPath[]) => {
    for (const path of records) {
      forgotten.push(path.join("."));
      if (!input.dryRun) await input.forget(path);
    }
    // The last downstream entry gone, their emptied object goes with it (at once: a run may stop at the next step).
    if (records.some((path) => path[1] === "downstreams" && path.length === 3) && downstreams.every((name) => forgotten.includes(`provisioned.downstreams.${name}`))) {
      await forget([["provisioned", "downstreams"]]);
    }
  };
  // An empty record left by hand, or by an older version.
  if (config.provisioned?.downstreams && !downstreams.length) await forget([["provisioned", "downstreams"]]);
  for (const target of targets) {
    if (target.fate === "keep") continue;
    if (target.fate === "remove") {
      const label = `Removing ${target.what}`;
      try {
        await ui.step(label, () => target.remove!(api, account));
        result.removed.push(target.what);
      } catch (error) {
        // Gone since the survey: by someone else, or by a run that stopped after the call.
        if (apiAnswerOf(error)?.status !== 404) throw fail(label, error);
        result.gone.push(target.what);
      }
    } else {
      result.gone.push(target.what);
    }
    await forget(target.records);
  }

  if (input.dryRun) {
    result.plan = plan;
    ui.note(redactor.redact(planText(plan, forgotten)), "Plan (--dry-run): nothing was deleted");
  }
  return result;
}

function listing(targets: Target[], dryRun: boolean): string {
  const lines = (fate: Target["fate"]) => targets.filter((target) => target.fate === fate);
  const out: string[] = [];
  const remove = lines("remove");
  out.push(remove.length ? `${dryRun ? "Would remove" : "To remove"}:` : "Nothing of this project's is left to remove.");
  for (const target of remove) out.push(`  - ${target.what}: ${target.why}`);
  const gone = lines("gone");
  if (gone.length) out.push("Already gone:", ...gone.map((target) => `  - ${target.what}`));
  const keep = lines("keep");
  if (keep.length) out.push("Left alone:", ...keep.map((target) => `  - ${target.what}: ${target.why}`));
  return out.join("\n");
}

function planText(plan: PlannedCall[], forgotten: string[]): string {
  return [
    ...planLines(plan),
    "",
    forgotten.length ? "Would remove from mcp-access.json:" : "mcp-access.json would not change.",
    ...forgotten.map((path) => `  ${path}`),
  ].join("\n");
}
