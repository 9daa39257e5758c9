#!/usr/bin/env node
// Local stand-in for the Cloudflare Access for SaaS (OIDC) app, used by `npm run dev`.
//
// In production the Worker signs people in by sending them to the Access for SaaS app at
// https://<team>.cloudflareaccess.com/cdn-cgi/access/sso/oidc/<client_id>, exchanging the code at
// its token endpoint and verifying the ID token against its JWKS. This script serves the same
// endpoints, at the same paths, on loopback, so the Worker's unchanged sign-in code runs locally:
//   - authorization (a small sign-in page that asks for an email), token (authorization code with
//     PKCE, refresh tokens), jwks, userinfo and /.well-known/openid-configuration;
//   - on first run it writes .dev.vars (mode 0600) pointing the Worker's ACCESS_* secrets at it,
//     with a random client secret and COOKIE_ENCRYPTION_KEY; later runs reuse that file;
//   - then it starts `wrangler dev` behind a front door on the Worker's port, which answers only
//     requests addressed to that port on loopback, and prints how to connect MCP Inspector.
// If .dev.vars points at a real Access team instead, only `wrangler dev` and its front door start.
// No dependencies: Node >= 22.12 only.

import { spawn, spawnSync } from "node:child_process";
import { createHash, generateKeyPairSync, randomBytes, sign, timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { pipeline } from "node:stream";
import { parseArgs } from "node:util";

const HELP = `Usage: node dev/access-emulator.mjs [options] [-- <wrangler dev args>]

Runs the Worker with \`wrangler dev\` and a local stand-in for the Cloudflare Access for SaaS app
it signs people in with.

Options:
  --port <n>         port for the Worker (env PORT, default 8787)
  --access-port <n>  port for the emulated Access app when .dev.vars is first written
                     (default 8788; later runs use the port in .dev.vars)
  --email <addr>     email the sign-in page suggests (env DEV_EMAIL, default dev@example.com)
  --groups <list>    Access groups the sign-in page suggests, comma-separated (env DEV_GROUPS)
  --token-ttl <s>    lifetime of the emulated Access access tokens, in seconds
                     (default 300, Access's default; at least 60, Access's minimum)
  --test-hooks       serve /__emulator/* controls for automated tests (bad ID tokens, refresh
                     failures, revoking a user's sessions, counters); never needed by hand
  -h, --help         show this help

Arguments after \`--\` are passed to \`wrangler dev\`.`;

const argv = process.argv.slice(2);
const split = argv.indexOf("--");
const ours = split === -1 ? argv : argv.slice(0, split);
const wranglerExtra = split === -1 ? [] : argv.slice(split + 1);

function fail(message, code = 2) {
  console.error(`dev: ${message}`);
  process.exit(code);
}

let options;
try {
  ({ values: options } = parseArgs({
    args: ours,
    options: {
      port: { type: "string" },
      "access-port": { type: "string" },
      email: { type: "string" },
      groups: { type: "string" },
      "token-ttl": { type: "string" },
      "test-hooks": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  }));
} catch (error) {
  fail(`${error.message} (see --help)`);
}
if (options.help) {
  console.log(HELP);
  process.exit(0);
}

function parsePort(text, what) {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 65535) fail(`invalid ${what}: ${text}`);
  return Number(text);
}
const workerPort = parsePort(options.port ?? process.env.PORT ?? "8787", "port");
const accessPortOption =
  options["access-port"] === undefined ? undefined : parsePort(options["access-port"], "--access-port");

const ttlText = options["token-ttl"] ?? "300";
const tokenTtl = Number(ttlText);
if (!/^\d+$/.test(ttlText) || tokenTtl < 60 || tokenTtl > 86400) {
  fail(`invalid --token-ttl: ${ttlText} (seconds, from 60 to 86400, as Access allows)`);
}

const EMAIL_PATTERN = /^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>".]+$/;
const defaultEmail = (options.email ?? process.env.DEV_EMAIL ?? "dev@example.com").trim().toLowerCase();
if (defaultEmail.length > 254 || !EMAIL_PATTERN.test(defaultEmail))
  fail(`invalid email: ${JSON.stringify(defaultEmail)}`);
const testHooks = options["test-hooks"] === true;
// Group names as an IdP would send them. With the `groups` scope they are the id_token's `groups`
// claim, as in Access for SaaS; the sign-in page lets the person signing in change them.
function parseGroups(text) {
  const groups = [
    ...new Set(
      String(text)
        .split(",")
        .map((group) => group.trim())
        .filter(Boolean),
    ),
  ];
  return groups.every((group) => group.length <= 256 && ![...group].some((char) => char < " " || char === "\u007f"))
    ? groups
    : undefined;
}
const defaultGroups = parseGroups(options.groups ?? process.env.DEV_GROUPS ?? "");
if (!defaultGroups) fail(`invalid groups: ${JSON.stringify(options.groups ?? process.env.DEV_GROUPS)}`);

// ---------------------------------------------------------------------------------------------
// .dev.vars: created once for the emulator, then the source of truth.

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);
const devVarsPath = path.join(process.cwd(), ".dev.vars");

