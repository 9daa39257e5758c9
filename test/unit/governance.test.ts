import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseArgv } from "../../src/answers/args.js";
import { parseConfigObject } from "../../src/answers/config-file.js";
import { askMissing, type Prompter, summarise } from "../../src/answers/prompts.js";
import { regenerate } from "../../src/commands/regenerate.js";
import { type Config, DEFAULT_AUDIT, toConfigFile } from "../../src/config/config.js";
import * as check from "../../src/config/validate.js";
import { UsageError } from "../../src/errors.js";
import type { FileSystem } from "../../src/fs.js";
import { helpText } from "../../src/help.js";
import { included } from "../../src/render/conditions.js";
import { rateLimitNamespaceId } from "../../src/render/governance-view.js";
import type { ManifestEntry } from "../../src/render/manifest.js";
import { render } from "../../src/render/render.js";
import { assembleTemplateSet, type TemplateSet } from "../../src/render/templates.js";
import { configWith, createdInMemory, recordingUi, renderMeta, repoTemplates } from "../support/memory.js";

let templates: TemplateSet;
beforeAll(async () => {
  templates = await repoTemplates();
});

const wiki = { name: "wiki", url: "https://wiki.example.com" };
/** Answers that pass validation, with `more` on top. */
const answers = (more: check.RawAnswers = {}): check.RawAnswers => ({ name: "srv", auth: "self-hosted", downstreams: [wiki], ...more });
/** The problems validation reports for `more`, as one text. */
function problems(more: check.RawAnswers, origins: check.Origins = {}): string {
  try {
    check.validateAnswers(answers(more), origins);
  } catch (error) {
    if (error instanceof UsageError) return [error.message, ...(error.details ?? [])].join("\n");
    throw error;
  }
  throw new Error("validation passed");
}

