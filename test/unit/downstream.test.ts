import { afterEach, describe, expect, it, vi } from "vitest";
import { readBody } from "../../templates/common/src/downstream-body.js";
import { targetUrl } from "../../templates/common/src/downstream-path.js";
import { redactCredential } from "../../templates/common/src/downstream-redact.js";

/**
 * The generated project's downstream modules (templates/common/src/downstream-*.ts), imported as
 * they are: the path check, the capped body reader and the credential redaction.
 */

const app = { url: "https://wiki.example.com/api" };

interface ToolResult {
  isError?: boolean;
  content: { type: string; text?: string }[];
}
type CallDownstream = (
  app: { name: string; url: string },
  credential: { header: string; value: string },
  call: { method: string; path: string },
) => Promise<ToolResult>;
// Imported by a computed name, so that the repository's type check does not follow it into the
// generated project's dependencies (@modelcontextprotocol/server), which the repository lacks.
const toolModule = "downstream";
const { callDownstream } = (await import(`../../templates/common/src/${toolModule}.ts`)) as { callDownstream: CallDownstream };

describe("targetUrl", () => {
  it.each([
    ["/pages/42", "https://wiki.example.com/api/pages/42"],
    ["pages/42", "https://wiki.example.com/api/pages/42"],
    ["/", "https://wiki.example.com/api/"],
    ["/a.b/c", "https://wiki.example.com/api/a.b/c"],
    ["/v1.2/x", "https://wiki.example.com/api/v1.2/x"],
    ["/search", "https://wiki.example.com/api/search"],
    ["/.well-known/x", "https://wiki.example.com/api/.well-known/x"],
    ["/file..txt", "https://wiki.example.com/api/file..txt"],
    ["/wiki/Z%C3%BCrich", "https://wiki.example.com/api/wiki/Z%C3%BCrich"],
    ["/wiki/Zürich", "https://wiki.example.com/api/wiki/Z%C3%BCrich"],
    ["/wiki/What%3F", "https://wiki.example.com/api/wiki/What%3F"],
    ["/v1/items:batchGet", "https://wiki.example.com/api/v1/items:batchGet"],
    ["/a%20b", "https://wiki.example.com/api/a%20b"],
    ["/ﬁle", "https://wiki.example.com/api/%EF%AC%81le"],
  ])("accepts %j", (path, url) => {
    expect(targetUrl(app, path).href).toBe(url);
  });

  it.each([
    // URLs instead of paths
    "https://evil.example/x",
    "//evil.example/x",
    "javascript:alert(1)",
    // dot segments, plain and percent-encoded at any level
    "/../secret",
    "/api/../../secret",
    "/./x",
    "/..",
    "/%2e%2e/secret",
    "/%2E%2E/secret",
    "/.%2e/secret",
    "/%2e/x",
    "/%252e%252e/secret",
    "/%25252e%25252e/secret",
    // path parameters (Tomcat, Jetty, Spring drop them before resolving dots)
    "/..;/secret",
    "/.;/x",
    "/%2e%2e;/secret",
    "/..;jsessionid=1/secret",
    "/x;a=b",
    "/..%3b/secret",
    // encoded separators, which servers decode before routing
    "/..%2fsecret",
    "/%2F..%2Fsecret",
    "/..%5csecret",
    "/%5c..%5csecret",
    "\\\\evil.example\\x",
    "/..\\secret",
    // double encoding and malformed escapes
    "/%25",
    "/%%32%65%%32%65/secret",
    "/%u002e%u002e/secret",
    "/%2",
    // overlong and invalid UTF-8 for . and /
    "/%c0%ae%c0%ae/secret",
    "/%e0%80%ae/x",
    "/%c0%af",
    "/%ff",
    // Unicode that normalises to dots or separators (NFKC, Windows best fit)
    "/．．/secret",
    "/%EF%BC%8E%EF%BC%8E/secret",
    "/..／secret",
    "/..＼secret",
    "/‥/secret",
    "/﹒﹒/secret",
    "/..∕secret",
    "/..⁄secret",
    "/..¥secret",
    "/..₩secret",
    "/。。/secret",
    "/%EF%BC%85%32%65/x",
    "/..；/secret",
    // what Windows trims to dots: trailing dots and spaces, stream names
    "/.. /secret",
    "/..%20/secret",
    "/.../secret",
    "/. ./secret",
    "/..\u00a0/secret",
    "/..::$INDEX_ALLOCATION/secret",
    // invisible characters servers drop
    "/.\u200b./secret",
    "/a\u0000b",
    "/a%00b",
    "/a\nb",
    "/a%0d%0ab",
    "/a\u007fb",
    // query, fragment and user info do not belong in a path
    "/x?admin=1",
    "/x#frag",
    "/@evil.example",
    "/%40evil.example",
  ])("refuses %j", (path) => {
    expect(() => targetUrl(app, path)).toThrow(expect.objectContaining({ name: "UnsafePathError" }));
  });

  it("adds the query parameters, encoded", () => {
    expect(targetUrl(app, "/s", { q: "a b&c", n: 1, all: true }).href).toBe("https://wiki.example.com/api/s?q=a+b%26c&n=1&all=true");
  });
});

