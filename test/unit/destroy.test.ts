import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseArgv } from "../../src/answers/args.js";
import { destroyCommand } from "../../src/commands/destroy.js";
import { Cancelled, ExitCode, RuntimeFailure, UsageError } from "../../src/errors.js";
import type { ApiCall } from "../../src/provision/cloudflare-api.js";
import type { ProvisionPrompter } from "../../src/provision/context.js";
import type { TemplateSet } from "../../src/render/templates.js";
import { ACCOUNT, ApiFailure, FakeApi } from "../support/fake-api.js";
import { createdInMemory, provisionInMemory, recordingUi, repoTemplates } from "../support/memory.js";

let templates: TemplateSet;
beforeAll(async () => {
  templates = await repoTemplates();
});

const TOKEN = "unit-test-api-token-0123456789";
const selfHosted = ["--auth", "self-hosted", "--team", "acme", "--allow-domain", "example.com"];
const saas = ["--auth", "saas", "--team", "acme", "--allow-domain", "example.com"];
const withWiki = ["--downstream", "wiki=https://wiki.example.com"];

/** A project made in memory, provisioned against the fake API (the deploy sets the Worker's bindings as wrangler would), then destroyed. */
async function harness(createArgs: string[], options: { api?: FakeApi; prompter?: ProvisionPrompter } = {}) {
  const said: string[] = [];
  const ui = recordingUi(said);
  const { volume, fs, root } = await createdInMemory(createArgs, templates, ui);
  const api = options.api ?? new FakeApi();
  const read = (path: string) => volume.readFileSync(join(root, path), "utf8") as string;
  const provision = provisionInMemory({ fs, root }, { api, ui, templates, token: TOKEN });
  const destroy = (...argv: string[]) =>
    destroyCommand(parseArgv(["destroy", ...argv]), {
      cwd: root,
      env: { CLOUDFLARE_API_TOKEN: TOKEN },
      fs,
      exec: async () => ({ code: 0, output: "" }),
      ui,
      ...(options.prompter ? { prompter: options.prompter } : {}),
      api,
    });
  const config = () => JSON.parse(read("mcp-access.json"));
  const edit = (change: (config: any) => void) => {
    const next = config();
    change(next);
    volume.writeFileSync(join(root, "mcp-access.json"), JSON.stringify(next, null, 2));
  };
  const files = () => Object.fromEntries(Object.entries(volume.toJSON()).filter(([path]) => !path.endsWith("mcp-access.json")));
  return { api, provision, destroy, said, read, config, edit, files };
}

/** The wiki's own Access app, with a policy and settings of its own, as a downstream of the project. */
async function wikiApp(api: FakeApi) {
  const staff = await api.createPolicy(ACCOUNT, { name: "wiki staff", decision: "allow", include: [{ email_domain: { domain: "example.com" } }] });
  const app = await api.createApp(ACCOUNT, {
    type: "self_hosted",
    name: "Wiki",
    domain: "wiki.example.com",
    session_duration: "2h",
    app_launcher_visible: false,
    policies: [{ id: staff.id, precedence: 1 }],
  });
  return { staff, app };
}

const mutations = (api: FakeApi) => api.mutations().map(({ call }) => call);
const reads = (api: FakeApi) => api.calls.filter(({ call }) => /^(get|list)/.test(call)).map(({ call }) => call);

/** The Worker's, the app's, the policies' and the namespace's state that is not the downstream app's. */
function projectLeftovers(api: FakeApi) {
  return {
    workers: [...api.workers.keys()],
    apps: api.apps.filter((app) => app.name !== "Wiki").map((app) => app.name),
    policies: api.policies.filter((policy) => policy.name !== "wiki staff").map((policy) => policy.name),
    kvNamespaces: api.kvNamespaces.map((namespace) => namespace.title),
  };
}
const NOTHING = { workers: [], apps: [], policies: [], kvNamespaces: [] };

