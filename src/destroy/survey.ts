import type { JSONPath } from "jsonc-parser";
import type { Config } from "../config/config.js";
import { workerHost } from "../render/render.js";
import { quoted } from "../untrusted.js";
import type { AccessApp, AccessPolicy, CloudflareApi, KvNamespace, WorkerDomain } from "../provision/cloudflare-api.js";
import { writableFields } from "../provision/steps/access-app.js";
import { covers, linkedAppPolicyName } from "../provision/steps/downstreams.js";
import { kvNamespaceTitle } from "../provision/steps/kv-namespace.js";
import { appMismatches, policyMismatches, workerProof } from "../provision/steps/existing.js";
import { allowPolicyName } from "../provision/steps/policies.js";

/**
 * What destroy would do, found with reads only: every object mcp-access.json
 * records, each proven to be this project's with the same proof provision
 * uses (name, host, type, decision; the Worker by its bindings), never by its
 * id alone: a pull request can put any id in that file, and the token can
 * delete every Access app and policy of the account. What fails the proof, or
 * was adopted with --adopt (somebody's before provision took it over), is kept.
 */

/** One object: removed, already gone, or kept (with why). */
export interface Target {
  /** `the Worker "srv"`, for the lines printed. */
  what: string;
  fate: "remove" | "gone" | "keep";
  /** Why it is kept, or how it goes ("detached from", "deleted"). */
  why?: string;
  /** The step that removes it, in the order of SPEC §10; absent for what stays or is gone. */
  remove?: (api: CloudflareApi, account: string) => Promise<void>;
  /** The entries of mcp-access.json that name it, cleared once it is gone. */
  records: JSONPath[];
}

export interface Survey {
  account: string;
  /** In the order destroy takes them: downstream links, their policy, the custom domain, the Worker, the app, the allow policy, the KV namespace. */
  targets: Target[];
}

// Names come from the API: whoever can edit the account chooses them.
const quote = quoted;
const describePolicy = (policy: AccessPolicy) => `the Access policy ${quote(policy.name)} (${policy.id})`;
const describeApp = (app: AccessApp) => `the Access application ${quote(app.name)} (${app.id})`;
const ADOPTED = "provision --adopt took it over (provisioned.adopted), it did not make it";
const UNPROVEN = ": it is not provably this project's";

export async function survey(api: CloudflareApi, config: Config, account: string): Promise<Survey> {
  const provisioned = config.provisioned ?? {};
  const adopted = new Set(provisioned.adopted);
  let everyPolicy: AccessPolicy[] | undefined;
  const reusablePolicies = async () => (everyPolicy ??= await api.listPolicies(account));
  let everyNamespace: KvNamespace[] | undefined;
  const namespaces = async () => (everyNamespace ??= await api.listKvNamespaces(account));

  const downstreamTargets = await surveyDownstreams(api, config, account, adopted, reusablePolicies);
  const app = await surveyApp(api, config, account, adopted);
  const namespace = await surveyNamespace(config, adopted, namespaces);
  const worker = await surveyWorker(api, config, account, adopted, app.proven, namespace.proven, namespaces);
  const domains = worker.fate !== "keep" ? await surveyDomains(api, config, account) : [];
  const allowPolicy = await surveyAllowPolicy(api, config, account, adopted, app);

  return {
    account,
    targets: [...downstreamTargets, ...domains, worker, ...(app.target ? [app.target] : []), ...(allowPolicy ? [allowPolicy] : []), ...(namespace.target ? [namespace.target] : [])],
  };
}

/**
 * On each downstream app, our Linked App Token policy comes off (an update
 * that sends back every other policy and setting: there is no detach call),
 * then the policy goes once no application uses it. A downstream app is never
 * this project's: only our policy leaves it.
 */
