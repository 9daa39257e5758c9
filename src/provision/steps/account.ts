import { team as teamUrl } from "../../config/validate.js";
import { Cancelled, RuntimeFailure, UsageError } from "../../errors.js";
import { workerHost } from "../../render/render.js";
import type { ProvisionContext } from "../context.js";
import { apiAnswerOf } from "../errors.js";
import { TOKEN_PERMISSIONS } from "../token.js";

/**
 * Step 1 of SPEC §5: the token works, and which account, workers.dev
 * subdomain and Access team this project lives in.
 */

export async function checkToken(ctx: ProvisionContext): Promise<void> {
  try {
    const { status } = await ctx.api.verifyToken();
    if (status !== "active") throw invalidToken(`Cloudflare says the token is ${status}`);
    return;
  } catch (error) {
    // An account-owned token cannot call /user/tokens/verify (401). Listing its accounts proves it works.
    if (apiAnswerOf(error)?.status !== 401) throw error;
  }
  try {
    await ctx.api.listAccounts();
  } catch (error) {
    const answer = apiAnswerOf(error);
    if (answer && (answer.status === 401 || answer.status === 403)) {
      throw invalidToken(`Cloudflare said: ${answer.errors.map((e) => e.message).join("; ") || answer.message}`);
    }
    throw error;
  }
}

function invalidToken(reason: string): RuntimeFailure {
  return new RuntimeFailure(
    `CLOUDFLARE_API_TOKEN was refused (${reason}). Create an API token at https://dash.cloudflare.com/profile/api-tokens ` +
      `with ${TOKEN_PERMISSIONS.join(", ")}, and set CLOUDFLARE_API_TOKEN to it.`,
  );
}

/** `--account-id` or mcp-access.json, then CLOUDFLARE_ACCOUNT_ID, then the token's only account, then a question. */
export async function resolveAccount(ctx: ProvisionContext): Promise<void> {
  const fromEnv = ctx.env.CLOUDFLARE_ACCOUNT_ID?.trim().toLowerCase() || undefined;
  const given = ctx.accountIdFlag ?? ctx.config.accountId ?? fromEnv;
  if (fromEnv && given !== fromEnv) {
    ctx.report("attention", `CLOUDFLARE_ACCOUNT_ID is ${fromEnv}, but ${ctx.accountIdFlag ? "--account-id" : "mcp-access.json"} says ${given}: using ${given}`);
  }
  if (given) {
    ctx.accountId = given;
  } else {
    const accounts = await ctx.api.listAccounts();
    if (accounts.length === 0) {
      throw new RuntimeFailure("The API token gives access to no account: edit it to include the account the Worker should live in.");
    }
    if (accounts.length === 1) {
      ctx.accountId = accounts[0]!.id;
    } else if (ctx.prompter) {
      const chosen = await ctx.prompter.select({
        message: "Which Cloudflare account?",
        options: accounts.map((account) => ({ value: account.id, label: account.name, hint: account.id })),
      });
      if (ctx.prompter.isCancel(chosen)) throw new Cancelled();
      ctx.accountId = chosen;
    } else {
      throw new UsageError(
        "The API token gives access to several accounts: choose one with --account-id (or CLOUDFLARE_ACCOUNT_ID).",
        accounts.map((account) => `${account.id}  ${account.name}`),
      );
    }
  }
  await ctx.record(["accountId"], ctx.accountId);
  ctx.report("found", `account ${ctx.accountId}`);
}

/**
 * The workers.dev subdomain: `wrangler deploy` fails without one, and the Access app needs the host
 * before the deploy. (On a custom domain the Worker has no workers.dev URL: checkCustomDomain instead.)
 */
export async function resolveSubdomain(ctx: ProvisionContext): Promise<void> {
  const subdomain = await ctx.api.getWorkersSubdomain(ctx.accountId!);
  if (!subdomain) {
    throw new RuntimeFailure(
      `The account ${ctx.accountId} has no workers.dev subdomain yet, so the Worker has no address. ` +
        "Choose one in the dashboard (Workers & Pages: it asks on your first visit), then run provision again.",
    );
  }
  if (ctx.config.provisioned?.workersSubdomain !== subdomain) await ctx.record(["provisioned", "workersSubdomain"], subdomain);
  ctx.host = workerHost(ctx.config);
  ctx.report("found", `the Worker's address: https://${ctx.host}`);
}

/** The Access team domain (`auth_domain`): TEAM_DOMAIN, and the issuer of every Access token. */
export async function resolveTeam(ctx: ProvisionContext): Promise<void> {
  const organization = await ctx.api.getOrganization(ctx.accountId!);
  if (!organization) {
    throw new RuntimeFailure(
      `The account ${ctx.accountId} has no Zero Trust organization, so there is no Access to protect the Worker with. ` +
        "Create one at https://one.dash.cloudflare.com (choose a team name and the free plan), then run provision again.",
    );
  }
  let team: string;
  try {
    team = teamUrl(`https://${organization.auth_domain.replace(/^https:\/\//, "")}`);
  } catch {
    throw new RuntimeFailure(`The account's Access team domain ${JSON.stringify(organization.auth_domain)} is not a *.cloudflareaccess.com domain this generator understands.`);
  }
  const answered = ctx.config.team;
  if (answered !== team) {
    if (answered) {
      ctx.report("attention", `the Access team is ${team}, not ${answered} as answered: using ${team} (recorded in mcp-access.json)`);
    }
    await ctx.record(["team"], team);
  }
  ctx.report("found", `Access team ${team}`);
}
