import { type AccessApp, type AccessPolicy, type ApiCall, bodyOf, type CloudflareApi, routeOf } from "./cloudflare-api.js";

/** One line of a `--dry-run` plan. */
export interface PlannedCall {
  method: string;
  path: string;
  body?: unknown;
  /** True when the request really went out (a read); false when it is only described. */
  sent: boolean;
}

/** A plan's calls, one line each (with a write's body under it), for provision's and destroy's --dry-run. */
export function planLines(plan: PlannedCall[]): string[] {
  return [
    "API calls, in order. GETs were really sent, to find what exists; nothing else was:",
    ...plan.flatMap((call) => [
      `${call.sent ? "sent    " : "not sent"}  ${call.method.padEnd(6)} ${call.path}`,
      ...(call.body === undefined ? [] : JSON.stringify(call.body, null, 2).split("\n").map((line) => `            ${line}`)),
    ]),
  ];
}

/**
 * The API for `--dry-run`: reads go to Cloudflare (so the plan knows what
 * exists and shows only what would change), every write is recorded instead
 * of sent and answers with a stand-in that names what it stands for. Stand-ins
 * are in angle brackets, so they can never pass for a real id.
 */
export function dryRunApi(real: CloudflareApi, plan: PlannedCall[]): CloudflareApi {
  const read = <K extends ApiCall>(call: K) =>
    (async (...args: unknown[]) => {
      const { method, path } = routeOf(call, args);
      plan.push({ method, path, sent: true });
      return (real[call] as (...a: unknown[]) => Promise<unknown>).apply(real, args);
    }) as CloudflareApi[K];
  const describe = (call: ApiCall, args: unknown[]) => {
    const { method, path } = routeOf(call, args);
    const body = bodyOf(call, args);
    plan.push({ method, path, ...(body === undefined ? {} : { body }), sent: false });
  };

  return {
    verifyToken: read("verifyToken"),
    listAccounts: read("listAccounts"),
    getWorkersSubdomain: read("getWorkersSubdomain"),
    getOrganization: read("getOrganization"),
    listIdentityProviders: read("listIdentityProviders"),
    getPolicy: read("getPolicy"),
    listPolicies: read("listPolicies"),
    getApp: read("getApp"),
    listApps: read("listApps"),
    listKvNamespaces: read("listKvNamespaces"),
    listWorkerSecrets: read("listWorkerSecrets"),
    getWorkerBindings: read("getWorkerBindings"),
    listZones: read("listZones"),
    listWorkerDomains: read("listWorkerDomains"),
    getWorkerUrls: read("getWorkerUrls"),
    listDnsRecords: read("listDnsRecords"),
    createPolicy: async (...args) => {
      describe("createPolicy", args);
      return { ...args[1], id: `<id of the new policy "${args[1].name}">` } as AccessPolicy;
    },
    updatePolicy: async (...args) => {
      describe("updatePolicy", args);
      return { ...args[2], id: args[1] } as AccessPolicy;
    },
    createApp: async (...args) => {
      describe("createApp", args);
      const body = args[1];
      const id = `<id of the new app "${body.name}">`;
      const created: AccessApp = { ...body, id, uid: id, aud: `<AUD of the new app "${body.name}">` };
      if (body.type === "saas") created.saas_app = { ...body.saas_app, client_id: `<client id of the new app "${body.name}">` };
      return created;
    },
    updateApp: async (...args) => {
      describe("updateApp", args);
      return { ...args[2], id: args[1] } as AccessApp;
    },
    deleteApp: async (...args) => describe("deleteApp", args),
    deleteWorkerDomain: async (...args) => describe("deleteWorkerDomain", args),
    deleteWorker: async (...args) => describe("deleteWorker", args),
    deletePolicy: async (...args) => describe("deletePolicy", args),
    deleteKvNamespace: async (...args) => describe("deleteKvNamespace", args),
    createKvNamespace: async (...args) => {
      describe("createKvNamespace", args);
      return { id: `<id of the new KV namespace "${args[1]}">`, title: args[1] };
    },
    renameKvNamespace: async (...args) => {
      describe("renameKvNamespace", args);
      return { id: args[1], title: args[2] };
    },
    getKvNamespace: read("getKvNamespace"),
  };
}