describe("destroy removes what provision made, and nothing else", () => {
  it.each([
    ["self-hosted", selfHosted, ["updateApp", "deletePolicy", "deleteWorker", "deleteApp", "deletePolicy"], 6],
    ["saas", saas, ["updateApp", "deletePolicy", "deleteWorker", "deleteApp", "deletePolicy", "deleteKvNamespace"], 7],
  ] as const)("%s with a downstream app: in order, the link, its policy, the Worker, the app, the allow policy (and the KV namespace); the wiki keeps everything else", async (_mode, args, order, readCount) => {
    const api = new FakeApi();
    const { staff, app: wiki } = await wikiApp(api);
    const h = await harness([...args, ...withWiki], { api });
    expect(await h.provision()).toBe(ExitCode.ok);
    const wikiBefore = api.apps.find((app) => app.id === wiki.id)!;
    expect(wikiBefore.policies).toHaveLength(2);
    const filesBefore = h.files();
    api.calls = [];

    expect(await h.destroy("--yes")).toBe(ExitCode.ok);
    expect(mutations(api)).toEqual(order);
    expect(reads(api)).toHaveLength(readCount);
    expect(projectLeftovers(api)).toEqual(NOTHING);
    const wikiAfter = api.apps.find((app) => app.id === wiki.id)!;
    expect(wikiAfter.policies!.map(({ id, precedence }) => ({ id, precedence }))).toEqual([{ id: staff.id, precedence: 1 }]);
    expect(wikiAfter).toMatchObject({ session_duration: "2h", app_launcher_visible: false, domain: "wiki.example.com" });
    expect(api.policies.map((policy) => policy.id)).toEqual([staff.id]);
    // Only the ids of what is gone leave mcp-access.json; every other file is as it was (wrangler.jsonc keeps its ids).
    expect(h.config().provisioned).toEqual({ workersSubdomain: "acme" });
    expect(h.config().accountId).toBe(ACCOUNT);
    expect(h.files()).toEqual(filesBefore);
    expect(h.said.join("\n")).toMatch(/srv is removed from Cloudflare \(\d+ removed, 0 already gone\)[\s\S]*npm run provision sets it all up again/);

    // Run again: all already gone, nothing sent but reads.
    api.calls = [];
    expect(await h.destroy("--yes")).toBe(ExitCode.ok);
    expect(mutations(api)).toEqual([]);
    // And provision sets it all up again.
    expect(await h.provision()).toBe(ExitCode.ok);
    expect(projectLeftovers(api).apps).toEqual(["srv (MCP server)"]);
  });

  it("a custom domain routed to the Worker is detached before the Worker goes; another Worker's and another host's stay", async () => {
    const api = new FakeApi();
    const h = await harness(selfHosted, { api });
    await h.provision();
    // As provision with --domain would leave it: the app on the custom host, the host routed to the Worker.
    h.edit((config) => (config.domain = "mcp.example.com"));
    const app = api.apps[0]!;
    app.domain = "mcp.example.com";
    app.destinations = [{ type: "public", uri: "mcp.example.com" }];
    app.self_hosted_domains = ["mcp.example.com"];
    api.domains = [
      { id: "d-ours", hostname: "mcp.example.com", service: "srv", zone_name: "example.com" },
      { id: "d-other-host", hostname: "docs.example.com", service: "srv", zone_name: "example.com" },
      { id: "d-other-worker", hostname: "payroll.example.com", service: "payroll", zone_name: "example.com" },
    ];
    api.calls = [];
    expect(await h.destroy("--yes")).toBe(ExitCode.ok);
    expect(mutations(api)).toEqual(["deleteWorkerDomain", "deleteWorker", "deleteApp", "deletePolicy"]);
    expect(api.calls.find(({ call }) => call === "listWorkerDomains")!.args[1]).toEqual({ service: "srv" });
    expect(api.domains.map((domain) => domain.id)).toEqual(["d-other-host", "d-other-worker"]);
    expect(h.said.join("\n")).toMatch(/its certificate stays: SSL\/TLS, Edge Certificates/);
  });

  it("the custom domain provision last set up goes too, while a change of domain waits for its provision; the record of it goes with it", async () => {
    const api = new FakeApi();
    const h = await harness(selfHosted, { api });
    await h.provision();
    // provision set up mcp.example.com; then "domain" was changed to new.example.com, and provision has not run since.
    h.edit((config) => {
      config.domain = "new.example.com";
      config.provisioned = { ...config.provisioned, customDomain: { hostname: "mcp.example.com", zone: "example.com" } };
    });
    const app = api.apps[0]!;
    app.destinations = [{ type: "public", uri: "mcp.example.com" }];
    app.domain = "mcp.example.com";
    app.self_hosted_domains = ["mcp.example.com"];
    api.domains = [{ id: "d-old", hostname: "mcp.example.com", service: "srv", zone_name: "example.com" }];
    expect(await h.destroy("--yes")).toBe(ExitCode.ok);
    // The app is still on the host provision last set up: it is this project's there, and goes.
    expect(projectLeftovers(api).apps).toEqual([]);
    expect(api.domains).toEqual([]);
    expect(h.config().provisioned?.customDomain).toBeUndefined();
  });
});

