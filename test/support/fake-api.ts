import { randomUUID } from "node:crypto";
import { parse as parseJsonc } from "jsonc-parser";
import type { DeployRequest, Deployer } from "../../src/provision/context.js";
import type {
  AccessApp,
  AccessPolicy,
  Account,
  ApiCall,
  AppBody,
  AppPolicyRef,
  CloudflareApi,
  IdentityProvider,
  KvNamespace,
  PolicyBody,
  WorkerBinding,
  WorkerDomain,
  Zone,
  DnsRecord,
} from "../../src/provision/cloudflare-api.js";
import { APP_BODY_KEYS, APP_VIEW_KEYS, ApiError, POLICY_BODY_KEYS, POLICY_LINK_KEYS, resolveHosts, validateOAuth } from "./fake-cloudflare.mjs";

/**
 * An in-memory CloudflareApi for unit tests of the steps: the behaviour the
 * steps rely on (ids and AUDs made by the server, a SaaS client secret only
 * in the create response, an update replacing the whole app), every call
 * recorded, and errors to inject per call. App bodies and answers follow the
 * rules of the HTTP fake (fake-cloudflare.mjs, which gives each its source):
 * only the SDK's body fields, `destinations` over `domain` with
 * `self_hosted_domains` in step, exact custom-scheme allowed_uris, reusable
 * policies linked by id, an app-scoped one (`reusable: false` here, which the
 * answers do not show) never linked, unique precedence.
 */
export const ACCOUNT = "0123456789abcdef0123456789abcdef";

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly errors: { code: number; message: string }[],
  ) {
    super(errors.map((e) => e.message).join("; "));
  }
}

const clone = <T>(value: T): T => structuredClone(value);
const hex = (bytes: number) => Array.from({ length: bytes * 2 }, () => "0123456789abcdef"[Math.floor(Math.random() * 16)]).join("");

export class FakeApi implements CloudflareApi {
  calls: { call: ApiCall; args: unknown[] }[] = [];
  accounts: Account[] = [{ id: ACCOUNT, name: "Acme" }];
  tokenKind: "user" | "account" | "invalid" = "user";
  subdomain: string | undefined = "acme";
  organization: { auth_domain: string } | undefined = { auth_domain: "acme.cloudflareaccess.com" };
  identityProviders: IdentityProvider[] = [
    { id: "11111111-1111-4111-8111-111111111111", name: "One-time PIN", type: "onetimepin" },
    { id: "22222222-2222-4222-8222-222222222222", name: "GitHub", type: "github" },
  ];
  policies: AccessPolicy[] = [];
  apps: AccessApp[] = [];
  /** Client secrets by app id: returned only by createApp. */
  clientSecrets = new Map<string, string>();
  kvNamespaces: KvNamespace[] = [];
  /** Workers by name, with their bindings (a secret's value is never read back, so it has none). */
  workers = new Map<string, WorkerBinding[]>();
  /** A Worker's workers.dev and preview URLs, by name (as deployed: the deployer here sets none, so a Worker has the API's default, both off). */
  workerUrls = new Map<string, { enabled: boolean; previews_enabled: boolean }>();
  zones: Zone[] = [{ id: "9a7806061c88ada191ed06f989cc3dac", name: "example.com", status: "active" }];
  /** Workers custom domains. */
  domains: WorkerDomain[] = [];
  /** DNS records of the zones (each in the zone its name ends in). */
  dnsRecords: DnsRecord[] = [];
  /** Injected failures: the next call of that name throws it (once). */
  failures = new Map<ApiCall, ApiFailure>();

  /** Calls that change something. */
  mutations() {
    return this.calls.filter(({ call }) => /^(create|update|delete|rename)/.test(call));
  }

