import { join } from "node:path";
import { parse as parseJsonc } from "jsonc-parser";
import { beforeAll, describe, expect, it } from "vitest";
import { createdInMemory, recordingUi, repoTemplates } from "../support/memory.js";
import { parseArgv } from "../../src/answers/args.js";
import { regenerate, type RegenerateContext } from "../../src/commands/regenerate.js";
import { Cancelled, ConflictError, UsageError } from "../../src/errors.js";
import type { TemplateSet } from "../../src/render/templates.js";

let templates: TemplateSet;
beforeAll(async () => {
  templates = await repoTemplates();
});

/** A project made by create in memory, and regenerate run on it. */
async function harness() {
  const said: string[] = [];
  const ui = recordingUi(said);
  const { volume, fs, root } = await createdInMemory(["--auth", "self-hosted", "--team", "acme", "--allow-domain", "example.com"], templates, ui);
  said.length = 0;
  const ctx = (overrides: Partial<RegenerateContext> = {}): RegenerateContext => ({
    cwd: root,
    env: {},
    fs,
    ui,
    print: (text) => said.push(text),
    loadTemplates: async () => templates,
    generatorVersion: "0.1.0",
    ...overrides,
  });
  const run = (...argv: string[]) => regenerate(parseArgv(["regenerate", ...argv]), ctx());
  const read = (path: string) => volume.readFileSync(join(root, path), "utf8") as string;
  const write = (path: string, text: string) => volume.writeFileSync(join(root, path), text);
  const edit = (path: string, from: string | RegExp, to: string) => {
    const text = read(path);
    const edited = text.replace(from, to);
    if (edited === text) throw new Error(`edit of ${path} changed nothing`);
    write(path, edited);
  };
  const tree = () => volume.toJSON(root);
  const output = () => said.join("\n");
  return { volume, fs, ctx, run, read, write, edit, tree, output, said, root };
}

