// A generated Worker's cold start, measured inside workerd (issue 16): the CPU of evaluating its
// modules, and the CPU of the first authenticated `whoami` that follows in the same isolate.
//
//   node scripts/startup.mjs <project-dir>... [--runs N] [--era 2025-11-25|2026-07-28] [--interval µs] [--profiles DIR] [--no-minify]
//
// Each project is bundled once (`wrangler deploy --dry-run --outdir`). Each run then starts a new
// workerd through Miniflare (the project's own, as `wrangler check startup` does), with a small
// entry module in front of the bundle: its first request imports the bundle (startup, profiled as
// `wrangler check startup` profiles it), and the next one is the first `whoami`, handed to the
// Worker's own fetch handler (profiled too). CPU is the profile's non-idle sample time, sampled
// every 100 µs (V8's default of 1 ms, which `wrangler check startup` keeps, can put a whole
// millisecond on an empty Worker); wall time is the dispatch round trip as Node sees it. Runs are
// interleaved across projects. --no-minify and --profiles are for reading the profiles.
//
// Offline: Access is played by Node through Miniflare's outbound service (a key set, a token
// endpoint), and a project with no `mcp-access.json` is taken as an empty Worker (the floor),
// whose first request is a plain GET. saas projects sign in once, in a setup isolate, through the
// Worker's real OAuth flow; the cold isolates find the grant in the same persisted KV.
import { spawnSync } from "node:child_process";
import { createHash, createSign, generateKeyPairSync, randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parse } from "jsonc-parser";

const ORIGIN = "https://mcp.example.com";
const TEAM = "https://acme.cloudflareaccess.com";
const AUDIENCE = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
const CLIENT_ID = "bench-client";
const OIDC = `${TEAM}/cdn-cgi/access/sso/oidc/${CLIENT_ID}`;
const REDIRECT_URI = "http://127.0.0.1:33418/callback";
const USER = { email: "ada@example.com", sub: "2f8c0a5e-2b0c-4c1e-9b7a-5d0f3e6a1c42" };
const ENTRY = "cold-start-entry.mjs";

// The entry's first request evaluates the bundle; every later one goes to the Worker itself.
const ENTRY_SOURCE = `let worker;
export default {
  async fetch(request, env, ctx) {
    if (worker === undefined) {
      worker = (await import("./index.js")).default;
      return new Response("started");
    }
    return worker.fetch(request, env, ctx);
  },
};
`;

const b64url = (value) => Buffer.from(value).toString("base64url");

