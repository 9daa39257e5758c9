/**
 * The Cloudflare API as provisioning sees it: the few calls it makes, with
 * plain types. The real implementation (sdk-api.ts) goes through the official
 * SDK; unit tests pass an in-memory fake; `--dry-run` wraps the real one so
 * reads go out and writes are only described (dry-run-api.ts).
 *
 * Each call is also listed in ROUTES with its HTTP method, path and the token
 * permission it needs, so a plan can show it and an error can name what is
 * missing.
 */

/** An Access rule, like `{ email: { email } }` or `{ linked_app_token: { app_uid } }`. */
export type AccessRule = Record<string, Record<string, unknown>>;

export interface AccessPolicy {
  id: string;
  name: string;
  decision: string;
  include: AccessRule[];
  exclude?: AccessRule[];
  require?: AccessRule[];
  [field: string]: unknown;
}

export interface PolicyBody {
  name: string;
  decision: "allow" | "non_identity";
  include: AccessRule[];
  exclude?: AccessRule[];
  require?: AccessRule[];
  [field: string]: unknown;
}

export interface AppPolicyRef {
  id: string;
  precedence?: number;
  [field: string]: unknown;
}

export interface OAuthConfiguration {
  enabled: boolean;
  dynamic_client_registration?: {
    enabled: boolean;
    allow_any_on_localhost?: boolean;
    allow_any_on_loopback?: boolean;
    allowed_uris?: string[];
  };
  [field: string]: unknown;
}

export interface SaasOidcApp {
  auth_type?: string;
  client_id?: string;
  /** Only ever in the response to the create call. */
  client_secret?: string;
  redirect_uris?: string[];
  grant_types?: string[];
  scopes?: string[];
  refresh_token_options?: { lifetime?: string };
  [field: string]: unknown;
}

export interface AppFields {
  type: string;
  name: string;
  domain?: string;
  allowed_idps?: string[];
  auto_redirect_to_identity?: boolean;
  oauth_configuration?: OAuthConfiguration;
  saas_app?: SaasOidcApp;
  [field: string]: unknown;
}

/** What create and update send: an update replaces the whole app, so it carries every field. */
export interface AppBody extends AppFields {
  policies: AppPolicyRef[];
}

export interface AccessApp extends AppFields {
  id: string;
  uid?: string;
  aud?: string;
  policies?: AppPolicyRef[];
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
] satisfies readonly ApiCall[];

/** Token permissions, named as in the dashboard's token editor. */
export const PERMISSIONS = {
  account: "Account Settings: Read",
  accessOrganization: "Access: Organizations, Identity Providers, and Groups: Read",
  accessApps: "Access: Apps and Policies: Edit",
  workersScripts: "Workers Scripts: Edit",
  workersKv: "Workers KV Storage: Edit",
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
