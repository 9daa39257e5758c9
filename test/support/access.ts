import { createHmac, generateKeyPairSync, type KeyObject, randomBytes, sign, verify } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { cleanEnv, freePort, type Service, startService, waitForHttp } from "./processes.js";

/**
 * Plays Cloudflare Access for a test: a JWKS at /cdn-cgi/access/certs on a
 * loopback "team domain", and a signer that makes both the JWTs Access would
 * send and every kind of bad one an attacker might try.
 */
export interface FakeAccess {
  teamDomain: string;
  aud: string;
  /** How many times the Worker fetched the JWKS. */
  certRequests: () => number;
  /** The Access groups get-identity reports, by email (none for anyone not listed). */
  groups: Map<string, string[]>;
  /** How many times the Worker asked get-identity. */
  identityRequests: () => number;
  token: (options?: TokenOptions) => string;
  close: () => Promise<void>;
}

export interface TokenOptions {
  claims?: Record<string, unknown>;
  /** Claims to remove from the default set. */
  omit?: string[];
  header?: Record<string, unknown>;
  /** How to sign: the published key (default), a key Access never published, HS256 with the public key as secret, or not at all. */
  signWith?: "published" | "unpublished" | "hs256-public-key" | "none";
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

export async function startFakeAccess(): Promise<FakeAccess> {
  const published = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const unpublished = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = randomBytes(8).toString("hex");
  const jwk = { ...published.publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" };
  const aud = randomBytes(32).toString("hex");
  let certRequests = 0;
  let identityRequests = 0;
  const groups = new Map<string, string[]>();

  const server: Server = createServer((req, res) => {
    if (req.url === "/cdn-cgi/access/certs") {
      certRequests++;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: [jwk], public_cert: { kid, cert: "" }, public_certs: [] }));
      return;
    }
    if (req.url === "/cdn-cgi/access/get-identity") {
      // As Access: the identity behind the CF_Authorization token sent, if it is one Access signed.
      identityRequests++;
      const token = /(?:^|;\s*)CF_Authorization=([^;]+)/.exec(req.headers.cookie ?? "")?.[1] ?? "";
      const [header = "", payload = "", signed = ""] = token.split(".");
      if (!signed || !verify("sha256", Buffer.from(`${header}.${payload}`), published.publicKey, Buffer.from(signed, "base64url"))) {
        res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ err: "invalid token" }));
        return;
      }
      const { email, sub } = JSON.parse(Buffer.from(payload, "base64url").toString()) as { email: string; sub: string };
      const names = groups.get(email) ?? [];
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ email, user_uuid: sub, groups: names.map((name, i) => ({ id: `g${i}`, name, email: "" })) }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const teamDomain = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const token = ({ claims = {}, omit = [], header = {}, signWith = "published" }: TokenOptions = {}) => {
    const now = Math.floor(Date.now() / 1000);
    const body: Record<string, unknown> = {
      aud: [aud],
      email: "ada@example.com",
      sub: "7335d417-61da-459d-899c-0a01c76812ae",
      iss: teamDomain,
      type: "app",
      iat: now,
      nbf: now,
      exp: now + 600,
      identity_nonce: "nonce",
      country: "XX",
      ...claims,
    };
    for (const name of omit) delete body[name];
    const alg = signWith === "none" ? "none" : signWith === "hs256-public-key" ? "HS256" : "RS256";
    const input = `${b64url({ alg, kid, typ: "JWT", ...header })}.${b64url(body)}`;
    return `${input}.${signature(input, signWith, published.privateKey, unpublished.privateKey, published.publicKey)}`;
  };

  return {
    teamDomain,
    aud,
    certRequests: () => certRequests,
    groups,
    identityRequests: () => identityRequests,
    token,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function signature(input: string, signWith: TokenOptions["signWith"], key: KeyObject, otherKey: KeyObject, publicKey: KeyObject) {
  switch (signWith) {
    case "none":
      return "";
    case "hs256-public-key":
      // The classic algorithm-confusion attack: an HMAC keyed with the RSA public key.
      return createHmac("sha256", publicKey.export({ format: "pem", type: "spki" })).update(input).digest("base64url");
    case "unpublished":
      return sign("sha256", Buffer.from(input), otherKey).toString("base64url");
    default:
      return sign("sha256", Buffer.from(input), key).toString("base64url");
  }
}

/**
 * A generated self-hosted project under `wrangler dev` on a free loopback port, trusting `access`:
 * TEAM_DOMAIN and POLICY_AUD are passed as vars, as the project's own emulator does.
 */
export async function startSelfHostedWorker(project: string, access: FakeAccess): Promise<{ base: string; worker: Service }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const worker = startService(
    join(project, "node_modules", ".bin", "wrangler"),
    ["dev", "--ip", "127.0.0.1", "--port", String(port), "--var", `TEAM_DOMAIN:${access.teamDomain}`, "--var", `POLICY_AUD:${access.aud}`],
    { cwd: project, env: cleanEnv({ CI: "true" }) },
  );
  try {
    await waitForHttp(`${base}/`, worker);
  } catch (error) {
    await worker.stop();
    throw error;
  }
  return { base, worker };
}
