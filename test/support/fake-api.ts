import { randomUUID } from "node:crypto";
import type {
  AccessApp,
  AccessPolicy,
  Account,
  ApiCall,
  AppBody,
  CloudflareApi,
  IdentityProvider,
  KvNamespace,
  PolicyBody,
  WorkerBinding,
} from "../../src/provision/cloudflare-api.js";

/**
 * An in-memory CloudflareApi for unit tests of the steps: the behaviour the
 * steps rely on (ids and AUDs made by the server, a SaaS client secret only
 * in the create response, an update replacing the whole app), every call
 * recorded, and errors to inject per call.
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
    return clone(this.policies.find((policy) => policy.id === id));
  }
  async listPolicies(accountId: string) {
    await this.#enter("listPolicies", [accountId]);
    return clone(this.policies);
  }
  async createPolicy(accountId: string, body: PolicyBody) {
    await this.#enter("createPolicy", [accountId, body]);
    const policy: AccessPolicy = { session_duration: "24h", ...clone(body), id: randomUUID(), reusable: true, created_at: "now" };
    this.policies.push(policy);
    return clone(policy);
  }
  async updatePolicy(accountId: string, id: string, body: PolicyBody) {
    await this.#enter("updatePolicy", [accountId, id, body]);
    const index = this.policies.findIndex((policy) => policy.id === id);
    if (index < 0) throw new ApiFailure(404, [{ code: 12130, message: "policy not found" }]);
    this.policies[index] = { ...clone(body), id, reusable: true, created_at: "now" };
    return clone(this.policies[index]!);
  }
  async getApp(accountId: string, id: string) {
    await this.#enter("getApp", [accountId, id]);
    return clone(this.apps.find((app) => app.id === id));
  }
  async listApps(accountId: string) {
    await this.#enter("listApps", [accountId]);
    return clone(this.apps);
  }
  async createApp(accountId: string, body: AppBody) {
    await this.#enter("createApp", [accountId, body]);
    const id = randomUUID();
    const app: AccessApp = { ...clone(body), id, uid: id, aud: hex(32), created_at: "now", policies: this.#policyViews(body) };
    if (app.saas_app) {
      app.saas_app = { ...app.saas_app, client_id: hex(32), created_at: "now" };
      this.clientSecrets.set(id, hex(32));
    }
    this.apps.push(app);
    const view = clone(app);
    if (view.saas_app) view.saas_app.client_secret = this.clientSecrets.get(id)!;
    return view;
  }
  async updateApp(accountId: string, id: string, body: AppBody) {
    await this.#enter("updateApp", [accountId, id, body]);
    const index = this.apps.findIndex((app) => app.id === id);
    if (index < 0) throw new ApiFailure(404, [{ code: 12130, message: "application not found" }]);
    const old = this.apps[index]!;
    // A PUT replaces the app: what the body leaves out is gone.
    const app: AccessApp = { ...clone(body), id, uid: id, aud: old.aud!, created_at: "now", policies: this.#policyViews(body) };
    if (app.saas_app) app.saas_app = { ...app.saas_app, client_id: old.saas_app!.client_id! };
    this.apps[index] = app;
    return clone(app);
  }
  async deleteApp(accountId: string, id: string) {
    await this.#enter("deleteApp", [accountId, id]);
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

  /** Apps embed the full policies, with their precedence, as the API returns them. */
  #policyViews(body: AppBody) {
    return body.policies.map((ref, index) => {
      const policy = this.policies.find((p) => p.id === ref.id);
      if (!policy) throw new ApiFailure(400, [{ code: 12130, message: `policy ${ref.id} not found` }]);
      return { ...clone(policy), precedence: ref.precedence ?? index + 1 };
    });
  }
}