/** Plays Cloudflare Access: one RSA key, its JWKS, and tokens signed with it. */
function fakeAccess() {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = "bench-key";
  const jwks = { keys: [{ ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" }] };
  const sign = (claims) => {
    const now = Math.floor(Date.now() / 1000);
    const input = `${b64url(JSON.stringify({ alg: "RS256", kid, typ: "JWT" }))}.${b64url(JSON.stringify({ iat: now, exp: now + 3600, ...claims }))}`;
    return `${input}.${createSign("RSA-SHA256").update(input).sign(privateKey).toString("base64url")}`;
  };
  let pending; // the sign-in that Access's token endpoint is waiting to finish
  const outbound = async (request) => {
    const url = request.url;
    if (url === `${TEAM}/cdn-cgi/access/certs` || url === `${OIDC}/jwks`) return Response.json(jwks);
    if (url === `${OIDC}/token` && pending) {
      const form = new URLSearchParams(await request.text());
      const verifier = form.get("code_verifier") ?? "";
      if (form.get("code") !== pending.code || b64url(createHash("sha256").update(verifier).digest()) !== pending.challenge) {
        return Response.json({ error: "invalid_grant" }, { status: 400 });
      }
      const idToken = sign({ iss: OIDC, aud: CLIENT_ID, nonce: pending.nonce, ...USER });
      return Response.json({ access_token: sign({ iss: TEAM, aud: CLIENT_ID, ...USER }), id_token: idToken, token_type: "Bearer", expires_in: 3600 });
    }
    return new Response("not found", { status: 404 });
  };
  const signIn = (authorizationUrl) => {
    const params = new URL(authorizationUrl).searchParams;
    pending = { code: randomBytes(16).toString("hex"), nonce: params.get("nonce"), challenge: params.get("code_challenge") };
    return `${params.get("redirect_uri")}?${new URLSearchParams({ code: pending.code, state: params.get("state") ?? "" })}`;
  };
  const appToken = () => sign({ iss: TEAM, aud: [AUDIENCE], type: "app", ...USER });
  return { outbound, signIn, appToken };
}

function parseOptions(argv) {
  const options = { projects: [], runs: 5, era: "2025-11-25", interval: 100, profiles: undefined, minify: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--runs") options.runs = Number(argv[++i]);
    else if (arg === "--era") options.era = argv[++i];
    else if (arg === "--interval") options.interval = Number(argv[++i]);
    else if (arg === "--no-minify") options.minify = false;
    else if (arg === "--profiles") options.profiles = resolve(argv[++i]);
    else if (arg.startsWith("-")) throw new Error(`startup: unknown option ${arg}`);
    else options.projects.push(resolve(arg));
  }
  if (!options.projects.length || !(options.runs >= 1)) {
    throw new Error("usage: node scripts/startup.mjs <project-dir>... [--runs N] [--era 2025-11-25|2026-07-28] [--interval µs] [--profiles DIR] [--no-minify]");
  }
  return options;
}

/** The project's auth mode (`empty` for a Worker that is not ours), its bundle and how to run it. */
function prepare(dir, work, minify) {
  const configFile = join(dir, "mcp-access.json");
  const auth = existsSync(configFile) ? JSON.parse(readFileSync(configFile, "utf8")).auth : "empty";
  const wrangler = join(dir, "node_modules", ".bin", "wrangler");
  const outdir = join(work, `bundle-${basename(dir)}`);
  const built = spawnSync(wrangler, ["deploy", "--dry-run", "--outdir", outdir, ...(minify ? [] : ["--minify=false"])], { cwd: dir, encoding: "utf8" });
  if (built.status !== 0) throw new Error(`wrangler deploy --dry-run failed in ${dir}:\n${built.stdout}\n${built.stderr}`);
  writeFileSync(join(outdir, ENTRY), ENTRY_SOURCE);
  const requireFromWrangler = createRequire(createRequire(join(dir, "package.json")).resolve("wrangler/package.json"));
  const config = parse(readFileSync(join(dir, "wrangler.jsonc"), "utf8"));
  return { dir, name: basename(dir), auth, outdir, config, miniflare: requireFromWrangler.resolve("miniflare"), kv: join(work, `kv-${basename(dir)}`) };
}

function workerOptions(project, access) {
  const bindings =
    project.auth === "self-hosted"
      ? { TEAM_DOMAIN: TEAM, POLICY_AUD: AUDIENCE }
      : project.auth === "saas"
        ? {
            ACCESS_CLIENT_ID: CLIENT_ID,
            ACCESS_CLIENT_SECRET: "bench-client-secret",
            ACCESS_AUTHORIZATION_URL: `${OIDC}/authorization`,
            ACCESS_TOKEN_URL: `${OIDC}/token`,
            ACCESS_JWKS_URL: `${OIDC}/jwks`,
            COOKIE_ENCRYPTION_KEY: "bench-cookie-key-of-at-least-32-characters",
          }
        : {};
  return {
    name: "worker",
    modulesRoot: project.outdir,
    modules: [
      { type: "ESModule", path: join(project.outdir, ENTRY) },
      { type: "ESModule", path: join(project.outdir, "index.js") },
    ],
    compatibilityDate: project.config.compatibility_date,
    compatibilityFlags: project.config.compatibility_flags ?? [],
    bindings,
    kvNamespaces: (project.config.kv_namespaces ?? []).map((namespace) => namespace.binding),
    resourcePersistencePath: project.kv,
    outboundService: access.outbound,
    inspectorPort: 0,
    handleStructuredLogs: () => {},
  };
}

async function start(project, access) {
  // Miniflare 5 takes the options of Miniflare 4 through its own adapter, as wrangler does.
  const { Miniflare, convertV4MiniflareOptions } = await import(pathToFileURL(project.miniflare).href);
  const mf = new Miniflare(convertV4MiniflareOptions(workerOptions(project, access)));
  await mf.ready;
  return mf;
}

/** Signs in once through the Worker's own OAuth flow, as an MCP client and a browser would; returns the MCP access token. */
async function signInSaas(project, access) {
  const mf = await start(project, access);
  try {
    await mf.dispatchFetch(`${ORIGIN}/`); // imports the bundle
    const cookies = new Map();
    const send = async (path, init = {}) => {
      const headers = new Headers(init.headers);
      if (cookies.size) headers.set("Cookie", [...cookies].map(([name, value]) => `${name}=${value}`).join("; "));
      const response = await mf.dispatchFetch(new URL(path, ORIGIN).href, { ...init, headers, redirect: "manual" });
      for (const cookie of response.headers.getSetCookie()) {
        const [pair] = cookie.split(";");
        const at = pair.indexOf("=");
        cookies.set(pair.slice(0, at), pair.slice(at + 1));
      }
      return response;
    };
    const registered = await (
      await send("/register", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ client_name: "bench", redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: "none" }),
      })
    ).json();
    const verifier = b64url(randomBytes(32));
    const authorize = new URLSearchParams({
      response_type: "code",
      client_id: registered.client_id,
      redirect_uri: REDIRECT_URI,
      code_challenge: b64url(createHash("sha256").update(verifier).digest()),
      code_challenge_method: "S256",
      state: "bench",
      resource: `${ORIGIN}/mcp`,
    });
    const page = await (await send(`/authorize?${authorize}`)).text();
    const handle = /name="handle" value="([^"]+)"/.exec(page)?.[1];
    if (!handle) throw new Error(`no consent form: ${page.slice(0, 300)}`);
    const consented = await send("/authorize", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ handle, decision: "approve" }).toString(),
    });
    const callback = await send(access.signIn(consented.headers.get("Location")));
    const code = new URL(callback.headers.get("Location") ?? "", ORIGIN).searchParams.get("code");
    if (!code) throw new Error(`sign-in failed: ${callback.status} ${await callback.text()}`);
    const tokens = await (
      await send("/token", {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: REDIRECT_URI, code_verifier: verifier, client_id: registered.client_id, resource: `${ORIGIN}/mcp` }).toString(),
      })
    ).json();
    if (typeof tokens.access_token !== "string") throw new Error(`no access token: ${JSON.stringify(tokens)}`);
    return tokens.access_token;
  } finally {
    await mf.dispose();
  }
}

