import type { Config } from "../config/config.js";
import { isLoopbackHost } from "../config/validate.js";
import { isExpected } from "../errors.js";
import type { AccessApp, AccessPolicy, CloudflareApi } from "../provision/cloudflare-api.js";
import { ApiCallFailed, apiAnswerOf } from "../provision/errors.js";
import { sameJson, sameSet } from "../provision/same.js";
import { appUpdate } from "../provision/steps/access-app.js";
import { recordedBindings, workerSecretNames } from "../provision/steps/deploy.js";
import { wantedLinkPolicy } from "../provision/steps/downstreams.js";
import { mapToIds } from "../provision/steps/identity-providers.js";
import { kvNamespaceTitle } from "../provision/steps/kv-namespace.js";
import { policyMatches, type WantedPolicy, wantedAllowPolicy } from "../provision/steps/policies.js";
import { workerHost } from "../render/render.js";
import { type Check, type CheckStatus, check, type Drift, shown } from "./checks.js";

const PROVISION = "Run npm run provision: it puts back what provision made (and keeps what you added in the dashboard).";
const result = (id: string, status: CheckStatus, message: string, fix?: string, drift?: Drift[]) => check("cloudflare", id, status, message, fix, drift);

/**
 * With an API token: every object `provision` recorded in mcp-access.json,
 * read (GETs only) and compared field by field with what provision would
 * make of it now. "Expected" is computed by provision's own builders
 * (appUpdate, wantedAllowPolicy, wantedLinkPolicy, recordedBindings,
 * workerSecretNames), so a difference here is exactly what the next
 * `provision` would change. Secret values are never read: only names.
 */
export async function cloudflareChecks(config: Config, accountId: string, api: CloudflareApi): Promise<Check[]> {
  const provisioned = config.provisioned;
  if (!provisioned?.accessApp || !provisioned.allowPolicyId) {
    return [result("provisioned", "fail", "mcp-access.json records no Access application or policy: this project has not been provisioned.", "Run npm run provision.")];
  }
  const checks: Check[] = [];
  let tokenRefused = false;
  const guarded = async (id: string, work: () => Promise<Check | Check[]>) => {
    // One refusal of the token says it all: the same 401 for every object would only bury it.
    if (tokenRefused) return;
    try {
      checks.push(...[await work()].flat());
    } catch (error) {
      checks.push(failedCall(id, error));
      tokenRefused = apiAnswerOf(error)?.status === 401;
    }
  };

  let idpIds: string[] | undefined;
  await guarded("identity-providers", async () => {
    idpIds = config.access.idps.length ? mapToIds(config.access.idps, await api.listIdentityProviders(accountId)) : [];
    return [];
  });

  let app: AccessApp | undefined;
  await guarded("access-app", async () => {
    app = await api.getApp(accountId, provisioned.accessApp!.id);
    return accessAppCheck(config, app, idpIds);
  });
  await guarded("allow-policy", async () => policyCheck("allow-policy", "The allow policy", await api.getPolicy(accountId, provisioned.allowPolicyId!), wantedAllowPolicy(config)));
  await downstreamChecks(config, accountId, api, app, guarded);
  if (config.auth === "saas") await guarded("kv-namespace", () => kvNamespaceCheck(config, accountId, api));
  await guarded("worker", async () => workerCheck(config, await api.getWorkerBindings(accountId, config.name)));
  if (config.domain) await guarded("custom-domain", () => customDomainCheck(config, accountId, api));
  return checks;
}

/** The checks' answer to an API call that failed: what Cloudflare said, and what the token needs. */
function failedCall(id: string, error: unknown): Check {
  if (isExpected(error)) return result(id, "fail", error.message);
  if (!(error instanceof ApiCallFailed)) throw error;
  const answer = apiAnswerOf(error);
  const call = `${error.route.method} ${error.route.path}`;
  if (!answer) return result(id, "fail", `${call} got no answer (${shown(error.message)}).`, "Check the network (and CLOUDFLARE_API_BASE_URL, if set), then run doctor again.");
  const said = answer.errors.length ? answer.errors.map((e) => `${shown(e.message)} (code ${e.code})`).join("; ") : shown(answer.message);
  const fix =
    answer.status === 403
      ? `Give the API token the permission "${error.route.permission ?? "for this call"}" (read is enough for doctor).`
      : answer.status === 401
        ? "Check CLOUDFLARE_API_TOKEN: Cloudflare refused it."
        : "Run doctor again; if it persists, check the object in the dashboard.";
  return result(id, "fail", `${call} answered ${answer.status}: ${said}.`, fix);
}

