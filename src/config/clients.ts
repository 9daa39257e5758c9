/**
 * The MCP clients a server can name in `clients` (SPEC §3.2 `--client`), in one table: how each signs
 * in (its redirect URIs, and whether it registers by Client ID Metadata Document or by DCR) and how a
 * user adds a server to it. `provision` turns the chosen ones into Managed OAuth's `allowed_uris`, the
 * README's "Connect a client" section lists them, and the client matrix test signs in as each.
 *
 * Each entry says where its values come from. A client changes its callbacks rarely but without
 * notice: when one does, this table is the one place to change, and a project picks it up with
 * `regenerate` and `provision`.
 */

/** How a client identifies itself to an OAuth server it has never met. */
export type Registration = "cimd" | "dcr";

export interface KnownClient {
  /** How people call it. */
  label: string;
  /** CIMD clients name their metadata document (client_id = its URL); DCR clients register at /register. */
  registration: Registration;
  /** The client_id URL of its metadata document (CIMD clients). */
  metadataUrl?: string;
  /**
   * Every redirect URI it registers (a registration Access refuses if one is not allowed), examples
   * where a part varies: a loopback port (clients pick another when theirs is busy, RFC 8252 §7.3) or
   * a per-connector id. An https or private-use (`cursor://`) one must be allowed exactly or by a
   * pattern; a loopback one is allowed by `allow_any_on_loopback`/`_localhost`, whatever its port.
   */
  redirectUris: readonly string[];
  /** `allowed_uris` patterns for the URIs that vary (Managed OAuth takes a trailing `/*` on https URLs). */
  allowPatterns?: readonly string[];
  /**
   * How to add the server, as Markdown: `{url}` is the MCP URL, `{name}` the Worker's name, `{json:…}`
   * the same as a JSON string (for config snippets).
   */
  connect: string;
}

export const KNOWN_CLIENTS = {
  // Claude on the web, Desktop and mobile (custom connectors; Desktop ignores remote servers in its
  // config file). Callbacks, both hosts to allow: support.claude.com 11503834 "Building custom
  // connectors via remote MCP servers". CIMD URL: third-party reports (anthropics/claude-ai-mcp#518).
  claude: {
    label: "Claude (claude.ai, Claude Desktop)",
    registration: "cimd",
    metadataUrl: "https://claude.ai/oauth/mcp-oauth-client-metadata",
    redirectUris: ["https://claude.ai/api/mcp/auth_callback", "https://claude.com/api/mcp/auth_callback"],
    connect: "Settings → Connectors → Add custom connector, and paste `{url}`.",
  },
  // Claude Code: CIMD since 2.1.81, DCR otherwise; a loopback callback on a random port (127.0.0.1
  // since 2.1.229, localhost before), fixed with `--callback-port`. Source: anthropics/claude-code
  // CHANGELOG.md @5cfc0a19; the command: Claude Code docs, "Connect Claude Code to tools via MCP".
  "claude-code": {
    label: "Claude Code",
    registration: "cimd",
    metadataUrl: "https://claude.ai/oauth/claude-code-client-metadata",
    redirectUris: ["http://127.0.0.1:54212/callback", "http://localhost:54212/callback"],
    connect: "`claude mcp add --transport http {name} {url}`, then `/mcp` in Claude Code to sign in.",
  },
  // ChatGPT apps and connectors (developer mode): CIMD, DCR or a preset client (developers.openai.com
  // apps-sdk/build/auth). Callbacks: a per-connector `connector/oauth/<id>` (hence the pattern) and
  // the older fixed one; third-party reports only, consistent across projects (e.g. bytebase#20510).
  chatgpt: {
    label: "ChatGPT",
    registration: "dcr",
    redirectUris: ["https://chatgpt.com/connector/oauth/c0nnect0r1d", "https://chatgpt.com/connector_platform_oauth_redirect"],
    allowPatterns: ["https://chatgpt.com/connector/oauth/*"],
    connect: "Settings → Apps & Connectors → Advanced settings → Developer mode; then Create, paste `{url}` and choose OAuth.",
  },
  // Cursor: DCR registering all three of its callbacks (desktop loopback, web and Cloud Agents, the
  // older private-use scheme). Third-party reports only (plane-mcp-server#165, codemem#1286).
  cursor: {
    label: "Cursor",
    registration: "dcr",
    redirectUris: ["http://localhost:8787/callback", "https://www.cursor.com/agents/mcp/oauth/callback", "cursor://anysphere.cursor-mcp/oauth/callback"],
    connect: 'add to `~/.cursor/mcp.json`:\n\n```json\n{\n  "mcpServers": {\n    {json:name}: { "url": {json:url} }\n  }\n}\n```',
  },
  // VS Code: CIMD when the server advertises it, DCR with these four otherwise; its own listener is
  // 127.0.0.1:33418 (another port when busy). Source: microsoft/vscode src/vs/base/common/oauth.ts
  // @05f882b0; the CIMD URL is its product.json's `authClientIdMetadataUrl` (value from reports).
  vscode: {
    label: "VS Code",
    registration: "cimd",
    metadataUrl: "https://vscode.dev/oauth/client-metadata.json",
    redirectUris: ["https://insiders.vscode.dev/redirect", "https://vscode.dev/redirect", "http://127.0.0.1/", "http://127.0.0.1:33418/"],
    connect: 'add to `.vscode/mcp.json`:\n\n```json\n{\n  "servers": {\n    {json:name}: { "type": "http", "url": {json:url} }\n  }\n}\n```',
  },
  // Windsurf: the config file is in its docs (docs.windsurf.com, Cascade MCP); the callback is from one
  // third-party allowlist, next to loopback. Verify with a real Windsurf when it fails to register.
  windsurf: {
    label: "Windsurf",
    registration: "dcr",
    redirectUris: ["windsurf://codeium.windsurf-mcp/oauth/callback", "http://localhost:45678/oauth/callback"],
    connect: 'add to `~/.codeium/windsurf/mcp_config.json`:\n\n```json\n{\n  "mcpServers": {\n    {json:name}: { "serverUrl": {json:url} }\n  }\n}\n```',
  },
  // MCP Inspector 2: DCR; its web UI on 127.0.0.1:6274 (localhost when browsed there), its CLI on
  // :6276. Source: modelcontextprotocol/inspector @86d5f58e.
  inspector: {
    label: "MCP Inspector",
    registration: "dcr",
    redirectUris: ["http://127.0.0.1:6274/oauth/callback", "http://localhost:6274/oauth/callback", "http://127.0.0.1:6276/oauth/callback"],
    connect: "`npx @modelcontextprotocol/inspector`, transport Streamable HTTP, URL `{url}`.",
  },
  // mcp-remote 0.1.38, the stdio bridge for clients that only run local servers: DCR only, a localhost
  // callback on a port derived from the server URL (3335–49151). Source: geelen/mcp-remote @d26e5a82.
  "mcp-remote": {
    label: "mcp-remote (for clients that only run local servers)",
    registration: "dcr",
    redirectUris: ["http://localhost:31337/oauth/callback"],
    connect: 'in the client\'s config, run it as the server:\n\n```json\n{ "command": "npx", "args": ["mcp-remote", {json:url}] }\n```',
  },
  // The Workers AI Playground, the client Cloudflare's Managed OAuth guide tests with: the Agents SDK's
  // callback with a per-session room, hence the guide's pattern. Sources: cloudflare-docs
  // managed-oauth.mdx @03d4c2f7; cloudflare/agents @a0e134bb.
  "workers-playground": {
    label: "Workers AI Playground",
    registration: "dcr",
    redirectUris: ["https://playground.ai.cloudflare.com/agents/playground/r00m/callback"],
    allowPatterns: ["https://playground.ai.cloudflare.com/*"],
    connect: "open https://playground.ai.cloudflare.com, MCP Servers, enter `{url}` and Connect.",
  },
} as const satisfies Record<string, KnownClient>;

