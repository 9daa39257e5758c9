import type { ProvisionContext, WorkerSecrets } from "../context.js";

/**
 * Step 7: the one deploy. wrangler.jsonc already holds the vars and the KV id
 * (the files step put them there); the secrets go with the deploy itself, so
 * the Worker never runs without them and is uploaded once.
 */
export async function deployWorker(ctx: ProvisionContext): Promise<void> {
  const secrets = await secretsToUpload(ctx);
  if (ctx.dryRun) {
    ctx.plannedCommand = ctx.deployer.describe({ root: ctx.root, accountId: ctx.accountId!, worker: ctx.config.name, secrets });
    return;
  }
  const { url } = await ctx.deployer.deploy({ root: ctx.root, accountId: ctx.accountId!, worker: ctx.config.name, secrets });
  ctx.liveUrl = url ?? `https://${ctx.host}`;
  const names = Object.keys(secrets);
  ctx.report("changed", `the Worker ${ctx.config.name}: deployed${names.length ? `, with the secrets ${names.join(", ")}` : ""}`);
}

/**
 * saas: the secrets the Worker needs (SPEC §2). Those derived from the app
 * (its client id and endpoints) go with every deploy; the client secret when
 * this run has it (the app was just made); the cookie key only when the
 * Worker has none, so that a re-run does not sign everyone out of their
 * remembered approvals. A deploy keeps the secrets it is not given.
 */
export async function secretsToUpload(ctx: ProvisionContext): Promise<WorkerSecrets> {
  if (ctx.config.auth !== "saas") return {};
  if (ctx.workerSecrets === undefined) ctx.workerSecrets = (await ctx.api.listWorkerSecrets(ctx.accountId!, ctx.config.name)) ?? null;
  const has = (name: string) => ctx.workerSecrets?.includes(name) ?? false;
  const clientId = ctx.app!.saas_app!.client_id!;
  const issuer = `${ctx.config.team}/cdn-cgi/access/sso/oidc/${clientId}`;
  const secrets: WorkerSecrets = {
    ACCESS_CLIENT_ID: clientId,
    ACCESS_AUTHORIZATION_URL: `${issuer}/authorization`,
    ACCESS_TOKEN_URL: `${issuer}/token`,
    ACCESS_JWKS_URL: `${issuer}/jwks`,
  };
  if (ctx.secrets.clientSecret) secrets.ACCESS_CLIENT_SECRET = ctx.secrets.clientSecret;
  if (!has("COOKIE_ENCRYPTION_KEY")) {
    ctx.secrets.cookieKey ??= ctx.randomKey();
    ctx.redactor.add(ctx.secrets.cookieKey);
    secrets.COOKIE_ENCRYPTION_KEY = ctx.secrets.cookieKey;
  }
  return secrets;
}
