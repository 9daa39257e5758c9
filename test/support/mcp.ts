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

/** Connects the official MCP SDK client and reads the `examples` feature's resource and prompt. */
export async function readExamples(url: string, headers: Record<string, string> = {}) {
  const client = new Client({ name: "create-mcp-access-e2e", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  try {
    return await examplesOf(client);
  } finally {
    await client.close();
  }
}

/** The `examples` feature's resource and prompt, read through a connected client. */
export async function examplesOf(client: Client) {
  const resources = await client.listResources();
  const profile = await client.readResource({ uri: "profile://me" });
  const prompts = await client.listPrompts();
  const prompt = await client.getPrompt({ name: "status_update", arguments: { topic: "the launch" } });
  return {
    resources: resources.resources.map((resource) => resource.uri),
    profile: JSON.parse((profile.contents[0] as { text: string }).text) as { email: string; sub: string },
    prompts: prompts.prompts.map((entry) => entry.name),
    promptText: (prompt.messages[0]?.content as { text: string }).text,
  };
}
