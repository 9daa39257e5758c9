import { UsageError } from "../errors.js";
import { quoted } from "../untrusted.js";
import { CLIENT_NAMES, type ClientChoice, isClientName } from "./clients.js";
import { type Audit, type Config, DEFAULT_AUDIT, type Downstream, type Provisioned, type RateLimit, type ToolAllow, type ToolPolicy } from "./config.js";
import {
  AUTH_MODES,
  type AuthMode,
  DEFAULT_FEATURES,
  FEATURES,
  type Feature,
  IDP_TYPES,
  LANGUAGES,
  type Language,
} from "./options.js";

/**
 * One place that turns untrusted answers into a Config. Every rule lives here
 * and is shared by flags, the config file and the prompts, so the same input
 * gets the same verdict and the same message wherever it came from.
 *
 * Validators return the normalised value or throw an InvalidValue whose
 * message says what is wrong and what to do; `validateAnswers` collects them
 * all, so a user fixes every problem in one go.
 */

export class InvalidValue extends Error {}

const fail = (message: string): never => {
  throw new InvalidValue(message);
};

/** Printable form of a value in a message: quoted, control characters made visible, bounded. */
export function show(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  return quoted(text.length > 80 ? `${text.slice(0, 77)}...` : text);
}

function requireString(value: unknown): string {
  if (typeof value !== "string") fail(`expected a string, got ${show(value)}`);
  return value as string;
}

function requireList(value: unknown): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(`expected a list, got ${show(value)}`);
  return value as unknown[];
}

// A DNS label: the Worker name becomes `<name>.<subdomain>.workers.dev`.
const WORKER_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Turns a directory name into a Worker name, or returns undefined when nothing usable is left. */
export function normaliseWorkerName(raw: string): string | undefined {
  const name = raw
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "") // "Ünïcode" → "Unicode": keep letters, drop their accents
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+/, "")
    .slice(0, 63)
    .replace(/-+$/, "");
  return name === "" ? undefined : name;
}

export function workerName(value: unknown): string {
  const name = requireString(value);
  if (WORKER_NAME.test(name)) return name;
  const suggestion = normaliseWorkerName(name);
  return fail(
    `${show(name)} is not a valid Worker name: use 1–63 lowercase letters, digits and dashes, not starting or ending with a dash` +
      (suggestion ? ` (for example ${show(suggestion)})` : ""),
  );
}

export function choice<T extends string>(allowed: readonly T[]) {
  return (value: unknown): T => {
    const text = requireString(value);
    if ((allowed as readonly string[]).includes(text)) return text as T;
    return fail(`${show(text)} is not one of: ${allowed.join(", ")}`);
  };
}

export const authMode: (value: unknown) => AuthMode = choice(AUTH_MODES);
export const language: (value: unknown) => Language = choice(LANGUAGES);

