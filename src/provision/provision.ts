import { randomBytes } from "node:crypto";
import { CLIENT_NAMES, clientInfo, isClientName } from "../config/clients.js";
import type { Config } from "../config/config.js";
import type { PackageManager } from "../config/options.js";
import { runScript } from "../steps/package-manager.js";
import type { Ui } from "../ui.js";
import type { CloudflareApi } from "./cloudflare-api.js";
import type { ConfigRecord } from "./config-record.js";
import { type Deployer, getAtPath, type Outcome, type ProvisionContext, type ProvisionPrompter, setAtPath } from "./context.js";
import { dryRunApi, type PlannedCall, planLines } from "./dry-run-api.js";
import { explainFailure, withCallInfo } from "./errors.js";
import type { Redactor } from "./redact.js";
import { sameJson } from "./same.js";
import { ensureAccessApp } from "./steps/access-app.js";
import { checkToken, resolveAccount, resolveSubdomain, resolveTeam } from "./steps/account.js";
import { checkCustomDomain, detachFormerDomain } from "./steps/custom-domain.js";
import { deployWorker, needsSecrets } from "./steps/deploy.js";
import { linkDownstreamApps } from "./steps/downstreams.js";
import { findExisting } from "./steps/existing.js";
import { resolveIdentityProviders } from "./steps/identity-providers.js";
import { ensureKvNamespace } from "./steps/kv-namespace.js";
import { ensureAllowPolicy } from "./steps/policies.js";

interface Step {
  label: string;
  run: (ctx: ProvisionContext) => Promise<void>;
  applies?: (ctx: ProvisionContext) => boolean;
  /** May ask a question: in a terminal it runs without a spinner, which would draw over the prompt. */
  mayAsk?: boolean;
}

/** SPEC §5's steps, in an order that needs exactly one deploy: everything the Worker needs exists before it. */
export const STEPS: readonly Step[] = [
  { label: "Checking the API token", run: checkToken },
  { label: "Finding the account", run: resolveAccount, mayAsk: true },
  // On a custom domain the account needs no workers.dev subdomain: the Worker has no workers.dev URL.
  { label: "Finding the workers.dev subdomain", run: resolveSubdomain, applies: (ctx) => !ctx.config.domain },
  { label: "Checking the custom domain", run: checkCustomDomain, applies: (ctx) => Boolean(ctx.config.domain || ctx.config.provisioned?.customDomain) },
  { label: "Finding the Access team", run: resolveTeam },
  { label: "Resolving the identity providers", run: resolveIdentityProviders, mayAsk: true },
  // Reads only, and proves what it finds is ours: nothing before it changes anything, and nothing after it runs unless it passed.
  { label: "Checking what exists is this project's", run: findExisting, mayAsk: true },
  { label: "Access policy for who may sign in", run: ensureAllowPolicy },
  { label: "KV namespace for OAUTH_KV", run: ensureKvNamespace, applies: (ctx) => ctx.config.auth === "saas" },
  { label: "Access application", run: ensureAccessApp },
  { label: "Linked App Token policies on downstream apps", run: linkDownstreamApps, applies: (ctx) => ctx.config.downstreams.length > 0 },
  { label: "Bringing the ids into wrangler.jsonc", run: updateFiles },
  { label: "Deploying with wrangler", run: deployWorker, applies: (ctx) => ctx.deploy },
  { label: "Detaching the former custom domain", run: detachFormerDomain, applies: (ctx) => ctx.deploy && !ctx.config.domain && ctx.formerHost !== undefined },
];

async function updateFiles(ctx: ProvisionContext): Promise<void> {
  // Only now, with the Access app on the new host: a run that stops before this still knows the host it moves from.
  // A custom domain that went stays recorded until it is detached, after the deploy.
  if (ctx.customDomain) await ctx.record(["provisioned", "customDomain"], ctx.customDomain);
  else if (!ctx.formerHost) await ctx.record(["provisioned", "customDomain"], undefined);
  const changed = await ctx.updateProjectFiles(ctx.config);
  for (const path of changed) ctx.report("changed", `${path} (merged with your edits, as regenerate does)`);
}

export interface ProvisionInput {
  root: string;
  /** The project's package manager, for the commands a message names (`pnpm run deploy`). */
  packageManager?: PackageManager;
  /** The project's validated config; a copy is updated as the steps learn. */
  config: Config;
  /** `--account-id`, which wins over mcp-access.json and CLOUDFLARE_ACCOUNT_ID. */
  accountIdFlag?: string;
  /** mcp-access.json, written after each step that learnt something; unused in a dry run. */
  configRecord: Pick<ConfigRecord, "set">;
  api: CloudflareApi;
  ui: Ui;
  prompter?: ProvisionPrompter;
  env: Record<string, string | undefined>;
  dryRun: boolean;
  deploy: boolean;
  /** `--adopt`: take over what is not provably this project's (confirmed in a terminal) instead of stopping. */
  adopt: boolean;
  deployer: Deployer;
  redactor: Redactor;
  updateProjectFiles: (config: Config) => Promise<string[]>;
  /** Where API calls go, for messages. */
  apiBase: string;
  randomKey?: () => string;
}

export interface ProvisionResult {
  outcomes: Outcome[];
  config: Config;
  liveUrl?: string;
  plan?: PlannedCall[];
}

/**
 * Runs the steps with a spinner (or a line) each, prints what each found,
 * created or changed, then a summary: what was done, where the Worker is and
 * how to connect to it, or, in a dry run, every API call and command.
 */
