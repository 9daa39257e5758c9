import { allKnownAllowedUris, CLIENT_NAMES, managedOAuthAllowlist } from "../../config/clients.js";
import type { Config, Provisioned } from "../../config/config.js";
import { governanceOf } from "../../config/governance.js";
import { RuntimeFailure } from "../../errors.js";
import type { AccessApp, AppBody, AppFields, AppPolicyRef, OAuthConfiguration, SaasAppBody, SaasOidcApp, SelfHostedAppBody } from "../cloudflare-api.js";
import type { ProvisionContext } from "../context.js";
import { fieldsOf, pick } from "../fields.js";
import { sameJson, sameSet } from "../same.js";

/**
 * Step 4: the Worker's Access application (SPEC §2). self-hosted: Access in
 * front of the Worker's host, with Managed OAuth so MCP clients can sign in.
 * saas: an OIDC app whose only redirect is the Worker's /callback. The one
 * findExisting found (and proved ours, or adopted), else created; an existing
 * app is updated only where it differs, with every field it had sent back (an
 * update replaces the whole app).
 */

export const accessAppName = (worker: string) => `${worker} (MCP server)`;
/** The Worker an app was named for by provision, whatever the project is called now (before a rename, say). */
const workerNamed = (app: AccessApp) => /^(.+) \(MCP server\)$/.exec(app.name)?.[1];

const SAAS_GRANT_TYPES: NonNullable<SaasOidcApp["grant_types"]> = ["authorization_code_with_pkce", "refresh_tokens"];
const SAAS_SCOPES: NonNullable<SaasOidcApp["scopes"]> = ["openid", "email", "profile"];
/**
 * How long Access honours a refresh token it gave the Worker (the API takes m,
 * h or d, longer than 1m). The Worker refreshes the user's Access token with
 * it for downstream calls, so past this the user signs in again: 30 days keeps
 * someone who uses the server monthly signed in, and ends a forgotten session.
 */
const SAAS_REFRESH_TOKEN_LIFETIME = "30d";

/**
 * The fields an update sends back, per type: exactly those of the SDK's
 * ApplicationCreateParams member (the compiler checks the lists both ways).
 * What else an answer holds is the API's own (id, aud, timestamps) or not a
 * field of that type (a top-level session_duration on a SaaS app), and the
 * API refuses or ignores it. `self_hosted_domains` is left out on purpose:
 * provision always sends `destinations`, which supersede it (SDK doc of both),
 * so a stale copy would at best be ignored.
 */
const SELF_HOSTED_FIELDS = fieldsOf<SelfHostedAppBody>()([
  "type", "name", "domain", "allow_authenticate_via_warp", "allow_iframe", "allowed_idps", "app_launcher_visible",
  "auto_redirect_to_identity", "cors_headers", "custom_deny_message", "custom_deny_url", "custom_non_identity_deny_url",
  "custom_pages", "destinations", "eager_redirect_cookie_setting", "enable_binding_cookie", "http_only_cookie_attribute",
  "logo_url", "mfa_config", "oauth_configuration", "options_preflight_bypass", "path_cookie_attribute", "policies",
  "read_service_tokens_from_header", "same_site_cookie_attribute", "scim_config", "service_auth_401_redirect",
  "session_duration", "skip_interstitial", "tags", "use_clientless_isolation_app_launcher_url",
], ["self_hosted_domains"]);
const SAAS_FIELDS = fieldsOf<SaasAppBody>()([
  "type", "name", "allowed_idps", "app_launcher_visible", "auto_redirect_to_identity", "custom_pages", "logo_url",
  "policies", "saas_app", "scim_config", "tags",
]);
/** OIDCSaaSAppParam's fields but the client secret, which Access makes and shows once. */
const OIDC_FIELDS = fieldsOf<SaasOidcApp>()([
  "auth_type", "redirect_uris", "grant_types", "scopes", "refresh_token_options", "access_token_lifetime",
  "allow_pkce_without_client_secret", "app_launcher_url", "custom_claims", "group_filter_regex",
  "hybrid_and_implicit_options", "client_id", "public_key",
], ["client_secret"]);

