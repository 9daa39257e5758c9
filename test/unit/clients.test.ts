import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLIENT_NAMES, KNOWN_CLIENTS, managedOAuthAllowlist } from "../../src/config/clients.js";
import { clients, InvalidValue, NETWORK_SCHEMES, validateAnswers } from "../../src/config/validate.js";
import { render } from "../../src/render/render.js";
import { configWith, renderMeta, repoTemplates } from "../support/memory.js";
import { repoRoot } from "../support/processes.js";

describe("clients: validation", () => {
  it("takes the table's names in any case, and apps' own redirect URIs: https, their own scheme, http on loopback", () => {
    expect(clients("Claude, VSCODE")).toEqual(["claude", "vscode"]);
    expect(clients(["https://app.example.com/oauth/callback", "https://app.example.com/oauth/*", "com.example.app:/oauth2redirect", "myapp://cb", "http://127.0.0.1:9000/cb"])).toHaveLength(5);
  });

  it.each([
    ["an unknown name", "claud", /neither a known client \(claude, claude-code.*\) nor a redirect URI/],
    ["a remote http URI", "http://app.example.com/cb", /must use https:\/\//],
    ["a script scheme", "javascript://alert(1)", /javascript: is not an app's redirect URI/],
    ["a data URI", "data:text/html,<script>", /data: is not an app's redirect URI/],
    ["a file URI", "file:///etc/passwd", /file: is not an app's redirect URI/],
    ["a network protocol the system handles", "smb://files.example.com/share", /smb: is not an app's redirect URI/],
    ["another one, in capitals", "LDAP://dir.example.com/cb", /ldap: is not an app's redirect URI/],
    ["a wildcard in a private-use scheme", "myapp://*", /matches an app's own scheme exactly/],
    ["a wildcard inside a path", "https://app.example.com/*/cb", /only as a whole last path segment/],
    ["a wildcard in the host", "https://*.example.com/cb", /must name its host|only as a whole last path segment/],
    ["a fragment", "https://app.example.com/cb#x", /must not have a fragment/],
    ["credentials", "https://user:pw@app.example.com/cb", /user name or password/],
    ["an IP host", "https://10.0.0.1/cb", /must name its host/],
    ["a control character", "myapp://cb\u0000x", /control characters/],
    ["a loopback wildcard", "http://127.0.0.1:9000/*", /no wildcard on loopback/],
  ])("refuses %s, naming it and the fix", (_, value, message) => {
    expect(() => clients([value])).toThrow(InvalidValue);
    expect(() => clients([value])).toThrow(message);
  });

  it("refuses an empty list and the same client twice (a URI's scheme and host in any case)", () => {
    expect(() => clients([])).toThrow(/at least one client/);
    expect(() => clients(["claude", "CLAUDE"])).toThrow(/"claude" is given twice/);
    expect(() => clients(["https://App.Example.com/cb", "https://app.example.com/cb"])).toThrow(/given twice/);
  });

  it("an error names --client or the file key, and leaving clients out means every known one", () => {
    expect(() => validateAnswers({ name: "srv", auth: "saas", clients: ["nope"] })).toThrow(
      expect.objectContaining({ details: [expect.stringMatching(/^--client: "nope" is neither a known client/)] }),
    );
    expect(validateAnswers({ name: "srv", auth: "saas" }).clients).toBeUndefined();
  });
});

it("refuses every network scheme the saas Worker refuses at /authorize, and no other list drifts from it", () => {
  const auth = readFileSync(join(repoRoot, "templates/saas/src/auth.ts"), "utf8");
  const workerList = /const NETWORK_SCHEMES = new Set\(\s*"([^"]+)"/.exec(auth)?.[1]?.split(" ");
  expect(workerList).toEqual(NETWORK_SCHEMES);
  for (const scheme of NETWORK_SCHEMES) expect(() => clients([`${scheme}://host.example.com/cb`]), scheme).toThrow(/is not an app's redirect URI/);
});

describe("clients: the table", () => {
  it("every entry has redirect URIs, CIMD clients a metadata URL, and each pattern covers at least one of its examples", () => {
    for (const [name, entry] of Object.entries(KNOWN_CLIENTS) as [string, (typeof KNOWN_CLIENTS)[keyof typeof KNOWN_CLIENTS]][]) {
      expect(entry.redirectUris.length, name).toBeGreaterThan(0);
      expect(clients(entry.redirectUris as unknown as string[]), name).toHaveLength(entry.redirectUris.length);
      if (entry.registration === "cimd") expect("metadataUrl" in entry && entry.metadataUrl.startsWith("https://"), name).toBe(true);
      for (const pattern of "allowPatterns" in entry ? entry.allowPatterns : []) {
        expect(entry.redirectUris.some((uri) => uri.startsWith(pattern.slice(0, -1))), `${name}: ${pattern}`).toBe(true);
      }
    }
  });

  it("the allowlist has no loopback URI and no URI a pattern already covers", () => {
    const { allowedUris, loopback } = managedOAuthAllowlist(CLIENT_NAMES);
    expect(loopback).toBe(true);
    expect(allowedUris.filter((uri) => uri.startsWith("http:"))).toEqual([]);
    expect(allowedUris).not.toContain("https://chatgpt.com/connector/oauth/c0nnect0r1d");
    expect(managedOAuthAllowlist(["claude"]).loopback).toBe(false);
  });

  it("the shipped JSON Schema lists exactly the table's names", async () => {
    const templates = await repoTemplates();
    const schema = JSON.parse(templates.schema);
    expect(schema.properties.clients.items.anyOf[0].enum).toEqual(CLIENT_NAMES);
  });
});

describe("clients: the README's Connect a client section", () => {
  const section = (readme: string) => readme.slice(readme.indexOf("## Connect a client"), readme.indexOf("\n## ", readme.indexOf("## Connect a client") + 1));

  it.each(["self-hosted", "saas"] as const)("%s: lists every known client by default, from the table, with the server's URL and name", async (auth) => {
    const config = configWith({ auth, name: "wiki-mcp", domain: "mcp.example.com" });
    const readme = section(render(config, await repoTemplates(config), renderMeta).get("README.md")!);
    for (const name of CLIENT_NAMES) expect(readme).toContain(`**${KNOWN_CLIENTS[name].label.replace(/[()]/g, (c) => `\\${c}`)}**`);
    expect(readme).toContain("`claude mcp add --transport http wiki-mcp https://mcp.example.com/mcp`");
    expect(readme).toContain('"wiki-mcp": { "type": "http", "url": "https://mcp.example.com/mcp" }');
    if (auth === "self-hosted") expect(readme).toContain("`https://chatgpt.com/connector/oauth/*`");
    else expect(readme).toMatch(/Client ID Metadata Document or by dynamic client registration/);
  });

  it("lists only the chosen clients, and an app of your own by its redirect URI; the manual setup names exactly provision's callbacks", async () => {
    const config = configWith({ auth: "self-hosted", clients: ["cursor", "myapp://oauth/callback"] });
    const readme = render(config, await repoTemplates(config), renderMeta).get("README.md")!;
    const connect = section(readme);
    expect(connect).toContain("**Cursor**");
    expect(connect).not.toContain("**Claude");
    expect(connect).toContain("`myapp://oauth/callback`");
    expect(readme).toContain(
      "loopback redirect URIs and for your clients' callback URLs (`https://www.cursor.com/agents/mcp/oauth/callback`, `cursor://anysphere.cursor-mcp/oauth/callback`, `myapp://oauth/callback`)",
    );
    const claudeOnly = configWith({ auth: "self-hosted", clients: ["claude"] });
    expect(render(claudeOnly, await repoTemplates(claudeOnly), renderMeta).get("README.md")).not.toMatch(/localhost and\s+loopback redirect URIs/);
  });
});
