import { join } from "node:path";
import { parse as parseJsonc } from "jsonc-parser";
import { createFsFromVolume, Volume } from "memfs";
import { beforeAll, describe, expect, it } from "vitest";
import { parseArgv } from "../../src/answers/args.js";
import { create } from "../../src/commands/create.js";
import { provisionCommand } from "../../src/commands/provision.js";
import { CLIENT_NAMES, KNOWN_CLIENTS, managedOAuthAllowlist } from "../../src/config/clients.js";
import { Cancelled, ConflictError, ExitCode, RuntimeFailure, UsageError } from "../../src/errors.js";
import type { FileSystem } from "../../src/fs.js";
import type { AccessApp, WorkerBinding } from "../../src/provision/cloudflare-api.js";
import type { DeployRequest, ProvisionPrompter } from "../../src/provision/context.js";
import type { TemplateSet } from "../../src/render/templates.js";
import { ACCOUNT, ApiFailure, FakeApi, fakeDeployer } from "../support/fake-api.js";
import { refusedRedirects } from "../support/managed-oauth.js";
import { createdInMemory, recordingUi, repoTemplates } from "../support/memory.js";

let templates: TemplateSet;
beforeAll(async () => {
  templates = await repoTemplates();
});

const TOKEN = "unit-test-api-token-0123456789";
const COOKIE_KEY = "c".repeat(64);

/** A project made by create in memory, and provision run on it against the fake API and a recording deployer. */
async function harness(createArgs: string[], options: { api?: FakeApi; prompter?: ProvisionPrompter; env?: Record<string, string> } = {}) {
  const said: string[] = [];
  const ui = recordingUi(said, { steps: true });
  const { volume, fs, root } = await createdInMemory(createArgs, templates, ui);
  said.length = 0;
  const api = options.api ?? new FakeApi();
  const deploys: DeployRequest[] = [];
  const run = (...argv: string[]) =>
    provisionCommand(parseArgv(["provision", ...argv]), {
      cwd: root,
      env: options.env ?? { CLOUDFLARE_API_TOKEN: TOKEN },
      fs,
      exec: async () => ({ code: 0, output: "" }),
      ui,
      ...(options.prompter ? { prompter: options.prompter } : {}),
      loadTemplates: async () => templates,
      generatorVersion: "0.1.0",
      api,
      randomKey: () => COOKIE_KEY,
      deployer: fakeDeployer(api, () => read("wrangler.jsonc"), {
        describe: ({ secrets }) => `wrangler deploy ${Object.keys(secrets).join(",")}`,
        onDeploy: (request) => deploys.push(request),
      }),
    });
  const read = (path: string) => volume.readFileSync(join(root, path), "utf8") as string;
  const config = () => JSON.parse(read("mcp-access.json"));
  const wrangler = () => parseJsonc(read("wrangler.jsonc"));
  const allFiles = () => Object.entries(volume.toJSON()).map(([path, text]) => `${path}\n${text}`).join("\n");
  /** Changes mcp-access.json as a pull request could. */
  const edit = (change: (config: any) => void) => {
    const next = config();
    change(next);
    volume.writeFileSync(join(root, "mcp-access.json"), JSON.stringify(next, null, 2));
  };
  return { api, run, said, deploys, read, config, wrangler, allFiles, edit, volume, root };
}

const selfHosted = ["--auth", "self-hosted", "--team", "acme", "--allow-email", "ada@example.com", "--allow-domain", "example.com"];
const saas = ["--auth", "saas", "--team", "acme", "--allow-domain", "example.com"];
const mutationsOf = (api: FakeApi) => api.mutations().map(({ call }) => call);

describe("provision, self-hosted", () => {
  it("creates the allow policy and a self-hosted app with Managed OAuth, records the ids, puts the AUD in wrangler.jsonc, deploys once", async () => {
    const h = await harness(selfHosted);
    expect(await h.run()).toBe(ExitCode.ok);

    expect(mutationsOf(h.api)).toEqual(["createPolicy", "createApp"]);
    const [policy] = h.api.policies;
    expect(policy).toMatchObject({
      name: "srv (MCP server): allowed users",
      decision: "allow",
      include: [{ email: { email: "ada@example.com" } }, { email_domain: { domain: "example.com" } }],
    });
    const [app] = h.api.apps;
    expect(app).toMatchObject({
      type: "self_hosted",
      name: "srv (MCP server)",
      domain: "srv.acme.workers.dev",
      allowed_idps: [],
      auto_redirect_to_identity: false,
      // A browser client's CORS preflight reaches the Worker, which answers it without auth.
      options_preflight_bypass: true,
      oauth_configuration: {
        enabled: true,
        dynamic_client_registration: {
          enabled: true,
          allow_any_on_localhost: true,
          allow_any_on_loopback: true,
          allowed_uris: expect.arrayContaining(["https://claude.ai/api/mcp/auth_callback", "cursor://anysphere.cursor-mcp/oauth/callback"]),
        },
      },
    });
    expect(app!.policies!.map((p) => p.id)).toEqual([policy!.id]);

    expect(h.config()).toMatchObject({
      team: "https://acme.cloudflareaccess.com",
      accountId: ACCOUNT,
      provisioned: { workersSubdomain: "acme", allowPolicyId: policy!.id, accessApp: { id: app!.id, aud: app!.aud } },
    });
    expect(h.wrangler().vars).toEqual({ TEAM_DOMAIN: "https://acme.cloudflareaccess.com", POLICY_AUD: app!.aud });
    // The snapshot follows, so regenerate sees no drift.
    expect(h.read(".mcp-access/generated/wrangler.jsonc.snapshot")).toBe(h.read("wrangler.jsonc"));
    expect(h.deploys).toEqual([{ root: h.root, accountId: ACCOUNT, worker: "srv", secrets: {} }]);
    expect(h.said.join("\n")).toContain("MCP endpoint: https://srv.acme.workers.dev/mcp");
    // The clients come from the table; Claude Code's one command is spelt out.
    expect(h.said.join("\n")).toContain("Clients: Claude (claude.ai, Claude Desktop), Claude Code, ChatGPT, Cursor, VS Code");
    expect(h.said.join("\n")).toContain("Claude Code: claude mcp add --transport http srv https://srv.acme.workers.dev/mcp");
  });

  it("a re-run changes nothing in the account, and mcp-access.json keeps its formatting", async () => {
    const h = await harness(selfHosted);
    await h.run();
    const before = h.read("mcp-access.json");
    h.api.calls = [];
    expect(await h.run()).toBe(ExitCode.ok);
    expect(mutationsOf(h.api)).toEqual([]);
    expect(h.read("mcp-access.json")).toBe(before);
    expect([h.api.policies.length, h.api.apps.length, h.deploys.length]).toEqual([1, 1, 2]);
    expect(h.said.join("\n")).toMatch(/0 created, 1 changed/); // the deploy
  });

  it("keeps the user's edits: mcp-access.json's own formatting, and a comment and a var added in wrangler.jsonc", async () => {
    const h = await harness(selfHosted);
    h.volume.writeFileSync(join(h.root, "mcp-access.json"), h.read("mcp-access.json").replace(/\n {2}/g, "\n\t"));
    h.volume.writeFileSync(
      join(h.root, "wrangler.jsonc"),
      h.read("wrangler.jsonc").replace('"vars": {', '"vars": {\n    // mine\n    "GREETING": "hi",'),
    );
    await h.run();
    expect(h.read("mcp-access.json")).toMatch(/^\t"provisioned": \{\n\t\t"workersSubdomain": "acme",/m);
    expect(h.read("wrangler.jsonc")).toContain("// mine");
    expect(h.wrangler().vars).toEqual({ GREETING: "hi", TEAM_DOMAIN: "https://acme.cloudflareaccess.com", POLICY_AUD: h.api.apps[0]!.aud });
  });

  it("stops before the deploy, exit 3, when the user's own POLICY_AUD overlaps the recorded one", async () => {
    const h = await harness(selfHosted);
    h.volume.writeFileSync(join(h.root, "wrangler.jsonc"), h.read("wrangler.jsonc").replace("<your-access-app-aud>", "my-own-aud"));
    const error = await h.run().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).details).toEqual(["wrangler.jsonc"]);
    expect(h.read("wrangler.jsonc")).toMatch(/<<<<<<< yours[\s\S]*my-own-aud[\s\S]*>>>>>>> generated now/);
    expect(h.deploys).toEqual([]);
    expect(h.config().provisioned.accessApp.id).toBe(h.api.apps[0]!.id);
  });

  it("updates only what differs: new allowed users (keeping the policy's other settings), an app that lost Managed OAuth", async () => {
    const h = await harness(selfHosted);
    await h.run();
    h.api.policies[0]!.session_duration = "6h";
    const config = h.config();
    config.access.emails = ["grace@example.com"];
    h.volume.writeFileSync(join(h.root, "mcp-access.json"), JSON.stringify(config, null, 2));
    delete h.api.apps[0]!.oauth_configuration;
    h.api.calls = [];
    await h.run();
    expect(mutationsOf(h.api)).toEqual(["updatePolicy", "updateApp"]);
    expect(h.api.policies[0]).toMatchObject({ session_duration: "6h", include: [{ email: { email: "grace@example.com" } }, { email_domain: { domain: "example.com" } }] });
    expect(h.api.apps[0]).toMatchObject({ oauth_configuration: { enabled: true } });
    expect(h.said.join("\n")).toMatch(/~ changed Access self-hosted app "srv \(MCP server\)": oauth_configuration/);
  });

  it("lets browser clients' CORS preflights through Access, unless the app answers them with CORS settings of its own", async () => {
    const h = await harness(selfHosted);
    await h.run();
    expect(h.api.apps[0]).toMatchObject({ options_preflight_bypass: true });
    // Someone gave the app Access's own CORS answers instead: the API takes one or the other, and theirs stay.
    const app = h.api.apps[0]!;
    app.options_preflight_bypass = false;
    app.cors_headers = { allowed_origins: ["https://tools.example.com"], allowed_methods: ["POST"] };
    h.api.calls = [];
    await h.run();
    expect(mutationsOf(h.api)).toEqual([]);
    expect(h.api.apps[0]).toMatchObject({ options_preflight_bypass: false, cors_headers: { allowed_origins: ["https://tools.example.com"] } });
    // Without them again, the bypass comes back.
    delete h.api.apps[0]!.cors_headers;
    await h.run();
    expect(h.api.apps[0]).toMatchObject({ options_preflight_bypass: true });
  });

  it("maps --idp types and ids to the account's IdPs, with Instant Auth for exactly one", async () => {
    const one = await harness([...selfHosted, "--idp", "github"]);
    await one.run();
    expect(one.api.apps[0]).toMatchObject({ allowed_idps: ["22222222-2222-4222-8222-222222222222"], auto_redirect_to_identity: true });

    const two = await harness([...selfHosted, "--idp", "onetimepin,22222222-2222-4222-8222-222222222222"]);
    await two.run();
    expect(two.api.apps[0]).toMatchObject({ allowed_idps: ["11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"], auto_redirect_to_identity: false });
  });

  it("refuses IdPs the account does not have, listing what it has, before creating anything", async () => {
    const api = new FakeApi();
    api.identityProviders.push({ id: "33333333-3333-4333-8333-333333333333", name: "GitHub (staff)", type: "github" });
    const h = await harness([...selfHosted, "--idp", "okta,github"], { api });
    const error = await h.run().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RuntimeFailure);
    expect((error as Error).message).toMatch(/okta: the account has no identity provider of this type/);
    expect((error as Error).message).toMatch(/github: the account has 2 of this type .*give the id instead/);
    expect((error as Error).message).toMatch(/The account has: One-time PIN \(onetimepin, 1111/);
    expect(mutationsOf(api)).toEqual([]);
  });

  it("in a terminal with no IdPs answered, offers the account's IdPs and records the choice", async () => {
    const asked: string[] = [];
    const prompter = {
      select: async () => "",
      multiselect: async (options: { message: string }) => (asked.push(options.message), ["22222222-2222-4222-8222-222222222222"]),
      isCancel: (value: unknown) => typeof value === "symbol",
    } as unknown as ProvisionPrompter;
    const h = await harness(selfHosted, { prompter });
    await h.run();
    expect(asked).toEqual(["Identity providers allowed to sign in (none selected: all of them)"]);
    expect(h.config().access.idps).toEqual(["22222222-2222-4222-8222-222222222222"]);
  });

  it("uses the account's team when the answer differs, and says so", async () => {
    const h = await harness(["--auth", "self-hosted", "--team", "other", "--allow-domain", "example.com"]);
    await h.run();
    expect(h.config().team).toBe("https://acme.cloudflareaccess.com");
    expect(h.said.join("\n")).toMatch(/warn: the Access team is https:\/\/acme.cloudflareaccess.com, not https:\/\/other.cloudflareaccess.com as answered/);
  });

  it("stops with what to do when there is no workers.dev subdomain or no Zero Trust organization", async () => {
    const noSubdomain = await harness(selfHosted);
    noSubdomain.api.subdomain = undefined;
    await expect(noSubdomain.run()).rejects.toThrow(/has no workers.dev subdomain yet.*Workers & Pages/);
    const noOrg = await harness(selfHosted);
    noOrg.api.organization = undefined;
    await expect(noOrg.run()).rejects.toThrow(/has no Zero Trust organization.*one.dash.cloudflare.com/);
    expect([...mutationsOf(noSubdomain.api), ...mutationsOf(noOrg.api)]).toEqual([]);
  });

  it("chooses the account: --account-id, else the token's only one, else asks, else names the option", async () => {
    const several = new FakeApi();
    several.accounts.push({ id: "f".repeat(32), name: "Other" });
    const h = await harness(selfHosted, { api: several });
    const error = await h.run().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(/several accounts: choose one with --account-id/);
    expect((error as UsageError).details).toEqual([`${ACCOUNT}  Acme`, `${"f".repeat(32)}  Other`]);

    expect(await h.run("--account-id", ACCOUNT)).toBe(ExitCode.ok);
    expect(h.config().accountId).toBe(ACCOUNT);
    // From now on mcp-access.json names the account; an environment that says otherwise is pointed out.
    h.api.calls = [];
    expect(await h.run()).toBe(ExitCode.ok);
    expect(h.api.calls.some(({ call }) => call === "listAccounts")).toBe(false);

    const prompter = { select: async () => ACCOUNT, multiselect: async () => [], isCancel: (v: unknown) => typeof v === "symbol" } as unknown as ProvisionPrompter;
    const asked = await harness(selfHosted, { api: several, prompter });
    expect(await asked.run()).toBe(ExitCode.ok);
    const cancelled = await harness(selfHosted, { api: several, prompter: { ...prompter, select: async () => Symbol("cancel") } as unknown as ProvisionPrompter });
    await expect(cancelled.run()).rejects.toBeInstanceOf(Cancelled);
  });

  it("says so when CLOUDFLARE_ACCOUNT_ID differs from the account mcp-access.json records", async () => {
    const h = await harness([...selfHosted, "--account-id", ACCOUNT], { env: { CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_ACCOUNT_ID: "f".repeat(32) } });
    await h.run();
    expect(h.said).toContain(`warn: CLOUDFLARE_ACCOUNT_ID is ${"f".repeat(32)}, but mcp-access.json says ${ACCOUNT}: using ${ACCOUNT}`);
    expect(h.deploys[0]!.accountId).toBe(ACCOUNT);
  });

  it("accepts an account-owned token (which /user/tokens/verify refuses) and reports an invalid one with the permissions needed", async () => {
    const accountToken = await harness(selfHosted);
    accountToken.api.tokenKind = "account";
    expect(await accountToken.run()).toBe(ExitCode.ok);
    const invalid = await harness(selfHosted);
    invalid.api.tokenKind = "invalid";
    await expect(invalid.run()).rejects.toThrow(/CLOUDFLARE_API_TOKEN was refused.*Invalid API Token.*Access: Apps and Policies: Edit/);
  });

  it("turns a permission error into the step, what Cloudflare said, and the permission to add; the re-run finishes", async () => {
    const h = await harness(selfHosted);
    h.api.failures.set("createApp", new ApiFailure(403, [{ code: 10000, message: "Authentication error" }]));
    const error = await h.run().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RuntimeFailure);
    expect((error as Error).message).toBe(
      `Access application failed: POST /accounts/${ACCOUNT}/access/apps answered 403. Cloudflare said: Authentication error (code 10000).\n` +
        'The API token is not allowed to do this: it needs the permission "Access: Apps and Policies: Edit" on the account. ' +
        "Edit the token at https://dash.cloudflare.com/profile/api-tokens and add it. What was done before is recorded in mcp-access.json: " +
        "run provision again once this is fixed, and it carries on from there.",
    );
    expect(h.config().provisioned.allowPolicyId).toBe(h.api.policies[0]!.id);
    expect(h.deploys).toEqual([]);
    expect(await h.run()).toBe(ExitCode.ok);
    expect([h.api.policies.length, h.api.apps.length, h.deploys.length]).toEqual([1, 1, 1]);
  });

  it("--no-deploy stops before the deploy and prints the command for later", async () => {
    const h = await harness(selfHosted);
    await h.run("--no-deploy");
    expect(h.deploys).toEqual([]);
    expect(h.api.apps).toHaveLength(1);
    expect(h.said.join("\n")).toMatch(/Not deployed \(--no-deploy\). To deploy: npm run deploy\./);
  });

  it("--dry-run sends only reads, writes nothing, and prints every call with its body", async () => {
    const h = await harness(selfHosted);
    const before = h.allFiles();
    await h.run("--dry-run");
    expect(mutationsOf(h.api)).toEqual([]);
    expect(h.allFiles()).toBe(before);
    expect(h.deploys).toEqual([]);
    const plan = h.said.join("\n");
    expect(plan).toMatch(/sent {6}GET {4}\/user\/tokens\/verify/);
    expect(plan).toMatch(/not sent {2}POST {3}\/accounts\/0123456789abcdef0123456789abcdef\/access\/policies\n\s+\{\n\s+"name": "srv \(MCP server\): allowed users"/);
    expect(plan).toMatch(/not sent {2}POST {3}\/accounts\/.*\/access\/apps\n[\s\S]*"id": "<id of the new policy/);
    expect(plan).toMatch(/Would record in mcp-access.json:\n\s+accountId = "0123456789abcdef0123456789abcdef"/);
    expect(plan).toMatch(/Would run: wrangler deploy/);
  });
});

