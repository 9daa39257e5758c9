import type { AuthMode } from "../config/options.js";
import { type Check, type CheckStatus, check, shown } from "./checks.js";
import type { Probe, ProbeAnswer } from "./probe.js";

/** Where the public checks look, and what they expect to find there. */
export interface PublicTarget {
  /** `https://<host>`, or `http://127.0.0.1:<port>` under `npm run dev`. */
  origin: string;
  auth: AuthMode;
  /**
   * The authorization server the metadata must name: self-hosted, the Access
   * team (the emulator's origin under `npm run dev`); saas, the Worker's own
   * origin. undefined when it is not known yet (no team recorded).
   */
  authorizationServer: string | undefined;
  /** Under `npm run dev`: the self-hosted emulator signs every client in, unless asked for a signed-out client's answer. */
  dev: boolean;
  /** Sent as the User-Agent: Access answers a non-browser client with Managed OAuth's 401, a browser with its login page. */
  userAgent: string;
}

/**
 * Asks the local Access emulator (templates/self-hosted/dev/access-emulator.mjs) to answer as
 * Access answers an MCP client that has not signed in. Sent only under `npm run dev`.
 */
export const SIGNED_OUT_HEADER = "X-Access-Emulator-Session";

/** A browser-based MCP client's origin: MCP Inspector's page, which people open against local and deployed servers alike. */
export const PREFLIGHT_ORIGIN = "http://localhost:6274";
/** What a browser-based client's POST carries beyond the safelisted headers: its bearer token, JSON, the MCP version. */
const PREFLIGHT_HEADERS = ["authorization", "content-type", "mcp-protocol-version"];

const PUBLIC_IDS = ["reachable", "challenge", "resource-metadata", "authorization-server", "cors"] as const;
type PublicId = (typeof PUBLIC_IDS)[number];
const result = (id: PublicId, status: CheckStatus, message: string, fix?: string) => check("public", id, status, message, fix);

const PROVISION_FIX = "run npm run provision, which sets the Access application up for this host";

/**
 * The checks anyone can run against the live URL, in the order a client
 * meets them: the URL answers; an unauthenticated POST /mcp gets a 401 whose
 * WWW-Authenticate points at protected-resource metadata on the same origin;
 * that metadata names this server and its authorization server; the
 * authorization server's metadata lets a client sign in (PKCE S256, a way
 * to register); a CORS preflight lets browser clients through. Four
 * requests; only this origin and the expected authorization server are
 * ever asked anything, and a pointer elsewhere is reported, not followed.
 */
