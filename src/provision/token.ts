import { UsageError } from "../errors.js";
import { PERMISSIONS } from "./cloudflare-api.js";

/** Everything an API token needs for `provision`, as the dashboard's token editor names it. */
export const TOKEN_PERMISSIONS: readonly string[] = [
  PERMISSIONS.accessApps,
  PERMISSIONS.accessOrganization,
  PERMISSIONS.workersScripts,
  PERMISSIONS.workersKv,
  PERMISSIONS.account,
];

/** The token from the environment, or exit 2 saying how to make one. Checked before anything is written or called. */
export function requireApiToken(env: Record<string, string | undefined>): string {
  const token = env.CLOUDFLARE_API_TOKEN?.trim();
  if (token) return token;
  throw new UsageError(
    "Provisioning needs a Cloudflare API token in CLOUDFLARE_API_TOKEN. Create one at https://dash.cloudflare.com/profile/api-tokens " +
      "(Create Custom Token) with these permissions on the account:",
    [...TOKEN_PERMISSIONS],
  );
}
