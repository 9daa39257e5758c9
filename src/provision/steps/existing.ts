import type { Config, Downstream } from "../../config/config.js";
import { isLoopbackHost } from "../../config/validate.js";
import { Cancelled, RuntimeFailure } from "../../errors.js";
import { quoted } from "../../untrusted.js";
import type { AccessApp, AccessPolicy, KvNamespace, WorkerBinding } from "../cloudflare-api.js";
import type { DownstreamTarget, Existing, ProvisionContext } from "../context.js";
import { accessAppName, formerHost, servesHost } from "./access-app.js";
import { covers, linkedAppPolicyName, mostSpecific } from "./downstreams.js";
import { kvNamespaceTitle } from "./kv-namespace.js";
import { allowPolicyName } from "./policies.js";

/**
 * The step before the first change: finds every object the later steps would
 * change, and proves each is this project's from the object itself (name,
 * host, type, decision), never from mcp-access.json. A pull request can put
 * any id in that file, and the token can edit every Access policy and app of
 * the account: an id alone must never aim provision at them. What fails the
 * proof stops the whole run before any write, unless --adopt takes it over;
 * adopting renames it to this project's name, so it proves itself next time.
 * The Worker the run deploys over proves itself by its bindings, and an
 * adopted one by the deploy that gives it ours.
 * Downstream apps are never this project's: they only get our policy added.
 */
export async function findExisting(ctx: ProvisionContext): Promise<void> {
  const account = ctx.accountId!;
  let everyApp: AccessApp[] | undefined;
  const apps = async () => (everyApp ??= await ctx.api.listApps(account));
  let everyNamespace: KvNamespace[] | undefined;
  const namespaces = async () => (everyNamespace ??= await ctx.api.listKvNamespaces(account));
  let everyPolicy: AccessPolicy[] | undefined;
  const policies = async () => (everyPolicy ??= await ctx.api.listPolicies(account));
  const notOurs: NotOurs[] = [];
  const provisioned = ctx.config.provisioned ?? {};

  // What an earlier run adopted stays adopted: it proves itself by name now, but provision did not make it.
  const existing: Existing = { appRecorded: false, downstreams: [], adopted: new Set(provisioned.adopted) };
  existing.allowPolicy = await findPolicy(
    ctx,
    { name: allowPolicyName(ctx.config.name), decision: "allow", what: "its rules become this project's allowed users" },
    provisioned.allowPolicyId ? [{ path: "provisioned.allowPolicyId", id: provisioned.allowPolicyId }] : [],
    policies,
    notOurs,
  );
  if (ctx.config.auth === "saas") existing.kvNamespace = await findKvNamespace(ctx, namespaces, notOurs);
  Object.assign(existing, await findApp(ctx, apps, notOurs));
  const workerNotOurs = await proveWorker(ctx, existing, apps, namespaces, notOurs);

  for (const downstream of ctx.config.downstreams) existing.downstreams.push(await findDownstreamApp(ctx, downstream, apps, notOurs));
  if (existing.downstreams.some((target) => target.app)) {
    const recorded = Object.entries(provisioned.downstreams ?? {}).map(([name, entry]) => ({ path: `provisioned.downstreams.${name}.policyId`, id: entry.policyId }));
    existing.linkPolicy = await findPolicy(
      ctx,
      { name: linkedAppPolicyName(ctx.config.name), decision: "non_identity", what: "its rule becomes this server's Linked App Token" },
      recorded.filter((entry, index) => recorded.findIndex((other) => other.id === entry.id) === index),
      policies,
      notOurs,
    );
  }

  await refuseAppScopedPolicies(ctx, existing, policies);
  await adoptOrStop(ctx, notOurs, existing);
  // Taken over, the Worker's secrets are somebody else's: none counts as this project's (the cookie key and client secret go up anew).
  if (workerNotOurs) ctx.workerSecrets = [];
  ctx.existing = existing;
}

/** An object that failed the proof: where it was found, what did not match, and what to do. */
interface NotOurs {
  found: string;
  mismatches: string[];
  /** What to do when it is not this project's. */
  otherwise: string;
  /** How --adopt takes it over; absent for what is never taken over (a downstream app). */
  adopt?: { id: string; what: string; becomes: string };
}

