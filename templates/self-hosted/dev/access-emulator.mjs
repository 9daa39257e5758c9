#!/usr/bin/env node
// Local stand-in for Cloudflare Access, used by `npm run dev`.
//
// In production, Access sits in front of the Worker: it signs the user in and adds a signed
// `Cf-Access-Jwt-Assertion` header to every request, and the Worker checks that JWT against the
// team's public keys at `<TEAM_DOMAIN>/cdn-cgi/access/certs`. This script plays that part on
// loopback so the Worker's own, unchanged validation code runs locally:
//   - it serves a JWKS at http://127.0.0.1:<port>/cdn-cgi/access/certs (the dev TEAM_DOMAIN);
//   - it proxies every other request to `wrangler dev`, adding a JWT for the dev identity;
//   - it answers only MCP clients on this machine: a web page open in the developer's browser
//     (another localhost port, a DNS-rebinding host) gets a 403 and nothing is signed for it;
//   - it publishes Managed OAuth's discovery metadata, and gives Access's 401 to a client that
//     asks to be treated as signed out, so `npm run doctor -- --url <this URL>` can check them.
// No dependencies: Node >= 22.12 only.

import { spawn, spawnSync } from "node:child_process";
import { createHash, generateKeyPairSync, randomBytes, sign, verify } from "node:crypto";
import { existsSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { createInterface } from "node:readline";
import { pipeline } from "node:stream";
import { parseArgs } from "node:util";

const HELP = `Usage: node dev/access-emulator.mjs [options] [-- <wrangler dev args>]

Runs the Worker with \`wrangler dev\` behind a local Cloudflare Access emulator.

Options:
  --port <n>      port to listen on (env PORT, default 8787)
  --email <addr>  dev identity the emulator signs in (env DEV_EMAIL, default dev@example.com)
  --groups <list> the dev identity's Access groups, comma-separated (env DEV_GROUPS, default none)
  -h, --help      show this help

Arguments after \`--\` are passed to \`wrangler dev\`.`;

// Everything after a bare `--` belongs to wrangler; only the part before it is ours.
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
      email: { type: "string" },
      groups: { type: "string" },
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

const portText = options.port ?? process.env.PORT ?? "8787";
const requestedPort = Number(portText);
if (!/^\d+$/.test(portText) || requestedPort > 65535) fail(`invalid port: ${portText}`);

const email = (options.email ?? process.env.DEV_EMAIL ?? "dev@example.com").trim().toLowerCase();
if (email.length > 254 || !/^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>".]+$/.test(email)) {
  fail(`invalid email for the dev identity: ${JSON.stringify(email)}`);
}

// Group names as an IdP would send them; the Worker looks them up at get-identity, as from Access.
const groups = (options.groups ?? process.env.DEV_GROUPS ?? "")
  .split(",")
  .map((group) => group.trim())
  .filter(Boolean);
for (const group of groups) {
  if (group.length > 256 || [...group].some((char) => char < " " || char === "\u007f"))
    fail(`invalid group name: ${JSON.stringify(group)}`);
}

// A fresh signing key per run, like a key Access would publish. Nothing is written to disk.
const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const kid = randomBytes(16).toString("hex");
const jwk = { ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" };
// Real AUD tags are 64 hex characters; the Worker only needs this one to match its POLICY_AUD.
const aud = randomBytes(32).toString("hex");
// Access gives each user a stable UUID `sub`; derive one from the email (RFC 9562 version 8).
const subBytes = createHash("sha256").update(email).digest().subarray(0, 16);
subBytes[6] = (subBytes[6] & 0x0f) | 0x80;
subBytes[8] = (subBytes[8] & 0x3f) | 0x80;
const sub = subBytes.toString("hex").replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-");

const b64url = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");

// Access reuses one token for the length of a session; mint one and renew it before it expires.
let token = { jwt: "", exp: 0 };
function currentJwt(issuer) {
  const now = Math.floor(Date.now() / 1000);
  if (token.exp - now > 600) return token.jwt;
  const claims = {
    aud: [aud],
    email,
    sub,
    iss: issuer,
    type: "app",
    iat: now,
    nbf: now,
    exp: now + 3600,
    identity_nonce: randomBytes(12).toString("base64url"),
    country: "XX",
  };
  const input = `${b64url({ alg: "RS256", kid, typ: "JWT" })}.${b64url(claims)}`;
  const signature = sign("sha256", Buffer.from(input), privateKey).toString("base64url");
  token = { jwt: `${input}.${signature}`, exp: claims.exp };
  return token.jwt;
}

/** Whether `jwt` is a token this emulator signed that has not expired. */
function issuedByUs(jwt) {
  const [header, payload, signature] = jwt.split(".");
  if (
    !signature ||
    !verify("sha256", Buffer.from(`${header}.${payload}`), publicKey, Buffer.from(signature, "base64url"))
  ) {
    return false;
  }
  const { exp } = JSON.parse(Buffer.from(payload, "base64url").toString());
  return exp > Date.now() / 1000;
}

/** The dev user as get-identity describes a user: the fields a Worker reads, groups as Access lists them. */
function identity() {
  return {
    email,
    user_uuid: sub,
    idp: { id: "dev", type: "onetimepin" },
    groups: groups.map((name) => ({
      id: createHash("sha256").update(name).digest("hex").slice(0, 32),
      name,
      email: "",
    })),
  };
}

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
// Headers only Access may set: anything a client sends under these names is dropped.
const ACCESS_HEADERS = new Set(["cf-access-jwt-assertion", "cf-access-token"]);

function forwardHeaders(rawHeaders, drop) {
  const headers = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!drop.has(rawHeaders[i].toLowerCase())) headers.push(rawHeaders[i], rawHeaders[i + 1]);
  }
  return headers;
}