function parseDevVars(text) {
  const vars = {};
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (!line || line.startsWith("#")) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    let value = match[2].trim();
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    vars[match[1]] = value;
  }
  return vars;
}

const issuerPathFor = (clientId) => `/cdn-cgi/access/sso/oidc/${clientId}`;

/** Reads the emulator settings from .dev.vars, or returns undefined when it names a real Access team. */
function readEmulatorVars(vars) {
  const required = [
    "ACCESS_CLIENT_ID",
    "ACCESS_CLIENT_SECRET",
    "ACCESS_AUTHORIZATION_URL",
    "ACCESS_TOKEN_URL",
    "ACCESS_JWKS_URL",
    "COOKIE_ENCRYPTION_KEY",
  ];
  const missing = required.filter((name) => !vars[name]);
  if (missing.length) {
    fail(
      `.dev.vars has no ${missing.join(", ")}. Delete it and run \`npm run dev\` again to get one for the local emulator, or fill it in from .dev.vars.example.`,
    );
  }
  const placeholders = required.filter((name) => /[<>]/.test(vars[name]));
  if (placeholders.length)
    fail(
      `.dev.vars still has placeholders in ${placeholders.join(", ")}: fill them in, or delete .dev.vars to use the local emulator.`,
    );
  let url;
  try {
    url = new URL(vars.ACCESS_AUTHORIZATION_URL);
  } catch {
    fail(".dev.vars: ACCESS_AUTHORIZATION_URL is not a URL");
  }
  if (!LOOPBACK_HOSTS.has(url.hostname)) return undefined;
  const issuerPath = issuerPathFor(vars.ACCESS_CLIENT_ID);
  if (url.pathname !== `${issuerPath}/authorization` || !url.port) {
    fail(".dev.vars points at a loopback address that is not this emulator's. Delete .dev.vars to get a fresh one.");
  }
  return {
    clientId: vars.ACCESS_CLIENT_ID,
    clientSecret: vars.ACCESS_CLIENT_SECRET,
    port: Number(url.port),
    host: url.hostname,
  };
}

function devVarsFor({ clientId, clientSecret, port }) {
  const issuer = `http://127.0.0.1:${port}${issuerPathFor(clientId)}`;
  return `# Written by \`npm run dev\` for the local Access for SaaS emulator (dev/access-emulator.mjs).
# Local only: these values let nothing in anywhere else. Delete this file for fresh ones, or
# replace it with a copy of .dev.vars.example filled in to sign in with your real Access app.
ACCESS_CLIENT_ID=${clientId}
ACCESS_CLIENT_SECRET=${clientSecret}
ACCESS_AUTHORIZATION_URL=${issuer}/authorization
ACCESS_TOKEN_URL=${issuer}/token
ACCESS_JWKS_URL=${issuer}/jwks
COOKIE_ENCRYPTION_KEY=${randomBytes(32).toString("hex")}
`;
}

let emulator; // { clientId, clientSecret, port, host } when we play Access
let createDevVars = false;
if (existsSync(devVarsPath)) {
  emulator = readEmulatorVars(parseDevVars(readFileSync(devVarsPath, "utf8")));
} else {
  // Access client ids and secrets are 64 hex characters; these only have to be unguessable.
  emulator = {
    clientId: randomBytes(32).toString("hex"),
    clientSecret: randomBytes(32).toString("hex"),
    port: accessPortOption ?? 8788,
    host: "127.0.0.1",
  };
  createDevVars = true;
}

// ---------------------------------------------------------------------------------------------
// The emulated Access for SaaS app.

