import type { Config } from "../config/config.js";
import { governanceOf } from "../config/governance.js";

/** The binding of the limit on all tools together; a tool's own is `RATE_LIMIT_<TOOL>`. */
export const RATE_LIMIT_BINDING = "RATE_LIMIT";

export interface RateLimitBinding {
  binding: string;
  /** The `namespace_id` of the `ratelimits` binding: a decimal integer, unique in the account. */
  namespaceId: string;
  limit: number;
  period: number;
  /** The tool it limits; null for the limit on all tools together. */
  tool: string | null;
}

export const toolRateLimitBinding = (tool: string) => `${RATE_LIMIT_BINDING}_${tool.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;

const MIN_NAMESPACE_ID = 1000;
const MAX_NAMESPACE_ID = 2_147_483_647;

/**
 * A rate limit's namespace id. Workers that share one share their counters, so each Worker and
 * binding gets its own, and the same one at every render: a regenerate must not reset (or move)
 * the counts. FNV-1a (32 bits) of `<worker>:<binding>`, mapped into the range the platform takes.
 */
export function rateLimitNamespaceId(worker: string, binding: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(`${worker}:${binding}`)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return String(MIN_NAMESPACE_ID + (hash % (MAX_NAMESPACE_ID - MIN_NAMESPACE_ID + 1)));
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The view's governance names (docs/templates.md): flat, each always present. */
export function governanceView(config: Config) {
  const facts = governanceOf(config);
  const tools = Object.keys(config.tools).sort(byName);
  const binding = (name: string, limit: { limit: number; period: number }, tool: string | null): RateLimitBinding => ({
    binding: name,
    namespaceId: rateLimitNamespaceId(config.name, name),
    limit: limit.limit,
    period: limit.period,
    tool,
  });
  const top = config.rateLimit ? binding(RATE_LIMIT_BINDING, config.rateLimit, null) : null;
  const perTool = tools.flatMap((tool) => {
    const limit = config.tools[tool]!.rateLimit;
    return limit ? [binding(toolRateLimitBinding(tool), limit, tool)] : [];
  });
  return {
    governed: facts.governed,
    audit: facts.audit,
    auditHash: config.audit !== false && config.audit.arguments === "hash",
    toolRules: tools.flatMap((tool) => {
      const allow = config.tools[tool]!.allow;
      return allow ? [{ tool, emails: allow.emails, domains: allow.domains, groups: allow.groups }] : [];
    }),
    usesGroups: facts.groups,
    rateLimits: [...(top ? [top] : []), ...perTool],
    toolRateLimits: perTool,
    rateLimit: top && { binding: top.binding, limit: top.limit, period: top.period },
    // The arguments index.ts passes to createServer, as one name: the JavaScript twins are derived
    // from the TypeScript templates, and a line of several inline conditions would not keep its shape.
    serverArguments: ["identity", ...(config.downstreams.length ? ["credential"] : []), ...(facts.governed ? ["gate"] : [])].join(", "),
    // saas: the `/mcp` handler reads its env only for the rate limit bindings and the audit key;
    // unused, it is `_env`.
    mcpEnvParameter: top || perTool.length || (config.audit !== false && config.audit.arguments === "hash") ? "env" : "_env",
  };
}