export async function provision(input: ProvisionInput): Promise<ProvisionResult> {
  const { ui, redactor } = input;
  const plan: PlannedCall[] = [];
  const recorded: string[] = [];
  const outcomes: Outcome[] = [];
  let current: Outcome[] = [];
  const api = withCallInfo(input.dryRun ? dryRunApi(input.api, plan) : input.api);
  const ctx: ProvisionContext = {
    api,
    config: structuredClone(input.config),
    root: input.root,
    ...(input.accountIdFlag ? { accountIdFlag: input.accountIdFlag } : {}),
    env: input.env,
    ...(input.prompter ? { prompter: input.prompter } : {}),
    dryRun: input.dryRun,
    deploy: input.deploy,
    adopt: input.adopt,
    secrets: {},
    redactor,
    randomKey: input.randomKey ?? (() => randomBytes(32).toString("hex")),
    deployer: input.deployer,
    updateProjectFiles: input.updateProjectFiles,
    record: async (path, value) => {
      if (sameJson(getAtPath(ctx.config, path), value)) return;
      setAtPath(ctx.config, path, value);
      if (input.dryRun) recorded.push(value === undefined ? `${path.join(".")} removed` : `${path.join(".")} = ${JSON.stringify(value)}`);
      else await input.configRecord.set(path, value);
    },
    report: (kind, what) => current.push({ kind, what }),
  };

  for (const step of STEPS) {
    if (step.applies && !step.applies(ctx)) continue;
    current = [];
    try {
      if (step.mayAsk && ctx.prompter) {
        ui.info(step.label);
        await step.run(ctx);
      } else {
        await ui.step(step.label, () => step.run(ctx));
      }
    } catch (error) {
      printOutcomes(ui, redactor, current, input.dryRun);
      throw explainFailure(step.label, error, redactor, input.apiBase);
    }
    printOutcomes(ui, redactor, current, input.dryRun);
    outcomes.push(...current);
  }

  if (input.dryRun) {
    printPlan(ui, redactor, plan, recorded, ctx);
    return { outcomes, config: ctx.config, plan };
  }
  ui.note(redactor.redact(summarise(outcomes)), "Cloudflare");
  if (ctx.liveUrl) {
    ui.note(connectText(ctx.liveUrl, ctx.config), "Live");
  } else {
    const later = runScript(input.packageManager ?? "npm", needsSecrets(ctx.config) ? "provision" : "deploy");
    const why = needsSecrets(ctx.config) ? " (the secrets go up with the deploy)" : "";
    ui.info(`Not deployed (--no-deploy). To deploy: ${later}${why}.`);
  }
  return { outcomes, config: ctx.config, ...(ctx.liveUrl ? { liveUrl: ctx.liveUrl } : {}) };
}

const MARK: Record<Outcome["kind"], [done: string, planned: string]> = {
  created: ["+ created", "+ would create"],
  changed: ["~ changed", "~ would change"],
  replaced: ["! replaced", "! would replace"],
  adopted: ["! adopted", "! would adopt"],
  found: ["= found", "= found"],
  attention: ["!", "!"],
};

function printOutcomes(ui: Ui, redactor: Redactor, outcomes: Outcome[], dryRun: boolean): void {
  for (const outcome of outcomes) {
    if (outcome.kind === "attention") ui.warn(redactor.redact(outcome.what));
    else ui.info(redactor.redact(`  ${MARK[outcome.kind][dryRun ? 1 : 0]} ${outcome.what}`));
  }
}

function summarise(outcomes: Outcome[]): string {
  const count = (kind: Outcome["kind"]) => outcomes.filter((outcome) => outcome.kind === kind).length;
  const lines = [`${count("created")} created, ${count("changed") + count("replaced")} changed${count("adopted") ? ` (${count("adopted")} adopted)` : ""}, ${count("found")} already as wanted.`];
  const attention = outcomes.filter((outcome) => outcome.kind === "attention");
  if (attention.length) lines.push("Needs your attention:", ...attention.map((outcome) => `- ${outcome.what}`));
  lines.push("Ids are recorded in mcp-access.json (commit it): the next provision finds everything again.");
  return lines.join("\n");
}

/** Where the server is and who can connect: the project's clients (config/clients.ts); README.md has each one's steps. */
function connectText(url: string, config: Config): string {
  const mcp = `${url.replace(/\/+$/, "")}/mcp`;
  const chosen = config.clients ?? CLIENT_NAMES;
  const labels = chosen.map((client) => (isClientName(client) ? clientInfo(client).label : client));
  return [
    `MCP endpoint: ${mcp}`,
    `Clients: ${labels.join(", ")}. README.md ("Connect a client") says how to add the server to each.`,
    ...(chosen.includes("claude-code") ? [`Claude Code: claude mcp add --transport http ${config.name} ${mcp}`] : []),
    "The first time, the client opens a browser for you to sign in with Cloudflare Access.",
  ].join("\n");
}

function printPlan(ui: Ui, redactor: Redactor, plan: PlannedCall[], recorded: string[], ctx: ProvisionContext): void {
  const lines = planLines(plan);
  lines.push("", recorded.length ? "Would record in mcp-access.json:" : "mcp-access.json would not change.", ...recorded.map((line) => `  ${line}`));
  if (ctx.plannedCommand) lines.push("", `Would run: ${ctx.plannedCommand}`);
  else lines.push("", "Would not deploy (--no-deploy).");
  ui.note(redactor.redact(lines.join("\n")), "Plan (--dry-run): nothing was changed");
}
