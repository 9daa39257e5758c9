import { IDP_TYPE_LABELS, IDP_TYPES } from "../../config/options.js";
import { Cancelled, RuntimeFailure } from "../../errors.js";
import type { IdentityProvider } from "../cloudflare-api.js";
import type { ProvisionContext } from "../context.js";

/**
 * Step 2: the identity providers allowed on the app, as ids. `access.idps`
 * holds ids or types; a type names the account's one IdP of that type. None
 * given: in a terminal, the account's IdPs are offered; otherwise every IdP
 * may sign in (Access's default for an empty `allowed_idps`).
 */
export async function resolveIdentityProviders(ctx: ProvisionContext): Promise<void> {
  const available = await ctx.api.listIdentityProviders(ctx.accountId!);
  let wanted = ctx.config.access.idps;
  if (wanted.length === 0 && ctx.prompter && available.length > 1) {
    const chosen = await ctx.prompter.multiselect<string>({
      message: "Identity providers allowed to sign in (none selected: all of them)",
      options: available.map((idp) => ({ value: idp.id, label: idp.name, ...(idp.name === labelOf(idp.type) || labelOf(idp.type).startsWith(idp.name) ? {} : { hint: labelOf(idp.type) }) })),
      required: false,
    });
    if (ctx.prompter.isCancel(chosen)) throw new Cancelled();
    wanted = chosen;
    if (wanted.length) await ctx.record(["access", "idps"], wanted);
  }
  ctx.idpIds = mapToIds(wanted, available);
  const names = ctx.idpIds.map((id) => available.find((idp) => idp.id === id)!.name);
  ctx.report(
    "found",
    names.length === 0
      ? "identity providers: every one of the account's"
      : `identity providers: ${names.join(", ")}${names.length === 1 ? " (Instant Auth on)" : ""}`,
  );
}

/** ids and types → ids, in the order given, or one error naming every answer that does not match. */
export function mapToIds(wanted: readonly string[], available: readonly IdentityProvider[]): string[] {
  const problems: string[] = [];
  const ids: string[] = [];
  for (const answer of wanted) {
    const byId = available.find((idp) => idp.id.toLowerCase() === answer.toLowerCase());
    const byType = (IDP_TYPES as readonly string[]).includes(answer) ? available.filter((idp) => idp.type === answer) : [];
    if (byId) ids.push(byId.id);
    else if (byType.length === 1) ids.push(byType[0]!.id);
    else if (byType.length > 1) problems.push(`${answer}: the account has ${byType.length} of this type (${byType.map(describe).join("; ")}); give the id instead`);
    else problems.push(`${answer}: the account has no identity provider ${byType.length === 0 && !UUID.test(answer) ? "of this type" : "with this id"}`);
  }
  if (problems.length) {
    throw new RuntimeFailure(
      [
        "Some identity providers in access.idps are not in the account:",
        ...problems.map((problem) => `  - ${problem}`),
        `The account has: ${available.length ? available.map(describe).join("; ") : "none (add one in Zero Trust: Integrations, Identity providers)"}.`,
        "Change access.idps in mcp-access.json (ids or types), then run provision again.",
      ].join("\n"),
    );
  }
  return [...new Set(ids)];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const describe = (idp: IdentityProvider) => `${idp.name} (${idp.type}, ${idp.id})`;
// The type comes from the API: an own key of the table, or shown as it is.
const labelOf = (type: string) => (Object.hasOwn(IDP_TYPE_LABELS, type) ? IDP_TYPE_LABELS[type as keyof typeof IDP_TYPE_LABELS] : type);
