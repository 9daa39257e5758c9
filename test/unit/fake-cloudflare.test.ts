import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeCloudflare, startFakeCloudflare } from "../support/fake-cloudflare.mjs";

/**
 * The local fake of the Cloudflare API holds provisioning to the real API's
 * rules for Access applications and policies (each rule's source is in
 * fake-cloudflare.mjs): what it answers, and what it refuses. Plain HTTP on
 * loopback, so a body the SDK's types would not even let through can be sent.
 */
let fake: FakeCloudflare;
beforeAll(async () => {
  fake = await startFakeCloudflare({ ids: "sequential" });
});
afterAll(() => fake.close());

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; result: any; message: string }> {
  const response = await fetch(`${fake.baseURL}/accounts/${fake.accountId}${path}`, {
    method,
    headers: { authorization: `Bearer ${fake.token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = await response.json();
  return { status: response.status, result: json.result, message: json.errors?.map((e: { message: string }) => e.message).join("; ") ?? "" };
}

let hosts = 0;
const host = () => `app${++hosts}.example.com`;
const reusablePolicy = async (name: string) =>
  (await call("POST", "/access/policies", { name, decision: "allow", include: [{ email_domain: { domain: "example.com" } }] })).result;

describe("the fake Cloudflare API answers Access objects as the SDK's response types describe them", () => {
  it("a saas app: no top-level session_duration, no timestamps, no uid; its client secret only in the create response", async () => {
    const created = await call("POST", "/access/apps", { type: "saas", name: "Portal", saas_app: { auth_type: "oidc", redirect_uris: ["https://portal.example.com/cb"] } });
    expect(created.status).toBe(200);
    expect(created.result.saas_app.client_secret).toMatch(/^[0-9a-f]+$/);
    const read = (await call("GET", `/access/apps/${created.result.id}`)).result;
    for (const field of ["session_duration", "created_at", "updated_at", "uid"]) expect(read).not.toHaveProperty(field);
    for (const field of ["client_secret", "created_at", "updated_at"]) expect(read.saas_app).not.toHaveProperty(field);
    expect(read).toMatchObject({ id: created.result.id, type: "saas", aud: expect.any(String) });
  });

  it("a self-hosted app keeps every field it was given (mfa_config, custom_pages, …) and answers self_hosted_domains in step with its destinations", async () => {
    const domain = host();
    const body = {
      type: "self_hosted",
      name: "Wiki",
      domain,
      destinations: [{ type: "public", uri: domain }, { type: "public", uri: "docs.example.com/api" }, { type: "private", cidr: "10.0.0.0/8" }],
      mfa_config: { allowed_authenticators: ["totp"] },
      custom_pages: ["99999999-0000-4000-8000-000000000001"],
      // Ignored: destinations supersede it.
      self_hosted_domains: ["stale.example.com"],
    };
    const { result } = await call("POST", "/access/apps", body);
    const read = (await call("GET", `/access/apps/${result.id}`)).result;
    expect(read).toMatchObject({ mfa_config: body.mfa_config, custom_pages: body.custom_pages, destinations: body.destinations });
    expect(read.self_hosted_domains).toEqual([domain, "docs.example.com/api"]);
    for (const field of ["created_at", "updated_at", "uid"]) expect(read).not.toHaveProperty(field);
  });

  it("a reusable policy says so, with its account; an app's policies do not say which kind they are", async () => {
    const policy = await reusablePolicy("staff");
    expect(policy).toMatchObject({ reusable: true, account_id: fake.accountId, app_count: 0 });
    const { result } = await call("POST", "/access/apps", { type: "self_hosted", name: "A", domain: host(), policies: [{ id: policy.id, precedence: 1 }] });
    expect(result.policies).toEqual([expect.objectContaining({ id: policy.id, precedence: 1, name: "staff" })]);
    expect(result.policies[0]).not.toHaveProperty("reusable");
  });
});

describe("the fake Cloudflare API refuses what the real one does not take", () => {
  it("fields an app body does not have: id, aud, timestamps, uid, and a saas app's top-level session_duration", async () => {
    const domain = host();
    for (const extra of [{ id: "x" }, { aud: "x" }, { created_at: "2026-01-01T00:00:00Z" }, { updated_at: "2026-01-01T00:00:00Z" }, { uid: "x" }]) {
      const answer = await call("POST", "/access/apps", { type: "self_hosted", name: "A", domain, ...extra });
      expect([answer.status, answer.message]).toEqual([400, expect.stringContaining(Object.keys(extra)[0]!)]);
    }
    const saas = await call("POST", "/access/apps", { type: "saas", name: "S", session_duration: "24h", saas_app: { auth_type: "oidc" } });
    expect([saas.status, saas.message]).toEqual([400, expect.stringContaining("session_duration")]);
    const secret = await call("POST", "/access/apps", { type: "saas", name: "S", saas_app: { auth_type: "oidc", client_secret: "mine" } });
    expect(secret.status).toBe(400);
  });

  it("a domain that is not among the public destinations, which supersede it", async () => {
    const answer = await call("POST", "/access/apps", { type: "self_hosted", name: "A", domain: host(), destinations: [{ type: "public", uri: host() }] });
    expect([answer.status, answer.message]).toEqual([400, expect.stringContaining("not one of the application's public destinations")]);
  });

  it("options_preflight_bypass together with cors_headers; either alone passes", async () => {
    const cors = { allowed_origins: ["https://tools.example.com"] };
    const both = await call("POST", "/access/apps", { type: "self_hosted", name: "A", domain: host(), options_preflight_bypass: true, cors_headers: cors });
    expect([both.status, both.message]).toEqual([400, expect.stringContaining("options_preflight_bypass")]);
    for (const body of [{ options_preflight_bypass: true }, { cors_headers: cors }]) {
      const answer = await call("POST", "/access/apps", { type: "self_hosted", name: "A", domain: host(), ...body });
      expect(answer.status).toBe(200);
    }
  });

  it("a wildcard in a custom-scheme allowed_uri, or anywhere but a trailing /* in an http(s) one; exact ones pass", async () => {
    const oauth = (uri: string) => ({ enabled: true, dynamic_client_registration: { enabled: true, allowed_uris: [uri] } });
    for (const uri of ["cursor://anysphere.cursor-mcp/*", "vscode://*", "https://*.example.com/callback", "https://example.com/*/callback"]) {
      const answer = await call("POST", "/access/apps", { type: "self_hosted", name: "A", domain: host(), oauth_configuration: oauth(uri) });
      expect([uri, answer.status]).toEqual([uri, 400]);
    }
    for (const uri of ["cursor://anysphere.cursor-mcp/oauth/callback", "https://playground.ai.cloudflare.com/*", "https://claude.ai/api/mcp/auth_callback"]) {
      const answer = await call("POST", "/access/apps", { type: "self_hosted", name: "A", domain: host(), oauth_configuration: oauth(uri) });
      expect([uri, answer.status]).toEqual([uri, 200]);
    }
  });

  it("two policies of one app with the same precedence", async () => {
    const [a, b] = [await reusablePolicy("a"), await reusablePolicy("b")];
    const answer = await call("POST", "/access/apps", { type: "self_hosted", name: "A", domain: host(), policies: [{ id: a.id, precedence: 2 }, { id: b.id, precedence: 2 }] });
    expect([answer.status, answer.message]).toEqual([400, expect.stringContaining("precedence 2 is used twice")]);
  });

  it("policy fields that are the API's own, in a reusable policy's body", async () => {
    const policy = await reusablePolicy("c");
    for (const extra of [{ id: policy.id }, { reusable: true }, { app_count: 1 }, { created_at: policy.created_at }, { account_id: fake.accountId }]) {
      const { id: _, reusable: __, app_count: ___, created_at: ____, updated_at: _____, account_id: ______, ...writable } = policy;
      const answer = await call("PUT", `/access/policies/${policy.id}`, { ...writable, ...extra });
      expect([Object.keys(extra)[0], answer.status]).toEqual([Object.keys(extra)[0], 400]);
    }
  });

  it("app-scoped policies: none made anew; one on the app is never linked like a reusable one, only kept with its settings; make_reusable converts it", async () => {
    const staff = await reusablePolicy("staff");
    const domain = host();
    const inline = await call("POST", "/access/apps", { type: "self_hosted", name: "A", domain, policies: [{ name: "inline", decision: "allow", include: [{ everyone: {} }] }] });
    expect([inline.status, inline.message]).toEqual([400, expect.stringContaining("app-scoped (legacy) policies can no longer be created")]);

    // A legacy policy, as an account from before reusable policies has them.
    const { result: app } = await call("POST", "/access/apps", { type: "self_hosted", name: "Legacy", domain, policies: [{ id: staff.id, precedence: 1 }] });
    const legacy = { id: "aaaaaaaa-0000-4000-8000-00000000ffff", name: "editors", decision: "allow", include: [{ everyone: {} }], exclude: [], require: [], reusable: false, precedence: 2 };
    fake.account().apps.find((candidate) => candidate.id === app.id).policies.push(legacy);
    const listed = (await call("GET", `/access/apps/${app.id}/policies`)).result;
    expect(listed.map((p: { id: string }) => p.id)).toEqual([staff.id, legacy.id]);
    expect((await call("GET", "/access/policies")).result.map((p: { id: string }) => p.id)).not.toContain(legacy.id);

    const { id: _, aud: __, policies: ___, self_hosted_domains: ____, ...writable } = (await call("GET", `/access/apps/${app.id}`)).result;
    for (const ref of [legacy.id, { id: legacy.id, precedence: 2 }]) {
      const linked = await call("PUT", `/access/apps/${app.id}`, { ...writable, policies: [{ id: staff.id, precedence: 1 }, ref] });
      expect([linked.status, linked.message]).toEqual([400, expect.stringContaining("is an app-scoped policy, not a reusable one")]);
    }
    const kept = await call("PUT", `/access/apps/${app.id}`, { ...writable, policies: [{ id: staff.id, precedence: 1 }, { id: legacy.id, precedence: 2, session_duration: "1h" }] });
    expect(kept.status).toBe(200);
    expect(kept.result.policies[1]).toMatchObject({ id: legacy.id, name: "editors", session_duration: "1h" });

    const converted = await call("PUT", `/access/apps/${app.id}/policies/${legacy.id}/make_reusable`);
    expect(converted.result).toMatchObject({ id: legacy.id, reusable: true });
    const linked = await call("PUT", `/access/apps/${app.id}`, { ...writable, policies: [{ id: staff.id, precedence: 1 }, { id: legacy.id, precedence: 2 }] });
    expect(linked.status).toBe(200);
  });
});

describe("the fake Cloudflare API takes Workers Rate Limiting bindings in a script upload as the real one does", () => {
  /** Uploads a Worker with these bindings, as wrangler deploy does (multipart: metadata and the module). */
  async function upload(name: string, bindings: unknown[]): Promise<{ status: number; message: string }> {
    const form = new FormData();
    form.set("metadata", JSON.stringify({ main_module: "index.js", compatibility_date: "2026-01-01", bindings }));
    form.set("index.js", new Blob(["export default { fetch() { return new Response('ok'); } };"], { type: "application/javascript+module" }), "index.js");
    const response = await fetch(`${fake.baseURL}/accounts/${fake.accountId}/workers/scripts/${name}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${fake.token}` },
      body: form,
    });
    const json = await response.json();
    return { status: response.status, message: json.errors?.map((e: { message: string }) => e.message).join("; ") ?? "" };
  }
  const rateLimit = (more: Record<string, unknown> = {}) => ({ type: "ratelimit", name: "RATE_LIMIT", namespace_id: "1001", simple: { limit: 60, period: 60 }, ...more });

  it("keeps a valid one (period 10 or 60, an integer namespace id) and shows it among the live Worker's bindings", async () => {
    expect((await upload("limited", [rateLimit(), rateLimit({ name: "RATE_LIMIT_WHOAMI", namespace_id: "2147483647", simple: { limit: 1, period: 10 } })])).status).toBe(200);
    const live = fake.deployedWorker("limited");
    expect(live && "ratelimits" in live && live.ratelimits).toEqual({
      RATE_LIMIT: { namespace_id: "1001", simple: { limit: 60, period: 60 } },
      RATE_LIMIT_WHOAMI: { namespace_id: "2147483647", simple: { limit: 1, period: 10 } },
    });
  });

  it.each([
    ["a period of 30 seconds", rateLimit({ simple: { limit: 60, period: 30 } }), /period/],
    ["a period given as text", rateLimit({ simple: { limit: 60, period: "60" } }), /period/],
    ["a limit of 0", rateLimit({ simple: { limit: 0, period: 60 } }), /limit/],
    ["a fractional limit", rateLimit({ simple: { limit: 1.5, period: 60 } }), /limit/],
    ["no simple", rateLimit({ simple: undefined }), /simple/],
    ["a namespace id that is not an integer", rateLimit({ namespace_id: "rl-1" }), /namespace_id/],
    ["a negative namespace id", rateLimit({ namespace_id: "-5" }), /namespace_id/],
    ["no namespace id", rateLimit({ namespace_id: undefined }), /namespace_id/],
    ["no name", rateLimit({ name: undefined }), /name/],
  ])("refuses %s (400), and no Worker is left behind", async (_, binding, message) => {
    const name = `refused-${Math.random().toString(36).slice(2, 8)}`;
    const answer = await upload(name, [binding]);
    expect(answer.status).toBe(400);
    expect(answer.message).toMatch(message);
    expect(fake.deployedWorker(name)).toBeNull();
  });
});

describe("the fake Cloudflare API deletes as destroy needs it to", () => {
  it("a KV namespace: deleted, then 404 code 10013", async () => {
    const { result: namespace } = await call("POST", "/storage/kv/namespaces", { title: `doomed-${++hosts}` });
    const first = await call("DELETE", `/storage/kv/namespaces/${namespace.id}`);
    expect(first.status).toBe(200);
    const again = await fetch(`${fake.baseURL}/accounts/${fake.accountId}/storage/kv/namespaces/${namespace.id}`, { method: "DELETE", headers: { authorization: `Bearer ${fake.token}` } });
    expect(again.status).toBe(404);
    expect((await again.json()).errors[0].code).toBe(10013);
  });

  it("a reusable policy still on an application is refused; off it, deleted; app_count says how many apps use it", async () => {
    const policy = await reusablePolicy("in use");
    const domain = host();
    const { result: app } = await call("POST", "/access/apps", { type: "self_hosted", name: "Uses it", domain, policies: [{ id: policy.id, precedence: 1 }] });
    expect((await call("GET", `/access/policies/${policy.id}`)).result.app_count).toBe(1);
    const refused = await call("DELETE", `/access/policies/${policy.id}`);
    expect(refused.status).toBe(400);
    expect(refused.message).toMatch(/in use/);
    await call("PUT", `/access/apps/${app.id}`, { type: "self_hosted", name: "Uses it", domain, policies: [] });
    expect((await call("GET", `/access/policies/${policy.id}`)).result.app_count).toBe(0);
    expect((await call("DELETE", `/access/policies/${policy.id}`)).status).toBe(200);
    expect((await call("DELETE", `/access/policies/${policy.id}`)).status).toBe(404);
  });

  it("a Worker: 404 code 10007 when there is none; refused without force while another Worker's service binding names it", async () => {
    const missing = await fetch(`${fake.baseURL}/accounts/${fake.accountId}/workers/scripts/nobody`, { method: "DELETE", headers: { authorization: `Bearer ${fake.token}` } });
    expect(missing.status).toBe(404);
    expect((await missing.json()).errors[0].code).toBe(10007);
    fake.addWorker("backend");
    fake.addWorker("frontend", [{ type: "service", name: "API", service: "backend" }]);
    expect((await call("DELETE", "/workers/scripts/backend")).status).toBe(409);
    expect(fake.account().workers.backend).toBeDefined();
    expect((await call("DELETE", "/workers/scripts/backend?force=true")).status).toBe(200);
    expect(fake.account().workers.backend).toBeUndefined();
  });

  it("save() and restore() put the whole state back", async () => {
    const saved = fake.save();
    await reusablePolicy("made after the save");
    fake.restore(saved);
    expect(fake.account().policies.map((policy: { name: string }) => policy.name)).not.toContain("made after the save");
  });
});