// A fresh signing key per run, as Access publishes at its jwks endpoint. Nothing is written to disk.
const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const kid = randomBytes(16).toString("hex");
const jwk = { ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" };
// Only for --test-hooks' "bad-signature": a key the JWKS does not publish, under the same kid.
const { privateKey: strangerKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });

const b64url = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
const random = () => randomBytes(32).toString("base64url");
const now = () => Math.floor(Date.now() / 1000);

function signJwt(header, claims, key = privateKey) {
  const input = `${b64url(header)}.${b64url(claims)}`;
  return `${input}.${sign("sha256", Buffer.from(input), key).toString("base64url")}`;
}

// Access gives each user a stable UUID `sub`; derive one from the email (RFC 9562 version 8).
function subFor(email) {
  const bytes = createHash("sha256").update(email).digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x80;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  return bytes.toString("hex").replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-");
}

const sameSecret = (a, b) => {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && timingSafeEqual(x, y);
};

// In-memory state, bounded by the lifetimes below; a restart forgets every session (as if Access
// had revoked them), which the Worker must survive by asking the user to sign in again.
const pending = new Map(); // sign-in page id -> authorization request
const codes = new Map(); // code -> { request, email, sub, expiresAt }
const accessTokens = new Map(); // token -> { email, sub, expiresAt }
const refreshTokens = new Map(); // token -> { email, sub, scope, groups }
const stats = { signIns: 0, codeExchanges: 0, refreshes: 0, refreshFailures: 0, lastAccessTokenExpiresAt: 0 };
const faults = { idToken: undefined, refresh: undefined };
const issuedSecrets = []; // every token and code handed out, for --test-hooks' leak checks only
const ID_TOKEN_FAULTS = new Set([
  "wrong-iss",
  "wrong-aud",
  "wrong-nonce",
  "no-nonce",
  "expired",
  "alg-none",
  "bad-signature",
]);
const REFRESH_FAULTS = new Set(["invalid_grant", "server_error"]);

function sweep(map) {
  const t = now();
  for (const [key, value] of map) if (value.expiresAt !== undefined && value.expiresAt < t) map.delete(key);
}

let issuer = "";
const registeredRedirectUris = () => [
  `http://127.0.0.1:${workerPort}/callback`,
  `http://localhost:${workerPort}/callback`,
];

function remember(value) {
  if (testHooks) issuedSecrets.push(value);
  return value;
}

function idTokenFor({ email, sub, nonce, groups }) {
  const t = now();
  const fault = faults.idToken;
  faults.idToken = undefined;
  const claims = {
    iss: issuer,
    aud: emulator.clientId,
    sub,
    email,
    iat: t,
    nbf: t,
    exp: t + tokenTtl,
    ...(nonce ? { nonce } : {}),
    ...(groups ? { groups } : {}),
  };
  let header = { alg: "RS256", kid, typ: "JWT" };
  let key = privateKey;
  if (fault === "wrong-iss") claims.iss = `${issuer}-other`;
  if (fault === "wrong-aud") claims.aud = "another-client";
  if (fault === "wrong-nonce") claims.nonce = random();
  if (fault === "no-nonce") delete claims.nonce;
  if (fault === "expired") Object.assign(claims, { iat: t - 900, nbf: t - 900, exp: t - 600 });
  if (fault === "bad-signature") key = strangerKey;
  if (fault === "alg-none") {
    header = { alg: "none", typ: "JWT" };
    return remember(`${b64url(header)}.${b64url(claims)}.`);
  }
  return remember(signJwt(header, claims, key));
}

function issueTokens({ email, sub, scope, nonce, groups }) {
  sweep(accessTokens);
  const accessToken = remember(random());
  const expiresAt = now() + tokenTtl;
  accessTokens.set(accessToken, { email, sub, expiresAt });
  stats.lastAccessTokenExpiresAt = expiresAt;
  const body = {
    access_token: accessToken,
    token_type: "Bearer",
    expires_in: tokenTtl,
    id_token: idTokenFor({ email, sub, nonce, groups: scope.includes("groups") ? groups : undefined }),
    scope: scope.join(" "),
  };
  // As in OIDC: a refresh token only for `offline_access` (Access grants it when the app has refresh tokens on).
  if (scope.includes("offline_access")) {
    const refreshToken = remember(random());
    refreshTokens.set(refreshToken, { email, sub, scope, groups });
    body.refresh_token = refreshToken;
  }
  return body;
}