async function surveyDownstreams(
  api: CloudflareApi,
  config: Config,
  account: string,
  adopted: Set<string>,
  reusablePolicies: () => Promise<AccessPolicy[]>,
): Promise<Target[]> {
  const entries = Object.entries(config.provisioned?.downstreams ?? {});
  if (!entries.length) return [];
  const wantedName = linkedAppPolicyName(config.name);
  const targets: Target[] = [];
  const policies = new Map<string, { policy: AccessPolicy | undefined; detaching: number; unlinked: string[]; notOurs: boolean }>();

  for (const [name, { appId, policyId }] of entries) {
    const record: JSONPath = ["provisioned", "downstreams", name];
    let entry = policies.get(policyId);
    if (!entry) {
      entry = { policy: await api.getPolicy(account, policyId), detaching: 0, unlinked: [], notOurs: false };
      policies.set(policyId, entry);
    }
    const { policy } = entry;
    const wrong = policy ? policyMismatches(policy, { name: wantedName, decision: "non_identity" }) : [];
    if (policy && wrong.length) {
      entry.notOurs = true;
      targets.push(keep(`${name}'s link (provisioned.downstreams.${name})`, `${describePolicy(policy)}: ${wrong.join("; ")}${UNPROVEN}`, [record]));
      continue;
    }
    const app = await api.getApp(account, appId);
    const carries = app?.policies?.some((attached) => attached.id === policyId);
    if (!policy || !app || !carries) {
      entry.unlinked.push(name);
      targets.push({ what: `${name}: the Linked App Token policy on its Access application`, fate: "gone", records: [] });
      continue;
    }
    const why = await whyDownstreamStays(config, name, app, policyId, reusablePolicies, account);
    if (why) {
      targets.push(keep(`${name}: the Linked App Token policy on ${describeApp(app)}`, why, [record]));
      continue;
    }
    entry.detaching += 1;
    entry.unlinked.push(name);
    const body = writableFields(app);
    const others = body.policies.filter((attached) => attached.id !== policyId);
    targets.push({
      what: `${name}: the Linked App Token policy on ${describeApp(app)}`,
      fate: "remove",
      why: `detached; its ${others.length} other polic${others.length === 1 ? "y" : "ies"} and every setting stay`,
      remove: (api, account) => api.updateApp(account, app.id, { ...body, policies: others }).then(() => undefined),
      records: [],
    });
  }

  // A downstream's record goes with the policy it names, once its app no longer carries it: until then it is what finds the policy again.
  for (const [id, { policy, detaching, unlinked, notOurs }] of policies) {
    const records = unlinked.map((name): JSONPath => ["provisioned", "downstreams", name]);
    if (notOurs) continue;
    if (!policy) {
      targets.push({ what: `the Linked App Token policy (${id})`, fate: "gone", records });
      continue;
    }
    if (adopted.has(policy.id)) {
      targets.push(keep(describePolicy(policy), ADOPTED, records));
      continue;
    }
    const stillUsed = appCount(policy) - detaching;
    if (stillUsed > 0) {
      targets.push(keep(describePolicy(policy), stillOn(stillUsed), records));
      continue;
    }
    targets.push(deleted(describePolicy(policy), (api, account) => api.deletePolicy(account, policy.id), records));
  }
  return targets;
}

/** Why a downstream app keeps our policy, or undefined when it can come off. */
async function whyDownstreamStays(
  config: Config,
  name: string,
  app: AccessApp,
  policyId: string,
  reusablePolicies: () => Promise<AccessPolicy[]>,
  account: string,
): Promise<string | undefined> {
  if (app.type !== "self_hosted") return `it is a ${app.type} app, not the self-hosted one provision linked`;
  const downstream = config.downstreams.find((candidate) => candidate.name === name);
  if (downstream) {
    const url = new URL(downstream.url);
    const matches = downstream.accessApp ? app.name === downstream.accessApp : covers(app, url);
    if (!matches) return `it is not ${name}'s application (${downstream.accessApp ? `named ${quote(downstream.accessApp)}` : `for ${url.host}`})`;
  }
  // An update sends back every other policy as a reference; an app-scoped (legacy) policy left out of it is deleted with no way back.
  const others = (app.policies ?? []).filter((attached) => attached.id !== policyId);
  if (!others.length) return undefined;
  const reusable = new Set((await reusablePolicies()).map((policy) => policy.id));
  const legacy = others.filter((attached) => attached.reusable === false || !reusable.has(attached.id));
  if (!legacy.length) return undefined;
  const each = legacy.map((attached) => `${quote(attached.name ?? attached.id)} (PUT /accounts/${account}/access/apps/${app.id}/policies/${attached.id}/make_reusable)`);
  return `the update that takes ours off would delete its app-scoped (legacy) policies: make them reusable, ${each.join(", ")}, then run destroy again`;
}

