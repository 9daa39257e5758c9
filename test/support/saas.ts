import { readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { cleanEnv, freePort, run, type Service, startService } from "./processes.js";

/**
 * `npm run dev` in a generated saas project: `wrangler dev` plus the local
 * Access for SaaS emulator (dev/access-emulator.mjs), started with
 * `--test-hooks` so a test can make Access misbehave and see what it counted.
 */
export interface SaasDev {
  /** The Worker, e.g. http://127.0.0.1:8787. */
  origin: string;
  port: number;
  /** The Access for SaaS app's issuer at the emulator (the ACCESS_* URLs without their last segment). */
  issuer: string;
  /** What the emulator wrote to .dev.vars: the Worker's secrets. */
  vars: Record<string, string>;
  emulator: EmulatorHooks;
  service: Service;
  /** The OAuth provider's grant records in the local OAUTH_KV (`grant:<userId>:<grantId>` keys). */
  grants: () => Promise<string[]>;
  stop: () => Promise<void>;
}

/**
 * Starts `npm run dev` as a user does, after removing .dev.vars and the local
 * KV state: every test file gets fresh secrets, a fresh Access client and no
 * grants from a previous file. `env` adds to the environment of `npm run dev` (and so of
 * wrangler and workerd), e.g. NODE_EXTRA_CA_CERTS.
 */
export async function startSaasDev(project: string, options: { tokenTtl?: number; env?: Record<string, string> } = {}): Promise<SaasDev> {
  rmSync(join(project, ".dev.vars"), { force: true });
  rmSync(join(project, ".wrangler"), { recursive: true, force: true });
  const port = await freePort();
  let accessPort = await freePort();
  while (accessPort === port) accessPort = await freePort();
  const args = ["run", "dev", "--", "--port", String(port), "--access-port", String(accessPort), "--test-hooks"];
  if (options.tokenTtl !== undefined) args.push("--token-ttl", String(options.tokenTtl));
  const service = startService("npm", args, { cwd: project, env: cleanEnv(options.env) });
  const deadline = Date.now() + 90_000;
  while (!service.output().includes("Press Ctrl-C to stop")) {
    if (Date.now() > deadline || service.child.exitCode !== null) {
      await service.stop();
      throw new Error(`npm run dev did not come up:\n${service.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const vars = parseDevVars(readFileSync(join(project, ".dev.vars"), "utf8"));
  const issuer = vars.ACCESS_TOKEN_URL!.replace(/\/token$/, "");
  const wrangler = join(project, "node_modules", "wrangler", "bin", "wrangler.js");
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    issuer,
    vars,
    emulator: new EmulatorHooks(new URL(issuer).origin),
    service,
    grants: async () => {
      // wrangler's own reading of the local KV that `wrangler dev` persists under .wrangler/state.
      const result = await run(process.execPath, [wrangler, "kv", "key", "list", "--binding", "OAUTH_KV", "--local", "--prefix", "grant:"], {
        cwd: project,
        timeoutMs: 60_000,
      });
      if (result.code !== 0) throw new Error(`wrangler kv key list failed:\n${result.stdout}\n${result.stderr}`);
      const keys = JSON.parse(result.stdout.slice(result.stdout.indexOf("["))) as { name: string }[];
      return keys.map((key) => key.name).sort();
    },
    stop: () => service.stop(),
  };
}

export function parseDevVars(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) vars[match[1]!] = match[2]!;
  }
  return vars;
}

export type IdTokenFault = "wrong-iss" | "wrong-aud" | "wrong-nonce" | "no-nonce" | "expired" | "alg-none" | "bad-signature";
export type RefreshFault = "invalid_grant" | "server_error";

export interface EmulatorStats {
  signIns: number;
  codeExchanges: number;
  refreshes: number;
  refreshFailures: number;
  /** Unix seconds: when the last Access access token it issued expires. */
  lastAccessTokenExpiresAt: number;
}

/** The emulator's `/__emulator/*` controls (served only with `--test-hooks`). */
export class EmulatorHooks {
  constructor(readonly origin: string) {}

  /** The next ID token, or the next refresh, goes wrong in this way (once). */
  async fault(fault: { idToken?: IdTokenFault; refresh?: RefreshFault }): Promise<void> {
    const response = await fetch(`${this.origin}/__emulator/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(fault),
    });
    if (!response.ok) throw new Error(`emulator fault ${JSON.stringify(fault)}: ${response.status} ${await response.text()}`);
  }

  /** Revokes every Access refresh token of `email`, as an admin revoking the user's sessions does. Returns how many. */
  async revoke(email: string): Promise<number> {
    const response = await fetch(`${this.origin}/__emulator/revoke`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email }),
    });
    if (!response.ok) throw new Error(`emulator revoke: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { revoked: number }).revoked;
  }

  async stats(): Promise<EmulatorStats> {
    return (await (await fetch(`${this.origin}/__emulator/stats`)).json()) as EmulatorStats;
  }

  /** Every code and token (access, refresh, ID) the emulator handed out. */
  async issued(): Promise<string[]> {
    return ((await (await fetch(`${this.origin}/__emulator/issued`)).json()) as { secrets: string[] }).secrets;
  }
}

/** What a raw HTTP exchange returned: the status of the response's status line, and the rest. */
export interface RawAnswer {
  status: number;
  text: string;
}

/**
 * Sends one HTTP/1.1 request exactly as written (request target, Host and every other header
 * are the caller's; `Connection: close` and `Content-Length` are added) to a loopback port, and
 * reads the answer until the server closes the connection.
 */
export function rawRequest(port: number, head: string[], body = ""): Promise<RawAnswer> {
  const request = [...head, "Connection: close", `Content-Length: ${Buffer.byteLength(body)}`, "", body].join("\r\n");
  return new Promise((resolve, reject) => {
    // Not end(): a server may take the half-close for a hang-up; `Connection: close` ends it.
    const socket = connect(port, "127.0.0.1", () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.setTimeout(15_000, () => socket.destroy(new Error(`no answer from port ${port} within 15 s`)));
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
      if (!status) reject(new Error(`not an HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      else resolve({ status: Number(status), text });
    });
  });
}
