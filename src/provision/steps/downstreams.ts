import type { AccessApp } from "../cloudflare-api.js";
import type { DownstreamTarget, ProvisionContext } from "../context.js";
import { publicHostnames, writableFields } from "./access-app.js";
import { ensurePolicy, type WantedPolicy } from "./policies.js";

/**
 * Step 6: each downstream app's self-hosted Access application gets a Linked
 * App Token policy naming this server's app, so Access lets the user's token
 * through when the server calls the app for them. One reusable policy serves
 * every downstream app (its rule is the same for all). A downstream app is
 * never this project's: our policy is added after its own, and everything
 * else it had goes back exactly as it was (an update replaces the whole app,
 * so the body carries every field its type takes and every policy, with its
 * precedence; findExisting has already stopped the run if one of them is
 * app-scoped, which a body cannot send back). A
 * downstream app that Access does not protect is reported with what to do;
 * nothing is created for it. findExisting found the apps and the policy.
 */
export async function linkDownstreamApps(ctx: ProvisionContext): Promise<void> {
  const account = ctx.accountId!;
  const { downstreams: targets, linkPolicy } = ctx.existing!;
  for (const { downstream, unlinkable } of targets) if (unlinkable) ctx.report("attention", `${downstream.name}: ${unlinkable}`);
  const linkable = targets.filter((target): target is Required<Pick<DownstreamTarget, "downstream" | "app">> => target.app !== undefined);
  if (!linkable.length) return;

  const policyId = await ensurePolicy(ctx, wantedLinkPolicy(ctx.config.name, ctx.app!), linkPolicy, "Linked App Token policy");

  const records = ctx.config.provisioned?.downstreams ?? {};
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
    const recorded = Object.hasOwn(records, downstream.name) ? records[downstream.name] : undefined;
    if (recorded?.appId !== entry.appId || recorded.policyId !== entry.policyId) await ctx.record(["provisioned", "downstreams", downstream.name], entry);
  }
}

export const linkedAppPolicyName = (worker: string) => `Allow requests from MCP server ${worker}`;

/** The Linked App Token policy: requests carrying a token of this server's Access app get through. */
export function wantedLinkPolicy(worker: string, app: AccessApp): WantedPolicy {
  return { name: linkedAppPolicyName(worker), decision: "non_identity", include: [{ linked_app_token: { app_uid: app.uid ?? app.id } }] };
}

/** True when one of the app's hostnames (`wiki.example.com`, `wiki.example.com/api`, `*.example.com`) covers the URL. */
export function covers(app: AccessApp, url: URL): boolean {
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
export function mostSpecific(apps: AccessApp[], url: URL): AccessApp | undefined {
  return apps.map((app) => ({ app, score: matchLength(app, url) })).sort((a, b) => b.score - a.score)[0]?.app;
}
