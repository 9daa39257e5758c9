/**
 * The shortest piece of the credential that is removed. Anything shorter is far from enough to use
 * the token, and longer would let a cut (at the size cap, or a JWT's `.`) keep too much of it.
 */
const MIN_PIECE = 12;
const MARK = "[credential removed]";

export interface Redacted {
  text: string;
  /** How many places held the credential, or a piece of it. */
  removed: number;
}

/**
 * Removes the user's credential from text that goes back to the MCP client. A downstream app may
 * echo request headers (debug endpoints, error pages), and the client must never get the token:
 * in saas mode it never has it, and with it a client could call every linked app as the user.
 *
 * Every piece of at least MIN_PIECE characters is removed, in the encodings an echo is likely to
 * use: as is (also cut at the size cap, or one segment of a JWT), JSON-escaped, percent-encoded,
 * hex, and base64 (of the token or of a whole header line, at any alignment). So are JWTs from
 * Access or from the credential's issuer. If the credential still shows once other escapes are
 * undone, the whole text is withheld.
 */
export function redactCredential(text: string, secret: string): Redacted {
  if (!secret) return { text, removed: 0 };
  const pieces = piecesOf(secret);
  const hidden = new Uint8Array(text.length);
  findPieces(asciiLower(text), pieces, (start, end) => {
    hidden.fill(1, start, end);
    return false;
  });
  // The app's own Access application may add the user's JWT for that app (Cf-Access-Jwt-Assertion,
  // CF_Authorization) to the requests it gets, and an echo shows it: a credential as well.
  const issuers = [issuerHost(secret), "cloudflareaccess.com"];
  for (const jwt of text.matchAll(JWT)) {
    const host = issuerHost(jwt[0]);
    if (host && issuers.some((issuer) => issuer && (host === issuer || host.endsWith(`.${issuer}`)))) {
      hidden.fill(1, jwt.index, jwt.index + jwt[0].length);
    }
  }
  let result = "";
  let removed = 0;
  for (let start = 0; start < text.length; ) {
    let end = start;
    while (end < text.length && hidden[end] === hidden[start]) end++;
    if (hidden[start]) removed++;
    result += hidden[start] ? MARK : text.slice(start, end);
    start = end;
  }
  // Escapes mixed in ways the encodings above do not cover (half percent-encoded, HTML entities…).
  const unescaped = unescapeLoosely(result);
  if (unescaped !== result && findPieces(asciiLower(unescaped), pieces, () => true)) {
    return { text: "[withheld: it contained the user's credential in an encoded form]", removed: removed + 1 };
  }
  return { text: result, removed };
}

const BASE = 131;
const FILTER_BITS = 20;

/**
 * The encodings of the secret (lower-cased), grouped by the length of a piece that stands for
 * MIN_PIECE characters of the secret, with the rolling hash of every such piece, as a bit set.
 */
type Pieces = Map<number, { encodings: string[]; hashes: Uint32Array }>;

function piecesOf(secret: string): Pieces {
  const bytes = new TextEncoder().encode(secret);
  const encodings = new Set(
    [
      secret,
      JSON.stringify(secret).slice(1, -1).replaceAll("/", "\\/"),
      encodeURIComponent(secret),
      [...bytes].map((byte) => `%${hex(byte)}`).join(""),
      [...bytes].map((byte) => `\\u00${hex(byte)}`).join(""),
      [...bytes].map(hex).join(""),
      // Inside a longer base64 text the secret starts at any byte offset: from the first whole
      // 3-byte group on, its encoding is one of these three.
      ...[0, 1, 2].flatMap((start) => {
        const whole = bytes.subarray(start, start + Math.floor((bytes.length - start) / 3) * 3);
        const base64 = btoa(String.fromCharCode(...whole));
        return [base64, base64.replaceAll("+", "-").replaceAll("/", "_")];
      }),
    ].map(asciiLower),
  );
  const pieces: Pieces = new Map();
  for (const encoding of encodings) {
    const length = Math.min(encoding.length, Math.ceil((MIN_PIECE * encoding.length) / secret.length));
    if (length === 0) continue;
    const entry = pieces.get(length) ?? { encodings: [], hashes: new Uint32Array(2 ** (FILTER_BITS - 5)) };
    entry.encodings.push(encoding);
    const top = power(length);
    let hash = 0;
    for (let i = 0; i < encoding.length; i++) {
      hash = roll(hash, encoding, i, length, top);
      if (i >= length - 1) {
        const bit = hash >>> (32 - FILTER_BITS);
        entry.hashes[bit >>> 5] = (entry.hashes[bit >>> 5] ?? 0) | (1 << (bit & 31));
      }
    }
    pieces.set(length, entry);
  }
  return pieces;
}