export async function publicChecks(target: PublicTarget, probe: Probe): Promise<Check[]> {
  const mcpUrl = `${target.origin}/mcp`;
  const answer = await probe({
    method: "POST",
    url: mcpUrl,
    headers: {
      "User-Agent": target.userAgent,
      Accept: "application/json, text/event-stream",
      "Content-Type": "application/json",
      ...(target.dev ? { [SIGNED_OUT_HEADER]: "signed-out" } : {}),
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
  });
  if (!answer.ok) {
    return [
      result("reachable", "fail", `${mcpUrl} does not answer: ${unreachable(answer)}.`, unreachableFix(target)),
      ...PUBLIC_IDS.slice(1).map((id) => result(id, "skip", "Not checked: the URL does not answer.")),
    ];
  }
  const checks = [result("reachable", "ok", `${mcpUrl} answers (HTTP ${answer.status}).`)];

  const challenge = judgeChallenge(target, answer);
  checks.push(challenge.check);
  let server: string | undefined;
  if (challenge.metadataUrl) {
    const metadata = await resourceMetadata(target, probe, challenge.metadataUrl);
    checks.push(metadata.check);
    server = metadata.authorizationServer;
  } else {
    checks.push(result("resource-metadata", "skip", "Not checked: the 401 did not point at any."));
  }
  checks.push(server ? await authorizationServer(target, probe, server) : result("authorization-server", "skip", "Not checked: no authorization server to ask."));
  checks.push(await preflight(target, probe, mcpUrl));
  return checks;
}

function unreachable(answer: Extract<ProbeAnswer, { ok: false }>): string {
  const detail = shown(answer.detail);
  switch (answer.failure) {
    case "dns":
      return `the host name does not resolve (${detail})`;
    case "refused":
      return `nothing accepts the connection (${detail})`;
    case "tls":
      return `the TLS handshake failed (${detail})`;
    case "timeout":
      return "no answer within the time limit";
    default:
      return `the connection failed (${detail})`;
  }
}

function unreachableFix(target: PublicTarget): string {
  if (target.dev) return "Start the server with npm run dev, and give doctor the URL it prints (--url http://127.0.0.1:<port>).";
  return "Deploy it (npm run provision deploys; so does npm run deploy once it is set up), and check the address: a new workers.dev or custom hostname can take a few minutes to resolve.";
}

/** Judges the answer to the unauthenticated POST /mcp: a Managed OAuth (or OAuth provider) 401 is what a client needs. */
function judgeChallenge(target: PublicTarget, answer: Extract<ProbeAnswer, { ok: true }>): { check: Check; metadataUrl?: URL } {
  const fail = (message: string, fix: string) => ({ check: result("challenge", "fail", message, fix) });
  const { status, headers } = answer;
  const selfHosted = target.auth === "self-hosted";

  if (status >= 300 && status < 400) {
    const location = headers.get("location") ?? "";
    if (isAccessLogin(location, target.origin)) {
      return fail(
        `POST /mcp is redirected to Access's login page (HTTP ${status}, ${shown(location)}): Managed OAuth is off, so MCP clients, which cannot sign in through a web page, get no way in.`,
        "Turn on Managed OAuth on the Access application (Zero Trust: Access controls, Applications, the app, Managed OAuth), or run npm run provision, which turns it on.",
      );
    }
    return fail(
      `POST /mcp is redirected (HTTP ${status}) to ${shown(location)} instead of answering; doctor does not follow redirects.`,
      "Serve the MCP server at this URL's /mcp: check the URL, and the Worker's routes in wrangler.jsonc.",
    );
  }
  if (status === 403) {
    return fail(
      `POST /mcp is refused with HTTP 403 ${shown(answer.body.slice(0, 120))}: Access blocks the request before any sign-in (a Block policy, or a rule like a country or device posture), or the local emulator refused it.`,
      "Check the Access application's policies in Zero Trust (Access controls, Applications): this project's allow policy should decide who gets in.",
    );
  }
  if (status >= 200 && status < 300) {
    return fail(
      `POST /mcp without any credential was answered with HTTP ${status}: nothing asks MCP clients to sign in, so the server is open to anyone.`,
      target.dev
        ? "The project's dev/access-emulator.mjs predates doctor's local checks: run npm run regenerate to update it."
        : selfHosted
          ? `Put the Access application in front of the Worker: ${PROVISION_FIX}.`
          : "Deploy the project's own Worker (npm run provision): it answers /mcp only with a token it issued.",
    );
  }
  if (status !== 401) {
    const said = errorOf(answer.body);
    return fail(
      `POST /mcp answered HTTP ${status}${said ? ` (${shown(said)})` : ""} instead of a 401 that starts a sign-in.`,
      status === 404
        ? "Check the URL, and that this project is what is deployed there (npm run deploy)."
        : status >= 500
          ? "See the Worker's logs (npx wrangler tail): a missing secret or var fails closed with 500; npm run provision sets them."
          : "See the Worker's logs (npx wrangler tail).",
    );
  }

  const challengeHeader = headers.get("www-authenticate") ?? "";
  const pointer = /resource_metadata\s*=\s*(?:"([^"]*)"|([^\s,]+))/i.exec(challengeHeader);
  if (!pointer) {
    if (selfHosted && errorOf(answer.body) === "unauthorized") {
      return fail(
        "POST /mcp reached the Worker itself, which answered 401 for want of an Access token: Access is not in front of this host, so no client can ever get one.",
        `Protect the host with the project's Access application: ${PROVISION_FIX}.`,
      );
    }
    return fail(
      `POST /mcp answered 401 without a resource_metadata pointer in WWW-Authenticate (${shown(challengeHeader)}): MCP clients cannot find where to sign in.`,
      selfHosted
        ? "Turn on Managed OAuth on the Access application, or run npm run provision, which turns it on."
        : "The Worker's OAuth provider adds it: deploy the project's current code (npm run regenerate, then npm run deploy).",
    );
  }
  const raw = pointer[1] ?? pointer[2] ?? "";
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  if (!url || url.origin !== target.origin) {
    return fail(
      `The 401 points clients at resource metadata at ${shown(raw)}, which is not on ${target.origin}; doctor does not follow it, and clients that check would refuse it.`,
      selfHosted
        ? "Access publishes it on the application's own host: check that the application protects this host (npm run provision)."
        : "The Worker names its own origin: deploy the project's current code (npm run deploy).",
    );
  }
  if (!isMetadataPath(url.pathname)) {
    return fail(
      `The 401 points at ${shown(raw)}, which is not a protected-resource metadata path (/.well-known/oauth-protected-resource…).`,
      "Check what serves this host: it is not Access's Managed OAuth nor this project's Worker.",
    );
  }
  return { check: result("challenge", "ok", `POST /mcp asks for sign-in: 401 pointing at ${shown(url.href)}.`), metadataUrl: url };
}

