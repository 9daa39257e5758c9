import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseArgv } from "../../src/answers/args.js";
import { doctorCommand, serverOrigin } from "../../src/commands/doctor.js";
import type { Check } from "../../src/doctor/checks.js";
import type { Probe, ProbeAnswer } from "../../src/doctor/probe.js";
import { ExitCode, UsageError } from "../../src/errors.js";
import { SAAS_SECRET_NAMES, secretsToUpload, workerSecretNames } from "../../src/provision/steps/deploy.js";
import type { TemplateSet } from "../../src/render/templates.js";
import { ACCOUNT, ApiFailure, FakeApi } from "../support/fake-api.js";
import { configWith, createdInMemory, provisionInMemory, recordingUi, repoTemplates } from "../support/memory.js";

/**
 * doctor on a project provisioned in memory (the unit fake of the API, a
 * recording deployer), its public part answered by a stub of a healthy
 * server: after provision all is well, and each kind of drift is found,
 * named field by field, and exits 1.
 */

let templates: TemplateSet;
beforeAll(async () => {
  templates = await repoTemplates();
});

const TOKEN = "unit-test-api-token-0123456789";

/** Every public request answered as by a healthy deployment of either mode. */
const healthyServer: Probe = async (request) => {
  const url = new URL(request.url);
  const json = (body: unknown, status = 200, headers: Record<string, string> = {}): ProbeAnswer => ({ ok: true, status, headers: new Headers(headers), body: JSON.stringify(body) });
  if (request.method === "POST") return json({}, 401, { "www-authenticate": `Bearer resource_metadata="${url.origin}/.well-known/oauth-protected-resource/mcp"` });
  if (request.method === "OPTIONS") return { ok: true, status: 204, headers: new Headers({ "access-control-allow-origin": "*", "access-control-allow-headers": "Authorization, *" }), body: "" };
  if (url.pathname.startsWith("/.well-known/oauth-protected-resource")) {
    return json({ resource: `${url.origin}/mcp`, authorization_servers: [HEALTHY_AS.value] });
  }
  return json({ issuer: url.origin, authorization_endpoint: `${url.origin}/a`, token_endpoint: `${url.origin}/t`, registration_endpoint: `${url.origin}/r`, code_challenge_methods_supported: ["S256"] });
};
/** The authorization server the stub's metadata names: the team (self-hosted) or the Worker (saas). */
const HEALTHY_AS = { value: "" };

async function provisioned(createArgs: string[], seed: (api: FakeApi) => void = () => {}) {
  const said: string[] = [];
  const ui = recordingUi(said);
  const { volume, fs, root } = await createdInMemory(createArgs, templates, ui);
  const api = new FakeApi();
  seed(api);
  const read = (path: string) => volume.readFileSync(join(root, path), "utf8") as string;
  const code = await provisionInMemory({ fs, root }, { api, ui, templates, token: TOKEN })();
  expect(code, said.join("\n")).toBe(ExitCode.ok);
  const auth = createArgs[createArgs.indexOf("--auth") + 1];
  HEALTHY_AS.value = auth === "saas" ? "https://srv.acme.workers.dev" : "https://acme.cloudflareaccess.com";

  const doctor = async (argv: string[] = [], env: Record<string, string> = { CLOUDFLARE_API_TOKEN: TOKEN }) => {
    const out: string[] = [];
    api.calls = [];
    const exit = await doctorCommand(parseArgv(["doctor", "--json", ...argv]), { cwd: root, env, fs, ui, print: (text) => out.push(text), probe: healthyServer, api });
    const report = JSON.parse(out.join("")) as { ok: boolean; url: string; checks: Check[] };
    return { exit, report, check: (id: string) => report.checks.find((c) => c.id === id)!, calls: api.calls.map((c) => c.call) };
  };
  return { api, fs, doctor, config: () => JSON.parse(read("mcp-access.json")) };
}

const selfHosted = ["--auth", "self-hosted", "--team", "acme", "--allow-email", "ada@example.com", "--downstream", "wiki=https://wiki.example.com"];
const saas = ["--auth", "saas", "--team", "acme", "--allow-domain", "example.com", "--downstream", "wiki=https://wiki.example.com"];

/** A downstream app of the account, protected by its own policy. */
function addWiki(api: FakeApi) {
  const staff = { id: "aaaaaaaa-0000-4000-8000-000000000001", name: "wiki staff", decision: "allow", include: [{ email_domain: { domain: "example.com" } }], reusable: true };
  api.policies.push(staff);
  api.apps.push({ id: "bbbbbbbb-0000-4000-8000-000000000002", uid: "bbbbbbbb-0000-4000-8000-000000000002", type: "self_hosted", name: "Wiki", domain: "wiki.example.com", policies: [{ ...staff, precedence: 1 }] });
}