describe("tools: per-tool rules", () => {
  it("reads allow lists, each validated like access.emails and access.domains, missing lists empty", () => {
    const config = check.validateAnswers(
      answers({ tools: { call_wiki: { allow: { emails: ["Ada@Example.COM "], domains: ["@Example.org"], groups: [" wiki-editors ", "wiki-editors", "Ops"] } }, whoami: { allow: { groups: ["x"] } } } }),
    );
    expect(config.tools).toEqual({
      call_wiki: { allow: { emails: ["Ada@example.com"], domains: ["example.org"], groups: ["wiki-editors", "Ops"] } },
      whoami: { allow: { emails: [], domains: [], groups: ["x"] } },
    });
  });

  it("defaults: no tools, no rate limit, audit on with argument names", () => {
    const config = check.validateAnswers(answers());
    expect(config.tools).toEqual({});
    expect(config.rateLimit).toBeUndefined();
    expect(config.audit).toEqual({ arguments: "names" });
  });

  it.each([
    [{ call_wiki: { allow: {} } }, /tools\.call_wiki\.allow names no one: .*remove "allow" to open the tool to every signed-in user/],
    [{ call_wiki: { allow: { emails: [], groups: [] } } }, /tools\.call_wiki\.allow names no one/],
    [{ call_wiki: {} }, /tools\.call_wiki sets neither "allow" nor "rateLimit": remove the entry/],
    [{ call_wiki: { allow: { emails: ["nope"] } } }, /tools\.call_wiki\.allow\.emails: "nope" is not an email address/],
    [{ call_wiki: { allow: { emails: ["a@example.com", "A@EXAMPLE.com"] } } }, /tools\.call_wiki\.allow\.emails: "a@example.com" is given twice/],
    [{ call_wiki: { allow: { domains: ["https://example.com"] } } }, /tools\.call_wiki\.allow\.domains: "https:\/\/example.com" is not an email domain/],
    [{ call_wiki: { allow: { groups: [""] } } }, /tools\.call_wiki\.allow\.groups: "" is not an Access group name/],
    [{ call_wiki: { allow: { groups: ["a\nb"] } } }, /"a\\nb" is not an Access group name/],
    [{ call_wiki: { allow: { groups: ["x\u0085y"] } } }, /is not an Access group name/],
    [{ call_wiki: { allow: { groups: ["g".repeat(257)] } } }, /is not an Access group name.*at most 256/],
    [{ call_wiki: { allow: { groups: [7] } } }, /expected a string, got "7"/],
    [{ call_wiki: { allow: { group: ["x"] } } }, /unknown key "group" in tools\.call_wiki\.allow \(known: emails, domains, groups\)/],
    [{ call_wiki: { deny: {} } }, /unknown key "deny" in tools\.call_wiki \(known: allow, rateLimit\)/],
    [{ call_wiki: { rateLimit: { limit: 5, period: 30 } } }, /tools\.call_wiki\.rateLimit: period "30" is not allowed: use 10 or 60/],
    [["call_wiki"], /"call_wiki" is not <tool>=<who>/],
    ["call_wiki", /tools must be an object/],
  ])("refuses %j, naming the value and the fix", (tools, message) => {
    expect(problems({ tools })).toMatch(message);
  });

  it("accepts a group name with spaces and punctuation up to 256 characters", () => {
    expect(check.group("  Wiki Editors (EU), 2026 ")).toBe("Wiki Editors (EU), 2026");
    expect(check.group("g".repeat(256))).toBe("g".repeat(256));
  });

  it("refuses a tool the project does not generate: names it, the project's tools, and TOOL_RULES for a hand-written one", () => {
    const text = problems({ tools: { call_wik: { allow: { emails: ["ada@example.com"] } } } }, { tools: '"tools" in ./mcp-access.json' });
    expect(text).toContain(
      '"tools" in ./mcp-access.json: "call_wik" is not a tool this project generates (its tools: whoami, call_wiki). ' +
        "To limit a tool you wrote yourself, add it to TOOL_RULES in src/tool-rules.ts.",
    );
  });

  it("names the JavaScript file in a JavaScript project, and only whoami without downstream apps", () => {
    const text = problems({ lang: "js", downstreams: [], tools: { call_wiki: { rateLimit: { limit: 1, period: 10 } } } });
    expect(text).toContain('"call_wiki" is not a tool this project generates (its tools: whoami). To limit a tool you wrote yourself, add it to TOOL_RULES in src/tool-rules.js.');
  });

  it.each(["__proto__", "constructor", "toString", "ping"])("refuses the tool name %j without touching a prototype", (tool) => {
    const { answers: raw, origins } = parseConfigObject(JSON.parse(`{"name": "srv", "auth": "saas", "tools": {"${tool}": {"allow": {"groups": ["g"]}}}}`), "./mcp-access.json");
    expect(() => check.validateAnswers(raw, origins)).toThrow(UsageError);
    expect(problems({ tools: raw.tools })).toContain(`${JSON.stringify(tool)} is not a tool this project generates`);
    expect(({} as Record<string, unknown>).allow).toBeUndefined();
  });

  it("quotes a tool name that is not a plain word, so no control character reaches the terminal", () => {
    const text = problems({ tools: { "x\u001b[31m": {} } });
    expect(text).toContain('tools."x\\u001b[31m" sets neither "allow" nor "rateLimit"');
    expect(text).not.toContain("\u001b");
  });

  it("does not list the project's tools when its downstream apps are themselves invalid", () => {
    const text = problems({ downstreams: ["nope"], tools: { call_wiki: { allow: { groups: ["g"] } } } });
    expect(text).toMatch(/--downstream: "nope" is not of the form name=url/);
    expect(text).not.toMatch(/is not a tool this project generates/);
  });
});