const TEAM_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const TEAM_URL = /^https:\/\/([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\.cloudflareaccess\.com\/?$/;

/** `acme` or `https://acme.cloudflareaccess.com` → the full team URL, without a trailing slash. */
export function team(value: unknown): string {
  const text = requireString(value).trim().toLowerCase();
  const name = TEAM_NAME.test(text) ? text : TEAM_URL.exec(text)?.[1];
  if (name) return `https://${name}.cloudflareaccess.com`;
  return fail(
    `${show(value)} is not an Access team: give the team name (like "acme") or its URL (like "https://acme.cloudflareaccess.com"); ` +
      "it is shown in Zero Trust under Settings → Custom Pages → Team domain",
  );
}

const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const HOSTNAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})+$`);

/** A public hostname with at least two labels (`example.com`, `mcp.example.com`). */
export function hostname(value: unknown): string {
  const text = requireString(value).trim().toLowerCase();
  if (HOSTNAME.test(text) && !/^[0-9.]+$/.test(text)) return text;
  return fail(`${show(value)} is not a hostname: give a name like "mcp.example.com", without "https://" or a path`);
}

/**
 * `--domain`: the bare hostname the Worker serves on instead of workers.dev, lowercased. It becomes
 * a custom-domain route (wrangler refuses a wildcard or a path there), the Access application's
 * host and the OAuth redirect URLs, so anything more than a hostname is refused with the fix, never
 * trimmed into one: a URL pasted by mistake would otherwise lose its path or port silently.
 */
export function customDomain(value: unknown): string {
  const given = requireString(value);
  const text = given.trim().toLowerCase();
  const fix = 'give the bare hostname, like "mcp.example.com"';
  const refuse = (why: string) => fail(`${show(given)} ${why}: ${fix}`);
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(text) || text.startsWith("//")) refuse("is a URL, not a hostname");
  if (text.includes("*")) refuse("has a wildcard, which a custom domain cannot have (one Worker, one hostname)");
  if (/^\[.*\]$/.test(text) || (text.match(/:/g)?.length ?? 0) > 1 || /^[0-9.]+$/.test(text)) refuse("is an IP address, and a custom domain is a name in a zone of your account");
  if (text.includes("@")) refuse("has a user name");
  if (text.includes("/")) refuse("has a path; the server's path is always /mcp");
  if (/[?#]/.test(text)) refuse("has a query or fragment");
  if (/:\d*$/.test(text)) refuse("has a port; a custom domain serves on 443");
  if (text.endsWith(".") && text.length > 1) refuse("ends with a trailing dot");
  if (/[^\x00-\x7f]/.test(text)) refuse("has non-ASCII letters: give its punycode form (xn--…)");
  if (HOSTNAME.test(text) && /(^|\.)workers\.dev$/.test(text)) {
    return fail(`${show(given)} is a workers.dev host, which the Worker has without --domain: leave --domain out, or give a hostname in a zone of your account, like "mcp.example.com"`);
  }
  if (HOSTNAME.test(text) && /(^|\.)cloudflareaccess\.com$/.test(text)) {
    return fail(`${show(given)} is a Cloudflare Access team domain, not one of yours: give a hostname in a zone of your account, like "mcp.example.com"`);
  }
  if (HOSTNAME.test(text)) return text;
  if (new RegExp(`^${LABEL}$`).test(text)) refuse("is a single label, not a hostname in a zone");
  return refuse("is not a hostname");
}

/** An email domain; a leading `@` is accepted and dropped. */
export function emailDomain(value: unknown): string {
  const text = requireString(value).trim();
  try {
    return hostname(text.startsWith("@") ? text.slice(1) : text);
  } catch {
    return fail(`${show(value)} is not an email domain: give a domain like "example.com"`);
  }
}

// Deliberately simple: what Access accepts is an address with one @ and a real domain.
const EMAIL_LOCAL = /^[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}$/i;

export function email(value: unknown): string {
  const text = requireString(value).trim();
  const at = text.lastIndexOf("@");
  const local = text.slice(0, at);
  const domain = text.slice(at + 1).toLowerCase();
  if (at > 0 && EMAIL_LOCAL.test(local) && HOSTNAME.test(domain)) return `${local}@${domain}`;
  return fail(`${show(value)} is not an email address: give one like "ada@example.com"`);
}

// Ids Access gives identity providers are UUIDs; a type is one of IDP_TYPES.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function idp(value: unknown): string {
  const text = requireString(value).trim();
  if ((IDP_TYPES as readonly string[]).includes(text) || UUID.test(text)) return text;
  const sameCase = IDP_TYPES.find((type) => type.toLowerCase() === text.toLowerCase());
  if (sameCase) return sameCase;
  return fail(`${show(value)} is neither an identity provider id (a UUID) nor a type: ${IDP_TYPES.join(", ")}`);
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/** `https://…`, or `http://` on loopback; no credentials, query or fragment. Returned without a trailing slash. */
export function appUrl(value: unknown): string {
  const text = requireString(value).trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(`${show(value)} is not a URL: give one like "https://wiki.example.com/api"`);
  }
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    fail(`${show(value)} must use https:// (http:// is allowed only on localhost, for local development)`);
  }
  if (url.username || url.password) fail(`${show(value)} must not contain a user name or password`);
  if (url.search || url.hash) fail(`${show(value)} must not have a query or fragment: give the app's base URL`);
  if (!loopback) hostname(url.hostname);
  return url.href.replace(/\/+$/, "");
}