/** Provisioned with the wiki's Access app already in the account, so provision links it. */
const withWiki = (args: string[]) => provisioned(args, addWiki);

describe("doctor after provision", () => {
  for (const [mode, args] of [["self-hosted", selfHosted], ["saas", saas]] as const) {
    it(`${mode}: all is well (exit 0), with reads only`, async () => {
      const h = await withWiki(args);
      const { exit, report, calls } = await h.doctor();
      expect(report.checks.filter((c) => c.status !== "ok")).toEqual([]);
      expect(exit).toBe(ExitCode.ok);
      expect(report.ok).toBe(true);
      expect(report.url).toBe("https://srv.acme.workers.dev");
      expect(report.checks.map((c) => c.id)).toEqual([
        "reachable",
        "challenge",
        "resource-metadata",
        "authorization-server",
        "cors",
        "access-app",
        "allow-policy",
        "downstream:wiki",
        ...(mode === "saas" ? ["kv-namespace"] : []),
        "worker",
      ]);
      expect(calls.every((call) => /^(get|list)/.test(call))).toBe(true);
      // One request per object: the app, the allow policy, the downstream app and its policy, (saas: KV), the Worker.
      expect(calls).toEqual(["getApp", "getPolicy", "getApp", "getPolicy", ...(mode === "saas" ? ["getKvNamespace"] : []), "getWorkerBindings"]);
    });
  }

  it("a custom domain: attached to this Worker as its only address is well; a workers.dev or preview URL turned on, or the host on another Worker, is named (exit 1)", async () => {
    const h = await provisioned([...selfHosted.slice(0, -2), "--domain", "mcp.example.com"]);
    // The deploy routed the host to the Worker, as wrangler's changeset does.
    expect(h.api.domains).toMatchObject([{ hostname: "mcp.example.com", service: "srv" }]);
    HEALTHY_AS.value = "https://acme.cloudflareaccess.com";
    const well = await h.doctor();
    expect(well.report.url).toBe("https://mcp.example.com");
    expect(well.check("custom-domain")).toMatchObject({ status: "ok" });
    expect(well.exit).toBe(ExitCode.ok);

    h.api.workerUrls.set("srv", { enabled: true, previews_enabled: true });
    const open = await h.doctor();
    expect(open.exit).toBe(ExitCode.failure);
    expect(open.check("custom-domain")).toMatchObject({ status: "fail", message: expect.stringMatching(/workers\.dev URL, where Access is not in front/) });
    expect(open.check("custom-domain").drift).toEqual([
      { field: "subdomain.enabled", expected: false, actual: true },
      { field: "subdomain.previews_enabled", expected: false, actual: true },
    ]);

    h.api.workerUrls.delete("srv");
    h.api.domains = [{ id: "d1", hostname: "mcp.example.com", service: "payroll", zone_name: "example.com" }];
    const taken = await h.doctor();
    expect(taken.check("custom-domain")).toMatchObject({ status: "fail", drift: [{ field: "service", expected: "srv", actual: "payroll" }] });
  });

  it("without a token: the public checks only, the rest skipped with how to enable it (exit 0)", async () => {
    const h = await provisioned(selfHosted.slice(0, -2));
    const { exit, report, calls } = await h.doctor([], {});
    expect(exit).toBe(ExitCode.ok);
    expect(report.checks.at(-1)).toMatchObject({ id: "token", status: "skip", fix: expect.stringContaining("CLOUDFLARE_API_TOKEN") });
    expect(calls).toEqual([]);
  });

  it("names Managed OAuth turned off, field by field", async () => {
    const h = await provisioned(selfHosted.slice(0, -2));
    h.api.apps[0]!.oauth_configuration!.enabled = false;
    const { exit, check } = await h.doctor();
    expect(exit).toBe(ExitCode.failure);
    expect(check("access-app")).toMatchObject({ status: "fail", message: expect.stringContaining("Managed OAuth is off"), fix: expect.stringContaining("npm run provision") });
    expect(check("access-app").drift).toEqual([{ field: "oauth_configuration.enabled", expected: true, actual: false }]);
  });

  it("names a redirect URI removed from the allowlist", async () => {
    const h = await provisioned(selfHosted.slice(0, -2));
    const registration = h.api.apps[0]!.oauth_configuration!.dynamic_client_registration!;
    registration.allowed_uris = registration.allowed_uris!.filter((uri) => uri !== "https://claude.ai/api/mcp/auth_callback");
    const { exit, check } = await h.doctor();
    expect(exit).toBe(ExitCode.failure);
    expect(check("access-app").message).toContain("redirect allowlist");
    const [drift] = check("access-app").drift!;
    expect(drift!.field).toBe("oauth_configuration.dynamic_client_registration.allowed_uris");
    expect(drift!.expected).toContain("https://claude.ai/api/mcp/auth_callback");
    expect(drift!.actual).not.toContain("https://claude.ai/api/mcp/auth_callback");
  });

  it("names other fields provision sets: preflights, identity providers, the app's name", async () => {
    const h = await provisioned(selfHosted.slice(0, -2));
    Object.assign(h.api.apps[0]!, { options_preflight_bypass: false, allowed_idps: ["11111111-1111-4111-8111-111111111111"], name: "renamed" });
    const { check } = await h.doctor();
    expect(check("access-app").message).toContain("CORS preflights are not let through to the Worker");
    expect(check("access-app").message).toMatch(/name, allowed_idps differ|allowed_idps, name differ/);
    expect(check("access-app").drift).toEqual(
      expect.arrayContaining([
        { field: "options_preflight_bypass", expected: true, actual: false },
        { field: "allowed_idps", expected: [], actual: ["11111111-1111-4111-8111-111111111111"] },
        { field: "name", expected: "srv (MCP server)", actual: "renamed" },
      ]),
    );
  });

  it("escapes what the API sends, in the text and in the JSON", async () => {
    const h = await provisioned(selfHosted.slice(0, -2));
    const hostile = "evil\u001b]0;pwned\u0007\u009b31m\u202egnp.exe";
    h.api.apps[0]!.name = hostile;
    const json = await h.doctor();
    expect(json.check("access-app").drift).toContainEqual({ field: "name", expected: "srv (MCP server)", actual: hostile });
    const out: string[] = [];
    const ui = recordingUi([]);
    for (const argv of [["doctor"], ["doctor", "--json"]]) {
      out.length = 0;
      await doctorCommand(parseArgv(argv), { cwd: "/work/srv", env: { CLOUDFLARE_API_TOKEN: TOKEN }, fs: h.fs, ui, print: (text) => out.push(text), probe: healthyServer, api: h.api });
      expect(out.join(""), argv.join(" ")).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
      expect(out.join("")).toContain("\\u202e");
    }
  });

  it("names the allow policy detached from the app, and a policy whose rules changed", async () => {
    const h = await provisioned(selfHosted.slice(0, -2));
    const policyId = h.config().provisioned.allowPolicyId;
    h.api.apps[0]!.policies = [];
    h.api.policies[0]!.include = [{ everyone: {} } as never];
    const { exit, check } = await h.doctor();
    expect(exit).toBe(ExitCode.failure);
    expect(check("access-app")).toMatchObject({ message: expect.stringContaining("the allow policy is not attached"), drift: [{ field: "policies", expected: [policyId], actual: [] }] });
    expect(check("allow-policy")).toMatchObject({ status: "fail", drift: [{ field: "include", expected: [{ email: { email: "ada@example.com" } }], actual: [{ everyone: {} }] }] });
  });

  it("names the app moved to another host (self-hosted) and the callback removed (saas)", async () => {
    const sh = await provisioned(selfHosted.slice(0, -2));
    Object.assign(sh.api.apps[0]!, { domain: "other.example.com", destinations: [{ type: "public", uri: "other.example.com" }], self_hosted_domains: ["other.example.com"] });
    const moved = await sh.doctor();
    expect(moved.exit).toBe(ExitCode.failure);
    expect(moved.check("access-app").message).toContain("it does not protect srv.acme.workers.dev");
    expect(moved.check("access-app").drift).toEqual(expect.arrayContaining([{ field: "domain", expected: "srv.acme.workers.dev", actual: "other.example.com" }]));

    const ss = await provisioned(saas.slice(0, -2));
    ss.api.apps[0]!.saas_app!.redirect_uris = ["https://other.example.com/callback"];
    const saasMoved = await ss.doctor();
    expect(saasMoved.check("access-app")).toMatchObject({ status: "fail", message: expect.stringContaining("redirect URIs lack https://srv.acme.workers.dev/callback") });
  });

  it("names the Linked App Token policy missing on a downstream app, and the app gone", async () => {
    const h = await withWiki(selfHosted);
    const wiki = h.api.apps.find((app) => app.name === "Wiki")!;
    const linkId = h.config().provisioned.downstreams.wiki.policyId;
    wiki.policies = wiki.policies!.filter((policy) => policy.id !== linkId);
    const missing = await h.doctor();
    expect(missing.exit).toBe(ExitCode.failure);
    expect(missing.check("downstream:wiki")).toMatchObject({ status: "fail", message: expect.stringContaining("Linked App Token policy is not on \"Wiki\"") });
    expect(missing.check("downstream:wiki").drift![0]).toMatchObject({ field: "policies", expected: expect.arrayContaining([linkId]) });
    h.api.apps = h.api.apps.filter((app) => app !== wiki);
    expect((await h.doctor()).check("downstream:wiki")).toMatchObject({ status: "fail", message: expect.stringContaining("no longer exists") });
  });

  it("saas: names a missing secret by name (never a value), a changed KV binding, and a deleted namespace", async () => {
    const h = await provisioned(saas.slice(0, -2));
    const bindings = h.api.workers.get("srv")!;
    h.api.workers.set(
      "srv",
      bindings.filter((binding) => binding.name !== "COOKIE_ENCRYPTION_KEY"),
    );
    const { exit, check } = await h.doctor();
    expect(exit).toBe(ExitCode.failure);
    expect(check("worker")).toMatchObject({ status: "fail", message: expect.stringContaining("the secret COOKIE_ENCRYPTION_KEY is missing") });
    expect(check("worker").drift).toEqual([{ field: "secrets", expected: [...SAAS_SECRET_NAMES], actual: SAAS_SECRET_NAMES.filter((name) => name !== "COOKIE_ENCRYPTION_KEY") }]);
    expect(JSON.stringify(check("worker"))).not.toContain("c".repeat(64));

    h.api.workers.set("srv", [...bindings.filter((binding) => binding.name !== "OAUTH_KV"), { type: "kv_namespace", name: "OAUTH_KV", namespace_id: "f".repeat(32) }]);
    expect((await h.doctor()).check("worker").drift).toEqual([{ field: "bindings.OAUTH_KV", expected: h.config().provisioned.kvNamespaceId, actual: "f".repeat(32) }]);
    h.api.kvNamespaces = [];
    expect((await h.doctor()).check("kv-namespace")).toMatchObject({ status: "fail", message: expect.stringContaining("no longer exists") });
  });

  it("self-hosted: names a Worker deployed with another AUD, and a Worker not deployed", async () => {
    const h = await provisioned(selfHosted.slice(0, -2));
    const bindings = h.api.workers.get("srv")!;
    h.api.workers.set("srv", bindings.map((binding) => (binding.name === "POLICY_AUD" ? { ...binding, text: "0".repeat(64) } : binding)));
    expect((await h.doctor()).check("worker")).toMatchObject({ status: "fail", message: expect.stringContaining("POLICY_AUD is not the recorded value") });
    h.api.workers.delete("srv");
    expect((await h.doctor()).check("worker")).toMatchObject({ status: "fail", message: expect.stringContaining("is not deployed") });
  });

  it("names the app deleted, and a token without a permission, per check, and goes on", async () => {
    const h = await provisioned(selfHosted.slice(0, -2));
    h.api.apps = [];
    h.api.failures.set("getPolicy", new ApiFailure(403, [{ code: 10000, message: "Authentication error" }]));
    const { exit, check } = await h.doctor();
    expect(exit).toBe(ExitCode.failure);
    expect(check("access-app")).toMatchObject({ status: "fail", message: expect.stringContaining("no longer exists") });
    expect(check("allow-policy")).toMatchObject({ status: "fail", message: expect.stringContaining("answered 403"), fix: expect.stringContaining("Access: Apps and Policies") });
    expect(check("worker").status).toBe("ok");
  });

  it("a refused token is one finding, not one per object", async () => {
    const h = await provisioned(selfHosted.slice(0, -2));
    h.api.tokenKind = "invalid";
    const { exit, report } = await h.doctor();
    expect(exit).toBe(ExitCode.failure);
    expect(report.checks.filter((c) => c.group === "cloudflare")).toEqual([
      expect.objectContaining({ id: "access-app", status: "fail", message: expect.stringContaining("answered 401"), fix: expect.stringContaining("CLOUDFLARE_API_TOKEN") }),
    ]);
  });

  it("before any provision: the URL and the objects are unknown, and it says to provision", async () => {
    const ui = recordingUi([]);
    const { fs, root } = await createdInMemory(selfHosted.slice(0, -2), templates, ui);
    const out: string[] = [];
    const exit = await doctorCommand(parseArgv(["doctor"]), { cwd: root, env: { CLOUDFLARE_API_TOKEN: TOKEN }, fs, ui, print: (text) => out.push(text), probe: healthyServer, api: new FakeApi() });
    expect(exit).toBe(ExitCode.failure);
    expect(out.join("")).toMatch(/FAIL {2}reachable: .*URL is not known/);
    expect(out.join("")).toMatch(/FAIL {2}provisioned: .*not been provisioned[\s\S]*fix: Run npm run provision/);
  });
});

