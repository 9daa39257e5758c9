import { readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeAccess, startFakeAccess, startSelfHostedWorker } from "../support/access.js";
import { callWhoami } from "../support/mcp.js";
import { cleanEnv, freePort, run, type Service, startService, waitForHttp } from "../support/processes.js";
import { selfHostedProject as project } from "../support/project.js";

const wrangler = join(project, "node_modules", ".bin", "wrangler");

describe("the generated self-hosted project builds", () => {
  it("type-checks with wrangler types + tsc --noEmit", async () => {
    const result = await run("npm", ["run", "typecheck"], { cwd: project });
    expect(result.code, result.stdout + result.stderr).toBe(0);
  });

  it("bundles with wrangler deploy --dry-run, well under half of Cloudflare's demos", async () => {
    const outdir = join(project, ".tmp-bundle");
    rmSync(outdir, { recursive: true, force: true });
    const result = await run(wrangler, ["deploy", "--dry-run", "--outdir", outdir], { cwd: project });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const bundle = readFileSync(join(outdir, "index.js"));
    const gzipKiB = gzipSync(bundle, { level: 9 }).length / 1024;
    console.log(`self-hosted Worker bundle: ${(statSync(join(outdir, "index.js")).size / 1024).toFixed(1)} KiB, ${gzipKiB.toFixed(1)} KiB gzipped`);
    expect(gzipKiB).toBeLessThan(210); // SPEC §4.2: "well under half" of ~420–440 KiB
    rmSync(outdir, { recursive: true, force: true });
  });
});

