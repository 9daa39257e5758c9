import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

/** Connects the official MCP SDK client, calls `whoami`, returns what the server said and the negotiated version. */
export async function callWhoami(url: string, headers: Record<string, string> = {}) {
  const client = new Client({ name: "create-mcp-access-e2e", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  await client.connect(transport);
  try {
    const tools = await client.listTools();
    const result = await client.callTool({ name: "whoami", arguments: {} });
    return {
      tools: tools.tools.map((tool) => tool.name),
      identity: result.structuredContent as { email: string; sub: string },
      protocolVersion: transport.protocolVersion,
    };
  } finally {
    await client.close();
  }
}
