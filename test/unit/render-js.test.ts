import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { transformSync } from "esbuild";
import { parse as parseJsonc } from "jsonc-parser";
import { Volume } from "memfs";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Config, Downstream } from "../../src/config/config.js";
import { FEATURES } from "../../src/config/options.js";
import { render } from "../../src/render/render.js";
import type { FileSystem } from "../../src/fs.js";
import { loadTemplates, type TemplateSet } from "../../src/render/templates.js";
import { configWith, renderMeta, repoTemplates } from "../support/memory.js";
import { repoRoot } from "../support/processes.js";

/**
 * `--lang js` (SPEC §3.2, §4.5): the same project in plain JavaScript, from the templates the build
 * derives from the TypeScript ones (scripts/js-templates.mjs; test/unit/setup.ts makes them).
 */
let templates: TemplateSet;
beforeAll(async () => {
  templates = await repoTemplates();
});
const meta = renderMeta;

const ts_ = configWith();
const wiki: Downstream = { name: "wiki", url: "https://wiki.example.com/api" };
const crm: Downstream = { name: "crm", url: "https://crm.example.com", accessApp: "CRM" };
const combinations: [string, Config][] = (["self-hosted", "saas"] as const).flatMap((auth) =>
  (
    [
      ["no downstream apps", []],
      ["one downstream app", [wiki]],
      ["two downstream apps", [wiki, crm]],
    ] as const
  ).map(([apps, downstreams]): [string, Config] => [`${auth}, ${apps}`, { ...ts_, auth, downstreams: [...downstreams], lang: "js" }]),
);
const asTypeScript = (config: Config): Config => ({ ...config, lang: "ts" });
const jsFiles = (files: Map<string, string>) => [...files].filter(([path]) => /\.m?js$/.test(path) && !path.startsWith("dev/"));