describe("provision, downstream apps", () => {
  const withDownstreams = [
    ...selfHosted,
    "--downstream", "wiki=https://wiki.example.com/api",
    "--downstream", "crm=https://crm.example.com",
    "--downstream", "billing=https://billing.example.com",
    "--downstream", "local=http://localhost:9000",
  ];

  it("attaches one Linked App Token policy to each downstream app, keeping its policies; reports the others with what to do", async () => {
    const api = new FakeApi();
    const staff = await api.createPolicy(ACCOUNT, { name: "wiki staff", decision: "allow", include: [{ email_domain: { domain: "example.com" } }] });
    const wiki = await api.createApp(ACCOUNT, { type: "self_hosted", name: "Wiki", domain: "wiki.example.com", session_duration: "6h", policies: [{ id: staff.id, precedence: 1 }] });
    await api.createApp(ACCOUNT, { type: "saas", name: "Billing", saas_app: { auth_type: "oidc" }, policies: [] });
    const config = (h: Awaited<ReturnType<typeof harness>>) => h.config();
    const h = await harness(withDownstreams, { api });
    const billing = JSON.parse(h.read("mcp-access.json"));
    billing.downstreams[2].accessApp = "Billing";
    h.volume.writeFileSync(join(h.root, "mcp-access.json"), JSON.stringify(billing, null, 2));
    api.calls = [];

    await h.run();
    const lat = api.policies.find((p) => p.decision === "non_identity")!;
    const server = api.apps.find((a) => a.name === "srv (MCP server)")!;
    expect(lat).toMatchObject({ name: "Allow requests from MCP server srv", include: [{ linked_app_token: { app_uid: server.id } }] });
    const updatedWiki = api.apps.find((a) => a.id === wiki.id)!;
    expect(updatedWiki.policies!.map((p) => [p.name, p.precedence])).toEqual([["wiki staff", 1], [lat.name, 2]]);
    expect(updatedWiki.session_duration).toBe("6h");
    expect(config(h).provisioned.downstreams).toEqual({ wiki: { appId: wiki.id, policyId: lat.id } });
    const out = h.said.join("\n");
    expect(out).toMatch(/warn: crm: no Access application for crm.example.com.*Protect crm.example.com with a self-hosted Access application/);
    expect(out).toMatch(/warn: billing: the Access application named "Billing", "Billing", is a saas app; Linked App Tokens work only on self-hosted apps/);
    expect(out).toMatch(/warn: local: http:\/\/localhost:9000 is on this machine/);

    api.calls = [];
    await h.run();
    expect(mutationsOf(api)).toEqual([]);
  });
});

