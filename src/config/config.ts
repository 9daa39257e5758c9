import type { ClientChoice } from "./clients.js";
import type { AuthMode, Feature, Language } from "./options.js";

/** A downstream self-hosted app the server may call for the user (SPEC §4.3). */
export interface Downstream {
  /** Identifier used in the tool name: `call_<name>`. */
  name: string;
  /** `https://…`, or `http://` on a loopback host; no trailing slash, no query or fragment. */
  url: string;
  /** Name of the app's Access application, when finding it by the URL's host is not enough. */
  accessApp?: string;
}

/** Who may call a tool (SPEC §9): a caller matching any listed email, email domain or Access group. */
export interface ToolAllow {
  emails: string[];
  domains: string[];
  groups: string[];
}

/** A per-user rate limit: `limit` calls in each `period` seconds (the platform allows only 10 and 60). */
export interface RateLimit {
  limit: number;
  period: 10 | 60;
}

/** What limits one tool; a tool without a policy is open to every signed-in user, as often as they like. */
export interface ToolPolicy {
  allow?: ToolAllow;
  rateLimit?: RateLimit;
}

/** The audit log line per tool call: off, or on with argument names only or also a keyed hash of their values. */
export type Audit = false | { arguments: "names" | "hash" };

/** Audit on, naming the arguments of a call and never their values: what a project gets unless it says otherwise. */
export const DEFAULT_AUDIT: Exclude<Audit, false> = { arguments: "names" };

/**
 * The one validated description of a project. Flags, the config file and the
 * prompts all end here (answers → validate → Config), and everything after
 * (render, write, provision) reads only this.
 */
export interface Config {
  /** Worker name: a DNS label, because it becomes `<name>.<subdomain>.workers.dev`. */
  name: string;
  auth: AuthMode;
  /** `https://<team>.cloudflareaccess.com`; unset until known (provisioning fills it in). */
  team?: string;
  access: {
    emails: string[];
    domains: string[];
    /** IdP ids or types; empty means every IdP of the account (Access's default). */
    idps: string[];
  };
  downstreams: Downstream[];
  /** The MCP clients the server accepts (KNOWN_CLIENTS names, or redirect URIs); unset means every known one. */
  clients?: ClientChoice[];
  /** Per-tool rules, by tool name (only the project's generated tools); empty: every tool open to every signed-in user. */
  tools: Record<string, ToolPolicy>;
  /** Per user, all tools together; unset: no limit. */
  rateLimit?: RateLimit;
  audit: Audit;
  lang: Language;
  features: Feature[];
  /** Custom domain the Worker serves on instead of workers.dev (workers.dev and preview URLs are then off). */
  domain?: string;
  /** Template source for giget; unset means the bundled templates. */
  template?: string;
  accountId?: string;
  /** What provisioning found or created in the account (SPEC §3.4): ids only, never a secret. */
  provisioned?: Provisioned;
}

/**
 * Ids provisioning records as each step succeeds, so a re-run finds what
 * exists and render can put the values the Worker needs into wrangler.jsonc.
 */
export interface Provisioned {
  /** The account's workers.dev subdomain: the Worker serves at `<name>.<subdomain>.workers.dev`. */
  workersSubdomain?: string;
  /** The reusable Access policy allowing `access.emails` and `access.domains`. */
  allowPolicyId?: string;
  /** The Worker's Access application: self-hosted (with its AUD tag) or SaaS OIDC (with its client id). */
  accessApp?: { id: string; aud?: string; clientId?: string };
  /** The KV namespace bound as OAUTH_KV (saas). */
  kvNamespaceId?: string;
  /** Per downstream app (by name): its Access application and the Linked App Token policy on it. */
  downstreams?: Record<string, { appId: string; policyId: string }>;
  /**
   * Ids of what `provision --adopt` took over rather than created (a Worker: its name). It was
   * somebody's before: provision never deletes it to replace it, and destroy leaves it alone.
   */
  adopted?: string[];
  /**
   * The custom domain provision set up (`domain` when it ran) and the zone it is in. The zone goes
   * into wrangler.jsonc's route; the hostname is where the Access app and the route move from when
   * `domain` changes.
   */
  customDomain?: { hostname: string; zone: string };
}

/** Version of the `mcp-access.json` format. */
export const CONFIG_FILE_VERSION = 1;
export const CONFIG_FILE_NAME = "mcp-access.json";
/** The schema ships in the package and is copied into each project so editors work offline. */
export const CONFIG_SCHEMA_PATH = ".mcp-access/mcp-access.schema.json";

/** The on-disk shape of `mcp-access.json`. Never holds a secret. */
export function toConfigFile(config: Config): Record<string, unknown> {
  return {
    $schema: `./${CONFIG_SCHEMA_PATH}`,
    version: CONFIG_FILE_VERSION,
    name: config.name,
    auth: config.auth,
    ...(config.team ? { team: config.team } : {}),
    access: config.access,
    downstreams: config.downstreams,
    ...(config.clients ? { clients: config.clients } : {}),
    ...(Object.keys(config.tools).length ? { tools: toolsFile(config.tools) } : {}),
    ...(config.rateLimit ? { rateLimit: config.rateLimit } : {}),
    // Only when it differs from the default, so a project that never chose keeps a short file.
    ...(isDefaultAudit(config.audit) ? {} : { audit: config.audit }),
    lang: config.lang,
    features: config.features,
    ...(config.domain ? { domain: config.domain } : {}),
    ...(config.template ? { template: config.template } : {}),
    ...(config.accountId ? { accountId: config.accountId } : {}),
    ...(config.provisioned ? { provisioned: config.provisioned } : {}),
  };
}

export function isDefaultAudit(audit: Audit): boolean {
  return audit !== false && audit.arguments === DEFAULT_AUDIT.arguments;
}

/** Each tool's policy as the user would write it: the lists of `allow` that name someone, nothing empty. */
function toolsFile(tools: Record<string, ToolPolicy>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(tools).map(([tool, { allow, rateLimit }]) => [
      tool,
      {
        ...(allow ? { allow: Object.fromEntries(Object.entries(allow).filter(([, list]) => list.length)) } : {}),
        ...(rateLimit ? { rateLimit } : {}),
      },
    ]),
  );
}