describe("rateLimit and audit", () => {
  it("reads a rate limit from a file or from --rate-limit", () => {
    expect(check.rateLimit({ limit: 60, period: 60 })).toEqual({ limit: 60, period: 60 });
    expect(check.rateLimit(" 5 / 10 ")).toEqual({ limit: 5, period: 10 });
    expect(check.rateLimit({ limit: 1_000_000, period: 10 })).toEqual({ limit: 1_000_000, period: 10 });
  });

  it.each([
    [{ limit: 60, period: 30 }, /period "30" is not allowed: use 10 or 60/],
    [{ limit: 60, period: "60" }, /period "60" is not allowed: use 10 or 60/],
    [{ limit: 60, period: 1 }, /10 or 60/],
    [{ limit: 60, period: 3600 }, /10 or 60/],
    ["60/30", /period "30" is not allowed: use 10 or 60/],
    ["60/1m", /period "1m" is not allowed/],
    [{ limit: 0, period: 60 }, /limit "0" is not a number of calls: give a whole number from 1 to 1000000/],
    [{ limit: 1.5, period: 60 }, /limit "1.5" is not a number of calls/],
    [{ limit: 1_000_001, period: 60 }, /limit "1000001"/],
    [{ limit: -1, period: 60 }, /limit "-1"/],
    ["0x10/60", /limit "0x10"/],
    [{ period: 60 }, /limit undefined|limit "undefined"/],
    [{ limit: 5 }, /period "undefined"/],
    [{ limit: 5, period: 60, burst: 2 }, /unknown key "burst" in a rate limit/],
    ["60", /"60" is not <limit>\/<period>: give one like "60\/60"/],
    ["60/60/60", /is not <limit>\/<period>/],
  ])("refuses %j", (value, message) => {
    expect(problems({ rateLimit: value })).toMatch(message);
  });

  it.each([
    [true, { arguments: "names" }],
    [false, false],
    [{ arguments: "hash" }, { arguments: "hash" }],
    [{ arguments: "names" }, { arguments: "names" }],
    [{}, { arguments: "names" }],
  ])("audit %j → %j", (value, expected) => {
    expect(check.validateAnswers(answers({ audit: value })).audit).toEqual(expected);
  });

  it.each([
    ["hash", /"hash" is not an audit setting: use true, false or \{"arguments": "names" \| "hash"\}/],
    [{ arguments: "values" }, /audit\.arguments "values" is not one of: names .*hash/],
    [{ arguments: "hash", salt: "x" }, /unknown key "salt" in audit/],
    [null, /is not an audit setting/],
  ])("refuses audit %j", (value, message) => {
    expect(problems({ audit: value })).toMatch(message);
  });
});

describe("mcp-access.json", () => {
  const full: Config = configWith({
    downstreams: [wiki],
    tools: {
      call_wiki: { allow: { emails: ["ada@example.com"], domains: [], groups: ["wiki-editors"] }, rateLimit: { limit: 10, period: 60 } },
      whoami: { rateLimit: { limit: 5, period: 10 } },
    },
    rateLimit: { limit: 60, period: 60 },
    audit: { arguments: "hash" },
  });

  it("writes tools (only the lists that name someone), rateLimit and a non-default audit, and reads them back the same", () => {
    const file = toConfigFile(full);
    expect(file).toMatchObject({
      tools: { call_wiki: { allow: { emails: ["ada@example.com"], groups: ["wiki-editors"] }, rateLimit: { limit: 10, period: 60 } }, whoami: { rateLimit: { limit: 5, period: 10 } } },
      rateLimit: { limit: 60, period: 60 },
      audit: { arguments: "hash" },
    });
    expect((file.tools as Record<string, { allow?: object }>).call_wiki!.allow).not.toHaveProperty("domains");
    const { answers: raw, origins } = parseConfigObject(JSON.parse(JSON.stringify(file)), "mcp-access.json");
    expect(check.validateAnswers(raw, origins)).toEqual(full);
  });

  it("leaves out what is the default: no tools, no rate limit, audit on with names", () => {
    const file = toConfigFile(configWith());
    expect(Object.keys(file)).not.toEqual(expect.arrayContaining(["tools"]));
    expect(file).not.toHaveProperty("tools");
    expect(file).not.toHaveProperty("rateLimit");
    expect(file).not.toHaveProperty("audit");
    expect(toConfigFile(configWith({ audit: false }))).toHaveProperty("audit", false);
  });

  it("names the key in the file a problem comes from", () => {
    const { answers: raw, origins } = parseConfigObject({ name: "srv", auth: "saas", rateLimit: { limit: 5, period: 15 } }, "./mcp-access.json");
    expect(() => check.validateAnswers(raw, origins)).toThrow(
      expect.objectContaining({ details: ['"rateLimit" in ./mcp-access.json: period "15" is not allowed: use 10 or 60 (seconds; the platform counts over no other period)'] }),
    );
  });

  it("the shipped JSON Schema accepts what the generator writes and refuses what validation refuses", async () => {
    const { Ajv2020 } = await import("ajv/dist/2020.js");
    const validate = new Ajv2020({ strict: false }).compile(JSON.parse(templates.schema));
    const base = { version: 1, name: "srv", auth: "saas" };
    expect(validate(JSON.parse(render(full, templates, renderMeta).get("mcp-access.json")!)), JSON.stringify(validate.errors)).toBe(true);
    for (const audit of [true, false, { arguments: "names" }, { arguments: "hash" }]) expect(validate({ ...base, audit })).toBe(true);
    for (const bad of [
      { rateLimit: { limit: 5, period: 30 } },
      { rateLimit: { limit: 0, period: 60 } },
      { rateLimit: { limit: 1.5, period: 60 } },
      { rateLimit: { limit: 5 } },
      { tools: { call_wiki: { allow: {} } } },
      { tools: { call_wiki: {} } },
      { tools: { call_wiki: { allow: { group: ["x"] } } } },
      { tools: { call_wiki: { rateLimit: { limit: 5, period: 5 } } } },
      { tools: { "not a tool": { allow: { groups: ["x"] } } } },
      { tools: { call_wiki: { allow: { groups: [""] } } } },
      { audit: "hash" },
      { audit: { arguments: "values" } },
    ]) {
      expect(validate({ ...base, ...bad }), JSON.stringify(bad)).toBe(false);
    }
  });
});

