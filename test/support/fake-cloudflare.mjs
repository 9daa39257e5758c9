// A small in-memory fake of the Cloudflare REST API (v4), for tests.
//
// It serves exactly what `create-mcp-access provision` needs, for both the
// official `cloudflare` SDK and `wrangler` (4.x): token verify, accounts, the
// workers.dev subdomain, Zero Trust (organization, IdPs, reusable policies,
// self-hosted and SaaS/OIDC applications), KV namespaces, and what
// `wrangler deploy` / `wrangler secret put` / `wrangler kv namespace create` call.
//
// Access applications and policies follow the real API's contract (see "Access validation
// helpers" below for each rule and its source): answers shaped as the SDK's response types, and
// the refusals a careless update would meet (fields a body does not take, a domain outside the
// destinations, wildcard custom-scheme allowed_uris, duplicate precedence, app-scoped policies
// linked or created).
//
// Zero dependencies (node:http + globals). Every request is recorded in
// `fake.log`; all state is plain data in `fake.state`; faults can be injected
// per route. Error codes marked "(approx.)" are plausible stand-ins: the real
// API's code for that case was not verified.
//
//   import { startFakeCloudflare } from "./fake-cloudflare.mjs";
//   const fake = await startFakeCloudflare();          // 127.0.0.1, random port
//   new Cloudflare({ apiToken: fake.token, baseURL: fake.baseURL });
//   spawn("wrangler", ["deploy"], { env: { ...process.env, ...fake.env() } });
//   fake.addFault({ method: "POST", path: "/accounts/:account/access/apps", status: 403 });
//   await fake.close();
//
// CLI: node fake-cloudflare.mjs [--port 8787]  (prints the base URL, logs requests
// to stderr; control endpoints under /__fake: GET log, GET state, POST faults,
// DELETE faults, POST reset).

import http from "node:http";
import { randomBytes, randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";

export const BASE_PATH = "/client/v4";

// ---------------------------------------------------------------------------
// errors and envelope

export class ApiError extends Error {
  constructor(status, code, message, extra = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.extra = extra; // e.g. { drop: true } or more errors
  }
}
const badRequest = (message, code = 12130 /* Access invalid_request (approx.) */) =>
  new ApiError(400, code, message);
const notFound = (message, code) => new ApiError(404, code, message);

/** A handler's answer for the calls that answer the envelope alone (DELETE /workers/domains/:id): no `result` key. */
const NO_RESULT = Symbol("no result");

function envelope(result, resultInfo) {
  if (result === NO_RESULT) return { success: true, errors: [], messages: [] };
  const body = { success: true, errors: [], messages: [], result };
  if (resultInfo) body.result_info = resultInfo;
  return body;
}
function errorEnvelope(err) {
  const errors = err.extra.errors ?? [{ code: err.code, message: err.message }];
  return { success: false, errors, messages: [], result: null };
}

// ---------------------------------------------------------------------------
// ids

function makeIds(mode) {
  let n = 0;
  const hex = (bytes) => {
    if (mode !== "sequential") return randomBytes(bytes).toString("hex");
    n += 1;
    return n.toString(16).padStart(bytes * 2, "0");
  };
  return {
    hex,
    uuid: () =>
      mode === "sequential"
        ? hex(16).replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, "$1-$2-$3-$4-$5")
        : randomUUID(),
  };
}

// ---------------------------------------------------------------------------
// initial state

const DEFAULT_ACCOUNT_ID = "0123456789abcdef0123456789abcdef";
const DEFAULT_TOKEN = "fake-api-token-0000000000000000000000";

function seedState(options, ids) {
  const now = new Date().toISOString();
  const accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
  const team = options.team ?? "acme";
  const account = (id, name, extra = {}) => ({
    id,
    name,
    type: "standard",
    created_on: now,
    settings: { enforce_twofactor: false },
    workersSubdomain: extra.workersSubdomain === undefined ? team : extra.workersSubdomain,
    organization:
      extra.organization === undefined
        ? { name: `${team} Zero Trust`, auth_domain: `${team}.cloudflareaccess.com` }
        : extra.organization,
    identityProviders: extra.identityProviders ?? [
      { id: ids.uuid(), name: "One-time PIN", type: "onetimepin", config: {} },
      { id: ids.uuid(), name: "GitHub", type: "github", config: { client_id: "gh-client" } },
    ],
    policies: [],
    apps: [],
    kvNamespaces: [],
    workers: {},
    customDomains: [],
    // Zones of the account (names, or { name, status }); hostnames with DNS records of their own.
    zones: (extra.zones ?? []).map((z) => {
      const { name, status = "active" } = typeof z === "string" ? { name: z } : z;
      return { id: ids.hex(16), name: name.toLowerCase(), status, created_on: now };
    }),
    dnsRecords: (extra.dnsRecords ?? []).map((name) => ({ id: ids.hex(16), type: "CNAME", name: name.toLowerCase(), content: "origin.example.net", proxied: true, ttl: 1 })),
  });
  const accounts = (options.accounts ?? [{ id: accountId, name: `${team} account`, zones: options.zones, dnsRecords: options.dnsRecords }]).map(
    (a) => account(a.id, a.name, a),
  );
  const tokens = (options.tokens ?? [{ value: options.token ?? DEFAULT_TOKEN }]).map((t) => ({
    id: t.id ?? ids.hex(16),
    value: t.value,
    status: t.status ?? "active", // active | disabled | expired
    kind: t.kind ?? "user", // user: /user/tokens/verify; account: /accounts/:id/tokens/verify
    accounts: t.accounts ?? accounts.map((a) => a.id), // accounts it can see
  }));
  return { tokens, accounts };
}

// ---------------------------------------------------------------------------
// routing