// Names come from the API: whoever can edit the account chooses them.
const quote = quoted;
const article = (word: string) => (/^[aeiou]/i.test(word) ? "an" : "a");
const describePolicy = (policy: AccessPolicy) => `the Access policy ${quote(policy.name)} (${policy.id})`;
const describeApp = (app: AccessApp) => `the Access application ${quote(app.name)} (${app.id})`;
const describeNamespace = (namespace: KvNamespace) => `the KV namespace ${quote(namespace.title)} (${namespace.id})`;
const removeRecord = (path: string) => `If it is not this project's, remove ${path} from mcp-access.json: provision then finds or makes its own`;

async function findPolicy(
  ctx: ProvisionContext,
  wanted: { name: string; decision: string; what: string },
  recorded: { path: string; id: string }[],
  policies: () => Promise<AccessPolicy[]>,
  notOurs: NotOurs[],
): Promise<AccessPolicy | undefined> {
  const mismatches = (policy: AccessPolicy) => policyMismatches(policy, wanted);
  const adopt = (policy: AccessPolicy) => {
    const used = typeof policy.app_count === "number" && policy.app_count > 0 ? ` (it is on ${policy.app_count} application(s) now)` : "";
    return { id: policy.id, what: describePolicy(policy), becomes: `renamed ${quote(wanted.name)}, ${wanted.what}${used}` };
  };
  for (const { path, id } of recorded) {
    const policy = await ctx.api.getPolicy(ctx.accountId!, id);
    // Deleted since: found by name below, or made anew.
    if (!policy) continue;
    const wrong = mismatches(policy);
    if (wrong.length) notOurs.push({ found: `${path} names ${describePolicy(policy)}`, mismatches: wrong, otherwise: removeRecord(path.replace(/\.policyId$/, "")), adopt: adopt(policy) });
    return policy;
  }
  const named = (await policies()).filter((policy) => policy.name === wanted.name);
  const policy = named.find((candidate) => !mismatches(candidate).length) ?? named[0];
  if (policy && mismatches(policy).length) {
    notOurs.push({
      found: `${describePolicy(policy)}, found by its name`,
      mismatches: mismatches(policy),
      otherwise: "If it is not this project's, rename or delete it in Zero Trust (Access controls, Policies)",
      adopt: adopt(policy),
    });
  }
  return policy;
}

/** Why a policy is not the one of this project named `wanted.name` (none: it is). destroy uses the same proof. */
export function policyMismatches(policy: AccessPolicy, wanted: { name: string; decision: string }): string[] {
  return [
    ...(policy.name === wanted.name ? [] : [`its name is ${quote(policy.name)}, not ${quote(wanted.name)}`]),
    ...(policy.decision === wanted.decision ? [] : [`it is ${article(policy.decision)} ${quote(policy.decision)} policy, not ${quote(wanted.decision)}`]),
  ];
}

/** Why an app of the project's type is not this project's Access app: its name, and (self-hosted) the Worker's host. */
export function appMismatches(app: AccessApp, config: Config, host: string | undefined, formerHost?: string): string[] {
  const name = accessAppName(config.name);
  // Or this project's app still on the host it served before (the custom domain changed, or came or went).
  const protectsOurs = (host !== undefined && servesHost(app, host)) || (formerHost !== undefined && app.name === name && servesHost(app, formerHost));
  return [
    ...(app.name === name ? [] : [`its name is ${quote(app.name)}, not ${quote(name)}`]),
    ...(config.auth === "saas" || protectsOurs ? [] : [`it does not protect ${host ?? "the Worker's host"}`]),
  ];
}

/**
 * A Worker's bindings as the proof that this project deployed it: a POLICY_AUD
 * that is the AUD of this project's self-hosted Access app, or an OAUTH_KV
 * bound to this project's KV namespace, each proven by its name.
 */
export function workerProof(bindings: WorkerBinding[], worker: string) {
  const bound = (type: string, name: string) => bindings.find((binding) => binding.type === type && binding.name === name);
  const aud = bound("plain_text", "POLICY_AUD")?.text;
  const namespaceId = bound("kv_namespace", "OAUTH_KV")?.namespace_id;
  return {
    aud,
    namespaceId,
    byApp: (app: AccessApp | undefined) => aud !== undefined && app?.type === "self_hosted" && app.name === accessAppName(worker) && app.aud === aud,
    byNamespace: (namespace: KvNamespace | undefined) => namespaceId !== undefined && namespace?.id === namespaceId && namespace.title === kvNamespaceTitle(worker),
  };
}

