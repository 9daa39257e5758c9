import type { JSONPath } from "jsonc-parser";
import type { Prompter } from "../answers/prompts.js";
import type { Config, Downstream } from "../config/config.js";
import type { AccessApp, AccessPolicy, CloudflareApi, KvNamespace } from "./cloudflare-api.js";
import type { Redactor } from "./redact.js";

/** What a step did to one thing, for the progress lines and the final summary. */
export type OutcomeKind = "created" | "changed" | "found" | "replaced" | "adopted" | "attention";

export interface Outcome {
  kind: OutcomeKind;
  what: string;
}

/** The secrets of this run. In memory only: never recorded, never printed (SPEC §7). */
export interface RunSecrets {
  /** A SaaS app's client secret: Cloudflare returns it only in the response that creates the app. */
  clientSecret?: string;
  cookieKey?: string;
  /** The key of the audit log's argument hashes (AUDIT_HASH_KEY). */
  auditHashKey?: string;
}

/** The secrets wrangler uploads with the deploy, by Worker secret name. */
export type WorkerSecrets = Record<string, string>;

export interface DeployRequest {
  root: string;
  accountId: string;
  /**
   * The Worker to deploy: the name in mcp-access.json, the one findExisting proved is this
   * project's. Passed as `--name`, so a different name in wrangler.jsonc cannot aim the deploy elsewhere.
   */
  worker: string;
  secrets: WorkerSecrets;
}

export interface DeployResult {
  /** The Worker's URL, from wrangler's output file; undefined if wrangler did not say. */
  url?: string;
}

/** Runs the one `wrangler deploy`; deploy.ts has the real one, unit tests a recorder. */
export interface Deployer {
  /** The exact command, for `--dry-run` and `--no-deploy`, with no secret value in it. */
  describe(request: Omit<DeployRequest, "accountId"> & { accountId?: string }): string;
  deploy(request: DeployRequest): Promise<DeployResult>;
}

export type ProvisionPrompter = Pick<Prompter, "select" | "multiselect" | "confirm" | "isCancel">;

/**
 * What already exists for this project, found by the ids in mcp-access.json or
 * by name and host, each proven to be this project's (or adopted with --adopt)
 * before the first change of the run. The steps that change things start from here.
 */
export interface Existing {
  allowPolicy?: AccessPolicy;
  kvNamespace?: KvNamespace;
  app?: AccessApp;
  /** `app` is the one mcp-access.json records: only such an app is ever replaced. */
  appRecorded: boolean;
  linkPolicy?: AccessPolicy;
  /** Each downstream app's Access application, or why there is none to link. */
  downstreams: DownstreamTarget[];
  /** Ids of the objects taken over with --adopt, in this run or (provisioned.adopted) an earlier one. */
  adopted: Set<string>;
}

export interface DownstreamTarget {
  downstream: Downstream;
  app?: AccessApp;
  /** Why nothing is linked (the app is on this machine, missing, or not self-hosted), with what to do. */
  unlinkable?: string;
}

/**
 * The one object every step reads and extends. Steps are small functions of
 * it, run in SPEC §5's order; what one learns (the account, the app…) the
 * next ones use, and what must survive the run goes through `record`.
 */
export interface ProvisionContext {
  api: CloudflareApi;
  /** The project's config, updated as steps learn (the team, the account, the ids). */
  config: Config;
  root: string;
  /** `--account-id`, which wins over mcp-access.json and CLOUDFLARE_ACCOUNT_ID. */
  accountIdFlag?: string;
  env: Record<string, string | undefined>;
  /** Set in a terminal: the account and identity providers may be asked for. */
  prompter?: ProvisionPrompter;
  dryRun: boolean;
  deploy: boolean;
  /** `--adopt`: objects that are not provably this project's are taken over (after a confirmation) instead of stopping the run. */
  adopt: boolean;
  secrets: RunSecrets;
  redactor: Redactor;
  /** 32 random bytes, hex: COOKIE_ENCRYPTION_KEY (and, as base64url, AUDIT_HASH_KEY). Passed in so tests can tell it apart. */
  randomKey: () => string;
  deployer: Deployer;
  /**
   * Brings the recorded values into wrangler.jsonc and the other files they appear in, through
   * regenerate's three-way merge; returns the files changed (in a dry run: that would change).
   */
  updateProjectFiles: (config: Config) => Promise<string[]>;

  /** Sets `path` in mcp-access.json (kept as the user formatted it) and in `config`. In a dry run, only in `config`. */
  record(path: JSONPath, value: unknown): Promise<void>;
  report(kind: OutcomeKind, what: string): void;

  // Learned by the steps, in order.
  accountId?: string;
  /** Where the Worker serves: `<name>.<subdomain>.workers.dev` or the custom domain. */
  host?: string;
  /** The custom domain and the zone of the account it is in, once checked. */
  customDomain?: { hostname: string; zone: string };
  /** The custom domain the project served on before `domain` changed or went, when it still routes to this Worker. */
  formerHost?: string;
  idpIds?: string[];
  existing?: Existing;
  allowPolicyId?: string;
  app?: AccessApp;
  /** Secret names the deployed Worker has; null when the Worker does not exist yet, none when it is somebody else's taken over with --adopt. */
  workerSecrets?: string[] | null;
  /** Set by the deploy step. */
  liveUrl?: string;
  /** `--dry-run`: the wrangler command the deploy step would run. */
  plannedCommand?: string;
}

export function getAtPath(target: object, path: JSONPath): unknown {
  let node: unknown = target;
  // Own keys only: a downstream named "constructor" must not find Object.prototype.constructor.
  for (const key of path) node = node && typeof node === "object" && Object.hasOwn(node, key) ? (node as Record<string | number, unknown>)[key] : undefined;
  return node;
}

/** Applies a recorded value to the in-memory config, at the same path as in mcp-access.json. */
export function setAtPath(target: object, path: JSONPath, value: unknown): void {
  let node = target as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) {
    if (!Object.hasOwn(node, key)) setOwn(node, key, {});
    node = node[key] as Record<string | number, unknown>;
  }
  setOwn(node, path.at(-1)!, value);
}

/** A plain own property, even for a key like `__proto__`, which an assignment would turn into a prototype change. */
function setOwn(node: object, key: string | number, value: unknown): void {
  Object.defineProperty(node, key, { value, writable: true, enumerable: true, configurable: true });
}