describe("the generated self-hosted Worker under wrangler dev", () => {
  let access: FakeAccess;
  let worker: Service;
  let base: string;

  beforeAll(async () => {
    access = await startFakeAccess();
    ({ base, worker } = await startSelfHostedWorker(project, access));
  });
  afterAll(async () => {
    await worker?.stop();
    await access?.close();
  });

  it("serves whoami to the official MCP client with the identity from the Access JWT", async () => {
    const result = await callWhoami(`${base}/mcp`, { "Cf-Access-Jwt-Assertion": access.token() });
    expect(result.tools).toEqual(["whoami"]);
    expect(result.identity).toEqual({ email: "ada@example.com", sub: "7335d417-61da-459d-899c-0a01c76812ae" });
  });

  it("gives each caller their own identity, also when they call at the same time", async () => {
    const callers = Array.from({ length: 6 }, (_, i) => ({ email: `user${i}@example.com`, sub: `sub-${i}` }));
    const results = await Promise.all(
      callers.map((claims) => callWhoami(`${base}/mcp`, { "Cf-Access-Jwt-Assertion": access.token({ claims }) })),
    );
    expect(results.map((result) => result.identity)).toEqual(callers);
  });

  it("fetched the JWKS once for all those requests (module-scope cache)", () => {
    expect(access.certRequests()).toBe(1);
  });

  it("answers the 2026-07-28 stateless revision too: a tools/call with no initialize", async () => {
    const response = await fetch(`${base}/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/call",
        "mcp-name": "whoami",
        "Cf-Access-Jwt-Assertion": access.token({ claims: { email: "grace@example.com", sub: "sub-grace" } }),
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: {
          name: "whoami",
          arguments: {},
          _meta: {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": { name: "e2e", version: "0" },
            "io.modelcontextprotocol/clientCapabilities": {},
          },
        },
      }),
    });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    const message = JSON.parse(text.startsWith("{") ? text : text.split("\n").find((line) => line.startsWith("data: "))!.slice(6));
    expect(message.result.structuredContent).toEqual({ email: "grace@example.com", sub: "sub-grace" });
  });

  it("locally, serves web pages only from the emulator's origin or MCP Inspector's, port included", async () => {
    // The second line behind the dev emulator's own check: TEAM_DOMAIN is the emulator, which serves the Worker on its port.
    const initialize = (origin: string) =>
      fetch(`${base}/mcp`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          origin,
          "Cf-Access-Jwt-Assertion": access.token(),
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "e2e", version: "0" } },
        }),
      });
    const emulator = new URL(access.teamDomain);
    const allowed = [emulator.origin, `http://localhost:${emulator.port}`, "http://localhost:6274", "http://127.0.0.1:6274"];
    const refused = ["http://localhost:3000", "http://127.0.0.1:6006", "http://localhost", `https://localhost:${emulator.port}`, "http://[::1]:6274", "null"];
    const statuses = async (origins: string[]) => Promise.all(origins.map(async (origin) => [origin, (await initialize(origin)).status]));
    expect(await statuses(allowed)).toEqual(allowed.map((origin) => [origin, 200]));
    expect(await statuses(refused)).toEqual(refused.map((origin) => [origin, 403]));
  });

  it("answers CORS preflight without auth", async () => {
    const response = await fetch(`${base}/mcp`, {
      method: "OPTIONS",
      headers: { origin: "https://inspector.example", "access-control-request-method": "POST" },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("access-control-allow-headers")).toMatch(/Mcp-Session-Id/i);
  });

  const now = () => Math.floor(Date.now() / 1000);
  const badTokens: [string, () => string | undefined][] = [
    ["no header", () => undefined],
    ["garbage", () => "not-a-jwt"],
    ["expired", () => access.token({ claims: { exp: now() - 3600, iat: now() - 7200, nbf: now() - 7200 } })],
    ["nbf in the future", () => access.token({ claims: { nbf: now() + 3600 } })],
    ["wrong issuer", () => access.token({ claims: { iss: "https://evil.cloudflareaccess.com" } })],
    ["issuer with a trailing slash", () => access.token({ claims: { iss: `${access.teamDomain}/` } })],
    ["issuer with the other scheme", () => access.token({ claims: { iss: access.teamDomain.replace("http://", "https://") } })],
    ["wrong audience", () => access.token({ claims: { aud: ["someone-elses-aud"] } })],
    ["alg none", () => access.token({ signWith: "none" })],
    ["HS256 signed with the public key", () => access.token({ signWith: "hs256-public-key" })],
    ["unknown kid", () => access.token({ header: { kid: "not-a-published-kid" } })],
    ["known kid, unpublished key", () => access.token({ signWith: "unpublished" })],
    ["tampered payload", () => tamper(access.token())],
    ['type "org"', () => access.token({ claims: { type: "org" } })],
    ["no exp", () => access.token({ omit: ["exp"] })],
  ];

  it.each(badTokens)("refuses %s with 401 and echoes nothing", async (_, makeToken) => {
    const token = makeToken();
    const response = await fetch(`${base}/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...(token ? { "Cf-Access-Jwt-Assertion": token } : {}),
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
    });
    const body = await response.text();
    expect(response.status).toBe(401);
    expect(JSON.parse(body)).toEqual({ error: "unauthorized", message: "A valid Cloudflare Access token is required." });
    if (token) {
      for (const part of token.split(".").filter((p) => p.length > 8)) expect(body).not.toContain(part);
    }
    expect(worker.output()).not.toContain(token ?? "\0");
  });

  it("still fetched the JWKS at most twice after the whole bad-token matrix", () => {
    // An unknown kid may trigger one refetch (Access rotates keys); jose allows one per 30 s.
    expect(access.certRequests()).toBeLessThanOrEqual(2);
  });

  it("serves nothing but /mcp", async () => {
    const response = await fetch(`${base}/`, { headers: { "Cf-Access-Jwt-Assertion": access.token() } });
    expect(response.status).toBe(404);
  });
});

describe("the generated Worker fails closed", () => {
  it.each([
    // The project was generated with --team acme, so its POLICY_AUD is still the placeholder.
    ["the placeholder POLICY_AUD from wrangler.jsonc", [], /POLICY_AUD is not configured/],
    ["a placeholder TEAM_DOMAIN", ["--var", "TEAM_DOMAIN:https://<your-team>.cloudflareaccess.com"], /TEAM_DOMAIN is not configured/],
    ["an http:// team domain that is not loopback", ["--var", "TEAM_DOMAIN:http://acme.cloudflareaccess.com", "--var", "POLICY_AUD:abc"], /TEAM_DOMAIN must be an https:\/\/ URL/],
  ])("with %s: 500 naming the setting, never a served request", async (_, vars, message) => {
    const port = await freePort();
    const worker = startService(wrangler, ["dev", "--ip", "127.0.0.1", "--port", String(port), ...(vars as string[])], {
      cwd: project,
      env: cleanEnv({ CI: "true" }),
    });
    try {
      await waitForHttp(`http://127.0.0.1:${port}/`, worker);
      const response = await fetch(`http://127.0.0.1:${port}/mcp`, { method: "POST", body: "{}" });
      expect(response.status).toBe(500);
      expect(await response.text()).toMatch(message);
    } finally {
      await worker.stop();
    }
  });
});

function tamper(token: string): string {
  const [header, payload, signature] = token.split(".");
  const claims = JSON.parse(Buffer.from(payload!, "base64url").toString());
  claims.email = "mallory@example.com";
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`;
}