let publicPort = requestedPort;
let workerPort = 0;
const teamDomain = () => `http://127.0.0.1:${publicPort}`;

// Browsers let any web page send requests to loopback ports, and this proxy signs whatever it
// forwards as the dev user: a page that can make it forward a request is acting as that user.
// A real MCP client sends no Origin (a CLI, a desktop app) or is MCP Inspector's web page, so
// every other origin is refused, port and scheme included (a Storybook on localhost:6006 is not
// a client). The Host must name this emulator, or a DNS-rebinding page (evil.example resolved to
// 127.0.0.1) could pass as same-origin.
const INSPECTOR_ORIGINS = ["http://localhost:6274", "http://127.0.0.1:6274"];
const allowedHosts = () => new Set([`127.0.0.1:${publicPort}`, `localhost:${publicPort}`]);
const allowedOrigins = () => new Set([...[...allowedHosts()].map((host) => `http://${host}`), ...INSPECTOR_ORIGINS]);
// Headers that tell a server behind a proxy which URL the client used. No MCP client sends them,
// and wrangler dev or miniflare (`MF-*`) may believe them, so a request carrying one is refused.
const FORWARDING_HEADERS = new Set([
  "forwarded",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-forwarded-port",
  "x-forwarded-for",
  "x-original-url",
  "x-original-host",
  "x-rewrite-url",
]);

/** Why this request is not from an MCP client on this machine; undefined when it is one. */
function refusalReason(req) {
  // An absolute-form target (`POST http://other.example/mcp`) names a host of its own.
  if (!req.url.startsWith("/")) return "the request target is not a path";
  // From the raw headers: Node keeps only the first of two Host headers, but both would be forwarded.
  const hosts = [];
  const origins = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase();
    if (FORWARDING_HEADERS.has(name) || name.startsWith("mf-")) return `a ${name} header`;
    if (name === "host") hosts.push(req.rawHeaders[i + 1].toLowerCase());
    if (name === "origin") origins.push(req.rawHeaders[i + 1]);
  }
  if (hosts.length !== 1 || !allowedHosts().has(hosts[0])) {
    return `Host ${JSON.stringify(hosts.join(", "))} is not this emulator`;
  }
  if (origins.length > 1 || (origins.length === 1 && !allowedOrigins().has(origins[0]))) {
    return `Origin ${JSON.stringify(origins.join(", "))} is not an MCP client this emulator serves`;
  }
  // A page's no-cors GET (an <img>, a <script>, a followed link) carries no Origin, but browsers
  // mark where it came from.
  const site = req.headers["sec-fetch-site"];
  if (origins.length === 0 && site !== undefined && site !== "same-origin" && site !== "none") {
    return `a ${site} request from a web page`;
  }
  return undefined;
}