describe("provision changes nothing that is not this project's", () => {
  const failure = async (h: Awaited<ReturnType<typeof harness>>, ...argv: string[]) => {
    const error = await h.run(...argv).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RuntimeFailure);
    return (error as RuntimeFailure).message;
  };
  const payrollPolicy = (api: FakeApi) => api.createPolicy(ACCOUNT, { name: "payroll admins", decision: "allow", include: [{ email: { email: "cfo@example.com" } }] });
  const payrollApp = async (api: FakeApi, type: "self_hosted" | "saas" = "self_hosted") => {
    const policy = await payrollPolicy(api);
    const policies = [{ id: policy.id, precedence: 1 }];
    return api.createApp(
      ACCOUNT,
      type === "saas"
        ? { type, name: "HR portal", saas_app: { auth_type: "oidc" }, app_launcher_visible: false, policies }
        : { type, name: "Payroll", domain: "payroll.example.com", session_duration: "1h", policies },
    );
  };

  it("a recorded allow policy id naming someone else's policy: exit 1 before any change, naming it and the fix; its rules stay", async () => {
    const api = new FakeApi();
    const payroll = await payrollPolicy(api);
    const h = await harness(selfHosted, { api });
    h.edit((config) => (config.provisioned = { allowPolicyId: payroll.id }));
    for (const argv of [["--dry-run"], []]) {
      api.calls = [];
      const message = await failure(h, ...argv);
      expect(message).toContain(`provisioned.allowPolicyId names the Access policy "payroll admins" (${payroll.id})`);
      expect(message).toContain('its name is "payroll admins", not "srv (MCP server): allowed users"');
      expect(message).toMatch(/remove provisioned.allowPolicyId from mcp-access.json[\s\S]*--adopt/);
      expect(mutationsOf(api)).toEqual([]);
    }
    expect(h.said.join("\n")).not.toMatch(/not sent/);
    expect(api.policies).toEqual([expect.objectContaining({ name: "payroll admins", include: [{ email: { email: "cfo@example.com" } }] })]);
  });

  it("a recorded app id naming another app, self-hosted or saas: exit 1, the app untouched (no PUT planned either)", async () => {
    for (const [auth, type] of [[selfHosted, "self_hosted"], [saas, "saas"]] as const) {
      const api = new FakeApi();
      const other = await payrollApp(api, type);
      const before = structuredClone(api.apps);
      const h = await harness(auth, { api });
      h.edit((config) => (config.provisioned = { accessApp: { id: other.id } }));
      for (const argv of [["--dry-run"], []]) {
        api.calls = [];
        const message = await failure(h, ...argv);
        expect(message).toContain(`provisioned.accessApp.id names the Access application "${other.name}" (${other.id})`);
        expect(message).toContain(`its name is "${other.name}", not "srv (MCP server)"`);
        if (type === "self_hosted") expect(message).toContain("it does not protect srv.acme.workers.dev");
        expect(message).toContain("remove provisioned.accessApp from mcp-access.json");
        expect(mutationsOf(api)).toEqual([]);
      }
      expect(h.said.join("\n")).not.toMatch(/PUT/);
      expect(api.apps).toEqual(before);
    }
  });

  it("a recorded Linked App Token policy id naming someone else's policy: exit 1, nothing changed", async () => {
    const api = new FakeApi();
    const payroll = await payrollPolicy(api);
    const wiki = await api.createApp(ACCOUNT, { type: "self_hosted", name: "Wiki", domain: "wiki.example.com", policies: [] });
    const h = await harness([...selfHosted, "--downstream", "wiki=https://wiki.example.com"], { api });
    h.edit((config) => (config.provisioned = { downstreams: { wiki: { appId: wiki.id, policyId: payroll.id } } }));
    api.calls = [];
    const message = await failure(h);
    expect(message).toContain(`provisioned.downstreams.wiki.policyId names the Access policy "payroll admins" (${payroll.id})`);
    expect(message).toContain('its name is "payroll admins", not "Allow requests from MCP server srv"');
    expect(message).toContain('it is an "allow" policy, not "non_identity"');
    expect(mutationsOf(api)).toEqual([]);
  });

  it("a recorded KV namespace id naming another namespace: exit 1, the Worker is not bound to it", async () => {
    const api = new FakeApi();
    const sessions = await api.createKvNamespace(ACCOUNT, "sessions");
    const h = await harness(saas, { api });
    h.edit((config) => (config.provisioned = { kvNamespaceId: sessions.id }));
    api.calls = [];
    const message = await failure(h);
    expect(message).toContain(`provisioned.kvNamespaceId names the KV namespace "sessions" (${sessions.id})`);
    expect(message).toContain('its title is "sessions", not "srv-OAUTH_KV"');
    expect(mutationsOf(api)).toEqual([]);
    expect(h.wrangler().kv_namespaces).not.toContainEqual(expect.objectContaining({ id: sessions.id }));
  });

  it("a recorded downstream app id naming an app that is not that downstream's: exit 1, the app untouched", async () => {
    const api = new FakeApi();
    const payroll = await payrollApp(api);
    await api.createApp(ACCOUNT, { type: "self_hosted", name: "Wiki", domain: "wiki.example.com", policies: [] });
    const before = structuredClone(api.apps);
    const h = await harness([...selfHosted, "--downstream", "wiki=https://wiki.example.com/api"], { api });
    h.edit((config) => (config.provisioned = { downstreams: { wiki: { appId: payroll.id, policyId: "0000" } } }));
    api.calls = [];
    const message = await failure(h);
    expect(message).toContain(`provisioned.downstreams.wiki.appId names the Access application "Payroll" (${payroll.id})`);
    expect(message).toContain("it does not protect wiki.example.com/api");
    expect(message).toContain("Remove provisioned.downstreams.wiki from mcp-access.json");
    expect(mutationsOf(api)).toEqual([]);
    expect(api.apps).toEqual(before);
  });

  it("objects found by name or host get the same proof: someone's own app for the Worker's host, a policy of ours with another decision", async () => {
    const api = new FakeApi();
    const admins = await payrollPolicy(api);
    const theirs = await api.createApp(ACCOUNT, { type: "self_hosted", name: "My MCP", domain: "srv.acme.workers.dev", policies: [{ id: admins.id }] });
    const h = await harness(selfHosted, { api });
    api.calls = [];
    let message = await failure(h);
    expect(message).toContain(`the Access application "My MCP" (${theirs.id}), found by the Worker's host srv.acme.workers.dev`);
    expect(message).toContain('its name is "My MCP", not "srv (MCP server)"');
    expect(mutationsOf(api)).toEqual([]);

    api.apps = [];
    const denied = await api.createPolicy(ACCOUNT, { name: "srv (MCP server): allowed users", decision: "deny" as never, include: [{ everyone: {} }] });
    api.calls = [];
    message = await failure(h);
    expect(message).toContain(`the Access policy "srv (MCP server): allowed users" (${denied.id}), found by its name`);
    expect(message).toContain('it is a "deny" policy, not "allow"');
    expect(mutationsOf(api)).toEqual([]);
  });

  it("lists every object that is not ours in one error, before any change", async () => {
    const api = new FakeApi();
    const payroll = await payrollApp(api);
    const h = await harness(selfHosted, { api });
    h.edit((config) => (config.provisioned = { allowPolicyId: payroll.policies![0]!.id, accessApp: { id: payroll.id } }));
    api.calls = [];
    const message = await failure(h);
    expect(message).toContain("provisioned.allowPolicyId names");
    expect(message).toContain("provisioned.accessApp.id names");
    expect(mutationsOf(api)).toEqual([]);
  });

  it("--adopt takes over what it lists: without a terminal only with --yes (else exit 2, no call); renamed, it is found again without --adopt", async () => {
    const api = new FakeApi();
    const admins = await payrollPolicy(api);
    await api.createApp(ACCOUNT, { type: "self_hosted", name: "My MCP", domain: "srv.acme.workers.dev", session_duration: "2h", policies: [{ id: admins.id }] });
    const h = await harness(selfHosted, { api });
    api.calls = [];
    const error = await h.run("--adopt").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(/--adopt without a terminal needs --yes too/);
    expect(api.calls).toEqual([]);

    expect(await h.run("--adopt", "--yes")).toBe(ExitCode.ok);
    expect(mutationsOf(api)).toEqual(["createPolicy", "updateApp"]);
    const [app] = api.apps;
    expect(app).toMatchObject({ name: "srv (MCP server)", session_duration: "2h", oauth_configuration: { enabled: true } });
    expect(app!.policies!.map((p) => p.name)).toEqual(["srv (MCP server): allowed users", "payroll admins"]);
    expect(h.said.join("\n")).toMatch(/adopted[^\n]*"My MCP"/);

    api.calls = [];
    expect(await h.run()).toBe(ExitCode.ok);
    expect(mutationsOf(api)).toEqual([]);
  });

  it("--adopt of an app with destinations puts the Worker's host among them (they, not domain, are what Access protects), keeping the others", async () => {
    const api = new FakeApi();
    const old = await api.createApp(ACCOUNT, {
      type: "self_hosted",
      name: "Old server",
      domain: "old.example.com",
      destinations: [{ type: "public", uri: "old.example.com" }, { type: "private", cidr: "10.0.0.0/8" }],
      policies: [],
    });
    const h = await harness(selfHosted, { api });
    h.edit((config) => (config.provisioned = { accessApp: { id: old.id } }));
    expect(await h.run("--adopt", "--yes")).toBe(ExitCode.ok);
    expect(api.apps[0]!.destinations).toEqual([
      { type: "public", uri: "srv.acme.workers.dev" },
      { type: "public", uri: "old.example.com" },
      { type: "private", cidr: "10.0.0.0/8" },
    ]);
    api.calls = [];
    expect(await h.run()).toBe(ExitCode.ok);
    expect(mutationsOf(api)).toEqual([]);
  });

  it("--adopt of a policy and a KV namespace gives each this project's name, so the next run proves them", async () => {
    const api = new FakeApi();
    const payroll = await payrollPolicy(api);
    const sessions = await api.createKvNamespace(ACCOUNT, "sessions");
    const h = await harness(saas, { api });
    h.edit((config) => (config.provisioned = { allowPolicyId: payroll.id, kvNamespaceId: sessions.id }));
    expect(await h.run("--adopt", "--yes")).toBe(ExitCode.ok);
    expect(api.policies.find((p) => p.id === payroll.id)).toMatchObject({ name: "srv (MCP server): allowed users", decision: "allow" });
    expect(api.kvNamespaces).toEqual([{ id: sessions.id, title: "srv-OAUTH_KV" }]);
    expect(h.config().provisioned).toMatchObject({ allowPolicyId: payroll.id, kvNamespaceId: sessions.id });
    api.calls = [];
    expect(await h.run()).toBe(ExitCode.ok);
    expect(mutationsOf(api)).toEqual([]);
  });

  it("in a terminal --adopt lists exactly what it would take over and asks; no changes nothing", async () => {
    const api = new FakeApi();
    const payroll = await payrollPolicy(api);
    const asked: string[] = [];
    let answer: unknown = false;
    const prompter = {
      select: async () => "",
      multiselect: async () => [],
      confirm: async ({ message }: { message: string }) => (asked.push(message), answer),
      isCancel: (value: unknown) => typeof value === "symbol",
    } as unknown as ProvisionPrompter;
    const h = await harness([...selfHosted, "--idp", "github"], { api, prompter });
    h.edit((config) => (config.provisioned = { allowPolicyId: payroll.id }));
    api.calls = [];
    await expect(h.run("--adopt")).rejects.toBeInstanceOf(Cancelled);
    expect(asked).toHaveLength(1);
    expect(asked[0]).toContain(`the Access policy "payroll admins" (${payroll.id})`);
    expect(asked[0]).toContain('renamed "srv (MCP server): allowed users"');
    expect(mutationsOf(api)).toEqual([]);

    answer = true;
    expect(await h.run("--adopt")).toBe(ExitCode.ok);
    expect(mutationsOf(api)).toEqual(["updatePolicy", "createApp"]);
  });

  it("--dry-run --adopt shows the takeover in the plan, asks nothing and sends no write", async () => {
    const api = new FakeApi();
    const payroll = await payrollPolicy(api);
    const prompter = { select: async () => "", multiselect: async () => [], isCancel: () => false } as unknown as ProvisionPrompter;
    const h = await harness([...selfHosted, "--idp", "github"], { api, prompter });
    h.edit((config) => (config.provisioned = { allowPolicyId: payroll.id }));
    api.calls = [];
    expect(await h.run("--dry-run", "--adopt")).toBe(ExitCode.ok);
    expect(mutationsOf(api)).toEqual([]);
    const plan = h.said.join("\n");
    expect(plan).toMatch(new RegExp(`not sent {2}PUT {4}/accounts/${ACCOUNT}/access/policies/${payroll.id}\\n( {12}.*\\n)*? {14}"name": "srv \\(MCP server\\): allowed users"`));
    expect(plan).toMatch(/would adopt the Access policy "payroll admins"/);
  });

  it("a recorded app of the other type (the mode changed) is left alone: a new app is made", async () => {
    const api = new FakeApi();
    const h = await harness(saas, { api });
    await h.run();
    const old = structuredClone(api.apps[0]!);
    h.edit((config) => (config.auth = "self-hosted"));
    api.calls = [];
    expect(await h.run("--no-deploy")).toBe(ExitCode.ok);
    expect(mutationsOf(api)).toEqual(["createApp"]);
    expect(api.apps.find((app) => app.id === old.id)).toEqual(old);
  });

  it("a recorded app of the other type that is somebody else's is left alone, and not called this project's", async () => {
    const api = new FakeApi();
    const other = await payrollApp(api, "saas");
    const before = structuredClone(api.apps.find((app) => app.id === other.id));
    const h = await harness(selfHosted, { api });
    h.edit((config) => (config.provisioned = { accessApp: { id: other.id } }));
    await h.run("--no-deploy");
    expect(api.apps.find((app) => app.id === other.id)).toEqual(before);
    expect(h.said.join("\n")).toMatch(/"HR portal" is not this project's and stays as it is/);
    expect(h.config().provisioned.accessApp.id).not.toBe(other.id);
  });

  it("records what --adopt took over in provisioned.adopted (destroy leaves those alone), keeping earlier entries; a plain re-run keeps the list", async () => {
    const api = new FakeApi();
    const admins = await payrollPolicy(api);
    const mine = await api.createApp(ACCOUNT, { type: "self_hosted", name: "My MCP", domain: "srv.acme.workers.dev", policies: [{ id: admins.id }] });
    const h = await harness(selfHosted, { api });
    h.edit((config) => (config.provisioned = { adopted: ["0".repeat(32)] }));
    expect(await h.run("--adopt", "--yes")).toBe(ExitCode.ok);
    expect(h.config().provisioned.adopted).toEqual(["0".repeat(32), mine.id]);
    expect(await h.run()).toBe(ExitCode.ok);
    expect(h.config().provisioned.adopted).toEqual(["0".repeat(32), mine.id]);
  });

  it("--dry-run --adopt only says it would record the takeover", async () => {
    const api = new FakeApi();
    const mine = await api.createApp(ACCOUNT, { type: "self_hosted", name: "My MCP", domain: "srv.acme.workers.dev", policies: [{ id: (await payrollPolicy(api)).id }] });
    const h = await harness(selfHosted, { api });
    const before = h.read("mcp-access.json");
    expect(await h.run("--dry-run", "--adopt")).toBe(ExitCode.ok);
    expect(h.read("mcp-access.json")).toBe(before);
    expect(h.said.join("\n")).toContain(`provisioned.adopted = ["${mine.id}"]`);
  });

  it("a saas app adopted by an earlier run is never deleted to get a client secret either: the record, not this run's --adopt, says it was somebody's", async () => {
    const api = new FakeApi();
    const other = await payrollApp(api, "saas");
    const h = await harness(saas, { api });
    h.edit((config) => (config.provisioned = { accessApp: { id: other.id } }));
    // Taken over without a deploy: the Worker has no client secret, and the app is not deleted for one.
    expect(await h.run("--adopt", "--yes", "--no-deploy")).toBe(ExitCode.ok);
    api.calls = [];
    // Now it carries this project's name and proves itself: only the record says it was adopted.
    await expect(h.run()).rejects.toThrow(/does not have its client secret.*wrangler secret put ACCESS_CLIENT_SECRET/s);
    expect(mutationsOf(api)).not.toContain("deleteApp");
    expect(api.apps.find((app) => app.id === other.id)).toMatchObject({ name: "srv (MCP server)" });
  });

  it("an adopted saas app is never deleted to get a client secret: it says how to give the Worker the secret instead", async () => {
    const api = new FakeApi();
    const other = await payrollApp(api, "saas");
    const h = await harness(saas, { api });
    h.edit((config) => (config.provisioned = { accessApp: { id: other.id } }));
    api.calls = [];
    await expect(h.run("--adopt", "--yes")).rejects.toThrow(/does not have its client secret.*wrangler secret put ACCESS_CLIENT_SECRET/s);
    expect(mutationsOf(api)).not.toContain("deleteApp");
    expect(api.apps.find((app) => app.id === other.id)).toMatchObject({ name: "srv (MCP server)" });
    expect(h.deploys).toEqual([]);
  });

  it("a downstream app keeps its own policies (ids, precedence) and every other field when the Linked App Token policy is attached", async () => {
    const api = new FakeApi();
    const staff = await api.createPolicy(ACCOUNT, { name: "wiki staff", decision: "allow", include: [{ email_domain: { domain: "example.com" } }] });
    const bots = await api.createPolicy(ACCOUNT, { name: "wiki bots", decision: "non_identity", include: [{ any_valid_service_token: {} }] });
    const wiki = await api.createApp(ACCOUNT, {
      type: "self_hosted",
      name: "Wiki",
      domain: "wiki.example.com",
      destinations: [{ type: "public", uri: "wiki.example.com" }, { type: "public", uri: "docs.example.com" }],
      session_duration: "6h",
      custom_deny_message: "ask IT",
      tags: ["internal"],
      policies: [{ id: bots.id, precedence: 3 }, { id: staff.id, precedence: 7 }],
    });
    const before = structuredClone(api.apps.find((app) => app.id === wiki.id)!);
    const h = await harness([...selfHosted, "--downstream", "wiki=https://wiki.example.com"], { api });
    await h.run();
    const after = api.apps.find((app) => app.id === wiki.id)!;
    const lat = api.policies.find((policy) => policy.name === "Allow requests from MCP server srv")!;
    expect(after.policies!.map((p) => [p.id, p.precedence])).toEqual([[bots.id, 3], [staff.id, 7], [lat.id, 8]]);
    const { policies: _, ...rest } = after;
    const { policies: __, ...restBefore } = before;
    expect(rest).toEqual(restBefore);
  });
});