describe("flags", () => {
  it("--allow-tool (repeatable, adding up per tool), --rate-limit, --audit-arguments", () => {
    const args = parseArgv([
      "srv",
      "--allow-tool",
      "call_wiki=ada@example.com",
      "--allow-tool",
      "call_wiki=@example.org,group:wiki-editors",
      "--allow-tool",
      "whoami=group:Admins",
      "--rate-limit",
      "60/60",
      "--audit-arguments",
      "hash",
    ]);
    expect(args.origins).toMatchObject({ tools: "--allow-tool", rateLimit: "--rate-limit", audit: "--audit-arguments" });
    const config = check.validateAnswers({ ...answers(), ...args.answers }, args.origins);
    expect(config.tools).toEqual({
      call_wiki: { allow: { emails: ["ada@example.com"], domains: ["example.org"], groups: ["wiki-editors"] } },
      whoami: { allow: { emails: [], domains: [], groups: ["Admins"] } },
    });
    expect(config.rateLimit).toEqual({ limit: 60, period: 60 });
    expect(config.audit).toEqual({ arguments: "hash" });
  });

  it("--no-audit turns the audit off; --audit turns it on; with --audit-arguments it is a contradiction", () => {
    expect(check.validateAnswers({ ...answers(), ...parseArgv(["--no-audit"]).answers }).audit).toBe(false);
    expect(parseArgv(["--no-audit"]).origins.audit).toBe("--no-audit");
    expect(check.validateAnswers({ ...answers({ audit: false }), ...parseArgv(["--audit"]).answers }).audit).toEqual(DEFAULT_AUDIT);
    expect(() => parseArgv(["--no-audit", "--audit-arguments", "hash"])).toThrow(/--no-audit turns the audit log off, so --audit-arguments has nothing to apply to/);
  });

  it.each([
    [["--allow-tool", "call_wiki=wiki-editors"], /--allow-tool: "call_wiki=wiki-editors": "wiki-editors" is neither an email, an @domain nor group:<name> \(for a group, write "group:wiki-editors"\)/],
    [["--allow-tool", "call_wiki="], /--allow-tool: "call_wiki=" is not <tool>=<who>/],
    [["--allow-tool", "=ada@example.com"], /is not <tool>=<who>/],
    [["--allow-tool", "call_wiki=group:"], /"call_wiki=group:": "" is not an Access group name/],
    [["--allow-tool", "call_wiki=ada@"], /"call_wiki=ada@": "ada@" is not an email address/],
    [["--allow-tool", "call_wiki=ada@example.com", "--allow-tool", "call_wiki=ada@example.com"], /"ada@example.com" is given twice/],
    [["--allow-tool", "call_wik=ada@example.com"], /--allow-tool: "call_wik" is not a tool this project generates \(its tools: whoami, call_wiki\)/],
    [["--rate-limit", "60/15"], /--rate-limit: period "15" is not allowed: use 10 or 60/],
    [["--audit-arguments", "values"], /--audit-arguments: audit\.arguments "values" is not one of/],
  ])("%j is refused, naming the flag and the value", (argv, message) => {
    const args = parseArgv(argv);
    expect(problems(args.answers, args.origins)).toMatch(message);
  });

  it("create writes them into mcp-access.json; invalid ones write nothing (exit 2)", async () => {
    const { volume } = await createdInMemory(
      ["--auth", "saas", "--team", "acme", "--allow-domain", "example.com", "--downstream", "wiki=https://wiki.example.com", "--allow-tool", "call_wiki=group:eng", "--rate-limit", "30/10", "--no-audit"],
      templates,
      recordingUi([]),
    );
    expect(JSON.parse(volume.readFileSync("/work/srv/mcp-access.json", "utf8") as string)).toMatchObject({
      tools: { call_wiki: { allow: { groups: ["eng"] } } },
      rateLimit: { limit: 30, period: 10 },
      audit: false,
    });
    await expect(createdInMemory(["--auth", "saas", "--allow-tool", "call_nope=group:eng", "--yes"], templates, recordingUi([]))).rejects.toMatchObject({
      exitCode: 2,
    });
  });

  it("--help and the README describe them", async () => {
    const help = helpText("0.0.0");
    expect(help).toMatch(/--allow-tool <tool>=<who> +limit a tool/);
    expect(help).toMatch(/group:<Access group>/);
    expect(help).toMatch(/--rate-limit <limit>\/<period> +per user/);
    expect(help).toMatch(/--no-audit +/);
    expect(help).toMatch(/--audit-arguments <names\|hash> +/);
    const { readFile } = await import("node:fs/promises");
    const readme = await readFile(join(__dirname, "../../README.md"), "utf8");
    for (const flag of ["--allow-tool", "--rate-limit", "--no-audit", "--audit-arguments"]) expect(readme).toContain(`\`${flag}`);
  });
});