describe("what is not provably this project's stays, and is reported (exit 1)", () => {
  it("a recorded app id that now names another app, a policy and a KV namespace of other names, a Worker bound to none of ours", async () => {
    const api = new FakeApi();
    const h = await harness(saas, { api });
    await h.provision();
    const payrollPolicy = await api.createPolicy(ACCOUNT, { name: "payroll admins", decision: "allow", include: [{ email: { email: "cfo@example.com" } }] });
    const payroll = await api.createApp(ACCOUNT, { type: "saas", name: "Payroll", saas_app: { auth_type: "oidc", redirect_uris: ["https://payroll.example.com/cb"] }, policies: [{ id: payrollPolicy.id }] });
    const payrollKv = await api.createKvNamespace(ACCOUNT, "payroll-data");
    const ours = structuredClone(h.config().provisioned);
    h.edit((config) => {
      config.provisioned.accessApp = { id: payroll.id };
      config.provisioned.allowPolicyId = payrollPolicy.id;
      config.provisioned.kvNamespaceId = payrollKv.id;
    });
    // The Worker named srv is somebody else's now.
    api.workers.set("srv", [{ type: "plain_text", name: "POLICY_AUD", text: "f".repeat(64) }]);
    api.calls = [];

    expect(await h.destroy("--yes")).toBe(ExitCode.failure);
    expect(mutations(api)).toEqual([]);
    expect(api.apps.map((app) => app.id)).toContain(payroll.id);
    expect(api.kvNamespaces.map((namespace) => namespace.id)).toContain(payrollKv.id);
    expect(api.workers.has("srv")).toBe(true);
    const said = h.said.join("\n");
    expect(said).toMatch(/Left alone:[\s\S]*"Payroll"[^\n]*its name is "Payroll", not "srv \(MCP server\)"/);
    expect(said).toMatch(/"payroll admins"[^\n]*not provably this project's/);
    expect(said).toMatch(/"payroll-data"[^\n]*its title is not "srv-OAUTH_KV"/);
    expect(said).toMatch(/the Worker "srv": it binds no POLICY_AUD/);
    expect(said).toMatch(/3 left alone|4 left alone/);
    // What is left stays recorded.
    expect(h.config().provisioned.accessApp).toEqual({ id: payroll.id });
    expect(ours.accessApp.id).not.toBe(payroll.id);
  });

  it("a name from the API is printed with its invisible characters escaped, by provision and by destroy: no terminal escape, no reordering", async () => {
    const api = new FakeApi();
    const h = await harness(selfHosted, { api });
    await h.provision();
    // Whoever can edit the account names the app: a screen-clearing escape, a C1 control and a right-to-left override.
    api.apps[0]!.name = "\u001b[2J\u009b31m\u202eHR tools";
    const refusal = await h.provision().catch((error: Error) => error.message);
    const before = h.said.length;
    expect(await h.destroy("--yes")).toBe(ExitCode.failure);
    for (const said of [String(refusal), h.said.slice(before).join("\n")]) {
      expect(said).toContain('"\\u001b[2J\\u009b31m\\u202eHR tools"');
      expect(said).not.toMatch(/[\u001b\u009b\u202e]/);
    }
  });

  it("a self-hosted app recorded but on another host is left alone, while everything else of the project goes", async () => {
    const api = new FakeApi();
    const h = await harness(selfHosted, { api });
    await h.provision();
    const app = api.apps[0]!;
    app.domain = "hr.example.com";
    app.destinations = [{ type: "public", uri: "hr.example.com" }];
    app.self_hosted_domains = ["hr.example.com"];
    api.calls = [];
    expect(await h.destroy("--yes")).toBe(ExitCode.failure);
    // The Worker's POLICY_AUD is the app's AUD and the app carries our name: the Worker is proven, but the app is not.
    expect(mutations(api)).toEqual(["deleteWorker"]);
    expect(h.said.join("\n")).toMatch(/it does not protect srv\.acme\.workers\.dev/);
    // The allow policy is still on that app: it stays too, saying so.
    expect(h.said.join("\n")).toMatch(/allowed users"[^\n]*1 Access application\(s\) that destroy leaves still use it/);
  });

  it("what provision --adopt took over stays: the adopted app and the allow policy on it; the Worker it made goes", async () => {
    const api = new FakeApi();
    const mine = await api.createApp(ACCOUNT, { type: "self_hosted", name: "My MCP", domain: "srv.acme.workers.dev", policies: [] });
    const h = await harness(selfHosted, { api });
    expect(await h.provision("--adopt", "--yes")).toBe(ExitCode.ok);
    expect(h.config().provisioned.adopted).toEqual([mine.id]);
    api.calls = [];
    expect(await h.destroy("--yes")).toBe(ExitCode.failure);
    expect(mutations(api)).toEqual(["deleteWorker"]);
    expect(api.apps.map((app) => app.id)).toEqual([mine.id]);
    expect(h.said.join("\n")).toMatch(/"srv \(MCP server\)"[^\n]*provision --adopt took it over/);
  });

  it("an adopted Worker and KV namespace stay; the app provision created goes", async () => {
    const api = new FakeApi();
    const kv = await api.createKvNamespace(ACCOUNT, "sessions");
    const h = await harness(saas, { api });
    h.edit((config) => (config.provisioned = { kvNamespaceId: kv.id }));
    api.workers.set("srv", [{ type: "plain_text", name: "OTHER", text: "x" }]);
    expect(await h.provision("--adopt", "--yes")).toBe(ExitCode.ok);
    expect(new Set(h.config().provisioned.adopted)).toEqual(new Set([kv.id, "srv"]));
    api.calls = [];
    expect(await h.destroy("--yes")).toBe(ExitCode.failure);
    expect(mutations(api)).toEqual(["deleteApp", "deletePolicy"]);
    expect(api.workers.has("srv")).toBe(true);
    expect(api.kvNamespaces.map((namespace) => namespace.id)).toEqual([kv.id]);
  });

  it("a downstream app with an app-scoped policy keeps ours (an update would delete theirs), so the Linked App Token policy stays too", async () => {
    const api = new FakeApi();
    const { app: wiki } = await wikiApp(api);
    const h = await harness([...selfHosted, ...withWiki], { api });
    await h.provision();
    const stored = api.apps.find((app) => app.id === wiki.id)!;
    stored.policies = [...stored.policies!, { id: "legacy-editors", name: "wiki editors", decision: "allow", include: [], reusable: false, precedence: 9 }];
    const before = structuredClone(stored);
    api.calls = [];
    expect(await h.destroy("--yes")).toBe(ExitCode.failure);
    expect(mutations(api)).toEqual(["deleteWorker", "deleteApp", "deletePolicy"]);
    expect(api.apps.find((app) => app.id === wiki.id)).toEqual(before);
    const said = h.said.join("\n");
    expect(said).toMatch(/app-scoped \(legacy\) policies: make them reusable, "wiki editors" \(PUT [^\n]*\/legacy-editors\/make_reusable\)/);
    expect(said).toMatch(/Allow requests from MCP server srv"[^\n]*1 Access application\(s\) that destroy leaves still use it/);
    expect(h.config().provisioned.downstreams.wiki).toBeDefined();
  });

  it("the Linked App Token policy attached by hand to another app stays (and says so); recorded policy ids naming another policy are never touched", async () => {
    const api = new FakeApi();
    const { app: wiki } = await wikiApp(api);
    const h = await harness([...selfHosted, ...withWiki], { api });
    await h.provision();
    const lat = api.policies.find((policy) => policy.name === "Allow requests from MCP server srv")!;
    const crm = await api.createApp(ACCOUNT, { type: "self_hosted", name: "CRM", domain: "crm.example.com", policies: [{ id: lat.id, precedence: 1 }] });
    api.calls = [];
    expect(await h.destroy("--yes")).toBe(ExitCode.failure);
    expect(mutations(api)).toEqual(["updateApp", "deleteWorker", "deleteApp", "deletePolicy"]);
    expect(api.apps.find((app) => app.id === crm.id)!.policies!.map((policy) => policy.id)).toEqual([lat.id]);
    expect(api.apps.find((app) => app.id === wiki.id)!.policies!.map((policy) => policy.id)).not.toContain(lat.id);
    expect(h.said.join("\n")).toMatch(/1 Access application\(s\) that destroy leaves still use it/);
  });

  it("a recorded Linked App Token policy id naming another policy: the downstream app keeps it, the policy stays", async () => {
    const api = new FakeApi();
    const { staff, app: wiki } = await wikiApp(api);
    const h = await harness([...selfHosted, ...withWiki], { api });
    await h.provision();
    h.edit((config) => (config.provisioned.downstreams.wiki.policyId = staff.id));
    api.calls = [];
    expect(await h.destroy("--yes")).toBe(ExitCode.failure);
    expect(mutations(api)).not.toContain("updateApp");
    expect(api.policies.map((policy) => policy.id)).toContain(staff.id);
    expect(api.apps.find((app) => app.id === wiki.id)!.policies!.map((policy) => policy.id)).toContain(staff.id);
    expect(h.said.join("\n")).toMatch(/"wiki staff"[^\n]*its name is "wiki staff", not "Allow requests from MCP server srv"[^\n]*not provably this project's/);
  });
});

describe("downstream apps, several", () => {
  it("two downstream apps share the Linked App Token policy: it comes off both, then goes once; each keeps its own", async () => {
    const api = new FakeApi();
    const { staff, app: wiki } = await wikiApp(api);
    const crm = await api.createApp(ACCOUNT, { type: "self_hosted", name: "CRM", domain: "crm.example.com", policies: [{ id: staff.id, precedence: 3 }] });
    const h = await harness([...selfHosted, ...withWiki, "--downstream", "crm=https://crm.example.com"], { api });
    await h.provision();
    expect(Object.keys(h.config().provisioned.downstreams)).toEqual(["wiki", "crm"]);
    api.calls = [];
    expect(await h.destroy("--yes")).toBe(ExitCode.ok);
    expect(mutations(api)).toEqual(["updateApp", "updateApp", "deletePolicy", "deleteWorker", "deleteApp", "deletePolicy"]);
    for (const [id, precedence] of [[wiki.id, 1], [crm.id, 3]] as const) {
      expect(api.apps.find((app) => app.id === id)!.policies!.map((policy) => ({ id: policy.id, precedence: policy.precedence }))).toEqual([{ id: staff.id, precedence }]);
    }
    expect(h.config().provisioned).toEqual({ workersSubdomain: "acme" });
  });

  it("a downstream taken out of mcp-access.json but still recorded: its link is removed all the same", async () => {
    const api = new FakeApi();
    const { staff, app: wiki } = await wikiApp(api);
    const h = await harness([...selfHosted, ...withWiki], { api });
    await h.provision();
    h.edit((config) => (config.downstreams = []));
    expect(await h.destroy("--yes")).toBe(ExitCode.ok);
    expect(api.apps.find((app) => app.id === wiki.id)!.policies!.map((policy) => policy.id)).toEqual([staff.id]);
    expect(projectLeftovers(api)).toEqual(NOTHING);
  });

  it("a recorded downstream app id naming another app (that carries our policy too): that app is left as it is, and says why", async () => {
    const api = new FakeApi();
    await wikiApp(api);
    const h = await harness([...selfHosted, ...withWiki], { api });
    await h.provision();
    const lat = api.policies.find((policy) => policy.name === "Allow requests from MCP server srv")!;
    const payroll = await api.createApp(ACCOUNT, { type: "self_hosted", name: "Payroll", domain: "payroll.example.com", policies: [{ id: lat.id, precedence: 1 }] });
    h.edit((config) => (config.provisioned.downstreams.wiki.appId = payroll.id));
    const before = structuredClone(api.apps.find((app) => app.id === payroll.id));
    expect(await h.destroy("--yes")).toBe(ExitCode.failure);
    expect(api.apps.find((app) => app.id === payroll.id)).toEqual(before);
    expect(h.said.join("\n")).toMatch(/"Payroll"[^\n]*it is not wiki's application \(for wiki.example.com\)/);
  });
});

describe("destroy is resumable", () => {
  /** Makes the nth call (1-based) of `call` fail with a 500, once. */
  function failNth(api: FakeApi, call: ApiCall, nth: number) {
    const original = (api[call] as (...args: unknown[]) => Promise<unknown>).bind(api);
    let seen = 0;
    (api as unknown as Record<string, unknown>)[call] = async (...args: unknown[]) => {
      seen += 1;
      if (seen === nth) throw new ApiFailure(500, [{ code: 10001, message: "injected" }]);
      return original(...args);
    };
  }

  it.each([
    ["updateApp", 1],
    ["deletePolicy", 1],
    ["deleteWorker", 1],
    ["deleteApp", 1],
    ["deletePolicy", 2],
    ["deleteKvNamespace", 1],
  ] as const)("a failure at %s (call %i) stops the run (exit 1, naming the call); a re-run ends as an uninterrupted run does", async (call, nth) => {
    const api = new FakeApi();
    const { staff, app: wiki } = await wikiApp(api);
    const h = await harness([...saas, ...withWiki], { api });
    await h.provision();
    failNth(api, call, nth);
    const error = await h.destroy("--yes").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RuntimeFailure);
    expect((error as Error).message).toMatch(/answered 500[\s\S]*run destroy again/);
    expect(await h.destroy("--yes")).toBe(ExitCode.ok);
    expect(projectLeftovers(api)).toEqual(NOTHING);
    expect(api.apps.find((app) => app.id === wiki.id)!.policies!.map((policy) => policy.id)).toEqual([staff.id]);
    expect(h.config().provisioned).toEqual({ workersSubdomain: "acme" });
  });

  it("what disappears between the survey and its deletion (404) counts as already gone", async () => {
    const api = new FakeApi();
    const h = await harness(selfHosted, { api });
    await h.provision();
    const deleteWorker = api.deleteWorker.bind(api);
    api.deleteWorker = async (account, script) => {
      api.workers.delete(script);
      return deleteWorker(account, script);
    };
    expect(await h.destroy("--yes")).toBe(ExitCode.ok);
    expect(h.said.join("\n")).toMatch(/1 already gone/);
    expect(projectLeftovers(api)).toEqual(NOTHING);
  });
});

describe("asking first", () => {
  it("--dry-run lists every call, sends no write and leaves mcp-access.json as it is", async () => {
    const api = new FakeApi();
    await wikiApp(api);
    const h = await harness([...saas, ...withWiki], { api });
    await h.provision();
    const before = { config: h.read("mcp-access.json"), apps: structuredClone(api.apps), policies: structuredClone(api.policies), kv: structuredClone(api.kvNamespaces) };
    api.calls = [];
    expect(await h.destroy("--dry-run")).toBe(ExitCode.ok);
    expect(mutations(api)).toEqual([]);
    expect({ config: h.read("mcp-access.json"), apps: api.apps, policies: api.policies, kv: api.kvNamespaces }).toEqual(before);
    expect(api.workers.has("srv")).toBe(true);
    const plan = h.said.join("\n");
    for (const line of [
      /not sent  PUT    \/accounts\/\w+\/access\/apps\//,
      /not sent  DELETE \/accounts\/\w+\/access\/policies\//,
      /not sent  DELETE \/accounts\/\w+\/workers\/scripts\/srv/,
      /not sent  DELETE \/accounts\/\w+\/access\/apps\//,
      /not sent  DELETE \/accounts\/\w+\/storage\/kv\/namespaces\//,
      /Would remove from mcp-access.json:[\s\S]*provisioned.downstreams.wiki[\s\S]*provisioned.accessApp[\s\S]*provisioned.kvNamespaceId/,
    ])
      expect(plan).toMatch(line);
  });

  it("without a terminal and without --yes: exit 2 before any call, nothing deleted", async () => {
    const h = await harness(selfHosted);
    await h.provision();
    h.api.calls = [];
    const error = await h.destroy().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(/add --yes/);
    expect(h.api.calls).toEqual([]);
  });

  it("in a terminal it lists what will go and asks: no (or Escape) deletes nothing, yes deletes", async () => {
    let answer: boolean | symbol = false;
    const asked: string[] = [];
    const prompter = {
      confirm: async ({ message }: { message: string }) => (asked.push(message), answer),
      isCancel: (value: unknown) => typeof value === "symbol",
    } as unknown as ProvisionPrompter;
    const h = await harness(selfHosted, { prompter });
    await h.provision();
    h.api.calls = [];
    await expect(h.destroy()).rejects.toBeInstanceOf(Cancelled);
    answer = Symbol("cancel");
    await expect(h.destroy()).rejects.toBeInstanceOf(Cancelled);
    expect(mutations(h.api)).toEqual([]);
    expect(h.said.join("\n")).toMatch(/To remove:\n {2}- the Worker "srv": deleted\n {2}- the Access application "srv \(MCP server\)"/);
    expect(asked[0]).toBe("Delete these 3 for good?");
    answer = true;
    expect(await h.destroy()).toBe(ExitCode.ok);
    expect(projectLeftovers(h.api)).toEqual(NOTHING);
  });

  it("needs the token, takes only --dry-run and --yes, and says when nothing was ever provisioned", async () => {
    const h = await harness(selfHosted);
    await expect(
      destroyCommand(parseArgv(["destroy", "--yes"]), { cwd: "/work/srv", env: {}, fs: undefined as never, exec: async () => ({ code: 0, output: "" }), ui: recordingUi([]) }),
    ).rejects.toThrow(/CLOUDFLARE_API_TOKEN/);
    for (const flag of [["--adopt"], ["--name", "other"], ["--account-id", "0".repeat(32)], ["--no-deploy"]]) {
      await expect(h.destroy("--yes", ...flag)).rejects.toThrow(/destroy removes what mcp-access.json records[\s\S]*--dry-run, --yes/);
    }
    expect(h.api.calls).toEqual([]);
    expect(await h.destroy("--yes")).toBe(ExitCode.ok);
    expect(h.api.calls).toEqual([]);
    expect(h.said.join("\n")).toMatch(/Nothing to remove: mcp-access.json records no account/);
  });
});
