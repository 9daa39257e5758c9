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
  lang: Language;
  features: Feature[];
  /** Custom hostname instead of workers.dev. */
  domain?: string;
  /** Template source for giget; unset means the bundled templates. */
  template?: string;
  accountId?: string;
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
    lang: config.lang,
    features: config.features,
    ...(config.domain ? { domain: config.domain } : {}),
    ...(config.template ? { template: config.template } : {}),
    ...(config.accountId ? { accountId: config.accountId } : {}),
  };
}