interface AppSurvey {
  target?: Target;
  /** The app, proven this project's (kept only if adopted); proves the Worker. */
  proven?: AccessApp;
  /** The app goes in this run: the allow policy it carries is then free. */
  removing?: AccessApp;
}

async function surveyApp(api: CloudflareApi, config: Config, account: string, adopted: Set<string>): Promise<AppSurvey> {
  const recorded = config.provisioned?.accessApp;
  if (!recorded) return {};
  const records: JSONPath[] = [["provisioned", "accessApp"]];
  const app = await api.getApp(account, recorded.id);
  if (!app) return { target: { what: `the Access application (${recorded.id})`, fate: "gone", records } };

  const type = config.auth === "saas" ? "saas" : "self_hosted";
  const mismatches = app.type === type ? appMismatches(app, config, workerHost(config), lastProvisionedHost(config)) : [`it is a ${app.type} app, and the project is ${config.auth}`];
  if (mismatches.length) return { target: keep(describeApp(app), mismatches.join("; ") + UNPROVEN, records) };
  if (adopted.has(app.id)) return { target: keep(describeApp(app), ADOPTED, records), proven: app };
  return { target: deleted(describeApp(app), (api, account) => api.deleteApp(account, app.id), records), proven: app, removing: app };
}

async function surveyNamespace(config: Config, adopted: Set<string>, namespaces: () => Promise<KvNamespace[]>): Promise<{ target?: Target; proven?: KvNamespace }> {
  const id = config.provisioned?.kvNamespaceId;
  if (!id) return {};
  const records: JSONPath[] = [["provisioned", "kvNamespaceId"]];
  const namespace = (await namespaces()).find((candidate) => candidate.id === id);
  if (!namespace) return { target: { what: `the KV namespace (${id})`, fate: "gone", records } };
  const what = `the KV namespace ${quote(namespace.title)} (${namespace.id}) and every OAuth grant and token in it`;
  const title = kvNamespaceTitle(config.name);
  if (namespace.title !== title) return { target: keep(what, `its title is not ${quote(title)}${UNPROVEN}`, records) };
  if (adopted.has(namespace.id)) return { target: keep(what, ADOPTED, records), proven: namespace };
  return { target: deleted(what, (api, account) => api.deleteKvNamespace(account, namespace.id), records), proven: namespace };
}

/**
 * The Worker named in mcp-access.json proves itself as provision's deploy
 * requires: a POLICY_AUD of this project's self-hosted app, or an OAUTH_KV
 * of this project's KV namespace, each proven by its own name.
 */
async function surveyWorker(
  api: CloudflareApi,
  config: Config,
  account: string,
  adopted: Set<string>,
  app: AccessApp | undefined,
  namespace: KvNamespace | undefined,
  namespaces: () => Promise<KvNamespace[]>,
): Promise<Target> {
  const name = config.name;
  const what = `the Worker ${quote(name)}`;
  const bindings = await api.getWorkerBindings(account, name);
  if (!bindings) return { what, fate: "gone", records: [] };
  const proof = workerProof(bindings, name);
  let ours = proof.byApp(app) || proof.byNamespace(namespace);
  if (!ours && proof.namespaceId !== undefined) ours = (await namespaces()).some(proof.byNamespace);
  if (!ours && proof.aud !== undefined) ours = (await api.listApps(account)).some(proof.byApp);
  if (!ours) {
    return keep(
      what,
      `it binds no POLICY_AUD of this project's Access application and no OAUTH_KV of its KV namespace${UNPROVEN}`,
      [],
    );
  }
  if (adopted.has(name)) return keep(what, ADOPTED, []);
  // No `force`: if another Worker depends on this one, the API refuses, and the user hears why.
  return deleted(what, (api, account) => api.deleteWorker(account, name), []);
}