/** The first request after startup: `whoami` as a client of `era` sends it, authenticated for the project's mode. */
function firstRequest(project, access, era, bearer) {
  if (project.auth === "empty") return { url: `${ORIGIN}/`, init: {} };
  const modern = era !== "2025-11-25";
  const params = { name: "whoami", arguments: {} };
  if (modern) {
    params._meta = {
      "io.modelcontextprotocol/protocolVersion": era,
      "io.modelcontextprotocol/clientInfo": { name: "bench", version: "0" },
      "io.modelcontextprotocol/clientCapabilities": {},
    };
  }
  const headers = {
    "Content-Type": "application/json",
    Accept: "application/json, text/event-stream",
    "MCP-Protocol-Version": era,
    ...(modern ? { "Mcp-Method": "tools/call", "Mcp-Name": "whoami" } : {}),
    ...(project.auth === "self-hosted" ? { "Cf-Access-Jwt-Assertion": access.appToken() } : { Authorization: `Bearer ${bearer}` }),
  };
  return { url: `${ORIGIN}/mcp`, init: { method: "POST", headers, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params }) } };
}

/** Non-idle time of a V8 CPU profile, in ms, as `wrangler check startup` counts "Active". */
export function activeMs(profile) {
  const names = new Map(profile.nodes.map((node) => [node.id, node.callFrame.functionName]));
  let active = 0;
  profile.timeDeltas.forEach((delta, index) => {
    if (names.get(profile.samples[index]) !== "(idle)") active += delta;
  });
  return active / 1000;
}

