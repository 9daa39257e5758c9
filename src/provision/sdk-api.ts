import { createClient } from "cloudflare/tree-shakable";
import { BaseAccounts } from "cloudflare/resources/accounts/accounts";
import { BaseNamespaces } from "cloudflare/resources/kv/namespaces/namespaces";
import { BaseZones } from "cloudflare/resources/zones/zones";
import { BaseRecords } from "cloudflare/resources/dns/records";
import { BaseDomains } from "cloudflare/resources/workers/domains";
import { BaseTokens as UserTokens } from "cloudflare/resources/user/tokens/tokens";
import { BaseScriptAndVersionSettings } from "cloudflare/resources/workers/scripts/script-and-version-settings";
import { BaseSecrets } from "cloudflare/resources/workers/scripts/secrets";
import { BaseSubdomain as ScriptSubdomain } from "cloudflare/resources/workers/scripts/subdomain";
import { BaseSubdomains } from "cloudflare/resources/workers/subdomains";
import { BaseApplications } from "cloudflare/resources/zero-trust/access/applications/applications";
import { BasePolicies } from "cloudflare/resources/zero-trust/access/policies";
import { BaseIdentityProviders } from "cloudflare/resources/zero-trust/identity-providers/identity-providers";
import { BaseOrganizations } from "cloudflare/resources/zero-trust/organizations/organizations";
import { type AccessApp, type AccessPolicy, type CloudflareApi, isApiError, isNotFound, type WorkerBinding } from "./cloudflare-api.js";

export interface SdkOptions {
  apiToken: string;
  /** CLOUDFLARE_API_BASE_URL, which wrangler reads too: both then talk to the same API. */
  baseURL?: string;
  maxRetries?: number;
}

/**
 * The CloudflareApi over the official SDK, tree-shaken: `createClient` with
 * only the resources provisioning calls (about 40 KiB bundled, against 658 KiB
 * for `new Cloudflare()`).
 */