/** saas: the OAUTH_KV namespace, by its recorded id, else by the title wrangler would give it. Binding the Worker to it hands it the data inside. */
async function findKvNamespace(ctx: ProvisionContext, namespaces: () => Promise<KvNamespace[]>, notOurs: NotOurs[]): Promise<KvNamespace | undefined> {
  const title = kvNamespaceTitle(ctx.config.name);
  const recorded = ctx.config.provisioned?.kvNamespaceId;
  const all = await namespaces();
  const byId = recorded === undefined ? undefined : all.find((namespace) => namespace.id === recorded);
  if (byId && byId.title !== title) {
    notOurs.push({
      found: `provisioned.kvNamespaceId names ${describeNamespace(byId)}`,
      mismatches: [`its title is ${quote(byId.title)}, not ${quote(title)}`],
      otherwise: removeRecord("provisioned.kvNamespaceId"),
      adopt: { id: byId.id, what: describeNamespace(byId), becomes: `renamed ${quote(title)}, and the Worker keeps its OAuth grants and tokens there` },
    });
  }
  return byId ?? all.find((namespace) => namespace.title === title);
}

/**
 * The Worker `wrangler deploy` replaces: the one with this project's name. One
 * that does not exist yet is a first deploy. One that exists must show by its
 * own bindings that this project deployed it: a POLICY_AUD that is the AUD of
 * this project's self-hosted Access app, or an OAUTH_KV bound to this
 * project's KV namespace, each of which proves itself by its name. Either
 * counts in either mode, so after a mode switch the Worker the other mode
 * deployed is still ours. The AUD and namespace id recorded in mcp-access.json
 * prove nothing: a pull request can copy them from somebody else's Worker.
 * Returns true when the Worker is not provably ours.
 */
async function proveWorker(
  ctx: ProvisionContext,
  existing: Existing,
  apps: () => Promise<AccessApp[]>,
  namespaces: () => Promise<KvNamespace[]>,
  notOurs: NotOurs[],
): Promise<boolean> {
  const worker = ctx.config.name;
  const bindings = await ctx.api.getWorkerBindings(ctx.accountId!, worker);
  if (!bindings) return false;
  const proof = workerProof(bindings, worker);
  // What the steps before found first: on a re-run that is the proof, with no further request.
  if (proof.aud && (proof.byApp(existing.app) || (await apps()).some(proof.byApp))) return false;
  if (proof.namespaceId && (proof.byNamespace(existing.kvNamespace) || (await namespaces()).some(proof.byNamespace))) return false;

  const byAud = `no POLICY_AUD of this project's Access application ${quote(accessAppName(worker))}`;
  const byNamespace = `no OAUTH_KV of this project's KV namespace ${quote(kvNamespaceTitle(worker))}`;
  notOurs.push({
    found: `the Worker ${quote(worker)}, which provision deploys over`,
    mismatches: [`it binds ${ctx.config.auth === "saas" ? `${byNamespace} and ${byAud}` : `${byAud} and ${byNamespace}`}`],
    otherwise: `If it is not this project's, give this project another "name" in mcp-access.json: the Worker is deployed under that name`,
    adopt: {
      id: worker,
      what: `the Worker ${quote(worker)}`,
      becomes: "replaced at the deploy by this project's code, vars and bindings (secrets of its own that this project does not set stay)",
    },
  });
  return true;
}

/**
 * The Worker's Access application: by its recorded id, else self-hosted by the
 * Worker's host, saas by its name. A recorded app of the other type is what
 * the project had before its auth mode changed: it is left alone.
 */
