import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sdkApi } from "../../src/provision/sdk-api.js";
import { type FakeCloudflare, startFakeCloudflare } from "../support/fake-cloudflare.mjs";

/**
 * The local fake's zones and Workers custom domains (--domain), held to the
 * real API's rules as research-15 found them in the SDK and in wrangler 4.164:
 * what the SDK's zone and domain calls get back (paging included), and what
 * the two calls `wrangler deploy` makes for a custom-domain route do to the
 * fake's state. Plain HTTP on loopback for what wrangler sends; the real SDK
 * (through sdkApi) for what provision sends.
 */
let fake: FakeCloudflare;
beforeAll(async () => {
  fake = await startFakeCloudflare({
    ids: "sequential",
    zones: ["example.com", "eu.example.com", { name: "pending.example", status: "pending" }, ...Array.from({ length: 23 }, (_, i) => `zone${i}.example`)],
    dnsRecords: ["www.example.com"],
  });
});
afterAll(() => fake.close());

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any; codes: number[] }> {
  const response = await fetch(`${fake.baseURL}${path}`, {
    method,
    headers: { authorization: `Bearer ${fake.token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = await response.json();
  return { status: response.status, json, codes: (json.errors ?? []).map((e: { code: number }) => e.code) };
}
const account = () => `/accounts/${fake.accountId}`;
const api = () => sdkApi({ apiToken: fake.token, baseURL: fake.baseURL, maxRetries: 0 });

/** The hostnames routed to a Worker, as the fake's state has them. */
const domainsOf = (name: string) => fake.account().customDomains.filter((domain) => domain.service === name).map((domain) => domain.hostname);

/** A Worker uploaded as wrangler does, so custom domains have something to route to. */
function worker(name: string) {
  if (!fake.account().workers[name]) fake.addWorker(name);
}

describe("zones", () => {
  it("the SDK lists every zone of the account through the pages (the last one empty) and finds one by name", async () => {
    const all = await api().listZones(fake.accountId);
    expect(all.map((zone) => zone.name)).toHaveLength(26);
    expect(all.find((zone) => zone.name === "pending.example")?.status).toBe("pending");
    const pages = fake.requests("GET", "/zones").map((entry) => entry.query.page ?? "1");
    // 26 zones at 20 a page: two pages, then the empty page that ends the SDK's loop.
    expect(pages.slice(-3)).toEqual(["1", "2", "3"]);
    expect(fake.requests("GET", "/zones").at(-1)!.result).toEqual([]);
    expect(await api().listZones(fake.accountId, "eu.example.com")).toEqual([{ id: expect.any(String), name: "eu.example.com", status: "active" }]);
    expect(await api().listZones(fake.accountId, "mcp.example.com")).toEqual([]);
    // A name is one zone at most: provision reads its first page only.
    fake.clearLog();
    await api().listZones(fake.accountId, "example.com");
    expect(fake.summary()).toEqual([`GET /zones?account.id=${fake.accountId}&name=example.com 200`]);
  });

  it("filters by account and status; another account's zones are not listed; per_page is bounded", async () => {
    expect((await call("GET", `/zones?account.id=${fake.accountId}&status=pending`)).json.result.map((z: { name: string }) => z.name)).toEqual(["pending.example"]);
    expect((await call("GET", `/zones?account.id=${"f".repeat(32)}`)).json.result).toEqual([]);
    expect((await call("GET", "/zones?name=ends_with:.example.com")).json.result.map((z: { name: string }) => z.name)).toEqual(["eu.example.com"]);
    expect((await call("GET", "/zones?per_page=500")).status).toBe(400);
    const zone = (await call("GET", "/zones?name=example.com")).json.result[0];
    expect(zone).toMatchObject({ name: "example.com", status: "active", type: "full", account: { id: fake.accountId } });
  });
});

describe("DNS records", () => {
  it("the SDK lists a zone's records by exact name: a seeded site's record, none for a free name, 404 for a zone not the token's", async () => {
    const zone = (await api().listZones(fake.accountId, "example.com"))[0]!;
    expect(await api().listDnsRecords(zone.id, "www.example.com")).toEqual([{ type: "CNAME", name: "www.example.com", content: expect.any(String) }]);
    expect(await api().listDnsRecords(zone.id, "WWW.example.com")).toHaveLength(1);
    expect(await api().listDnsRecords(zone.id, "mcp.example.com")).toEqual([]);
    // The record is example.com's, not eu.example.com's.
    const eu = (await api().listZones(fake.accountId, "eu.example.com"))[0]!;
    expect(await api().listDnsRecords(eu.id, "www.example.com")).toEqual([]);
    await expect(api().listDnsRecords("f".repeat(32), "www.example.com")).rejects.toMatchObject({ status: 404 });
  });
});

describe("Workers custom domains", () => {
  it("changeset then records, as wrangler deploys a custom-domain route: the host routes to the Worker, in the zone that is its longest suffix", async () => {
    worker("alpha");
    const origins = [{ hostname: "mcp.eu.example.com" }];
    const changeset = await call("POST", `${account()}/workers/scripts/alpha/domains/changeset?replace_state=true`, origins);
    expect(changeset.json.result).toMatchObject({ added: [{ hostname: "mcp.eu.example.com", zone_name: "eu.example.com" }], removed: [], updated: [], conflicting: [] });
    const records = await call("PUT", `${account()}/workers/scripts/alpha/domains/records`, { override_scope: true, override_existing_origin: true, override_existing_dns_record: true, origins });
    expect(records.status).toBe(200);
    expect(domainsOf("alpha")).toEqual(["mcp.eu.example.com"]);
    expect(fake.deployedWorker("alpha")).toMatchObject({ customDomains: ["mcp.eu.example.com"] });
    const listed = await api().listWorkerDomains(fake.accountId, { hostname: "mcp.eu.example.com" });
    expect(listed).toEqual([{ id: expect.any(String), hostname: "mcp.eu.example.com", service: "alpha", zone_id: expect.any(String), zone_name: "eu.example.com" }]);
  });

  it("replace_state moves the route: the Worker's old host is listed as removed, then detached by the records call", async () => {
    worker("beta");
    const put = (hostname: string) =>
      call("PUT", `${account()}/workers/scripts/beta/domains/records`, { override_scope: true, override_existing_origin: true, override_existing_dns_record: true, origins: [{ hostname, zone_name: "example.com" }] });
    expect((await put("one.example.com")).status).toBe(200);
    const changeset = await call("POST", `${account()}/workers/scripts/beta/domains/changeset?replace_state=true`, [{ hostname: "two.example.com" }]);
    expect(changeset.json.result.removed).toEqual([expect.objectContaining({ hostname: "one.example.com", service: "beta" })]);
    expect((await put("two.example.com")).status).toBe(200);
    expect(domainsOf("beta")).toEqual(["two.example.com"]);
    expect(await api().listWorkerDomains(fake.accountId, { hostname: "one.example.com" })).toEqual([]);
  });

  it("a host in no zone of the account is 10083 zone_not_found, in the changeset and the records call, and nothing changes", async () => {
    worker("gamma");
    for (const hostname of ["mcp.example.org", "mcp.pending.example"]) {
      const changeset = await call("POST", `${account()}/workers/scripts/gamma/domains/changeset?replace_state=true`, [{ hostname }]);
      expect([changeset.status, changeset.codes]).toEqual([404, [10083]]);
      const records = await call("PUT", `${account()}/workers/scripts/gamma/domains/records`, { override_scope: true, override_existing_origin: true, origins: [{ hostname }] });
      expect([records.status, records.codes]).toEqual([404, [10083]]);
    }
    // A zone named that the host is not in is no zone for it either.
    const wrongZone = await call("PUT", `${account()}/workers/scripts/gamma/domains/records`, { origins: [{ hostname: "mcp.example.com", zone_name: "eu.example.com" }] });
    expect(wrongZone.codes).toEqual([10083]);
    expect(domainsOf("gamma")).toEqual([]);
  });

  it("another Worker's host: 409 100116 without override_existing_origin (nothing changes), moved with it, as wrangler without a terminal does", async () => {
    worker("owner");
    worker("taker");
    const body = (override: boolean) => ({ override_scope: true, override_existing_origin: override, origins: [{ hostname: "held.example.com" }] });
    await call("PUT", `${account()}/workers/scripts/owner/domains/records`, body(false));
    const changeset = await call("POST", `${account()}/workers/scripts/taker/domains/changeset?replace_state=true`, [{ hostname: "held.example.com" }]);
    expect(changeset.json.result.updated).toEqual([expect.objectContaining({ hostname: "held.example.com", service: "owner", modified: true })]);
    const refused = await call("PUT", `${account()}/workers/scripts/taker/domains/records`, body(false));
    expect([refused.status, refused.codes]).toEqual([409, [100116]]);
    expect(domainsOf("owner")).toEqual(["held.example.com"]);
    expect((await call("PUT", `${account()}/workers/scripts/taker/domains/records`, body(true))).status).toBe(200);
    expect([domainsOf("owner"), domainsOf("taker")]).toEqual([[], ["held.example.com"]]);
  });

  it("a host with DNS records of its own: 409 100117 even with override_existing_dns_record; listed as conflicting by the changeset", async () => {
    worker("delta");
    const changeset = await call("POST", `${account()}/workers/scripts/delta/domains/changeset?replace_state=true`, [{ hostname: "www.example.com" }]);
    expect(changeset.json.result.conflicting).toEqual([expect.objectContaining({ hostname: "www.example.com" })]);
    const refused = await call("PUT", `${account()}/workers/scripts/delta/domains/records`, { override_scope: true, override_existing_origin: true, override_existing_dns_record: true, origins: [{ hostname: "www.example.com" }] });
    expect([refused.status, refused.codes]).toEqual([409, [100117]]);
    expect(domainsOf("delta")).toEqual([]);
  });

  it("refuses a wildcard or a path, as wrangler and the API do", async () => {
    worker("epsilon");
    for (const hostname of ["*.example.com", "example.com/mcp"]) {
      expect((await call("POST", `${account()}/workers/scripts/epsilon/domains/changeset`, [{ hostname }])).status).toBe(400);
    }
  });

  it("the SDK's attach, get and detach by id; detaching answers the envelope alone; an unknown id is 404", async () => {
    worker("zeta");
    const attached = await call("PUT", `${account()}/workers/domains`, { hostname: "attach.example.com", service: "zeta", zone_name: "example.com" });
    expect(attached.json.result).toMatchObject({ hostname: "attach.example.com", service: "zeta", zone_name: "example.com", environment: "production" });
    const { id } = attached.json.result;
    expect((await call("GET", `${account()}/workers/domains/${id}`)).json.result.hostname).toBe("attach.example.com");
    expect((await call("PUT", `${account()}/workers/domains`, { hostname: "attach.example.com", service: "alpha" })).codes).toEqual([100116]);
    const detached = await call("DELETE", `${account()}/workers/domains/${id}`);
    expect(detached.json).toEqual({ success: true, errors: [], messages: [] });
    expect((await call("DELETE", `${account()}/workers/domains/${id}`)).status).toBe(404);
    expect((await call("GET", `${account()}/workers/domains/${id}`)).status).toBe(404);
    // Through the SDK too.
    const again = await call("PUT", `${account()}/workers/domains`, { hostname: "attach.example.com", service: "zeta" });
    await api().deleteWorkerDomain(fake.accountId, again.json.result.id);
    expect(await api().listWorkerDomains(fake.accountId, { service: "zeta" })).toEqual([]);
    await expect(api().deleteWorkerDomain(fake.accountId, again.json.result.id)).rejects.toMatchObject({ status: 404 });
  });

  it("lists by hostname, service, zone and environment", async () => {
    const list = async (query: string) => (await call("GET", `${account()}/workers/domains?${query}`)).json.result.map((d: { hostname: string }) => d.hostname).sort();
    expect(await list("service=beta")).toEqual(["two.example.com"]);
    expect(await list("zone_name=eu.example.com")).toEqual(["mcp.eu.example.com"]);
    expect(await list("hostname=two.example.com&service=alpha")).toEqual([]);
    expect(await list("environment=production&service=alpha")).toEqual(["mcp.eu.example.com"]);
  });
});

describe("the workers.dev and preview switches wrangler posts", () => {
  it("are the Worker's state, both off when wrangler sends both false", async () => {
    worker("eta");
    const posted = await call("POST", `${account()}/workers/scripts/eta/subdomain`, { enabled: false, previews_enabled: false });
    expect(posted.json.result).toEqual({ enabled: false, previews_enabled: false });
    expect(fake.deployedWorker("eta")).toMatchObject({ workersDev: { enabled: false, previews_enabled: false } });
    expect(fake.account().workers.eta.subdomain).toEqual({ enabled: false, previews_enabled: false });
    expect((await call("GET", `${account()}/workers/workers/eta`)).json.result.subdomain).toEqual({ enabled: false, previews_enabled: false });
  });
});