export async function ensureAccessApp(ctx: ProvisionContext): Promise<void> {
  const saas = ctx.config.auth === "saas";
  const recorded = ctx.config.provisioned?.accessApp;
  const { app: existing, appRecorded, adopted } = ctx.existing!;

  let app: AccessApp;
  if (!existing) {
    app = await create(ctx);
  } else {
    app = await update(ctx, existing);
    // Only an app this project made may be deleted: one it adopted was somebody's, whatever its name is now.
    if (saas) app = (await replaceIfSecretLost(ctx, app, appRecorded && !adopted.has(existing.id))) ?? app;
  }
  ctx.app = app;

  const entry: NonNullable<Provisioned["accessApp"]> = saas ? { id: app.id, clientId: app.saas_app!.client_id! } : { id: app.id, aud: app.aud! };
  if (!sameJson(entry, recorded)) await ctx.record(["provisioned", "accessApp"], entry);
}

async function create(ctx: ProvisionContext): Promise<AccessApp> {
  const body: AppBody = { ...wantedAppFields(ctx.config, ctx.host!, ctx.idpIds ?? []), policies: [{ id: ctx.allowPolicyId!, precedence: 1 }] };
  const app = await ctx.api.createApp(ctx.accountId!, body);
  captureClientSecret(ctx, app);
  ctx.report("created", `Access ${describeType(app)} app "${app.name}"`);
  return app;
}

/** Cloudflare returns a SaaS app's client secret in the create response and never again: keep it (in memory) now. */
function captureClientSecret(ctx: ProvisionContext, app: AccessApp): void {
  const secret = app.saas_app?.client_secret;
  if (!secret) return;
  ctx.secrets.clientSecret = secret;
  ctx.redactor.add(secret);
}

async function update(ctx: ProvisionContext, existing: AccessApp): Promise<AccessApp> {
  const ours = { host: ctx.host!, idpIds: ctx.idpIds ?? [], allowPolicyId: ctx.allowPolicyId!, ...(ctx.formerHost ? { formerHost: ctx.formerHost } : {}) };
  const { next, differences } = appUpdate(ctx.config, ours, existing);
  if (!differences.length) {
    ctx.report("found", `Access ${describeType(existing)} app "${existing.name}"`);
    return existing;
  }
  const updated = await ctx.api.updateApp(ctx.accountId!, existing.id, next);
  ctx.report("changed", `Access ${describeType(existing)} app "${next.name}": ${differences.join(", ")}`);
  return { ...existing, ...updated, saas_app: updated.saas_app ?? existing.saas_app };
}

/** What provision wants on an existing app: the whole update body, and the fields in which it differs from the app (none: nothing to do). */
export function appUpdate(
  config: Config,
  ours: { host: string; idpIds: string[]; allowPolicyId: string; formerHost?: string },
  existing: AccessApp,
): { next: AppBody; differences: string[] } {
  const current = writableFields(existing);
  const previous = ours.formerHost ?? previousHost(config, ours.host, existing);
  const next = withOurs(current, wantedAppFields(config, ours.host, ours.idpIds), ours.allowPolicyId, previous);
  return { next, differences: differingFields(current, next) };
}