// Becomes part of a tool name (`call_<name>`) and of generated identifiers.
const DOWNSTREAM_NAME = /^[a-z][a-z0-9_]{0,39}$/;

export function downstreamName(value: unknown): string {
  if (typeof value === "string" && DOWNSTREAM_NAME.test(value)) return value;
  return fail(
    `downstream name ${show(value)} must start with a lowercase letter and use only lowercase letters, digits and _ (at most 40), ` +
      "because it becomes the tool name call_<name>",
  );
}

export function downstream(value: unknown): Downstream {
  let name: unknown;
  let url: unknown;
  let accessApp: unknown;
  if (typeof value === "string") {
    const eq = value.indexOf("=");
    if (eq < 0) fail(`${show(value)} is not of the form name=url (like "wiki=https://wiki.example.com/api")`);
    name = value.slice(0, eq).trim();
    url = value.slice(eq + 1);
  } else if (value && typeof value === "object" && !Array.isArray(value)) {
    ({ name, url, accessApp } = value as Record<string, unknown>);
    const extra = Object.keys(value).filter((key) => !["name", "url", "accessApp"].includes(key));
    if (extra.length) fail(`unknown key ${show(extra[0])} in a downstream app: only "name", "url" and "accessApp" are allowed`);
  } else {
    fail(`${show(value)} is not a downstream app: give name=url, or {"name": …, "url": …} in a config file`);
  }
  return { name: downstreamName(name), url: appUrl(url), ...(accessApp === undefined ? {} : { accessApp: accessAppName(accessApp) }) };
}

// RFC 3986 scheme. Private-use schemes (RFC 8252 §7.1) are an app's own, like `cursor://`.
const URI_SCHEME = /^([a-z][a-z0-9+.-]*):/i;
/**
 * Network protocols the system hands to its own handlers, never an app's redirect URI: a code sent
 * there goes to a remote host (smb:// with a Windows password hash). The saas Worker refuses the same
 * ones at /authorize (templates/saas/src/auth.ts; a test keeps the two lists equal).
 */
export const NETWORK_SCHEMES = "ftp ftps sftp ssh telnet ws wss smb cifs nfs afp dav webdav ldap ldaps gopher".split(" ");
// Not an app's either: what a browser runs or reads itself (script or files, with the user's code).
const NOT_APP_SCHEMES = new Set([...NETWORK_SCHEMES, ..."javascript data vbscript file blob about filesystem view-source mailto chrome edge".split(" ")]);

/**
 * One entry of `clients`: a known client's name (KNOWN_CLIENTS, any case), or the redirect URI of an
 * app of the user's own, which Managed OAuth then allows exactly: `https://…` (a trailing `*` is
 * Managed OAuth's wildcard, and only there), a private-use scheme (`myapp://callback`, never with a
 * wildcard: Access matches those exactly), or `http://` on loopback (for a local tool).
 */
