import {
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
  UnsecuredJWT,
} from "jose";

type Signer = "access" | "impostor";

/** The `kid` the tests' Access key is published under. The impostor's tokens claim it too. */
const KEY_ID = "test-access-key";

// Generated on first use (generating RSA keys is the slow part of these tests), then kept.
const keyPairs = new Map<Signer, Promise<{ privateKey: CryptoKey; publicKey: CryptoKey }>>();

function keyPair(signer: Signer) {
  let pair = keyPairs.get(signer);
  if (!pair) {
    pair = generateKeyPair("RS256", { extractable: true });
    keyPairs.set(signer, pair);
  }
  return pair;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** The key set Access publishes: the public half of the key the tests sign as Access with. */
export async function accessJwks(): Promise<{ keys: JWK[] }> {
  const { publicKey } = await keyPair("access");
  return { keys: [{ ...(await exportJWK(publicKey)), kid: KEY_ID, alg: "RS256", use: "sig" }] };
}

/** A JWT signed the way Access signs: RS256, with its `kid`. The impostor signs with a key Access never published. */
export async function signAsAccess(claims: JWTPayload, signer: Signer = "access"): Promise<string> {
  const { privateKey } = await keyPair(signer);
  return new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: KEY_ID, typ: "JWT" }).sign(privateKey);
}

/** An unsigned JWT (`alg: none`). */
export function unsignedToken(claims: JWTPayload): string {
  return new UnsecuredJWT(claims).encode();
}

/** An HS256 JWT keyed with Access's public key: the algorithm-confusion attack on RS256 verifiers. */
export async function publicKeyHmacToken(claims: JWTPayload): Promise<string> {
  const { publicKey } = await keyPair("access");
  const secret = new TextEncoder().encode(await exportSPKI(publicKey));
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid: KEY_ID, typ: "JWT" }).sign(secret);
}
