import type { Config } from "./config.js";

/**
 * What a project's governance (SPEC §9) amounts to, from its config: the facts templates are
 * included by (manifest `when`) and render from. Derived in one place so the two always agree.
 */
export interface Governance {
  /** Some tool has an `allow` rule. */
  toolRules: boolean;
  /** Some rule names an Access group: the Worker must learn the caller's groups. */
  groups: boolean;
  /** A limit for all tools, or for one. */
  rateLimits: boolean;
  audit: boolean;
  /** Any of the above: the Worker checks, counts or records tool calls. */
  governed: boolean;
}

export function governanceOf(config: Config): Governance {
  const policies = Object.values(config.tools);
  const toolRules = policies.some((policy) => policy.allow);
  const groups = policies.some((policy) => (policy.allow?.groups.length ?? 0) > 0);
  const rateLimits = config.rateLimit !== undefined || policies.some((policy) => policy.rateLimit);
  const audit = config.audit !== false;
  return { toolRules, groups, rateLimits, audit, governed: audit || toolRules || rateLimits };
}