describe("provision follows the Access API's rules for an app it updates", () => {
  type Harness = Awaited<ReturnType<typeof harness>>;
  const failure = async (h: Harness, ...argv: string[]) => {
    const error = await h.run(...argv).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RuntimeFailure);
    return (error as RuntimeFailure).message;
  };
  /** The hosts an app protects, as the API reads them: its public destinations (they supersede self_hosted_domains and domain). */
  const protectedHosts = (api: FakeApi, id: string) => {
    const app = api.apps.find((candidate) => candidate.id === id)!;
    return (app.destinations as { type?: string; uri?: string }[]).filter((d) => (d.type ?? "public") === "public").map((d) => d.uri);
  };
  /** What the dashboard does when someone adds a host to the app. */
  const addHost = (api: FakeApi, id: string, uri: string) => {
    const app = api.apps.find((candidate) => candidate.id === id)!;
    app.destinations = [...(app.destinations as object[]), { type: "public", uri }];
    app.self_hosted_domains = [...(app.self_hosted_domains as string[]), uri];
  };
  /** An app-scoped ("legacy") policy on an app: not among the account's reusable policies, and no app body may link it. */
  const addAppScopedPolicy = (api: FakeApi, id: string, name: string) => {
    const app = api.apps.find((candidate) => candidate.id === id)!;
    const policy = { id: `legacy-${name.replace(/\W+/g, "-")}`, name, decision: "allow", include: [{ email: { email: "it@example.com" } }], reusable: false };
    app.policies = [...app.policies!, { ...policy, precedence: Math.max(0, ...app.policies!.map((p) => p.precedence ?? 0)) + 1 }];
    return policy;
  };

  it("renaming the Worker moves the app's destination to the new host: the old host is no longer protected by it, the user's other hosts stay, self_hosted_domains follows", async () => {
    const h = await harness(selfHosted);
    await h.run();
    const appId = h.config().provisioned.accessApp.id;
    addHost(h.api, appId, "admin.example.com");

    h.edit((config) => (config.name = "srv2"));
    h.api.calls = [];
    expect(await h.run("--adopt", "--yes")).toBe(ExitCode.ok);
    const app = h.api.apps.find((candidate) => candidate.id === appId)!;
    expect(app.domain).toBe("srv2.acme.workers.dev");
    expect(protectedHosts(h.api, appId)).toEqual(["srv2.acme.workers.dev", "admin.example.com"]);
    expect(app.self_hosted_domains).toEqual(["srv2.acme.workers.dev", "admin.example.com"]);
    // Sent with destinations, self_hosted_domains is ignored: the update does not carry a stale copy.
    const update = h.api.calls.find(({ call }) => call === "updateApp")!.args[2] as Record<string, unknown>;
    expect(update).not.toHaveProperty("self_hosted_domains");

    h.api.calls = [];
    expect(await h.run()).toBe(ExitCode.ok);
    expect(mutationsOf(h.api)).toEqual([]);
  });

  it("--adopt never takes a host off Access that provision did not give: an app named like an MCP server's keeps its custom domain among the destinations", async () => {
    const api = new FakeApi();
    const payroll = await api.createApp(ACCOUNT, { type: "self_hosted", name: "payroll (MCP server)", domain: "payroll.example.com", policies: [] });
    const h = await harness(selfHosted, { api });
    h.edit((config) => (config.provisioned = { ...config.provisioned, accessApp: { id: payroll.id } }));
    expect(await h.run("--adopt", "--yes")).toBe(ExitCode.ok);
    expect(protectedHosts(api, payroll.id)).toEqual(["srv.acme.workers.dev", "payroll.example.com"]);
  });

  it("saas: renaming the Worker replaces the old host's /callback among the OIDC app's redirect URIs, keeping the user's own", async () => {
    const h = await harness(saas);
    await h.run();
    const appId = h.config().provisioned.accessApp.id;
    const app = h.api.apps.find((candidate) => candidate.id === appId)!;
    app.saas_app!.redirect_uris = [...app.saas_app!.redirect_uris!, "http://localhost:8787/callback"];

    h.edit((config) => (config.name = "srv2"));
    // --no-deploy: the Worker srv2 has no client secret yet, and the adopted app is not deleted to get one.
    expect(await h.run("--adopt", "--yes", "--no-deploy")).toBe(ExitCode.ok);
    expect(h.api.apps.find((candidate) => candidate.id === appId)!.saas_app!.redirect_uris).toEqual([
      "https://srv2.acme.workers.dev/callback",
      "http://localhost:8787/callback",
    ]);
  });

  it("a downstream app with an app-scoped policy: exit 1 before any write (--dry-run too), naming the app, the policy and how to make it reusable", async () => {
    const api = new FakeApi();
    const staff = await api.createPolicy(ACCOUNT, { name: "wiki staff", decision: "allow", include: [{ email_domain: { domain: "example.com" } }] });
    const wiki = await api.createApp(ACCOUNT, { type: "self_hosted", name: "Wiki", domain: "wiki.example.com", policies: [{ id: staff.id, precedence: 1 }] });
    const editors = addAppScopedPolicy(api, wiki.id, "wiki editors");
    const before = structuredClone(api.apps);
    const h = await harness([...selfHosted, "--downstream", "wiki=https://wiki.example.com"], { api });
    for (const argv of [[], ["--dry-run"]]) {
      api.calls = [];
      const message = await failure(h, ...argv);
      expect(message).toContain(`"Wiki" (${wiki.id})`);
      expect(message).toContain(`"wiki editors" (${editors.id})`);
      expect(message).toMatch(/make_reusable/);
      expect(message).toContain(`/access/apps/${wiki.id}/policies/${editors.id}/make_reusable`);
      expect(mutationsOf(api)).toEqual([]);
    }
    expect(api.apps).toEqual(before);
    expect(api.policies).toHaveLength(1);
  });

  it("a downstream app that already has the Linked App Token policy next to an app-scoped one is left as it is: nothing to update", async () => {
    const api = new FakeApi();
    const wiki = await api.createApp(ACCOUNT, { type: "self_hosted", name: "Wiki", domain: "wiki.example.com", policies: [] });
    const h = await harness([...selfHosted, "--downstream", "wiki=https://wiki.example.com"], { api });
    await h.run();
    addAppScopedPolicy(api, wiki.id, "wiki editors");
    api.calls = [];
    expect(await h.run()).toBe(ExitCode.ok);
    expect(mutationsOf(api)).toEqual([]);
  });

  it.each(["self_hosted", "saas"] as const)("an app adopted with --adopt that carries an app-scoped policy (%s): exit 1 before any write, naming both", async (type) => {
    const api = new FakeApi();
    const app =
      type === "saas"
        ? await api.createApp(ACCOUNT, { type, name: "Old portal", saas_app: { auth_type: "oidc" }, policies: [] })
        : await api.createApp(ACCOUNT, { type, name: "My MCP", domain: "srv.acme.workers.dev", policies: [] });
    const legacy = addAppScopedPolicy(api, app.id, "old admins");
    const h = await harness(type === "saas" ? saas : selfHosted, { api });
    h.edit((config) => (config.provisioned = { ...config.provisioned, accessApp: { id: app.id } }));
    api.calls = [];
    const message = await failure(h, "--adopt", "--yes");
    expect(message).toContain(`"${app.name}" (${app.id})`);
    expect(message).toContain(`"old admins" (${legacy.id})`);
    expect(mutationsOf(api)).toEqual([]);
  });
});