/**
 * Calls `found(start, end)` for every window of `text` that is a piece of the secret, until it
 * returns true; returns whether any was found. Rolling hashes keep this linear in the text's
 * length (the CPU time of a request is limited); a hash that matches is checked against the text.
 */
function findPieces(text: string, pieces: Pieces, found: (start: number, end: number) => boolean): boolean {
  let any = false;
  for (const [length, { encodings, hashes }] of pieces) {
    const top = power(length);
    let hash = 0;
    for (let i = 0; i < text.length; i++) {
      hash = roll(hash, text, i, length, top);
      if (i < length - 1) continue;
      const bit = hash >>> (32 - FILTER_BITS);
      if (!((hashes[bit >>> 5] ?? 0) & (1 << (bit & 31)))) continue;
      const window = text.slice(i - length + 1, i + 1);
      if (!encodings.some((encoding) => encoding.includes(window))) continue;
      any = true;
      if (found(i - length + 1, i + 1)) return true;
    }
  }
  return any;
}

/** The polynomial hash of the `length` characters ending at `i`, from the one ending at `i - 1`. */
function roll(hash: number, text: string, i: number, length: number, top: number): number {
  const dropped = i >= length ? Math.imul(text.charCodeAt(i - length), top) : 0;
  return (Math.imul(hash - dropped, BASE) + text.charCodeAt(i)) | 0;
}

/** BASE ** (length - 1) in 32-bit arithmetic: the weight of a window's first character. */
function power(length: number): number {
  let top = 1;
  for (let i = 1; i < length; i++) top = Math.imul(top, BASE);
  return top;
}

/** Undoes percent, JSON/JavaScript and HTML character escapes wherever they are, malformed or not. */
function unescapeLoosely(text: string): string {
  return text
    .replace(/%([0-9a-f]{2})/gi, (_, code: string) => String.fromCharCode(Number.parseInt(code, 16)))
    .replace(/\\u([0-9a-f]{4})|\\x([0-9a-f]{2})/gi, (_, u?: string, x?: string) =>
      String.fromCharCode(Number.parseInt(u ?? x ?? "", 16)),
    )
    .replace(/&#(x[0-9a-f]{1,6}|\d{1,7});?/gi, (entity, code: string) => {
      const point = /^x/i.test(code) ? Number.parseInt(code.slice(1), 16) : Number(code);
      return point <= 0x10ffff ? String.fromCodePoint(point) : entity;
    })
    .replace(/\\(.)/g, "$1");
}

const JWT = /eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{16,}/g;

/** The host of a JWT's `iss` claim, if `token` is a JWT that has one. */
function issuerHost(token: string): string | undefined {
  try {
    const payload = token.split(".")[1] ?? "";
    const claims = JSON.parse(atob(payload.replaceAll("-", "+").replaceAll("_", "/")));
    return typeof claims?.iss === "string" ? new URL(claims.iss).host : undefined;
  } catch {
    return undefined;
  }
}

/** Lower-cases ASCII only, so every index still points at the same character. */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}