function compile(pattern) {
  if (pattern instanceof RegExp) return pattern;
  if (pattern === "*") return /^.*$/;
  const source = pattern
    .split("/")
    .map((seg) => (seg.startsWith(":") ? `(?<${seg.slice(1)}>[^/]+)` : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  return new RegExp(`^${source}/?$`);
}

function paginate(items, query, { defaultPerPage = 20, maxPerPage = 100 } = {}) {
  const page = Math.max(1, Number.parseInt(query.get("page") ?? "1", 10) || 1);
  const asked = Number.parseInt(query.get("per_page") ?? `${defaultPerPage}`, 10) || defaultPerPage;
  const perPage = Math.min(Math.max(1, asked), maxPerPage);
  const slice = items.slice((page - 1) * perPage, page * perPage);
  return {
    result: slice,
    result_info: {
      page,
      per_page: perPage,
      count: slice.length,
      total_count: items.length,
      total_pages: Math.max(1, Math.ceil(items.length / perPage)),
    },
  };
}

const clone = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

// ---------------------------------------------------------------------------
// Access validation helpers
//
// The shapes follow the `cloudflare` SDK's types (node_modules/cloudflare/resources/zero-trust/
// access/…), the contract provisioning is written against: the fields a body may carry are those
// of ApplicationCreateParams.SelfHostedApplication / .SaaSApplication and PolicyCreateParams; an
// answer carries those of ApplicationGetResponse.SelfHostedApplication / .SaaSApplication,
// ApplicationPolicy (plus `precedence`) and PolicyGetResponse. A field outside them is refused in
// a body (approx.: the real API may ignore some) and never returned.

const RULE_KEYS = new Set([
  "email", "email_list", "email_domain", "everyone", "ip", "ip_list", "certificate", "group",
  "azureAD", "github-organization", "gsuite", "okta", "saml", "oidc", "service_token",
  "any_valid_service_token", "external_evaluation", "geo", "auth_method", "device_posture",
  "login_method", "common_name", "auth_context", "linked_app_token", "user_risk_score",
]);
const DECISIONS = new Set(["allow", "deny", "non_identity", "bypass"]);
// OIDCSaaSAppParam. client_id, client_secret and public_key are the API's own (see buildApp).
const OIDC_KEYS = new Set([
  "auth_type", "redirect_uris", "grant_types", "scopes", "refresh_token_options",
  "access_token_lifetime", "allow_pkce_without_client_secret", "app_launcher_url",
  "custom_claims", "group_filter_regex", "hybrid_and_implicit_options", "client_id",
  "client_secret", "public_key",
]);
// OIDCSaaSApp, the answer: the same minus the secret, which only the create response shows.
const OIDC_VIEW_KEYS = [...OIDC_KEYS].filter((k) => k !== "client_secret");
const GRANT_TYPES = new Set(["authorization_code", "authorization_code_with_pkce", "refresh_tokens", "hybrid", "implicit"]);

// ApplicationCreateParams.SelfHostedApplication / .SaaSApplication, account_id and zone_id aside.
export const APP_BODY_KEYS = {
  self_hosted: new Set([
    "type", "name", "domain", "allow_authenticate_via_warp", "allow_iframe", "allowed_idps",
    "app_launcher_visible", "auto_redirect_to_identity", "cors_headers", "custom_deny_message",
    "custom_deny_url", "custom_non_identity_deny_url", "custom_pages", "destinations",
    "eager_redirect_cookie_setting", "enable_binding_cookie", "http_only_cookie_attribute", "logo_url",
    "mfa_config", "oauth_configuration", "options_preflight_bypass", "path_cookie_attribute", "policies",
    "read_service_tokens_from_header", "same_site_cookie_attribute", "scim_config", "self_hosted_domains",
    "service_auth_401_redirect", "session_duration", "skip_interstitial", "tags",
    "use_clientless_isolation_app_launcher_url",
  ]),
  saas: new Set([
    "type", "name", "allowed_idps", "app_launcher_visible", "auto_redirect_to_identity", "custom_pages",
    "logo_url", "policies", "saas_app", "scim_config", "tags",
  ]),
};
// ApplicationGetResponse.*: the body's fields plus id and aud. No uid, no timestamps, and no
// top-level session_duration on a SaaS app.
export const APP_VIEW_KEYS = {
  self_hosted: ["id", "aud", ...APP_BODY_KEYS.self_hosted],
  saas: ["id", "aud", ...APP_BODY_KEYS.saas],
};
// PolicyCreateParams (account_id aside): what a reusable policy's create or update may carry.
export const POLICY_BODY_KEYS = new Set([
  "name", "decision", "include", "exclude", "require", "approval_groups", "approval_required",
  "connection_rules", "isolation_required", "mfa_config", "purpose_justification_prompt",
  "purpose_justification_required", "session_duration",
]);
// ApplicationPolicy, how an app's answer shows each of its policies, with its precedence
// (PolicyListResponse of /apps/:id/policies has it). Neither says whether a policy is reusable.
const APP_POLICY_VIEW_KEYS = ["id", ...POLICY_BODY_KEYS, "created_at", "updated_at", "precedence"];
// AccessAppPolicyLink: how an app body links a reusable policy.
export const POLICY_LINK_KEYS = new Set(["id", "precedence", "account_id"]);

const pick = (object, keys) => Object.fromEntries(keys.filter((k) => object[k] !== undefined).map((k) => [k, clone(object[k])]));

function refuseUnknown(body, allowed, what) {
  const unknown = Object.keys(body).filter((k) => !allowed.has(k));
  if (unknown.length) throw badRequest(`${what}: field(s) not accepted: ${unknown.join(", ")} (approx.)`);
}

function validateRules(rules, field, account) {
  if (rules === undefined) return [];
  if (!Array.isArray(rules)) throw badRequest(`${field} must be an array of rules`);
  for (const rule of rules) {
    const keys = rule && typeof rule === "object" ? Object.keys(rule) : [];
    if (keys.length !== 1 || !RULE_KEYS.has(keys[0]))
      throw badRequest(`${field}: invalid rule ${JSON.stringify(rule)}`);
    if (keys[0] === "linked_app_token") {
      const uid = rule.linked_app_token?.app_uid;
      if (!account.apps.some((a) => (a.uid ?? a.id) === uid))
        throw badRequest(`${field}: linked_app_token.app_uid ${JSON.stringify(uid)} is not an application in this account`);
    }
  }
  return clone(rules);
}
const usesLinkedAppToken = (p) =>
  [...(p.include ?? []), ...(p.exclude ?? []), ...(p.require ?? [])].some((r) => "linked_app_token" in r);

/** The public hostnames an app protects: its public destinations (they supersede self_hosted_domains and domain). */
const publicUris = (app) =>
  (app.destinations ?? [{ type: "public", uri: app.domain }]).filter((d) => (d.type ?? "public") === "public" && d.uri).map((d) => d.uri.toLowerCase());

/**
 * Managed OAuth's dynamic client registration (SDK doc of `allowed_uris`, cloudflare-docs
 * managed-oauth.mdx): "HTTP and HTTPS paths may end in `/*` to match all sub-paths. Custom-scheme
 * URIs must be explicitly configured and match exactly." A `*` anywhere else is refused (approx.).
 */
export function validateOAuth(oauth) {
  const uris = oauth?.dynamic_client_registration?.allowed_uris ?? [];
  if (!Array.isArray(uris)) throw badRequest("oauth_configuration.dynamic_client_registration.allowed_uris must be an array");
  for (const uri of uris) {
    if (typeof uri !== "string" || !URL.canParse(uri.replace(/\/\*$/, "/")))
      throw badRequest(`allowed_uris: ${JSON.stringify(uri)} is not a URI`);
    const web = /^https?:$/.test(new URL(uri.replace(/\/\*$/, "/")).protocol);
    const wildcard = web ? uri.replace(/\/\*$/, "").includes("*") : uri.includes("*");
    if (wildcard)
      throw badRequest(`allowed_uris: ${JSON.stringify(uri)}: ${web ? "only a trailing /* is allowed" : "custom-scheme URIs must be listed exactly, without wildcards"}`);
  }
}

/**
 * A self-hosted app's hosts (SDK docs of `destinations` and `self_hosted_domains`): `destinations`
 * supersede `self_hosted_domains`, which are ignored when destinations are given; without either
 * the app protects `domain`. `self_hosted_domains` is answered in step with the public
 * destinations. `domain` ("the primary hostname … displayed in the App Launcher") must be one of
 * the public destinations (approx.: the real API's check was not verified; a domain nothing
 * protects is what this refuses).
 */
export function resolveHosts(body) {
  if (typeof body.domain !== "string" || !body.domain) throw badRequest("domain is required for self_hosted applications");
  const destinations = clone(body.destinations)
    ?? (body.self_hosted_domains?.length ? body.self_hosted_domains.map((uri) => ({ type: "public", uri })) : [{ type: "public", uri: body.domain }]);
  const uris = publicUris({ destinations });
  if (!uris.includes(body.domain.toLowerCase()))
    throw badRequest(`domain ${body.domain} is not one of the application's public destinations (${uris.join(", ") || "none"}) (approx.)`);
  return { domain: body.domain, destinations, self_hosted_domains: destinations.filter((d) => (d.type ?? "public") === "public").map((d) => d.uri) };
}

// ---------------------------------------------------------------------------

export function createFakeCloudflare(options = {}) {
  const ids = makeIds(options.ids ?? "random");
  const strict = options.strict ?? true; // reject unknown saas_app fields, bad rules…
  const pageOpts = { maxPerPage: options.maxPerPage ?? 100 };
  let state = seedState(options, ids);
  const log = [];
  let faults = [];
  let seq = 0;

  const now = () => new Date().toISOString();
  const findAccount = (id) => {
    const account = state.accounts.find((a) => a.id === id);
    // the real API answers an unknown/foreign account id like this
    if (!account) throw notFound(`Could not route to /accounts/${id}, perhaps your object identifier is invalid?`, 7003);
    return account;
  };

  // ---- Access: policies -------------------------------------------------

  // A reusable policy (POST/PUT /access/policies). Stored in full; answered as PolicyGetResponse.
  function buildPolicy(account, body, existing) {
    if (!body || typeof body !== "object") throw badRequest("request body must be an object");
    refuseUnknown(body, POLICY_BODY_KEYS, "policy");
    if (typeof body.name !== "string" || !body.name) throw badRequest("name is required");
    if (!DECISIONS.has(body.decision)) throw badRequest(`decision must be one of ${[...DECISIONS].join(", ")}`);
    const policy = {
      approval_required: false,
      isolation_required: false,
      purpose_justification_required: false,
      session_duration: "24h",
      ...clone(body),
      id: existing?.id ?? ids.uuid(),
      include: validateRules(body.include, "include", account),
      exclude: validateRules(body.exclude, "exclude", account),
      require: validateRules(body.require, "require", account),
      reusable: true,
      created_at: existing?.created_at ?? now(),
      updated_at: now(),
    };
    if (policy.include.length === 0) throw badRequest("include must contain at least one rule");
    if (usesLinkedAppToken(policy) && policy.decision !== "non_identity")
      throw badRequest("linked_app_token rules require decision non_identity");
    return policy;
  }
  const policyView = (account, p) => ({
    ...clone(p),
    account_id: account.id,
    reusable: true,
    app_count: account.apps.filter((a) => a.policies.some((ap) => ap.id === p.id)).length,
  });
  /** A policy as an app shows it: ApplicationPolicy with its precedence (whether it is reusable is not said). */
  const appPolicyView = (p) => pick(p, APP_POLICY_VIEW_KEYS);

  // ---- Access: applications --------------------------------------------

  /**
   * An app body's `policies` (SDK: "Items can reference existing policies or create new policies
   * exclusive to the application"):
   * - a reusable policy is linked by its id, as a string or an AccessAppPolicyLink {id, precedence};
   *   a link carries nothing else (approx.);
   * - an app-scoped ("legacy") policy already on this app is kept only when sent in the
   *   application-scoped form, {id, …its settings}; a bare link to it is refused: the link schema
   *   "links a reusable policy" (approx.: the real API's answer was not verified);
   * - a new app-scoped policy (an item without id) is refused: "Legacy policies are scoped to a
   *   specific application and cannot be added to newly created Access applications"
   *   (cloudflare-docs policy-management); refused on existing apps too (approx.);
   * - precedence "must be unique for each policy within an app" (SDK doc of `precedence`).
   */
  function resolveAppPolicies(account, list, type, existing) {
    if (list === undefined) return clone(existing?.policies ?? []);
    if (!Array.isArray(list)) throw badRequest("policies must be an array");
    const resolved = list.map((item, index) => {
      const ref = typeof item === "string" ? { id: item } : item;
      if (!ref || typeof ref !== "object") throw badRequest("policies: each item is a policy id or an object");
      if (!ref.id) throw badRequest("policies: app-scoped (legacy) policies can no longer be created; create a reusable policy and link it by id (approx.)");
      const own = existing?.policies.find((p) => p.id === ref.id && p.reusable === false);
      const reusable = account.policies.find((p) => p.id === ref.id);
      let policy;
      if (reusable) {
        refuseUnknown(ref, POLICY_LINK_KEYS, `policies[${index}] (a link to the reusable policy ${ref.id})`);
        policy = { ...clone(reusable), reusable: true };
      } else if (own) {
        if (typeof item === "string" || Object.keys(ref).every((k) => POLICY_LINK_KEYS.has(k)))
          throw badRequest(`policies[${index}]: ${ref.id} is an app-scoped policy, not a reusable one: it cannot be linked (approx.)`);
        refuseUnknown(ref, new Set(["id", ...POLICY_BODY_KEYS, "precedence"]), `policies[${index}] (the app-scoped policy ${ref.id})`);
        const { precedence: _, ...settings } = ref;
        policy = { ...clone(own), ...clone(settings), reusable: false, updated_at: now() };
      } else {
        throw badRequest(`policies[${index}]: policy ${ref.id} not found`);
      }
      if (usesLinkedAppToken(policy) && type !== "self_hosted")
        throw badRequest("linked_app_token policies can only be added to self_hosted applications");
      return { ...policy, precedence: ref.precedence ?? index + 1 };
    });
    const seen = new Set();
    for (const p of resolved) {
      if (seen.has(p.precedence)) throw badRequest(`policies: precedence ${p.precedence} is used twice; it must be unique within an app`);
      seen.add(p.precedence);
    }
    return resolved;
  }

  // POST creates, PUT replaces every field: what a PUT body leaves out is gone (policies aside, approx.).
  function buildApp(account, body, existing) {
    if (!body || typeof body !== "object") throw badRequest("request body must be an object");
    const type = body.type ?? existing?.type;
    if (existing && type !== existing.type) throw badRequest("an application's type cannot be changed");
    if (type !== "self_hosted" && type !== "saas") throw badRequest(`type ${JSON.stringify(type)} is not supported by this fake`);
    // id, aud, uid, created_at, updated_at and (saas) session_duration are not body fields.
    refuseUnknown(body, APP_BODY_KEYS[type], `a ${type} application`);
    const allowedIdps = body.allowed_idps ?? [];
    for (const idp of allowedIdps)
      if (!account.identityProviders.some((i) => i.id === idp)) throw badRequest(`identity provider ${idp} not found`);
    const autoRedirect = body.auto_redirect_to_identity ?? false;
    if (autoRedirect && allowedIdps.length !== 1)
      throw badRequest("auto_redirect_to_identity requires exactly one allowed identity provider (approx.)");
    const app = {
      ...clone(body),
      id: existing?.id ?? ids.uuid(),
      type,
      name: body.name ?? (type === "self_hosted" ? body.domain : undefined),
      aud: existing?.aud ?? ids.hex(32),
      created_at: existing?.created_at ?? now(),
      updated_at: now(),
      policies: resolveAppPolicies(account, body.policies, type, existing),
      allowed_idps: clone(allowedIdps),
      auto_redirect_to_identity: autoRedirect,
      app_launcher_visible: body.app_launcher_visible ?? true,
    };
    app.uid = app.id;
    if (!app.name) throw badRequest("name is required");
    if (type === "self_hosted") {
      Object.assign(app, resolveHosts(body));
      app.session_duration = body.session_duration ?? "24h";
      const clash = account.apps.find((a) => a.type === "self_hosted" && a.id !== app.id && publicUris(a).some((uri) => publicUris(app).includes(uri)));
      if (clash) throw badRequest(`an application already exists for ${publicUris(clash).find((uri) => publicUris(app).includes(uri))} (approx.)`);
      if (body.oauth_configuration !== undefined) validateOAuth(body.oauth_configuration);
      // SDK docs of options_preflight_bypass: "Cannot turn on if cors_headers is set."
      if (body.options_preflight_bypass && body.cors_headers) throw badRequest("options_preflight_bypass cannot be turned on while cors_headers is set (approx.)");
    } else {
      const saas = body.saas_app;
      if (!saas || saas.auth_type !== "oidc") throw badRequest("saas_app.auth_type must be \"oidc\" (SAML is not supported by this fake)");
      if (strict) refuseUnknown(saas, OIDC_KEYS, "saas_app");
      if (saas.client_secret !== undefined) throw badRequest("saas_app.client_secret is set by Access, not sent (approx.)");
      if (existing && saas.client_id !== undefined && saas.client_id !== existing.saas_app.client_id)
        throw badRequest("saas_app.client_id cannot be changed (approx.)");
      const redirectUris = saas.redirect_uris ?? [];
      for (const uri of redirectUris)
        if (!URL.canParse(uri)) throw badRequest(`saas_app.redirect_uris: invalid URL ${JSON.stringify(uri)}`);
      const grantTypes = saas.grant_types ?? ["authorization_code"];
      for (const g of grantTypes) if (!GRANT_TYPES.has(g)) throw badRequest(`saas_app.grant_types: unknown grant type ${g}`);
      app.saas_app = {
        ...clone(saas),
        client_id: existing?.saas_app.client_id ?? ids.hex(32),
        public_key: existing?.saas_app.public_key ?? ids.hex(32),
        redirect_uris: clone(redirectUris),
        grant_types: clone(grantTypes),
        scopes: clone(saas.scopes) ?? ["openid", "email", "profile"],
      };
      // kept out of every view except the create response
      Object.defineProperty(app, "clientSecret", {
        value: existing?.clientSecret ?? ids.hex(32), enumerable: false, writable: true,
      });
    }
    return app;
  }
  /** An app as the API answers it (ApplicationGetResponse of its type), whatever a test stored. */
  const appView = (app) => {
    const view = pick(app, APP_VIEW_KEYS[app.type] ?? Object.keys(app));
    view.policies = (app.policies ?? []).map(appPolicyView);
    if (view.saas_app) view.saas_app = pick(app.saas_app, OIDC_VIEW_KEYS);
    return view;
  };

  // ---- Workers ----------------------------------------------------------

  function workerOr404(account, name, code = 10007) {
    const w = account.workers[name];
    if (!w) throw notFound(code === 10090 ? "This Worker does not exist on your account." : "workers.api.error.script_not_found", code);
    return w;
  }

  async function readUpload(ctx) {
    if (!ctx.form) throw badRequest("expected multipart/form-data with a metadata part", 10021);
    const metadataPart = ctx.form.get("metadata");
    if (metadataPart == null) throw badRequest("missing metadata part", 10021);
    const metadata = JSON.parse(typeof metadataPart === "string" ? metadataPart : await metadataPart.text());
    const modules = {};
    for (const [name, value] of ctx.form.entries()) {
      if (name === "metadata") continue;
      modules[name] = typeof value === "string"
        ? { type: "text/plain", content: value }
        : { type: value.type, filename: value.name, content: await value.text() };
    }
    const entry = metadata.main_module ?? metadata.body_part;
    if (!entry || !modules[entry]) throw badRequest(`main module ${JSON.stringify(entry)} is not in the upload`, 10021);
    return { metadata, modules };
  }

  /**
   * What the API refuses in a Workers Rate Limiting binding (docs: "Rate Limiting", wrangler's
   * `ratelimits`): a name, a namespace_id that is a positive integer (wrangler sends it as a decimal
   * string), and `simple` with a whole-number limit over a period of 10 or 60 seconds, the only two.
   */
  function rateLimitProblem(b) {
    if (typeof b.name !== "string" || b.name === "") return "a binding needs a name";
    const id = typeof b.namespace_id === "number" ? String(b.namespace_id) : b.namespace_id;
    if (typeof id !== "string" || !/^[1-9][0-9]*$/.test(id) || Number(id) > 2147483647)
      return `namespace_id must be a positive integer, got ${JSON.stringify(b.namespace_id)}`;
    if (!b.simple || typeof b.simple !== "object") return "simple ({ limit, period }) is required";
    if (!Number.isInteger(b.simple.limit) || b.simple.limit < 1) return `simple.limit must be a positive integer, got ${JSON.stringify(b.simple.limit)}`;
    if (b.simple.period !== 10 && b.simple.period !== 60) return `simple.period must be 10 or 60, got ${JSON.stringify(b.simple.period)}`;
    return undefined;
  }

  // Resolve the bindings of an upload against the previous version (inherit, keep_*).
  function resolveBindings(account, metadata, previous, inheritMode) {
    const out = [];
    const given = new Set();
    const errors = [];
    for (const b of metadata.bindings ?? []) {
      given.add(b.name);
      if (b.type === "inherit") {
        const old = previous?.bindings.find((p) => p.name === b.name);
        if (!old) {
          if (inheritMode === "strict")
            errors.push({ code: 10057, message: `inherit binding '${b.name}' is invalid: there is no previous binding with this name` });
          continue;
        }
        out.push(clone(old));
        continue;
      }
      if (b.type === "kv_namespace" && !account.kvNamespaces.some((n) => n.id === b.namespace_id))
        errors.push({ code: 10041, message: `KV namespace '${b.namespace_id}' is not valid. (approx.)` });
      if (b.type === "ratelimit") {
        const problem = rateLimitProblem(b);
        if (problem) errors.push({ code: 10021, message: `binding '${b.name}' (ratelimit): ${problem} (approx.)` });
      }
      out.push(clone(b));
    }
    if (errors.length) throw new ApiError(400, errors[0].code, errors[0].message, { errors });
    const keep = new Set(metadata.keep_bindings ?? []);
    if (metadata.keep_secrets) keep.add("secret_text").add("secret_key");
    if (metadata.keep_vars) keep.add("plain_text").add("json");
    for (const old of previous?.bindings ?? [])
      if (keep.has(old.type) && !given.has(old.name)) out.push(clone(old));
    return out;
  }

  function newVersion(account, worker, upload, query, source) {
    const previous = worker.versions.at(-1);
    const bindings = resolveBindings(account, upload.metadata, previous, query.get("bindings_inherit"));
    const version = {
      id: ids.uuid(),
      number: worker.versions.length + 1,
      created_on: now(),
      source,
      main_module: upload.metadata.main_module ?? upload.metadata.body_part,
      compatibility_date: upload.metadata.compatibility_date,
      compatibility_flags: upload.metadata.compatibility_flags ?? [],
      annotations: upload.metadata.annotations ?? {},
      metadata: clone(upload.metadata),
      modules: upload.modules,
      bindings,
    };
    worker.versions.push(version);
    worker.etag = ids.hex(32);
    worker.modified_on = version.created_on;
    return version;
  }

  function deploy(worker, versionId, source) {
    const deployment = {
      id: ids.uuid(),
      source,
      strategy: "percentage",
      versions: [{ version_id: versionId, percentage: 100 }],
      created_on: now(),
      annotations: {},
    };
    worker.deployments.push(deployment);
    worker.deployedVersionId = versionId;
    return deployment;
  }

  function createWorker(account, name) {
    const w = {
      id: name,
      name,
      tag: ids.hex(16),
      tags: [],
      created_on: now(),
      modified_on: now(),
      etag: null,
      last_deployed_from: "wrangler",
      subdomain: { enabled: false, previews_enabled: false },
      settings: { logpush: false, observability: { enabled: false }, tail_consumers: [], tags: [] },
      versions: [],
      deployments: [],
      deployedVersionId: null,
    };
    if (account) account.workers[name] = w;
    return w;
  }

  const scriptView = (w, version) => ({
    id: w.name,
    tag: w.tag,
    tags: w.tags,
    etag: w.etag,
    handlers: ["fetch"],
    created_on: w.created_on,
    modified_on: w.modified_on,
    usage_model: "standard",
    compatibility_date: version?.compatibility_date,
    compatibility_flags: version?.compatibility_flags,
    last_deployed_from: w.last_deployed_from,
    has_modules: true,
    has_assets: false,
    logpush: w.settings.logpush,
    tail_consumers: w.settings.tail_consumers,
  });

  // ---- route table ------------------------------------------------------

  const routes = [];
  const route = (method, pattern, handler) => routes.push({ method, re: compile(pattern), handler });
  const A = "/accounts/:account";

  // tokens and accounts
  route("GET", "/user/tokens/verify", ({ token }) => {
    if (token.kind !== "user") throw new ApiError(401, 1000, "Invalid API Token");
    return { id: token.id, status: token.status };
  });
  route("GET", `${A}/tokens/verify`, ({ token, params }) => {
    if (token.kind !== "account" || !token.accounts.includes(params.account)) throw new ApiError(401, 1000, "Invalid API Token");
    return { id: token.id, status: token.status };
  });
  // wrangler's whoami (it runs it after an "Authentication error" 10000 to explain the token)
  route("GET", "/user", ({ token }) => {
    if (token.kind !== "user") throw new ApiError(403, 9109, "Unauthorized to access requested resource");
    return { id: token.id, email: options.email ?? "dev@example.com" };
  });
  route("GET", "/accounts", ({ token, query }) =>
    paginate(
      state.accounts.filter((a) => token.accounts.includes(a.id))
        .map(({ id, name, type, created_on, settings }) => ({ id, name, type, created_on, settings })),
      query, pageOpts,
    ));
  route("GET", "/memberships", ({ token, query }) =>
    paginate(
      state.accounts.filter((a) => token.accounts.includes(a.id))
        .map((a) => ({ id: ids.hex(16), status: "accepted", account: { id: a.id, name: a.name } })),
      query, pageOpts,
    ));

  // workers.dev subdomain
  route("GET", `${A}/workers/subdomain`, ({ account }) => {
    if (!account.workersSubdomain) throw notFound("This account does not have a workers.dev subdomain. (approx. message)", 10007);
    return { subdomain: account.workersSubdomain };
  });
  route("PUT", `${A}/workers/subdomain`, ({ account, body }) => {
    account.workersSubdomain = body?.subdomain;
    return { subdomain: account.workersSubdomain };
  });

  // availability check wrangler makes before auto-registering a subdomain (it does so when
  // it detects an AI agent, e.g. CLAUDECODE=1): the API answers with an *error* either way
  route("GET", `${A}/workers/subdomains/:name`, ({ params }) => {
    if (state.accounts.some((a) => a.workersSubdomain === params.name))
      throw new ApiError(409, 10031, "Subdomain is unavailable (approx. message)");
    throw new ApiError(404, 10032, "Subdomain is available (approx. message)");
  });

  // Zero Trust organization and identity providers
  route("GET", `${A}/access/organizations`, ({ account }) => {
    if (!account.organization) throw notFound("access.api.error.not_found: no Zero Trust organization (approx.)", 12130);
    return { ...account.organization, created_at: now(), updated_at: now() };
  });
  route("GET", `${A}/access/identity_providers`, ({ account, query }) =>
    paginate(clone(account.identityProviders), query, pageOpts));

  // reusable policies
  route("GET", `${A}/access/policies`, ({ account, query }) =>
    paginate(account.policies.map((p) => policyView(account, p)), query, pageOpts));
  route("GET", `${A}/access/policies/:policy`, ({ account, params }) => {
    const p = account.policies.find((x) => x.id === params.policy);
    if (!p) throw notFound("access.api.error.not_found: policy not found (approx.)", 12130);
    return policyView(account, p);
  });
  route("POST", `${A}/access/policies`, ({ account, body }) => {
    const p = buildPolicy(account, body);
    account.policies.push(p);
    return policyView(account, p);
  });
  route("PUT", `${A}/access/policies/:policy`, ({ account, params, body }) => {
    const i = account.policies.findIndex((x) => x.id === params.policy);
    if (i < 0) throw notFound("access.api.error.not_found: policy not found (approx.)", 12130);
    const p = buildPolicy(account, body, account.policies[i]);
    account.policies[i] = p;
    // apps embed a copy of each reusable policy: refresh them
    for (const app of account.apps)
      app.policies = app.policies.map((ap) => (ap.id === p.id ? { ...clone(p), precedence: ap.precedence } : ap));
    return policyView(account, p);
  });
  route("DELETE", `${A}/access/policies/:policy`, ({ account, params }) => {
    const i = account.policies.findIndex((x) => x.id === params.policy);
    if (i < 0) throw notFound("access.api.error.not_found: policy not found (approx.)", 12130);
    if (account.apps.some((a) => a.policies.some((p) => p.id === params.policy)))
      throw badRequest("policy is in use by an application (approx.)");
    account.policies.splice(i, 1);
    return { id: params.policy };
  });

  // applications
  route("GET", `${A}/access/apps`, ({ account, query }) => {
    let apps = account.apps;
    for (const key of ["name", "domain", "aud"])
      if (query.has(key)) apps = apps.filter((a) => a[key] === query.get(key));
    if (query.has("search")) {
      const s = query.get("search").toLowerCase();
      apps = apps.filter((a) => a.name.toLowerCase().includes(s) || (a.domain ?? "").toLowerCase().includes(s));
    }
    return paginate(apps.map(appView), query, pageOpts);
  });
  route("GET", `${A}/access/apps/:app`, ({ account, params }) => {
    const app = account.apps.find((a) => a.id === params.app);
    if (!app) throw notFound("access.api.error.not_found: application not found (approx.)", 12130);
    return appView(app);
  });
  route("POST", `${A}/access/apps`, ({ account, body }) => {
    const app = buildApp(account, body);
    account.apps.push(app);
    const view = appView(app);
    if (app.type === "saas") view.saas_app.client_secret = app.clientSecret; // only here
    return view;
  });
  route("PUT", `${A}/access/apps/:app`, ({ account, params, body }) => {
    const i = account.apps.findIndex((a) => a.id === params.app);
    if (i < 0) throw notFound("access.api.error.not_found: application not found (approx.)", 12130);
    const app = buildApp(account, body, account.apps[i]); // replaces every field
    account.apps[i] = app;
    return appView(app);
  });
  route("DELETE", `${A}/access/apps/:app`, ({ account, params }) => {
    const i = account.apps.findIndex((a) => a.id === params.app);
    if (i < 0) throw notFound("access.api.error.not_found: application not found (approx.)", 12130);
    account.apps.splice(i, 1);
    return { id: params.app };
  });
  // app-scoped and reusable policies of one app (SDK: applications.policies.list "Returns both
  // exclusively scoped and reusable policies used by the application"), as PolicyListResponse
  route("GET", `${A}/access/apps/:app/policies`, ({ account, params, query }) => {
    const app = account.apps.find((a) => a.id === params.app);
    if (!app) throw notFound("access.api.error.not_found: application not found (approx.)", 12130);
    return paginate(app.policies.map(appPolicyView), query, pageOpts);
  });
  // cloudflare-docs policy-management, "Convert a legacy policy": PUT …/make_reusable; it is then
  // an account policy, managed through /access/policies only
  route("PUT", `${A}/access/apps/:app/policies/:policy/make_reusable`, ({ account, params }) => {
    const app = account.apps.find((a) => a.id === params.app);
    const own = app?.policies.find((p) => p.id === params.policy && p.reusable === false);
    if (!own) throw notFound("access.api.error.not_found: no such app-scoped policy on this application (approx.)", 12130);
    const { precedence: _, ...policy } = { ...clone(own), reusable: true, updated_at: now() };
    account.policies.push(policy);
    own.reusable = true;
    return policyView(account, policy);
  });

  // KV namespaces
  route("GET", `${A}/storage/kv/namespaces`, ({ account, query }) =>
    paginate(clone([...account.kvNamespaces].sort((a, b) => a.title.localeCompare(b.title))), query, pageOpts));
  route("POST", `${A}/storage/kv/namespaces`, ({ account, body }) => {
    if (!body || typeof body.title !== "string" || !body.title) throw badRequest("title is required", 10019);
    if (account.kvNamespaces.some((n) => n.title === body.title))
      throw badRequest("a namespace with this account ID and title already exists", 10014);
    const ns = { id: ids.hex(16), title: body.title, supports_url_encoding: true };
    account.kvNamespaces.push(ns);
    return clone(ns);
  });
  route("PUT", `${A}/storage/kv/namespaces/:ns`, ({ account, params, body }) => {
    const ns = account.kvNamespaces.find((n) => n.id === params.ns);
    if (!ns) throw notFound("namespace not found", 10013);
    if (!body || typeof body.title !== "string" || !body.title) throw badRequest("title is required", 10019);
    if (account.kvNamespaces.some((n) => n.title === body.title && n.id !== ns.id))
      throw badRequest("a namespace with this account ID and title already exists", 10014);
    ns.title = body.title;
    return clone(ns);
  });
  route("GET", `${A}/storage/kv/namespaces/:ns`, ({ account, params }) => {
    const ns = account.kvNamespaces.find((n) => n.id === params.ns);
    if (!ns) throw notFound("namespace not found", 10013);
    return clone(ns);
  });

  // Workers: what wrangler deploy / secret put call
  route("GET", `${A}/workers/services/:name`, ({ account, params }) => {
    const w = workerOr404(account, params.name, 10090);
    return {
      id: w.name,
      default_environment: { environment: "production", created_on: w.created_on, modified_on: w.modified_on, script: scriptView(w, w.versions.at(-1)) },
      created_on: w.created_on,
      modified_on: w.modified_on,
    };
  });
  route("GET", `${A}/workers/workers/:name`, ({ account, params }) => {
    const w = workerOr404(account, params.name);
    return { id: w.tag, name: w.name, subdomain: clone(w.subdomain), created_on: w.created_on, updated_on: w.modified_on, tags: w.tags, logpush: w.settings.logpush, observability: w.settings.observability };
  });
  route("GET", `${A}/workers/scripts/:name/secrets`, ({ account, params }) => {
    const w = workerOr404(account, params.name);
    const v = w.versions.find((x) => x.id === w.deployedVersionId) ?? w.versions.at(-1);
    return (v?.bindings ?? []).filter((b) => b.type === "secret_text").map((b) => ({ name: b.name, type: b.type }));
  });
  route("PUT", `${A}/workers/scripts/:name/secrets`, ({ account, params, body }) => {
    const w = workerOr404(account, params.name);
    if (!body?.name || body.type !== "secret_text") throw badRequest("expected { name, text, type: \"secret_text\" }", 10021);
    const prev = w.versions.at(-1);
    const bindings = (prev?.bindings ?? []).filter((b) => b.name !== body.name);
    bindings.push({ type: "secret_text", name: body.name, text: body.text });
    const version = { ...clone({ ...prev, modules: undefined, bindings: undefined }), modules: prev?.modules ?? {}, id: ids.uuid(), number: w.versions.length + 1, created_on: now(), source: "secret", bindings };
    w.versions.push(version);
    deploy(w, version.id, "secret");
    return { name: body.name, type: "secret_text" };
  });
  route("GET", `${A}/workers/scripts/:name/deployments`, ({ account, params }) => {
    const w = workerOr404(account, params.name);
    return { deployments: clone([...w.deployments].reverse()) };
  });
  route("POST", `${A}/workers/scripts/:name/deployments`, ({ account, params, body }) => {
    const w = workerOr404(account, params.name);
    const versionId = body?.versions?.[0]?.version_id;
    if (!w.versions.some((v) => v.id === versionId)) throw badRequest(`version ${versionId} not found`, 10221);
    return clone(deploy(w, versionId, "wrangler"));
  });
  route("GET", `${A}/workers/scripts/:name/versions/:version`, ({ account, params }) => {
    const w = workerOr404(account, params.name);
    const v = w.versions.find((x) => x.id === params.version);
    if (!v) throw notFound("version not found", 10221);
    return { id: v.id, number: v.number, metadata: { created_on: v.created_on, source: v.source }, annotations: v.annotations, resources: { bindings: v.bindings.map(({ text, ...b }) => b) } };
  });
  route("PUT", `${A}/workers/scripts/:name`, async (ctx) => {
    const { account, params, query } = ctx;
    const upload = await readUpload(ctx);
    // a failed upload must not leave a Worker behind: build it aside, register on success
    const w = account.workers[params.name] ?? createWorker(null, params.name);
    const version = newVersion(account, w, upload, query, "wrangler");
    account.workers[params.name] = w;
    deploy(w, version.id, "wrangler");
    return { ...scriptView(w, version), deployment_id: version.id, startup_time_ms: 1 };
  });
  route("GET", `${A}/workers/scripts/:name`, ({ account, params }) => {
    const w = workerOr404(account, params.name);
    const v = w.versions.find((x) => x.id === w.deployedVersionId);
    return v?.modules[v.main_module]?.content ?? "";
  });
  route("DELETE", `${A}/workers/scripts/:name`, ({ account, params, query }) => {
    workerOr404(account, params.name);
    // SDK 7.3 `force`: "delete the Worker even when other Workers still reference it" (a service binding
    // here). Without it the API refuses; its status and code were not verified (approx.). Custom domains
    // routed to the Worker stay, dangling: whether the API detaches them was not verified either, and
    // keeping them is the stricter choice (destroy must detach them itself).
    const referencedBy = Object.values(account.workers).filter((other) =>
      other.name !== params.name && other.versions.some((v) => v.bindings.some((b) => b.type === "service" && b.service === params.name)));
    if (referencedBy.length && query.get("force") !== "true")
      throw new ApiError(409, 10064, `Worker ${params.name} is referenced by ${referencedBy.map((w) => w.name).join(", ")}; delete with force=true to delete it anyway (approx.)`);
    delete account.workers[params.name];
    return null;
  });
  route("POST", `${A}/workers/scripts/:name/versions`, async (ctx) => {
    const { account, params, query } = ctx;
    const w = workerOr404(account, params.name);
    const upload = await readUpload(ctx);
    const version = newVersion(account, w, upload, query, "wrangler");
    return {
      id: version.id, number: version.number,
      metadata: { created_on: version.created_on, source: "wrangler", has_preview: false },
      resources: { script: { etag: w.etag, handlers: ["fetch"] }, bindings: version.bindings.map(({ text, ...b }) => b) },
      startup_time_ms: 1,
    };
  });
  route("PATCH", `${A}/workers/scripts/:name/script-settings`, ({ account, params, body }) => {
    const w = workerOr404(account, params.name);
    Object.assign(w.settings, clone(body ?? {}));
    if (body?.tags) w.tags = clone(body.tags);
    return clone(w.settings);
  });
  // wrangler's resource auto-provisioning reads this before every deploy, provision to prove the Worker is its own.
  // As the API does: a plain_text var comes with its text, a secret never does.
  route("GET", `${A}/workers/scripts/:name/settings`, ({ account, params }) => {
    const w = workerOr404(account, params.name);
    const v = w.versions.find((x) => x.id === w.deployedVersionId);
    return {
      bindings: (v?.bindings ?? []).map(({ text, ...b }) => (b.type === "plain_text" ? { ...b, text } : b)),
      compatibility_date: v?.compatibility_date,
      compatibility_flags: v?.compatibility_flags ?? [],
      ...clone(w.settings),
      usage_model: "standard",
    };
  });
  route("GET", `${A}/workers/scripts/:name/script-settings`, ({ account, params }) => clone(workerOr404(account, params.name).settings));
  route("POST", `${A}/workers/scripts/:name/subdomain`, ({ account, params, body }) => {
    const w = workerOr404(account, params.name);
    w.subdomain = { enabled: Boolean(body?.enabled), previews_enabled: Boolean(body?.previews_enabled ?? body?.enabled) };
    return clone(w.subdomain);
  });
  route("GET", `${A}/workers/scripts/:name/subdomain`, ({ account, params }) => clone(workerOr404(account, params.name).subdomain));
  // ---- Zones and Workers custom domains (--domain) ------------------------
  //
  // GET /zones (SDK zones.list: V4PagePaginationArray, `account.id`, `name`, `status`; the SDK asks
  // for the next page until one comes back empty), and a zone's DNS records (those seeded). Then the
  // Workers custom-domain API the SDK calls (workers.domains: list, PUT attach, get, delete) and the
  // one `wrangler deploy` calls for
  // `routes: [{ pattern, custom_domain: true }]` (4.164: `POST …/domains/changeset?replace_state=true`,
  // then `PUT …/domains/records` with both overrides true when it has no terminal). A hostname is
  // in the zone that is its longest suffix among the account's zones; none is 10083 zone_not_found.
  // Another Worker's hostname is 409 100116 unless override_existing_origin (wrangler in CI sends
  // it: the host moves); a hostname with a DNS record of its own (seeded with `dnsRecords`) is 409
  // 100117 even with override_existing_dns_record. Statuses and messages are (approx.).

  const ZONE_FILTERS = { "account.id": (z, v, a) => a.id === v, status: (z, v) => z.status === v };
  function matchesName(name, filter) {
    const [op, value] = /^(contains|starts_with|ends_with|equal):/.test(filter) ? filter.split(/:(.*)/s) : ["equal", filter];
    const v = value.toLowerCase();
    if (op === "contains") return name.includes(v);
    if (op === "starts_with") return name.startsWith(v);
    if (op === "ends_with") return name.endsWith(v);
    return name === v;
  }
  route("GET", "/zones", ({ token, query }) => {
    const per = Number.parseInt(query.get("per_page") ?? "20", 10);
    if (!Number.isInteger(per) || per < 5 || per > 50) throw badRequest("per_page must be between 5 and 50 (approx.)", 1001);
    const zones = state.accounts.filter((a) => token.accounts.includes(a.id)).flatMap((a) =>
      a.zones.filter((z) =>
        Object.entries(ZONE_FILTERS).every(([key, test]) => !query.has(key) || test(z, query.get(key), a)) &&
        (!query.has("name") || matchesName(z.name, query.get("name")))).map((z) => zoneView(a, z)));
    return paginate(zones, query, { defaultPerPage: 20, maxPerPage: 50 });
  });
  route("GET", "/zones/:zone", ({ token, params }) => {
    for (const a of state.accounts.filter((x) => token.accounts.includes(x.id))) {
      const z = a.zones.find((x) => x.id === params.zone);
      if (z) return zoneView(a, z);
    }
    throw notFound("Invalid zone identifier (approx.)", 1001);
  });
  // DNS records of a zone (SDK dns.records.list: `name.exact` and the other name operators, paged), as
  // far as a custom domain cares: the seeded `dnsRecords` of the account, each in the zone its name is in.
  route("GET", "/zones/:zone/dns_records", ({ token, params, query }) => {
    const account = state.accounts.find((a) => token.accounts.includes(a.id) && a.zones.some((z) => z.id === params.zone));
    if (!account) throw notFound("Could not route to /zones, perhaps your object identifier is invalid? (approx.)", 7003);
    const zone = account.zones.find((z) => z.id === params.zone);
    const names = { "name.exact": "equal", "name.contains": "contains", "name.startswith": "starts_with", "name.endswith": "ends_with", name: "equal" };
    const records = account.dnsRecords.filter((r) =>
      (r.name === zone.name || r.name.endsWith(`.${zone.name}`)) &&
      Object.entries(names).every(([key, op]) => !query.has(key) || matchesName(r.name, `${op}:${query.get(key)}`)));
    return paginate(records.map((r) => ({ ...clone(r), zone_id: zone.id, zone_name: zone.name })), query, { defaultPerPage: 100, maxPerPage: 5000000 });
  });

  function zoneView(account, z) {
    return {
      id: z.id, name: z.name, status: z.status, paused: false, type: "full", development_mode: 0,
      account: { id: account.id, name: account.name }, owner: { id: null, type: "user", email: null },
      name_servers: ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"], original_name_servers: null, original_registrar: null,
      original_dnshost: null, permissions: [], plan: { id: "0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee", name: "Free Website" },
      meta: { step: 2, custom_certificate_quota: 0, page_rule_quota: 3, phishing_detected: false },
      created_on: z.created_on, modified_on: z.created_on, activated_on: z.status === "active" ? z.created_on : null,
    };
  }

  /** The account's zone for an origin: the one it names (zone_id or zone_name), else the longest suffix of its hostname. */
  function zoneFor(account, origin) {
    const host = origin.hostname.toLowerCase();
    const inside = (z) => host === z.name || host.endsWith(`.${z.name}`);
    const named = origin.zone_id ?? origin.zone_name;
    const zone = named !== undefined
      ? account.zones.find((z) => (z.id === origin.zone_id || z.name === origin.zone_name) && inside(z))
      : account.zones.filter(inside).sort((a, b) => b.name.length - a.name.length)[0];
    if (!zone || zone.status !== "active") throw notFound(`workers.api.error.zone_not_found for "${origin.hostname}" (approx.)`, 10083);
    return zone;
  }
  function checkOrigin(o) {
    if (!o || typeof o.hostname !== "string" || !o.hostname) throw badRequest("each origin needs a hostname (approx.)", 100100);
    if (o.hostname.includes("*")) throw badRequest("Wildcard operators (*) are not allowed in Custom Domains (approx.)", 100101);
    if (/[/:\s]/.test(o.hostname)) throw badRequest("Paths are not allowed in Custom Domains (approx.)", 100102);
  }
  const hasDnsRecord = (account, host) => account.dnsRecords.some((r) => r.name === host.toLowerCase());
  /** Attaches `host` to the Worker, moving it from another one; the record keeps its id when it only moves. */
  function attachDomain(account, host, service, zone) {
    const existing = account.customDomains.find((d) => d.hostname === host);
    if (existing) { existing.service = service; return existing; }
    const d = { id: ids.hex(16), cert_id: ids.uuid(), environment: "production", hostname: host, service, zone_id: zone.id, zone_name: zone.name };
    account.customDomains.push(d);
    return d;
  }
  const domainOr404 = (account, id) => {
    const d = account.customDomains.find((x) => x.id === id);
    if (!d) throw notFound("workers.api.error.domain_not_found (approx.)", 100114);
    return d;
  };
  const domainsFiltered = (account, query) => account.customDomains.filter((d) =>
    ["hostname", "service", "zone_id", "zone_name", "environment"].every((key) => !query.has(key) || d[key] === query.get(key)));

  route("GET", `${A}/workers/domains`, ({ account, query }) => clone(domainsFiltered(account, query)));
  route("PUT", `${A}/workers/domains`, ({ account, body }) => {
    checkOrigin(body);
    if (typeof body.service !== "string" || !body.service) throw badRequest("service is required (approx.)", 100100);
    workerOr404(account, body.service);
    const host = body.hostname.toLowerCase();
    const zone = zoneFor(account, body);
    if (hasDnsRecord(account, host)) throw new ApiError(409, 100117, `${host} already has DNS records (approx.)`);
    const held = account.customDomains.find((d) => d.hostname === host && d.service !== body.service);
    if (held) throw new ApiError(409, 100116, `${host} is already attached to the Worker ${held.service} (approx.)`);
    return clone(attachDomain(account, host, body.service, zone));
  });
  route("GET", `${A}/workers/domains/records`, ({ account, query }) => clone(domainsFiltered(account, query)));
  route("GET", `${A}/workers/domains/records/:id`, ({ account, params }) => clone(domainOr404(account, params.id)));
  route("GET", `${A}/workers/domains/:id`, ({ account, params }) => clone(domainOr404(account, params.id)));
  route("DELETE", `${A}/workers/domains/:id`, ({ account, params }) => {
    domainOr404(account, params.id);
    account.customDomains = account.customDomains.filter((d) => d.id !== params.id);
    return NO_RESULT;
  });

  route("POST", `${A}/workers/scripts/:name/domains/changeset`, ({ account, params, body, query }) => {
    workerOr404(account, params.name);
    if (!Array.isArray(body)) throw badRequest("the body is an array of origins (approx.)", 100100);
    body.forEach(checkOrigin);
    const wanted = body.map((o) => ({ ...o, hostname: o.hostname.toLowerCase(), zone: zoneFor(account, o) }));
    const view = (o) => ({ hostname: o.hostname, zone_id: o.zone.id, zone_name: o.zone.name });
    const held = (o) => account.customDomains.find((d) => d.hostname === o.hostname);
    return {
      added: wanted.filter((o) => !held(o)).map(view),
      updated: wanted.filter((o) => held(o) && held(o).service !== params.name).map((o) => ({ ...clone(held(o)), modified: true, previews_enabled: false })),
      removed: query.get("replace_state") === "true"
        ? clone(account.customDomains.filter((d) => d.service === params.name && !wanted.some((o) => o.hostname === d.hostname)))
        : [],
      conflicting: wanted.filter((o) => hasDnsRecord(account, o.hostname)).map(view),
    };
  });
  route("PUT", `${A}/workers/scripts/:name/domains/records`, ({ account, params, body }) => {
    workerOr404(account, params.name);
    if (!body || !Array.isArray(body.origins)) throw badRequest("origins is required (approx.)", 100100);
    body.origins.forEach(checkOrigin);
    const wanted = body.origins.map((o) => ({ host: o.hostname.toLowerCase(), zone: zoneFor(account, o) }));
    // Every check before any change: a refused call changes nothing.
    for (const { host } of wanted) {
      if (hasDnsRecord(account, host)) throw new ApiError(409, 100117, `${host} already has DNS records that are not this Worker's (approx.)`);
      const other = account.customDomains.find((d) => d.hostname === host && d.service !== params.name);
      if (other && !body.override_existing_origin) throw new ApiError(409, 100116, `${host} is already attached to the Worker ${other.service} (approx.)`);
    }
    // override_scope: the origins are the Worker's whole set; its others are detached.
    if (body.override_scope) account.customDomains = account.customDomains.filter((d) => d.service !== params.name || wanted.some((w) => w.host === d.hostname));
    return wanted.map(({ host, zone }) => clone(attachDomain(account, host, params.name, zone)));
  });

  // ---- deleting (what destroy calls) -------------------------------------
  // SDK kv.namespaces.delete: "Deletes the specified Workers KV namespace and its stored key-value
  // pairs"; result null. 10013 is the code GET answers for an unknown namespace (approx. for DELETE).
  route("DELETE", `${A}/storage/kv/namespaces/:ns`, ({ account, params }) => {
    const i = account.kvNamespaces.findIndex((n) => n.id === params.ns);
    if (i < 0) throw notFound("namespace not found", 10013);
    account.kvNamespaces.splice(i, 1);
    return null;
  });

  route("GET", `${A}/workers/scripts/:name/schedules`, ({ account, params }) => {
    workerOr404(account, params.name);
    return { schedules: [] };
  });

  // ---- HTTP plumbing ----------------------------------------------------

  function matchFault(method, path) {
    for (const f of faults) {
      if (f.remaining <= 0) continue;
      if (f.method !== "*" && f.method !== method) continue;
      if (!f.re.test(path)) continue;
      if (f.after > 0) { f.after -= 1; continue; } // let this many matching requests through first
      f.remaining -= 1;
      f.hits += 1;
      return f;
    }
    return null;
  }

  async function readBody(req) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    return Buffer.concat(chunks);
  }

  async function parseBody(req, raw) {
    const type = req.headers["content-type"] ?? "";
    if (raw.length === 0) return {};
    if (type.startsWith("multipart/form-data")) {
      const form = await new Request("http://fake.invalid/", { method: "POST", headers: { "content-type": type }, body: raw }).formData();
      return { form };
    }
    const text = raw.toString("utf8");
    if (type.includes("json") || /^[\s]*[{[]/.test(text)) {
      try {
        return { body: JSON.parse(text) };
      } catch {
        throw badRequest("Malformed JSON in request body", 6007);
      }
    }
    return { body: text };
  }

  async function summariseForm(form) {
    const parts = [];
    for (const [name, value] of form.entries()) {
      if (typeof value === "string") parts.push({ name, type: "field", size: value.length, ...(name === "metadata" ? { json: JSON.parse(value) } : {}) });
      else parts.push({ name, filename: value.name, type: value.type, size: value.size });
    }
    return { multipart: parts };
  }

  function send(res, status, payload, headers = {}) {
    const data = typeof payload === "string" ? payload : JSON.stringify(payload);
    res.writeHead(status, {
      "content-type": typeof payload === "string" ? "text/plain" : "application/json",
      "cf-ray": `fake-${seq}`,
      ...headers,
    });
    res.end(data);
  }

  async function handleControl(req, res, url) {
    const raw = await readBody(req);
    const body = raw.length ? JSON.parse(raw.toString("utf8")) : {};
    const p = url.pathname.slice("/__fake".length);
    if (req.method === "GET" && p === "/log") return send(res, 200, log);
    if (req.method === "GET" && p === "/state") return send(res, 200, fake.snapshot());
    if (req.method === "POST" && p === "/faults") {
      const f = fake.addFault({ ...body, path: body.regex ? new RegExp(body.regex) : body.path });
      return send(res, 200, { id: f.id });
    }
    if (req.method === "DELETE" && p === "/faults") { fake.clearFaults(); return send(res, 200, {}); }
    if (req.method === "POST" && p === "/reset") { fake.reset(); return send(res, 200, {}); }
    if (req.method === "PATCH" && p === "/account") { Object.assign(state.accounts[0], body); return send(res, 200, {}); }
    return send(res, 404, { error: "unknown control endpoint" });
  }

  async function handle(req, res) {
    const url = new URL(req.url, "http://127.0.0.1");
    if (url.pathname.startsWith("/__fake/")) return handleControl(req, res, url);
    seq += 1;
    const entry = {
      seq,
      time: now(),
      method: req.method,
      path: url.pathname.startsWith(BASE_PATH) ? url.pathname.slice(BASE_PATH.length) : url.pathname,
      query: Object.fromEntries(url.searchParams),
      outsideBase: !url.pathname.startsWith(`${BASE_PATH}/`),
      headers: { "content-type": req.headers["content-type"], "user-agent": req.headers["user-agent"] },
      token: null,
      body: undefined,
      status: 0,
      result: undefined,
      errors: undefined,
    };
    log.push(entry);
    res.on("close", () => options.onResponse?.(entry));
    try {
      const raw = await readBody(req);
      const parsed = await parseBody(req, raw).catch((e) => ({ error: e }));
      entry.body = parsed.form ? await summariseForm(parsed.form) : parsed.body;
      if (parsed.error) throw parsed.error;
      if (entry.outsideBase) throw notFound("No route for that URI", 7000);

      const fault = matchFault(req.method, entry.path);
      if (fault) {
        entry.fault = fault.id;
        if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
        if (fault.drop) { req.socket.destroy(); entry.status = -1; return; }
        throw new ApiError(fault.status, fault.code, fault.message);
      }

      const auth = req.headers.authorization ?? "";
      if (!auth) throw new ApiError(400, 9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers");
      const token = state.tokens.find((t) => auth === `Bearer ${t.value}`);
      if (!token) throw new ApiError(401, 1000, "Invalid API Token");
      entry.token = token.id;
      const verifyRoute = /\/tokens\/verify$/.test(entry.path);
      if (token.status !== "active" && !verifyRoute) throw new ApiError(401, 1000, `API Token is ${token.status}`);

      let handler, params;
      const methodMismatch = [];
      for (const r of routes) {
        const m = r.re.exec(entry.path);
        if (!m) continue;
        if (r.method !== req.method) { methodMismatch.push(r.method); continue; }
        handler = r.handler; params = m.groups ?? {};
        break;
      }
      if (!handler) {
        if (methodMismatch.length) throw new ApiError(405, 10405, `Method ${req.method} not allowed (fake)`);
        throw notFound("No route for that URI", 7000);
      }
      const ctx = { req, params, query: url.searchParams, body: parsed.body, form: parsed.form, token };
      if (params.account) {
        if (!token.accounts.includes(params.account)) throw new ApiError(403, 9109, "Unauthorized to access requested resource");
        ctx.account = findAccount(params.account);
      }
      const out = await handler(ctx);
      const paged = out && typeof out === "object" && "result_info" in out && "result" in out;
      const result = paged ? out.result : out;
      entry.status = 200;
      entry.result = result === NO_RESULT ? undefined : clone(result);
      send(res, 200, envelope(result, paged ? out.result_info : undefined));
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError(500, 10000, `fake internal error: ${e.message}`);
      if (!(e instanceof ApiError)) console.error("[fake-cloudflare]", e);
      entry.status = err.status;
      entry.errors = err.extra.errors ?? [{ code: err.code, message: err.message }];
      send(res, err.status, errorEnvelope(err));
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e) => {
      console.error("[fake-cloudflare]", e);
      if (!res.headersSent) send(res, 500, errorEnvelope(new ApiError(500, 10000, "fake crashed")));
    });
  });

  let faultIds = 0;
  const fake = {
    server,
    log,
    get state() { return state; },
    get faults() { return faults; },
    token: state.tokens[0].value,
    accountId: state.accounts[0].id,
    url: null,
    baseURL: null,

    /** the default (first) account's state, or another by id */
    account(id = state.accounts[0].id) { return state.accounts.find((a) => a.id === id); },

    async listen(port = 0, host = "127.0.0.1") {
      await new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, resolve);
      });
      const { port: p } = server.address();
      fake.url = `http://${host}:${p}`;
      fake.baseURL = `${fake.url}${BASE_PATH}`;
      return fake;
    },
    close() {
      server.closeAllConnections?.();
      return new Promise((resolve) => server.close(() => resolve()));
    },

    /** env for a wrangler child process pointed at this fake */
    env(extra = {}) {
      return {
        CLOUDFLARE_API_BASE_URL: fake.baseURL,
        CLOUDFLARE_API_TOKEN: fake.token,
        CLOUDFLARE_ACCOUNT_ID: fake.accountId,
        WRANGLER_SEND_METRICS: "false",
        CI: "true",
        ...extra,
      };
    },

    /**
     * Inject a fault: { method = "*", path (pattern like "/accounts/:account/access/apps",
     * a RegExp, or "*"), status = 500, code, message, times = 1, after = 0 (matching requests
     * to let through first), delayMs, drop }.
     * Faults apply before authentication, to the path after /client/v4.
     */
    addFault({ method = "*", path = "*", status = 500, code, message, times = 1, after = 0, delayMs = 0, drop = false } = {}) {
      const f = {
        id: ++faultIds, method, path: String(path), re: compile(path), status,
        code: code ?? (status >= 500 ? 10001 : status === 403 ? 10000 : 10400),
        message: message ?? (status >= 500 ? "Internal server error (injected)" : status === 403 ? "Authentication error" : "Injected error"),
        remaining: times, after, hits: 0, delayMs, drop,
      };
      faults.push(f);
      return f;
    },
    /** 403 "Authentication error" (code 10000), as a token without the permission gets */
    failPermission(method, path, times = Infinity) { return fake.addFault({ method, path, status: 403, times }); },
    /** a 500 once (note: the SDK and wrangler both retry 5xx, so once is usually invisible) */
    failOnce(method, path, status = 500) { return fake.addFault({ method, path, status, times: 1 }); },
    /** a Worker deployed by somebody else (not through this API's log): one version with these bindings, live */
    addWorker(name, bindings = [], accountId) {
      const account = fake.account(accountId);
      const w = createWorker(account, name);
      const modules = { "index.js": { type: "application/javascript+module", content: "export default { fetch() { return new Response('payroll') } }" } };
      const version = newVersion(account, w, { metadata: { main_module: "index.js", compatibility_date: "2026-01-01", bindings }, modules }, new URLSearchParams(), "api");
      deploy(w, version.id, "api");
      return w;
    },
    /** no workers.dev subdomain registered: GET /workers/subdomain answers 404 code 10007 */
    removeWorkersSubdomain(accountId) { fake.account(accountId).workersSubdomain = null; },
    clearFaults() { faults = []; },

    /** requests received, optionally filtered by method and path pattern */
    requests(method = "*", path = "*") {
      const re = compile(path);
      return log.filter((e) => (method === "*" || e.method === method) && re.test(e.path));
    },
    /** non-GET requests (what changed, or tried to change, something) */
    mutations() { return log.filter((e) => e.method !== "GET"); },
    clearLog() { log.length = 0; },
    /** one line per request: "PUT /accounts/…/workers/scripts/x 200" */
    summary() { return log.map((e) => `${e.method} ${e.path}${Object.keys(e.query).length ? `?${new URLSearchParams(e.query)}` : ""} ${e.status}`); },

    /** deep copy of the state, including each Worker's deployed vars/secrets/KV */
    snapshot() {
      const s = clone(state);
      for (const a of state.accounts) {
        const sa = s.accounts.find((x) => x.id === a.id);
        sa.apps.forEach((app, i) => { if (a.apps[i].clientSecret) app.client_secret_stored = a.apps[i].clientSecret; });
        for (const [name, w] of Object.entries(a.workers)) sa.workers[name].deployed = fake.deployedWorker(name, a.id);
      }
      return s;
    },
    /** what is live for a Worker: vars, secrets, kv bindings, modules */
    deployedWorker(name, accountId) {
      const w = fake.account(accountId)?.workers[name];
      if (!w) return null;
      const v = w.versions.find((x) => x.id === w.deployedVersionId);
      if (!v) return { name, deployed: false };
      const of = (type) => v.bindings.filter((b) => b.type === type);
      return {
        name,
        versionId: v.id,
        versions: w.versions.length,
        deployments: w.deployments.length,
        mainModule: v.main_module,
        modules: Object.fromEntries(Object.entries(v.modules).map(([k, m]) => [k, { type: m.type, size: m.content.length }])),
        compatibilityDate: v.compatibility_date,
        vars: Object.fromEntries([...of("plain_text").map((b) => [b.name, b.text]), ...of("json").map((b) => [b.name, b.json])]),
        secrets: Object.fromEntries(of("secret_text").map((b) => [b.name, b.text])),
        kv: Object.fromEntries(of("kv_namespace").map((b) => [b.name, b.namespace_id])),
        ratelimits: Object.fromEntries(of("ratelimit").map((b) => [b.name, { namespace_id: b.namespace_id, simple: clone(b.simple) }])),
        bindings: clone(v.bindings),
        workersDev: clone(w.subdomain),
        /** The hostnames routed to this Worker as custom domains. */
        customDomains: fake.account(accountId).customDomains.filter((d) => d.service === name).map((d) => d.hostname),
      };
    },
    /** The whole state, to put back with restore(): a test provisions once and starts each case from there. */
    save() { return clone(state); },
    restore(saved) { state = clone(saved); },
    reset() {
      state = seedState(options, ids);
      log.length = 0;
      faults = [];
      fake.token = state.tokens[0].value;
      fake.accountId = state.accounts[0].id;
    },
  };
  return fake;
}

export async function startFakeCloudflare(options = {}) {
  const fake = createFakeCloudflare(options);
  return fake.listen(options.port ?? 0, options.host ?? "127.0.0.1");
}

// ---- CLI ----------------------------------------------------------------
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const arg = (name) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const fake = await startFakeCloudflare({
    port: Number(arg("--port") ?? 0),
    token: arg("--token"),
    accountId: arg("--account-id"),
    onResponse: (e) => process.stderr.write(`${e.method} ${e.path} -> ${e.status}\n`),
  });
  process.stdout.write(`${fake.baseURL}\n`);
  const stop = () => fake.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