  async #enter(call: ApiCall, args: unknown[]) {
    this.calls.push({ call, args: clone(args) });
    const failure = this.failures.get(call);
    if (failure) {
      this.failures.delete(call);
      throw failure;
    }
    if (call !== "verifyToken" && call !== "listAccounts" && this.tokenKind === "invalid") throw new ApiFailure(401, [{ code: 1000, message: "Invalid API Token" }]);
  }

  async verifyToken() {
    await this.#enter("verifyToken", []);
    if (this.tokenKind !== "user") throw new ApiFailure(401, [{ code: 1000, message: "Invalid API Token" }]);
    return { status: "active" };
  }
  async listAccounts() {
    await this.#enter("listAccounts", []);
    if (this.tokenKind === "invalid") throw new ApiFailure(401, [{ code: 1000, message: "Invalid API Token" }]);
    return clone(this.accounts);
  }
  async getWorkersSubdomain(accountId: string) {
    await this.#enter("getWorkersSubdomain", [accountId]);
    return this.subdomain;
  }
  async getOrganization(accountId: string) {
    await this.#enter("getOrganization", [accountId]);
    return clone(this.organization);
  }
  async listIdentityProviders(accountId: string) {
    await this.#enter("listIdentityProviders", [accountId]);
    return clone(this.identityProviders);
  }
  async getPolicy(accountId: string, id: string) {
    await this.#enter("getPolicy", [accountId, id]);
    const policy = this.policies.find((candidate) => candidate.id === id);
    return policy && this.#policyView(policy, accountId);
  }
  async listPolicies(accountId: string) {
    await this.#enter("listPolicies", [accountId]);
    return this.policies.map((policy) => this.#policyView(policy, accountId));
  }
  /** A policy as the API answers it (PolicyGetResponse), with the number of apps using it. */
  #policyView(policy: AccessPolicy, accountId: string): AccessPolicy {
    return { ...clone(policy), account_id: accountId, app_count: this.apps.filter((app) => app.policies?.some((used) => used.id === policy.id)).length };
  }
  async createPolicy(accountId: string, body: PolicyBody) {
    await this.#enter("createPolicy", [accountId, body]);
    this.#checkPolicy(body);
    const policy: AccessPolicy = { session_duration: "24h", ...clone(body), id: randomUUID(), reusable: true, created_at: "now" };
    this.policies.push(policy);
    return clone(policy);
  }
  async updatePolicy(accountId: string, id: string, body: PolicyBody) {
    await this.#enter("updatePolicy", [accountId, id, body]);
    this.#checkPolicy(body);
    const index = this.policies.findIndex((policy) => policy.id === id);
    if (index < 0) throw new ApiFailure(404, [{ code: 12130, message: "policy not found" }]);
    this.policies[index] = { ...clone(body), id, reusable: true, created_at: "now" };
    return clone(this.policies[index]!);
  }
  async getApp(accountId: string, id: string) {
    await this.#enter("getApp", [accountId, id]);
    const app = this.apps.find((candidate) => candidate.id === id);
    return app && this.#view(app);
  }
  async listApps(accountId: string) {
    await this.#enter("listApps", [accountId]);
    return this.apps.map((app) => this.#view(app));
  }
  async createApp(accountId: string, body: AppBody) {
    await this.#enter("createApp", [accountId, body]);
    const id = randomUUID();
    const app: AccessApp = { ...this.#checked(body), id, uid: id, aud: hex(32), created_at: "now", policies: this.#policyViews(body) };
    if (app.saas_app) {
      app.saas_app = { ...app.saas_app, client_id: hex(32) };
      this.clientSecrets.set(id, hex(32));
    }
    this.apps.push(app);
    const view = this.#view(app);
    if (view.saas_app) view.saas_app.client_secret = this.clientSecrets.get(id)!;
    return view;
  }
  async updateApp(accountId: string, id: string, body: AppBody) {
    await this.#enter("updateApp", [accountId, id, body]);
    const index = this.apps.findIndex((app) => app.id === id);
    if (index < 0) throw new ApiFailure(404, [{ code: 12130, message: "application not found" }]);
    const old = this.apps[index]!;
    if (body.type !== old.type) throw new ApiFailure(400, [{ code: 12130, message: "an application's type cannot be changed" }]);
    // A PUT replaces the app: what the body leaves out is gone.
    const app: AccessApp = { ...this.#checked(body), id, uid: id, aud: old.aud!, created_at: "now", policies: this.#policyViews(body, old) };
    if (app.saas_app) app.saas_app = { ...app.saas_app, client_id: old.saas_app!.client_id! };
    this.apps[index] = app;
    return this.#view(app);
  }
  async deleteApp(accountId: string, id: string) {
    await this.#enter("deleteApp", [accountId, id]);
    if (!this.apps.some((app) => app.id === id)) throw new ApiFailure(404, [{ code: 12130, message: "application not found" }]);
    this.apps = this.apps.filter((app) => app.id !== id);
  }
  async listKvNamespaces(accountId: string) {
    await this.#enter("listKvNamespaces", [accountId]);
    return clone(this.kvNamespaces);
  }
  async createKvNamespace(accountId: string, title: string) {
    await this.#enter("createKvNamespace", [accountId, title]);
    const namespace = { id: hex(16), title };
    this.kvNamespaces.push(namespace);
    return clone(namespace);
  }
  async renameKvNamespace(accountId: string, id: string, title: string) {
    await this.#enter("renameKvNamespace", [accountId, id, title]);
    const namespace = this.kvNamespaces.find((candidate) => candidate.id === id);
    if (!namespace) throw new ApiFailure(404, [{ code: 10013, message: "namespace not found" }]);
    namespace.title = title;
    return clone(namespace);
  }
  async listWorkerSecrets(accountId: string, script: string) {
    await this.#enter("listWorkerSecrets", [accountId, script]);
    return this.workers.get(script)?.filter((binding) => binding.type === "secret_text").map((binding) => binding.name);
  }
  async getWorkerBindings(accountId: string, script: string) {
    await this.#enter("getWorkerBindings", [accountId, script]);
    return clone(this.workers.get(script));
  }
  async listZones(accountId: string, name?: string) {
    await this.#enter("listZones", [accountId, name]);
    return clone(this.zones.filter((zone) => name === undefined || zone.name === name));
  }
  async listWorkerDomains(accountId: string, filter: { hostname?: string; service?: string }) {
    await this.#enter("listWorkerDomains", [accountId, filter]);
    return clone(
      this.domains.filter(
        (domain) => (filter.hostname === undefined || domain.hostname === filter.hostname) && (filter.service === undefined || domain.service === filter.service),
      ),
    );
  }
  async deleteWorkerDomain(accountId: string, id: string) {
    await this.#enter("deleteWorkerDomain", [accountId, id]);
    if (!this.domains.some((domain) => domain.id === id)) throw new ApiFailure(404, [{ code: 100114, message: "Domain not found" }]);
    this.domains = this.domains.filter((domain) => domain.id !== id);
  }
  async getKvNamespace(accountId: string, id: string) {
    await this.#enter("getKvNamespace", [accountId, id]);
    return clone(this.kvNamespaces.find((namespace) => namespace.id === id));
  }
  async deleteWorker(accountId: string, script: string) {
    await this.#enter("deleteWorker", [accountId, script]);
    if (!this.workers.delete(script)) throw new ApiFailure(404, [{ code: 10007, message: "workers.api.error.script_not_found" }]);
  }
  async deletePolicy(accountId: string, id: string) {
    await this.#enter("deletePolicy", [accountId, id]);
    if (!this.policies.some((policy) => policy.id === id)) throw new ApiFailure(404, [{ code: 12130, message: "policy not found" }]);
    // The API refuses to delete a reusable policy an application still uses (status and code approx., as in fake-cloudflare.mjs).
    if (this.apps.some((app) => app.policies?.some((policy) => policy.id === id))) throw new ApiFailure(400, [{ code: 12130, message: "policy is in use by an application" }]);
    this.policies = this.policies.filter((policy) => policy.id !== id);
  }
  async deleteKvNamespace(accountId: string, id: string) {
    await this.#enter("deleteKvNamespace", [accountId, id]);
    if (!this.kvNamespaces.some((namespace) => namespace.id === id)) throw new ApiFailure(404, [{ code: 10013, message: "namespace not found" }]);
    this.kvNamespaces = this.kvNamespaces.filter((namespace) => namespace.id !== id);
  }
  async listDnsRecords(zoneId: string, name: string) {
    await this.#enter("listDnsRecords", [zoneId, name]);
    const zone = this.zones.find((candidate) => candidate.id === zoneId);
    if (!zone) throw new ApiFailure(404, [{ code: 7003, message: "Could not route to /zones, perhaps your object identifier is invalid?" }]);
    const inZone = (record: DnsRecord) => record.name === zone.name || record.name.endsWith(`.${zone.name}`);
    return clone(this.dnsRecords.filter((record) => inZone(record) && record.name === name.toLowerCase()));
  }
  async getWorkerUrls(accountId: string, script: string) {
    await this.#enter("getWorkerUrls", [accountId, script]);
    if (!this.workers.has(script)) return undefined;
    return clone(this.workerUrls.get(script) ?? { enabled: false, previews_enabled: false });
  }

  /** A reusable policy's body takes PolicyCreateParams' fields only: its id, timestamps, app_count, reusable flag and account are the API's. */
  #checkPolicy(body: PolicyBody) {
    const unknown = Object.keys(body).filter((key) => !POLICY_BODY_KEYS.has(key));
    if (unknown.length) throw new ApiFailure(400, [{ code: 12130, message: `policy: field(s) not accepted: ${unknown.join(", ")}` }]);
  }

  /** The body's fields checked as the API checks them, the hosts of a self-hosted app as it stores them. */
  #checked(body: AppBody): AppBody {
    const unknown = Object.keys(body).filter((key) => !APP_BODY_KEYS[body.type].has(key));
    if (unknown.length) throw new ApiFailure(400, [{ code: 12130, message: `field(s) not accepted: ${unknown.join(", ")}` }]);
    if (body.type === "saas") {
      if (body.saas_app.client_secret !== undefined) throw new ApiFailure(400, [{ code: 12130, message: "saas_app.client_secret is set by Access" }]);
      return clone(body);
    }
    try {
      validateOAuth(body.oauth_configuration);
      return { ...clone(body), ...resolveHosts(body) };
    } catch (error) {
      if (error instanceof ApiError) throw new ApiFailure(error.status, [{ code: error.code, message: error.message }]);
      throw error;
    }
  }

  /** An app as the API answers it: its type's fields only, each policy without saying whether it is reusable. */
  #view(app: AccessApp): AccessApp {
    const keys = APP_VIEW_KEYS[app.type as "self_hosted" | "saas"];
    const view = Object.fromEntries(Object.entries(clone(app)).filter(([key]) => keys.includes(key))) as AccessApp;
    view.policies = (app.policies ?? []).map(({ reusable: _, ...policy }) => clone(policy) as typeof policy & { id: string });
    return view;
  }

  /**
   * Apps embed the full policies, with their precedence, as the API returns them. A reusable
   * policy is linked by {id, precedence}; an app-scoped one of this app is kept only when sent
   * with its settings, never as a bare link; precedence is unique within the app.
   */
  #policyViews(body: AppBody, existing?: AccessApp) {
    const refuse = (message: string) => new ApiFailure(400, [{ code: 12130, message }]);
    const views = (body.policies as (AppPolicyRef & Record<string, unknown>)[]).map((ref, index) => {
      const reusable = this.policies.find((p) => p.id === ref.id);
      const own = existing?.policies?.find((p) => p.id === ref.id && p.reusable === false);
      const precedence = ref.precedence ?? index + 1;
      if (reusable) {
        if (Object.keys(ref).some((key) => !POLICY_LINK_KEYS.has(key))) throw refuse(`a link to the reusable policy ${ref.id} carries only id and precedence`);
        return { ...clone(reusable), precedence };
      }
      if (own) {
        if (Object.keys(ref).every((key) => POLICY_LINK_KEYS.has(key))) throw refuse(`${ref.id} is an app-scoped policy, not a reusable one: it cannot be linked`);
        return { ...clone(own), ...clone(ref), precedence };
      }
      throw refuse(`policy ${ref.id} not found`);
    });
    const precedences = views.map((view) => view.precedence);
    if (new Set(precedences).size !== precedences.length) throw refuse("precedence must be unique within an app");
    return views;
  }
}

