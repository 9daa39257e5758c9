import { join } from "node:path";
import ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";
import { createdInMemory, recordingUi, repoTemplates } from "../support/memory.js";
import { repoRoot } from "../support/processes.js";
import { readProjectConfig } from "../../src/commands/regenerate.js";
import type { PlannedCall } from "../../src/provision/dry-run-api.js";
import { provisionProject } from "../../src/provision/project.js";
import type { TemplateSet } from "../../src/render/templates.js";
import { ACCOUNT, FakeApi, fakeDeployer } from "../support/fake-api.js";

/**
 * Every request body a `--dry-run` plans, type-checked by the TypeScript
 * compiler against the official SDK's own parameter types: a field the SDK
 * does not know, or a value of the wrong type, is a diagnostic here. The
 * compile-time types in cloudflare-api.ts say the same for the code; this
 * checks what the code really builds at run time (bodies made from what the
 * API returned included).
 */

let templates: TemplateSet;
beforeAll(async () => {
  templates = await repoTemplates();
});

const selfHosted = ["--auth", "self-hosted", "--team", "acme", "--allow-email", "ada@example.com", "--allow-domain", "example.com"];
const saas = ["--auth", "saas", "--team", "acme", "--allow-domain", "example.com", "--downstream", "wiki=https://wiki.example.com"];

/**
 * A project made by create in memory; `provision` runs it against the fake API, with or without --dry-run, and returns the plan.
 * `rename` gives the project another Worker name in mcp-access.json.
 */
async function project(createArgs: string[], api: FakeApi) {
  const ui = recordingUi([], { steps: true });
  const { volume, fs, root } = await createdInMemory(createArgs, templates, ui);
  const read = (path: string) => volume.readFileSync(join(root, path), "utf8") as string;
  const rename = (name: string) => volume.writeFileSync(join(root, "mcp-access.json"), JSON.stringify({ ...JSON.parse(read("mcp-access.json")), name }, null, 2));
  return Object.assign(provision, { rename });
  async function provision(dryRun: boolean, adopt = false): Promise<PlannedCall[]> {
    const config = await readProjectConfig(fs, root, "provision");
    const result = await provisionProject(root, config, { dryRun, deploy: true, adopt, where: "file" }, {
      fs,
      exec: async () => ({ code: 0, output: "" }),
      ui,
      env: { CLOUDFLARE_API_TOKEN: "unit-test-api-token-0123456789" },
      loadTemplates: async () => templates,
      generatorVersion: "0.1.0",
      api,
      randomKey: () => "c".repeat(64),
      deployer: fakeDeployer(api, () => read("wrangler.jsonc")),
    });
    return result.plan ?? [];
  }
}

/** The SDK's application parameter type for each app type provisioning writes (create and update have the same members). */
const APP_MEMBER: Record<string, string> = { self_hosted: "SelfHostedApplication", saas: "SaaSApplication" };

/** The SDK parameter type a planned write's body must satisfy (the account id goes in the path, not the body). */
function sdkTypeOf({ method, path, body }: PlannedCall): string {
  const verb = method === "POST" ? "Create" : "Update";
  if (/\/access\/policies(\/[^/]+)?$/.test(path)) return `Policies.Policy${verb}Params`;
  if (/\/storage\/kv\/namespaces(\/[^/]+)?$/.test(path)) return `KV.Namespace${verb}Params`;
  if (/\/access\/apps(\/[^/]+)?$/.test(path)) {
    const member = APP_MEMBER[String((body as { type?: unknown }).type)];
    if (member) return `Apps.Application${verb}Params.${member}`;
  }
  throw new Error(`no SDK parameter type known for ${method} ${path}`);
}

const compilerOptions = (() => {
  const { config } = ts.readConfigFile(join(repoRoot, "tsconfig.json"), ts.sys.readFile);
  // The repo's options; only an unused import (one no body of this plan needed) is no problem here.
  return { ...ts.parseJsonConfigFileContent(config, ts.sys, repoRoot).options, noUnusedLocals: false };
})();

let previous: ts.Program | undefined;

/**
 * Type-checks `const body: <SDK type> = <the body>` for each planned write, in
 * a file the compiler sees in the repo (so `cloudflare` resolves as it does
 * for src/) but that is never written: the problems found, one line each,
 * naming the call.
 */