/** The fields provision sets on the project's app (SPEC §2), from the config, the Worker's host and the identity providers' ids. */
export function wantedAppFields(config: Config, host: string, idps: string[]): AppFields {
  const common = {
    name: accessAppName(config.name),
    allowed_idps: idps,
    // Instant Auth: with one identity provider, skip Access's login page.
    auto_redirect_to_identity: idps.length === 1,
  };
  if (config.auth === "saas") {
    return {
      type: "saas",
      ...common,
      saas_app: {
        auth_type: "oidc",
        redirect_uris: [`https://${host}/callback`],
        grant_types: SAAS_GRANT_TYPES,
        // A rule naming an Access group needs the caller's groups, which Access for SaaS sends as a claim for this scope.
        scopes: governanceOf(config).groups ? [...SAAS_SCOPES, "groups"] : SAAS_SCOPES,
        refresh_token_options: { lifetime: SAAS_REFRESH_TOKEN_LIFETIME },
      },
    };
  }
  // The project's clients (config/clients.ts): their exact callbacks, and loopback only if one signs in there.
  const { allowedUris, loopback } = managedOAuthAllowlist(config.clients ?? CLIENT_NAMES);
  return {
    type: "self_hosted",
    ...common,
    domain: host,
    // A browser-based MCP client's CORS preflight carries no credentials, and Access answers it with
    // 403 unless it lets preflights through (cloudflare-docs, Access and CORS). The Worker answers
    // them itself, the same for everyone, before any auth (src/index): they reveal nothing.
    options_preflight_bypass: true,
    // Managed OAuth: Access answers MCP clients with 401 and OAuth metadata instead of a login page they cannot follow.
    oauth_configuration: {
      enabled: true,
      dynamic_client_registration: {
        enabled: true,
        allow_any_on_localhost: loopback,
        allow_any_on_loopback: loopback,
        allowed_uris: allowedUris,
      },
    },
  };
}

/**
 * The app as an update body: the fields its type's body takes, each exactly
 * as the API returned it, and its policies as references. This is the one
 * body typed by assertion rather than built field by field: the app is one of
 * the two types AppBody covers (findExisting checked), its fields are the
 * API's own, and every policy on it is reusable (findExisting stops before
 * any write when one is app-scoped: those cannot be sent back as references).
 */
export function writableFields(app: AccessApp): AppBody {
  const body = pick<AppBody>(app, app.type === "saas" ? SAAS_FIELDS : SELF_HOSTED_FIELDS);
  body.policies = (app.policies ?? []).map((policy) => ({ id: policy.id, ...(policy.precedence === undefined ? {} : { precedence: policy.precedence }) }));
  if (body.type === "saas" && app.saas_app) body.saas_app = pick<SaasOidcApp>(app.saas_app, OIDC_FIELDS);
  if (body.type === "self_hosted") body.destinations = destinationsOf(app);
  return body;
}

/**
 * The host this project's app was set up for before, when it is not the
 * Worker's host now: the custom domain it served on before `domain` changed
 * (checkCustomDomain found it still routes to this Worker), else the
 * workers.dev host of the Worker an app's name says provision made it for
 * (the Worker was renamed, or moved to a custom domain). Only those hosts:
 * provision gave them, and only this project's Worker serves them. Any other
 * host of an app, adopted or not, is its owner's, and an update never takes
 * it off Access.
 */
export function formerHost(ctx: ProvisionContext, app: AccessApp): string | undefined {
  return ctx.formerHost ?? previousHost(ctx.config, ctx.host!, app);
}

function previousHost(config: Config, current: string, app: AccessApp): string | undefined {
  const worker = workerNamed(app);
  const subdomain = config.provisioned?.workersSubdomain;
  if (worker === undefined || !subdomain) return undefined;
  const host = `${worker}.${subdomain}.workers.dev`.toLowerCase();
  return host === current ? undefined : host;
}

/** The app with our fields over its own, keeping what the user added: policies, callback and redirect URLs, hosts. */
function withOurs(current: AppBody, wanted: AppFields, policyId: string, previous: string | undefined): AppBody {
  const policies = withPolicy(current.policies, policyId);
  if (wanted.type === "saas") {
    const saas = current.type === "saas" ? current.saas_app : undefined;
    return { ...current, ...wanted, policies, saas_app: mergeSaas(saas, wanted.saas_app, previous && `https://${previous}/callback`) };
  }
  const own = current.type === "self_hosted" ? current : undefined;
  return {
    ...current,
    ...wanted,
    policies,
    oauth_configuration: mergeOAuth(own?.oauth_configuration, wanted.oauth_configuration!),
    destinations: withDestination(own?.destinations ?? [], wanted.domain, previous),
    // Access answers preflights itself with CORS settings someone gave the app: the API takes one or
    // the other, and theirs stay.
    ...(own?.cors_headers ? { options_preflight_bypass: own.options_preflight_bypass } : {}),
  };
}