function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

const PAGE_STYLE =
  "body{font:16px/1.5 system-ui,sans-serif;max-width:30rem;margin:3rem auto;padding:0 1rem}input[type=email],input[type=text]{font:inherit;width:100%;padding:.4rem;margin:.3rem 0 1rem}button{font:inherit;padding:.45rem 1rem;margin-right:.5rem}.muted{color:#666;font-size:.9rem}";
const PAGE_CSP = `default-src 'none'; style-src 'sha256-${createHash("sha256").update(PAGE_STYLE).digest("base64")}'; base-uri 'none'; frame-ancestors 'none'`;

function sendHtml(res, status, title, content) {
  res.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": PAGE_CSP,
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
  });
  res.end(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${PAGE_STYLE}</style></head><body><h1>${escapeHtml(title)}</h1>${content}</body></html>`,
  );
}

function sendJson(res, status, body, headers = {}) {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...headers });
  res.end(JSON.stringify(body));
}

function redirect(res, location) {
  res.writeHead(302, { location, "cache-control": "no-store" });
  res.end();
}

function withParams(uri, params) {
  const url = new URL(uri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  return url.href;
}

const MAX_BODY = 64 * 1024;
async function readForm(req) {
  let size = 0;
  const chunks = [];
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) throw new Error("body too large");
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  return (req.headers["content-type"] ?? "").startsWith("application/json")
    ? JSON.parse(text || "{}")
    : Object.fromEntries(new URLSearchParams(text));
}

/** GET <issuer>/authorization: check the request as Access would, then show the sign-in page. */
function authorize(res, query) {
  const clientId = query.get("client_id");
  const redirectUri = query.get("redirect_uri");
  if (clientId !== emulator.clientId)
    return sendHtml(res, 400, "Unknown application", "<p>This client_id is not the emulated Access app's.</p>");
  if (!registeredRedirectUris().includes(redirectUri)) {
    return sendHtml(
      res,
      400,
      "Redirect URL not allowed",
      `<p>Allowed: ${registeredRedirectUris().map(escapeHtml).join(", ")}</p>`,
    );
  }
  // From here on, errors go back to the (registered) redirect URI, as OAuth prescribes.
  const state = query.get("state") ?? undefined;
  const back = (error, description) =>
    redirect(res, withParams(redirectUri, { error, error_description: description, state }));
  if (query.get("response_type") !== "code") return back("unsupported_response_type", "only the code flow is enabled");
  const scope = (query.get("scope") ?? "").split(" ").filter(Boolean);
  if (!scope.includes("openid")) return back("invalid_scope", "openid is required");
  const codeChallenge = query.get("code_challenge");
  if (!codeChallenge || query.get("code_challenge_method") !== "S256")
    return back("invalid_request", "PKCE with S256 is required");

  sweep(pending);
  const id = random();
  pending.set(id, {
    redirectUri,
    state,
    nonce: query.get("nonce") ?? undefined,
    codeChallenge,
    scope,
    expiresAt: now() + 600,
  });
  sendHtml(
    res,
    200,
    "Sign in with Cloudflare Access",
    `<p class="muted">Local Access emulator: any email signs in, nothing is checked.</p>
<form method="post">
<input type="hidden" name="request" value="${escapeHtml(id)}">
<label>Email<br><input type="email" name="email" value="${escapeHtml(defaultEmail)}" required autofocus></label>
${scope.includes("groups") ? `<label>Groups (comma-separated)<br><input type="text" name="groups" value="${escapeHtml(defaultGroups.join(", "))}"></label>\n` : ""}<button type="submit" name="action" value="sign-in">Sign in</button>
<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
</form>`,
  );
}

/** POST <issuer>/authorization: the sign-in form. Issues a single-use code bound to the request. */
async function signIn(req, res) {
  const form = await readForm(req);
  const request = pending.get(form.request);
  if (!request || request.expiresAt < now())
    return sendHtml(res, 400, "Sign-in expired", "<p>Start again from the app.</p>");
  pending.delete(form.request);
  if (form.action === "cancel") {
    return redirect(
      res,
      withParams(request.redirectUri, {
        error: "access_denied",
        error_description: "the user cancelled",
        state: request.state,
      }),
    );
  }
  const email = String(form.email ?? "")
    .trim()
    .toLowerCase();
  if (email.length > 254 || !EMAIL_PATTERN.test(email))
    return sendHtml(res, 400, "Invalid email", "<p>Go back and enter an email address.</p>");
  const groups = parseGroups(form.groups ?? "");
  if (!groups) return sendHtml(res, 400, "Invalid groups", "<p>Go back and enter group names, comma-separated.</p>");
  sweep(codes);
  const code = remember(random());
  codes.set(code, { request, email, sub: subFor(email), groups, expiresAt: now() + 300 });
  stats.signIns++;
  redirect(res, withParams(request.redirectUri, { code, state: request.state }));
}

function clientAuthenticated(req, form) {
  let id = form.client_id;
  let secret = form.client_secret;
  const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? "");
  if (basic) {
    const decoded = Buffer.from(basic[1], "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    id = decodeURIComponent(decoded.slice(0, colon));
    secret = decodeURIComponent(decoded.slice(colon + 1));
  }
  return id === emulator.clientId && secret !== undefined && sameSecret(secret, emulator.clientSecret);
}

/** POST <issuer>/token: authorization_code (with PKCE) and refresh_token grants. */
async function token(req, res) {
  const form = await readForm(req);
  if (!clientAuthenticated(req, form)) return sendJson(res, 401, { error: "invalid_client" });

  if (form.grant_type === "authorization_code") {
    const entry = codes.get(form.code);
    codes.delete(form.code); // single use, whatever happens next
    if (!entry || entry.expiresAt < now())
      return sendJson(res, 400, { error: "invalid_grant", error_description: "unknown or expired code" });
    if (form.redirect_uri !== entry.request.redirectUri)
      return sendJson(res, 400, { error: "invalid_grant", error_description: "redirect_uri mismatch" });
    const challenge = createHash("sha256")
      .update(String(form.code_verifier ?? ""))
      .digest("base64url");
    if (!sameSecret(challenge, entry.request.codeChallenge))
      return sendJson(res, 400, { error: "invalid_grant", error_description: "PKCE verification failed" });
    stats.codeExchanges++;
    return sendJson(
      res,
      200,
      issueTokens({
        email: entry.email,
        sub: entry.sub,
        scope: entry.request.scope,
        nonce: entry.request.nonce,
        groups: entry.groups,
      }),
    );
  }

  if (form.grant_type === "refresh_token") {
    const entry = refreshTokens.get(form.refresh_token);
    const fault = faults.refresh;
    faults.refresh = undefined;
    if (fault === "server_error") {
      stats.refreshFailures++;
      return sendJson(res, 503, { error: "temporarily_unavailable" });
    }
    if (!entry || fault === "invalid_grant") {
      // As when the user is removed from the Access policy or the session was revoked.
      refreshTokens.delete(form.refresh_token);
      stats.refreshFailures++;
      return sendJson(res, 400, { error: "invalid_grant", error_description: "the refresh token is not valid" });
    }
    // Rotate: the old refresh token stops working once a new one is issued.
    refreshTokens.delete(form.refresh_token);
    stats.refreshes++;
    return sendJson(
      res,
      200,
      issueTokens({ email: entry.email, sub: entry.sub, scope: entry.scope, groups: entry.groups }),
    );
  }
  sendJson(res, 400, { error: "unsupported_grant_type" });
}

function userinfo(req, res) {
  const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
  const entry = match && accessTokens.get(match[1]);
  if (!entry || entry.expiresAt < now()) {
    return sendJson(res, 401, { error: "invalid_token" }, { "www-authenticate": 'Bearer error="invalid_token"' });
  }
  sendJson(res, 200, { sub: entry.sub, email: entry.email, email_verified: true });
}

function discovery(res) {
  sendJson(res, 200, {
    issuer,
    authorization_endpoint: `${issuer}/authorization`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    userinfo_endpoint: `${issuer}/userinfo`,
    response_types_supported: ["code"],
    grant_types_supported: ["authorization_code", "refresh_token"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256"],
    token_endpoint_auth_methods_supported: ["client_secret_post", "client_secret_basic"],
    code_challenge_methods_supported: ["S256"],
    scopes_supported: ["openid", "email", "profile", "groups", "offline_access"],
    claims_supported: ["iss", "sub", "aud", "exp", "iat", "nbf", "nonce", "email", "groups"],
  });
}

/** Test-only controls; served only with --test-hooks. */
async function testHook(req, res, name) {
  if (name === "faults" && req.method === "POST") {
    const body = await readForm(req);
    if (body.idToken !== undefined && !ID_TOKEN_FAULTS.has(body.idToken))
      return sendJson(res, 400, { error: `unknown idToken fault; one of ${[...ID_TOKEN_FAULTS]}` });
    if (body.refresh !== undefined && !REFRESH_FAULTS.has(body.refresh))
      return sendJson(res, 400, { error: `unknown refresh fault; one of ${[...REFRESH_FAULTS]}` });
    if (body.idToken !== undefined) faults.idToken = body.idToken;
    if (body.refresh !== undefined) faults.refresh = body.refresh;
    return sendJson(res, 200, faults);
  }
  if (name === "revoke" && req.method === "POST") {
    // As when an admin revokes the user's sessions in Zero Trust: every refresh token of theirs dies.
    const email = String((await readForm(req)).email ?? "").toLowerCase();
    let revoked = 0;
    for (const [token, entry] of refreshTokens) {
      if (entry.email === email) revoked += Number(refreshTokens.delete(token));
    }
    return sendJson(res, 200, { revoked });
  }
  if (name === "stats" && req.method === "GET") return sendJson(res, 200, stats);
  if (name === "issued" && req.method === "GET") return sendJson(res, 200, { secrets: issuedSecrets });
  sendJson(res, 404, { error: "no such test hook" });
}

const allowedHosts = () => new Set([`127.0.0.1:${emulator.port}`, `localhost:${emulator.port}`]);

const server = http.createServer(async (req, res) => {
  try {
    // A web page that rebinds its own hostname to 127.0.0.1 must not get answers from here.
    if (!allowedHosts().has(req.headers.host ?? "")) return sendJson(res, 421, { error: "misdirected request" });
    const url = new URL(req.url, `http://${req.headers.host}`);
    const issuerPath = issuerPathFor(emulator.clientId);
    if (testHooks && url.pathname.startsWith("/__emulator/"))
      return await testHook(req, res, url.pathname.slice("/__emulator/".length));
    if (!url.pathname.startsWith(`${issuerPath}/`)) return sendJson(res, 404, { error: "not found" });
    const endpoint = url.pathname.slice(issuerPath.length);
    if (endpoint === "/.well-known/openid-configuration" && req.method === "GET") return discovery(res);
    if (endpoint === "/jwks" && req.method === "GET") return sendJson(res, 200, { keys: [jwk] });
    if (endpoint === "/authorization" && req.method === "GET") return authorize(res, url.searchParams);
    if (endpoint === "/authorization" && req.method === "POST") return await signIn(req, res);
    if (endpoint === "/token" && req.method === "POST") return await token(req, res);
    if (endpoint === "/userinfo" && (req.method === "GET" || req.method === "POST")) return userinfo(req, res);
    sendJson(res, 404, { error: "not found" });
  } catch (error) {
    if (!res.headersSent) sendJson(res, 400, { error: "invalid_request", error_description: error.message });
    else res.destroy();
  }
});