export type ClientName = keyof typeof KNOWN_CLIENTS;
export const CLIENT_NAMES = Object.keys(KNOWN_CLIENTS) as ClientName[];

/**
 * An entry of a project's `clients`: a name from the table, or the redirect URI of an app of the
 * user's own (validated by config/validate.ts: https, private-use scheme, or http on loopback).
 */
export type ClientChoice = ClientName | (string & {});

export function isClientName(value: string): value is ClientName {
  return Object.hasOwn(KNOWN_CLIENTS, value);
}

/** The table's entry for a name (typed as the general shape, so optional fields can be read). */
export const clientInfo = (name: ClientName): KnownClient => KNOWN_CLIENTS[name];

const isLoopback = (uri: string) => /^http:\/\/(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?\//.test(uri);

/**
 * What Managed OAuth's dynamic client registration must allow for these clients: the exact https and
 * private-use redirect URIs (and the table's https patterns), and whether any of them signs in on
 * loopback. Loopback URIs are not listed: a client may pick another port, which the loopback switches
 * allow and a list could not.
 */
export function managedOAuthAllowlist(clients: readonly ClientChoice[]): { allowedUris: string[]; loopback: boolean } {
  const uris = clients.flatMap((client) => {
    if (!isClientName(client)) return [client];
    const { redirectUris, allowPatterns = [] } = clientInfo(client);
    // A pattern stands for the examples it covers (`…/*` matches what starts with `…/`).
    const covered = (uri: string) => allowPatterns.some((pattern) => uri.startsWith(pattern.slice(0, -1)));
    return [...allowPatterns, ...redirectUris.filter((uri) => !covered(uri))];
  });
  return { allowedUris: [...new Set(uris.filter((uri) => !isLoopback(uri)))], loopback: uris.some(isLoopback) };
}

/** What create-mcp-access 0.1.0 allowed that the table no longer lists (MCP Inspector now rides on the loopback switches). */
const FORMERLY_ALLOWED = ["http://localhost:6274/oauth/callback"];

/** Every URI this tool has put in `allowed_uris`: what provision may take out again when a client is dropped. */
export function allKnownAllowedUris(): Set<string> {
  return new Set([...managedOAuthAllowlist(CLIENT_NAMES).allowedUris, ...FORMERLY_ALLOWED]);
}