/** The project's Access app: there, of the right type, on the Worker's host, with every field provision sets as it sets it. */
function accessAppCheck(config: Config, app: AccessApp | undefined, idpIds: string[] | undefined): Check {
  const recorded = config.provisioned!.accessApp!;
  const type = config.auth === "saas" ? "saas" : "self_hosted";
  if (!app) return result("access-app", "fail", `The Access application ${recorded.id} recorded in mcp-access.json no longer exists.`, "Run npm run provision: it creates a new one (and deploys the Worker with it).");
  if (app.type !== type) {
    return result("access-app", "fail", `The Access application ${shown(app.name)} is a ${shown(app.type)} app, not ${type}.`, "Remove provisioned.accessApp from mcp-access.json and run npm run provision.", [
      { field: "type", expected: type, actual: app.type },
    ]);
  }
  const host = workerHost(config);
  if (!host) return result("access-app", "fail", "mcp-access.json records no workers.dev subdomain (or domain), so the Worker's host is unknown.", "Run npm run provision.");
  if (idpIds === undefined) return result("access-app", "skip", "Not compared: the identity providers in access.idps could not be resolved (see the check above).");

  const { next, differences } = appUpdate(config, { host, idpIds, allowPolicyId: config.provisioned!.allowPolicyId! }, app);
  const current = app as Record<string, unknown>;
  const wanted = next as Record<string, unknown>;
  const drift = differences.flatMap((field) => (field === "policies" ? [policyIdsDrift(app, next.policies)] : fieldDrift(field, wanted[field], current[field])));
  const identity = type === "saas" ? { field: "saas_app.client_id", expected: recorded.clientId, actual: app.saas_app?.client_id } : { field: "aud", expected: recorded.aud, actual: app.aud };
  if (identity.expected !== undefined && identity.expected !== identity.actual) drift.push(identity);
  if (!drift.length) return result("access-app", "ok", `The Access application ${shown(app.name)} is as provision made it (on ${host}${type === "self_hosted" ? ", Managed OAuth on" : ""}).`);

  const symptoms = appSymptoms(drift, host, config.provisioned!.allowPolicyId!);
  const fix = drift.includes(identity) ? `${PROVISION} The Worker is deployed with the recorded ${identity.field === "aud" ? "AUD" : "client id"}: provision deploys it again with this app's.` : PROVISION;
  return result("access-app", "fail", `The Access application ${shown(app.name)} differs from what provision makes: ${symptoms}.`, fix, drift);
}

/** The differences, named as a user would look for them. */
function appSymptoms(drift: Drift[], host: string, allowPolicyId: string): string {
  const fields = new Set(drift.map((d) => d.field));
  const said: string[] = [];
  const has = (prefix: string) => [...fields].some((field) => field === prefix || field.startsWith(`${prefix}.`));
  const oauthOn = drift.find((d) => d.field === "oauth_configuration.enabled" || d.field === "oauth_configuration");
  if (oauthOn) said.push("Managed OAuth is off");
  if (has("oauth_configuration.dynamic_client_registration")) said.push("the Managed OAuth redirect allowlist is not the project's clients'");
  const policies = drift.find((d) => d.field === "policies");
  if (policies && Array.isArray(policies.actual) && !policies.actual.includes(allowPolicyId)) said.push("the allow policy is not attached");
  if (has("destinations") || has("domain")) said.push(`it does not protect ${host}`);
  if (has("saas_app.redirect_uris")) said.push(`its redirect URIs lack https://${host}/callback`);
  if (has("aud") || has("saas_app.client_id")) said.push("it is not the app the Worker was deployed for");
  if (has("options_preflight_bypass")) said.push("CORS preflights are not let through to the Worker");
  const rest = [...fields].filter((field) => !/^(oauth_configuration|policies|destinations|domain|saas_app\.redirect_uris|aud|saas_app\.client_id|options_preflight_bypass)/.test(field));
  if (rest.length) said.push(`${rest.join(", ")} ${rest.length === 1 ? "differs" : "differ"}`);
  return said.join("; ");
}

function policyIdsDrift(app: AccessApp, wanted: { id: string }[]): Drift {
  return { field: "policies", expected: wanted.map((policy) => policy.id), actual: (app.policies ?? []).map((policy) => policy.id) };
}

