import type { Config } from "../../config/config.js";
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
  // On a custom domain wrangler names the route, not a URL; the Worker answers on that host only.
  ctx.liveUrl = ctx.config.domain ? `https://${ctx.host}` : (url ?? `https://${ctx.host}`);
  const names = Object.keys(secrets);
  ctx.report("changed", `the Worker ${ctx.config.name}: deployed${names.length ? `, with the secrets ${names.join(", ")}` : ""}`);
}

/** The Worker has secrets only provision can give it (so a deploy without provision leaves them out). */
export function needsSecrets(config: Config): boolean {
  return config.auth === "saas" || auditHashes(config);
}

const auditHashes = (config: Config) => config.audit !== false && config.audit.arguments === "hash";

/** The secrets a saas Worker refuses to run without (its wrangler.jsonc lists them as required). */
export const SAAS_SECRET_NAMES = [
  "ACCESS_CLIENT_ID",
  "ACCESS_CLIENT_SECRET",
  "ACCESS_AUTHORIZATION_URL",
  "ACCESS_TOKEN_URL",
  "ACCESS_JWKS_URL",
  "COOKIE_ENCRYPTION_KEY",
] as const;

/** The names of every secret the deployed Worker should have once provision has run (their values are never read back). */
export function workerSecretNames(config: Config): string[] {
  return [...(config.auth === "saas" ? SAAS_SECRET_NAMES : []), ...(auditHashes(config) ? ["AUDIT_HASH_KEY"] : [])];
}

/**
 * The bindings the deploy gives the Worker from what provision recorded: the
 * values the files step merges into wrangler.jsonc (render.ts's teamDomain,
 * policyAud and kvNamespaceId). undefined values are not recorded yet.
 */
export function recordedBindings(config: Config): { type: "plain_text" | "kv_namespace"; name: string; value: string | undefined }[] {
  const { provisioned = {} } = config;
  if (config.auth === "saas") return [{ type: "kv_namespace", name: "OAUTH_KV", value: provisioned.kvNamespaceId }];
  return [
    { type: "plain_text", name: "TEAM_DOMAIN", value: config.team },
    { type: "plain_text", name: "POLICY_AUD", value: provisioned.accessApp?.aud },
  ];
}

/**
 * The secrets the Worker needs. saas (SPEC §2): those derived from the app
 * (its client id and endpoints) go with every deploy; the client secret when
 * this run has it (the app was just made); the cookie key only when the
 * Worker has none, so that a re-run does not sign everyone out of their
 * remembered approvals. Either mode, with `"audit": { "arguments": "hash" }`:
 * the key of the audit log's hashes, likewise only when the Worker has none,
 * so the same value hashes the same in every log line, before and after a
 * re-run. A deploy keeps the secrets it is not given.
 */
export async function secretsToUpload(ctx: ProvisionContext): Promise<WorkerSecrets> {
  if (!needsSecrets(ctx.config)) return {};
  if (ctx.workerSecrets === undefined) ctx.workerSecrets = (await ctx.api.listWorkerSecrets(ctx.accountId!, ctx.config.name)) ?? null;
  const has = (name: string) => ctx.workerSecrets?.includes(name) ?? false;
  const secrets: WorkerSecrets = ctx.config.auth === "saas" ? saasSecrets(ctx, has) : {};
  if (auditHashes(ctx.config) && !has("AUDIT_HASH_KEY")) {
    // 32 random bytes, base64url: a key for HMAC-SHA-256, never written to a file or shown.
    ctx.secrets.auditHashKey ??= Buffer.from(ctx.randomKey(), "hex").toString("base64url");
    ctx.redactor.add(ctx.secrets.auditHashKey);
    secrets.AUDIT_HASH_KEY = ctx.secrets.auditHashKey;
  }
  return secrets;
}

function saasSecrets(ctx: ProvisionContext, has: (name: string) => boolean): WorkerSecrets {
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
