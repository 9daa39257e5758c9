import type { Config } from "../config/config.js";
import { isLoopbackHost } from "../config/validate.js";
import { type CloudflareApi, PERMISSIONS } from "../provision/cloudflare-api.js";
import { withCallInfo } from "../provision/errors.js";
import { workerHost } from "../render/render.js";
import { type Check, check } from "./checks.js";
import { cloudflareChecks } from "./drift-checks.js";
import { fetchProbe, type Probe } from "./probe.js";
import { publicChecks } from "./public-checks.js";

/** What doctor reads for its checks; `env` alone gives the real network and API, tests pass stand-ins. */
export interface DoctorIo {
  env: Record<string, string | undefined>;
  /** The generator's version, in the User-Agent. */
  version: string;
  probe?: Probe;
  /** Tests: the API to read instead of the SDK's. */
  api?: CloudflareApi;
}

export interface DoctorRun {
  /** The origin the public checks asked; undefined when none is known. */
  url?: string;
  checks: Check[];
}

/** The read permissions doctor's API reads need, as the dashboard's token editor names them. */
export const DOCTOR_PERMISSIONS = [
  "Access: Apps and Policies: Read",
  "Workers Scripts: Read",
  "Workers KV Storage: Read (saas)",
  `${PERMISSIONS.accessOrganization} (when access.idps is set)`,
];

/**
 * The whole check: the public part against the live URL (or `url`, an origin
 * already validated), then, with CLOUDFLARE_API_TOKEN, the recorded objects.
 * A loopback `url` is `npm run dev`: there the Worker (saas) or the local
 * Access emulator (self-hosted), which plays the team on the same origin,
 * is the authorization server.
 */
export async function runDoctor(config: Config, options: { url?: string; accountId?: string }, io: DoctorIo): Promise<DoctorRun> {
  const host = workerHost(config);
  const origin = options.url ?? (host ? `https://${host}` : undefined);
  const checks: Check[] = [];
  if (origin) {
    const dev = options.url !== undefined && isLoopbackHost(new URL(origin).hostname);
    const authorizationServer = config.auth === "saas" || dev ? origin : config.team;
    const userAgent = `create-mcp-access-doctor/${io.version}`;
    checks.push(...(await publicChecks({ origin, auth: config.auth, authorizationServer, dev, userAgent }, io.probe ?? fetchProbe())));
  } else {
    checks.push(
      check(
        "public",
        "reachable",
        "fail",
        "mcp-access.json records neither a domain nor the account's workers.dev subdomain, so the server's URL is not known.",
        "Run npm run provision (it records the subdomain and deploys), or give the URL: doctor --url https://<host>.",
      ),
    );
  }
  checks.push(...(await tokenChecks(config, options.accountId, io)));
  return { ...(origin ? { url: origin } : {}), checks };
}

async function tokenChecks(config: Config, accountIdFlag: string | undefined, io: DoctorIo): Promise<Check[]> {
  const apiToken = io.env.CLOUDFLARE_API_TOKEN?.trim();
  if (!apiToken) {
    return [
      check(
        "cloudflare",
        "token",
        "skip",
        "Not checked: CLOUDFLARE_API_TOKEN is not set. With a token, doctor also compares every object provision recorded with what it would make (reads only).",
        `Set CLOUDFLARE_API_TOKEN to a token with ${DOCTOR_PERMISSIONS.join(", ")}.`,
      ),
    ];
  }
  let api = io.api;
  if (!api) {
    // Loaded only with a token: the SDK is most of the bundle.
    const { sdkApi } = await import("../provision/sdk-api.js");
    const baseURL = io.env.CLOUDFLARE_API_BASE_URL?.trim() || undefined;
    api = sdkApi({ apiToken, ...(baseURL ? { baseURL } : {}) });
  }
  api = withCallInfo(api);
  const accountId = accountIdFlag ?? config.accountId ?? (io.env.CLOUDFLARE_ACCOUNT_ID?.trim().toLowerCase() || undefined) ?? (await onlyAccount(api));
  if (typeof accountId !== "string") return [accountId];
  return cloudflareChecks(config, accountId, api);
}

/** The token's only account, else a check saying which to choose. */
async function onlyAccount(api: CloudflareApi): Promise<string | Check> {
  const accounts = await api.listAccounts().catch(() => undefined);
  if (accounts?.length === 1) return accounts[0]!.id;
  return check(
    "cloudflare",
    "account",
    "fail",
    accounts === undefined ? "The API token could not list its accounts." : `The API token sees ${accounts.length} accounts, and mcp-access.json records none.`,
    "Give the account with --account-id (or CLOUDFLARE_ACCOUNT_ID); npm run provision records it in mcp-access.json.",
  );
}