/** The leaves in which two values differ, objects walked key by key, lists compared as sets (as provision compares them). */
function fieldDrift(path: string, expected: unknown, actual: unknown): Drift[] {
  if (isObject(expected) && isObject(actual)) {
    const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])];
    return keys.flatMap((key) => fieldDrift(`${path}.${key}`, expected[key], actual[key]));
  }
  if (Array.isArray(expected) && Array.isArray(actual) ? sameSet(expected, actual, sameJson) : sameJson(expected, actual)) return [];
  // An absent flag and a false one are the same to Access.
  if ((expected === false && actual === undefined) || (expected === undefined && actual === false)) return [];
  return [{ field: path, expected, actual }];
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** A reusable policy: there, with the name, decision and rules provision gives it. */
function policyCheck(id: string, label: string, policy: AccessPolicy | undefined, wanted: WantedPolicy): Check {
  if (!policy) return result(id, "fail", `${label} ${shown(wanted.name)} recorded in mcp-access.json no longer exists.`, "Run npm run provision: it creates it again and attaches it.");
  if (policyMatches(policy, wanted)) return result(id, "ok", `${label} ${shown(policy.name)} is as provision made it.`);
  const drift: Drift[] = [
    ...(policy.name === wanted.name ? [] : [{ field: "name", expected: wanted.name, actual: policy.name }]),
    ...(policy.decision === wanted.decision ? [] : [{ field: "decision", expected: wanted.decision, actual: policy.decision }]),
    ...(sameSet(policy.include, wanted.include, sameJson) ? [] : [{ field: "include", expected: wanted.include, actual: policy.include }]),
  ];
  return result(id, "fail", `${label} ${shown(policy.name)} differs from what provision makes: ${drift.map((d) => d.field).join(", ")}.`, PROVISION, drift);
}

type Guarded = (id: string, work: () => Promise<Check | Check[]>) => Promise<void>;

/** Each downstream app still carries this project's Linked App Token policy, and the policy still names this server's app. */
async function downstreamChecks(config: Config, accountId: string, api: CloudflareApi, ours: AccessApp | undefined, guarded: Guarded): Promise<void> {
  const records = config.provisioned?.downstreams ?? {};
  const linkPolicies = new Map<string, AccessPolicy | undefined>();
  for (const downstream of config.downstreams) {
    const id = `downstream:${downstream.name}`;
    if (isLoopbackHost(new URL(downstream.url).hostname)) continue;
    const record = Object.hasOwn(records, downstream.name) ? records[downstream.name] : undefined;
    if (!record) {
      await guarded(id, async () =>
        result(id, "warn", `${downstream.name} has no Linked App Token policy recorded: call_${downstream.name} cannot get through Access.`, "Run npm run provision: it attaches one (or says why it cannot)."),
      );
      continue;
    }
    await guarded(id, async () => {
      const app = await api.getApp(accountId, record.appId);
      if (!app) return result(id, "fail", `${downstream.name}: its Access application ${record.appId} no longer exists.`, "Run npm run provision: it finds the app that protects the URL now.");
      const attached = (app.policies ?? []).some((policy) => policy.id === record.policyId);
      if (!attached) {
        return result(
          id,
          "fail",
          `${downstream.name}: the Linked App Token policy is not on ${shown(app.name)}, so Access refuses call_${downstream.name}'s requests.`,
          PROVISION,
          [{ field: "policies", expected: [...(app.policies ?? []).map((policy) => policy.id), record.policyId], actual: (app.policies ?? []).map((policy) => policy.id) }],
        );
      }
      if (!ours) return result(id, "ok", `${downstream.name}: the Linked App Token policy is on ${shown(app.name)}.`);
      if (!linkPolicies.has(record.policyId)) linkPolicies.set(record.policyId, await api.getPolicy(accountId, record.policyId));
      const policy = policyCheck(id, `${downstream.name}: the Linked App Token policy`, linkPolicies.get(record.policyId), wantedLinkPolicy(config.name, ours));
      return policy.status === "ok" ? result(id, "ok", `${downstream.name}: the Linked App Token policy is on ${shown(app.name)} and names this server's app.`) : policy;
    });
  }
}

