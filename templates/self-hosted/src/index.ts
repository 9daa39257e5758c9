import {
  createMcpHandler,
  hostHeaderValidationResponse,
  localhostAllowedHostnames,
  localhostAllowedOrigins,
  originValidationResponse,
} from "@modelcontextprotocol/server";
import { AccessAuthError, AccessConfigError, isLocalAccess, readAccessConfig, verifyAccessJwt } from "./access";
import { createServer } from "./server";

const MCP_PATH = "/mcp";

// Browser-based MCP clients need these to read responses. There is deliberately no
// `Allow-Credentials`: a page that sends the user's Access cookie along never gets to read the
// answer, non-simple requests (JSON bodies) are not even sent, and the SDK refuses the simple
// ones (`text/plain` bodies) with 415 before any tool runs.
const CORS_HEADERS: Record<string, string> = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
  "Access-Control-Allow-Headers":
    "Authorization, Content-Type, Accept, Last-Event-ID, Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name",
  "Access-Control-Expose-Headers": "Mcp-Session-Id, MCP-Protocol-Version",
  "Access-Control-Max-Age": "86400",
};

const UNAUTHORIZED = { error: "unauthorized", message: "A valid Cloudflare Access token is required." };
const AUTH_UNAVAILABLE = { error: "auth_unavailable", message: "Cloudflare Access signing keys could not be loaded." };

function withCors(response: Response): Response {
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(CORS_HEADERS)) headers.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

async function handleMcp(request: Request, env: Env): Promise<Response> {
  let config;
  try {
    config = readAccessConfig(env);
  } catch (error) {
    if (!(error instanceof AccessConfigError)) throw error;
    // Fail closed: with no team domain or AUD to check tokens against, the only alternative to
    // refusing every request would be serving everyone.
    console.error(error.message);
    return Response.json({ error: "server_misconfigured", message: error.message }, { status: 500 });
  }

  // In production, Cloudflare routes by hostname, so every request here was addressed to this
  // Worker. Locally, the Worker sits behind the emulator's loopback proxy, which signs a token for
  // anything it forwards: a web page that rebinds its own hostname to 127.0.0.1, or posts from its
  // own origin, must not get through it.
  if (isLocalAccess(config)) {
    const rejected =
      hostHeaderValidationResponse(request, localhostAllowedHostnames()) ??
      originValidationResponse(request, localhostAllowedOrigins());
    if (rejected) return rejected;
  }

  let identity;
  try {
    identity = await verifyAccessJwt(request.headers.get("Cf-Access-Jwt-Assertion"), config);
  } catch (error) {
    if (!(error instanceof AccessAuthError)) throw error;
    // The reason goes to the log; the client gets a fixed body that repeats nothing it sent.
    console.warn(`Access authentication failed: ${error.code}: ${error.message}`);
    return error.code === "jwks_unavailable"
      ? Response.json(AUTH_UNAVAILABLE, { status: 503 })
      : Response.json(UNAUTHORIZED, { status: 401 });
  }

  // A new handler, server and transport for every request. The server is stateless (2025-era
  // clients get no session, 2026-07-28 clients need none), so any isolate can answer any request,
  // and the caller's identity lives only in this request's closures.
  const mcp = createMcpHandler(() => createServer(identity), {
    onerror: (error) => console.warn(`MCP: ${error.message}`),
  });
  return mcp.fetch(request);
}

export default {
  async fetch(request, env): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname !== MCP_PATH) return new Response("Not found", { status: 404 });

    // Browsers send preflights without credentials, so they are answered before any auth. They
    // reveal nothing: the headers are the same for everyone.
    if (request.method === "OPTIONS") return new Response(null, { status: 204, headers: CORS_HEADERS });

    return withCors(await handleMcp(request, env));
  },
} satisfies ExportedHandler<Env>;