/** What in `code`, parsed as TypeScript, is TypeScript only: empty for plain JavaScript. */
function typeScriptOnlySyntax(code: string): string[] {
  const sf = ts.createSourceFile("x.ts", code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const tsOnlyModifiers = new Set([
    ts.SyntaxKind.PublicKeyword,
    ts.SyntaxKind.PrivateKeyword,
    ts.SyntaxKind.ProtectedKeyword,
    ts.SyntaxKind.ReadonlyKeyword,
    ts.SyntaxKind.OverrideKeyword,
    ts.SyntaxKind.AbstractKeyword,
    ts.SyntaxKind.DeclareKeyword,
  ]);
  const visit = (node: ts.Node) => {
    const what =
      // (`class A extends Error` has an ExpressionWithTypeArguments with none: plain JavaScript.)
      (ts.isTypeNode(node) && !(ts.isExpressionWithTypeArguments(node) && !node.typeArguments)) ||
      ts.isInterfaceDeclaration(node) ||
      ts.isTypeAliasDeclaration(node) ||
      ts.isEnumDeclaration(node) ||
      ts.isModuleDeclaration(node) ||
      ts.isAsExpression(node) ||
      ts.isSatisfiesExpression(node) ||
      ts.isNonNullExpression(node) ||
      ts.isTypeAssertionExpression(node) ||
      ts.isTypeParameterDeclaration(node) ||
      ts.isImportEqualsDeclaration(node) ||
      (ts.isImportDeclaration(node) && node.importClause?.isTypeOnly) ||
      (ts.isImportSpecifier(node) && node.isTypeOnly) ||
      (ts.isHeritageClause(node) && node.token === ts.SyntaxKind.ImplementsKeyword) ||
      ((ts.isPropertyDeclaration(node) || ts.isParameter(node)) && (node.questionToken || ("exclamationToken" in node && node.exclamationToken))) ||
      (ts.canHaveModifiers(node) && ts.getModifiers(node)?.some((modifier) => tsOnlyModifiers.has(modifier.kind)));
    if (what) found.push(`${ts.SyntaxKind[node.kind]}: ${node.getText(sf).slice(0, 60)}`);
    else ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

describe("--lang js", () => {
  it.each(combinations)("%s: every .js file is an ES module in plain JavaScript, with no template leftovers", (_, config) => {
    const files = render({ ...config, features: [...FEATURES] }, templates, meta);
    expect(jsFiles(files).length).toBeGreaterThan(0);
    for (const [path, code] of jsFiles(files)) {
      expect(() => transformSync(code, { loader: "js", format: "esm", sourcefile: path }), path).not.toThrow();
      expect(typeScriptOnlySyntax(code), path).toEqual([]);
      // `{{ a: T }}` is a JSDoc object type; `{{name}}` and the build's placeholders would be leftovers.
      expect(code, path).not.toMatch(/\{\{(?! )|(?<! )\}\}|@@HBS|@@TAG|\$HBS\d/);
      expect(code, path).not.toMatch(/\n\n\n|[ \t]+$/m);
      expect(code.endsWith("\n") && !code.endsWith("\n\n"), path).toBe(true);
    }
  });

  it.each(combinations)("%s: the TypeScript project's files, with .js for .ts and jsconfig.json for tsconfig.json (with no optional part and with all)", (_, base) => {
    for (const config of [base, { ...base, features: [...FEATURES] }]) {
      const js = [...render(config, templates, meta).keys()].sort();
      const fromTs = [...render(asTypeScript(config), templates, meta).keys()]
        .map((path) => path.replace(/(^|\/)tsconfig\.json$/, "$1jsconfig.json").replace(/^((?:src|test)\/.*|vitest\.config)\.ts$/, "$1.js"))
        .sort();
      expect(js).toEqual(fromTs);
      expect(js.filter((path) => path.endsWith(".ts"))).toEqual([]);
    }
  });

  it("differs from the TypeScript project's package.json only by the typecheck script and typescript, and runs src/index.js", () => {
    for (const [, config] of combinations) {
      const js = render(config, templates, meta);
      const tsFiles = render(asTypeScript(config), templates, meta);
      const jsPackage = JSON.parse(js.get("package.json")!);
      const tsPackage = JSON.parse(tsFiles.get("package.json")!);
      const { typecheck, ...scripts } = tsPackage.scripts;
      const { typescript, ...devDependencies } = tsPackage.devDependencies;
      expect(typecheck).toBeDefined();
      expect(typescript).toBeDefined();
      expect(jsPackage).toEqual({ ...tsPackage, scripts, devDependencies });
      expect(parseJsonc(js.get("wrangler.jsonc")!)).toEqual({ ...parseJsonc(tsFiles.get("wrangler.jsonc")!), main: "src/index.js" });
      const jsconfig = parseJsonc(js.get("jsconfig.json")!);
      expect(jsconfig.compilerOptions).toMatchObject({ checkJs: true, types: ["./worker-configuration.d.ts"] });
      expect(jsconfig.include).toContain("src");
    }
  });

  it("names the files with .js in the README and .gitignore, and no typecheck script", () => {
    for (const [, config] of combinations) {
      const files = render(config, templates, meta);
      const readme = files.get("README.md")!;
      for (const path of files.keys()) if (path.startsWith("src/")) expect(readme).toContain(`\`${path}\``);
      expect(readme).not.toMatch(/src\/[\w-]+\.ts\b|tsconfig|typecheck|tsc\b/);
      expect(readme).toContain("`jsconfig.json` are merged key by key");
      expect(readme).toContain("plain JavaScript with JSDoc types, which your editor checks through `jsconfig.json`");
      expect(render(asTypeScript(config), templates, meta).get("README.md")).not.toMatch(/JavaScript|jsconfig/);
      expect(files.get(".gitignore")).not.toMatch(/typecheck/);
    }
  });

  it.each(combinations)("%s: JSDoc gives the editor the types: a @typedef per TypeScript type, @param on every function parameter the TypeScript typed", (_, base) => {
    const config = { ...base, features: [...FEATURES] };
    const js = render(config, templates, meta);
    const tsFiles = render(asTypeScript(config), templates, meta);
    for (const [path, code] of jsFiles(js)) {
      const tsSource = ts.createSourceFile(path, tsFiles.get(path.replace(/\.js$/, ".ts"))!, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
      const jsSource = ts.createSourceFile(path, code, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
      const typedefs = new Set<string>();
      const params = new Map<string, string[]>();
      const walk = (node: ts.Node) => {
        for (const doc of (node as { jsDoc?: ts.JSDoc[] }).jsDoc ?? []) {
          for (const tag of doc.tags ?? []) if (ts.isJSDocTypedefTag(tag) && tag.name) typedefs.add(tag.name.getText(jsSource));
        }
        if (ts.isFunctionDeclaration(node) && node.name) {
          params.set(node.name.text, ts.getJSDocTags(node).filter(ts.isJSDocParameterTag).filter((tag) => tag.typeExpression).map((tag) => tag.name.getText(jsSource)));
        }
        ts.forEachChild(node, walk);
      };
      walk(jsSource);
      ts.forEachChild(tsSource, (node) => {
        if (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) expect(typedefs, `${path}: ${node.name.text}`).toContain(node.name.text);
        if (ts.isFunctionDeclaration(node) && node.name) {
          const typed = node.parameters.filter((parameter) => parameter.type).map((parameter) => parameter.name.getText(tsSource));
          expect(params.get(node.name.text), `${path}: ${node.name.text}`).toEqual(typed);
        }
      });
    }
  });

  it("writes a @param for a parameter only where the parameter exists, and imports the types JSDoc names", () => {
    for (const auth of ["self-hosted", "saas"] as const) {
      const without = render({ ...ts_, auth, lang: "js", audit: false }, templates, meta).get("src/server.js")!;
      expect(without).toContain("export function createServer(identity) {");
      expect(without).toContain("@param {AccessIdentity} identity");
      expect(without).not.toMatch(/credential|Downstream/);
      const access = auth === "saas" ? "./access-oidc" : "./access";
      expect(without).toContain(`/** @import { AccessIdentity } from "${access}" */`);
      const withApps = render({ ...ts_, auth, lang: "js", downstreams: [wiki], audit: false }, templates, meta).get("src/server.js")!;
      expect(withApps).toContain("export function createServer(identity, credential) {");
      expect(withApps).toMatch(/@param \{AccessIdentity\} identity\n \* @param \{DownstreamCredential\} credential\n/);
      expect(withApps).toContain(`/** @import { AccessIdentity } from "${access}" */\n/** @import { DownstreamCredential } from "./downstream" */\n`);
      // With the audit on (the default), the tool gate is the last parameter.
      const gated = render({ ...ts_, auth, lang: "js", downstreams: [wiki] }, templates, meta).get("src/server.js")!;
      expect(gated).toContain("export function createServer(identity, credential, gate) {");
      expect(gated).toMatch(/@param \{DownstreamCredential\} credential\n \* @param \{ToolGate\} gate\n/);
      expect(gated).toContain('/** @import { ToolGate } from "./tool-gate" */');
    }
    const saasIndex = render({ ...ts_, auth: "saas", lang: "js" }, templates, meta).get("src/index.js")!;
    expect(saasIndex).toContain("export default /** @satisfies {ExportedHandler<Env>} */ ({");
    expect(saasIndex).toContain('/** @import { AuthEnv, McpProps } from "./auth" */');
  });

  it("from a template set without the JavaScript twins (one not built here), renders TypeScript, and says why not JavaScript", async () => {
    const dir = join(repoRoot, "templates");
    const files: Record<string, string> = { "/schema.json": templates.schema };
    for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
      const path = join(entry.parentPath, entry.name);
      if (entry.isFile() && !path.startsWith(join(dir, "js"))) files[join("/t", path.slice(dir.length))] = readFileSync(path, "utf8");
    }
    const volume = Volume.fromJSON(files);
    const set = await loadTemplates(volume.promises as unknown as FileSystem, "/t", "/schema.json", { table: {} });
    expect(render(ts_, set, meta).get("src/index.ts")).toBe(render(ts_, templates, meta).get("src/index.ts"));
    expect(() => render({ ...ts_, lang: "js" }, set, meta)).toThrow(/js\/.* is listed but was not loaded \(the JavaScript version of a TypeScript template.*use --lang ts\)/);
  });

  // Validation rejects these, but render must stay safe on its own (SPEC §7), in JavaScript as in TypeScript.
  const hostile = 'x"y\\z{{name}}\n</script>`${1}`\u2028';
  it("escapes a hostile value in JavaScript as in TypeScript: inert data, and server.js still parses", () => {
    const files = render({ ...ts_, lang: "js", name: hostile, team: hostile }, templates, meta);
    const server = files.get("src/server.js")!;
    const literal = /new McpServer\(\{ name: (".*?(?<!\\)"), version/.exec(server)![1]!;
    expect(JSON.parse(literal)).toBe(hostile);
    expect(() => transformSync(server, { loader: "js", format: "esm" })).not.toThrow();
    expect(literal).toBe(/new McpServer\(\{ name: (".*?(?<!\\)"), version/.exec(render({ ...ts_, name: hostile, team: hostile }, templates, meta).get("src/server.ts")!)![1]);
    expect(parseJsonc(files.get("wrangler.jsonc")!).name).toBe(hostile);
    const saas = render({ ...ts_, auth: "saas", lang: "js", name: hostile }, templates, meta).get("src/server.js")!;
    expect(JSON.parse(/export const SERVER_NAME = (".*?(?<!\\)");/.exec(saas)![1]!)).toBe(hostile);
    expect(() => transformSync(saas, { loader: "js", format: "esm" })).not.toThrow();
  });
});

describe("--lang js and Biome", () => {
  const work = mkdtempSync(join(tmpdir(), "render-js-"));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const biome = join(repoRoot, "node_modules", ".bin", "biome");

  // What the lint feature's `npm run lint` (biome check) says about the JavaScript, with every
  // optional part: nothing, not even a warning, in any combination.
  it.each(combinations)("%s: biome check finds nothing in the JavaScript, with every optional part", (label, config) => {
    const files = render({ ...config, features: [...FEATURES] }, templates, meta);
    const dir = join(work, label.replace(/\W+/g, "-"));
    for (const [path, text] of files) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    expect(files.has("biome.json")).toBe(true);
    const paths = jsFiles(files).map(([path]) => path);
    let report: string;
    try {
      report = execFileSync(biome, ["check", "--reporter=json", "--max-diagnostics=100", ...paths], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (error) {
      report = (error as { stdout: string }).stdout;
    }
    const { diagnostics, summary } = JSON.parse(report) as { diagnostics: { category: string; location: { path: string } }[]; summary: { unchanged: number } };
    expect(diagnostics.map((d) => `${d.location.path}: ${d.category}`)).toEqual([]);
    expect(summary.unchanged).toBe(paths.length);
    expect(readFileSync(join(dir, "src/index.js"), "utf8")).toBe(files.get("src/index.js"));
  });
});
