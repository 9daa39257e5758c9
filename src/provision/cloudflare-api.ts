/**
 * The Cloudflare API as provisioning sees it: the few calls it makes, their
 * request bodies typed with the SDK's own parameter types, their answers read
 * loosely (a few fields read, the rest sent back untouched). The real implementation (sdk-api.ts) goes through the official
 * SDK; unit tests pass an in-memory fake; `--dry-run` wraps the real one so
 * reads go out and writes are only described (dry-run-api.ts).
 *
 * Each call is also listed in ROUTES with its HTTP method, path and the token
 * permission it needs, so a plan can show it and an error can name what is
 * missing.
 */

import type { AccessRuleParam } from "cloudflare/resources/zero-trust/access/applications/policies";
import type { ApplicationCreateParams, OIDCSaaSAppParam } from "cloudflare/resources/zero-trust/access/applications/applications";
import type { PolicyCreateParams } from "cloudflare/resources/zero-trust/access/policies";

/** An Access rule, like `{ email: { email } }` or `{ linked_app_token: { app_uid } }`. */
export type AccessRule = AccessRuleParam;

/**
 * A request body: the SDK's own parameters for that call without the account
 * id (it goes in the path; provisioning makes nothing zone-level). Deriving
 * the bodies from the SDK's types makes a field the SDK does not know, or a
 * value of the wrong type, a compile error rather than a 400 from the API, and
 * sdk-api.ts passes them on without a cast. Type-only imports: nothing of the
 * SDK is bundled for them.
 */
type Body<Params> = Omit<Params, "account_id" | "zone_id">;

/** What a policy is read as. Responses stay loose: provisioning reads a few fields and sends the rest back untouched. */
export interface AccessPolicy {
  id: string;
  name: string;
  decision: string;
  include: AccessRule[];
  exclude?: AccessRule[];
  require?: AccessRule[];
  [field: string]: unknown;
}

/** Create and update take the same fields (sdk-api.ts has the compiler check it against PolicyUpdateParams too). */
export type PolicyBody = Body<PolicyCreateParams>;

/** How a body names a policy on an app: by id, with its precedence. */
export type AppPolicyRef = { id: string; precedence?: number };

/** Managed OAuth on a self-hosted app. */
export type OAuthConfiguration = NonNullable<ApplicationCreateParams.SelfHostedApplication["oauth_configuration"]>;

/** The OIDC settings of an Access for SaaS app (provisioning makes no SAML ones). */
export type SaasOidcApp = OIDCSaaSAppParam;

/** A self-hosted app's body; policies as references, which is all provisioning sends. */
export type SelfHostedAppBody = Omit<Body<ApplicationCreateParams.SelfHostedApplication>, "type" | "policies"> & {
  type: "self_hosted";
  name: string;
  policies: AppPolicyRef[];
};

/** An Access for SaaS (OIDC) app's body. */
export type SaasAppBody = Omit<Body<ApplicationCreateParams.SaaSApplication>, "type" | "policies" | "saas_app"> & {
  type: "saas";
  name: string;
  saas_app: SaasOidcApp;
  policies: AppPolicyRef[];
};

/**
 * What create and update send: an update replaces the whole app, so it carries
 * every field. Only the two types provisioning writes: its own app is one of
 * them, and a downstream app it links is always self-hosted (findExisting
 * refuses any other type before a write). Narrower than the SDK's union (a
 * literal `type`, a required name, policies as references) and checked
 * against ApplicationUpdateParams too where sdk-api.ts sends an update.
 */
export type AppBody = SelfHostedAppBody | SaasAppBody;

/** The fields provisioning sets on its own app, before the policies. */
export type AppFields = DistributiveOmit<AppBody, "policies">;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What an app is read as (any type: a list returns them all). */
export interface AccessApp {
  id: string;
  uid?: string;
  aud?: string;
  type: string;
  name: string;
  domain?: string;
  allowed_idps?: string[];
  auto_redirect_to_identity?: boolean;
  oauth_configuration?: OAuthConfiguration;
  saas_app?: SaasOidcApp & { created_at?: string; updated_at?: string };
  /** The API answers with each policy in full; provisioning reads its id and precedence. */
  policies?: (AppPolicyRef & { name?: string; [field: string]: unknown })[];
  [field: string]: unknown;
}

export interface Account {
  id: string;
  name: string;
}

export interface IdentityProvider {
  id: string;
  name: string;
  type: string;
}

export interface KvNamespace {
  id: string;
  title: string;
}

/** One of a deployed Worker's bindings: a plain_text var has its `text`, a kv_namespace its `namespace_id`, a secret only its name. */
export interface WorkerBinding {
  type: string;
  name: string;
  text?: string;
  namespace_id?: string;
  [field: string]: unknown;
}

/** A zone of the account (Cloudflare DNS): a custom domain must be inside one. */
export interface Zone {
  id: string;
  name: string;
  status?: string;
}

/** A Workers custom domain: a hostname routed to a Worker, with the DNS record and certificate Cloudflare made for it. */
export interface WorkerDomain {
  id: string;
  hostname: string;
  /** The Worker the hostname routes to. */
  service: string;
  zone_id?: string;
  zone_name?: string;
}