export function client(value: unknown): ClientChoice {
  const text = requireString(value).trim();
  const named = text.toLowerCase();
  if (isClientName(named)) return named;
  const scheme = URI_SCHEME.exec(text)?.[1]?.toLowerCase();
  if (!scheme) return fail(`${show(value)} is neither a known client (${CLIENT_NAMES.join(", ")}) nor a redirect URI like "https://app.example.com/oauth/callback"`);
  if (text.length > 500 || /[\u0000-\u0020\u007f-\u009f\\]/.test(text)) fail(`${show(value)} is not a redirect URI: it has spaces, control characters or a backslash`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(`${show(value)} is not a valid URI`);
  }
  if (url.username || url.password) fail(`${show(value)} must not contain a user name or password`);
  if (url.hash || text.includes("#")) fail(`${show(value)} must not have a fragment: a redirect URI never does (RFC 6749 §3.1.2)`);
  const wildcard = text.indexOf("*");
  if (scheme === "https") {
    if (!HOSTNAME.test(url.hostname) || /^[0-9.]+$/.test(url.hostname)) fail(`${show(value)} must name its host (like "app.example.com"), not an IP address or a single label`);
    if (wildcard >= 0 && (wildcard !== text.length - 1 || !url.pathname.endsWith("/*"))) {
      fail(`${show(value)}: a wildcard is allowed only as a whole last path segment, like "https://app.example.com/oauth/*"`);
    }
    return text;
  }
  if (scheme === "http") {
    if (!isLoopbackHost(url.hostname)) fail(`${show(value)} must use https:// (http:// is allowed only on localhost and 127.0.0.1)`);
    if (wildcard >= 0) fail(`${show(value)}: no wildcard on loopback; every loopback redirect is allowed once one client uses loopback`);
    return text;
  }
  if (NOT_APP_SCHEMES.has(scheme)) fail(`${show(value)}: ${scheme}: is not an app's redirect URI; use https:// or your app's own scheme (like "myapp://oauth/callback")`);
  if (wildcard >= 0) fail(`${show(value)}: Access matches an app's own scheme exactly, so it cannot have a wildcard`);
  return text;
}