/**
 * A deployer that leaves the unit fake as `wrangler deploy` leaves Cloudflare: the Worker
 * (`--name`, else wrangler.jsonc's name) with wrangler.jsonc's vars and KV namespaces, the secrets
 * sent and those it had, and, as wrangler's changeset with replace_state=true, its custom domains
 * those of the config's routes, taken from any other Worker. `wranglerJsonc` reads the project's
 * file at deploy time; `onDeploy` sees each request.
 */
export function fakeDeployer(
  api: FakeApi,
  wranglerJsonc: () => string | Promise<string>,
  options: { onDeploy?: (request: DeployRequest) => void; describe?: Deployer["describe"] } = {},
): Deployer {
  return {
    describe: options.describe ?? (() => "wrangler deploy"),
    deploy: async (request) => {
      options.onDeploy?.(structuredClone(request));
      const config = parseJsonc(await wranglerJsonc());
      const worker = request.worker ?? config.name;
      api.workers.set(worker, deployedBindings(config, api.workers.get(worker), request.secrets));
      const hosts: string[] = (config.routes ?? []).filter((route: { custom_domain?: boolean }) => route.custom_domain).map((route: { pattern: string }) => route.pattern);
      if (hosts.length) {
        const others = api.domains.filter((domain) => domain.service !== worker && !hosts.includes(domain.hostname));
        api.domains = [...others, ...hosts.map((hostname) => ({ id: `domain-${hostname}`, hostname, service: worker }))];
      }
      return { url: "https://srv.acme.workers.dev" };
    },
  };
}

/** The bindings `wrangler deploy` leaves the Worker with: wrangler.jsonc's vars and KV namespaces, the secrets sent, and the other secrets it had. */
function deployedBindings(wrangler: any, before: WorkerBinding[] = [], secrets: Record<string, string>): WorkerBinding[] {
  return [
    ...Object.entries(wrangler.vars ?? {}).map(([name, text]) => ({ type: "plain_text", name, text: String(text) })),
    ...(wrangler.kv_namespaces ?? []).map((kv: { binding: string; id: string }) => ({ type: "kv_namespace", name: kv.binding, namespace_id: kv.id })),
    ...before.filter((binding) => binding.type === "secret_text" && !Object.hasOwn(secrets, binding.name)),
    ...Object.keys(secrets).map((name) => ({ type: "secret_text", name })),
  ];
}