/** A DNS record of a zone, as much of it as a message names. */
export interface DnsRecord {
  type: string;
  name: string;
  content?: string;
}

export interface CloudflareApi {
  /** Checks a user-owned token; throws (401) for an account-owned one, which listAccounts then proves. */
  verifyToken(): Promise<{ status: string }>;
  listAccounts(): Promise<Account[]>;
  /** undefined when the account has no workers.dev subdomain. */
  getWorkersSubdomain(accountId: string): Promise<string | undefined>;
  /** The Zero Trust organization; undefined when the account has none. */
  getOrganization(accountId: string): Promise<{ auth_domain: string; name?: string } | undefined>;
  listIdentityProviders(accountId: string): Promise<IdentityProvider[]>;
  getPolicy(accountId: string, id: string): Promise<AccessPolicy | undefined>;
  listPolicies(accountId: string): Promise<AccessPolicy[]>;
  createPolicy(accountId: string, body: PolicyBody): Promise<AccessPolicy>;
  updatePolicy(accountId: string, id: string, body: PolicyBody): Promise<AccessPolicy>;
  getApp(accountId: string, id: string): Promise<AccessApp | undefined>;
  listApps(accountId: string): Promise<AccessApp[]>;
  createApp(accountId: string, body: AppBody): Promise<AccessApp>;
  updateApp(accountId: string, id: string, body: AppBody): Promise<AccessApp>;
  deleteApp(accountId: string, id: string): Promise<void>;
  listKvNamespaces(accountId: string): Promise<KvNamespace[]>;
  createKvNamespace(accountId: string, title: string): Promise<KvNamespace>;
  renameKvNamespace(accountId: string, id: string, title: string): Promise<KvNamespace>;
  /** Names of the Worker's secrets; undefined when there is no such Worker yet. */
  listWorkerSecrets(accountId: string, script: string): Promise<string[] | undefined>;
  /** The deployed Worker's bindings (its settings); undefined when there is no such Worker yet. */
  getWorkerBindings(accountId: string, script: string): Promise<WorkerBinding[] | undefined>;
  /** The account's zones, only the one named `name` when given. */
  listZones(accountId: string, name?: string): Promise<Zone[]>;
  /** The account's Workers custom domains, narrowed by hostname and/or Worker. */
  listWorkerDomains(accountId: string, filter: { hostname?: string; service?: string }): Promise<WorkerDomain[]>;
  /** Detaches a custom domain from its Worker (the certificate Cloudflare issued for it stays). */
  deleteWorkerDomain(accountId: string, id: string): Promise<void>;
  /** One KV namespace; undefined when there is none with this id. */
  getKvNamespace(accountId: string, id: string): Promise<KvNamespace | undefined>;
  /** Deletes a Worker, never with `force`: a refusal means another Worker depends on it, which the user should hear about. */
  deleteWorker(accountId: string, script: string): Promise<void>;
  /** Deletes a reusable Access policy; the API refuses while an application still uses it. */
  deletePolicy(accountId: string, id: string): Promise<void>;
  /** Deletes a KV namespace and every key in it. */
  deleteKvNamespace(accountId: string, id: string): Promise<void>;
  /** The zone's DNS records named exactly `name`: a custom domain cannot go where one is. */
  listDnsRecords(zoneId: string, name: string): Promise<DnsRecord[]>;
  /** Whether the Worker answers on its workers.dev URL and its preview URLs; undefined when there is no such Worker. */
  getWorkerUrls(accountId: string, script: string): Promise<{ enabled: boolean; previews_enabled: boolean } | undefined>;
}

export type ApiCall = keyof CloudflareApi;

/** Every call, for wrappers that decorate each one (an implementation may be a class, whose methods are not own keys). */
export const API_CALLS: readonly ApiCall[] = [
  "verifyToken",
  "listAccounts",
  "getWorkersSubdomain",
  "getOrganization",
  "listIdentityProviders",
  "getPolicy",
  "listPolicies",
  "createPolicy",
  "updatePolicy",
  "getApp",
  "listApps",
  "createApp",
  "updateApp",
  "deleteApp",
  "listKvNamespaces",
  "createKvNamespace",
  "renameKvNamespace",
  "listWorkerSecrets",
  "getWorkerBindings",
  "listZones",
  "listWorkerDomains",
  "deleteWorkerDomain",
  "getKvNamespace",
  "deleteWorker",
  "deletePolicy",
  "deleteKvNamespace",
  "listDnsRecords",
  "getWorkerUrls",
] satisfies readonly ApiCall[];

/** Token permissions, named as in the dashboard's token editor. */
export const PERMISSIONS = {
  account: "Account Settings: Read",
  accessOrganization: "Access: Organizations, Identity Providers, and Groups: Read",
  accessApps: "Access: Apps and Policies: Edit",
  workersScripts: "Workers Scripts: Edit",
  workersKv: "Workers KV Storage: Edit",
  zones: "Zone: Read",
  dns: "DNS: Read",
} as const;

export interface Route {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  permission?: string;
  /** True for every call that changes something: --dry-run never sends those. */
  mutates: boolean;
}