function typeCheck(plan: PlannedCall[]): string[] {
  const writes = plan.filter((call) => !call.sent && call.body !== undefined);
  const file = join(repoRoot, "test", "unit", "__planned-bodies__.ts");
  const source = [
    'import type * as Apps from "cloudflare/resources/zero-trust/access/applications/applications";',
    'import type * as Policies from "cloudflare/resources/zero-trust/access/policies";',
    'import type * as KV from "cloudflare/resources/kv/namespaces/namespaces";',
    'type Body<Params> = Omit<Params, "account_id">;',
    ...writes.map((call, index) => `export const body${index}: Body<${sdkTypeOf(call)}> = ${JSON.stringify(call.body)};`),
  ].join("\n");
  const host = ts.createCompilerHost(compilerOptions);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, version, ...rest) =>
    name === file ? ts.createSourceFile(name, source, version) : getSourceFile.call(host, name, version, ...rest);
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? source : readFile.call(host, name));
  // The previous program's parsed files (the SDK's types, Node's) are reused: only this file is new.
  const program = ts.createProgram({ rootNames: [file], options: compilerOptions, host, ...(previous ? { oldProgram: previous } : {}) });
  previous = program;
  const checked = program.getSourceFile(file)!;
  return [...program.getSyntacticDiagnostics(checked), ...program.getSemanticDiagnostics(checked)].map((diagnostic) => {
    const line = diagnostic.start === undefined ? -1 : checked.getLineAndCharacterOfPosition(diagnostic.start).line;
    const call = writes[line - 4];
    const where = call ? `${call.method} ${call.path}` : `line ${line + 1}`;
    return `${where}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, " ")}`;
  });
}

const writesOf = (plan: PlannedCall[]) => plan.filter((call) => !call.sent).map(({ method, path }) => `${method} ${path.replace(`/accounts/${ACCOUNT}`, "")}`);

