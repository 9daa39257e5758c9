import * as fsp from "node:fs/promises";
import { join } from "node:path";
import { createFsFromVolume, Volume } from "memfs";
import { beforeAll, describe, expect, it } from "vitest";
import type { Config } from "../../src/config/config.js";
import { UsageError } from "../../src/errors.js";
import type { FileSystem } from "../../src/fs.js";
import { render } from "../../src/render/render.js";
import { loadTemplateFolder } from "../../src/render/template-check.js";
import type { TemplateSet } from "../../src/render/templates.js";
import { configWith, renderMeta, repoTemplates } from "../support/memory.js";
import { repoRoot } from "../support/processes.js";

/** A third-party template in memory, at /t, checked as `--template` checks it. */
function load(files: Record<string, string>, options: { links?: Record<string, string>; dirs?: string[] } = {}) {
  const volume = Volume.fromJSON({ "/schema.json": "{}", ...Object.fromEntries(Object.entries(files).map(([path, text]) => [join("/t", path), text])) }, "/");
  volume.mkdirSync("/t", { recursive: true });
  for (const dir of options.dirs ?? []) volume.mkdirSync(join("/t", dir), { recursive: true });
  for (const [path, target] of Object.entries(options.links ?? {})) {
    volume.mkdirSync(join("/t", path, ".."), { recursive: true });
    volume.symlinkSync(target, join("/t", path));
  }
  return loadTemplateFolder(createFsFromVolume(volume).promises as unknown as FileSystem, "/t", "/schema.json", '"test-source"');
}

/** The problems load() reports: it must fail with a UsageError naming the source. */
async function problemsOf(files: Record<string, string>, options?: Parameters<typeof load>[1]): Promise<string[]> {
  const error = await load(files, options).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error, "the template was accepted").toBeInstanceOf(UsageError);
  expect((error as UsageError).message).toMatch(/^The template "test-source" cannot be used \(\d+ problems?\); nothing was written\. Fix these in the template/);
  expect((error as UsageError).exitCode).toBe(2);
  return (error as UsageError).details;
}

const manifest = (files: unknown[], extra: Record<string, unknown> = {}) => JSON.stringify({ files, ...extra });
const entry = (path: string, more: Record<string, unknown> = {}) => ({ path, template: "a.hbs", ...more });

const base = configWith();
const meta = renderMeta;

describe("a template that passes", () => {
  it("renders its files, with partials, conditions and raw files", async () => {
    const templates = await load({
      "manifest.json": JSON.stringify({
        $schema: "https://example.com/whatever.json",
        partials: { intro: "parts/intro.hbs", "readme/footer": "parts/footer.hbs" },
        files: [
          { path: "README.md", template: "README.md.hbs" },
          { path: "saas.txt", template: "saas.txt.hbs", when: { auth: "saas" } },
          { path: "apps.txt", template: "apps.txt.hbs", when: { downstreams: true } },
          { path: "src/raw.ts", template: "raw.ts", raw: true, when: { lang: "ts" } },
          { path: "ci.yml", template: "ci.yml.hbs", when: { feature: "ci" } },
        ],
      }),
      "README.md.hbs": "# {{md name}}\n\n{{> intro}}\n{{#*inline \"local\"}}inline partial{{/inline}}{{> local}}\n{{> readme/footer}}\n",
      "parts/intro.hbs": "Serves `{{code mcpUrl}}` ({{auth}}).\n",
      "parts/footer.hbs": "Made by create-mcp-access {{generatorVersion}}.",
      "saas.txt.hbs": "saas only",
      "apps.txt.hbs": "{{#each downstreams}}{{name}}={{url}}\n{{/each}}",
      "raw.ts": "export const x = { a: `{{not rendered}}` };\n",
      "ci.yml.hbs": "ci",
    });
    expect(templates.origin).toBe('"test-source"');
    const files = render(base, templates, meta);
    expect([...files.keys()].sort()).toEqual([".mcp-access/mcp-access.schema.json", "README.md", "mcp-access.json", "src/raw.ts"]);
    expect(files.get("README.md")).toBe(
      "# srv\n\nServes `https://srv.<your-subdomain>.workers.dev/mcp` (self-hosted).\ninline partial\nMade by create-mcp-access 0.1.0.\n",
    );
    expect(files.get("src/raw.ts")).toBe("export const x = { a: `{{not rendered}}` };\n");
    const saas = render({ ...base, auth: "saas", downstreams: [{ name: "wiki", url: "https://wiki.example.com" }] }, templates, meta);
    expect(saas.get("saas.txt")).toBe("saas only\n");
    expect(saas.get("apps.txt")).toBe("wiki=https://wiki.example.com\n");
  });

  it("the bundled templates, checked as a third-party template, render exactly what they render bundled", async () => {
    const checked = await loadTemplateFolder(fsp as unknown as FileSystem, join(repoRoot, "templates"), join(repoRoot, "schema", "mcp-access.schema.json"), "bundled");
    const bundled = await repoTemplates();
    const everything: Config = {
      ...base,
      auth: "saas",
      downstreams: [{ name: "wiki", url: "https://wiki.example.com" }],
      features: ["tests", "ci", "lint", "examples"],
    };
    for (const config of [base, everything, { ...everything, auth: "self-hosted" as const }]) {
      expect(render(config, checked, meta)).toEqual(render(config, bundled, meta));
    }
  });
});

