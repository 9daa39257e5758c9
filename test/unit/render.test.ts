import { parse as parseJsonc } from "jsonc-parser";
import { beforeAll, describe, expect, it } from "vitest";
import { configWith, renderMeta, repoTemplates } from "../support/memory.js";
import type { Config } from "../../src/config/config.js";
import { render } from "../../src/render/render.js";
import type { TemplateSet } from "../../src/render/templates.js";

let templates: TemplateSet;
beforeAll(async () => {
  templates = await repoTemplates();
});

const base = configWith();
const meta = renderMeta;

/** Every combination the generator accepts today (the others stop at "not available yet"). */
const combinations: [string, Config][] = [
  ["defaults", base],
  ["saas", { ...base, auth: "saas" }],
  ["saas with a team and access answers", { ...base, auth: "saas", team: "https://acme.cloudflareaccess.com", access: { emails: ["ada@example.com"], domains: ["example.com"], idps: ["onetimepin"] } }],
  ["with a team", { ...base, team: "https://acme.cloudflareaccess.com" }],
  [
    "with every access answer",
    {
      ...base,
      team: "https://acme.cloudflareaccess.com",
      access: { emails: ["ada@example.com", "grace@example.org"], domains: ["example.com"], idps: ["github", "okta"] },
      accountId: "0123456789abcdef0123456789abcdef",
    },
  ],
  [
    "self-hosted, provisioned",
    {
      ...base,
      team: "https://acme.cloudflareaccess.com",
      access: { emails: ["ada@example.com"], domains: [], idps: [] },
      accountId: "0123456789abcdef0123456789abcdef",
      provisioned: {
        workersSubdomain: "acme-dev",
        allowPolicyId: "11111111-2222-3333-4444-555555555555",
        accessApp: { id: "aaaaaaaa-2222-3333-4444-555555555555", aud: "f".repeat(64) },
        downstreams: { wiki: { appId: "bbbbbbbb-2222-3333-4444-555555555555", policyId: "cccccccc-2222-3333-4444-555555555555" } },
      },
    },
  ],
  [
    "saas, provisioned",
    {
      ...base,
      auth: "saas",
      team: "https://acme.cloudflareaccess.com",
      access: { emails: [], domains: ["example.com"], idps: [] },
      accountId: "0123456789abcdef0123456789abcdef",
      provisioned: {
        workersSubdomain: "acme-dev",
        allowPolicyId: "11111111-2222-3333-4444-555555555555",
        accessApp: { id: "aaaaaaaa-2222-3333-4444-555555555555", clientId: "c".repeat(64) },
        kvNamespaceId: "d".repeat(32),
      },
    },
  ],
];

const combo = (name: string): Config => combinations.find(([label]) => label === name)![1];

describe("render with a custom domain (--domain)", () => {
  const wranglerOf = (config: Config) => parseJsonc(render(config, templates, meta).get("wrangler.jsonc")!);

  it.each(["self-hosted", "saas"] as const)("%s: wrangler.jsonc routes the host as a custom domain, with workers.dev and preview URLs off", (auth) => {
    const wrangler = wranglerOf({ ...base, auth, domain: "mcp.example.com" });
    expect(wrangler).toMatchObject({ workers_dev: false, preview_urls: false, routes: [{ pattern: "mcp.example.com", custom_domain: true }] });
    expect(wrangler.routes[0]).not.toHaveProperty("zone_name");
  });

  it.each(["self-hosted", "saas"] as const)("%s: once provision found the zone, the route names it; a zone recorded for another host does not", (auth) => {
    const provisioned = { customDomain: { hostname: "mcp.example.com", zone: "example.com" } };
    expect(wranglerOf({ ...base, auth, domain: "mcp.example.com", provisioned }).routes).toEqual([{ pattern: "mcp.example.com", custom_domain: true, zone_name: "example.com" }]);
    // The domain changed since: the zone is found again by the next provision.
    expect(wranglerOf({ ...base, auth, domain: "tools.example.org", provisioned }).routes).toEqual([{ pattern: "tools.example.org", custom_domain: true }]);
  });

  it.each(["self-hosted", "saas"] as const)("%s: without a domain, no route and workers.dev left to wrangler's default", (auth) => {
    const wrangler = wranglerOf({ ...base, auth });
    expect(wrangler).not.toHaveProperty("routes");
    expect(wrangler).not.toHaveProperty("workers_dev");
    expect(wrangler.preview_urls).toBe(false);
  });

  it.each(["ts", "js"] as const)("the README names the custom host everywhere the Worker's URL appears, never workers.dev (%s)", (lang) => {
    const provisioned = { workersSubdomain: "acme" };
    const selfHosted = render({ ...base, lang, domain: "mcp.example.com", provisioned }, templates, meta).get("README.md")!;
    expect(selfHosted).toContain("`https://mcp.example.com/mcp`");
    expect(selfHosted).toContain("application domain `mcp.example.com`");
    expect(selfHosted).not.toContain("srv.acme.workers.dev");
    expect(selfHosted).toMatch(/custom domain `mcp\.example\.com`/);
    const saas = render({ ...base, lang, auth: "saas", domain: "mcp.example.com", provisioned }, templates, meta).get("README.md")!;
    expect(saas).toContain("redirect URL `https://mcp.example.com/callback`");
    expect(saas).toContain("`https://mcp.example.com/mcp`");
    expect(saas).not.toContain("srv.acme.workers.dev");
    expect(saas).toMatch(/custom domain `mcp\.example\.com`/);
    for (const readme of [selfHosted, saas]) expect(readme).toContain("*Zone: Read* and *DNS: Read*");
  });

  it("a domain is stored in mcp-access.json with the rest of the answers", () => {
    expect(JSON.parse(render({ ...base, domain: "mcp.example.com" }, templates, meta).get("mcp-access.json")!).domain).toBe("mcp.example.com");
  });
});