describe("the Worker provision deploys over is proven this project's too", () => {
  const failure = async (h: Awaited<ReturnType<typeof harness>>, ...argv: string[]) => {
    const error = await h.run(...argv).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RuntimeFailure);
    expect((error as RuntimeFailure).exitCode).toBe(ExitCode.failure);
    return (error as RuntimeFailure).message;
  };
  /** Somebody's Worker that happens to have (or was given by a pull request) this project's name. */
  const payrollWorker: WorkerBinding[] = [
    { type: "plain_text", name: "DB_HOST", text: "db.internal" },
    { type: "secret_text", name: "DB_PASSWORD" },
  ];

  for (const [mode, auth] of [["self-hosted", selfHosted], ["saas", saas]] as const) {
    it(`${mode}: a Worker of that name that is not this project's stops the run, --dry-run too: exit 1, no change, no deploy, naming it and the fixes`, async () => {
      const api = new FakeApi();
      api.workers.set("srv", structuredClone(payrollWorker));
      const h = await harness(auth, { api });
      for (const argv of [["--dry-run"], []]) {
        api.calls = [];
        const message = await failure(h, ...argv);
        expect(message).toContain('the Worker "srv", which provision deploys over');
        expect(message).toContain(
          mode === "saas"
            ? 'it binds no OAUTH_KV of this project\'s KV namespace "srv-OAUTH_KV" and no POLICY_AUD of this project\'s Access application "srv (MCP server)"'
            : 'it binds no POLICY_AUD of this project\'s Access application "srv (MCP server)" and no OAUTH_KV of this project\'s KV namespace "srv-OAUTH_KV"',
        );
        expect(message).toMatch(/give this project another "name" in mcp-access\.json[\s\S]*--adopt/);
        expect(mutationsOf(api)).toEqual([]);
      }
      expect(h.deploys).toEqual([]);
      expect(h.said.join("\n")).not.toMatch(/Would run/);
      expect(api.workers.get("srv")).toEqual(payrollWorker);
    });
  }

  it("bindings that only look like this project's are not a proof: a POLICY_AUD of another app (even the one mcp-access.json records), an OAUTH_KV of another namespace", async () => {
    const api = new FakeApi();
    const policy = await api.createPolicy(ACCOUNT, { name: "payroll admins", decision: "allow", include: [{ email: { email: "cfo@example.com" } }] });
    const payroll = await api.createApp(ACCOUNT, { type: "self_hosted", name: "Payroll", domain: "payroll.example.com", policies: [{ id: policy.id }] });
    const sessions = await api.createKvNamespace(ACCOUNT, "sessions");
    const h = await harness(selfHosted, { api });
    // mcp-access.json is the attacker's input: the aud recorded there proves nothing.
    h.edit((config) => (config.provisioned = { accessApp: { id: "deleted-app", aud: payroll.aud } }));
    for (const bindings of [
      [{ type: "plain_text", name: "POLICY_AUD", text: payroll.aud! }],
      [{ type: "kv_namespace", name: "OAUTH_KV", namespace_id: sessions.id }],
      [{ type: "plain_text", name: "OAUTH_KV", text: sessions.id }],
    ]) {
      api.workers.set("srv", bindings);
      api.calls = [];
      const message = await failure(h);
      expect(message).toContain('the Worker "srv", which provision deploys over');
      expect(mutationsOf(api)).toEqual([]);
    }
    expect(h.deploys).toEqual([]);
  });

  it("--adopt --yes deploys over it with fresh secrets of its own; the next run proves it by its bindings, without --adopt", async () => {
    const api = new FakeApi();
    api.workers.set("srv", [...structuredClone(payrollWorker), { type: "secret_text", name: "COOKIE_ENCRYPTION_KEY" }, { type: "secret_text", name: "ACCESS_CLIENT_SECRET" }]);
    const h = await harness(saas, { api });
    expect(await h.run("--adopt", "--yes")).toBe(ExitCode.ok);
    expect(h.said.join("\n")).toMatch(/adopted the Worker "srv"/);
    // Secrets somebody else's Worker had are not this project's: the cookie key and client secret are sent anew.
    expect(Object.keys(h.deploys[0]!.secrets)).toEqual(expect.arrayContaining(["ACCESS_CLIENT_SECRET", "COOKIE_ENCRYPTION_KEY"]));
    expect(h.deploys[0]!.secrets.ACCESS_CLIENT_SECRET).toBe(h.api.clientSecrets.get(api.apps[0]!.id));

    api.calls = [];
    expect(await h.run()).toBe(ExitCode.ok);
    expect(mutationsOf(api)).toEqual([]);
    expect(h.deploys).toHaveLength(2);
  });

  it("a re-run after a normal provision proves the Worker by its bindings, self-hosted and saas, reading its settings once", async () => {
    for (const auth of [selfHosted, saas]) {
      const h = await harness(auth);
      expect(await h.run()).toBe(ExitCode.ok);
      h.api.calls = [];
      expect(await h.run()).toBe(ExitCode.ok);
      expect(h.api.calls.filter(({ call }) => call === "getWorkerBindings")).toEqual([{ call: "getWorkerBindings", args: [ACCOUNT, "srv"] }]);
      expect(mutationsOf(h.api)).toEqual([]);
      expect(h.deploys).toHaveLength(2);
    }
  });

  it("after a mode switch the Worker is proven by the previous mode's bindings, both ways", async () => {
    for (const [from, to] of [[selfHosted, "saas"], [saas, "self-hosted"]] as const) {
      const h = await harness(from);
      expect(await h.run()).toBe(ExitCode.ok);
      h.edit((config) => (config.auth = to));
      h.api.calls = [];
      expect(await h.run()).toBe(ExitCode.ok);
      expect(h.deploys).toHaveLength(2);
      // Deployed by this mode, the Worker now proves itself by this mode's bindings.
      expect(await h.run()).toBe(ExitCode.ok);
    }
  });

  it("a run that died after creating the app, before the deploy (here: at a mode switch), then a re-run: the Worker is still proven", async () => {
    const api = new FakeApi();
    const h = await harness(selfHosted, { api });
    expect(await h.run()).toBe(ExitCode.ok);
    h.edit((config) => (config.auth = "saas"));
    api.failures.set("listWorkerSecrets", new ApiFailure(503, [{ code: 10013, message: "Service unavailable" }]));
    await expect(h.run()).rejects.toThrow(/answered 503/);
    expect(api.apps.map((app) => app.type).sort()).toEqual(["saas", "self_hosted"]);
    expect(h.deploys).toHaveLength(1);

    expect(await h.run()).toBe(ExitCode.ok);
    expect(h.deploys).toHaveLength(2);
    expect(api.workers.get("srv")).toContainEqual({ type: "kv_namespace", name: "OAUTH_KV", namespace_id: api.kvNamespaces[0]!.id });
  });

  it("--dry-run --adopt lists the Worker among what it would take over, sends no write and deploys nothing", async () => {
    const api = new FakeApi();
    api.workers.set("srv", structuredClone(payrollWorker));
    const h = await harness(saas, { api });
    api.calls = [];
    expect(await h.run("--dry-run", "--adopt")).toBe(ExitCode.ok);
    expect(mutationsOf(api)).toEqual([]);
    expect(h.deploys).toEqual([]);
    expect(h.said.join("\n")).toMatch(/would adopt the Worker "srv": replaced at the deploy by this project's code/);
    expect(api.workers.get("srv")).toEqual(payrollWorker);
  });

  it("wrangler.jsonc naming another Worker does not aim the deploy there: the Worker deployed is the one proven, named in mcp-access.json", async () => {
    const api = new FakeApi();
    api.workers.set("payroll-api", structuredClone(payrollWorker));
    const h = await harness(selfHosted, { api });
    h.volume.writeFileSync(join(h.root, "wrangler.jsonc"), h.read("wrangler.jsonc").replace('"name": "srv"', '"name": "payroll-api"'));
    expect(await h.run()).toBe(ExitCode.ok);
    expect(api.workers.get("payroll-api")).toEqual(payrollWorker);
    expect(api.workers.get("srv")).toContainEqual({ type: "plain_text", name: "POLICY_AUD", text: api.apps[0]!.aud });
    expect(h.deploys.map((request) => request.worker)).toEqual(["srv"]);
  });

  it("a Worker that does not exist yet is a first deploy: nothing to prove", async () => {
    const h = await harness(selfHosted);
    expect(await h.run()).toBe(ExitCode.ok);
    expect(h.api.calls.filter(({ call }) => call === "getWorkerBindings")).toHaveLength(1);
    expect(h.deploys).toHaveLength(1);
  });
});

describe("provision matches names as own keys", () => {
  it("a downstream named constructor is found and recorded like any other, never as Object.prototype.constructor", async () => {
    const api = new FakeApi();
    await api.createApp(ACCOUNT, { type: "self_hosted", name: "Wiki", domain: "wiki.example.com", policies: [] });
    const h = await harness([...selfHosted, "--downstream", "wiki=https://wiki.example.com", "--downstream", "constructor=https://ctor.example.com"], { api });
    await h.run();
    expect(Object.keys(h.config().provisioned.downstreams)).toEqual(["wiki"]);
    const ctor = await api.createApp(ACCOUNT, { type: "self_hosted", name: "Ctor", domain: "ctor.example.com", policies: [] });
    api.calls = [];
    expect(await h.run()).toBe(ExitCode.ok);
    expect(api.calls.filter(({ call, args }) => call === "getApp" && typeof args[1] !== "string")).toEqual([]);
    const lat = api.policies.find((policy) => policy.decision === "non_identity")!;
    expect(h.config().provisioned.downstreams.constructor).toEqual({ appId: ctor.id, policyId: lat.id });
    expect(api.apps.find((app) => app.id === ctor.id)!.policies!.map((policy) => policy.id)).toEqual([lat.id]);
  });

  it("an identity provider type the CLI does not know, even one named like an Object.prototype key, is shown as it is", async () => {
    const offered: { label: string; hint?: string }[] = [];
    const prompter = {
      select: async () => "",
      multiselect: async ({ options }: { options: { label: string; hint?: string }[] }) => (offered.push(...options), []),
      isCancel: () => false,
    } as unknown as ProvisionPrompter;
    const api = new FakeApi();
    api.identityProviders.push({ id: "33333333-3333-4333-8333-333333333333", name: "Odd", type: "constructor" });
    const h = await harness(selfHosted, { api, prompter });
    expect(await h.run()).toBe(ExitCode.ok);
    expect(offered.find((option) => option.label === "Odd")).toEqual({ value: "33333333-3333-4333-8333-333333333333", label: "Odd", hint: "constructor" });
  });

  it("mcp-access.json with access.constructor or access.__proto__: exit 2 naming the key, no call, nothing written", async () => {
    for (const key of ["constructor", "__proto__", "toString"]) {
      const h = await harness(selfHosted);
      const text = h.read("mcp-access.json").replace('"access": {', `"access": {\n    "${key}": ["a@example.com"],`);
      h.volume.writeFileSync(join(h.root, "mcp-access.json"), text);
      const before = h.allFiles();
      const error = await h.run().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).details.join("\n")).toContain(`"access.${key}" in /work/srv/mcp-access.json: unknown key`);
      expect(h.api.calls).toEqual([]);
      expect(h.allFiles()).toBe(before);
    }
  });
});