describe("a template that does not pass: every problem at once, naming the file and the fix", () => {
  it("no manifest.json", async () => {
    expect(await problemsOf({ "README.md.hbs": "x" })).toEqual([expect.stringMatching(/^there is no manifest.json at the top of the template folder/)]);
  });

  it("a manifest.json that is not JSON", async () => {
    expect(await problemsOf({ "manifest.json": "{ nope" })).toEqual([expect.stringMatching(/^manifest.json is not valid JSON: /)]);
  });

  it("a manifest.json that is a link or a folder", async () => {
    expect(await problemsOf({ "a.hbs": "x" }, { links: { "manifest.json": "/etc/hostname" } })).toEqual([
      expect.stringMatching(/^manifest.json is a symbolic link: a template is read without following links/),
    ]);
    expect(await problemsOf({}, { dirs: ["manifest.json"] })).toEqual(["manifest.json is not a regular file"]);
  });

  it.each([
    ["an array", "[]", /^manifest.json must be an object/],
    ["a string", '"files"', /^manifest.json must be an object/],
    ["no files", "{}", /"files" must be a non-empty list/],
    ["an empty list of files", '{ "files": [] }', /"files" must be a non-empty list/],
    ["files that is not a list", '{ "files": { "path": "a" } }', /"files" must be a non-empty list/],
  ])("a manifest of the wrong shape: %s", async (_, text, message) => {
    expect(await problemsOf({ "manifest.json": text, "a.hbs": "x" })).toEqual([expect.stringMatching(message)]);
  });

  it("unknown keys at the top, in an entry, and entries that are not objects", async () => {
    const problems = await problemsOf({
      "manifest.json": manifest([entry("a.txt", { wehn: { auth: "saas" } }), "b.txt", null], { partial: {} }),
      "a.hbs": "x",
    });
    expect(problems).toEqual([
      'manifest.json: unknown key "partial" (known: $schema, partials, files)',
      'manifest.json: files[0] ("a.txt"): unknown key "wehn" (known: path, template, when, raw)',
      'manifest.json: files[1] must be an object: { "path": …, "template": … }',
      'manifest.json: files[2] must be an object: { "path": …, "template": … }',
    ]);
  });

  it.each([
    ["absolute", "/etc/cron.d/evil", /"path" "\/etc\/cron.d\/evil" is absolute/],
    ["a Windows drive", "C:/evil", /"path" "C:\/evil" is absolute/],
    ["..", "../evil", /"path" "..\/evil" contains "..": it must stay inside the project/],
    [".. further in", "src/../../evil", /contains "\.\."/],
    ["a backslash", "src\\..\\..\\evil", /contains a backslash/],
    ["NUL", "a\u0000b", /contains a NUL character/],
    ["a newline", "a\nb", /contains a control character/],
    ["an empty part", "src//a.ts", /has an empty or "." part/],
    ["a . part", "./a.ts", /has an empty or "." part/],
    ["empty", "", /"path" must be a non-empty string/],
    ["not a string", 42, /"path" must be a non-empty string/],
    ["mcp-access.json", "mcp-access.json", /must not be mcp-access.json or inside .mcp-access\/: create-mcp-access writes those itself/],
    ["MCP-ACCESS.JSON (a case-insensitive disk)", "MCP-ACCESS.JSON", /must not be mcp-access.json or inside .mcp-access\//],
    ["the snapshot", ".mcp-access/generated/src/index.ts.snapshot", /must not be mcp-access.json or inside .mcp-access\//],
    ["the tool's folder, another case", ".MCP-Access/x", /must not be mcp-access.json or inside .mcp-access\//],
    ["git's folder", ".git/hooks/pre-commit", /must not be inside .git\//],
  ])("an output path that is %s", async (_, path, message) => {
    const problems = await problemsOf({ "manifest.json": manifest([{ path, template: "a.hbs" }]), "a.hbs": "x" });
    expect(problems).toEqual([expect.stringMatching(message)]);
    expect(problems[0]).toMatch(/^manifest.json: files\[0\]/);
  });

  it.each([
    ["an unknown key", { colour: "red" }, 'unknown condition "when.colour" (known: auth, lang, feature, downstreams, packageManager, governed, toolRules, groups, rateLimits, audit)'],
    ["an unknown auth mode", { auth: "oauth" }, '"when.auth" is "oauth", which is not one of: "self-hosted", "saas"'],
    ["an unknown language", { lang: "py" }, '"when.lang" is "py", which is not one of: "ts", "js"'],
    ["an unknown feature", { feature: "docker" }, '"when.feature" is "docker", which is not one of: "tests", "ci", "lint", "examples"'],
    ["a list of features", { feature: ["ci"] }, '"when.feature" is ["ci"], which is not one of: "tests", "ci", "lint", "examples"'],
    ["downstreams as a string", { downstreams: "yes" }, '"when.downstreams" is "yes", which is not one of: true, false'],
    ["an unknown package manager", { packageManager: "deno" }, '"when.packageManager" is "deno", which is not one of: "npm", "pnpm", "yarn", "bun"'],
    ["a prototype key", JSON.parse('{ "__proto__": "x" }'), 'unknown condition "when.__proto__" (known: auth, lang, feature, downstreams, packageManager, governed, toolRules, groups, rateLimits, audit)'],
  ])("a condition with %s", async (_, when, message) => {
    expect(await problemsOf({ "manifest.json": manifest([entry("a.txt", { when })]), "a.hbs": "x" })).toEqual([`manifest.json: files[0] ("a.txt"): ${message}`]);
  });

  it("when that is not an object, raw that is not a boolean", async () => {
    expect(await problemsOf({ "manifest.json": manifest([entry("a.txt", { when: "saas", raw: "yes" })]), "a.hbs": "x" })).toEqual([
      'manifest.json: files[0] ("a.txt"): "raw" must be true or false',
      'manifest.json: files[0] ("a.txt"): "when" must be an object, like { "auth": "saas" }',
    ]);
  });

  it.each([
    ["outside the folder", "../outside.hbs", /"template" "..\/outside.hbs" contains "..": it must stay inside the template folder/],
    ["absolute", "/etc/passwd", /"template" "\/etc\/passwd" is absolute/],
    ["with a backslash", "..\\outside.hbs", /"template" .* contains a backslash/],
  ])("a template file %s", async (_, template, message) => {
    expect(await problemsOf({ "manifest.json": manifest([{ path: "a.txt", template }]) })).toEqual([expect.stringMatching(message)]);
  });

  it("template files that are missing, links (to a file or on the way), or folders", async () => {
    const problems = await problemsOf(
      {
        "manifest.json": manifest([
          { path: "a.txt", template: "missing.hbs" },
          { path: "b.txt", template: "link.hbs" },
          { path: "c.txt", template: "linked/inside.hbs" },
          { path: "d.txt", template: "folder", raw: true },
          { path: "e.txt", template: "file.hbs/below.hbs" },
        ]),
        "file.hbs": "x",
        "real/inside.hbs": "x",
      },
      { links: { "link.hbs": "/etc/passwd", linked: "/t/real" }, dirs: ["folder"] },
    );
    expect(problems).toEqual([
      "missing.hbs is listed in manifest.json, but there is no such file in the template",
      "link.hbs is a symbolic link: a template is read without following links; put the file itself there",
      "linked/inside.hbs is in linked, which is a symbolic link: a template is read without following links; put the file itself there",
      "folder is not a regular file",
      "file.hbs/below.hbs is in file.hbs, which is a file, not a folder",
    ]);
  });

  it("partials: not an object, bad names, paths outside, missing files", async () => {
    expect(await problemsOf({ "manifest.json": manifest([entry("a.txt")], { partials: ["x"] }), "a.hbs": "x" })).toEqual([
      'manifest.json: "partials" must be an object of partial name → template file',
    ]);
    const problems = await problemsOf({
      "manifest.json": JSON.stringify({
        partials: JSON.parse('{ "__proto__": "p.hbs", "two words": "p.hbs", "up": "../p.hbs", "gone": "gone.hbs", "ok": "p.hbs" }'),
        files: [entry("a.txt")],
      }),
      "a.hbs": "{{> ok}}",
      "p.hbs": "partial",
    });
    expect(problems).toEqual([
      'manifest.json: partial "__proto__": a partial\'s name is letters, digits, - and _, in /-separated parts that start with a letter',
      'manifest.json: partial "two words": a partial\'s name is letters, digits, - and _, in /-separated parts that start with a letter',
      'manifest.json: partial "up": "../p.hbs" contains "..": it must stay inside the template folder',
      "gone.hbs is listed in manifest.json, but there is no such file in the template",
    ]);
  });

  it("a template or partial that does not compile: which file, which line", async () => {
    const problems = await problemsOf({
      "manifest.json": manifest([entry("a.txt", { template: "a.hbs" }), entry("b.txt", { template: "b.hbs" }), entry("c.txt", { template: "c.hbs", raw: true })], {
        partials: { p: "p.hbs" },
      }),
      "a.hbs": "line one\nline two {{ oops\n",
      "b.hbs": "one\n{{#if saas}}\nthree\n{{/each}}\n",
      "c.hbs": "{{ raw files are not compiled",
      "p.hbs": "\n\n{{foo bar=}}",
    });
    expect(problems).toEqual([
      "p.hbs, line 3: Expecting 'OPEN_SEXPR', 'ID', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', got 'CLOSE', at\n      {{foo bar=}}\n      ----------^",
      expect.stringMatching(/^a.hbs, line 2: Expecting .*got 'EOF', at\n\s+\.\.\.neline two \{\{ oops\n\s+-+\^$/),
      "b.hbs, line 2: if doesn't match each",
    ]);
  });

  it("a partial a template uses that the manifest does not list, or whose name is computed", async () => {
    const problems = await problemsOf({
      "manifest.json": manifest([entry("a.txt")], { partials: { known: "p.hbs" } }),
      "a.hbs": '{{> known}}\n{{> unknown}}\n{{#> "block"}}fallback{{/"block"}}\n{{> (lookup . "name")}}\n{{> @partial-block}}',
      "p.hbs": "{{> constructor}}",
    });
    expect(problems).toEqual([
      'p.hbs, line 1: uses the partial "constructor", which manifest.json "partials" does not list',
      'a.hbs, line 2: uses the partial "unknown", which manifest.json "partials" does not list',
      'a.hbs, line 3: uses the partial "block", which manifest.json "partials" does not list',
      "a.hbs, line 4: a partial's name must be written out ({{> name}}), not computed",
    ]);
  });

  it("reports every problem of a template at once", async () => {
    const problems = await problemsOf({
      "manifest.json": manifest([
        { path: "../evil", template: "nope.hbs", when: { auth: "x", colour: "red" } },
        { path: ".mcp-access/x", template: "bad.hbs" },
        { path: "ok.txt", template: "link.hbs", raw: true },
      ]),
      "bad.hbs": "{{#if x}}{{/each}}",
    }, { links: { "link.hbs": "/etc/passwd" } });
    expect(problems).toHaveLength(7);
  });
});

describe("rendering a template that passed", () => {
  const oneFile = (path: string, text: string) => load({ "manifest.json": manifest([{ path, template: "a.hbs" }]), "a.hbs": text });

  it("a name the view does not have, or a helper that does not exist: exit 2 naming the template, the file and the line", async () => {
    const misspelt = await oneFile("README.md", "# {{name}}\n{{nmae}}\n");
    expect(() => render(base, misspelt, meta)).toThrow(UsageError);
    expect(() => render(base, misspelt, meta)).toThrow(/^The template "test-source" failed to render README.md/);
    try {
      render(base, misspelt, meta);
    } catch (error) {
      expect((error as UsageError).details).toEqual(['a.hbs: line 2: "nmae" not defined in [object Object]']);
    }
    // A helper that does not exist is found before anything renders: only ours are known (compileOptions).
    await expect(oneFile("README.md", "{{shout name}}")).rejects.toThrow(
      expect.objectContaining({ details: ['a.hbs, line 1: there is no helper "shout": a template can use json, scriptJson, md, code, eq and Handlebars\' own (if, unless, each, with, lookup)'] }),
    );
  });

  it("a JSON file that does not parse once rendered", async () => {
    const templates = await oneFile("config.json", '{ "name": {{name}} }');
    expect(() => render(base, templates, meta)).toThrow(UsageError);
    expect(() => render(base, templates, meta)).toThrow(/failed to render config.json/);
  });

  it("cannot reach prototypes: constructor and __proto__ render as nothing", async () => {
    const templates = await oneFile("a.txt", '[{{constructor}}] [{{lookup this "constructor"}}] [{{__proto__}}] [{{access.constructor}}]');
    expect(render(base, templates, meta).get("a.txt")).toBe("[] [] [] []\n");
  });
});

let bundled: TemplateSet;
beforeAll(async () => {
  bundled = await repoTemplates();
});

describe("the bundled templates", () => {
  it("have no origin: a failure in them is a bug, not a usage error", () => {
    expect(bundled.origin).toBeUndefined();
  });
});