/** One cold isolate: profiles its startup, then its first request. */
async function coldRun(project, access, { era, interval }, bearer) {
  const mf = await start(project, access);
  const socket = new WebSocket(new URL("/core:user:worker", await mf.getInspectorURL()));
  try {
    await new Promise((done, fail) => {
      socket.addEventListener("open", done, { once: true });
      socket.addEventListener("error", fail, { once: true });
    });
    let id = 0;
    const pending = new Map();
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      pending.get(message.id)?.(message);
    });
    const command = (method, params = {}) =>
      new Promise((done) => {
        pending.set(++id, done);
        socket.send(JSON.stringify({ id, method, params }));
      });
    const profiled = async (url, init) => {
      await command("Profiler.start");
      const started = performance.now();
      const response = await mf.dispatchFetch(url, init);
      const body = await response.text();
      const wallMs = performance.now() - started;
      const { result } = await command("Profiler.stop");
      return { status: response.status, body, wallMs, cpuMs: activeMs(result.profile), profile: result.profile };
    };
    await command("Profiler.enable");
    if (interval) await command("Profiler.setSamplingInterval", { interval });
    const startup = await profiled(`${ORIGIN}/`, {});
    if (startup.body !== "started") throw new Error(`${project.name}: the bundle did not start: ${startup.status} ${startup.body.slice(0, 500)}`);
    const request = firstRequest(project, access, era, bearer);
    const first = await profiled(request.url, request.init);
    if (first.status !== 200 || (project.auth !== "empty" && !first.body.includes(USER.email))) {
      throw new Error(`${project.name}: the first request failed: ${first.status} ${first.body.slice(0, 500)}`);
    }
    return { startup, first };
  } finally {
    socket.close();
    await mf.dispose();
  }
}

const median = (list) => {
  const sorted = [...list].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/** Measures each project `runs` times, interleaved; returns medians (and the samples) per project. */
export async function measureColdStarts(dirs, { runs = 5, era = "2025-11-25", interval = 100, profiles, minify = true } = {}) {
  const work = mkdtempSync(join(tmpdir(), "cma-cold-"));
  try {
    const access = fakeAccess();
    const projects = dirs.map((dir) => prepare(dir, work, minify));
    const bearers = new Map();
    for (const project of projects) if (project.auth === "saas") bearers.set(project, await signInSaas(project, access));
    const samples = new Map(projects.map((project) => [project, []]));
    if (profiles) {
      // The bundles beside their profiles: their source maps name the module of each function.
      for (const project of projects) cpSync(project.outdir, join(profiles, `bundle-${project.name}`), { recursive: true });
    }
    await coldRun(projects[0], access, { era, interval }, bearers.get(projects[0])); // warm-up: workerd's binary in the page cache
    for (let round = 0; round < runs; round++) {
      for (const project of [...projects].sort(() => Math.random() - 0.5)) {
        const run = await coldRun(project, access, { era, interval }, bearers.get(project));
        samples.get(project).push(run);
        if (profiles) {
          writeFileSync(join(profiles, `${project.name}-${round}-startup.cpuprofile`), JSON.stringify(run.startup.profile));
          writeFileSync(join(profiles, `${project.name}-${round}-first.cpuprofile`), JSON.stringify(run.first.profile));
        }
      }
    }
    return projects.map((project) => {
      const list = samples.get(project);
      const of = (pick) => median(list.map(pick));
      return {
        name: project.name,
        auth: project.auth,
        runs: list.length,
        startupCpuMs: of((run) => run.startup.cpuMs),
        firstCpuMs: of((run) => run.first.cpuMs),
        coldCpuMs: of((run) => run.startup.cpuMs + run.first.cpuMs),
        startupWallMs: of((run) => run.startup.wallMs),
        firstWallMs: of((run) => run.first.wallMs),
        coldWallMs: of((run) => run.startup.wallMs + run.first.wallMs),
      };
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const options = parseOptions(process.argv.slice(2));
  const results = await measureColdStarts(options.projects, options);
  const f = (value) => value.toFixed(1);
  console.log(`medians of ${options.runs} cold isolates each; first request: whoami (${options.era}); CPU = non-idle profile time, wall = dispatch round trip`);
  console.log("| project | auth | startup CPU | first request CPU | cold CPU | startup wall | first wall | cold wall |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const r of results) {
    console.log(`| ${r.name} | ${r.auth} | ${f(r.startupCpuMs)} | ${f(r.firstCpuMs)} | ${f(r.coldCpuMs)} | ${f(r.startupWallMs)} | ${f(r.firstWallMs)} | ${f(r.coldWallMs)} |`);
  }
}