describe("provision, saas", () => {
  it("creates the KV namespace before the OIDC app, deploys the six secrets once, and keeps every secret out of files and output", async () => {
    const h = await harness(saas);
    await h.run();
    expect(mutationsOf(h.api)).toEqual(["createPolicy", "createKvNamespace", "createApp"]);
    const [app] = h.api.apps;
    expect(app).toMatchObject({
      type: "saas",
      name: "srv (MCP server)",
      saas_app: { auth_type: "oidc", redirect_uris: ["https://srv.acme.workers.dev/callback"], grant_types: ["authorization_code_with_pkce", "refresh_tokens"] },
    });
    const clientId = app!.saas_app!.client_id!;
    const clientSecret = h.api.clientSecrets.get(app!.id)!;
    const issuer = `https://acme.cloudflareaccess.com/cdn-cgi/access/sso/oidc/${clientId}`;
    expect(h.deploys).toEqual([
      {
        root: h.root,
        accountId: ACCOUNT,
        worker: "srv",
        secrets: {
          ACCESS_CLIENT_ID: clientId,
          ACCESS_AUTHORIZATION_URL: `${issuer}/authorization`,
          ACCESS_TOKEN_URL: `${issuer}/token`,
          ACCESS_JWKS_URL: `${issuer}/jwks`,
          ACCESS_CLIENT_SECRET: clientSecret,
          COOKIE_ENCRYPTION_KEY: COOKIE_KEY,
        },
      },
    ]);
    expect(h.config().provisioned).toMatchObject({ accessApp: { id: app!.id, clientId }, kvNamespaceId: h.api.kvNamespaces[0]!.id });
    expect(h.wrangler().kv_namespaces).toEqual([{ binding: "OAUTH_KV", id: h.api.kvNamespaces[0]!.id }]);
    for (const secret of [TOKEN, clientSecret, COOKIE_KEY]) {
      expect(h.allFiles()).not.toContain(secret);
      expect(h.said.join("\n")).not.toContain(secret);
    }
  });

  it("a re-run sends only the secrets derived from the app: the Worker keeps its client secret and cookie key", async () => {
    const h = await harness(saas);
    await h.run();
    h.api.calls = [];
    await h.run();
    expect(mutationsOf(h.api)).toEqual([]);
    expect(Object.keys(h.deploys[1]!.secrets)).toEqual(["ACCESS_CLIENT_ID", "ACCESS_AUTHORIZATION_URL", "ACCESS_TOKEN_URL", "ACCESS_JWKS_URL"]);
  });

  it("replaces its own app when the client secret died with a run that failed before the deploy; the Linked App Token policy follows", async () => {
    const api = new FakeApi();
    const wiki = await api.createApp(ACCOUNT, { type: "self_hosted", name: "Wiki", domain: "wiki.example.com", policies: [] });
    const h = await harness([...saas, "--downstream", "wiki=https://wiki.example.com"], { api });
    api.failures.set("listWorkerSecrets", new ApiFailure(503, [{ code: 10013, message: "Service unavailable" }]));
    await expect(h.run()).rejects.toThrow(/Deploying with wrangler failed: GET .*\/workers\/scripts\/srv\/secrets answered 503/);
    const first = api.apps.find((a) => a.type === "saas")!;
    expect(h.config().provisioned.accessApp.id).toBe(first.id);

    api.calls = [];
    await h.run();
    expect(mutationsOf(api)).toEqual(["deleteApp", "createApp", "updatePolicy"]);
    const second = api.apps.find((a) => a.type === "saas")!;
    expect(api.apps.filter((a) => a.type === "saas")).toHaveLength(1);
    expect(second.id).not.toBe(first.id);
    expect(h.deploys[0]!.secrets.ACCESS_CLIENT_SECRET).toBe(api.clientSecrets.get(second.id));
    expect(api.policies.find((p) => p.decision === "non_identity")!.include).toEqual([{ linked_app_token: { app_uid: second.id } }]);
    expect(api.apps.find((a) => a.id === wiki.id)!.policies).toHaveLength(1);
    expect(h.said.join("\n")).toMatch(/! replaced Access for SaaS \(OIDC\) app "srv \(MCP server\)": its client secret was lost/);
  });

  it("never replaces an app it did not record: it says how to get the secret to the Worker instead", async () => {
    const api = new FakeApi();
    const policy = await api.createPolicy(ACCOUNT, { name: "x", decision: "allow", include: [{ everyone: {} }] });
    await api.createApp(ACCOUNT, { type: "saas", name: "srv (MCP server)", saas_app: { auth_type: "oidc" }, policies: [{ id: policy.id }] });
    const h = await harness(saas, { api });
    api.calls = [];
    await expect(h.run()).rejects.toThrow(/exists, but the Worker srv does not have its client secret.*delete that app.*wrangler secret put ACCESS_CLIENT_SECRET/s);
    expect(mutationsOf(api).filter((call) => call.endsWith("App"))).toEqual(["updateApp"]);
    expect(h.deploys).toEqual([]);
  });

  it("the OIDC app's refresh tokens get a lifetime; a re-run adds it to an app that lacks one and keeps a lifetime the user chose", async () => {
    const h = await harness(saas);
    await h.run();
    const [app] = h.api.apps;
    expect(app!.saas_app).toMatchObject({ grant_types: expect.arrayContaining(["refresh_tokens"]), refresh_token_options: { lifetime: "30d" } });

    // An app made before provision sent a lifetime: the re-run adds ours.
    delete app!.saas_app!.refresh_token_options;
    h.api.calls = [];
    await h.run();
    expect(mutationsOf(h.api)).toEqual(["updateApp"]);
    expect(h.api.apps[0]!.saas_app!.refresh_token_options).toEqual({ lifetime: "30d" });
    expect(h.said.join("\n")).toMatch(/changed Access for SaaS \(OIDC\) app "srv \(MCP server\)": saas_app/);

    // A lifetime the user set in the dashboard stays, and alone it is no reason for an update.
    h.api.apps[0]!.saas_app!.refresh_token_options = { lifetime: "90d" };
    h.api.calls = [];
    await h.run();
    expect(mutationsOf(h.api)).toEqual([]);
    expect(h.api.apps[0]!.saas_app!.refresh_token_options).toEqual({ lifetime: "90d" });

    // Another change still sends the user's lifetime back with it.
    h.api.apps[0]!.saas_app!.scopes = ["openid"];
    h.api.calls = [];
    await h.run();
    expect(mutationsOf(h.api)).toEqual(["updateApp"]);
    expect(h.api.apps[0]!.saas_app!.refresh_token_options).toEqual({ lifetime: "90d" });
  });

  it("--no-deploy in saas mode says the secrets go up with `npm run provision`", async () => {
    const h = await harness(saas);
    await h.run("--no-deploy");
    expect(h.deploys).toEqual([]);
    expect(h.said.join("\n")).toMatch(/To deploy: npm run provision \(the secrets go up with the deploy\)/);
  });
});

describe("provision's checks before any call", () => {
  it("needs someone to let in, and a token (exit 2, naming the permissions)", async () => {
    const nobody = await harness(["--auth", "self-hosted", "--team", "acme", "--yes"]);
    await expect(nobody.run()).rejects.toThrow(/Nobody would be allowed to sign in.*"access"/);
    expect(nobody.api.calls).toEqual([]);

    const noToken = await harness(selfHosted, { env: {} });
    const error = await noToken.run().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(ExitCode.usage);
    expect((error as UsageError).message).toMatch(/needs a Cloudflare API token in CLOUDFLARE_API_TOKEN/);
    expect((error as UsageError).details).toEqual([
      "Access: Apps and Policies: Edit",
      "Access: Organizations, Identity Providers, and Groups: Read",
      "Workers Scripts: Edit",
      "Workers KV Storage: Edit",
      "Account Settings: Read",
    ]);
    expect(noToken.api.calls).toEqual([]);
  });

  it("takes no answer options: they belong in mcp-access.json", async () => {
    const h = await harness(selfHosted);
    await expect(h.run("--team", "acme")).rejects.toThrow(/provision takes its answers from mcp-access.json, not from --team/);
  });
});