async function listen(port, on = server) {
  await new Promise((resolve, reject) => on.once("error", reject).listen(port, "127.0.0.1", resolve));
  return on.address().port;
}

// ---------------------------------------------------------------------------------------------
// The Worker's front door, on --port. `wrangler dev` builds the Worker's request.url, Host header
// included, from what the client sends: an MF-Original-URL header (or X-Forwarded-Proto) replaces
// it, and any web page can send those, one that rebinds its own hostname to 127.0.0.1 included.
// So this proxy checks what the client really addressed, and forwards only requests for this port
// on loopback to wrangler dev, which listens on a private port. It adds a per-run key that the
// Worker requires (DEV_PROXY_KEY): a page that finds wrangler's own port gets nothing there either.

const devProxyKey = randomBytes(32).toString("hex");
const DEV_PROXY_HEADER = "dev-proxy-key";
let wranglerPort = 0;

// Headers that describe one hop of a connection, not the message; never forwarded.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
]);
// Headers through which a client could name another host or scheme than the one it connected to.
const ADDRESS_HEADERS = new Set([
  "forwarded",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-forwarded-port",
  "x-forwarded-server",
  "x-forwarded-scheme",
  "x-original-url",
  "x-rewrite-url",
  "x-original-host",
  "x-host",
]);