/** Renders one extra template over `config` and returns what it wrote, parsed. */
async function viewOf(config: Config): Promise<Record<string, unknown>> {
  const set = await withExtra(templates, [{ path: "view.json", template: "test/view.json.hbs" }], {
    "test/view.json.hbs":
      '{"governed": {{json governed}}, "audit": {{json audit}}, "auditHash": {{json auditHash}}, "toolRules": {{json toolRules}}, ' +
      '"usesGroups": {{json usesGroups}}, "rateLimits": {{json rateLimits}}, "rateLimit": {{json rateLimit}} }\n',
  });
  return JSON.parse(render(config, set, renderMeta).get("view.json")!);
}

/** `base` with more manifest entries and their templates (kept in memory: the bundled ones are the lead's). */
function withExtra(base: TemplateSet, entries: ManifestEntry[], sources: Record<string, string>): Promise<TemplateSet> {
  return assembleTemplateSet([...base.files, ...entries], new Map([...base.sources, ...Object.entries(sources)]), base.partials, base.schema, {});
}

describe("what templates see", () => {
  const governed = configWith({
    name: "payroll",
    downstreams: [wiki, { name: "hr_db", url: "https://hr.example.com" }],
    tools: {
      whoami: { rateLimit: { limit: 5, period: 10 } },
      call_wiki: { allow: { emails: ["ada@example.com"], domains: [], groups: ["wiki-editors"] }, rateLimit: { limit: 10, period: 60 } },
      call_hr_db: { allow: { emails: [], domains: ["example.com"], groups: [] } },
    },
    rateLimit: { limit: 60, period: 60 },
    audit: { arguments: "hash" },
  });

  it("flat names: rules sorted by tool, the top-level limit first then each tool's by name, stable namespace ids", async () => {
    const view = await viewOf(governed);
    const id = (binding: string) => rateLimitNamespaceId("payroll", binding);
    expect(view).toEqual({
      governed: true,
      audit: true,
      auditHash: true,
      toolRules: [
        { tool: "call_hr_db", emails: [], domains: ["example.com"], groups: [] },
        { tool: "call_wiki", emails: ["ada@example.com"], domains: [], groups: ["wiki-editors"] },
      ],
      usesGroups: true,
      rateLimits: [
        { binding: "RATE_LIMIT", namespaceId: id("RATE_LIMIT"), limit: 60, period: 60, tool: null },
        { binding: "RATE_LIMIT_CALL_WIKI", namespaceId: id("RATE_LIMIT_CALL_WIKI"), limit: 10, period: 60, tool: "call_wiki" },
        { binding: "RATE_LIMIT_WHOAMI", namespaceId: id("RATE_LIMIT_WHOAMI"), limit: 5, period: 10, tool: "whoami" },
      ],
      rateLimit: { binding: "RATE_LIMIT", limit: 60, period: 60 },
    });
  });

  it("without any of it: audit on (names), nothing else", async () => {
    expect(await viewOf(configWith())).toEqual({ governed: true, audit: true, auditHash: false, toolRules: [], usesGroups: false, rateLimits: [], rateLimit: null });
    expect(await viewOf(configWith({ audit: false }))).toMatchObject({ governed: false, audit: false, auditHash: false });
    expect(await viewOf(configWith({ audit: false, tools: { whoami: { rateLimit: { limit: 1, period: 10 } } } }))).toMatchObject({
      governed: true,
      rateLimit: null,
      rateLimits: [expect.objectContaining({ binding: "RATE_LIMIT_WHOAMI", tool: "whoami" })],
    });
  });

  it("namespace ids: FNV-1a of <worker>:<binding>, decimal, in 1000…2147483647, the same at every render, different per Worker and binding", () => {
    // FNV-1a 32 of "a:b" is 0x08bd8540, of "payroll:RATE_LIMIT" 0x05398482 (computed apart, in Python): 1000 + each modulo (2147483647 - 999).
    expect(rateLimitNamespaceId("a", "b")).toBe("146639144");
    expect(rateLimitNamespaceId("payroll", "RATE_LIMIT")).toBe("87656554");
    const ids = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const id = rateLimitNamespaceId(`worker-${i}`, i % 2 ? "RATE_LIMIT" : "RATE_LIMIT_CALL_WIKI");
      expect(id).toMatch(/^[1-9][0-9]*$/);
      expect(Number(id)).toBeGreaterThanOrEqual(1000);
      expect(Number(id)).toBeLessThanOrEqual(2_147_483_647);
      ids.add(id);
    }
    expect(ids.size).toBe(2000);
    expect(rateLimitNamespaceId("payroll", "RATE_LIMIT")).toBe(rateLimitNamespaceId("payroll", "RATE_LIMIT"));
    expect(rateLimitNamespaceId("payroll", "RATE_LIMIT")).not.toBe(rateLimitNamespaceId("payroll2", "RATE_LIMIT"));
  });

  it("when keys: governed, toolRules, groups, rateLimits, audit", () => {
    const entry = (when: ManifestEntry["when"]): ManifestEntry => ({ path: "x", template: "x", when });
    const plain = configWith();
    const off = configWith({ audit: false });
    const emailRule = configWith({ audit: false, downstreams: [wiki], tools: { call_wiki: { allow: { emails: ["a@example.com"], domains: [], groups: [] } } } });
    const groupRule = configWith({ downstreams: [wiki], tools: { call_wiki: { allow: { emails: [], domains: [], groups: ["g"] } } } });
    const toolLimit = configWith({ audit: false, tools: { whoami: { rateLimit: { limit: 1, period: 10 } } } });
    const topLimit = configWith({ audit: false, rateLimit: { limit: 1, period: 60 } });
    const table: [Config, Record<"governed" | "toolRules" | "groups" | "rateLimits" | "audit", boolean>][] = [
      [plain, { governed: true, toolRules: false, groups: false, rateLimits: false, audit: true }],
      [off, { governed: false, toolRules: false, groups: false, rateLimits: false, audit: false }],
      [emailRule, { governed: true, toolRules: true, groups: false, rateLimits: false, audit: false }],
      [groupRule, { governed: true, toolRules: true, groups: true, rateLimits: false, audit: true }],
      [toolLimit, { governed: true, toolRules: false, groups: false, rateLimits: true, audit: false }],
      [topLimit, { governed: true, toolRules: false, groups: false, rateLimits: true, audit: false }],
    ];
    for (const [config, facts] of table) {
      for (const [key, value] of Object.entries(facts)) {
        expect(included(entry({ [key]: value }), config), `${key}: ${value}`).toBe(true);
        expect(included(entry({ [key]: !value }), config), `${key}: ${!value}`).toBe(false);
      }
    }
  });

  it("a --template may use the new keys; wrong values are named", async () => {
    const { loadTemplateFolder } = await import("../../src/render/template-check.js");
    const { createFsFromVolume, Volume } = await import("memfs");
    const manifest = {
      files: [
        { path: "a.txt", template: "a.txt", when: { governed: true, toolRules: false, groups: false, rateLimits: true, audit: true } },
        { path: "b.txt", template: "a.txt", when: { groups: "yes" } },
      ],
    };
    const volume = Volume.fromJSON({ "/t/manifest.json": JSON.stringify(manifest), "/t/a.txt": "a", "/schema.json": "{}" }, "/");
    const fs = createFsFromVolume(volume).promises as unknown as FileSystem;
    await expect(loadTemplateFolder(fs, "/t", "/schema.json", "./t")).rejects.toMatchObject({
      details: ['manifest.json: files[1] ("b.txt"): "when.groups" is "yes", which is not one of: true, false'],
    });
  });
});