// The first check of a run parses the SDK's types cold: seconds on a loaded machine, so more than vitest's default 5 s per test.
describe("every body a --dry-run plans is one the SDK's own parameter types accept", { timeout: 60_000 }, () => {
  it("self-hosted, first run: the allow policy and the self-hosted app with Managed OAuth", async () => {
    const plan = await (await project(selfHosted, new FakeApi()))(true);
    expect(writesOf(plan)).toEqual(["POST /access/policies", "POST /access/apps"]);
    expect(typeCheck(plan)).toEqual([]);
  });

  it("saas with a downstream app, first run: policies, the KV namespace, the OIDC app, and the downstream app's update", async () => {
    const api = new FakeApi();
    await api.createApp(ACCOUNT, { type: "self_hosted", name: "Wiki", domain: "wiki.example.com", session_duration: "6h", policies: [] });
    const plan = await (await project(saas, api))(true);
    expect(writesOf(plan).map((call) => call.replace(/\/[0-9a-f-]{36}$/, "/<id>"))).toEqual([
      "POST /access/policies",
      "POST /storage/kv/namespaces",
      "POST /access/apps",
      "POST /access/policies",
      "PUT /access/apps/<id>",
    ]);
    expect(typeCheck(plan)).toEqual([]);
  });

  it("re-runs that update what the dashboard changed, bodies built from the API's answers: self-hosted and saas", async () => {
    for (const mode of [selfHosted, saas]) {
      const api = new FakeApi();
      await api.createApp(ACCOUNT, { type: "self_hosted", name: "Wiki", domain: "wiki.example.com", policies: [] });
      const provision = await project(mode, api);
      await provision(false);
      // Someone edits the policy and the app in the dashboard.
      const allow = api.policies.find((policy) => policy.decision === "allow")!;
      allow.include = [{ everyone: {} }];
      allow.session_duration = "6h";
      const app = api.apps.find((candidate) => candidate.name === "srv (MCP server)")!;
      app.allowed_idps = [];
      app.tags = ["mcp"];
      if (app.saas_app) app.saas_app.scopes = ["openid"];
      if (app.oauth_configuration) app.oauth_configuration.dynamic_client_registration = { enabled: false };

      const plan = await provision(true);
      const writes = writesOf(plan).map((call) => call.replace(/\/[0-9a-f-]{32,36}$/, "/<id>"));
      expect(writes).toEqual(expect.arrayContaining(["PUT /access/policies/<id>", "PUT /access/apps/<id>"]));
      expect(typeCheck(plan)).toEqual([]);
    }
  });

  it("--dry-run --adopt after the Worker's rename: the app moved to the new host, and a downstream app with the fields the dashboard sets", async () => {
    const api = new FakeApi();
    const staff = await api.createPolicy(ACCOUNT, { name: "wiki staff", decision: "allow", include: [{ everyone: {} }] });
    await api.createApp(ACCOUNT, {
      type: "self_hosted",
      name: "Wiki",
      domain: "wiki.example.com",
      destinations: [{ type: "public", uri: "wiki.example.com", overrides: [{ behavior: "public", path_pattern: "/status" }] }],
      mfa_config: { allowed_authenticators: ["totp"], session_duration: "12h" },
      custom_pages: ["99999999-0000-4000-8000-000000000001"],
      cors_headers: { allowed_methods: ["GET"], allow_all_origins: true },
      policies: [{ id: staff.id, precedence: 4 }],
    });
    const provision = await project([...selfHosted, "--downstream", "wiki=https://wiki.example.com"], api);
    await provision(false);
    provision.rename("srv2");
    // The Linked App Token policy taken off again in the dashboard: the downstream app is updated too.
    const wiki = api.apps.find((app) => app.name === "Wiki")!;
    wiki.policies = wiki.policies!.filter((policy) => policy.id === staff.id);
    const plan = await provision(true, true);
    const puts = plan.filter((call) => !call.sent && call.method === "PUT" && /\/access\/apps\//.test(call.path)).map((call) => call.body as Record<string, any>);
    expect(puts.map((body) => [body.name, body.destinations])).toEqual([
      ["srv2 (MCP server)", [{ type: "public", uri: "srv2.acme.workers.dev" }]],
      ["Wiki", [{ type: "public", uri: "wiki.example.com", overrides: [{ behavior: "public", path_pattern: "/status" }] }]],
    ]);
    expect(typeCheck(plan)).toEqual([]);
  });

  it("--dry-run --adopt: the KV namespace's rename", async () => {
    const api = new FakeApi();
    const provision = await project(saas, api);
    await provision(false);
    api.kvNamespaces[0]!.title = "somebody's";
    const plan = await provision(true, true);
    expect(writesOf(plan).map((call) => call.replace(/\/[0-9a-f]{32}$/, "/<id>"))).toContain("PUT /storage/kv/namespaces/<id>");
    expect(typeCheck(plan)).toEqual([]);
  });

  it("the check is not vacuous: an unknown field or a value of the wrong type in any body is reported, naming the call", async () => {
    const api = new FakeApi();
    await api.createApp(ACCOUNT, { type: "self_hosted", name: "Wiki", domain: "wiki.example.com", policies: [] });
    const plan = await (await project(saas, api))(true);
    const tampered = (at: number, change: (body: any) => void): PlannedCall => {
      const body = structuredClone(plan[at]!.body);
      change(body);
      return { ...plan[at]!, body };
    };
    const index = (method: string, pattern: RegExp) => plan.findIndex((call) => !call.sent && call.method === method && pattern.test(call.path));
    const policy = index("POST", /\/access\/policies$/);
    const kv = index("POST", /\/kv\/namespaces$/);
    const app = index("POST", /\/access\/apps$/);
    const downstream = index("PUT", /\/access\/apps\//);

    const cases: [number, (body: any) => void, RegExp][] = [
      [policy, (body) => (body.decision = "permit"), /POST .*\/access\/policies: Type '"permit"' is not assignable/],
      [policy, (body) => (body.include = [{ email: { address: "ada@example.com" } }]), /POST .*\/access\/policies: .*address/],
      [kv, (body) => (body.name = body.title), /POST .*\/storage\/kv\/namespaces: .*'"name"' does not exist/],
      [app, (body) => (body.saas_app.refresh_token_options = { lifetime: 30 }), /POST .*\/access\/apps: Type 'number' is not assignable to type 'string'/],
      [app, (body) => (body.saas_app.grant_types = ["password"]), /POST .*\/access\/apps: Type '"password"' is not assignable/],
      [app, (body) => (body.session_lifetime = "1h"), /POST .*\/access\/apps: .*'"session_lifetime"' does not exist/],
      [downstream, (body) => (body.auto_redirect_to_identity = "yes"), /PUT .*\/access\/apps\/.*: Type 'string' is not assignable to type 'boolean( \| undefined)?'/],
    ];
    // One body per case, each with one thing wrong: one problem each, in order.
    expect(typeCheck(cases.map(([at, change]) => tampered(at, change)))).toEqual(cases.map(([, , problem]) => expect.stringMatching(problem)));
  });
});
