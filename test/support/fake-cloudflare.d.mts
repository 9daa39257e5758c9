// Types for fake-cloudflare.mjs (plain JavaScript, so any Node process can run it with no build).

export interface LoggedRequest {
  seq: number;
  method: string;
  /** The path after /client/v4. */
  path: string;
  query: Record<string, string>;
  outsideBase: boolean;
  token: string | null;
  body: any;
  status: number;
  result: any;
  errors?: { code: number; message: string }[];
  fault?: number;
}

export interface Fault {
  id: number;
  method: string;
  path: string;
  status: number;
  code: number;
  message: string;
  remaining: number;
  hits: number;
}

export interface FaultOptions {
  method?: string;
  path?: string | RegExp;
  status?: number;
  code?: number;
  message?: string;
  times?: number;
  /** Matching requests to let through before the fault applies. */
  after?: number;
  delayMs?: number;
  drop?: boolean;
}

export interface DeployedWorker {
  name: string;
  versionId: string;
  versions: number;
  deployments: number;
  mainModule: string;
  modules: Record<string, { type: string; size: number }>;
  compatibilityDate: string;
  vars: Record<string, unknown>;
  secrets: Record<string, string>;
  kv: Record<string, string>;
  /** Workers Rate Limiting bindings, by name. */
  ratelimits: Record<string, { namespace_id: string; simple: { limit: number; period: 10 | 60 } }>;
  bindings: any[];
  workersDev: { enabled: boolean; previews_enabled: boolean };
  /** The hostnames routed to this Worker as custom domains. */
  customDomains: string[];
}

/** A Workers custom domain: `hostname` routes to the Worker `service`. */
export interface FakeCustomDomain {
  id: string;
  cert_id: string;
  environment: string;
  hostname: string;
  service: string;
  zone_id: string;
  zone_name: string;
}

export interface FakeAccount {
  id: string;
  name: string;
  workersSubdomain: string | null;
  organization: { name: string; auth_domain: string } | null;
  identityProviders: { id: string; name: string; type: string; config: any }[];
  policies: any[];
  apps: any[];
  kvNamespaces: { id: string; title: string }[];
  workers: Record<string, any>;
  customDomains: FakeCustomDomain[];
  zones: { id: string; name: string; status: string; created_on: string }[];
  /** Hostnames with DNS records of their own (not a Worker's): a custom domain there is refused with 100117. */
  dnsRecords: { id: string; type: string; name: string; content: string; proxied: boolean; ttl: number }[];
}

export interface FakeOptions {
  token?: string;
  tokens?: { value: string; kind?: "user" | "account"; status?: string; accounts?: string[]; id?: string }[];
  accountId?: string;
  accounts?: {
    id: string;
    name: string;
    workersSubdomain?: string | null;
    organization?: any;
    identityProviders?: any[];
    zones?: (string | { name: string; status?: string })[];
    dnsRecords?: string[];
  }[];
  /** Zones of the default account: names (active), or { name, status }. */
  zones?: (string | { name: string; status?: string })[];
  /** Hostnames of the default account with DNS records of their own. */
  dnsRecords?: string[];
  team?: string;
  maxPerPage?: number;
  ids?: "sequential" | "random";
  strict?: boolean;
  email?: string;
  port?: number;
  host?: string;
  onResponse?: (entry: LoggedRequest) => void;
}

export interface FakeCloudflare {
  log: LoggedRequest[];
  readonly state: { tokens: any[]; accounts: FakeAccount[] };
  readonly faults: Fault[];
  token: string;
  accountId: string;
  url: string;
  baseURL: string;
  account(id?: string): FakeAccount;
  listen(port?: number, host?: string): Promise<FakeCloudflare>;
  close(): Promise<void>;
  env(extra?: Record<string, string>): Record<string, string>;
  addFault(options?: FaultOptions): Fault;
  failPermission(method: string, path: string | RegExp, times?: number): Fault;
  failOnce(method: string, path: string | RegExp, status?: number): Fault;
  removeWorkersSubdomain(accountId?: string): void;
  /** A Worker deployed by somebody else: one live version with these bindings (a plain_text's `text`, a kv_namespace's `namespace_id`). */
  addWorker(name: string, bindings?: { type: string; name: string; [field: string]: unknown }[], accountId?: string): unknown;
  clearFaults(): void;
  requests(method?: string, path?: string | RegExp): LoggedRequest[];
  mutations(): LoggedRequest[];
  clearLog(): void;
  summary(): string[];
  snapshot(): any;
  deployedWorker(name: string, accountId?: string): DeployedWorker | { name: string; deployed: false } | null;
  reset(): void;
  /** The whole state, for restore(). */
  save(): unknown;
  restore(saved: unknown): void;
}

export const BASE_PATH: string;
export function createFakeCloudflare(options?: FakeOptions): FakeCloudflare;
export function startFakeCloudflare(options?: FakeOptions): Promise<FakeCloudflare>;

/** The fields an app body of each type may carry (the SDK's ApplicationCreateParams members). */
export const APP_BODY_KEYS: { self_hosted: Set<string>; saas: Set<string> };
/** The fields an app answer of each type carries (the SDK's ApplicationGetResponse members). */
export const APP_VIEW_KEYS: { self_hosted: string[]; saas: string[] };
/** The fields a reusable policy's create or update takes (PolicyCreateParams, account_id aside). */
export const POLICY_BODY_KEYS: Set<string>;
/** The fields of a link to a reusable policy in an app body (AccessAppPolicyLink). */
export const POLICY_LINK_KEYS: Set<string>;
/** A self-hosted body's hosts as the API stores them; throws an ApiError (400) when `domain` is not among them. */
export function resolveHosts<Body extends { domain?: string; destinations?: unknown[]; self_hosted_domains?: string[] }>(
  body: Body,
): { domain: string; destinations: NonNullable<Body["destinations"]>; self_hosted_domains: string[] };
/** Throws an ApiError (400) for a wildcard the Managed OAuth allowed_uris rules refuse. */
export function validateOAuth(oauth: unknown): void;
export class ApiError extends Error {
  status: number;
  code: number;
}
