import type { Config } from "../../config/config.js";
import type { AccessPolicy, AccessRule, PolicyBody } from "../cloudflare-api.js";
import type { ProvisionContext } from "../context.js";
import { fieldsOf, pick } from "../fields.js";
import { sameJson, sameSet } from "../same.js";

/**
 * The fields a policy update sends back: exactly PolicyCreateParams' (the
 * compiler checks the list). The rest of an answer (id, account_id,
 * app_count, reusable, timestamps) is the API's own.
 */
const POLICY_FIELDS = fieldsOf<PolicyBody>()([
  "name", "decision", "include", "exclude", "require", "approval_groups", "approval_required", "connection_rules",
  "isolation_required", "mfa_config", "purpose_justification_prompt", "purpose_justification_required", "session_duration",
]);

/**
 * A reusable Access policy, made idempotent: the one findExisting found (and
 * proved ours, or adopted), else created. One whose name, decision or rules
 * differ is updated with the user's other settings kept (a PUT replaces the
 * policy, so the body carries every field it had). Returns the policy's id.
 */
export async function ensurePolicy(
  ctx: ProvisionContext,
  wanted: WantedPolicy,
  existing: AccessPolicy | undefined,
  label: string,
): Promise<string> {
  const account = ctx.accountId!;
  if (!existing) {
    const created = await ctx.api.createPolicy(account, { name: wanted.name, decision: wanted.decision, include: wanted.include });
    ctx.report("created", `${label} "${wanted.name}"`);
    return created.id;
  }
  if (policyMatches(existing, wanted)) {
    ctx.report("found", `${label} "${existing.name}"`);
    return existing.id;
  }
  await ctx.api.updatePolicy(account, existing.id, { ...writableFields(existing), ...wanted });
  ctx.report("changed", `${label} "${wanted.name}": ${wanted.decision === "allow" ? "who may sign in" : "its rule"} updated`);
  return existing.id;
}

/** What provision wants of a policy. */
export interface WantedPolicy {
  name: string;
  decision: PolicyBody["decision"];
  include: AccessRule[];
}

/** True when provision would leave the policy as it is: its name, decision and rules (in any order) are the wanted ones. */
export function policyMatches(policy: AccessPolicy, wanted: WantedPolicy): boolean {
  return policy.name === wanted.name && policy.decision === wanted.decision && sameSet(policy.include, wanted.include, sameJson);
}

function writableFields(policy: AccessPolicy): PolicyBody {
  return pick<PolicyBody>(policy, POLICY_FIELDS);
}

/** Step 3: the reusable policy allowing `access.emails` and `access.domains`. */
export async function ensureAllowPolicy(ctx: ProvisionContext): Promise<void> {
  const id = await ensurePolicy(ctx, wantedAllowPolicy(ctx.config), ctx.existing!.allowPolicy, "Access policy");
  ctx.allowPolicyId = id;
  if (ctx.config.provisioned?.allowPolicyId !== id) await ctx.record(["provisioned", "allowPolicyId"], id);
}

export const allowPolicyName = (worker: string) => `${worker} (MCP server): allowed users`;

/** The reusable policy allowing `access.emails` and `access.domains`. */
export function wantedAllowPolicy(config: Config): WantedPolicy {
  const { emails, domains } = config.access;
  const include: AccessRule[] = [...emails.map((email) => ({ email: { email } })), ...domains.map((domain) => ({ email_domain: { domain } }))];
  return { name: allowPolicyName(config.name), decision: "allow", include };
}