export function sdkApi({ apiToken, baseURL, maxRetries }: SdkOptions): CloudflareApi {
  const cf = createClient({
    apiToken,
    // Only the token: key/email pairs from the environment must not ride along.
    apiKey: null,
    apiEmail: null,
    userServiceKey: null,
    ...(baseURL ? { baseURL } : {}),
    ...(maxRetries === undefined ? {} : { maxRetries }),
    // CLOUDFLARE_LOG=debug would print response bodies, and a SaaS app's create response holds its client secret.
    logLevel: "off",
    resources: [
      UserTokens,
      BaseAccounts,
      BaseSubdomains,
      BaseOrganizations,
      BaseIdentityProviders,
      BasePolicies,
      BaseApplications,
      BaseNamespaces,
      BaseSecrets,
      BaseScriptAndVersionSettings,
      ScriptSubdomain,
      BaseZones,
      BaseDomains,
      BaseRecords,
    ],
  });
  const all = async <T>(pages: AsyncIterable<T>): Promise<T[]> => {
    const items: T[] = [];
    for await (const item of pages) items.push(item);
    return items;
  };
  const orUndefined = async <T>(work: Promise<T>): Promise<T | undefined> => {
    try {
      return await work;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  };
  // account_id after the body: the path's account is the one chosen, whatever a body built from an answer holds.
  // The SDK's types are a union of every application type; provisioning reads a few plain fields.
  const app = (value: unknown) => value as AccessApp;
  const policy = (value: unknown) => value as AccessPolicy;

  return {
    verifyToken: async () => ({ status: (await cf.user.tokens.verify()).status }),
    listAccounts: async () => (await all(cf.accounts.list())).map(({ id, name }) => ({ id, name })),
    getWorkersSubdomain: async (account_id) => {
      try {
        return (await cf.workers.subdomains.get({ account_id })).subdomain;
      } catch (error) {
        // 10007: no workers.dev subdomain registered on the account.
        if (isNotFound(error) || (isApiError(error) && error.errors.some((e) => e.code === 10007))) return undefined;
        throw error;
      }
    },
    getOrganization: async (account_id) => {
      const org = await orUndefined(cf.zeroTrust.organizations.list({ account_id }));
      return org?.auth_domain ? { auth_domain: org.auth_domain, ...(org.name ? { name: org.name } : {}) } : undefined;
    },
    listIdentityProviders: async (account_id) =>
      (await all(cf.zeroTrust.identityProviders.list({ account_id }))).map((idp) => ({
        id: idp.id ?? "",
        name: idp.name,
        type: idp.type,
      })),
    getPolicy: async (account_id, id) => policy(await orUndefined(cf.zeroTrust.access.policies.get(id, { account_id }))),
    listPolicies: async (account_id) => (await all(cf.zeroTrust.access.policies.list({ account_id }))).map(policy),
    createPolicy: async (account_id, body) => policy(await cf.zeroTrust.access.policies.create({ ...body, account_id })),
    updatePolicy: async (account_id, id, body) => policy(await cf.zeroTrust.access.policies.update(id, { ...body, account_id })),
    getApp: async (account_id, id) => app(await orUndefined(cf.zeroTrust.access.applications.get(id, { account_id }))),
    listApps: async (account_id) => (await all(cf.zeroTrust.access.applications.list({ account_id }))).map(app),
    createApp: async (account_id, body) => app(await cf.zeroTrust.access.applications.create({ ...body, account_id })),
    updateApp: async (account_id, id, body) => app(await cf.zeroTrust.access.applications.update(id, { ...body, account_id })),
    deleteApp: async (account_id, id) => void (await cf.zeroTrust.access.applications.delete(id, { account_id })),
    listKvNamespaces: async (account_id) => (await all(cf.kv.namespaces.list({ account_id }))).map(({ id, title }) => ({ id, title })),
    createKvNamespace: async (account_id, title) => {
      const { id } = await cf.kv.namespaces.create({ account_id, title });
      return { id, title };
    },
    renameKvNamespace: async (account_id, id, title) => {
      await cf.kv.namespaces.update(id, { account_id, title });
      return { id, title };
    },
    listWorkerSecrets: async (account_id, script) => {
      const secrets = await orUndefined(all(cf.workers.scripts.secrets.list(script, { account_id })));
      return secrets?.map((secret) => secret.name ?? "").filter(Boolean);
    },
    getWorkerBindings: async (account_id, script) => {
      // GET …/workers/scripts/{name}/settings: the deployed version's settings, bindings included (…/script-settings has none).
      const settings = await orUndefined(cf.workers.scripts.scriptAndVersionSettings.get(script, { account_id }));
      return settings && ((settings.bindings ?? []) as WorkerBinding[]);
    },
    listZones: async (account_id, name) => {
      const params = { account: { id: account_id }, ...(name === undefined ? {} : { name }) };
      // One name is one zone at most: its first page says all, without the empty page that ends a walk through them.
      const zones = name === undefined ? await all(cf.zones.list(params)) : (await cf.zones.list(params)).result;
      return zones.map(({ id, name, status }) => ({ id, name, ...(status ? { status } : {}) }));
    },
    listWorkerDomains: async (account_id, filter) =>
      (await all(cf.workers.domains.list({ account_id, ...filter }))).map((domain) => ({
        id: domain.id ?? "",
        hostname: domain.hostname ?? "",
        service: domain.service ?? "",
        ...(domain.zone_id ? { zone_id: domain.zone_id } : {}),
        ...(domain.zone_name ? { zone_name: domain.zone_name } : {}),
      })),
    deleteWorkerDomain: async (account_id, id) => void (await cf.workers.domains.delete(id, { account_id })),
    getKvNamespace: async (account_id, id) => {
      const namespace = await orUndefined(cf.kv.namespaces.get(id, { account_id }));
      return namespace && { id: namespace.id, title: namespace.title };
    },
    // workers.scripts.delete would bring BaseScripts (1.2 kB) for this one request: the client's own DELETE sends
    // the same one (no `force`), and an error answer throws the same APIError.
    deleteWorker: async (account_id, script) => void (await cf.delete(`/accounts/${account_id}/workers/scripts/${encodeURIComponent(script)}`)),
    deletePolicy: async (account_id, id) => void (await cf.zeroTrust.access.policies.delete(id, { account_id })),
    deleteKvNamespace: async (account_id, id) => void (await cf.kv.namespaces.delete(id, { account_id })),
    // One hostname's records: the first page says whether there are any.
    listDnsRecords: async (zone_id, name) =>
      (await cf.dns.records.list({ zone_id, name: { exact: name } })).result.map((record) => ({
        type: record.type,
        name: record.name,
        ...(typeof record.content === "string" ? { content: record.content } : {}),
      })),
    getWorkerUrls: async (account_id, script) => {
      const urls = await orUndefined(cf.workers.scripts.subdomain.get(script, { account_id }));
      return urls && { enabled: urls.enabled, previews_enabled: urls.previews_enabled };
    },
  };
}