type Destination = NonNullable<SelfHostedAppBody["destinations"]>[number];

/**
 * What Access protects for an app, as destinations: its `destinations`, which
 * supersede `self_hosted_domains`, else those, else `domain` (SDK docs).
 */
function destinationsOf(app: AccessApp): Destination[] {
  if (Array.isArray(app.destinations)) return app.destinations as Destination[];
  const domains = Array.isArray(app.self_hosted_domains) ? (app.self_hosted_domains as string[]) : app.domain ? [app.domain] : [];
  return domains.map((uri) => ({ type: "public", uri }));
}

/**
 * The app's destinations with the Worker's host among the public ones: they,
 * not `domain`, are what Access protects. After a rename the destination of
 * the previous host becomes the new one (keeping its path overrides), so the
 * old host is no longer this app's; a new host otherwise goes first. The
 * user's other hosts stay.
 */
function withDestination(destinations: Destination[], host: string, previous: string | undefined): Destination[] {
  const isPublic = (d: Destination, uri: string) => (d.type ?? "public") === "public" && "uri" in d && d.uri?.toLowerCase().replace(/\/+$/, "") === uri;
  if (destinations.some((d) => isPublic(d, host))) return destinations;
  if (previous && destinations.some((d) => isPublic(d, previous))) return destinations.map((d) => (isPublic(d, previous) ? { ...d, uri: host } : d));
  return [{ type: "public", uri: host }, ...destinations];
}

/** The app's policies with ours added (first, if it is new to the app); the user's own ones stay. */
function withPolicy(policies: AppPolicyRef[], id: string): AppPolicyRef[] {
  if (policies.some((policy) => policy.id === id)) return policies;
  return [{ id, precedence: 1 }, ...policies.map((policy, index) => ({ ...policy, precedence: index + 2 }))];
}

/**
 * Our Managed OAuth settings, keeping callback URLs the user added in the dashboard. A known client's
 * callback that the project no longer names is taken out: `clients` says who may register, and a
 * dropped client must stop being able to.
 */
function mergeOAuth(current: OAuthConfiguration | undefined, wanted: OAuthConfiguration): OAuthConfiguration {
  const registration = current?.dynamic_client_registration;
  const known = allKnownAllowedUris();
  const usersOwn = (registration?.allowed_uris ?? []).filter((uri) => !known.has(uri));
  return {
    ...current,
    ...wanted,
    dynamic_client_registration: {
      ...registration,
      ...wanted.dynamic_client_registration!,
      allowed_uris: union(usersOwn, wanted.dynamic_client_registration!.allowed_uris),
    },
  };
}

/**
 * Our OIDC settings, keeping redirect URLs, grants and scopes the user added (say, localhost for `wrangler dev`),
 * and a refresh token lifetime they chose: ours only fills in a missing one. The previous host's /callback goes:
 * after a rename, a sign-in must not end at a Worker that is no longer this project's.
 */
function mergeSaas(current: SaasOidcApp | undefined, wanted: SaasOidcApp, stale: string | undefined): SaasOidcApp {
  return {
    ...current,
    ...wanted,
    redirect_uris: union(current?.redirect_uris?.filter((uri) => uri !== stale), wanted.redirect_uris),
    grant_types: union(current?.grant_types, wanted.grant_types),
    scopes: union(current?.scopes, wanted.scopes),
    refresh_token_options: current?.refresh_token_options?.lifetime ? current.refresh_token_options : wanted.refresh_token_options,
  };
}

function union<T>(current: readonly T[] = [], wanted: readonly T[] = []): T[] {
  return [...new Set([...wanted, ...current])];
}

