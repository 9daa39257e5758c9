import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callWhoami } from "../support/mcp.js";
import { cleanEnv, freePort, type Service, startService } from "../support/processes.js";
import { selfHostedProject as project } from "../support/project.js";

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * One HTTP request exactly as given (fetch would not let a test set Host, or send a header twice):
 * what a browser page, a rebinding host or a spoofing client can send to a loopback port.
 */
function rawRequest(port: number, method: string, path: string, headers: [string, string][], body = ""): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: "127.0.0.1", port, method, path, headers: headers.flat(), setHost: false, timeout: 30_000 });
    request.on("response", (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, body: text }));
    });
    request.on("timeout", () => request.destroy(new Error("timed out")));
    request.on("error", reject);
    request.end(body);
  });
}

const TOOLS_LIST = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} });
const MCP_HEADERS: [string, string][] = [
  ["content-type", "application/json"],
  ["accept", "application/json, text/event-stream"],
];

/** `npm run dev` in a generated project: wrangler dev behind the local Access emulator (SPEC §4.4). */
describe("npm run dev (self-hosted)", () => {
  let dev: Service;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    dev = startService("npm", ["run", "dev", "--", "--port", String(port), "--email", "grace@example.com"], {
      cwd: project,
      env: cleanEnv(),
    });
    const deadline = Date.now() + 90_000;
    while (!dev.output().includes("Press Ctrl-C to stop")) {
      if (Date.now() > deadline || dev.child.exitCode !== null) throw new Error(`npm run dev did not come up:\n${dev.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  });
  afterAll(async () => {
    await dev?.stop();
  });

  it("prints the MCP URL and how to connect MCP Inspector", () => {
    expect(dev.output()).toContain(`http://127.0.0.1:${port}/mcp`);
    expect(dev.output()).toMatch(/MCP Inspector[\s\S]*Streamable HTTP/);
  });

  it("signs the MCP client in as the dev identity, with no headers of its own", async () => {
    const { identity } = await callWhoami(`http://127.0.0.1:${port}/mcp`);
    expect(identity.email).toBe("grace@example.com");
    expect(identity.sub).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("replaces a JWT the client forged with its own", async () => {
    const { identity } = await callWhoami(`http://127.0.0.1:${port}/mcp`, { "Cf-Access-Jwt-Assertion": "forged.token.here" });
    expect(identity.email).toBe("grace@example.com");
  });

  /** A POST of tools/list to /mcp, with these extra headers (a Host among them, or the emulator's own). */
  const post = (headers: [string, string][]) => {
    const host = headers.some(([name]) => name.toLowerCase() === "host") ? [] : [["host", `127.0.0.1:${port}`] as [string, string]];
    return rawRequest(port, "POST", "/mcp", [...host, ...MCP_HEADERS, ...headers], TOOLS_LIST);
  };
  /**
   * The emulator refused the request itself: nothing was signed or forwarded, so the Worker (which
   * adds its CORS headers to everything under /mcp) never saw it.
   */
  const expectRefusedByEmulator = (response: RawResponse) => {
    expect(response.status, response.body).toBe(403);
    expect(response.body).toMatch(/access emulator/i);
    expect(response.headers).not.toHaveProperty("access-control-allow-origin");
    expect(response.body).not.toContain("grace@example.com");
  };

  it("answers the MCP clients it is for: no Origin, its own origin, MCP Inspector's", async () => {
    for (const headers of [
      [],
      [["origin", `http://127.0.0.1:${port}`]],
      [["origin", "http://localhost:6274"]],
      [["origin", "http://127.0.0.1:6274"]],
      [["host", `localhost:${port}`]],
    ] as [string, string][][]) {
      const response = await post(headers);
      expect(response.status, `${JSON.stringify(headers)}: ${response.body}`).toBe(200);
      expect(response.body).toContain("whoami");
    }
  });

  it.each([
    ["another localhost port", [["origin", "http://localhost:3000"]]],
    ["another 127.0.0.1 port", [["origin", "http://127.0.0.1:3000"]]],
    ["its own port on localhost over https", [["origin", "https://localhost:6274"]]],
    ["the IPv6 loopback", [["origin", "http://[::1]:6274"]]],
    ["localhost with no port", [["origin", "http://localhost"]]],
    ["an opaque origin (sandboxed frame, file: page)", [["origin", "null"]]],
    ["a public site", [["origin", "https://evil.example"]]],
    ["an allowed origin and another, sent twice", [["origin", "http://localhost:6274"], ["origin", "http://localhost:3000"]]],
    ["a page's no-cors request, which carries no Origin", [["sec-fetch-site", "cross-site"], ["sec-fetch-mode", "no-cors"]]],
  ] as [string, [string, string][]][])("refuses a page on %s without signing or forwarding it", async (_, headers) => {
    expectRefusedByEmulator(await post(headers));
  });

  // The headers are made once the port is known (the table itself is read before beforeAll runs).
  it.each([
    ["a rebinding host on its port", (port: number) => [["host", `evil.example:${port}`]]],
    ["a rebinding host with no port", () => [["host", "evil.example"]]],
    ["localhost on another port", () => [["host", "localhost:3000"]]],
    ["a second Host", (port: number) => [["host", `127.0.0.1:${port}`], ["host", `evil.example:${port}`]]],
    ["X-Forwarded-Host", () => [["x-forwarded-host", "evil.example"]]],
    ["Forwarded", () => [["forwarded", "host=evil.example;proto=https"]]],
    ["X-Forwarded-Proto", () => [["x-forwarded-proto", "https"]]],
    ["MF-Original-URL (miniflare's own)", () => [["mf-original-url", "https://evil.example/mcp"]]],
  ] as [string, (port: number) => [string, string][]][])("refuses %s without signing or forwarding it", async (_, headers) => {
    expectRefusedByEmulator(await post(headers(port)));
  });

  it("refuses an absolute-form request target naming another host", async () => {
    const response = await rawRequest(port, "POST", "http://evil.example/mcp", [["host", `127.0.0.1:${port}`], ...MCP_HEADERS], TOOLS_LIST);
    expectRefusedByEmulator(response);
  });

  it("grants CORS preflights only to the origins it answers", async () => {
    const preflight = (origin: string) =>
      rawRequest(port, "OPTIONS", "/mcp", [
        ["host", `127.0.0.1:${port}`],
        ["origin", origin],
        ["access-control-request-method", "POST"],
        ["access-control-request-headers", "content-type"],
      ]);
    const inspector = await preflight("http://localhost:6274");
    expect(inspector.status).toBe(204);
    expect(inspector.headers["access-control-allow-origin"]).toBeDefined();
    expectRefusedByEmulator(await preflight("http://localhost:3000"));
  });

  it("serves its signing keys only to loopback hosts", async () => {
    const keys = await rawRequest(port, "GET", "/cdn-cgi/access/certs", [["host", `127.0.0.1:${port}`]]);
    expect(keys.status).toBe(200);
    expect(JSON.parse(keys.body).keys).toHaveLength(1);
    const rebound = await rawRequest(port, "GET", "/cdn-cgi/access/certs", [["host", `evil.example:${port}`]]);
    expect(rebound.status).toBe(403);
  });

  it("does not let a page on another origin use the signed-in proxy", async () => {
    const response = await fetch(`http://127.0.0.1:${port}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", origin: "https://evil.example" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
    });
    expect(response.status).toBe(403);
  });

  it("stops cleanly on Ctrl-C, leaving no server behind", async () => {
    const internal = /http:\/\/127\.0\.0\.1:(\d+) \(internal/.exec(dev.output())?.[1];
    process.kill(-dev.child.pid!, "SIGINT"); // what a terminal's Ctrl-C does: the whole foreground group
    const exit = await new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      dev.child.once("exit", (code, signal) => resolve({ code, signal })),
    );
    // The emulator exits 0; npm itself re-raises the SIGINT it also received, as it does for any script.
    expect(exit.code === 0 || exit.signal === "SIGINT", JSON.stringify(exit)).toBe(true);
    await expect(fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    if (internal) await expect(fetch(`http://127.0.0.1:${internal}/`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
  });
});