describe("render", () => {
  it("produces the self-hosted project's files", () => {
    expect([...render(base, templates, meta).keys()].sort()).toEqual([
      ".dev.vars.example",
      ".gitignore",
      ".mcp-access/mcp-access.schema.json",
      "README.md",
      "dev/access-emulator.mjs",
      "mcp-access.json",
      "package.json",
      "src/access.ts",
      "src/groups.ts",
      "src/index.ts",
      "src/server.ts",
      "src/tool-gate.ts",
      "src/tool-rules.ts",
      "tsconfig.json",
      "wrangler.jsonc",
    ]);
  });

  it.each(combinations)("%s: output looks hand-written (no leftovers, no blank-line runs, no trailing spaces)", (_, config) => {
    for (const [path, text] of render(config, templates, meta)) {
      expect(text, path).not.toMatch(/\{\{|\}\}(?!\s*$)/m);
      expect(text, path).not.toMatch(/\n\n\n/);
      expect(text, path).not.toMatch(/[ \t]+$/m);
      expect(text.endsWith("\n") && !text.endsWith("\n\n"), path).toBe(true);
    }
  });

  it("produces the saas project's files, with the OAuth provider as a dependency", () => {
    const files = render({ ...base, auth: "saas" }, templates, meta);
    expect([...files.keys()].filter((path) => path.startsWith("src/")).sort()).toEqual([
      "src/access-oidc.ts",
      "src/auth.ts",
      "src/consent-page.ts",
      "src/index.ts",
      "src/refresh.ts",
      "src/server.ts",
      "src/tool-gate.ts",
      "src/tool-rules.ts",
    ]);
    expect(JSON.parse(files.get("package.json")!).dependencies).toHaveProperty("@cloudflare/workers-oauth-provider");
    expect(parseJsonc(files.get("wrangler.jsonc")!).kv_namespaces).toEqual([{ binding: "OAUTH_KV", id: expect.any(String) }]);
    expect(files.get("README.md")).toContain("`https://srv.<your-subdomain>.workers.dev/callback`");
    const selfHosted = render(base, templates, meta);
    expect(JSON.parse(selfHosted.get("package.json")!).dependencies).not.toHaveProperty("@cloudflare/workers-oauth-provider");
  });

  it("puts what provisioning recorded where the Worker needs it: POLICY_AUD, the OAUTH_KV id, the live URL", () => {
    const selfHosted = render(combo("self-hosted, provisioned"), templates, meta);
    expect(parseJsonc(selfHosted.get("wrangler.jsonc")!).vars).toEqual({ TEAM_DOMAIN: "https://acme.cloudflareaccess.com", POLICY_AUD: "f".repeat(64) });
    expect(selfHosted.get("README.md")).toContain("https://srv.acme-dev.workers.dev/mcp");
    expect(JSON.parse(selfHosted.get("mcp-access.json")!).provisioned).toEqual(combo("self-hosted, provisioned").provisioned);

    const saas = render(combo("saas, provisioned"), templates, meta);
    expect(parseJsonc(saas.get("wrangler.jsonc")!).kv_namespaces).toEqual([{ binding: "OAUTH_KV", id: "d".repeat(32) }]);
    expect(saas.get("README.md")).toContain("`https://srv.acme-dev.workers.dev/callback`");

    // Unprovisioned: placeholders the Worker refuses to run with.
    expect(parseJsonc(render(base, templates, meta).get("wrangler.jsonc")!).vars.POLICY_AUD).toBe("<your-access-app-aud>");
  });

  it("adds the downstream tools only when there are downstream apps, in both modes", () => {
    for (const auth of ["self-hosted", "saas"] as const) {
      const without = render({ ...base, auth }, templates, meta);
      expect(without.has("src/downstream.ts")).toBe(false);
      expect(without.get("src/server.ts")).not.toMatch(/downstream/i);
      const apps = [
        { name: "wiki", url: "https://wiki.example.com/api" },
        { name: "crm", url: "https://crm.example.com", accessApp: "CRM <prod> | `x`" },
      ];
      const files = render({ ...base, auth, downstreams: apps }, templates, meta);
      expect(files.get("src/downstreams.ts")).toContain('  {\n    name: "wiki",\n    url: "https://wiki.example.com/api",\n  },\n');
      expect(files.get("src/server.ts")).toContain("registerDownstreamTools(server, DOWNSTREAM_APPS, credential);");
      expect(files.get("src/index.ts")).toContain(auth === "saas" ? '"Authorization", value: `Bearer ${upstream.accessToken}`' : '"Cf-Access-Token", value: token');
      expect(files.get("README.md")).toContain("| `call_crm` | `https://crm.example.com` (Access application: CRM \\<prod\\> \\| \\`x\\`) |");
    }
  });

  it("puts the team and the placeholders where the Worker and the user expect them", () => {
    const withTeam = render(combo("with a team"), templates, meta);
    const vars = parseJsonc(withTeam.get("wrangler.jsonc")!).vars;
    expect(vars).toEqual({ TEAM_DOMAIN: "https://acme.cloudflareaccess.com", POLICY_AUD: "<your-access-app-aud>" });
    const without = parseJsonc(render(base, templates, meta).get("wrangler.jsonc")!).vars;
    expect(without.TEAM_DOMAIN).toBe("https://<your-team>.cloudflareaccess.com");
  });

  it("writes every answer into mcp-access.json, and nothing else", () => {
    const config = combo("with every access answer");
    const file = JSON.parse(render(config, templates, meta).get("mcp-access.json")!);
    // No tool rules and the default audit are left out (governance.test.ts has the file with them).
    const { tools: _, audit: __, ...answers } = config;
    expect(file).toEqual({ $schema: "./.mcp-access/mcp-access.schema.json", version: 1, ...answers });
  });

  it("lists who may sign in in the README", () => {
    const readme = render(combo("with every access answer"), templates, meta).get("README.md")!;
    expect(readme).toContain("`ada@example.com`, `grace@example.org`");
    expect(readme).toContain("`@example.com`");
    expect(readme).toContain("`github`, `okta`");
  });

  it.each(combinations)("%s: renders the same from a set that read only this config's templates", async (_, config) => {
    const only = await repoTemplates(config);
    expect(only.sources.size).toBeLessThan(templates.sources.size);
    expect(render(config, only, meta)).toEqual(render(config, templates, meta));
  });

  it("is pure: the same config renders the same files", () => {
    expect(render(base, templates, meta)).toEqual(render(base, templates, meta));
  });

  // Validation rejects these, but render must stay safe on its own (SPEC §7): a hostile value
  // lands as inert data in every context and every file still parses.
  const hostile = 'x"y\\z{{name}}\n</script>`${1}`\u2028';
  it("escapes a hostile value in JSON, JSONC, TypeScript and Markdown", async () => {
    const files = render({ ...base, name: hostile, team: hostile }, templates, meta);
    expect(JSON.parse(files.get("package.json")!).name).toBe(hostile);
    expect(parseJsonc(files.get("wrangler.jsonc")!).name).toBe(hostile);
    expect(parseJsonc(files.get("wrangler.jsonc")!).vars.TEAM_DOMAIN).toBe(hostile);
    expect(JSON.parse(files.get("mcp-access.json")!).name).toBe(hostile);
    const server = files.get("src/server.ts")!;
    const literal = /new McpServer\(\{ name: (".*?(?<!\\)"), version/.exec(server)![1]!;
    expect(JSON.parse(literal)).toBe(hostile);
    const ts = await import("typescript");
    const diagnostics = ts.transpileModule(server, { reportDiagnostics: true }).diagnostics ?? [];
    expect(diagnostics.map((d) => d.messageText)).toEqual([]);
    const readme = files.get("README.md")!;
    // One heading line; braces, tags and backticks escaped so Markdown shows them as typed.
    expect(readme.split("\n")[0]).toBe("# x\"y\\\\z\\{\\{name\\}\\} \\</script\\>\\`$\\{1\\}\\`\u2028");
  });
});

describe("the shipped JSON Schema", () => {
  it("accepts every mcp-access.json the generator writes, and rejects what validation rejects", async () => {
    const { Ajv2020 } = await import("ajv/dist/2020.js");
    const ajv = new Ajv2020({ strict: false });
    const validate = ajv.compile(JSON.parse(templates.schema));
    for (const [name, config] of combinations) {
      const file = JSON.parse(render(config, templates, meta).get("mcp-access.json")!);
      expect(validate(file), `${name}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
    expect(validate({ version: 1, name: "Bad Name", auth: "self-hosted" })).toBe(false);
    expect(validate({ version: 1, name: "srv", auth: "oauth" })).toBe(false);
    expect(validate({ version: 1, name: "srv", auth: "saas", teams: "typo" })).toBe(false);
  });
});
