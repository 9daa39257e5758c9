import { show } from "../../config/validate.js";
import { UsageError } from "../../errors.js";
import { PERMISSIONS } from "../cloudflare-api.js";
import type { ProvisionContext } from "../context.js";

/**
 * The custom domain (`domain` in mcp-access.json), checked with reads only,
 * before anything is changed. Its zone must be one of the account's: the
 * custom-domain route needs it, and a deploy into no zone fails only after
 * the Access app has moved. The host must not be another Worker's custom
 * domain: wrangler without a terminal takes it over without asking
 * (override_existing_origin), silently cutting that Worker off its host. Nor
 * may it have DNS records of its own, a site already there: Cloudflare then
 * refuses the custom domain, but only at the deploy, after the Access app was
 * put in front of that site.
 *
 * It also finds the host this project served on before, when `domain` has
 * changed (or gone) since the last run, and only when that host still routes
 * to this project's Worker: the Access app and the route then move from it.
 * A host routed elsewhere now is somebody's, and stays as it is.
 */
export async function checkCustomDomain(ctx: ProvisionContext): Promise<void> {
  const host = ctx.config.domain;
  if (host) {
    const zone = await findZone(ctx, host);
    // This project's own custom domain has the DNS records Cloudflare made for it: nothing to check there.
    if (!(await heldByThisWorker(ctx, host))) await refuseDnsRecords(ctx, zone, host);
    ctx.customDomain = { hostname: host, zone: zone.name };
    ctx.host = host;
    ctx.report("found", `the Worker's address: https://${host}, in the zone ${zone.name}`);
  }
  const recorded = ctx.config.provisioned?.customDomain?.hostname;
  if (recorded && recorded !== host && (await routesToWorker(ctx, recorded))) ctx.formerHost = recorded;
}

/**
 * The longest suffix of `host` that is a zone of the account (`mcp.eu.example.com`: a zone
 * `eu.example.com` before `example.com`), asked one name at a time, as wrangler does: an account
 * may have thousands of zones, and a host has a few labels.
 */
async function findZone(ctx: ProvisionContext, host: string): Promise<{ id: string; name: string }> {
  const labels = host.split(".");
  for (let start = 0; start < labels.length - 1; start++) {
    const candidate = labels.slice(start).join(".");
    const zone = (await ctx.api.listZones(ctx.accountId!, candidate)).find((found) => found.name === candidate);
    if (!zone) continue;
    if (zone.status && zone.status !== "active") {
      throw new UsageError(
        `The zone ${show(candidate)} is ${show(zone.status)}, not active: Cloudflare serves a custom domain only in an active zone. ` +
          "Finish adding it (its nameservers must point to Cloudflare; the dashboard's Overview of the zone says what is missing), then run provision again.",
      );
    }
    // The name asked for, which the API matched: what goes into mcp-access.json and wrangler.jsonc is never the API's own text.
    return { id: zone.id, name: candidate };
  }
  const seen = (await ctx.api.listZones(ctx.accountId!)).map((zone) => zone.name);
  const fix = `Add the zone to the account (Add a domain in the dashboard), or change "domain" in mcp-access.json to a host in one of its zones, then run provision again.`;
  if (!seen.length) {
    throw new UsageError(
      `"${host}" is in no zone of the account ${ctx.accountId}: the API token sees no zone at all. If the account has zones, the token ` +
        `lacks the permission "${PERMISSIONS.zones}" on them: add it at https://dash.cloudflare.com/profile/api-tokens. ${fix}`,
    );
  }
  const shown = seen.slice(0, SHOWN_ZONES).map(show).join(", ") + (seen.length > SHOWN_ZONES ? ` and ${seen.length - SHOWN_ZONES} more` : "");
  throw new UsageError(`"${host}" is in no zone of the account ${ctx.accountId}. The zones the API token sees: ${shown}. ${fix}`);
}

/** Zones named in a message: an account may have thousands. */
const SHOWN_ZONES = 20;

/** True when the host is this Worker's custom domain already; another Worker's stops the run. */
async function heldByThisWorker(ctx: ProvisionContext, host: string): Promise<boolean> {
  const held = await ctx.api.listWorkerDomains(ctx.accountId!, { hostname: host });
  const other = held.find((domain) => domain.service !== ctx.config.name);
  if (!other) return held.length > 0;
  const worker = show(other.service);
  throw new UsageError(
    `"${host}" is a custom domain of the Worker ${worker}, and the deploy would take it over without asking. Nothing was changed. ` +
      `If "${host}" should serve this project instead, detach it from ${worker} first (Workers & Pages, ${worker}, ` +
      `Settings, Domains & Routes), then run provision again; otherwise choose another "domain" in mcp-access.json.`,
  );
}

async function refuseDnsRecords(ctx: ProvisionContext, zone: { id: string; name: string }, host: string): Promise<void> {
  const records = await ctx.api.listDnsRecords(zone.id, host);
  if (!records.length) return;
  const shown = records.slice(0, 5).map((record) => `${show(record.type).slice(1, -1)} ${show(record.content ?? "")}`).join(", ");
  throw new UsageError(
    `"${host}" already has DNS records of its own (${shown}): something is served there, and Cloudflare puts a custom domain only ` +
      `on a hostname without them. Nothing was changed. Choose another "domain" in mcp-access.json, or, if that site is gone, delete ` +
      `the records (DNS, Records, in the zone ${show(zone.name)}) and run provision again.`,
  );
}

async function routesToWorker(ctx: ProvisionContext, host: string): Promise<boolean> {
  const domains = await ctx.api.listWorkerDomains(ctx.accountId!, { hostname: host });
  return domains.some((domain) => domain.hostname === host && domain.service === ctx.config.name);
}

/**
 * After the deploy, with `domain` gone from mcp-access.json: the Worker now serves on workers.dev,
 * and wrangler, given no route, leaves the custom domain attached. Detached here, so the old host no
 * longer reaches a Worker the Access app no longer protects there. The certificate Cloudflare issued
 * for it stays (SSL/TLS, Edge Certificates).
 */
export async function detachFormerDomain(ctx: ProvisionContext): Promise<void> {
  const host = ctx.formerHost!;
  const attached = (await ctx.api.listWorkerDomains(ctx.accountId!, { hostname: host })).filter((domain) => domain.service === ctx.config.name);
  for (const domain of attached) await ctx.api.deleteWorkerDomain(ctx.accountId!, domain.id);
  if (attached.length) ctx.report("changed", `the custom domain ${host}: detached from the Worker ${ctx.config.name}`);
  await ctx.record(["provisioned", "customDomain"], undefined);
}