const get = (path: string, permission?: string): Route => ({ method: "GET", path, mutates: false, ...(permission ? { permission } : {}) });
const write = (method: Route["method"], path: string, permission: string): Route => ({ method, path, permission, mutates: true });

/** Each call's HTTP method and path (after /client/v4). Lists page with `?page=`. */
export function routeOf(call: ApiCall, args: readonly unknown[]): Route {
  const account = `/accounts/${String(args[0])}`;
  const id = String(args[1]);
  switch (call) {
    case "verifyToken":
      return get("/user/tokens/verify");
    case "listAccounts":
      return get("/accounts", PERMISSIONS.account);
    case "getWorkersSubdomain":
      return get(`${account}/workers/subdomain`, PERMISSIONS.workersScripts);
    case "getOrganization":
      return get(`${account}/access/organizations`, PERMISSIONS.accessOrganization);
    case "listIdentityProviders":
      return get(`${account}/access/identity_providers`, PERMISSIONS.accessOrganization);
    case "getPolicy":
      return get(`${account}/access/policies/${id}`, PERMISSIONS.accessApps);
    case "listPolicies":
      return get(`${account}/access/policies`, PERMISSIONS.accessApps);
    case "createPolicy":
      return write("POST", `${account}/access/policies`, PERMISSIONS.accessApps);
    case "updatePolicy":
      return write("PUT", `${account}/access/policies/${id}`, PERMISSIONS.accessApps);
    case "getApp":
      return get(`${account}/access/apps/${id}`, PERMISSIONS.accessApps);
    case "listApps":
      return get(`${account}/access/apps`, PERMISSIONS.accessApps);
    case "createApp":
      return write("POST", `${account}/access/apps`, PERMISSIONS.accessApps);
    case "updateApp":
      return write("PUT", `${account}/access/apps/${id}`, PERMISSIONS.accessApps);
    case "deleteApp":
      return write("DELETE", `${account}/access/apps/${id}`, PERMISSIONS.accessApps);
    case "listKvNamespaces":
      return get(`${account}/storage/kv/namespaces`, PERMISSIONS.workersKv);
    case "createKvNamespace":
      return write("POST", `${account}/storage/kv/namespaces`, PERMISSIONS.workersKv);
    case "renameKvNamespace":
      return write("PUT", `${account}/storage/kv/namespaces/${id}`, PERMISSIONS.workersKv);
    case "listWorkerSecrets":
      return get(`${account}/workers/scripts/${id}/secrets`, PERMISSIONS.workersScripts);
    case "getWorkerBindings":
      return get(`${account}/workers/scripts/${id}/settings`, PERMISSIONS.workersScripts);
    case "listZones":
      return get(`/zones?account.id=${String(args[0])}${args[1] === undefined ? "" : `&name=${encodeURIComponent(String(args[1]))}`}`, PERMISSIONS.zones);
    case "listWorkerDomains": {
      const filter = new URLSearchParams(Object.entries((args[1] ?? {}) as Record<string, string>));
      return get(`${account}/workers/domains${filter.size ? `?${filter}` : ""}`, PERMISSIONS.workersScripts);
    }
    case "deleteWorkerDomain":
      return write("DELETE", `${account}/workers/domains/${id}`, PERMISSIONS.workersScripts);
    case "getKvNamespace":
      return get(`${account}/storage/kv/namespaces/${id}`, PERMISSIONS.workersKv);
    case "deleteWorker":
      return write("DELETE", `${account}/workers/scripts/${id}`, PERMISSIONS.workersScripts);
    case "deletePolicy":
      return write("DELETE", `${account}/access/policies/${id}`, PERMISSIONS.accessApps);
    case "deleteKvNamespace":
      return write("DELETE", `${account}/storage/kv/namespaces/${id}`, PERMISSIONS.workersKv);
    case "getWorkerUrls":
      return get(`${account}/workers/scripts/${id}/subdomain`, PERMISSIONS.workersScripts);
    case "listDnsRecords":
      return get(`/zones/${String(args[0])}/dns_records?name.exact=${encodeURIComponent(String(args[1]))}`, PERMISSIONS.dns);
  }
}

/** The body a call sends, for a plan: only writes have one. */
export function bodyOf(call: ApiCall, args: readonly unknown[]): unknown {
  switch (call) {
    case "createPolicy":
    case "createApp":
      return args[1];
    case "updatePolicy":
    case "updateApp":
      return args[2];
    case "createKvNamespace":
      return { title: args[1] };
    case "renameKvNamespace":
      return { title: args[2] };
    default:
      return undefined;
  }
}

/** An error the API answered with (the SDK's APIError, or the unit fake's), read structurally. */
export interface ApiErrorLike {
  status: number;
  errors: { code: number; message: string }[];
  message: string;
}

export function isApiError(error: unknown): error is ApiErrorLike {
  return (
    error instanceof Error &&
    typeof (error as Partial<ApiErrorLike>).status === "number" &&
    Array.isArray((error as Partial<ApiErrorLike>).errors)
  );
}

export function isNotFound(error: unknown): boolean {
  return isApiError(error) && error.status === 404;
}
