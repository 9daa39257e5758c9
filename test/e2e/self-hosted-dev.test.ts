import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callWhoami } from "../support/mcp.js";
import { cleanEnv, freePort, type Service, startService } from "../support/processes.js";
import { selfHostedProject as project } from "../support/project.js";

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