async function findApp(ctx: ProvisionContext, apps: () => Promise<AccessApp[]>, notOurs: NotOurs[]): Promise<Pick<Existing, "app" | "appRecorded">> {
  const saas = ctx.config.auth === "saas";
  const name = accessAppName(ctx.config.name);
  const host = ctx.host!;
  // This project's app on the host it served before (the custom domain changed, or came or went) is moved by the update.
  const mismatches = (app: AccessApp) => appMismatches(app, ctx.config, host, formerHost(ctx, app));
  const adopt = (app: AccessApp) => ({
    id: app.id,
    what: describeApp(app),
    becomes: `renamed ${quote(name)} and set up for this Worker${saas ? "" : ` (${host}, Managed OAuth)`}, with this project's policy added to its own`,
  });

  const recorded = ctx.config.provisioned?.accessApp;
  if (recorded) {
    const app = await ctx.api.getApp(ctx.accountId!, recorded.id);
    if (app && app.type === (saas ? "saas" : "self_hosted")) {
      const wrong = mismatches(app);
      if (wrong.length) notOurs.push({ found: `provisioned.accessApp.id names ${describeApp(app)}`, mismatches: wrong, otherwise: removeRecord("provisioned.accessApp"), adopt: adopt(app) });
      return { app, appRecorded: true };
    }
    if (app) {
      const old = app.name === name ? `delete ${quote(app.name)} in Zero Trust when nothing uses it` : `${quote(app.name)} is not this project's and stays as it is`;
      ctx.report("attention", `the Access app recorded for this project is a ${app.type} app, and the project is now ${ctx.config.auth}: a new app is made; ${old}`);
    }
  }

  if (saas) return { app: (await apps()).find((app) => app.type === "saas" && app.name === name), appRecorded: false };
  const serving = (await apps()).filter((app) => app.type === "self_hosted" && servesHost(app, host));
  const app = serving.find((candidate) => candidate.name === name) ?? serving[0];
  if (app && mismatches(app).length) {
    notOurs.push({
      found: `${describeApp(app)}, found by the Worker's host ${host}`,
      mismatches: mismatches(app),
      otherwise: `If it is not this project's, delete it or move it off ${host} in Zero Trust (Access controls, Applications)`,
      adopt: adopt(app),
    });
  }
  return { app, appRecorded: false };
}

/**
 * A downstream app's self-hosted Access application: by its recorded id, else
 * the one Access applies to the URL (or the one named `accessApp`). It is
 * never this project's; a recorded id that names anything else stops the run.
 */
async function findDownstreamApp(ctx: ProvisionContext, downstream: Downstream, apps: () => Promise<AccessApp[]>, notOurs: NotOurs[]): Promise<DownstreamTarget> {
  const url = new URL(downstream.url);
  if (isLoopbackHost(url.hostname)) return { downstream, unlinkable: `${downstream.url} is on this machine (local development only): no Access app to link` };
  const place = `${url.host}${url.pathname === "/" ? "" : url.pathname}`;
  const where = downstream.accessApp ? `named ${quote(downstream.accessApp)}` : `for ${place}`;
  const matches = (app: AccessApp) => (downstream.accessApp ? app.name === downstream.accessApp : covers(app, url));

  const records = ctx.config.provisioned?.downstreams ?? {};
  const recorded = Object.hasOwn(records, downstream.name) ? records[downstream.name] : undefined;
  const byId = recorded ? await ctx.api.getApp(ctx.accountId!, recorded.appId) : undefined;
  if (byId && (byId.type !== "self_hosted" || !matches(byId))) {
    notOurs.push({
      found: `provisioned.downstreams.${downstream.name}.appId names ${describeApp(byId)}`,
      mismatches: [byId.type === "self_hosted" ? (downstream.accessApp ? `it is not the application ${where}` : `it does not protect ${place}`) : `it is a ${byId.type} app, not a self-hosted one`],
      otherwise:
        `Remove provisioned.downstreams.${downstream.name} from mcp-access.json: provision then finds ${downstream.name}'s application ${where} itself ` +
        "(a downstream app is never taken over, so --adopt does not apply)",
    });
    return { downstream };
  }

  const app = byId ?? mostSpecific((await apps()).filter(matches), url);
  if (!app) {
    return {
      downstream,
      unlinkable:
        `no Access application ${where}, so call_${downstream.name} cannot get through Access. Protect ${url.host} with a self-hosted Access ` +
        "application (or, if one does, set this downstream's accessApp to its name in mcp-access.json), then run provision again",
    };
  }
  if (app.type !== "self_hosted") {
    return { downstream, unlinkable: `the Access application ${where}, ${quote(app.name)}, is a ${app.type} app; Linked App Tokens work only on self-hosted apps, so none was attached` };
  }
  return { downstream, app };
}

