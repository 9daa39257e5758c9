import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, freePort, run, startService, waitForHttp } from "../support/processes.js";
import { saasProject as project } from "../support/project.js";

const wrangler = join(project, "node_modules", ".bin", "wrangler");

describe("the generated saas project builds", () => {
  it("type-checks with wrangler types + tsc --noEmit (npm run typecheck)", async () => {
    const result = await run("npm", ["run", "typecheck"], { cwd: project });
    expect(result.code, result.stdout + result.stderr).toBe(0);
  });

  it("bundles with wrangler deploy --dry-run to under 200 KiB gzipped", async () => {
    const outdir = mkdtempSync(join(tmpdir(), "saas-bundle-"));
    try {
      const result = await run(wrangler, ["deploy", "--dry-run", "--outdir", outdir], { cwd: project });
      expect(result.code, result.stdout + result.stderr).toBe(0);
      const bundle = readFileSync(join(outdir, "index.js"));
      const gzipKiB = gzipSync(bundle, { level: 9 }).length / 1024;
      console.log(`saas Worker bundle: ${(statSync(join(outdir, "index.js")).size / 1024).toFixed(1)} KiB, ${gzipKiB.toFixed(1)} KiB gzipped`);
      expect(gzipKiB).toBeLessThan(200); // SPEC §4.2: "well under half" of Cloudflare's ~420–440 KiB demos
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});

/**
 * SPEC §7: a missing or placeholder secret means 500 naming it, never an open
 * server. Each case runs `wrangler dev` with the secrets a user might have
 * left that way, from an env file (which wrangler prefers to .dev.vars).
 */
describe("the generated saas Worker fails closed", () => {
  let scratch: string;
  const clientId = "a".repeat(64);
  const issuer = `https://acme.cloudflareaccess.com/cdn-cgi/access/sso/oidc/${clientId}`;
  const good = {
    ACCESS_CLIENT_ID: clientId,
    ACCESS_CLIENT_SECRET: "5ec2e7".repeat(10),
    ACCESS_AUTHORIZATION_URL: `${issuer}/authorization`,
    ACCESS_TOKEN_URL: `${issuer}/token`,
    ACCESS_JWKS_URL: `${issuer}/jwks`,
    COOKIE_ENCRYPTION_KEY: "c0ffee".repeat(11),
  };

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), "saas-secrets-"));
  });
  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it.each<[string, string, (file: string) => void]>([
    ["an unedited copy of .dev.vars.example", "ACCESS_CLIENT_ID", (file) => copyFileSync(join(project, ".dev.vars.example"), file)],
    ["a placeholder COOKIE_ENCRYPTION_KEY", "COOKIE_ENCRYPTION_KEY", (file) => writeVars(file, { ...good, COOKIE_ENCRYPTION_KEY: "<output of openssl rand -hex 32>" })],
    ["no ACCESS_CLIENT_SECRET", "ACCESS_CLIENT_SECRET", (file) => writeVars(file, { ...good, ACCESS_CLIENT_SECRET: undefined })],
    ["an http:// ACCESS_TOKEN_URL that is not loopback", "ACCESS_TOKEN_URL", (file) => writeVars(file, { ...good, ACCESS_TOKEN_URL: good.ACCESS_TOKEN_URL.replace("https:", "http:") })],
  ])("with %s: 500 naming %s on every route, no secret echoed", async (_, secret, write) => {
    const envFile = join(scratch, `${secret}.env`);
    write(envFile);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const worker = startService(
      wrangler,
      ["dev", "--ip", "127.0.0.1", "--port", String(port), "--env-file", envFile, "--persist-to", join(scratch, `${secret}-state`), "--show-interactive-dev-session=false"],
      { cwd: project, env: cleanEnv({ CI: "true" }) },
    );
    try {
      await waitForHttp(`${base}/`, worker);
      for (const [method, path] of [["GET", "/.well-known/oauth-authorization-server"], ["POST", "/mcp"], ["GET", "/authorize?client_id=x"], ["POST", "/token"], ["POST", "/register"]] as const) {
        const response = await fetch(`${base}${path}`, { method, redirect: "manual" });
        const body = await response.text();
        expect(response.status, `${method} ${path}`).toBe(500);
        expect(JSON.parse(body)).toEqual({ error: "server_misconfigured", message: expect.stringMatching(new RegExp(`^${secret} `)) });
        for (const value of [good.ACCESS_CLIENT_SECRET, good.COOKIE_ENCRYPTION_KEY]) expect(body).not.toContain(value);
      }
      // CORS preflights carry no credentials and are answered before the configuration is read.
      const preflight = await fetch(`${base}/mcp`, { method: "OPTIONS", headers: { origin: "http://localhost:6274", "access-control-request-method": "POST" } });
      expect(preflight.status).toBe(204);
    } finally {
      await worker.stop();
    }
  });
});

function writeVars(file: string, vars: Record<string, string | undefined>) {
  const lines = Object.entries(vars).flatMap(([name, value]) => (value === undefined ? [] : [`${name}=${value}`]));
  writeFileSync(file, `${lines.join("\n")}\n`, { mode: 0o600 });
}