/** The fields an update would change, for the progress line. Lists compare as sets. */
function differingFields(current: AppBody, next: AppBody): string[] {
  const keys = new Set([...Object.keys(current), ...Object.keys(next)]);
  const field = (body: AppBody, key: string) => (body as Record<string, unknown>)[key];
  return [...keys].filter((key) => {
    const [a, b] = [field(current, key), field(next, key)];
    if (key === "policies") return !sameSet(ids(a), ids(b));
    if (key === "allowed_idps") return !sameSet(a as string[] | undefined, b as string[] | undefined);
    if (key === "auto_redirect_to_identity") return Boolean(a) !== Boolean(b);
    if (key === "saas_app" || key === "oauth_configuration") return !sameJson(sortLists(a), sortLists(b));
    return !sameJson(a, b);
  });
}

const ids = (policies: unknown) => ((policies as AppPolicyRef[] | undefined) ?? []).map((policy) => policy.id);

function sortLists(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortLists).sort();
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, sortLists(v)]));
  return value;
}

/** True when the app protects exactly this host (its domain, or one of its public destinations). */
export function servesHost(app: AccessApp, host: string): boolean {
  return publicHostnames(app).some((domain) => domain === host);
}

/** An app's public hostnames with their paths: its public destinations (else `self_hosted_domains`, else `domain`). */
export function publicHostnames(app: AccessApp): string[] {
  const uris = destinationsOf(app)
    .filter((d) => (d.type ?? "public") === "public")
    .map((d) => ("uri" in d ? d.uri : undefined));
  return uris.filter((uri): uri is string => typeof uri === "string" && uri !== "").map((uri) => uri.toLowerCase().replace(/\/+$/, ""));
}

const describeType = (app: AccessApp) => (app.type === "saas" ? "for SaaS (OIDC)" : "self-hosted");

/**
 * saas: the Worker needs the app's client secret, which Cloudflare shows only
 * once. When the Worker already has it, nothing is needed (a deploy keeps
 * secrets it is not given). When it does not, and the app is the one an
 * earlier run of provision created (its secret died with that run, before
 * the deploy), the app is replaced: nothing can be using it. Any other app
 * is the user's: they are told what to do instead.
 */
async function replaceIfSecretLost(ctx: ProvisionContext, app: AccessApp, ours: boolean): Promise<AccessApp | undefined> {
  // Already known when the Worker was taken over with --adopt: then none of its secrets is this project's.
  if (ctx.workerSecrets === undefined) ctx.workerSecrets = (await ctx.api.listWorkerSecrets(ctx.accountId!, ctx.config.name)) ?? null;
  if (ctx.workerSecrets?.includes("ACCESS_CLIENT_SECRET")) return undefined;
  if (!ctx.deploy) {
    ctx.report("attention", `the Worker does not have the client secret of "${app.name}" yet; the run that deploys replaces the app to get one`);
    return undefined;
  }
  if (!ours) {
    throw new RuntimeFailure(
      `The Access for SaaS app "${app.name}" exists, but the Worker ${ctx.config.name} does not have its client secret, and Cloudflare ` +
        "shows a client secret only when an app is created. Either delete that app in Zero Trust (Access controls, Applications) and run " +
        "provision again, which creates a new one and deploys its secret at once; or, if you kept the secret, set it with " +
        "`npx wrangler secret put ACCESS_CLIENT_SECRET` and run provision again.",
    );
  }
  await ctx.api.deleteApp(ctx.accountId!, app.id);
  const { name } = app;
  const body = writableFields(app);
  const replacement = await ctx.api.createApp(ctx.accountId!, body.type === "saas" ? { ...body, saas_app: withoutClientId(body.saas_app) } : body);
  captureClientSecret(ctx, replacement);
  ctx.report("replaced", `Access for SaaS (OIDC) app "${name}": its client secret was lost by an earlier run that did not reach the deploy`);
  return replacement;
}

function withoutClientId(saas: SaasOidcApp): SaasOidcApp {
  const { client_id: _, public_key: __, ...rest } = saas;
  return rest;
}