/**
 * The host provision last set the app up for: the custom domain it recorded, else the Worker's
 * workers.dev host. It differs from workerHost(config) while a change of `domain` waits for its
 * provision, and the app is still this project's there.
 */
function lastProvisionedHost(config: Config): string | undefined {
  const provisioned = config.provisioned;
  if (provisioned?.customDomain) return provisioned.customDomain.hostname;
  return provisioned?.workersSubdomain ? `${config.name}.${provisioned.workersSubdomain}.workers.dev` : undefined;
}

/**
 * The custom domains routed to our Worker: `domain`, and the one provision last set up
 * (provisioned.customDomain), which differ while a domain change waits for its provision. Detached
 * first, so a hostname does not keep pointing at a deleted Worker. Only hosts this project named:
 * another host routed to a Worker of this name is somebody's, and stays.
 */
async function surveyDomains(api: CloudflareApi, config: Config, account: string): Promise<Target[]> {
  const recorded = config.provisioned?.customDomain?.hostname.toLowerCase();
  const hosts = new Set([config.domain, recorded].filter((host): host is string => host !== undefined).map((host) => host.toLowerCase()));
  if (!hosts.size) return [];
  const records = (host: string): JSONPath[] => (host === recorded ? [["provisioned", "customDomain"]] : []);
  const attached = (await api.listWorkerDomains(account, { service: config.name })).filter(
    (domain: WorkerDomain) => domain.service === config.name && hosts.has(domain.hostname.toLowerCase()),
  );
  const detached = new Set(attached.map((domain) => domain.hostname.toLowerCase()));
  return [
    ...attached.map((domain): Target => ({
      what: `the custom domain ${domain.hostname} (${domain.id})`,
      fate: "remove",
      why: "detached (its certificate stays: SSL/TLS, Edge Certificates)",
      remove: (api, account) => api.deleteWorkerDomain(account, domain.id),
      records: records(domain.hostname.toLowerCase()),
    })),
    // The recorded one, already detached; a `domain` provision never set up was never there.
    ...(recorded && !detached.has(recorded) ? [{ what: `the custom domain ${recorded}`, fate: "gone" as const, records: records(recorded) }] : []),
  ];
}

async function surveyAllowPolicy(api: CloudflareApi, config: Config, account: string, adopted: Set<string>, app: AppSurvey): Promise<Target | undefined> {
  const id = config.provisioned?.allowPolicyId;
  if (!id) return undefined;
  const records: JSONPath[] = [["provisioned", "allowPolicyId"]];
  const policy = await api.getPolicy(account, id);
  if (!policy) return { what: `the Access policy (${id})`, fate: "gone", records };
  const mismatches = policyMismatches(policy, { name: allowPolicyName(config.name), decision: "allow" });
  if (mismatches.length) return keep(describePolicy(policy), mismatches.join("; ") + UNPROVEN, records);
  if (adopted.has(policy.id)) return keep(describePolicy(policy), ADOPTED, records);
  const freed = app.removing?.policies?.some((attached) => attached.id === policy.id) ? 1 : 0;
  const stillUsed = appCount(policy) - freed;
  if (stillUsed > 0) return keep(describePolicy(policy), stillOn(stillUsed), records);
  return deleted(describePolicy(policy), (api, account) => api.deletePolicy(account, policy.id), records);
}

const stillOn = (apps: number) =>
  `${apps} Access application(s) that destroy leaves still use it`;

/** How many apps use a policy (PolicyGetResponse.app_count); unknown counts as none, and the API's own refusal then speaks. */
const appCount = (policy: AccessPolicy) => (typeof policy.app_count === "number" ? policy.app_count : 0);

const keep = (what: string, why: string, records: JSONPath[]): Target => ({ what, fate: "keep", why, records });
const deleted = (what: string, remove: Target["remove"], records: JSONPath[]): Target => ({ what, fate: "remove", why: "deleted", remove, records });