describe("doctor's input", () => {
  it("--url takes https, or http on loopback, as an origin (the /mcp endpoint too)", () => {
    expect(serverOrigin("https://srv.example.com")).toBe("https://srv.example.com");
    expect(serverOrigin("https://srv.example.com/mcp")).toBe("https://srv.example.com");
    expect(serverOrigin("http://127.0.0.1:8787/")).toBe("http://127.0.0.1:8787");
    expect(serverOrigin("http://localhost:8787")).toBe("http://localhost:8787");
    expect(serverOrigin("http://[::1]:8787")).toBe("http://[::1]:8787");
  });

  it("refuses any other --url with exit 2 before any request, naming the value and the fix", async () => {
    for (const [value, words] of [
      ["http://srv.example.com", "must use https://"],
      ["http://10.0.0.1:8787", "must use https://"],
      ["ftp://srv.example.com", "must use https://"],
      ["https://user:pw@srv.example.com", "user name or password"],
      ["https://srv.example.com/?next=x", "query or fragment"],
      ["https://srv.example.com/admin", "origin"],
      ["srv.example.com", "is not a URL"],
    ]) {
      let requests = 0;
      const ui = recordingUi([]);
      const { fs, root } = await createdInMemory(selfHosted.slice(0, -2), templates, ui);
      const attempt = doctorCommand(parseArgv(["doctor", "--url", value!]), {
        cwd: root,
        env: {},
        fs,
        ui,
        print: () => {},
        probe: async () => {
          requests += 1;
          return { ok: false, failure: "refused", detail: "" };
        },
      });
      await expect(attempt, value).rejects.toThrow(UsageError);
      await expect(attempt).rejects.toThrow(words!);
      await expect(attempt).rejects.toThrow(JSON.stringify(value));
      expect(requests).toBe(0);
    }
  });

  it("--url is doctor's only, and doctor refuses the options of other commands", () => {
    expect(() => parseArgv(["provision", "--url", "https://x.example"])).toThrow(/--url only applies to doctor/);
    expect(() => parseArgv(["--url", "https://x.example"])).toThrow(/--url only applies to doctor/);
    expect(parseArgv(["doctor", "--url", "https://x.example"]).options.url).toBe("https://x.example");
  });

  it("refuses answer flags and other commands' options with exit 2", async () => {
    const ui = recordingUi([]);
    const { fs, root } = await createdInMemory(selfHosted.slice(0, -2), templates, ui);
    for (const argv of [["--auth", "saas"], ["--dry-run"], ["--force"]]) {
      await expect(doctorCommand(parseArgv(["doctor", ...argv]), { cwd: root, env: {}, fs, ui, print: () => {} }), argv.join(" ")).rejects.toThrow(/Options it accepts: --url, --json, --account-id/);
    }
  });
});