async function kvNamespaceCheck(config: Config, accountId: string, api: CloudflareApi): Promise<Check> {
  const id = config.provisioned?.kvNamespaceId;
  const title = kvNamespaceTitle(config.name);
  if (!id) return result("kv-namespace", "fail", "mcp-access.json records no OAUTH_KV namespace.", "Run npm run provision.");
  const namespace = await api.getKvNamespace(accountId, id);
  if (!namespace) return result("kv-namespace", "fail", `The KV namespace ${id} (OAUTH_KV) recorded in mcp-access.json no longer exists: every grant and token the Worker issued is gone with it.`, "Run npm run provision: it creates a new one and deploys the Worker with it.");
  if (namespace.title !== title) {
    return result("kv-namespace", "fail", `The KV namespace ${id} is titled ${shown(namespace.title)}, not ${shown(title)}.`, PROVISION, [{ field: "title", expected: title, actual: namespace.title }]);
  }
  return result("kv-namespace", "ok", `The KV namespace ${shown(title)} (OAUTH_KV) exists.`);
}

/** The deployed Worker: its vars and KV binding are the recorded values, and every secret it needs is set (by name: values are never read). */
function workerCheck(config: Config, bindings: { type: string; name: string; text?: string; namespace_id?: string }[] | undefined): Check {
  if (!bindings) return result("worker", "fail", `The Worker ${shown(config.name)} is not deployed.`, "Run npm run provision (it deploys), or npm run deploy.");
  const drift: Drift[] = [];
  for (const wanted of recordedBindings(config)) {
    if (wanted.value === undefined) continue;
    const bound = bindings.find((binding) => binding.name === wanted.name && binding.type === wanted.type);
    const actual = wanted.type === "plain_text" ? bound?.text : bound?.namespace_id;
    if (actual !== wanted.value) drift.push({ field: `bindings.${wanted.name}`, expected: wanted.value, actual });
  }
  const secrets = new Set(bindings.filter((binding) => binding.type === "secret_text").map((binding) => binding.name));
  const needed = workerSecretNames(config);
  const missing = needed.filter((name) => !secrets.has(name));
  if (missing.length) drift.push({ field: "secrets", expected: needed, actual: needed.filter((name) => secrets.has(name)) });
  if (!drift.length) return result("worker", "ok", `The Worker ${shown(config.name)} is deployed with the recorded vars${needed.length ? ` and its ${needed.length} secrets` : ""}.`);
  const said = [
    ...drift.filter((d) => d.field.startsWith("bindings.")).map((d) => `${d.field.slice("bindings.".length)} is not the recorded value`),
    ...(missing.length ? [`the secret${missing.length === 1 ? "" : "s"} ${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} missing`] : []),
  ];
  const fix =
    missing.some((name) => name === "ACCESS_CLIENT_SECRET")
      ? "Cloudflare shows a SaaS app's client secret only when the app is created: set it with npx wrangler secret put ACCESS_CLIENT_SECRET if you kept it, or delete the Access app and run npm run provision, which makes a new one and deploys its secret."
      : "Run npm run provision: it deploys the Worker with the recorded values and the secrets it can set.";
  return result("worker", "fail", `The Worker ${shown(config.name)}: ${said.join("; ")}.`, fix, drift);
}

async function customDomainCheck(config: Config, accountId: string, api: CloudflareApi): Promise<Check> {
  const host = config.domain!;
  const [domains, urls] = await Promise.all([api.listWorkerDomains(accountId, { hostname: host }), api.getWorkerUrls(accountId, config.name)]);
  const attached = domains.find((domain) => domain.hostname === host);
  const drift: Drift[] = [];
  const said: string[] = [];
  if (attached?.service !== config.name) {
    said.push(attached ? `${host} routes to the Worker ${shown(attached.service)}, not ${shown(config.name)}` : `${host} is not attached to any Worker`);
    drift.push({ field: "service", expected: config.name, actual: attached?.service });
  }
  // On a custom domain the host Access protects must be the only way in: a workers.dev or preview URL would skip Access.
  for (const [field, what] of [["enabled", "its workers.dev URL"], ["previews_enabled", "its preview URLs"]] as const) {
    if (!urls?.[field]) continue;
    said.push(`the Worker answers on ${what}, where Access is not in front of it`);
    drift.push({ field: `subdomain.${field}`, expected: false, actual: true });
  }
  if (!drift.length) return result("custom-domain", "ok", `${host} is attached to the Worker ${shown(config.name)}, its only address.`);
  return result("custom-domain", "fail", `${said.join("; ")}.`, "Run npm run provision: its deploy attaches the domain and turns the workers.dev and preview URLs off (wrangler.jsonc).", drift);
}

