import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Check } from "../../src/doctor/checks.js";
import { fetchProbe, MAX_BODY_BYTES, type Probe, type ProbeAnswer, type ProbeRequest } from "../../src/doctor/probe.js";
import { PREFLIGHT_ORIGIN, type PublicTarget, publicChecks, SIGNED_OUT_HEADER } from "../../src/doctor/public-checks.js";
import { textReport } from "../../src/doctor/report.js";

/**
 * doctor's public checks against stub answers: a live deployment's every way
 * of being wrong gets its named finding, and nothing but the server's own
 * origin and the expected authorization server is ever asked.
 */

const HOST = "https://srv.acme.workers.dev";
const TEAM = "https://acme.cloudflareaccess.com";
const selfHosted: PublicTarget = { origin: HOST, auth: "self-hosted", authorizationServer: TEAM, dev: false, userAgent: "create-mcp-access-doctor/test" };
const saas: PublicTarget = { ...selfHosted, auth: "saas", authorizationServer: HOST };

type Answer = Extract<ProbeAnswer, { ok: true }>;
const answer = (status: number, headers: Record<string, string> = {}, body: unknown = ""): Answer => ({
  ok: true,
  status,
  headers: new Headers(headers),
  body: typeof body === "string" ? body : JSON.stringify(body),
});

/** Managed OAuth as Access answers it (research-15 §4a), or the saas Worker's OAuth provider. */
function healthy(target: PublicTarget): Record<string, ProbeAnswer> {
  const server = target.authorizationServer!;
  const metadataUrl = target.auth === "saas" ? `${target.origin}/.well-known/oauth-protected-resource/mcp` : `${target.origin}/.well-known/cloudflare-access-protected-resource/mcp`;
  return {
    [`POST ${target.origin}/mcp`]: answer(401, { "www-authenticate": `Bearer realm="OAuth", error="invalid_token", resource_metadata="${metadataUrl}"` }),
    [`GET ${metadataUrl}`]: answer(200, {}, { resource: `${target.origin}/mcp`, authorization_servers: [server] }),
    [`GET ${server}/.well-known/oauth-authorization-server`]: answer(200, {}, {
      issuer: server,
      authorization_endpoint: `${server}/authorize`,
      token_endpoint: `${server}/token`,
      ...(target.auth === "saas" ? { client_id_metadata_document_supported: true } : { registration_endpoint: `${server}/register` }),
      code_challenge_methods_supported: ["S256"],
    }),
    [`OPTIONS ${target.origin}/mcp`]: answer(204, {
      "access-control-allow-origin": "*",
      "access-control-allow-headers": "Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version",
    }),
  };
}

/** A probe answering from a table (anything else: nothing listens), recording every request. */
function stub(answers: Record<string, ProbeAnswer>) {
  const requests: ProbeRequest[] = [];
  const probe: Probe = async (request) => {
    requests.push(request);
    return answers[`${request.method} ${request.url}`] ?? { ok: false, failure: "refused", detail: "ECONNREFUSED" };
  };
  return { probe, requests };
}

async function run(target: PublicTarget, change: (answers: Record<string, ProbeAnswer>) => void = () => {}) {
  const answers = healthy(target);
  change(answers);
  const { probe, requests } = stub(answers);
  const checks = await publicChecks(target, probe);
  return { checks, requests, byId: (id: string) => checks.find((c) => c.id === id)!, text: textReport({ name: "srv", auth: target.auth, url: target.origin }, checks) };
}

const statuses = (checks: Check[]) => Object.fromEntries(checks.map((c) => [c.id, c.status]));