/** A body that sends `chunks` one after the other, and records how many were pulled and whether it was cancelled. */
function streamed(chunks: Iterable<Uint8Array>, contentType = "text/plain") {
  const source = chunks[Symbol.iterator]();
  const seen = { pulled: 0, cancelled: false };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = source.next();
      if (next.done) return controller.close();
      seen.pulled++;
      controller.enqueue(next.value);
    },
    cancel() {
      seen.cancelled = true;
    },
  });
  return { response: new Response(body, { headers: { "Content-Type": contentType } }), seen };
}

function* endless(chunk: Uint8Array) {
  for (;;) yield chunk;
}

describe("readBody", () => {
  const never = new AbortController().signal;

  it("reads a short body whole", async () => {
    const body = await readBody(new Response("héllo"), 64, never);
    expect(body).toEqual({ text: "héllo", bytes: 6 });
  });

  it("stops at the byte cap and cancels an endless body", async () => {
    const { response, seen } = streamed(endless(new Uint8Array(1000).fill(0x61)));
    const body = await readBody(response, 2500, never);
    expect(body).toMatchObject({ bytes: 2500, cut: "size" });
    expect(body.text).toBe("a".repeat(2500));
    expect(seen.cancelled).toBe(true);
    expect(seen.pulled).toBeLessThanOrEqual(5);
  });

  it("is not cut when the body is exactly the cap", async () => {
    const { response } = streamed([new TextEncoder().encode("abcd")]);
    expect(await readBody(response, 4, never)).toEqual({ text: "abcd", bytes: 4 });
  });

  it("leaves out a multi-byte character that the cap cuts in two", async () => {
    // "zü€😀": 1 + 2 + 3 + 4 bytes; every cut inside a character drops that character.
    const bytes = new TextEncoder().encode("zü€😀!");
    const expected = ["", "z", "z", "zü", "zü", "zü", "zü€", "zü€", "zü€", "zü€", "zü€😀"];
    for (let cap = 0; cap <= 10; cap++) {
      const body = await readBody(streamed([bytes.subarray(0, 2), bytes.subarray(2)]).response, cap, never);
      expect([cap, body.text, body.cut]).toEqual([cap, expected[cap], "size"]);
    }
  });

  it("decodes the charset the response names", async () => {
    const latin1 = new Uint8Array([0x5a, 0xfc, 0x72, 0x69, 0x63, 0x68]);
    const body = await readBody(streamed([latin1], "text/plain; charset=ISO-8859-1").response, 100, never);
    expect(body.text).toBe("Zürich");
    const unknown = await readBody(streamed([new TextEncoder().encode("ok")], "text/plain; charset=x-nonsense").response, 100, never);
    expect(unknown.text).toBe("ok");
  });

  it("stops at the deadline when the body dribbles, and cancels it", async () => {
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("first "));
      },
      cancel() {
        cancelled = true;
      },
    });
    const deadline = new AbortController();
    const reading = readBody(new Response(body), 1000, deadline.signal);
    setTimeout(() => deadline.abort(new DOMException("late", "TimeoutError")), 10);
    expect(await reading).toEqual({ text: "first ", bytes: 6, cut: "time" });
    expect(cancelled).toBe(true);
  });

  it("reports a body that broke off as cut", async () => {
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new TextEncoder().encode("part"));
        controller.error(new Error("reset"));
      },
    });
    expect(await readBody(new Response(body), 1000, never)).toEqual({ text: "part", bytes: 4, cut: "broken" });
  });
});