/** Raw headers (name, value, …) without the hop-by-hop ones and `drop`. */
function forwardHeaders(rawHeaders, drop = []) {
  const headers = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    if (!HOP_BY_HOP.has(name) && !drop.includes(name)) headers.push(rawHeaders[i], rawHeaders[i + 1]);
  }
  return headers;
}

function isLoopbackOrigin(origin) {
  try {
    const url = new URL(origin);
    return url.origin === origin && ["http:", "https:"].includes(url.protocol) && LOOPBACK_HOSTS.has(url.hostname);
  } catch {
    return false;
  }
}

/** Why a request must not reach the Worker, as [status, error], or undefined. */
function refusal(req) {
  const names = req.rawHeaders.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase());
  const addressed = [...LOOPBACK_HOSTS].map((host) => `${host}:${workerPort}`);
  // Exactly one Host, one of ours (hostnames are case-insensitive); an origin-form target ("/…"),
  // since an absolute-form one ("http://host/…") names a host of its own.
  if (names.filter((name) => name === "host").length !== 1 || !addressed.includes(req.headers.host.toLowerCase()))
    return [421, "misdirected_request"];
  if (!req.url.startsWith("/") || req.url.startsWith("//")) return [421, "misdirected_request"];
  if (names.some((name) => name.startsWith("mf-") || ADDRESS_HEADERS.has(name))) return [421, "misdirected_request"];
  // A browser-based client on loopback (MCP Inspector) is welcome; a web page elsewhere is not.
  // `null` is what a browser sends for a form posted from a no-referrer page (the consent page).
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== "null" && !isLoopbackOrigin(origin)) return [403, "forbidden_origin"];
  return undefined;
}