describe("the interactive question, after the downstream apps", () => {
  /** A prompter that answers from a script, in order, and records what it was asked. */
  function scripted(script: unknown[]) {
    const asked: string[] = [];
    const next = (kind: string) => async (options: { message: string; validate?: (value: string) => string | undefined }) => {
      asked.push(`${kind}: ${options.message}`);
      const answer = script.shift();
      if (kind === "text" && options.validate) {
        const problem = options.validate(answer as string);
        if (problem) return `invalid: ${problem}`;
      }
      return answer;
    };
    const prompter = { text: next("text"), select: next("select"), multiselect: next("multiselect"), confirm: next("confirm"), note: () => {}, isCancel: () => false };
    return { prompter: prompter as unknown as Prompter, asked };
  }
  const given = { name: "srv", auth: "saas", team: "acme", emails: ["ada@example.com"], idps: [], clients: ["claude"], lang: "ts", features: [] };

  it("asks which tools and who may call each, checked like --allow-tool", async () => {
    const { prompter, asked } = scripted([true, "wiki", "https://wiki.example.com", "", false, true, ["call_wiki", "whoami"], "ada@example.com, @example.org, group:wiki-editors", "group:admins"]);
    const { answers: filled } = await askMissing(prompter, given, "srv");
    expect(asked.slice(5)).toEqual([
      "confirm: Limit some tools to certain people or groups?",
      "multiselect: Which tools? (space to toggle, enter to accept)",
      "text: Who may call call_wiki? Emails, @domains and group:names, comma-separated",
      "text: Who may call whoami? Emails, @domains and group:names, comma-separated",
    ]);
    expect(check.validateAnswers(filled).tools).toEqual({
      call_wiki: { allow: { emails: ["ada@example.com"], domains: ["example.org"], groups: ["wiki-editors"] } },
      whoami: { allow: { emails: [], domains: [], groups: ["admins"] } },
    });
  });

  it("no (the default) leaves every tool open, and a bad answer is explained with the flag's rule", async () => {
    const { prompter } = scripted([false, false]);
    expect((await askMissing(prompter, given, "srv")).answers.tools).toBeUndefined();
    const bad = scripted([false, true, ["whoami"], "wiki-editors"]);
    const { answers: filled } = await askMissing(bad.prompter, given, "srv");
    expect(filled.tools).toEqual([expect.stringMatching(/^whoami=invalid: .*"wiki-editors" is neither an email, an @domain nor group:<name>/)]);
  });

  it("the summary before creating shows the rules, the audit and the rate limit", () => {
    const config = check.validateAnswers(
      answers({ tools: { call_wiki: { allow: { emails: ["ada@example.com"], groups: ["eng"] }, rateLimit: { limit: 5, period: 10 } } }, rateLimit: "60/60", audit: { arguments: "hash" } }),
    );
    const text = summarise(config, "srv");
    expect(text).toMatch(/^tools {6}call_wiki → ada@example\.com, group:eng \(5 per 10 s\)$/m);
    expect(text).toMatch(/^audit {6}on \(arguments: hash\)$/m);
    expect(text).toMatch(/^rate limit 60 calls per 60 s per user$/m);
    expect(summarise(configWith({ audit: false }), "srv")).toMatch(/^tools {6}open to everyone who signs in\naudit {6}off$/m);
  });

  it("is not asked when --allow-tool answered it", async () => {
    const { prompter, asked } = scripted([false]);
    await askMissing(prompter, { ...given, tools: ["whoami=group:x"] }, "srv");
    expect(asked).toEqual(["confirm: Should the server call other Access-protected apps for the user (downstream apps)?"]);
  });
});