describe("what doctor expects of the Worker is what provision uploads", () => {
  it("the secret names are those provision's first deploy sends (saas, and the audit hash key)", async () => {
    const config = configWith({ auth: "saas", team: "https://acme.cloudflareaccess.com", audit: { arguments: "hash" } });
    const ctx = {
      config,
      workerSecrets: null,
      app: { id: "a", type: "saas", name: "srv (MCP server)", saas_app: { client_id: "client" } },
      secrets: { clientSecret: "s".repeat(32) },
      redactor: { add: () => {} },
      randomKey: () => "c".repeat(64),
    } as never;
    expect(Object.keys(await secretsToUpload(ctx)).sort()).toEqual(workerSecretNames(config).sort());
    expect(workerSecretNames(configWith())).toEqual([]);
  });

});

describe("doctor's account", () => {
  it("reads the account recorded in mcp-access.json, or the one --account-id names", async () => {
    const h = await provisioned(selfHosted.slice(0, -2));
    h.api.calls = [];
    await h.doctor();
    const accounts = () => new Set(h.api.calls.map((c) => c.args[0]));
    expect(accounts()).toEqual(new Set([ACCOUNT]));
    await h.doctor(["--account-id", "f".repeat(32)]);
    expect(accounts()).toEqual(new Set(["f".repeat(32)]));
  });
});
