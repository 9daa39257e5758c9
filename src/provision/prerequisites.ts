import type { Config } from "../config/config.js";
import { UsageError } from "../errors.js";
import { requireApiToken } from "./token.js";

/**
 * What provisioning needs before it calls anything: a token, and someone to
 * let in. Light on purpose (no SDK): `create --provision` checks it before it
 * writes the project, so a missing answer costs nothing.
 */
export function checkProvisionPrerequisites(config: Config, env: Record<string, string | undefined>, where: "flags" | "file"): string {
  const { emails, domains } = config.access;
  if (!emails.length && !domains.length) {
    throw new UsageError(
      "Nobody would be allowed to sign in: the Access policy needs at least one email or domain. " +
        (where === "flags"
          ? "Add --allow-email <email> or --allow-domain <domain>."
          : 'Add them to "access": { "emails": [...], "domains": [...] } in mcp-access.json, then run provision again.'),
    );
  }
  return requireApiToken(env);
}

/**
 * `--adopt` takes over objects that are not this project's after the user has
 * seen the list and said yes. Without a terminal to ask in, `--yes` is that yes;
 * a dry run only shows the list.
 */
export function checkAdopt(options: { adopt: boolean; dryRun: boolean; yes: boolean }, canAsk: boolean): void {
  if (!options.adopt || options.dryRun || options.yes || canAsk) return;
  throw new UsageError(
    "--adopt without a terminal needs --yes too: it takes over Cloudflare objects that are not this project's now, and there is nobody " +
      "to confirm the list. See the list with provision --dry-run --adopt, then run provision --adopt --yes.",
  );
}