describe("doctor's public checks", () => {
  for (const target of [selfHosted, saas]) {
    it(`${target.auth}: a healthy server passes all five checks in four requests, the POST looking like a non-browser MCP client`, async () => {
      const { checks, requests } = await run(target);
      expect(statuses(checks)).toEqual({ reachable: "ok", challenge: "ok", "resource-metadata": "ok", "authorization-server": "ok", cors: "ok" });
      expect(requests.map((r) => `${r.method} ${new URL(r.url).origin}`)).toEqual([
        `POST ${target.origin}`,
        `GET ${target.origin}`,
        `GET ${target.authorizationServer}`,
        `OPTIONS ${target.origin}`,
      ]);
      expect(requests[0]!.headers).toMatchObject({ Accept: "application/json, text/event-stream", "User-Agent": expect.stringMatching(/^create-mcp-access-doctor\//) });
      expect(requests[0]!.headers).not.toHaveProperty("Authorization");
      // The header that asks the local emulator for a signed-out answer goes only to npm run dev.
      expect(requests[0]!.headers).not.toHaveProperty(SIGNED_OUT_HEADER);
      expect(requests[3]!.headers).toMatchObject({ Origin: PREFLIGHT_ORIGIN, "Access-Control-Request-Method": "POST" });
    });
  }

  it("under npm run dev, asks the emulator for a signed-out client's answer", async () => {
    const dev = { ...selfHosted, origin: "http://127.0.0.1:8787", authorizationServer: "http://127.0.0.1:8787", dev: true };
    const { checks, requests } = await run(dev);
    expect(statuses(checks).challenge).toBe("ok");
    expect(requests[0]!.headers[SIGNED_OUT_HEADER]).toBe("signed-out");
  });

  for (const [failure, words] of [
    ["dns", "does not resolve"],
    ["refused", "nothing accepts the connection"],
    ["tls", "TLS handshake failed"],
    ["timeout", "no answer within the time limit"],
  ] as const) {
    it(`names a connection that fails (${failure}) and checks nothing further`, async () => {
      const { checks, requests, byId } = await run(selfHosted, (a) => {
        a[`POST ${HOST}/mcp`] = { ok: false, failure, detail: "boom" };
      });
      expect(byId("reachable")).toMatchObject({ status: "fail", message: expect.stringContaining(words), fix: expect.stringContaining("provision") });
      expect(checks.slice(1).map((c) => c.status)).toEqual(["skip", "skip", "skip", "skip"]);
      expect(requests).toHaveLength(1);
    });
  }

  it("names Access's login redirect as Managed OAuth being off, and follows it nowhere", async () => {
    const { byId, requests } = await run(selfHosted, (a) => {
      a[`POST ${HOST}/mcp`] = answer(302, { location: `${TEAM}/cdn-cgi/access/login/srv.acme.workers.dev?kid=abc&redirect_url=%2Fmcp` });
    });
    expect(byId("challenge")).toMatchObject({ status: "fail", message: expect.stringContaining("Managed OAuth is off") });
    expect(byId("challenge").fix).toMatch(/Managed OAuth.*npm run provision/);
    expect(requests.some((r) => r.url.startsWith(TEAM))).toBe(false);
  });

  it("names the login redirect whatever its form: 307, a relative Location on the app's host", async () => {
    const { byId } = await run(selfHosted, (a) => {
      a[`POST ${HOST}/mcp`] = answer(307, { location: "/cdn-cgi/access/login/srv.acme.workers.dev?redirect_url=%2Fmcp" });
    });
    expect(byId("challenge").message).toContain("Managed OAuth is off");
  });

  it("reads resource_metadata in any case, quoted or not, among other challenges", async () => {
    const { byId } = await run(saas, (a) => {
      a[`POST ${HOST}/mcp`] = answer(401, { "www-authenticate": `Basic realm="x", Bearer error="invalid_token", RESOURCE_METADATA=${HOST}/.well-known/oauth-protected-resource/mcp` });
      a[`GET ${HOST}/.well-known/oauth-protected-resource/mcp`] = answer(200, {}, { resource: `${HOST}/mcp`, authorization_servers: [HOST] });
    });
    expect(byId("challenge").status).toBe("ok");
    expect(byId("resource-metadata").status).toBe("ok");
  });

  it("reports another redirect without following it", async () => {
    const { byId, requests } = await run(saas, (a) => {
      a[`POST ${HOST}/mcp`] = answer(301, { location: "https://evil.example/mcp" });
    });
    expect(byId("challenge")).toMatchObject({ status: "fail", message: expect.stringContaining("redirected (HTTP 301)") });
    expect(requests.map((r) => new URL(r.url).host)).not.toContain("evil.example");
  });

  it("names a 403 as Access blocking the request", async () => {
    const { byId } = await run(selfHosted, (a) => {
      a[`POST ${HOST}/mcp`] = answer(403, {}, "Forbidden");
    });
    expect(byId("challenge")).toMatchObject({ status: "fail", message: expect.stringContaining("Access blocks the request"), fix: expect.stringContaining("policies") });
  });

  it("names an unauthenticated 200 as an open server", async () => {
    const { byId } = await run(selfHosted, (a) => {
      a[`POST ${HOST}/mcp`] = answer(200, {}, { jsonrpc: "2.0", id: 1, result: {} });
    });
    expect(byId("challenge")).toMatchObject({ status: "fail", message: expect.stringContaining("open to anyone") });
  });

  it("self-hosted: names the Worker's own 401 as Access not being in front of the host", async () => {
    const { byId } = await run(selfHosted, (a) => {
      a[`POST ${HOST}/mcp`] = answer(401, { "content-type": "application/json" }, { error: "unauthorized", message: "A valid Cloudflare Access token is required." });
    });
    expect(byId("challenge")).toMatchObject({ status: "fail", message: expect.stringContaining("Access is not in front") });
  });

  it("names a 401 without a resource_metadata pointer, and a server error", async () => {
    const bare = await run(saas, (a) => {
      a[`POST ${HOST}/mcp`] = answer(401, { "www-authenticate": 'Bearer realm="OAuth"' });
    });
    expect(bare.byId("challenge")).toMatchObject({ status: "fail", message: expect.stringContaining("without a resource_metadata pointer") });
    expect(bare.byId("resource-metadata").status).toBe("skip");
    const broken = await run(saas, (a) => {
      a[`POST ${HOST}/mcp`] = answer(500, {}, { error: "server_misconfigured" });
    });
    expect(broken.byId("challenge")).toMatchObject({ status: "fail", message: expect.stringContaining("HTTP 500"), fix: expect.stringContaining("wrangler tail") });
  });

  it("does not follow a resource_metadata pointer to another origin (or another scheme or port)", async () => {
    for (const elsewhere of ["https://evil.example/.well-known/oauth-protected-resource", "http://srv.acme.workers.dev/.well-known/oauth-protected-resource", `${HOST}:8443/.well-known/oauth-protected-resource`]) {
      const { byId, requests } = await run(saas, (a) => {
        a[`POST ${HOST}/mcp`] = answer(401, { "www-authenticate": `Bearer resource_metadata="${elsewhere}"` });
      });
      expect(byId("challenge")).toMatchObject({ status: "fail", message: expect.stringContaining("not on https://srv.acme.workers.dev") });
      expect(requests.map((r) => r.method)).toEqual(["POST", "OPTIONS"]);
    }
  });

  it("refuses a pointer on the same origin that is not a metadata path", async () => {
    const { byId } = await run(saas, (a) => {
      a[`POST ${HOST}/mcp`] = answer(401, { "www-authenticate": `Bearer resource_metadata="${HOST}/admin"` });
    });
    expect(byId("challenge")).toMatchObject({ status: "fail", message: expect.stringContaining("not a protected-resource metadata path") });
  });

  it("names metadata for another resource, or another authorization server, which it does not ask", async () => {
    const prm = `GET ${HOST}/.well-known/cloudflare-access-protected-resource/mcp`;
    const resource = await run(selfHosted, (a) => {
      a[prm] = answer(200, {}, { resource: "https://other.example/mcp", authorization_servers: [TEAM] });
    });
    expect(resource.byId("resource-metadata")).toMatchObject({ status: "fail", message: expect.stringContaining("names the resource") });
    const server = await run(selfHosted, (a) => {
      a[prm] = answer(200, {}, { resource: `${HOST}/mcp`, authorization_servers: ["https://evil.cloudflareaccess.com"] });
    });
    expect(server.byId("resource-metadata")).toMatchObject({ status: "fail", message: expect.stringContaining(`not ${TEAM}`) });
    expect(server.byId("authorization-server").status).toBe("skip");
    expect(server.requests.some((r) => r.url.includes("evil"))).toBe(false);
    const notJson = await run(selfHosted, (a) => {
      a[prm] = answer(200, {}, "<html>");
    });
    expect(notJson.byId("resource-metadata")).toMatchObject({ status: "fail", message: expect.stringContaining("not a JSON object") });
  });

  it("without a recorded team, warns and asks no authorization server", async () => {
    const { byId, requests } = await run({ ...selfHosted, authorizationServer: undefined }, (a) => {
      a[`GET ${HOST}/.well-known/cloudflare-access-protected-resource/mcp`] = answer(200, {}, { resource: `${HOST}/mcp`, authorization_servers: [TEAM] });
    });
    expect(byId("resource-metadata")).toMatchObject({ status: "warn", fix: expect.stringContaining("provision") });
    expect(requests.some((r) => r.url.startsWith(TEAM))).toBe(false);
  });

  it("names authorization server metadata a client cannot sign in with", async () => {
    const asUrl = `GET ${TEAM}/.well-known/oauth-authorization-server`;
    const cases: [Record<string, unknown>, string][] = [
      [{ code_challenge_methods_supported: ["plain"] }, "lacks S256"],
      [{ registration_endpoint: undefined }, "no way for a client to register"],
      [{ issuer: "https://other.cloudflareaccess.com" }, "its issuer is"],
      [{ token_endpoint: "https://evil.example/token" }, "token_endpoint"],
    ];
    for (const [change, words] of cases) {
      const { byId } = await run(selfHosted, (a) => {
        const good = JSON.parse((a[asUrl] as Answer).body);
        a[asUrl] = answer(200, {}, { ...good, ...change });
      });
      expect(byId("authorization-server"), words).toMatchObject({ status: "fail", message: expect.stringContaining(words), fix: expect.stringContaining("Managed OAuth") });
    }
  });

  it("names a preflight Access answers itself, and one that does not allow what a browser client sends", async () => {
    const blocked = await run(selfHosted, (a) => {
      a[`OPTIONS ${HOST}/mcp`] = answer(403);
    });
    expect(blocked.byId("cors")).toMatchObject({ status: "fail", message: expect.stringContaining("HTTP 403"), fix: expect.stringContaining("options_preflight_bypass") });
    const narrow = await run(saas, (a) => {
      a[`OPTIONS ${HOST}/mcp`] = answer(204, { "access-control-allow-origin": "https://claude.ai", "access-control-allow-headers": "*" });
    });
    expect(narrow.byId("cors")).toMatchObject({ status: "fail", message: expect.stringMatching(/Allow-Origin.*does not allow authorization/) });
  });

  it("escapes what the server sends before printing it", async () => {
    const hostile = "https://x.example/\u001b[2J\u001b]0;pwned\u0007\u202eevil";
    const { text, byId } = await run(selfHosted, (a) => {
      a[`POST ${HOST}/mcp`] = answer(302, { location: hostile.replace(/[\u0000-\u001f\u202e]/g, "") });
      a[`OPTIONS ${HOST}/mcp`] = answer(403);
    });
    expect(byId("challenge").status).toBe("fail");
    const withBody = await run(selfHosted, (a) => {
      a[`POST ${HOST}/mcp`] = answer(403, {}, `blocked ${hostile}`);
    });
    for (const output of [text, withBody.text]) expect(output).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u202e]/);
    expect(withBody.text).toContain("\\u001b[2J");
  });
});

describe("doctor's HTTP requests (a real local server)", () => {
  let server: http.Server;
  let origin: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === "/big") {
        res.writeHead(200, { "content-type": "text/plain" });
        // 1 MiB, written as long as the client reads.
        let left = 16;
        const more = () => {
          while (left > 0) {
            left -= 1;
            if (!res.write("x".repeat(64 * 1024))) return res.once("drain", more);
          }
          res.end();
        };
        more();
      } else if (req.url === "/redirect") {
        res.writeHead(302, { location: "/big" }).end();
      } else if (req.url === "/silent") {
        // Never answers: the probe's time limit ends it.
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("reads at most 64 KiB of a body", async () => {
    const result = await fetchProbe()({ method: "GET", url: `${origin}/big`, headers: {} });
    expect(result.ok && result.status).toBe(200);
    expect(result.ok && result.body.length).toBe(MAX_BODY_BYTES);
  });

  it("returns a redirect as the answer, unfollowed", async () => {
    const result = await fetchProbe()({ method: "GET", url: `${origin}/redirect`, headers: {} });
    expect(result).toMatchObject({ ok: true, status: 302 });
    expect(result.ok && result.headers.get("location")).toBe("/big");
    expect(result.ok && result.body).toBe("");
  });

  it("gives up on a server that never answers, and names nothing listening", async () => {
    expect(await fetchProbe(300)({ method: "GET", url: `${origin}/silent`, headers: {} })).toMatchObject({ ok: false, failure: "timeout" });
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    expect(await fetchProbe()({ method: "GET", url: `http://127.0.0.1:${port}/`, headers: {} })).toMatchObject({ ok: false, failure: "refused" });
  });
});