/** A token shaped like an Access JWT: three base64url segments, the last one long. */
const jwt = [
  btoa(JSON.stringify({ alg: "RS256", kid: "k1" })),
  btoa(JSON.stringify({ aud: ["x"], email: "ada@example.com", type: "app", exp: 2e9 })),
  btoa(String.fromCharCode(...Array.from({ length: 256 }, (_, i) => (i * 37 + 11) % 256))),
]
  .map((part) => part.replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", ""))
  .join(".");
/** An opaque token in standard base64, with the characters escaping changes. */
const opaque = "Zm9v+YmFy/YmF6+cXV4/cXV1eA+x/y+z/0123456789+abcdefghijklmno/pqrs==";

const base64 = (text: string) => btoa(text);
const base64url = (text: string) => btoa(text).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
const hex = (text: string) => [...new TextEncoder().encode(text)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
const percentAll = (text: string) => [...new TextEncoder().encode(text)].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, "0")}`).join("");

/** No piece of `secret` of 12 characters or more is left in `text`, in its own form. */
function expectNoPiece(text: string, secret: string) {
  for (let i = 0; i + 12 <= secret.length; i++) expect(text).not.toContain(secret.slice(i, i + 12));
}

describe.each([
  ["a JWT", jwt],
  ["an opaque base64 token", opaque],
])("redactCredential, %s", (_, token) => {
  it.each([
    ["as is", (t: string) => `{"headers":{"cf-access-token":"${t}"}}`],
    ["in a header echo", (t: string) => `Authorization: Bearer ${t}\r\nHost: x`],
    ["JSON-escaped", (t: string) => JSON.stringify({ token: t }).replaceAll("/", "\\/")],
    ["JSON \\u-escaped", (t: string) => [...t].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("")],
    ["percent-encoded", (t: string) => `https://x/?t=${encodeURIComponent(t)}`],
    ["fully percent-encoded", (t: string) => percentAll(t)],
    ["fully percent-encoded, lower case", (t: string) => percentAll(t).toLowerCase()],
    ["in hex", (t: string) => hex(t)],
    ["in upper-case hex", (t: string) => hex(t).toUpperCase()],
    ["base64 of the token", (t: string) => base64(t)],
    ["base64 of the header line", (t: string) => base64(`Authorization: Bearer ${t}`)],
    ["base64 of the header line, one byte on", (t: string) => base64(`Cf-Access-Token:  ${t}`)],
    ["base64 of the header line, two bytes on", (t: string) => base64(`Cf-Access-Token:   ${t}`)],
    ["base64url of the header line", (t: string) => base64url(`x-echo: ${t}`)],
    ["cut in the middle", (t: string) => `...${t.slice(0, Math.floor(t.length / 2))}`],
    ["the last part only", (t: string) => t.slice(-40)],
    ["each segment on its own line", (t: string) => t.split(".").join("\n")],
  ])("removes it %s", (_, encode) => {
    const { text, removed } = redactCredential(`before ${encode(token)} after`, token);
    expect(removed).toBeGreaterThan(0);
    expect(text).toContain("before");
    expectNoPiece(text, token);
    for (const form of [hex(token), percentAll(token), encodeURIComponent(token), base64(token)]) expectNoPiece(text.toLowerCase(), form.toLowerCase());
  });

  it.each([
    ["as HTML entities", (t: string) => [...t].map((c) => `&#${c.charCodeAt(0)};`).join("")],
    ["half percent-encoded", (t: string) => [...t].map((c, i) => (i % 2 ? `%${c.charCodeAt(0).toString(16)}` : c)).join("")],
    ["in mixed escapes", (t: string) => [...t].map((c, i) => [c, `\\x${c.charCodeAt(0).toString(16)}`, `&#x${c.charCodeAt(0).toString(16)};`][i % 3]).join("")],
  ])("withholds the whole text when it is there %s", (_, encode) => {
    const { text, removed } = redactCredential(`before ${encode(token)} after`, token);
    expect(text).toMatch(/^\[withheld: .*credential.*\]$/);
    expect(removed).toBeGreaterThan(0);
  });

  it("leaves text without it alone", () => {
    const text = '{"id":42,"title":"Zürich","token":"not-the-one","jwt":"eyJhbGciOiJIUzI1NiJ9.e30.sig"}';
    expect(redactCredential(text, token)).toEqual({ text, removed: 0 });
  });

  it("counts each place", () => {
    const { text, removed } = redactCredential(`a ${token} b ${token} c`, token);
    expect(text).toBe("a [credential removed] b [credential removed] c");
    expect(removed).toBe(2);
  });
});