const front = http.createServer((req, res) => {
  const refused = refusal(req);
  if (refused) {
    const [status, error] = refused;
    return sendJson(res, status, { error, error_description: "this local server answers only requests for itself" });
  }
  const headers = [...forwardHeaders(req.rawHeaders, [DEV_PROXY_HEADER]), DEV_PROXY_HEADER, devProxyKey];
  const upstream = http.request({ host: "127.0.0.1", port: wranglerPort, method: req.method, path: req.url, headers });
  upstream.on("response", (answer) => {
    res.writeHead(answer.statusCode, answer.statusMessage, forwardHeaders(answer.rawHeaders));
    // Send headers now: an SSE client waits for them before any event arrives.
    res.flushHeaders();
    pipeline(answer, res, () => {}); // chunk by chunk, nothing buffered; an error ends both sides
  });
  upstream.on("error", (error) => {
    if (res.headersSent) return res.destroy();
    sendJson(res, 502, {
      error: "worker_unreachable",
      error_description: `${error.code ?? error.message}; is wrangler still starting?`,
    });
  });
  // A client that hangs up (e.g. closes an SSE stream) must close the Worker's side too.
  res.on("close", () => res.writableFinished || upstream.destroy());
  req.pipe(upstream);
});

/** A free loopback port, found by the OS (a tiny race until wrangler binds it; acceptable). */
async function freePort() {
  const probe = http.createServer();
  const port = await listen(0, probe);
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

try {
  await listen(workerPort, front);
} catch (error) {
  fail(error.code === "EADDRINUSE" ? `port ${workerPort} for the Worker is in use (try --port)` : error.message, 1);
}
wranglerPort = await freePort();

if (emulator) {
  try {
    emulator.port = await listen(emulator.port);
  } catch (error) {
    // A fresh .dev.vars can take any free port; an existing one names its port.
    if (error.code !== "EADDRINUSE") fail(error.message, 1);
    if (!createDevVars || accessPortOption !== undefined) {
      fail(
        `port ${emulator.port} for the Access emulator is in use${createDevVars ? " (try another --access-port)" : " (it is the one in .dev.vars: free it, or delete .dev.vars)"}`,
        1,
      );
    }
    emulator.port = await listen(0);
  }
  issuer = `http://${emulator.host === "localhost" ? "localhost" : "127.0.0.1"}:${emulator.port}${issuerPathFor(emulator.clientId)}`;
  if (createDevVars) {
    try {
      // `wx`: never overwrite a file that appeared meanwhile. 0600: it holds secrets, if only local ones.
      writeFileSync(devVarsPath, devVarsFor(emulator), { flag: "wx", mode: 0o600 });
    } catch (error) {
      fail(`could not write .dev.vars: ${error.message}`, 1);
    }
    console.log("dev: wrote .dev.vars for the local Access emulator (mode 0600; it is git-ignored)");
  }
}

// ---------------------------------------------------------------------------------------------
// wrangler dev, in its own process group.

const localWrangler = path.join(process.cwd(), "node_modules", "wrangler", "bin", "wrangler.js");
const [command, prefix] = existsSync(localWrangler)
  ? [process.execPath, [localWrangler]]
  : ["npx", ["--yes", "wrangler"]];
const wranglerArgs = [
  ...prefix,
  "dev",
  "--ip",
  "127.0.0.1",
  "--port",
  String(wranglerPort),
  // wrangler shows it as "(hidden)".
  "--var",
  `DEV_PROXY_KEY:${devProxyKey}`,
  // Its hotkeys and "Ready on" URL point at the private port, which only the front door may use.
  "--show-interactive-dev-session=false",
  ...wranglerExtra,
];
const isWindows = process.platform === "win32";
// On POSIX, wrangler gets its own process group so that one signal reaches it and workerd/esbuild.
// Its stdin is not the terminal: Ctrl-C reaches this script, which then stops the whole group.
const child = spawn(command, wranglerArgs, {
  stdio: ["ignore", "inherit", "inherit"],
  detached: !isWindows,
  shell: isWindows && command === "npx",
  env: process.stdout.isTTY ? { FORCE_COLOR: "1", ...process.env } : process.env,
});

let childAlive = true;
function killWrangler(signal) {
  try {
    if (!isWindows) process.kill(-child.pid, signal);
    else if (childAlive) spawnSync("taskkill", ["/pid", String(child.pid), "/T", "/F"], { stdio: "ignore" });
  } catch {} // the group is already gone
}
// Last line of defence: whatever way this process ends, the wrangler group goes with it.
process.on("exit", () => killWrangler("SIGKILL"));

let stopping = false;
function closeServer() {
  for (const each of [front, server]) {
    each.close();
    each.closeAllConnections();
  }
}
function stop(code) {
  if (stopping) return process.exit(130); // second Ctrl-C: give up waiting ('exit' kills the group)
  stopping = true;
  process.exitCode = code;
  closeServer();
  killWrangler("SIGTERM");
  setTimeout(() => process.exit(), 5000).unref();
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => stop(0));

child.on("exit", (code, signal) => {
  childAlive = false;
  killWrangler("SIGKILL"); // workerd may outlive wrangler in its group
  closeServer();
  if (stopping) process.exit();
  console.error(`dev: wrangler exited (${signal ?? `code ${code}`})`);
  process.exit(code ?? 1);
});
child.on("error", (error) => fail(`could not start wrangler: ${error.message}`, 1));

// Wait (at most 60 s) until the Worker answers before saying it is ready.
const workerOrigin = `http://localhost:${workerPort}`;
const deadline = Date.now() + 60_000;
for (;;) {
  if (stopping || !childAlive) break;
  const status = await fetch(`http://127.0.0.1:${workerPort}/.well-known/oauth-authorization-server`, {
    signal: AbortSignal.timeout(5000),
  }).then(
    (answer) => answer.status,
    () => 0,
  );
  // 502 is the front door saying that wrangler is not listening yet.
  if (status !== 0 && status !== 502) break;
  if (Date.now() > deadline) {
    console.error("dev: the Worker did not answer within 60 s; stopping");
    stop(1);
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
}

if (!stopping && childAlive) {
  const signInLine = emulator
    ? `Sign-in: local Access for SaaS emulator at ${issuer}
    (any email works; its access tokens last ${tokenTtl} s, change with --token-ttl)`
    : "Sign-in: the Access for SaaS app named in .dev.vars (the local emulator is not running)";
  console.log(`
  MCP server: ${workerOrigin}/mcp
  ${signInLine}
  Connect MCP Inspector: npx @modelcontextprotocol/inspector
    Transport "Streamable HTTP", URL ${workerOrigin}/mcp, then Connect: Inspector registers
    itself, shows this server's consent page, and you sign in. Use Chrome or Firefox (the sign-in
    cookies are "Secure", which those accept on localhost).
  Press Ctrl-C to stop.
`);
}