/**
 * Stops the run, before any change, when an app it would update carries an
 * app-scoped ("legacy") policy. An update replaces the whole app, so it must
 * send back every policy, and it can name a policy only by reference: the
 * SDK's AccessAppPolicyLink "links a reusable policy", and its form for an
 * app-scoped policy cannot carry the policy's rules. The API's answer to an
 * app-scoped policy sent back as a link is not documented; rather than risk
 * the app losing it, or a write half done, nothing is written.
 *
 * An app's answer does not say which of its policies are reusable (the SDK's
 * ApplicationPolicy has no such field; `reusable: false` is read where an
 * answer has it). GET /access/policies lists exactly the reusable ones
 * (PolicyGetResponse: `reusable: true`): a policy of the app that is not
 * among them is app-scoped. The apps updated: this project's own, and each
 * downstream app that does not have the Linked App Token policy yet.
 */
async function refuseAppScopedPolicies(ctx: ProvisionContext, existing: Existing, policies: () => Promise<AccessPolicy[]>): Promise<void> {
  const linkPolicyId = existing.linkPolicy?.id;
  const updated = [
    ...(existing.app ? [existing.app] : []),
    ...existing.downstreams.flatMap(({ app }) => (app && !app.policies?.some((policy) => policy.id === linkPolicyId) ? [app] : [])),
  ];
  if (!updated.some((app) => app.policies?.length)) return;
  const reusable = new Set((await policies()).map((policy) => policy.id));
  const found = updated.flatMap((app) =>
    (app.policies ?? []).filter((policy) => policy.reusable === false || !reusable.has(policy.id)).map((policy) => ({ app, policy })),
  );
  if (!found.length) return;
  const account = ctx.accountId!;
  const lines = found.map(
    ({ app, policy }) =>
      `  - ${describeApp(app)} has the app-scoped policy ${quote(policy.name ?? policy.id)} (${policy.id}); make it reusable with ` +
      `PUT /accounts/${account}/access/apps/${app.id}/policies/${policy.id}/make_reusable`,
  );
  throw new RuntimeFailure(
    `Nothing was changed: provision would update ${found.length === 1 ? "an Access application that carries" : "Access applications that carry"} ` +
      "an app-scoped (legacy) policy, and an update can send back only reusable policies:\n" +
      `${lines.join("\n")}\n` +
      "Converted, the policy keeps its rules and stays on the application; or, in Zero Trust (Access controls, Applications), " +
      "replace it on the application with a reusable policy (Access controls, Policies). Then run provision again.",
  );
}

/**
 * Stops the run, before any change, when something failed the proof; with
 * --adopt, lists what would be taken over and (in a terminal) asks first.
 */
async function adoptOrStop(ctx: ProvisionContext, notOurs: NotOurs[], existing: Existing): Promise<void> {
  const refused = notOurs.filter((entry) => !entry.adopt || !ctx.adopt);
  if (refused.length) {
    const lines = refused.map((entry) => {
      const fix = entry.adopt ? `${entry.otherwise}. To take it over instead, run provision --adopt: it is then ${entry.adopt.becomes}.` : `${entry.otherwise}.`;
      return `  - ${entry.found}: ${entry.mismatches.join("; ")}. ${fix}`;
    });
    throw new RuntimeFailure(
      `Nothing was changed: ${refused.length === 1 ? "an object" : `${refused.length} objects`} provision would change ${refused.length === 1 ? "is" : "are"} ` +
        "not provably this project's (the name, host, type, decision or bindings do not match):\n" +
        lines.join("\n") +
        (refused.some((entry) => entry.adopt) ? "\n(After renaming the Worker, its old objects no longer carry its name: --adopt takes them over once.)" : ""),
    );
  }
  if (!notOurs.length) return;

  const adopting = notOurs.map((entry) => entry.adopt!);
  if (ctx.prompter && !ctx.dryRun) {
    const answer = await ctx.prompter.confirm({
      message:
        `--adopt takes over ${adopting.length === 1 ? "this object, which is" : "these objects, which are"} not this project's now:\n` +
        `${adopting.map((entry) => `  - ${entry.what}: ${entry.becomes}`).join("\n")}\nTake ${adopting.length === 1 ? "it" : "them"} over?`,
      initialValue: false,
    });
    if (ctx.prompter.isCancel(answer) || !answer) throw new Cancelled();
  }
  for (const entry of adopting) {
    existing.adopted.add(entry.id);
    ctx.report("adopted", `${entry.what}: ${entry.becomes}`);
  }
  // Recorded before any change: should the run stop half way, destroy still knows these were somebody's.
  await ctx.record(["provisioned", "adopted"], [...existing.adopted]);
}