describe("regenerate in memory", () => {
  it("changes nothing on a fresh project, however often it runs", async () => {
    const h = await harness();
    const before = h.tree();
    expect(await h.run()).toBe(0);
    expect(await h.run()).toBe(0);
    expect(h.tree()).toEqual(before);
    expect(h.output()).toMatch(/srv is up to date with mcp-access.json: nothing to change/);
  });

  it("a custom domain added to mcp-access.json, then changed, then removed: wrangler.jsonc and the README follow, the user's edits stay", async () => {
    const h = await harness();
    h.edit("wrangler.jsonc", '"minify": true', '"minify": false');
    h.edit("mcp-access.json", '"lang": "ts"', '"lang": "ts", "domain": "MCP.example.com"');
    expect(await h.run("--yes")).toBe(0);
    const wrangler = () => parseJsonc(h.read("wrangler.jsonc"));
    expect(wrangler()).toMatchObject({ minify: false, workers_dev: false, preview_urls: false, routes: [{ pattern: "mcp.example.com", custom_domain: true }] });
    expect(h.read("README.md")).toContain("`https://mcp.example.com/mcp`");

    h.edit("mcp-access.json", '"domain": "MCP.example.com"', '"domain": "tools.example.org"');
    expect(await h.run("--yes")).toBe(0);
    expect(wrangler().routes).toEqual([{ pattern: "tools.example.org", custom_domain: true }]);
    expect(h.read("README.md")).toContain("`https://tools.example.org/mcp`");
    expect(h.read("README.md")).not.toContain("mcp.example.com");

    h.edit("mcp-access.json", ', "domain": "tools.example.org"', "");
    expect(await h.run("--yes")).toBe(0);
    expect(wrangler()).not.toHaveProperty("routes");
    expect(wrangler()).not.toHaveProperty("workers_dev");
    expect(wrangler()).toMatchObject({ minify: false, preview_urls: false });
    expect(h.read("README.md")).not.toContain("tools.example.org");
  });

  it("switches the auth mode (self-hosted → saas) and keeps the tool the user added", async () => {
    const h = await harness();
    h.edit(
      "src/server.ts",
      "  return server;\n}",
      '  server.registerTool("ping", { description: "Replies pong." }, async () => ({ content: [{ type: "text", text: "pong" }] }));\n\n  return server;\n}',
    );
    h.edit("mcp-access.json", '"auth": "self-hosted"', '"auth": "saas"');
    expect(await h.run()).toBe(0);
    const tree = h.tree();
    // The saas files arrive, the self-hosted-only verifier goes (it was never edited).
    expect(Object.keys(tree)).toEqual(expect.arrayContaining(["/work/srv/src/auth.ts", "/work/srv/src/access-oidc.ts", "/work/srv/src/consent-page.ts"]));
    expect(tree).not.toHaveProperty("/work/srv/src/access.ts");
    const server = h.read("src/server.ts");
    expect(server).toContain('import type { AccessIdentity } from "./access-oidc";');
    expect(server).toContain('server.registerTool("ping"');
    expect(JSON.parse(h.read("package.json")).dependencies).toHaveProperty("@cloudflare/workers-oauth-provider");
    expect(h.read("wrangler.jsonc")).toContain('"binding": "OAUTH_KV"');
    expect(h.read("wrangler.jsonc")).not.toContain("POLICY_AUD");
    expect(await h.run("--check")).toBe(0);
  });

  const pingTool = '  server.registerTool("ping", { description: "Replies pong." }, async () => ({ content: [{ type: "text", text: "pong" }] }));\n\n  return server;\n}';
  const files = (h: { tree: () => Record<string, string | null> }, pattern: RegExp) =>
    Object.keys(h.tree())
      .map((path) => path.replace("/work/srv/", ""))
      .filter((path) => pattern.test(path))
      .sort();

  it('switches the language ("lang": "ts" → "js"): each TypeScript file gives way to its JavaScript twin, with the edits made to it', async () => {
    const h = await harness();
    h.edit("src/server.ts", "  return server;\n}", pingTool);
    h.edit("tsconfig.json", '"noEmit": true', '"noEmit": true,\n    "allowJs": true');
    h.edit("package.json", '"dev": "node dev/access-emulator.mjs",', '"dev": "node dev/access-emulator.mjs",\n    "hello": "echo hello",');
    h.write("src/tools.ts", "export const mine = 1;\n");
    h.edit("mcp-access.json", '"lang": "ts"', '"lang": "js"');
    expect(await h.run()).toBe(0);

    expect(files(h, /^src\/|config\.json$/)).toEqual([
      "jsconfig.json",
      "src/access.js",
      "src/groups.js",
      "src/index.js",
      "src/server.js",
      "src/tool-gate.js",
      "src/tool-rules.js",
      "src/tools.ts",
      "test/jsconfig.json",
    ]);
    // The tests feature's files (on by default) go the same way.
    expect(files(h, /^test\/|^vitest/)).toEqual([
      "test/access.js",
      "test/audit.test.js",
      "test/auth.test.js",
      "test/groups.test.js",
      "test/jsconfig.json",
      "test/mcp.js",
      "test/network.js",
      "test/tokens.js",
      "test/tool-gate.test.js",
      "vitest.config.js",
    ]);
    const server = h.read("src/server.js");
    expect(server).toContain('/** @import { AccessIdentity } from "./access" */');
    expect(server).toContain("export function createServer(identity, gate) {");
    expect(server).toContain('server.registerTool("ping"');
    expect(JSON.parse(h.read("package.json"))).toMatchObject({ scripts: { hello: "echo hello" } });
    expect(JSON.parse(h.read("package.json")).scripts).not.toHaveProperty("typecheck");
    expect(JSON.parse(h.read("package.json")).devDependencies).not.toHaveProperty("typescript");
    expect(h.read("jsconfig.json")).toMatch(/"checkJs": true[\s\S]*"allowJs": true|"allowJs": true[\s\S]*"checkJs": true/);
    expect(h.read("wrangler.jsonc")).toContain('"main": "src/index.js"');
    // The snapshot follows: the new files' renders, the old ones' entries gone.
    expect(files(h, /^\.mcp-access\/generated\/(src\/|[tj]sconfig)/)).toEqual([
      ".mcp-access/generated/jsconfig.json.snapshot",
      ".mcp-access/generated/src/access.js.snapshot",
      ".mcp-access/generated/src/groups.js.snapshot",
      ".mcp-access/generated/src/index.js.snapshot",
      ".mcp-access/generated/src/server.js.snapshot",
      ".mcp-access/generated/src/tool-gate.js.snapshot",
      ".mcp-access/generated/src/tool-rules.js.snapshot",
    ]);
    expect(h.read(".mcp-access/generated/src/server.js.snapshot")).not.toContain("ping");
    expect(h.output()).toMatch(/deleted +src\/server\.ts +\(replaced by src\/server\.js, your edits with it\)/);
    expect(h.output()).toMatch(/merged +src\/server\.js +\(your edits to src\/server\.ts carried over: check that they are JavaScript\)/);
    expect(h.output()).toMatch(/deleted +src\/access\.ts +\(replaced by src\/access\.js\)/);
    expect(h.output()).toMatch(/created +src\/access\.js +\(replaces src\/access\.ts\)/);
    expect(await h.run("--check")).toBe(0);

    // And back: the same files in TypeScript, the tool still there.
    h.edit("mcp-access.json", '"lang": "js"', '"lang": "ts"');
    expect(await h.run()).toBe(0);
    expect(files(h, /^src\/|config\.json$/)).toEqual([
      "src/access.ts",
      "src/groups.ts",
      "src/index.ts",
      "src/server.ts",
      "src/tool-gate.ts",
      "src/tool-rules.ts",
      "src/tools.ts",
      "test/tsconfig.json",
      "tsconfig.json",
    ]);
    expect(h.read("src/server.ts")).toContain('import type { AccessIdentity } from "./access";');
    expect(h.read("src/server.ts")).toContain('server.registerTool("ping"');
    expect(JSON.parse(h.read("package.json")).scripts).toMatchObject({ hello: "echo hello", typecheck: expect.any(String) });
    expect(await h.run("--check")).toBe(0);
  });

  it("switching the language, an edit the switch also changes is a conflict in the new file (exit 3); a deleted file stays deleted", async () => {
    const h = await harness();
    h.edit("src/server.ts", "export function createServer(identity: AccessIdentity, gate: ToolGate): McpServer {", "export function createServer(identity: AccessIdentity, gate: ToolGate, tag = \"v1\"): McpServer {");
    h.volume.unlinkSync(join(h.root, "src/access.ts"));
    h.edit("mcp-access.json", '"lang": "ts"', '"lang": "js"');
    expect(await h.run()).toBe(3);
    expect(h.volume.existsSync(join(h.root, "src/server.ts"))).toBe(false);
    const server = h.read("src/server.js");
    expect(server).toMatch(/<<<<<<< yours\n[\s\S]*export function createServer\(identity: AccessIdentity, gate: ToolGate, tag = "v1"\): McpServer \{\n[\s\S]*=======\n[\s\S]*export function createServer\(identity, gate\) \{\n>>>>>>> generated now\n/);
    expect(h.output()).toMatch(/conflict +src\/server\.js +\(1 conflict: marked in the file; your edits to src\/server\.ts carried over: check that they are JavaScript\)/);
    expect(h.volume.existsSync(join(h.root, "src/access.js"))).toBe(false);
    expect(h.output()).toMatch(/kept +src\/access\.js +\(you deleted src\/access\.ts: it stays deleted\)/);
    expect(h.read(".mcp-access/generated/src/access.js.snapshot")).toContain("export async function verifyAccessJwt(token, config)");
    await expect(h.run()).rejects.toMatchObject({ exitCode: 3, details: ["src/server.js"] });
  });

  it("switching the language, a file of the user's with the new name is left alone (and so is the TypeScript one they edited)", async () => {
    const h = await harness();
    h.write("src/index.js", "// mine\n");
    h.edit("src/server.ts", "  return server;\n}", pingTool);
    h.edit("mcp-access.json", '"lang": "ts"', '"lang": "js"');
    expect(await h.run()).toBe(0);
    expect(h.read("src/index.js")).toBe("// mine\n");
    expect(h.output()).toMatch(/kept +src\/index\.js +\(a file of yours has this name/);
    // index.ts was not edited: it goes, as any file no longer generated.
    expect(h.volume.existsSync(join(h.root, "src/index.ts"))).toBe(false);
    expect(h.read("src/server.js")).toContain('server.registerTool("ping"');
  });

  it("adds a downstream app: its tool arrives and the user's own tool stays", async () => {
    const h = await harness();
    h.edit(
      "src/server.ts",
      "  return server;\n}",
      '  server.registerTool("ping", { description: "Replies pong." }, async () => ({ content: [{ type: "text", text: "pong" }] }));\n\n  return server;\n}',
    );
    h.edit("mcp-access.json", '"downstreams": []', '"downstreams": [{ "name": "wiki", "url": "https://wiki.example.com/api" }]');
    expect(await h.run()).toBe(0);
    expect(h.read("src/downstreams.ts")).toContain('    name: "wiki",\n    url: "https://wiki.example.com/api",\n');
    const server = h.read("src/server.ts");
    expect(server).toContain("registerDownstreamTools(server, DOWNSTREAM_APPS, credential);");
    expect(server).toContain('server.registerTool("ping"');
    expect(h.read("src/index.ts")).toContain("createServer(identity, credential, gate)");
    expect(h.read("README.md")).toContain("## Downstream apps");
    expect(await h.run("--check")).toBe(0);
  });

  it("turns features on and off, keeping the user's script and tool", async () => {
    const h = await harness();
    h.edit("package.json", '"deploy": "wrangler deploy",', '"deploy": "wrangler deploy",\n    "seed": "node seed.mjs",');
    h.edit(
      "src/server.ts",
      "  return server;\n}",
      '  server.registerTool("ping", { description: "Replies pong." }, async () => ({ content: [{ type: "text", text: "pong" }] }));\n\n  return server;\n}',
    );
    const features = JSON.parse(h.read("mcp-access.json")).features as string[];
    h.edit("mcp-access.json", `"features": ${JSON.stringify(features, null, 2).replace(/\n/g, "\n  ")}`, '"features": ["ci", "lint", "examples"]');
    const code = await h.run();
    expect(code, h.output() + h.read("src/server.ts")).toBe(0);
    const on = h.tree();
    for (const file of ["biome.json", ".github/workflows/ci.yml", "src/examples.ts"]) expect(on, file).toHaveProperty(`/work/srv/${file}`);
    const scripts = JSON.parse(h.read("package.json")).scripts;
    expect(scripts).toMatchObject({ seed: "node seed.mjs", lint: "biome check", format: "biome check --write" });
    expect(h.read("src/server.ts")).toMatch(/registerExamples\(server, identity\);[\s\S]*"ping"/);

    // Off again: the feature files go (never edited), the user's script and tool stay.
    h.edit("mcp-access.json", '"features": ["ci", "lint", "examples"]', '"features": []');
    expect(await h.run()).toBe(0);
    const off = h.tree();
    for (const file of ["biome.json", ".github/workflows/ci.yml", "src/examples.ts"]) expect(off, file).not.toHaveProperty(`/work/srv/${file}`);
    expect(JSON.parse(h.read("package.json")).scripts).toHaveProperty("seed");
    expect(JSON.parse(h.read("package.json")).scripts).not.toHaveProperty("lint");
    expect(h.read("src/server.ts")).not.toMatch(/examples/i);
    expect(h.read("src/server.ts")).toContain('"ping"');
  });

  it("adds and removes each part of who may call what (rules, rate limits, audit), keeping the user's tool and rule", async () => {
    const h = await harness();
    const config = () => JSON.parse(h.read("mcp-access.json")) as Record<string, unknown>;
    const writeConfig = (more: Record<string, unknown>, drop: string[] = []) => {
      const next = { ...config(), ...more };
      for (const key of drop) delete next[key];
      h.write("mcp-access.json", `${JSON.stringify(next, null, 2)}\n`);
    };
    // The default: the audit on, so the gate is there, with an empty rule table.
    expect(h.read("src/server.ts")).toContain("gateTools(server, gate);");
    expect(h.read("src/tool-rules.ts")).toContain("// none yet");
    h.edit("src/server.ts", "  return server;\n}", pingTool);
    h.edit("src/tool-rules.ts", "  ...FROM_CONFIG,\n", '  ...FROM_CONFIG,\n  ping: { emails: ["ops@example.com"] },\n');

    // Rules and a rate limit: the table and wrangler.jsonc get them, the user's tool and rule stay.
    writeConfig({ tools: { whoami: { allow: { groups: ["admins"] } } }, rateLimit: { limit: 30, period: 10 } });
    expect(await h.run(), h.output()).toBe(0);
    expect(h.read("src/tool-rules.ts")).toMatch(/whoami: \{ emails: \[\], domains: \[\], groups: \["admins"\] \}[\s\S]*ping: \{ emails: \["ops@example\.com"\] \},/);
    expect(h.read("wrangler.jsonc")).toMatch(/"name": "RATE_LIMIT", "namespace_id": "\d+", "simple": \{ "limit": 30, "period": 10 \}/);
    expect(h.read("src/index.ts")).toContain("all: { binding: env.RATE_LIMIT, limit: 30, period: 10 },");
    expect(h.read("src/server.ts")).toContain('"ping"');

    // All off: the gate's files go, the server has no gate, the user's tool stays; their rule table was
    // edited, so it stays too, and regenerate says so.
    writeConfig({ audit: false }, ["tools", "rateLimit"]);
    expect(await h.run(), h.output()).toBe(0);
    const off = h.tree();
    expect(off).not.toHaveProperty("/work/srv/src/tool-gate.ts");
    expect(off).not.toHaveProperty("/work/srv/src/groups.ts");
    expect(h.read("wrangler.jsonc")).not.toContain("ratelimits");
    expect(h.read("src/server.ts")).not.toMatch(/gate/i);
    expect(h.read("src/server.ts")).toContain('"ping"');
    expect(h.read("src/index.ts")).not.toMatch(/TOOL_RULES|gate/);

    // And the audit back on: the gate returns.
    writeConfig({}, ["audit"]);
    expect(await h.run(), h.output()).toBe(0);
    expect(h.read("src/server.ts")).toContain("gateTools(server, gate);");
    expect(h.read("src/server.ts")).toContain('"ping"');
    expect(h.tree()).toHaveProperty("/work/srv/src/tool-gate.ts");
  });

  it("brings a config change in and keeps the user's edits elsewhere", async () => {
    const h = await harness();
    h.edit("mcp-access.json", '"name": "srv"', '"name": "srv2"');
    h.edit("src/server.ts", "  return server;", "  // my own tools go here\n  return server;");
    h.edit("README.md", "## Deploy to Cloudflare", "## Notes\n\nMine.\n\n## Deploy to Cloudflare");
    expect(await h.run()).toBe(0);
    expect(h.read("src/server.ts")).toContain('new McpServer({ name: "srv2"');
    expect(h.read("src/server.ts")).toContain("// my own tools go here");
    expect(h.read("README.md")).toMatch(/^# srv2\n[\s\S]*## Notes\n\nMine\./);
    expect(JSON.parse(h.read("package.json")).name).toBe("srv2");
    expect(h.read(".mcp-access/generated/src/server.ts.snapshot")).not.toContain("my own tools");
    expect(h.output()).toMatch(/merged +src\/server\.ts +\(your edits kept\)/);
    // The user's config file is read, never rewritten.
    expect(h.read("mcp-access.json")).toContain('"name": "srv2"');
    expect(await h.run()).toBe(0);
    expect(h.output()).toMatch(/srv2 is up to date/);
  });

  it("writes conflicts, exits 3, refuses the next run until they are resolved, unless --force", async () => {
    const h = await harness();
    h.edit("mcp-access.json", '"name": "srv"', '"name": "srv2"');
    h.edit("README.md", /^# srv$/m, "# My server");
    expect(await h.run()).toBe(3);
    expect(h.read("README.md")).toMatch(/^<<<<<<< yours\n# My server\n\|{7} generated before\n# srv\n={7}\n# srv2\n>{7} generated now\n/);
    expect(h.output()).toMatch(/conflict +README\.md +\(1 conflict: marked in the file\)/);
    expect(h.output()).toMatch(/conflicts in 1 file[\s\S]*README\.md/);

    const refusal = h.run();
    await expect(refusal).rejects.toThrow(ConflictError);
    await expect(h.run()).rejects.toMatchObject({ exitCode: 3, details: ["README.md"] });
    await expect(h.run("--check")).rejects.toThrow(ConflictError);
    expect(await h.run("--force")).toBe(0);
    expect(h.output()).toMatch(/warn: Regenerating with conflict markers still in README\.md \(--force\)/);

    h.edit("README.md", /^<<<<<<< yours\n# My server\n[\s\S]*?>>>>>>> generated now\n/, "# My server (srv2)\n");
    expect(await h.run()).toBe(0);
    expect(h.read("README.md")).toMatch(/^# My server \(srv2\)\n/);
  });

  it("keeps a deleted file deleted and says so", async () => {
    const h = await harness();
    h.volume.unlinkSync(join(h.root, ".dev.vars.example"));
    h.edit("mcp-access.json", '"team": "https://acme.cloudflareaccess.com"', '"team": "beta"');
    expect(await h.run()).toBe(0);
    expect(h.volume.existsSync(join(h.root, ".dev.vars.example"))).toBe(false);
    expect(h.output()).toMatch(/kept +\.dev\.vars\.example +\(you deleted it: it stays deleted\)/);
    expect(h.read(".mcp-access/generated/.dev.vars.example.snapshot")).toContain("TEAM_DOMAIN=https://beta.cloudflareaccess.com");
    expect(h.read("wrangler.jsonc")).toContain('"TEAM_DOMAIN": "https://beta.cloudflareaccess.com"');
  });

  it("--dry-run and --check write nothing; --check exits 1 on drift, 0 without", async () => {
    const h = await harness();
    expect(await h.run("--check")).toBe(0);
    h.edit("mcp-access.json", '"name": "srv"', '"name": "srv2"');
    const before = h.tree();
    expect(await h.run("--dry-run")).toBe(0);
    expect(await h.run("--check")).toBe(1);
    expect(h.tree()).toEqual(before);
    expect(h.output()).toContain('--- a/wrangler.jsonc\n+++ b/wrangler.jsonc\n@@ -1,7 +1,7 @@\n {\n   "$schema": "node_modules/wrangler/config-schema.json",\n-  "name": "srv",\n+  "name": "srv2",');
    expect(h.output()).toMatch(/differs from what mcp-access.json generates: run regenerate and commit the result. Nothing was written \(--check\)/);
  });

  it("is explained in the generated README, snapshot included", async () => {
    const h = await harness();
    expect(h.read("README.md")).toMatch(/## Changing your project later[\s\S]*npm run regenerate[\s\S]*<<<<<<< yours[\s\S]*\.mcp-access\/generated\/[\s\S]*Commit that\nfolder/);
  });

  it("asks before writing in a terminal, unless --yes", async () => {
    const h = await harness();
    h.edit("mcp-access.json", '"name": "srv"', '"name": "srv2"');
    const asked: string[] = [];
    const prompter = (answer: boolean) => ({
      confirm: async ({ message }: { message: string }) => (asked.push(message), answer),
      isCancel: () => false,
    });
    const before = h.tree();
    await expect(regenerate(parseArgv(["regenerate"]), h.ctx({ prompter: prompter(false) as never }))).rejects.toThrow(Cancelled);
    expect(h.tree()).toEqual(before);
    expect(await regenerate(parseArgv(["regenerate", "--yes"]), h.ctx({ prompter: prompter(false) as never }))).toBe(0);
    expect(asked).toEqual(["Apply these changes?"]);
    expect(h.read("package.json")).toContain('"name": "srv2"');
  });
});

describe("regenerate refuses bad input with exit 2, naming the value and the fix", () => {
  it("outside a project, pointing at the project root when it is above", async () => {
    const h = await harness();
    const inSrc = regenerate(parseArgv(["regenerate"]), h.ctx({ cwd: "/work/srv/src" }));
    await expect(inSrc).rejects.toThrow(UsageError);
    await expect(inSrc).rejects.toThrow("There is no mcp-access.json in /work/srv/src. regenerate runs in the project's root folder: cd /work/srv and run it there.");
    await expect(regenerate(parseArgv(["regenerate"]), h.ctx({ cwd: "/work" }))).rejects.toThrow(/root folder of a project made by create-mcp-access/);
  });

  it("an invalid value in mcp-access.json, with the key it is in", async () => {
    const h = await harness();
    h.edit("mcp-access.json", '"name": "srv"', '"name": "My Server"');
    await expect(h.run()).rejects.toMatchObject({ details: [expect.stringMatching(/^"name" in \/work\/srv\/mcp-access.json: "My Server" is not a valid Worker name/)] });
    h.write("mcp-access.json", '{ "version": 1, "auth": "self-hosted" }');
    await expect(h.run()).rejects.toMatchObject({ details: ['"name" in /work/srv/mcp-access.json: missing'] });
    h.write("mcp-access.json", "{ nope");
    await expect(h.run()).rejects.toThrow(/mcp-access.json" is not valid JSON/);
  });

  it("a custom domain that is not a bare hostname, with the key it is in and the fix; nothing written", async () => {
    const h = await harness();
    const before = h.read("wrangler.jsonc");
    for (const domain of ["https://mcp.example.com", "*.example.com", "srv.acme.workers.dev", "mcp.example.com:8443"]) {
      h.edit("mcp-access.json", /"lang": "ts"(, "domain": "[^"]*")?/, `"lang": "ts", "domain": ${JSON.stringify(domain)}`);
      await expect(h.run()).rejects.toMatchObject({ details: [expect.stringMatching(/^"domain" in \/work\/srv\/mcp-access.json: .*(bare hostname|workers\.dev host)/)] });
    }
    expect(h.read("wrangler.jsonc")).toBe(before);
  });

  it("answers given as flags: they belong in mcp-access.json", async () => {
    const h = await harness();
    await expect(h.run("--team", "beta")).rejects.toThrow(/regenerate takes its answers from mcp-access.json, not from --team: edit mcp-access.json/);
    // A new domain too: there it is kept for the next regenerate and provision, which read only that file.
    await expect(h.run("--domain", "new.example.com")).rejects.toThrow(/not from --domain: edit mcp-access.json/);
  });

  it("a missing or tampered snapshot, before writing anything", async () => {
    const h = await harness();
    h.edit("mcp-access.json", '"name": "srv"', '"name": "srv2"');
    h.volume.symlinkSync("/etc", join(h.root, ".mcp-access/generated/etc"));
    const before = h.tree();
    await expect(h.run()).rejects.toThrow(/etc is a symbolic link.*Nothing was changed/);
    expect(h.tree()).toEqual(before);
    h.volume.rmSync(join(h.root, ".mcp-access/generated"), { recursive: true });
    await expect(h.run()).rejects.toThrow(/There is no snapshot in \.mcp-access\/generated\/.*git checkout -- \.mcp-access\/generated/);
  });

  it("never follows a link in the project out of it", async () => {
    const h = await harness();
    h.volume.mkdirSync("/outside");
    h.volume.writeFileSync("/outside/server.ts", h.read("src/server.ts"));
    h.volume.rmSync(join(h.root, "src"), { recursive: true });
    h.volume.symlinkSync("/outside", join(h.root, "src"));
    h.edit("mcp-access.json", '"name": "srv"', '"name": "srv2"');
    expect(await h.run()).toBe(0);
    expect(h.volume.readFileSync("/outside/server.ts", "utf8")).toContain('name: "srv"');
    expect(h.output()).toMatch(/kept +src\/server\.ts +\(not touched: src is a symbolic link; regenerate does not follow links\)/);
  });
});