// Managed OAuth's discovery, as Access publishes it for an app (the team is this emulator here).
// Only discovery: every client is signed in as the dev identity, so none needs the endpoints.
const PROTECTED_RESOURCE_PATH = "/.well-known/cloudflare-access-protected-resource";
function authorizationServerMetadata() {
  const team = teamDomain();
  return {
    issuer: team,
    authorization_endpoint: `${team}/cdn-cgi/access/oauth/authorization`,
    token_endpoint: `${team}/cdn-cgi/access/oauth/token`,
    registration_endpoint: `${team}/cdn-cgi/access/oauth/registration`,
    response_types_supported: ["code"],
    grant_types_supported: ["authorization_code", "refresh_token"],
    code_challenge_methods_supported: ["S256"],
    token_endpoint_auth_methods_supported: ["none"],
  };
}

// Access answers an MCP client with no session with 401 and a pointer to the metadata. Here every
// client has the dev identity's session, so one that wants to see that answer (`npm run doctor`)
// says so with this header.
const SIGNED_OUT_HEADER = "x-access-emulator-session";
function challenge(res, pathname) {
  // The path goes into a quoted header parameter: anything but plain path characters is left out.
  const path = /^[\w\-./~%]*$/.test(pathname) ? pathname : "/";
  const metadata = `${teamDomain()}${PROTECTED_RESOURCE_PATH}${path}`;
  res.writeHead(401, {
    "content-type": "application/json",
    "www-authenticate": `Bearer realm="OAuth", error="invalid_token", resource_metadata="${metadata}"`,
  });
  res.end(JSON.stringify({ error: "invalid_token", resource_metadata: metadata }));
}

function sendJson(res, value) {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(value));
}

const server = http.createServer((req, res) => {
  const refusal = refusalReason(req);
  if (refusal) {
    // Logged for the developer; JSON.stringify keeps a hostile header from writing escape codes.
    console.warn(`dev: refused ${req.method} ${JSON.stringify(req.url)}: ${refusal}`);
    res.writeHead(403, { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" });
    res.end(`Refused by the local Access emulator: ${refusal}. It answers only MCP clients on this machine.\n`);
    return;
  }
  const pathname = req.url.split("?")[0];
  if (pathname === "/cdn-cgi/access/certs") {
    return sendJson(res, { keys: [jwk], public_cert: { kid, cert: "" }, public_certs: [] });
  }
  if (pathname === "/.well-known/oauth-authorization-server") return sendJson(res, authorizationServerMetadata());
  if (pathname.startsWith(`${PROTECTED_RESOURCE_PATH}/`)) {
    const resource = pathname.slice(PROTECTED_RESOURCE_PATH.length);
    return sendJson(res, { resource: `${teamDomain()}${resource}`, authorization_servers: [teamDomain()] });
  }
  if (req.headers[SIGNED_OUT_HEADER] === "signed-out") return challenge(res, pathname);
  if (pathname === "/cdn-cgi/access/get-identity") {
    // Access answers with the identity behind the CF_Authorization token it is sent, or 401.
    const sent = /(?:^|;\s*)CF_Authorization=([^;]+)/.exec(req.headers.cookie ?? "")?.[1];
    if (!sent || !issuedByUs(sent)) {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ err: "no valid CF_Authorization token" }));
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(identity()));
    return;
  }
  // Everything else goes to the Worker with the dev user's JWT. CORS preflights go through without
  // one, as Access does when it lets OPTIONS through: the Worker must answer them without auth.
  // The Host header is kept, so the Worker sees the URL the client used, as behind Access.
  const headers = forwardHeaders(req.rawHeaders, new Set([...HOP_BY_HOP, ...ACCESS_HEADERS]));
  if (req.method !== "OPTIONS") headers.push("Cf-Access-Jwt-Assertion", currentJwt(teamDomain()));
  const upstream = http.request({ host: "127.0.0.1", port: workerPort, method: req.method, path: req.url, headers });
  upstream.on("response", (answer) => {
    res.writeHead(answer.statusCode, answer.statusMessage, forwardHeaders(answer.rawHeaders, HOP_BY_HOP));
    // Send headers now: an SSE client waits for them before any event arrives.
    res.flushHeaders();
    pipeline(answer, res, () => {}); // chunk by chunk, nothing buffered; an error ends both sides
  });
  upstream.on("error", (error) => {
    if (res.headersSent) return res.destroy();
    res.writeHead(502, { "content-type": "text/plain" });
    res.end(`Worker not reachable (${error.code ?? error.message}); is wrangler still starting?\n`);
  });
  // A client that hangs up (e.g. closes an SSE stream) must close the Worker's side too.
  res.on("close", () => res.writableFinished || upstream.destroy());
  req.pipe(upstream);
});