describe("regenerate", () => {
  /** The bundled templates and one file that shows the governance view, present only when the project is governed. */
  const governedTemplates = () =>
    withExtra(templates, [{ path: "src/governance.json", template: "test/governance.json.hbs", when: { governed: true } }, { path: "src/groups.txt", template: "test/groups.txt.hbs", when: { groups: true } }], {
      "test/governance.json.hbs": '{"audit": {{json audit}}, "auditHash": {{json auditHash}}, "toolRules": {{json toolRules}}, "rateLimits": {{json rateLimits}} }\n',
      "test/groups.txt.hbs": "groups\n",
    });

  async function project(argv: string[]) {
    const set = await governedTemplates();
    const { volume, fs, root } = await createdInMemory(["--auth", "self-hosted", "--team", "acme", "--allow-domain", "example.com", "--downstream", "wiki=https://wiki.example.com", ...argv], set, recordingUi([]));
    const said: string[] = [];
    const run = (...args: string[]) =>
      regenerate(parseArgv(["regenerate", "--yes", ...args]), { cwd: root, env: {}, fs, ui: recordingUi(said), print: (text) => said.push(text), loadTemplates: async () => set, generatorVersion: "0.1.0" });
    const read = (path: string) => volume.readFileSync(join(root, path), "utf8") as string;
    const has = (path: string) => volume.existsSync(join(root, path));
    const editConfig = (change: (file: Record<string, unknown>) => void) => {
      const file = JSON.parse(read("mcp-access.json"));
      change(file);
      volume.writeFileSync(join(root, "mcp-access.json"), JSON.stringify(file, null, 2));
    };
    return { run, read, has, editConfig, said };
  }

  it("adds and removes tools, rateLimit and audit edited in mcp-access.json", async () => {
    const p = await project(["--no-audit"]);
    expect(p.has("src/governance.json")).toBe(false);

    p.editConfig((file) => {
      file.tools = { call_wiki: { allow: { groups: ["eng"] }, rateLimit: { limit: 3, period: 10 } } };
      file.rateLimit = { limit: 60, period: 60 };
      file.audit = { arguments: "hash" };
    });
    expect(await p.run()).toBe(0);
    const shown = JSON.parse(p.read("src/governance.json"));
    expect(shown).toMatchObject({ audit: true, auditHash: true, toolRules: [{ tool: "call_wiki", groups: ["eng"] }] });
    expect(shown.rateLimits.map((limit: { binding: string }) => limit.binding)).toEqual(["RATE_LIMIT", "RATE_LIMIT_CALL_WIKI"]);
    expect(p.has("src/groups.txt")).toBe(true);

    p.editConfig((file) => {
      delete file.tools;
      delete file.rateLimit;
    });
    expect(await p.run()).toBe(0);
    expect(JSON.parse(p.read("src/governance.json"))).toEqual({ audit: true, auditHash: true, toolRules: [], rateLimits: [] });
    expect(p.has("src/groups.txt")).toBe(false);

    p.editConfig((file) => {
      file.audit = false;
    });
    expect(await p.run()).toBe(0);
    expect(p.has("src/governance.json")).toBe(false);
  });

  it("keeps the namespace ids at every regenerate, so the counters are not reset", async () => {
    const p = await project(["--rate-limit", "10/60"]);
    const before = p.read("src/governance.json");
    expect(await p.run()).toBe(0);
    expect(p.read("src/governance.json")).toBe(before);
  });

  it("refuses an unknown tool in mcp-access.json (exit 2) and changes nothing", async () => {
    const p = await project([]);
    p.editConfig((file) => {
      file.tools = { call_wik: { allow: { groups: ["eng"] } } };
    });
    const error = await p.run().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).details.join("\n")).toMatch(/"tools" in .*mcp-access\.json: "call_wik" is not a tool this project generates \(its tools: whoami, call_wiki\)/);
    expect(JSON.parse(p.read("src/governance.json")).toolRules).toEqual([]);
  });

  it("takes the new answers from mcp-access.json, not from the flags, naming the flags given", async () => {
    const p = await project([]);
    await expect(p.run("--allow-tool", "whoami=group:x", "--rate-limit", "5/10", "--no-audit")).rejects.toThrow(
      /not from --allow-tool, --rate-limit, --no-audit: edit mcp-access.json/,
    );
  });
});
