import type { Downstream } from "../../config/config.js";
import { isLoopbackHost } from "../../config/validate.js";
import type { AccessApp } from "../cloudflare-api.js";
import type { ProvisionContext } from "../context.js";
import { publicHostnames, writableFields } from "./access-app.js";
import { ensurePolicy } from "./policies.js";

/**
 * Step 6: each downstream app's self-hosted Access application gets a Linked
 * App Token policy naming this server's app, so Access lets the user's token
 * through when the server calls the app for them. One reusable policy serves
 * every downstream app (its rule is the same for all). It is attached next to
 * the app's own policies: an update replaces the whole app, so the body
 * carries every field and every policy it had. A downstream app that Access
 * does not protect is reported with what to do; nothing is created for it.
 */
export async function linkDownstreamApps(ctx: ProvisionContext): Promise<void> {
  const account = ctx.accountId!;
  let everyApp: AccessApp[] | undefined;
  const apps = async () => (everyApp ??= await ctx.api.listApps(account));

  const linkable: { downstream: Downstream; app: AccessApp }[] = [];
  for (const downstream of ctx.config.downstreams) {
    const app = await findDownstreamApp(ctx, downstream, apps);
    if (app) linkable.push({ downstream, app });
  }
  if (!linkable.length) return;

  const recordedPolicy = Object.values(ctx.config.provisioned?.downstreams ?? {})[0]?.policyId;
  const policyId = await ensurePolicy(
    ctx,
    { name: linkedAppPolicyName(ctx.config.name), decision: "non_identity", include: [{ linked_app_token: { app_uid: ctx.app!.uid ?? ctx.app!.id } }] },
    recordedPolicy,
    "Linked App Token policy",
  );

  for (const { downstream, app } of linkable) {
    const policies = app.policies ?? [];
    if (policies.some((policy) => policy.id === policyId)) {
      ctx.report("found", `${downstream.name}: the Linked App Token policy is on "${app.name}"`);
    } else {
      const body = writableFields(app);
      const last = Math.max(0, ...body.policies.map((policy) => policy.precedence ?? 0));
      await ctx.api.updateApp(account, app.id, { ...body, policies: [...body.policies, { id: policyId, precedence: last + 1 }] });
      const others = policies.length ? `, next to its ${policies.length} other polic${policies.length === 1 ? "y" : "ies"}` : "";
      ctx.report("changed", `${downstream.name}: the Linked App Token policy is attached to "${app.name}"${others}`);
    }
    const entry = { appId: app.id, policyId };
    const recorded = ctx.config.provisioned?.downstreams?.[downstream.name];
    if (recorded?.appId !== entry.appId || recorded.policyId !== entry.policyId) await ctx.record(["provisioned", "downstreams", downstream.name], entry);
  }
}

export const linkedAppPolicyName = (worker: string) => `Allow requests from MCP server ${worker}`;

async function findDownstreamApp(ctx: ProvisionContext, downstream: Downstream, apps: () => Promise<AccessApp[]>): Promise<AccessApp | undefined> {
  const url = new URL(downstream.url);
  if (isLoopbackHost(url.hostname)) {
    ctx.report("attention", `${downstream.name}: ${downstream.url} is on this machine (local development only): no Access app to link`);
    return undefined;
  }
  const recorded = ctx.config.provisioned?.downstreams?.[downstream.name];
  const matches = (app: AccessApp) => (downstream.accessApp ? app.name === downstream.accessApp : covers(app, url));
  let app = recorded ? await ctx.api.getApp(ctx.accountId!, recorded.appId) : undefined;
  if (app && !matches(app)) app = undefined;
  app ??= mostSpecific((await apps()).filter(matches), url);

  const where = downstream.accessApp ? `named "${downstream.accessApp}"` : `for ${url.host}${url.pathname === "/" ? "" : url.pathname}`;
  if (!app) {
    ctx.report(
      "attention",
      `${downstream.name}: no Access application ${where}, so call_${downstream.name} cannot get through Access. Protect ${url.host} with a ` +
        "self-hosted Access application (or, if one does, set this downstream's accessApp to its name in mcp-access.json), then run provision again",
    );
    return undefined;
  }
  if (app.type !== "self_hosted") {
    ctx.report(
      "attention",
      `${downstream.name}: the Access application ${where}, "${app.name}", is a ${app.type} app; Linked App Tokens work only on self-hosted apps, so none was attached`,
    );
    return undefined;
  }
  return app;
}

/** True when one of the app's hostnames (`wiki.example.com`, `wiki.example.com/api`, `*.example.com`) covers the URL. */
function covers(app: AccessApp, url: URL): boolean {
  return matchLength(app, url) > 0;
}

function matchLength(app: AccessApp, url: URL): number {
  const host = url.hostname.toLowerCase();
  const path = url.pathname.replace(/\/+$/, "");
  let best = 0;
  for (const entry of publicHostnames(app)) {
    const slash = entry.indexOf("/");
    const [domain, prefix] = slash < 0 ? [entry, ""] : [entry.slice(0, slash), entry.slice(slash)];
    const hostMatches = domain === host || (domain.startsWith("*.") && host.endsWith(domain.slice(1)));
    const pathMatches = prefix === "" || path === prefix || path.startsWith(`${prefix}/`);
    if (hostMatches && pathMatches) best = Math.max(best, entry.length + (domain.startsWith("*.") ? 0 : 1000));
  }
  return best;
}

/** Of the apps covering the URL, the one Access would apply: an exact host before a wildcard, the longest path. */
function mostSpecific(apps: AccessApp[], url: URL): AccessApp | undefined {
  return apps.map((app) => ({ app, score: matchLength(app, url) })).sort((a, b) => b.score - a.score)[0]?.app;
}