// Ask the OS for a free loopback port for wrangler. (Tiny race until wrangler binds it; acceptable.)
async function freePort() {
  const probe = http.createServer();
  await new Promise((resolve, reject) => probe.once("error", reject).listen(0, "127.0.0.1", resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

try {
  await new Promise((resolve, reject) => server.once("error", reject).listen(requestedPort, "127.0.0.1", resolve));
} catch (error) {
  fail(error.code === "EADDRINUSE" ? `port ${requestedPort} is in use (try --port)` : error.message, 1);
}
publicPort = server.address().port;
workerPort = await freePort();

// Prefer the project's own wrangler, run by this Node directly (no shell shims, works on Windows).
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
  String(workerPort),
  "--var",
  `TEAM_DOMAIN:${teamDomain()}`,
  "--var",
  `POLICY_AUD:${aud}`,
  // Its hotkeys and "Ready on" URL point at the internal port, which bypasses the emulator.
  "--show-interactive-dev-session=false",
  ...wranglerExtra,
];
const isWindows = process.platform === "win32";
// On POSIX, wrangler gets its own process group so that one signal reaches it and workerd/esbuild.
// Its stdin is not the terminal: Ctrl-C reaches this script, which then stops the whole group.
const child = spawn(command, wranglerArgs, {
  stdio: ["ignore", "pipe", "pipe"],
  detached: !isWindows,
  shell: isWindows && command === "npx",
  env: process.stdout.isTTY ? { FORCE_COLOR: "1", ...process.env } : process.env,
});
// Pass wrangler's output through, flagging its own URL: connecting there skips the emulator (401).
const workerOrigin = `http://127.0.0.1:${workerPort}`;
for (const [from, to] of [
  [child.stdout, process.stdout],
  [child.stderr, process.stderr],
]) {
  createInterface({ input: from, crlfDelay: Infinity }).on("line", (line) => {
    to.write(`${line.replaceAll(workerOrigin, `${workerOrigin} (internal, no Access: use ${teamDomain()})`)}\n`);
  });
}

// Signal the whole group: killing wrangler alone (SIGKILL) orphans its inner node, esbuild, workerd.
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
function stop(code) {
  if (stopping) return process.exit(130); // second Ctrl-C: give up waiting ('exit' kills the group)
  stopping = true;
  process.exitCode = code;
  server.close();
  server.closeAllConnections();
  killWrangler("SIGTERM");
  // Give wrangler a few seconds to shut workerd down, then force it.
  setTimeout(() => process.exit(), 5000).unref();
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => stop(0));

child.on("exit", (code, signal) => {
  childAlive = false;
  killWrangler("SIGKILL"); // workerd may outlive wrangler in its group
  server.close();
  server.closeAllConnections();
  if (stopping) process.exit();
  console.error(`dev: wrangler exited (${signal ?? `code ${code}`})`);
  process.exit(code ?? 1);
});
child.on("error", (error) => fail(`could not start wrangler: ${error.message}`, 1));

// Wait (at most 60 s) until the Worker answers anything before telling the user it is ready.
const deadline = Date.now() + 60_000;
for (;;) {
  if (stopping || !childAlive) break;
  try {
    await fetch(`http://127.0.0.1:${workerPort}/`, {
      headers: { "Cf-Access-Jwt-Assertion": currentJwt(teamDomain()) },
      signal: AbortSignal.timeout(5000),
    });
    break;
  } catch {
    if (Date.now() > deadline) {
      console.error("dev: the Worker did not answer within 60 s; stopping");
      stop(1);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

if (!stopping && childAlive) {
  const url = `${teamDomain()}/mcp`;
  console.log(`
  MCP server (behind the local Access emulator): ${url}
  Signed in as ${email}${groups.length ? `, in the groups ${groups.join(", ")}` : ""}  (change with --email and --groups)
  Connect MCP Inspector: npx @modelcontextprotocol/inspector
    Transport "Streamable HTTP", URL ${url}, no auth settings needed.
  Press Ctrl-C to stop.
`);
}