describe("create --provision", () => {
  /** create in memory with provisioning's API and deployer replaced; the prompter answers by question. */
  async function createWith(argv: string[], options: { env?: Record<string, string>; answers?: [RegExp, unknown][] } = {}) {
    const volume = Volume.fromJSON({ "/work/.keep": "" }, "/");
    const fs = createFsFromVolume(volume).promises as unknown as FileSystem;
    const said: string[] = [];
    const asked: string[] = [];
    const ui = recordingUi(said);
    const answer = async ({ message }: { message: string }) => {
      asked.push(message);
      const found = options.answers?.find(([question]) => question.test(message));
      if (!found) throw new Error(`unexpected question: ${message}`);
      return found[1];
    };
    const prompter = options.answers
      ? ({ text: answer, select: answer, multiselect: answer, confirm: answer, note: () => {}, isCancel: (v: unknown) => typeof v === "symbol" } as never)
      : undefined;
    const api = new FakeApi();
    const deploys: DeployRequest[] = [];
    let kept = false;
    const run = () =>
      create(parseArgv(["srv", ...argv, "--no-git"]), {
        cwd: "/work",
        env: options.env ?? { CLOUDFLARE_API_TOKEN: TOKEN },
        fs,
        exec: async () => ({ code: 0, output: "" }),
        ui,
        prompter,
        loadTemplates: async () => templates,
        generatorVersion: "0.1.0",
        onKept: () => (kept = true),
        provisionDeps: {
          api,
          deployer: { describe: () => "wrangler deploy", deploy: async (request) => (deploys.push(request), { url: "https://srv.acme.workers.dev" }) },
        },
      });
    const config = () => JSON.parse(volume.readFileSync("/work/srv/mcp-access.json", "utf8") as string);
    return { run, api, deploys, said, asked, config, kept: () => kept };
  }

  it("non-interactive: --provision needs no --team (the account has it), provisions and deploys after the install", async () => {
    const c = await createWith(["--auth", "self-hosted", "--allow-domain", "example.com", "--provision"]);
    await c.run();
    expect(c.config()).toMatchObject({ team: "https://acme.cloudflareaccess.com", provisioned: { accessApp: { id: c.api.apps[0]!.id } } });
    expect(c.deploys).toHaveLength(1);
    expect(c.kept()).toBe(true);
    expect(c.said.join("\n")).toMatch(/npm run deploy {5}# deploy your changes/);
  });

  it("non-interactive: nothing is provisioned without --provision, whatever the token", async () => {
    const c = await createWith(["--auth", "self-hosted", "--team", "acme", "--allow-domain", "example.com", "--no-install"]);
    await c.run();
    expect(c.api.calls).toEqual([]);
    expect(c.said.join("\n")).toMatch(/npm run provision {2}# set up Access in your account and deploy/);
  });

  it("in a terminal: asks at the end (default no) when a token is set, and provisions on yes", async () => {
    const answers: [RegExp, unknown][] = [
      [/Identity providers allowed/, []],
      [/downstream apps/, false],
      [/Limit some tools/, false],
      [/MCP clients that may connect/, [...CLIENT_NAMES]],
      [/Language of the project/, "ts"],
      [/Optional parts/, []],
      [/Create the project\?/, true],
      [/Set up Cloudflare now/, true],
    ];
    const yes = await createWith(["--auth", "saas", "--team", "acme", "--allow-domain", "example.com"], { answers });
    await yes.run();
    expect(yes.asked).toContainEqual(expect.stringMatching(/^Set up Cloudflare now \(the Access for SaaS app, KV namespace, secrets, and the first deploy\)\?$/));
    // Then provisioning offers the account's own identity providers.
    expect(yes.asked.at(-1)).toBe("Identity providers allowed to sign in (none selected: all of them)");
    expect(yes.deploys).toHaveLength(1);

    const no = await createWith(["--auth", "saas", "--team", "acme", "--allow-domain", "example.com"], { answers: [...answers.slice(0, 7), [/Set up Cloudflare now/, false]] });
    await no.run();
    expect(no.api.calls).toEqual([]);

    const noToken = await createWith(["--auth", "saas", "--team", "acme", "--allow-domain", "example.com"], { env: {}, answers: answers.slice(0, 7) });
    await noToken.run();
    expect(noToken.asked.some((q) => /Set up Cloudflare/.test(q))).toBe(false);
    expect(noToken.said.join("\n")).toMatch(/Set CLOUDFLARE_API_TOKEN and run npm run provision in the project/);

    const cancelled = await createWith(["--auth", "saas", "--team", "acme", "--allow-domain", "example.com"], { answers: [...answers.slice(0, 7), [/Set up Cloudflare now/, Symbol("cancel")]] });
    await expect(cancelled.run()).rejects.toBeInstanceOf(Cancelled);
    expect(cancelled.kept()).toBe(false);
  });

  it("--adopt: without a terminal only with --provision and --yes (exit 2 before anything is written); with them it takes over", async () => {
    const noYes = await createWith(["--auth", "self-hosted", "--allow-domain", "example.com", "--provision", "--adopt", "--no-install"]);
    await expect(noYes.run()).rejects.toThrow(/--adopt without a terminal needs --yes too/);
    const noProvision = await createWith(["--auth", "self-hosted", "--team", "acme", "--allow-domain", "example.com", "--adopt", "--no-install"]);
    await expect(noProvision.run()).rejects.toThrow(/--adopt only applies to provisioning.*add --provision/);
    for (const c of [noYes, noProvision]) {
      expect(c.api.calls).toEqual([]);
      expect(() => c.config()).toThrow(/ENOENT/);
    }

    const c = await createWith(["--auth", "self-hosted", "--allow-domain", "example.com", "--provision", "--adopt", "--yes", "--no-install"]);
    const theirs = await c.api.createApp(ACCOUNT, { type: "self_hosted", name: "Old server", domain: "srv.acme.workers.dev", policies: [] });
    await c.run();
    expect(c.api.apps).toEqual([expect.objectContaining({ id: theirs.id, name: "srv (MCP server)" })]);
    expect(c.config().provisioned.accessApp.id).toBe(theirs.id);
  });

  it("--domain with a host in no zone of the account: exit 2, nothing created, and the project itself is ready", async () => {
    const c = await createWith(["--auth", "self-hosted", "--allow-domain", "example.com", "--domain", "mcp.example.org", "--provision", "--no-install"]);
    const run = c.run();
    await expect(run).rejects.toThrow(UsageError);
    await expect(run).rejects.toThrow(/"mcp\.example\.org" is in no zone[\s\S]*The project itself is ready in \/work\/srv: run npm run provision there/);
    expect(mutationsOf(c.api)).toEqual([]);
    expect(c.config().domain).toBe("mcp.example.org");
  });

  it("a provisioning failure says the project itself is ready", async () => {
    const c = await createWith(["--auth", "self-hosted", "--allow-domain", "example.com", "--provision", "--no-install"]);
    c.api.subdomain = undefined;
    await expect(c.run()).rejects.toThrow(/no workers.dev subdomain[\s\S]*The project itself is ready in \/work\/srv: run npm run provision there/);
  });
});

describe("provision, the project's clients (config/clients.ts)", () => {
  const registration = (h: Awaited<ReturnType<typeof harness>>) => h.api.apps[0]!.oauth_configuration!.dynamic_client_registration!;

  it("by default allows every known client's exact callbacks and patterns, never a loopback URI (the loopback switches cover any port)", async () => {
    const h = await harness(selfHosted);
    await h.run();
    const { allowed_uris, allow_any_on_loopback, allow_any_on_localhost } = registration(h);
    expect(allowed_uris).toEqual(managedOAuthAllowlist(CLIENT_NAMES).allowedUris);
    expect(allowed_uris).toEqual(expect.arrayContaining(["https://chatgpt.com/connector/oauth/*", "https://vscode.dev/redirect", "https://playground.ai.cloudflare.com/*"]));
    expect(allowed_uris!.filter((uri) => uri.startsWith("http://"))).toEqual([]);
    expect([allow_any_on_loopback, allow_any_on_localhost]).toEqual([true, true]);
  });

  it("allows only the clients mcp-access.json names; loopback only when one of them signs in there; your own app's URI exactly", async () => {
    const h = await harness([...selfHosted, "--client", "claude,chatgpt", "--client", "myapp://oauth/callback"]);
    await h.run();
    expect(registration(h)).toMatchObject({
      allow_any_on_localhost: false,
      allow_any_on_loopback: false,
      allowed_uris: [
        "https://claude.ai/api/mcp/auth_callback",
        "https://claude.com/api/mcp/auth_callback",
        "https://chatgpt.com/connector/oauth/*",
        "https://chatgpt.com/connector_platform_oauth_redirect",
        "myapp://oauth/callback",
      ],
    });
    expect(h.config().clients).toEqual(["claude", "chatgpt", "myapp://oauth/callback"]);
  });

  it("a client dropped from mcp-access.json loses its callbacks on the next run; a URI added in the dashboard stays", async () => {
    const h = await harness([...selfHosted, "--client", "claude,cursor"]);
    await h.run();
    const app = h.api.apps[0]!;
    // One added in the dashboard, and one 0.1.0's provision put there (Inspector, on loopback now).
    app.oauth_configuration!.dynamic_client_registration!.allowed_uris!.push("https://tools.example.com/cb", "http://localhost:6274/oauth/callback");
    h.edit((config) => (config.clients = ["claude", "inspector"]));
    await h.run();
    expect(registration(h)).toMatchObject({
      allow_any_on_loopback: true,
      allowed_uris: expect.arrayContaining(["https://claude.ai/api/mcp/auth_callback", "https://tools.example.com/cb"]),
    });
    expect(registration(h).allowed_uris!.filter((uri) => /cursor|6274/.test(uri))).toEqual([]);
  });
});

describe("provision: every client in the table can register with the Access app it makes", () => {
  it.each(CLIENT_NAMES)("%s: its whole dynamic registration passes Managed OAuth's documented matching", async (name) => {
    const h = await harness([...selfHosted, "--client", name]);
    await h.run();
    const settings = h.api.apps[0]!.oauth_configuration!.dynamic_client_registration!;
    expect(refusedRedirects(settings, KNOWN_CLIENTS[name].redirectUris)).toEqual([]);
    // Another client's callbacks are not let in with it (loopback aside, which is one switch for all).
    const others = CLIENT_NAMES.filter((other) => other !== name).flatMap((other) => KNOWN_CLIENTS[other].redirectUris as readonly string[]);
    const foreign = others.filter((uri) => !uri.startsWith("http://") && !(KNOWN_CLIENTS[name].redirectUris as readonly string[]).includes(uri));
    expect(foreign.filter((uri) => refusedRedirects(settings, [uri]).length === 0)).toEqual([]);
  });

  it("and a port or path the client did not register is refused where Access matches exactly", async () => {
    const h = await harness([...selfHosted, "--client", "cursor,chatgpt"]);
    await h.run();
    const settings = h.api.apps[0]!.oauth_configuration!.dynamic_client_registration!;
    expect(refusedRedirects(settings, ["cursor://anysphere.cursor-mcp/oauth/callback/x", "CURSOR://anysphere.cursor-mcp/oauth/callback", "https://chatgpt.com/connector/other", "https://evil.example/connector/oauth/x"])).toHaveLength(4);
    expect(refusedRedirects(settings, ["https://chatgpt.com/connector/oauth/g-123", "http://localhost:8787/callback"])).toEqual([]);
  });
});

describe("provision, who may call what (issue 14)", () => {
  const wiki = ["--downstream", "wiki=https://wiki.example.com"];
  const scopesOf = (api: FakeApi) => api.apps.find((app) => app.type === "saas")!.saas_app!.scopes;

  it("saas: a rule naming an Access group asks the OIDC app for the groups scope; an email or domain rule does not", async () => {
    const groups = await harness([...saas, ...wiki, "--allow-tool", "call_wiki=group:wiki-editors"]);
    await groups.run();
    expect(scopesOf(groups.api)).toEqual(["openid", "email", "profile", "groups"]);

    const emails = await harness([...saas, ...wiki, "--allow-tool", "call_wiki=ada@example.com,@example.org"]);
    await emails.run();
    expect(scopesOf(emails.api)).toEqual(["openid", "email", "profile"]);
  });

  it("saas: a group rule added later updates the app's scopes, keeping the user's own; removing it changes nothing", async () => {
    const h = await harness([...saas, ...wiki]);
    await h.run();
    h.edit((config) => {
      config.tools = { whoami: { allow: { groups: ["admins"] } } };
    });
    h.api.calls = [];
    await h.run();
    expect(mutationsOf(h.api)).toEqual(["updateApp"]);
    expect(scopesOf(h.api)).toEqual(expect.arrayContaining(["openid", "email", "profile", "groups"]));
    expect(h.said.join("\n")).toMatch(/changed Access for SaaS \(OIDC\) app "srv \(MCP server\)": saas_app/);

    // A re-run is at rest, and so is one after the rule goes: a scope on the app is kept (the user may rely on it).
    h.api.calls = [];
    await h.run();
    expect(mutationsOf(h.api)).toEqual([]);
    h.edit((config) => {
      delete config.tools;
    });
    h.api.calls = [];
    await h.run();
    expect(mutationsOf(h.api)).toEqual([]);
    expect(scopesOf(h.api)).toContain("groups");
  });

  it("self-hosted: a group rule changes nothing on the app (the Worker asks Access's identity endpoint)", async () => {
    const h = await harness([...selfHosted, ...wiki, "--allow-tool", "call_wiki=group:wiki-editors"]);
    await h.run();
    expect(h.api.apps[0]!.type).toBe("self_hosted");
    expect(h.api.apps[0]).not.toHaveProperty("saas_app");
  });

  it.each([
    ["self-hosted", selfHosted],
    ["saas", saas],
  ])("%s: audit hashes get the secret AUDIT_HASH_KEY (32 random bytes, base64url) once, never in files or output", async (_, mode) => {
    const h = await harness([...mode, "--audit-arguments", "hash"]);
    await h.run();
    const key = h.deploys[0]!.secrets.AUDIT_HASH_KEY!;
    expect(key).toBe(Buffer.from(COOKIE_KEY, "hex").toString("base64url"));
    expect(Buffer.from(key, "base64url")).toHaveLength(32);
    expect(h.allFiles()).not.toContain(key);
    expect(h.said.join("\n")).not.toContain(key);
    // The Worker has it now: a re-run keeps it, so the same value hashes the same in every log line.
    await h.run();
    expect(h.deploys[1]!.secrets).not.toHaveProperty("AUDIT_HASH_KEY");
  });

  it("audit with argument names only, or off, has no AUDIT_HASH_KEY; a self-hosted project still deploys without secrets", async () => {
    for (const flags of [[], ["--no-audit"]]) {
      const h = await harness([...selfHosted, ...flags]);
      await h.run();
      expect(h.deploys[0]!.secrets).toEqual({});
    }
    const h = await harness([...saas]);
    await h.run();
    expect(h.deploys[0]!.secrets).not.toHaveProperty("AUDIT_HASH_KEY");
  });

  it("--dry-run names AUDIT_HASH_KEY among the secrets of the deploy, never its value; --no-deploy says to deploy through provision", async () => {
    const h = await harness([...selfHosted, "--audit-arguments", "hash"]);
    await h.run("--dry-run");
    const plan = h.said.join("\n");
    expect(plan).toMatch(/Would run: wrangler deploy AUDIT_HASH_KEY/);
    expect(plan).not.toContain(Buffer.from(COOKIE_KEY, "hex").toString("base64url"));
    h.said.length = 0;
    await h.run("--no-deploy");
    expect(h.said.join("\n")).toMatch(/To deploy: npm run provision \(the secrets go up with the deploy\)/);
  });

  it("an adopted Worker gets a key of this project's own", async () => {
    const api = new FakeApi();
    api.workers.set("srv", [{ type: "secret_text", name: "AUDIT_HASH_KEY" }]);
    const h = await harness([...selfHosted, "--audit-arguments", "hash"], { api });
    await h.run("--adopt", "--yes");
    expect(h.deploys[0]!.secrets).toHaveProperty("AUDIT_HASH_KEY");
  });
});

describe("provision with a custom domain (--domain)", () => {
  const withDomain = (args: string[], host = "mcp.example.com") => [...args, "--domain", host];
  const appOf = (api: FakeApi, id: string) => api.apps.find((candidate) => candidate.id === id)!;
  const publicHosts = (app: AccessApp) =>
    (app.destinations as { type?: string; uri?: string }[]).filter((d) => (d.type ?? "public") === "public").map((d) => d.uri);
  const reads = (api: FakeApi, call: string) => api.calls.filter((entry) => entry.call === call).map((entry) => entry.args.slice(1));

  it.each([
    ["self-hosted", selfHosted],
    ["saas", saas],
  ])("%s: finds the zone, puts the Access app on the custom host, records the zone for the route, and the live URL is the custom host; a re-run changes nothing", async (mode, args) => {
    const h = await harness(withDomain(args));
    // With a custom domain the account needs no workers.dev subdomain.
    h.api.subdomain = undefined;
    expect(await h.run()).toBe(ExitCode.ok);

    // The longest suffix first: mcp.example.com is not a zone, example.com is.
    expect(reads(h.api, "listZones")).toEqual([["mcp.example.com"], ["example.com"]]);
    expect(reads(h.api, "listWorkerDomains")).toEqual([[{ hostname: "mcp.example.com" }]]);
    const app = appOf(h.api, h.config().provisioned.accessApp.id);
    if (mode === "saas") {
      expect(app.saas_app!.redirect_uris).toEqual(["https://mcp.example.com/callback"]);
    } else {
      expect(app.domain).toBe("mcp.example.com");
      expect(publicHosts(app)).toEqual(["mcp.example.com"]);
    }
    expect(h.config().provisioned.customDomain).toEqual({ hostname: "mcp.example.com", zone: "example.com" });
    expect(h.config().provisioned).not.toHaveProperty("workersSubdomain");
    expect(h.wrangler()).toMatchObject({ workers_dev: false, preview_urls: false, routes: [{ pattern: "mcp.example.com", custom_domain: true, zone_name: "example.com" }] });
    expect(h.read("README.md")).toContain("`https://mcp.example.com/mcp`");
    expect(h.said.join("\n")).toContain("MCP endpoint: https://mcp.example.com/mcp");
    expect(h.said.join("\n")).not.toContain("workers.dev/mcp");
    expect(h.api.domains).toEqual([expect.objectContaining({ hostname: "mcp.example.com", service: "srv" })]);

    h.api.calls = [];
    expect(await h.run()).toBe(ExitCode.ok);
    expect(mutationsOf(h.api)).toEqual([]);
  });

  it("the zone is the longest suffix of the host that is a zone of the account", async () => {
    const api = new FakeApi();
    api.zones.push({ id: "eu-zone", name: "eu.example.com", status: "active" });
    const h = await harness(withDomain(selfHosted, "mcp.eu.example.com"), { api });
    expect(await h.run()).toBe(ExitCode.ok);
    expect(reads(api, "listZones")).toEqual([["mcp.eu.example.com"], ["eu.example.com"]]);
    expect(h.config().provisioned.customDomain).toEqual({ hostname: "mcp.eu.example.com", zone: "eu.example.com" });
  });

  it.each([
    ["self-hosted", selfHosted],
    ["saas", saas],
  ])("%s: a host in no zone of the account: exit 2 naming the host and the zones it sees, before any change", async (_, args) => {
    const h = await harness(withDomain(args, "mcp.example.org"));
    const run = h.run();
    await expect(run).rejects.toThrow(UsageError);
    await expect(run).rejects.toThrow(/"mcp\.example\.org" is in no zone of the account 0123456789abcdef0123456789abcdef[\s\S]*example\.com/);
    expect(mutationsOf(h.api)).toEqual([]);
    expect(h.deploys).toEqual([]);
    expect(h.config().provisioned ?? {}).not.toHaveProperty("customDomain");
  });

  it("names from the API are shown quoted, and a long list of zones is cut short", async () => {
    const api = new FakeApi();
    api.zones = Array.from({ length: 30 }, (_, i) => ({ id: `z${i}`, name: `zone${i}.example`, status: "active" }));
    api.zones.push({ id: "evil", name: "evil\u001b[2J.example", status: "active" });
    const h = await harness(withDomain(selfHosted), { api });
    const run = h.run();
    await expect(run).rejects.toThrow(/sees: "zone0\.example", "zone1\.example", [^\n]*"zone19\.example" and 11 more\./);
    await expect(run).rejects.not.toThrow(/\u001b/);
    api.zones = [{ id: "z", name: "example.com", status: "active" }];
    api.domains.push({ id: "d", hostname: "mcp.example.com", service: "pay\u001b[2Jroll" });
    await expect(h.run()).rejects.toThrow(/the Worker "pay\\u001b\[2Jroll"/);
  });

  it("no zone at all may be a token without Zone: Read: the message says so", async () => {
    const api = new FakeApi();
    api.zones = [];
    const h = await harness(withDomain(selfHosted), { api });
    await expect(h.run()).rejects.toThrow(/sees no zone at all[\s\S]*Zone: Read/);
    expect(mutationsOf(api)).toEqual([]);
  });

  it("a zone that is not active yet is refused, naming its status", async () => {
    const api = new FakeApi();
    api.zones = [{ id: "z", name: "example.com", status: "pending" }];
    const h = await harness(withDomain(selfHosted), { api });
    await expect(h.run()).rejects.toThrow(/zone "example\.com" is "pending"/);
    expect(mutationsOf(api)).toEqual([]);
  });

  it.each([
    ["self-hosted", selfHosted],
    ["saas", saas],
  ])("%s: a host another Worker serves: exit 2 naming that Worker and how to detach it; --adopt does not take it over; nothing changed", async (_, args) => {
    const api = new FakeApi();
    api.domains.push({ id: "d1", hostname: "mcp.example.com", service: "payroll", zone_name: "example.com" });
    const h = await harness(withDomain(args), { api });
    for (const flags of [[], ["--adopt", "--yes"], ["--dry-run"]]) {
      const run = h.run(...flags);
      await expect(run).rejects.toThrow(UsageError);
      await expect(run).rejects.toThrow(/"mcp\.example\.com" is a custom domain of the Worker "payroll"[\s\S]*Domains & Routes/);
    }
    expect(mutationsOf(api)).toEqual([]);
    expect(h.deploys).toEqual([]);
    expect(api.domains).toEqual([expect.objectContaining({ hostname: "mcp.example.com", service: "payroll" })]);
  });

  it.each([
    ["self-hosted", selfHosted],
    ["saas", saas],
  ])("%s: a host with DNS records of its own (a site already there): exit 2 naming them, before the Access app is put on it", async (_, args) => {
    const api = new FakeApi();
    api.dnsRecords.push({ type: "A", name: "mcp.example.com", content: "192.0.2.1" });
    const h = await harness(withDomain(args), { api });
    const run = h.run();
    await expect(run).rejects.toThrow(UsageError);
    await expect(run).rejects.toThrow(/"mcp\.example\.com" already has DNS records of its own \(A "192\.0\.2\.1"\)[\s\S]*DNS/);
    expect(mutationsOf(api)).toEqual([]);
    expect(h.deploys).toEqual([]);
  });

  it("the host's DNS records are read only while no custom domain holds it: this project's own domain is not read again", async () => {
    const h = await harness(withDomain(selfHosted));
    await h.run();
    expect(h.api.calls.filter(({ call }) => call === "listDnsRecords").map(({ args }) => args)).toEqual([["9a7806061c88ada191ed06f989cc3dac", "mcp.example.com"]]);
    h.api.calls = [];
    await h.run();
    expect(reads(h.api, "listDnsRecords")).toEqual([]);
  });

  it("self-hosted: changing the domain moves the app (the old host is no longer its, the user's other hosts stay) and the route", async () => {
    const h = await harness(withDomain(selfHosted));
    await h.run();
    const appId = h.config().provisioned.accessApp.id;
    const app = appOf(h.api, appId);
    app.destinations = [...(app.destinations as object[]), { type: "public", uri: "admin.example.com" }];

    h.edit((config) => (config.domain = "tools.example.com"));
    h.api.calls = [];
    expect(await h.run()).toBe(ExitCode.ok);
    expect(appOf(h.api, appId).domain).toBe("tools.example.com");
    expect(publicHosts(appOf(h.api, appId))).toEqual(["tools.example.com", "admin.example.com"]);
    expect(mutationsOf(h.api)).toEqual(["updateApp"]);
    expect(h.config().provisioned.customDomain).toEqual({ hostname: "tools.example.com", zone: "example.com" });
    expect(h.wrangler().routes).toEqual([{ pattern: "tools.example.com", custom_domain: true, zone_name: "example.com" }]);
    expect(h.api.domains.map((domain) => domain.hostname)).toEqual(["tools.example.com"]);

    h.api.calls = [];
    expect(await h.run()).toBe(ExitCode.ok);
    expect(mutationsOf(h.api)).toEqual([]);
  });

  it("saas: changing the domain replaces the old host's /callback, keeping the user's own redirect URIs", async () => {
    const h = await harness(withDomain(saas));
    await h.run();
    const appId = h.config().provisioned.accessApp.id;
    const app = appOf(h.api, appId);
    app.saas_app!.redirect_uris = [...app.saas_app!.redirect_uris!, "http://localhost:8787/callback"];

    h.edit((config) => (config.domain = "tools.example.com"));
    expect(await h.run()).toBe(ExitCode.ok);
    expect(appOf(h.api, appId).saas_app!.redirect_uris).toEqual(["https://tools.example.com/callback", "http://localhost:8787/callback"]);
  });

  it.each([
    ["self-hosted", selfHosted],
    ["saas", saas],
  ])("%s: from workers.dev to a custom domain and back: the app follows, the custom domain is detached when it goes", async (mode, args) => {
    const h = await harness(args);
    await h.run();
    const appId = h.config().provisioned.accessApp.id;
    const hostOf = () => (mode === "saas" ? appOf(h.api, appId).saas_app!.redirect_uris : publicHosts(appOf(h.api, appId)));

    h.edit((config) => (config.domain = "mcp.example.com"));
    expect(await h.run()).toBe(ExitCode.ok);
    expect(hostOf()).toEqual([mode === "saas" ? "https://mcp.example.com/callback" : "mcp.example.com"]);
    expect(h.api.domains.map((domain) => [domain.hostname, domain.service])).toEqual([["mcp.example.com", "srv"]]);

    h.edit((config) => delete config.domain);
    h.api.calls = [];
    expect(await h.run()).toBe(ExitCode.ok);
    expect(hostOf()).toEqual([mode === "saas" ? "https://srv.acme.workers.dev/callback" : "srv.acme.workers.dev"]);
    expect(mutationsOf(h.api)).toEqual(["updateApp", "deleteWorkerDomain"]);
    expect(h.api.domains).toEqual([]);
    expect(h.config().provisioned).not.toHaveProperty("customDomain");
    expect(h.wrangler()).not.toHaveProperty("routes");
  });

  it("a recorded host that no longer routes to this Worker is never taken off Access or detached", async () => {
    const h = await harness(withDomain(selfHosted));
    await h.run();
    const appId = h.config().provisioned.accessApp.id;
    // Someone moved mcp.example.com to their own Worker since.
    h.api.domains = [{ id: "d9", hostname: "mcp.example.com", service: "payroll" }];
    h.edit((config) => delete config.domain);
    h.api.calls = [];
    // The app protects mcp.example.com, not this Worker's workers.dev host, and mcp.example.com is not provably this project's now.
    await expect(h.run()).rejects.toThrow(/does not protect srv\.acme\.workers\.dev/);
    expect(mutationsOf(h.api)).toEqual([]);
    expect(publicHosts(appOf(h.api, appId))).toEqual(["mcp.example.com"]);
    expect(h.api.domains).toEqual([{ id: "d9", hostname: "mcp.example.com", service: "payroll" }]);
  });

  it("--dry-run of a domain that went plans the detach after the deploy, and sends no write", async () => {
    const h = await harness(withDomain(saas));
    await h.run();
    h.edit((config) => delete config.domain);
    h.api.calls = [];
    await h.run("--dry-run");
    expect(mutationsOf(h.api)).toEqual([]);
    expect(h.api.domains.map((domain) => domain.hostname)).toEqual(["mcp.example.com"]);
    const plan = h.said.join("\n");
    expect(plan).toMatch(/not sent {2}DELETE \/accounts\/0123456789abcdef0123456789abcdef\/workers\/domains\/domain-mcp\.example\.com/);
    expect(plan).toMatch(/Would record in mcp-access.json:\n[^]*\n  provisioned\.customDomain removed\n/);
  });

  it("--dry-run lists the zone and custom-domain reads, sends no write, and records nothing", async () => {
    const h = await harness(withDomain(selfHosted));
    const before = h.allFiles();
    await h.run("--dry-run");
    expect(mutationsOf(h.api)).toEqual([]);
    expect(h.allFiles()).toBe(before);
    const plan = h.said.join("\n");
    expect(plan).toMatch(/sent {6}GET {4}\/zones\?account\.id=0123456789abcdef0123456789abcdef&name=example\.com/);
    expect(plan).toMatch(/sent {6}GET {4}\/accounts\/0123456789abcdef0123456789abcdef\/workers\/domains\?hostname=mcp\.example\.com/);
    expect(plan).toMatch(/customDomain/);
  });
});
