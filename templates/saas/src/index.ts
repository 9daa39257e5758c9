import { OAuthProvider } from "@cloudflare/workers-oauth-provider";
import { createMcpHandler } from "@modelcontextprotocol/server";
import { AccessConfigError, isAllowedOrigin, readAccessOidcConfig } from "./access-oidc";
import { exchangeTokens, handleAuthRequest, MAX_ACCESS_TOKEN_TTL, type AuthEnv, type McpProps } from "./auth";
import { createServer, SERVER_NAME } from "./server";

const MCP_PATH = "/mcp";

/** `/mcp`, reached only with a valid, unexpired MCP access token for this origin's `/mcp` resource. */
const mcpHandler = {
  async fetch(request: Request, _env: Env, ctx: ExecutionContext): Promise<Response> {
    // The provider decrypted these from the token: what tokenExchangeCallback stored for it.
    const { identity, upstream } = ctx.props as McpProps;
    // The token is bound to the Access token it was issued with: once that has expired, so has this
    // one, even in the last seconds the provider's 60-second minimum lifetime may leave it. The
    // client answers `invalid_token` by refreshing, which refreshes the Access token too.
    if (Date.now() / 1000 >= upstream.expiresAt) {
      const metadataUrl = new URL(`/.well-known/oauth-protected-resource${MCP_PATH}`, request.url).href;
      return Response.json(
        { error: "invalid_token", error_description: "The access token has expired." },
        {
          status: 401,
          headers: {
            "WWW-Authenticate": `Bearer realm="OAuth", resource_metadata="${metadataUrl}", error="invalid_token"`,
            "Cache-Control": "no-store",
          },
        },
      );
    }

    // A new handler and server for every request. The server is stateless (2025-era clients get no
    // session, 2026-07-28 clients need none), so any isolate can answer any request, and the
    // caller's identity lives only in this request's closures.
    const mcp = createMcpHandler(() => createServer(identity), {
      onerror: (error) => console.warn(`MCP: ${error.message}`),
    });
    const response = await mcp.fetch(request);
    // The provider adds the rest of CORS; browser clients must also read these two.
    const headers = new Headers(response.headers);
    headers.append("Access-Control-Expose-Headers", "Mcp-Session-Id, MCP-Protocol-Version");
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  },
} satisfies ExportedHandler<Env>;

/** Everything else that the provider does not answer itself: the consent page and Access's callback. */
const authHandler = {
  async fetch(request: Request, env: Env): Promise<Response> {
    // The provider adds `OAUTH_PROVIDER` to the env it hands its default handler. The config was
    // checked before the provider ran; it is read again here for the typed values.
    return handleAuthRequest(request, env as AuthEnv, readAccessOidcConfig(env));
  },
} satisfies ExportedHandler<Env>;

// The provider needs this server's canonical resource URL when it is constructed, and the URL is
// not known before the first request (workers.dev subdomain, custom domain, a preview URL, or a
// loopback port in development). So there is one provider per origin the Worker is reached on;
// Cloudflare routes only this Worker's own hostnames here. Tokens are bound to the origin that
// issued them, as RFC 8707 intends.
const providers = new Map<string, OAuthProvider<Env>>();
const MAX_CACHED_PROVIDERS = 16;

function providerFor(origin: string): OAuthProvider<Env> {
  let provider = providers.get(origin);
  if (provider) return provider;
  provider = new OAuthProvider<Env>({
    apiRoute: MCP_PATH,
    apiHandler: mcpHandler,
    defaultHandler: authHandler,
    authorizeEndpoint: "/authorize",
    tokenEndpoint: "/token",
    clientRegistrationEndpoint: "/register",
    resourceMetadata: {
      resource: `${origin}${MCP_PATH}`,
      authorization_servers: [origin],
      resource_name: SERVER_NAME,
    },
    // An upper bound: tokenExchangeCallback shortens it to the Access token's remaining lifetime.
    accessTokenTTL: MAX_ACCESS_TOKEN_TTL,
    tokenExchangeCallback: exchangeTokens,
  });
  if (providers.size < MAX_CACHED_PROVIDERS) providers.set(origin, provider);
  return provider;
}

export default {
  async fetch(request, env, ctx): Promise<Response> {
    const url = new URL(request.url);
    // Workers are served over https. Plain http is `wrangler dev` on loopback; any other http host
    // is a DNS-rebinding page talking to a local dev server, or a misrouted request.
    if (!isAllowedOrigin(url)) return new Response("Misdirected request", { status: 421 });
    const provider = providerFor(url.origin);

    // CORS preflights are answered by the provider before anything else, without credentials or
    // configuration: they reveal nothing, and the headers are the same for everyone.
    if (request.method !== "OPTIONS") {
      try {
        readAccessOidcConfig(env);
      } catch (error) {
        if (!(error instanceof AccessConfigError)) throw error;
        // Fail closed: without a verified Access app there is no one to let in.
        console.error(error.message);
        return Response.json(
          { error: "server_misconfigured", message: error.message },
          { status: 500, headers: { "Access-Control-Allow-Origin": "*" } },
        );
      }
    }

    // The provider puts its helpers on `env.OAUTH_PROVIDER`, bound to itself. A copy per request
    // keeps one origin's helpers from being found on another origin's request.
    return provider.fetch(request, { ...env }, ctx);
  },
} satisfies ExportedHandler<Env>;