describe.each([
  ["self-hosted", { header: "Cf-Access-Token", value: jwt } as const, jwt],
  ["saas", { header: "Authorization", value: `Bearer ${opaque}` } as const, opaque],
])("callDownstream (%s)", (_, credential, token) => {
  const wiki = { name: "wiki", url: "https://wiki.example.com/api" };
  let sent: Request[];

  /** Answers the call with `answer`, recording what was sent. */
  function answer(respond: (request: Request) => Response) {
    sent = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input, init);
      sent.push(request);
      return respond(request);
    });
  }
  afterEach(() => vi.restoreAllMocks());

  const textOf = (result: ToolResult) => result.content.map((item) => item.text ?? "").join("\n");

  it("sends the credential, and reads an endless body only up to the cap", async () => {
    const { response, seen } = streamed(endless(new Uint8Array(16 * 1024).fill(0x61)));
    answer(() => response);
    const result = await callDownstream(wiki, credential, { method: "GET", path: "/export" });
    expect(sent[0]?.headers.get(credential.header)).toBe(credential.value);
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toMatch(/cut: .* 65536 bytes/);
    expect(textOf(result)).toContain("a".repeat(65536));
    expect(textOf(result)).not.toContain("a".repeat(65537));
    expect(seen.cancelled).toBe(true);
    expect(seen.pulled).toBeLessThanOrEqual(6);
  });

  const echo = (request: Request) => JSON.stringify(Object.fromEntries(request.headers));
  it.each([
    ["a 200 body", (request: Request) => new Response(echo(request), { status: 200 })],
    ["a 403 body", (request: Request) => new Response(echo(request), { status: 403 })],
    ["a 500 body", (request: Request) => new Response(`<pre>${echo(request)}</pre>`, { status: 500 })],
    ["a redirect's Location", () => new Response(null, { status: 302, headers: { Location: `https://x.example/?t=${encodeURIComponent(token)}` } })],
    ["the status text", () => new Response("ok", { status: 200, statusText: `OK ${token}` })],
    ["an error's status text", () => new Response("no", { status: 502, statusText: token })],
    ["the content type", () => new Response("ok", { headers: { "Content-Type": `text/plain; echo=${token}` } })],
    ["a body cut at the cap", () => new Response(`${"x".repeat(65536 - 100)}${token}`)],
    ["base64 of the header line", () => new Response(btoa(`${credential.header}: ${credential.value}`))],
  ])("never returns the credential from %s, and says so", async (_, respond) => {
    answer(respond);
    const result = await callDownstream(wiki, credential, { method: "GET", path: "/echo" });
    expectNoPiece(textOf(result), token);
    expect(textOf(result)).toMatch(/credential was removed/);
  });

  it("refuses an unsafe path before any request", async () => {
    answer(() => new Response("ok"));
    const result = await callDownstream(wiki, credential, { method: "GET", path: "/..;/secret" });
    expect(result.isError).toBe(true);
    expect(sent).toEqual([]);
  });
});

describe("redactCredential, other Access tokens", () => {
  const jwtWith = (claims: object, header: object = { alg: "RS256", kid: "k2" }) =>
    [header, claims]
      .map((part) => base64url(JSON.stringify(part)))
      .concat(base64url(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(64)))))
      .join(".");
  const own = jwtWith({ aud: ["mcp"], iss: "http://127.0.0.1:8787", email: "ada@example.com" });

  it.each([
    ["the app's own Access JWT", jwtWith({ iss: "https://acme.cloudflareaccess.com", aud: ["wiki"], type: "app" })],
    ["an Access for SaaS token", jwtWith({ iss: "https://acme.cloudflareaccess.com/cdn-cgi/access/sso/oidc/abc", sub: "x" })],
    ["a token from the credential's issuer", jwtWith({ iss: "http://127.0.0.1:8787", aud: ["other"] })],
  ])("removes %s that an echo shows", (_, other) => {
    const { text, removed } = redactCredential(`cf-access-jwt-assertion: ${other}\ncookie: CF_Authorization=${other}`, own);
    expect(text).toBe("cf-access-jwt-assertion: [credential removed]\ncookie: CF_Authorization=[credential removed]");
    expect(removed).toBe(2);
  });

  it("keeps a JWT from another issuer", () => {
    // Another header and other claims: where a JWT is the same as the credential for 12 characters
    // or more (the same header, say), those are removed like any other piece of it.
    const other = jwtWith({ sub: "x", iss: "https://accounts.example.com" }, { typ: "JWT", alg: "ES256" });
    expect(redactCredential(`id_token: ${other}`, own)).toEqual({ text: `id_token: ${other}`, removed: 0 });
  });
});
