import { generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Client ID Metadata Documents served over https on loopback, for a Worker under `wrangler dev`.
 * Miniflare's outbound network allows private addresses and trusts the certificates in
 * NODE_EXTRA_CA_CERTS, so `npm run dev` started with `caFile` in that variable fetches these
 * documents as a deployed Worker fetches a real client's. The certificate is made per run, here,
 * without openssl.
 */

// ---------------------------------------------------------------------------------------------
// A self-signed X.509 certificate, DER-encoded by hand (RFC 5280): just the fields TLS checks.

/** One DER element: tag, length (up to 64 KiB, plenty here), content. */
function der(tag: number, content: Buffer): Buffer {
  const length = content.length;
  const header =
    length < 0x80 ? Buffer.from([tag, length]) : length < 0x100 ? Buffer.from([tag, 0x81, length]) : Buffer.from([tag, 0x82, length >> 8, length & 0xff]);
  return Buffer.concat([header, content]);
}
const sequence = (...items: Buffer[]) => der(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => der(0x31, Buffer.concat(items));
const explicit = (number: number, item: Buffer) => der(0xa0 + number, item);
const octets = (content: Buffer) => der(0x04, content);
const bits = (content: Buffer) => der(0x03, Buffer.concat([Buffer.from([0]), content]));
const utf8 = (text: string) => der(0x0c, Buffer.from(text, "utf8"));
const utcTime = (date: Date) => der(0x17, Buffer.from(`${date.toISOString().slice(2, 19).replace(/[-T:]/g, "")}Z`, "ascii"));

function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split(".").map(Number);
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const base128 = [arc & 0x7f];
    for (let value = arc >> 7; value > 0; value >>= 7) base128.unshift((value & 0x7f) | 0x80);
    bytes.push(...base128);
  }
  return der(0x06, Buffer.from(bytes));
}

function integer(value: Buffer): Buffer {
  // Positive: a leading zero byte when the high bit is set.
  return der(0x02, value[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), value]) : value);
}

/** 16 random bytes, the first in 0x01–0x7f: positive, and minimal DER (no leading zero byte, which strict parsers refuse). */
function serialNumber(): Buffer {
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  return serial;
}

const extension = (id: string, value: Buffer) => sequence(oid(id), octets(value));

export interface Certificate {
  /** PEM private key (PKCS #8). */
  key: string;
  /** PEM certificate: its own issuer, and what a client must trust. */
  cert: string;
}

/** An ECDSA P-256 certificate for `localhost` and 127.0.0.1, valid from an hour ago for a day. */
export function selfSignedCertificate(): Certificate {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const ecdsaWithSha256 = sequence(oid("1.2.840.10045.4.3.2"));
  const name = sequence(set(sequence(oid("2.5.4.3"), utf8("localhost"))));
  const now = Date.now();
  const subjectAltName = sequence(der(0x82, Buffer.from("localhost")), der(0x87, Buffer.from([127, 0, 0, 1])));
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))),
    integer(serialNumber()),
    ecdsaWithSha256,
    name,
    sequence(utcTime(new Date(now - 3600_000)), utcTime(new Date(now + 86_400_000))),
    name,
    publicKey.export({ type: "spki", format: "der" }),
    explicit(
      3,
      sequence(
        extension("2.5.29.17", subjectAltName),
        // extendedKeyUsage: serverAuth.
        extension("2.5.29.37", sequence(oid("1.3.6.1.5.5.7.3.1"))),
      ),
    ),
  );
  const certificate = sequence(tbs, ecdsaWithSha256, bits(sign("sha256", tbs, privateKey)));
  const base64 = certificate.toString("base64").replace(/.{64}/g, "$&\n");
  return {
    key: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    cert: `-----BEGIN CERTIFICATE-----\n${base64.trimEnd()}\n-----END CERTIFICATE-----\n`,
  };
}

// ---------------------------------------------------------------------------------------------

/** How the server answers one path: a JSON document, or a handler for the request. */
export type DocumentAnswer = { json: unknown; headers?: Record<string, string> } | ((response: ServerResponse) => void);

/** An https server on 127.0.0.1 that serves client metadata documents, and counts who asked. */
export class CimdServer {
  /** Every path a request asked for, in order. */
  readonly requests: string[] = [];
  private readonly answers = new Map<string, DocumentAnswer>();

  private constructor(
    private readonly server: Server,
    private readonly dir: string,
    /** e.g. https://127.0.0.1:4443 */
    readonly origin: string,
    /** The certificate's PEM file: what NODE_EXTRA_CA_CERTS must name for a fetch to trust this server. */
    readonly caFile: string,
  ) {}

  static async start(): Promise<CimdServer> {
    const { key, cert } = selfSignedCertificate();
    const dir = mkdtempSync(join(tmpdir(), "cimd-"));
    const caFile = join(dir, "ca.pem");
    writeFileSync(caFile, cert);
    let self: CimdServer | undefined;
    const server = createServer({ key, cert }, (req, res) => {
      const path = new URL(req.url ?? "/", "https://127.0.0.1").pathname;
      self!.requests.push(path);
      const answer = self!.answers.get(path);
      if (!answer) return void res.writeHead(404).end();
      if (typeof answer === "function") return answer(res);
      res.writeHead(200, { "content-type": "application/json", ...answer.headers });
      res.end(JSON.stringify(answer.json));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    self = new CimdServer(server, dir, `https://127.0.0.1:${(server.address() as AddressInfo).port}`, caFile);
    return self;
  }

  /** The URL of `path` on this server: a client ID. */
  url(path: string): string {
    return `${this.origin}${path}`;
  }

  /** Serves `answer` at `path` from now on. */
  serve(path: string, answer: DocumentAnswer): string {
    this.answers.set(path, answer);
    return this.url(path);
  }

  /** How many requests asked for `path`. */
  count(path: string): number {
    return this.requests.filter((requested) => requested === path).length;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    rmSync(this.dir, { recursive: true, force: true });
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
