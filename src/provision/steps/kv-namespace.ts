import type { ProvisionContext } from "../context.js";

/**
 * saas: the KV namespace bound as OAUTH_KV: the one findExisting found (by its
 * recorded id, else by the title wrangler itself would give it), else created;
 * an adopted one gets this project's title. Its id must be in
 * wrangler.jsonc before the deploy: a KV binding without an id makes wrangler
 * create a namespace of its own.
 *
 * It runs before the Access app step (SPEC §5 lists it after): a SaaS app's
 * client secret exists only in the response that creates the app, so the
 * fewer steps that can fail between that response and the deploy, the better.
 */
export async function ensureKvNamespace(ctx: ProvisionContext): Promise<void> {
  const account = ctx.accountId!;
  const title = kvNamespaceTitle(ctx.config.name);
  const recorded = ctx.config.provisioned?.kvNamespaceId;
  const existing = ctx.existing!.kvNamespace;
  let id: string;
  if (existing && existing.title !== title) {
    id = (await ctx.api.renameKvNamespace(account, existing.id, title)).id;
    ctx.report("changed", `KV namespace "${existing.title}" (OAUTH_KV): renamed "${title}"`);
  } else if (existing) {
    id = existing.id;
    ctx.report("found", `KV namespace "${existing.title}" (OAUTH_KV)`);
  } else {
    id = (await ctx.api.createKvNamespace(account, title)).id;
    ctx.report("created", `KV namespace "${title}" (OAUTH_KV)`);
  }
  if (recorded !== id) await ctx.record(["provisioned", "kvNamespaceId"], id);
}

export const kvNamespaceTitle = (worker: string) => `${worker}-OAUTH_KV`;