/** A URI given with different case in its scheme or host is the same client: one key for both. */
const clientKey = (choice: string) => (isClientName(choice) ? choice : choice.replace(/^[^:]+:(\/\/[^/?#]*)?/, (start) => start.toLowerCase()));

/** An Access application's name as shown in the dashboard: free text, but one printable line. */
export function accessAppName(value: unknown): string {
  const text = requireString(value).trim();
  if (text !== "" && text.length <= 200 && !/[\u0000-\u001f\u007f]/.test(text)) return text;
  return fail(`${show(value)} is not an Access application name: give the name shown in Zero Trust, on one line`);
}

const ACCOUNT_ID = /^[0-9a-f]{32}$/;

export function accountId(value: unknown): string {
  const text = requireString(value).trim().toLowerCase();
  if (ACCOUNT_ID.test(text)) return text;
  return fail(`${show(value)} is not a Cloudflare account id (32 hexadecimal characters, shown in the dashboard's URL)`);
}

export function templateSource(value: unknown): string {
  const text = requireString(value).trim();
  if (text !== "" && !/[\s\0]/.test(text)) return text;
  return fail(`${show(value)} is not a template source: give one like "gh:org/repo/path" or a tarball URL`);
}

// Ids Cloudflare gives apps, policies and namespaces (UUIDs, hex tags). They land in wrangler.jsonc,
// so anything that is not a plain token is refused rather than escaped.
const RESOURCE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

function resourceId(value: unknown, what: string): string {
  if (typeof value === "string" && RESOURCE_ID.test(value)) return value;
  return fail(`${what} ${show(value)} is not a Cloudflare id (letters, digits, - and _): restore it from git, or delete it and provision again`);
}

function objectWith(value: unknown, what: string, keys: readonly string[]): Record<string, unknown> {
  if (!value || typeof value !== "object" || Array.isArray(value)) fail(`${what} must be an object`);
  const extra = Object.keys(value as object).filter((key) => !keys.includes(key));
  if (extra.length) fail(`unknown key ${show(extra[0])} in ${what} (known: ${keys.join(", ")})`);
  return value as Record<string, unknown>;
}

/**
 * What provisioning recorded. Written by the tool, but the file is the user's:
 * it is checked like any input.
 */
export function provisioned(value: unknown): Provisioned {
  const record = objectWith(value, "provisioned", ["workersSubdomain", "allowPolicyId", "accessApp", "kvNamespaceId", "downstreams", "adopted", "customDomain"]);
  const out: Provisioned = {};
  if (record.workersSubdomain !== undefined) {
    const subdomain = requireString(record.workersSubdomain);
    if (!WORKER_NAME.test(subdomain)) fail(`provisioned.workersSubdomain ${show(subdomain)} is not a workers.dev subdomain`);
    out.workersSubdomain = subdomain;
  }
  if (record.allowPolicyId !== undefined) out.allowPolicyId = resourceId(record.allowPolicyId, "provisioned.allowPolicyId");
  if (record.accessApp !== undefined) {
    const app = objectWith(record.accessApp, "provisioned.accessApp", ["id", "aud", "clientId"]);
    out.accessApp = { id: resourceId(app.id, "provisioned.accessApp.id") };
    if (app.aud !== undefined) out.accessApp.aud = resourceId(app.aud, "provisioned.accessApp.aud");
    if (app.clientId !== undefined) out.accessApp.clientId = resourceId(app.clientId, "provisioned.accessApp.clientId");
  }
  if (record.kvNamespaceId !== undefined) out.kvNamespaceId = resourceId(record.kvNamespaceId, "provisioned.kvNamespaceId");
  if (record.downstreams !== undefined) {
    const all = objectWith(record.downstreams, "provisioned.downstreams", Object.keys(record.downstreams as object));
    out.downstreams = {};
    for (const [name, entry] of Object.entries(all)) {
      const where = `provisioned.downstreams.${downstreamName(name)}`;
      const ids = objectWith(entry, where, ["appId", "policyId"]);
      out.downstreams[name] = { appId: resourceId(ids.appId, `${where}.appId`), policyId: resourceId(ids.policyId, `${where}.policyId`) };
    }
  }
  if (record.adopted !== undefined) {
    const adopted = record.adopted;
    if (!Array.isArray(adopted)) fail(`provisioned.adopted must be a list of ids, got ${show(adopted)}`);
    out.adopted = listOf(String)((adopted as unknown[]).map((id, index) => resourceId(id, `provisioned.adopted[${index}]`)));
  }
  if (record.customDomain !== undefined) {
    const domain = objectWith(record.customDomain, "provisioned.customDomain", ["hostname", "zone"]);
    // The zone lands in wrangler.jsonc, the hostname in Access: both must be what --domain accepts.
    const hostname = at("provisioned.customDomain.hostname", () => customDomain(domain.hostname));
    const zone = at("provisioned.customDomain.zone", () => customDomain(domain.zone));
    if (hostname !== zone && !hostname.endsWith(`.${zone}`)) fail(`provisioned.customDomain: ${show(hostname)} is not in the zone ${show(zone)}: delete provisioned.customDomain, and provision finds the zone again`);
    out.customDomain = { hostname, zone };
  }
  return out;
}

/** `none`, or a list of features (a comma list from the CLI, an array from a file). */
export function features(value: unknown): Feature[] {
  const items = typeof value === "string" ? value.split(",").map((item) => item.trim()) : requireList(value);
  if (items.length === 1 && items[0] === "none") return [];
  const parsed = items.map((item) => {
    if (item === "none") fail(`"none" cannot be combined with other features`);
    return choice(FEATURES)(item);
  });
  return FEATURES.filter((feature) => parsed.includes(feature));
}

/** Applies `check` to each item, rejects duplicates (by `key`), keeps the order given. */
function listOf<T>(check: (value: unknown) => T, key: (item: T) => string = String) {
  return (value: unknown): T[] => {
    const items = requireList(value).map(check);
    const seen = new Set<string>();
    for (const item of items) {
      if (seen.has(key(item))) fail(`${show(key(item))} is given twice`);
      seen.add(key(item));
    }
    return items;
  };
}

export const emails: (value: unknown) => string[] = listOf(email, (item) => item.toLowerCase());
export const emailDomains: (value: unknown) => string[] = listOf(emailDomain);
export const idps: (value: unknown) => string[] = listOf(idp);
export const downstreams: (value: unknown) => Downstream[] = listOf(downstream, (item) => item.name);
/** `clients` from the CLI (repeatable, or a comma list) or a file (a list); never empty. */
export function clients(value: unknown): ClientChoice[] {
  const items = typeof value === "string" ? value.split(",") : requireList(value);
  const list = listOf(client, clientKey)(items);
  if (!list.length) fail(`give at least one client (${CLIENT_NAMES.join(", ")}), or leave it out for all of them`);
  return list;
}

// --- Who may call what (SPEC §9) ---

/** Re-throws a validator's message with the place it applies to in front: `tools.call_wiki.allow.emails: …`. */
function at<T>(where: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof InvalidValue) fail(`${where}: ${error.message}`);
    throw error;
  }
}

/** An Access group's name as the identity provider sends it: free text, but one printable line. */
export function group(value: unknown): string {
  const text = requireString(value).trim();
  if (text !== "" && text.length <= 256 && !/[\u0000-\u001f\u007f-\u009f]/.test(text)) return text;
  return fail(`${show(value)} is not an Access group name: give the group's name as your identity provider shows it, on one line (at most 256 characters)`);
}

/** Group names, the same one given twice kept once: a repeat changes nothing about who matches. */
export function groups(value: unknown): string[] {
  return [...new Set(requireList(value).map(group))];
}

export const RATE_LIMIT_PERIODS = [10, 60] as const;
const MAX_RATE_LIMIT = 1_000_000;

/**
 * `{ "limit": 60, "period": 60 }` from a file, or `60/60` from --rate-limit: `limit` calls per user in each
 * `period` seconds. The Workers Rate Limiting binding counts only over 10 or 60 seconds.
 */
export function rateLimit(value: unknown): RateLimit {
  let limit: unknown;
  let period: unknown;
  if (typeof value === "string") {
    const parts = value.split("/").map((part) => part.trim());
    if (parts.length !== 2) fail(`${show(value)} is not <limit>/<period>: give one like "60/60" (60 calls per user every 60 seconds)`);
    [limit, period] = parts.map((part) => (/^-?\d+(?:\.\d+)?$/.test(part) ? Number(part) : part));
  } else {
    ({ limit, period } = objectWith(value, "a rate limit", ["limit", "period"]));
  }
  if (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_RATE_LIMIT) {
    fail(`limit ${show(limit)} is not a number of calls: give a whole number from 1 to ${MAX_RATE_LIMIT}`);
  }
  if (!(RATE_LIMIT_PERIODS as readonly unknown[]).includes(period)) {
    fail(`period ${show(period)} is not allowed: use 10 or 60 (seconds; the platform counts over no other period)`);
  }
  return { limit: limit as number, period: period as RateLimit["period"] };
}

const ALLOW_KEYS = ["emails", "domains", "groups"] as const;

function toolAllow(value: unknown, where: string): ToolAllow {
  const given = objectWith(value, where, ALLOW_KEYS);
  const allow: ToolAllow = {
    emails: at(`${where}.emails`, () => emails(given.emails)),
    domains: at(`${where}.domains`, () => emailDomains(given.domains)),
    groups: at(`${where}.groups`, () => groups(given.groups)),
  };
  if (!allow.emails.length && !allow.domains.length && !allow.groups.length) {
    fail(`${where} names no one: list emails, domains or groups, or remove "allow" to open the tool to every signed-in user`);
  }
  return allow;
}

function toolPolicy(value: unknown, where: string): ToolPolicy {
  const given = objectWith(value, where, ["allow", "rateLimit"]);
  if (given.allow === undefined && given.rateLimit === undefined) {
    fail(`${where} sets neither "allow" nor "rateLimit": remove the entry to open the tool to every signed-in user`);
  }
  return {
    ...(given.allow === undefined ? {} : { allow: toolAllow(given.allow, `${where}.allow`) }),
    ...(given.rateLimit === undefined ? {} : { rateLimit: at(`${where}.rateLimit`, () => rateLimit(given.rateLimit)) }),
  };
}

/**
 * `tools`: an object of tool name → policy (a config file, the prompts), or the values of --allow-tool,
 * `<tool>=<who>[,<who>…]` each, where who is an email, an `@domain` or `group:<name>`; several for one
 * tool add up. Whether each tool exists is checked with the downstream apps, in validateAnswers.
 */
export function tools(value: unknown): Record<string, ToolPolicy> {
  const given = Array.isArray(value) ? toolsFromFlags(value) : value;
  const all = objectWith(given, "tools", given && typeof given === "object" ? Object.keys(given) : []);
  // fromEntries defines own keys: a tool named "__proto__" stays a key (and is refused as no tool of the project).
  // A name that is not a plain word is quoted in messages, so no control character reaches the terminal.
  const path = (tool: string) => `tools.${/^\w+$/.test(tool) ? tool : show(tool)}`;
  return Object.fromEntries(Object.entries(all).map(([tool, policy]) => [tool, toolPolicy(policy, path(tool))]));
}

function toolsFromFlags(values: unknown[]): Record<string, { allow: Record<(typeof ALLOW_KEYS)[number], string[]> }> {
  const rules = new Map<string, Record<(typeof ALLOW_KEYS)[number], string[]>>();
  for (const value of values) {
    const text = requireString(value);
    const eq = text.indexOf("=");
    const tool = text.slice(0, eq).trim();
    const who = text.slice(eq + 1).split(",").map((item) => item.trim()).filter(Boolean);
    if (eq < 0 || tool === "" || !who.length) {
      fail(`${show(text)} is not <tool>=<who>: give one like "call_wiki=ada@example.com", "call_wiki=@example.com" or "call_wiki=group:wiki-editors"`);
    }
    const allow = rules.get(tool) ?? { emails: [], domains: [], groups: [] };
    rules.set(tool, allow);
    const place = show(text);
    for (const item of who) {
      if (item.startsWith("group:")) allow.groups.push(at(place, () => group(item.slice("group:".length))));
      else if (item.startsWith("@")) allow.domains.push(at(place, () => emailDomain(item)));
      else if (item.indexOf("@") > 0) allow.emails.push(at(place, () => email(item)));
      else fail(`${place}: ${show(item)} is neither an email, an @domain nor group:<name> (for a group, write "group:${item}")`);
    }
  }
  return Object.fromEntries([...rules].map(([tool, allow]) => [tool, { allow }]));
}

/** The tools the project generates, which `tools` may name: whoami, and call_<name> per downstream app. */
export function generatedTools(downstreams: readonly Downstream[]): string[] {
  return ["whoami", ...downstreams.map((app) => `call_${app.name}`)];
}

/** `true` (the default), `false`, or `{ "arguments": "names" | "hash" }`. */
export function audit(value: unknown): Audit {
  if (value === true) return { ...DEFAULT_AUDIT };
  if (value === false) return false;
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const { arguments: args = DEFAULT_AUDIT.arguments } = objectWith(value, "audit", ["arguments"]);
    if (args === "names" || args === "hash") return { arguments: args };
    return fail(`audit.arguments ${show(args)} is not one of: names (argument names only), hash (also a keyed hash of each value)`);
  }
  return fail(`${show(value)} is not an audit setting: use true, false or {"arguments": "names" | "hash"}`);
}

/** Raw answers: anything may be missing or of the wrong type until validated. */
export interface RawAnswers {
  name?: unknown;
  auth?: unknown;
  team?: unknown;
  emails?: unknown;
  domains?: unknown;
  idps?: unknown;
  downstreams?: unknown;
  clients?: unknown;
  tools?: unknown;
  rateLimit?: unknown;
  audit?: unknown;
  lang?: unknown;
  features?: unknown;
  domain?: unknown;
  template?: unknown;
  accountId?: unknown;
  provisioned?: unknown;
}
export type AnswerField = keyof RawAnswers;

/** Where each answer came from, to name it in an error: `--team`, `"team" in ./cfg.json`, … */
export type Origins = Partial<Record<AnswerField, string>>;

export const FLAG_OF: Record<AnswerField, string> = {
  name: "--name",
  auth: "--auth",
  team: "--team",
  emails: "--allow-email",
  domains: "--allow-domain",
  idps: "--idp",
  downstreams: "--downstream",
  clients: "--client",
  tools: "--allow-tool",
  rateLimit: "--rate-limit",
  audit: "--audit-arguments",
  lang: "--lang",
  features: "--features",
  domain: "--domain",
  template: "--template",
  accountId: "--account-id",
  provisioned: `"provisioned" in mcp-access.json`,
};

const VALIDATORS: { [K in AnswerField]-?: (value: unknown) => unknown } = {
  name: workerName,
  auth: authMode,
  team,
  emails,
  domains: emailDomains,
  idps,
  downstreams,
  clients,
  tools,
  rateLimit,
  audit,
  lang: language,
  features,
  domain: customDomain,
  template: templateSource,
  accountId,
  provisioned,
};

/**
 * Validates complete answers (defaults already applied) into a Config.
 * Throws one UsageError listing every problem, each naming where the value came from.
 */
export function validateAnswers(answers: RawAnswers, origins: Origins = {}): Config {
  const problems: string[] = [];
  const valid: Record<string, unknown> = {};
  for (const field of Object.keys(VALIDATORS) as AnswerField[]) {
    const value = answers[field];
    if (value === undefined) continue;
    try {
      valid[field] = VALIDATORS[field](value);
    } catch (error) {
      if (!(error instanceof InvalidValue)) throw error;
      problems.push(`${origins[field] ?? FLAG_OF[field]}: ${error.message}`);
    }
  }
  for (const field of ["name", "auth"] as const) {
    if (answers[field] === undefined) problems.push(`${origins[field] ?? FLAG_OF[field]}: missing`);
  }
  // Only when the apps are valid: otherwise the list of the project's tools would be wrong too.
  if (valid.tools && !problems.some((problem) => problem.startsWith(`${origins.downstreams ?? FLAG_OF.downstreams}:`))) {
    const known = generatedTools((valid.downstreams as Downstream[]) ?? []);
    for (const tool of Object.keys(valid.tools as object).filter((name) => !known.includes(name))) {
      problems.push(
        `${origins.tools ?? FLAG_OF.tools}: ${show(tool)} is not a tool this project generates (its tools: ${known.join(", ")}). ` +
          `To limit a tool you wrote yourself, add it to TOOL_RULES in src/tool-rules.${(valid.lang as Language | undefined) ?? "ts"}.`,
      );
    }
  }
  if (problems.length) {
    throw new UsageError(problems.length === 1 ? "Invalid input:" : `Invalid input (${problems.length} problems):`, problems);
  }
  return {
    name: valid.name as string,
    auth: valid.auth as AuthMode,
    ...(valid.team ? { team: valid.team as string } : {}),
    access: {
      emails: (valid.emails as string[]) ?? [],
      domains: (valid.domains as string[]) ?? [],
      idps: (valid.idps as string[]) ?? [],
    },
    downstreams: (valid.downstreams as Downstream[]) ?? [],
    ...(valid.clients ? { clients: valid.clients as ClientChoice[] } : {}),
    tools: (valid.tools as Record<string, ToolPolicy>) ?? {},
    ...(valid.rateLimit ? { rateLimit: valid.rateLimit as RateLimit } : {}),
    audit: (valid.audit as Audit | undefined) ?? { ...DEFAULT_AUDIT },
    lang: (valid.lang as Language) ?? "ts",
    features: (valid.features as Feature[]) ?? [...DEFAULT_FEATURES],
    ...(valid.domain ? { domain: valid.domain as string } : {}),
    ...(valid.template ? { template: valid.template as string } : {}),
    ...(valid.accountId ? { accountId: valid.accountId as string } : {}),
    ...(valid.provisioned ? { provisioned: valid.provisioned as Provisioned } : {}),
  };
}