/** A page of Access's own login: `https://<team>.cloudflareaccess.com/cdn-cgi/access/login/…` (or that path on the app's host). */
function isAccessLogin(location: string, base: string): boolean {
  if (!URL.canParse(location, base)) return false;
  return new URL(location, base).pathname.startsWith("/cdn-cgi/access/login");
}

/** RFC 9728's well-known path, or the one Access's Managed OAuth uses for it. */
function isMetadataPath(path: string): boolean {
  return (
    path === "/.well-known/oauth-protected-resource" ||
    path.startsWith("/.well-known/oauth-protected-resource/") ||
    path.startsWith("/.well-known/cloudflare-access-protected-resource/")
  );
}

/** The `error` of a JSON error body, if it is one. */
function errorOf(body: string): string | undefined {
  const json = parseObject(body);
  return typeof json?.error === "string" ? json.error : undefined;
}

function parseObject(body: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const withoutSlash = (url: string) => url.replace(/\/+$/, "");

/** Fetches a JSON object; the check that failed when it cannot. */
async function getJson(probe: Probe, target: PublicTarget, url: string, id: PublicId, what: string): Promise<{ json: Record<string, unknown> } | { check: Check }> {
  const answer = await probe({ method: "GET", url, headers: { "User-Agent": target.userAgent, Accept: "application/json" } });
  if (!answer.ok) return { check: result(id, "fail", `${what} at ${url} could not be fetched: ${unreachable(answer)}.`, "Try again; if it persists, see the Worker's logs.") };
  if (answer.status !== 200) return { check: result(id, "fail", `${what} at ${url} answered HTTP ${answer.status}, not 200.`, "See what serves this path (npx wrangler tail).") };
  const json = parseObject(answer.body);
  if (!json) return { check: result(id, "fail", `${what} at ${url} is not a JSON object (the first 64 KiB were read).`, "See what serves this path (npx wrangler tail).") };
  return { json };
}

/** RFC 9728 metadata: it must name this server's /mcp (or, as Access does, its origin) and the expected authorization server. */
async function resourceMetadata(target: PublicTarget, probe: Probe, url: URL): Promise<{ check: Check; authorizationServer?: string }> {
  const fetched = await getJson(probe, target, url.href, "resource-metadata", "The protected-resource metadata");
  if ("check" in fetched) return fetched;
  const { resource, authorization_servers: servers } = fetched.json;
  const fail = (message: string, fix: string) => ({ check: result("resource-metadata", "fail", message, fix) });
  const resources = [`${target.origin}/mcp`, `${target.origin}/`, target.origin];
  if (typeof resource !== "string" || !resources.includes(resource)) {
    return fail(
      `The protected-resource metadata names the resource ${shown(resource)}, not ${target.origin}/mcp: clients would ask for tokens for another server.`,
      target.auth === "self-hosted" ? `Check the Access application's host: ${PROVISION_FIX}.` : "Deploy the project's current code (npm run deploy).",
    );
  }
  const named = Array.isArray(servers) ? servers.filter((server): server is string => typeof server === "string") : [];
  if (!named.length) return fail("The protected-resource metadata names no authorization_servers: clients cannot find where to sign in.", "Check what serves this host.");
  const expected = target.authorizationServer;
  if (!expected) {
    return {
      check: result(
        "resource-metadata",
        "warn",
        `The protected-resource metadata names ${named.map(shown).join(", ")} as its authorization server; mcp-access.json records no Access team to compare it with, so doctor asks it nothing.`,
        "Run npm run provision, which records the team (or set \"team\" in mcp-access.json).",
      ),
    };
  }
  const match = named.find((server) => withoutSlash(server) === withoutSlash(expected));
  if (!match) {
    return fail(
      `The protected-resource metadata names ${named.map(shown).join(", ")} as its authorization server, not ${expected}; doctor does not ask another server.`,
      target.auth === "self-hosted"
        ? "Access names the team the application belongs to: check \"team\" and \"accountId\" in mcp-access.json against the account the app is in."
        : "The Worker names its own origin: deploy the project's current code (npm run deploy).",
    );
  }
  return { check: result("resource-metadata", "ok", `The protected-resource metadata names ${resource} and the authorization server ${expected}.`), authorizationServer: withoutSlash(expected) };
}

/** RFC 8414 metadata of the authorization server: a sign-in a client can do (PKCE S256, DCR or a Client ID Metadata Document), all on its own origin. */
async function authorizationServer(target: PublicTarget, probe: Probe, issuer: string): Promise<Check> {
  const base = new URL(issuer);
  // RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path.
  const url = `${base.origin}/.well-known/oauth-authorization-server${base.pathname === "/" ? "" : base.pathname}`;
  const fetched = await getJson(probe, target, url, "authorization-server", "The authorization server metadata");
  if ("check" in fetched) return fetched.check;
  const metadata = fetched.json;
  const problems: string[] = [];
  if (metadata.issuer !== issuer) problems.push(`its issuer is ${shown(metadata.issuer)}, not ${issuer}`);
  for (const field of ["authorization_endpoint", "token_endpoint", "registration_endpoint"]) {
    const value = metadata[field];
    if (value === undefined && field === "registration_endpoint") continue;
    if (typeof value !== "string" || !URL.canParse(value) || new URL(value).origin !== base.origin) problems.push(`its ${field} ${shown(value)} is not on ${base.origin}`);
  }
  const methods = metadata.code_challenge_methods_supported;
  if (!Array.isArray(methods) || !methods.includes("S256")) problems.push(`code_challenge_methods_supported ${shown(methods)} lacks S256 (PKCE), which MCP clients require`);
  if (metadata.registration_endpoint === undefined && metadata.client_id_metadata_document_supported !== true) {
    problems.push("it offers no way for a client to register: neither a registration_endpoint nor client_id_metadata_document_supported");
  }
  if (problems.length) {
    return result(
      "authorization-server",
      "fail",
      `The authorization server metadata at ${url}: ${problems.join("; ")}.`,
      target.auth === "self-hosted"
        ? "Access publishes it for Managed OAuth: turn on Managed OAuth and its dynamic client registration on the Access application (npm run provision does)."
        : "The Worker's OAuth provider publishes it: deploy the project's current code (npm run regenerate, then npm run deploy).",
    );
  }
  const registration = [...(metadata.registration_endpoint ? ["dynamic client registration"] : []), ...(metadata.client_id_metadata_document_supported === true ? ["Client ID Metadata Documents"] : [])];
  return result("authorization-server", "ok", `The authorization server ${issuer} offers PKCE S256 and ${registration.join(" and ")}.`);
}

/** A browser-based client's CORS preflight for its POST: it must get through to an answer that allows the request. */
async function preflight(target: PublicTarget, probe: Probe, mcpUrl: string): Promise<Check> {
  const answer = await probe({
    method: "OPTIONS",
    url: mcpUrl,
    headers: {
      "User-Agent": target.userAgent,
      Origin: PREFLIGHT_ORIGIN,
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": PREFLIGHT_HEADERS.join(", "),
    },
  });
  const bypassFix =
    target.auth === "self-hosted"
      ? "Let preflights through to the Worker: turn on \"Bypass options requests to origin\" on the Access application (options_preflight_bypass), or run npm run provision, which does."
      : "Deploy the project's current code (npm run deploy): the Worker answers preflights itself.";
  if (!answer.ok) return result("cors", "fail", `The CORS preflight (OPTIONS /mcp) got no answer: ${unreachable(answer)}.`, "Try again; if it persists, see the Worker's logs.");
  if (answer.status >= 300 && answer.status < 400) {
    return result("cors", "fail", `The CORS preflight (OPTIONS /mcp) is redirected (HTTP ${answer.status}) to ${shown(answer.headers.get("location") ?? "")}: browsers fail a redirected preflight, so browser-based MCP clients cannot connect.`, bypassFix);
  }
  if (answer.status < 200 || answer.status >= 300) {
    return result("cors", "fail", `The CORS preflight (OPTIONS /mcp) answered HTTP ${answer.status}: browser-based MCP clients (MCP Inspector, web apps) cannot connect.`, bypassFix);
  }
  const problems: string[] = [];
  const allowOrigin = answer.headers.get("access-control-allow-origin");
  if (allowOrigin !== "*" && allowOrigin !== PREFLIGHT_ORIGIN) problems.push(`Access-Control-Allow-Origin is ${shown(allowOrigin ?? "absent")}`);
  const allowed = (answer.headers.get("access-control-allow-headers") ?? "").split(",").map((name) => name.trim().toLowerCase());
  // `*` allows any header but Authorization, which must be named (Fetch standard, CORS-preflight fetch).
  const missing = PREFLIGHT_HEADERS.filter((name) => !allowed.includes(name) && !(name !== "authorization" && allowed.includes("*")));
  if (missing.length) problems.push(`Access-Control-Allow-Headers does not allow ${missing.join(", ")}`);
  if (problems.length) {
    return result("cors", "fail", `The CORS preflight (OPTIONS /mcp) from ${PREFLIGHT_ORIGIN} is answered, but ${problems.join("; ")}: browsers would refuse the request.`, "The project's Worker sends these: deploy its current code (npm run deploy).");
  }
  return result("cors", "ok", `A browser client's CORS preflight gets through (HTTP ${answer.status}, origin and headers allowed).`);
}
