import { readFileSync } from "node:fs";
import { join } from "node:path";
import Handlebars from "handlebars";
import { describe, expect, it } from "vitest";
import { formatWithBiome, toJavaScript } from "../../scripts/js-templates.mjs";
import { hasJsTwin, jsTwinOf, withJsTwins } from "../../src/render/js-twins.js";
import type { ManifestEntry } from "../../src/render/manifest.js";
import { repoRoot } from "../support/processes.js";

/**
 * scripts/js-templates.mjs, the build step that derives each JavaScript template from its
 * TypeScript one (`--lang js`): what each TypeScript construct becomes, and what it refuses.
 */
const lintConfig = JSON.parse(readFileSync(join(repoRoot, "templates", "features", "lint", "biome.json"), "utf8"));

/** TypeScript template → the JavaScript template, formatted as the build formats it. */
function toJs(source: string, options: { handlebars?: boolean; renames?: Map<string, string> } = {}): string {
  const { code, restore } = toJavaScript(source, "x.ts", { handlebars: options.handlebars ?? false, renames: options.renames });
  return restore(formatWithBiome(new Map([["x", code]]), lintConfig).get("x")!);
}
const lines = (...text: string[]) => `${text.join("\n")}\n`;

describe("which templates get a JavaScript twin", () => {
  const entries: ManifestEntry[] = [
    { path: "src/index.ts", template: "self-hosted/src/index.ts.hbs", when: { auth: "self-hosted" } },
    { path: "src/access.ts", template: "self-hosted/src/access.ts", raw: true },
    { path: "test/helpers.mts", template: "features/tests/helpers.mts", when: { feature: "tests" } },
    { path: "vitest.config.ts", template: "features/tests/vitest.config.ts.hbs", when: { feature: "tests" } },
    { path: "test/env.d.ts", template: "features/tests/env.d.ts", raw: true },
    { path: "src/only-ts.ts", template: "x/only-ts.ts", when: { lang: "ts" } },
    { path: "tsconfig.json", template: "common/tsconfig.json", raw: true, when: { lang: "ts" } },
    { path: "test/tsconfig.json", template: "features/tests/test/tsconfig.json", raw: true, when: { feature: "tests" } },
  ];

  it("every .ts and .mts file and tsconfig.json not already for one language, not .d.ts; the twin is JavaScript-only, the original TypeScript-only", () => {
    expect(entries.filter(hasJsTwin).map((entry) => entry.path)).toEqual(["src/index.ts", "src/access.ts", "test/helpers.mts", "vitest.config.ts", "test/tsconfig.json"]);
    expect(jsTwinOf(entries.at(-1)!)).toEqual({
      path: "test/jsconfig.json",
      template: "js/features/tests/test/jsconfig.json",
      raw: true,
      when: { feature: "tests", lang: "js" },
    });
    expect(jsTwinOf(entries[0]!)).toEqual({ path: "src/index.js", template: "js/self-hosted/src/index.js.hbs", when: { auth: "self-hosted", lang: "js" } });
    expect(jsTwinOf(entries[1]!)).toEqual({ path: "src/access.js", template: "js/self-hosted/src/access.js", raw: true, when: { lang: "js" } });
    expect(jsTwinOf(entries[2]!).path).toBe("test/helpers.mjs");
    expect(withJsTwins(entries).map((entry) => `${entry.path} ${entry.when?.lang ?? "both"}`)).toEqual([
      "src/index.ts ts",
      "src/index.js js",
      "src/access.ts ts",
      "src/access.js js",
      "test/helpers.mts ts",
      "test/helpers.mjs js",
      "vitest.config.ts ts",
      "vitest.config.js js",
      "test/env.d.ts both",
      "src/only-ts.ts ts",
      "tsconfig.json ts",
      "test/tsconfig.json ts",
      "test/jsconfig.json js",
    ]);
  });
});

describe("TypeScript → JavaScript", () => {
  it("interfaces and type aliases become @typedef, with their comments", () => {
    const js = toJs(
      lines(
        "/** Who is calling. */",
        "export interface Identity {",
        "  /** Their address. */",
        "  email: string;",
        "  sub?: string;",
        "}",
        "",
        'export type Code = "a" | "b";',
        "",
        "export const x = 1;",
      ),
    );
    expect(js).toBe(
      lines(
        "/**",
        " * Who is calling.",
        " * @typedef {object} Identity",
        " * @property {string} email Their address.",
        " * @property {string} [sub]",
        " */",
        "",
        '/** @typedef {"a" | "b"} Code */',
        "",
        "export const x = 1;",
      ),
    );
  });

  it("annotations become @param, @returns, @template and @type; modifiers and `!` go", () => {
    const js = toJs(
      lines(
        "/** Adds. */",
        "export function add<T extends number>(a: T, b = 1, c?: string): number {",
        "  const seen: Set<T> = new Set();",
        "  const keys = new Map<string, T>();",
        "  return a + b + (c ? keys.get(c)! : 0) + seen.size;",
        "}",
        "",
        "export class Failure extends Error {",
        '  override readonly name = "Failure";',
        "  private readonly code: number;",
        "",
        "  constructor(code: number) {",
        '    super("failed");',
        "    this.code = code;",
        "  }",
        "}",
      ),
    );
    expect(js).toBe(
      lines(
        "/**",
        " * Adds.",
        " * @template {number} T",
        " * @param {T} a",
        " * @param {string} [c]",
        " * @returns {number}",
        " */",
        "export function add(a, b = 1, c) {",
        "  /** @type {Set<T>} */",
        "  const seen = new Set();",
        "  /** @type {Map<string, T>} */",
        "  const keys = new Map();",
        "  return a + b + (c ? keys.get(c) : 0) + seen.size;",
        "}",
        "",
        "export class Failure extends Error {",
        '  name = "Failure";',
        "  /** @type {number} */",
        "  code;",
        "",
        "  /** @param {number} code */",
        "  constructor(code) {",
        '    super("failed");',
        "    this.code = code;",
        "  }",
        "}",
      ),
    );
  });

  it("casts, `as const`, `satisfies`, type arguments and `!` on an optional local become JSDoc casts", () => {
    const js = toJs(
      lines(
        "let issuer: string | undefined;",
        "const body = (input as Record<string, unknown>).x;",
        'const modes = { a: "x" } as const;',
        "const handler = { fetch() { return 1; } } satisfies Handler;",
        "export default { port: 1 } satisfies Config;",
        "const { data } = await oauth.finish<Data>(request);",
        "use(issuer!, body, modes, handler, data);",
      ),
    );
    expect(js).toBe(
      lines(
        "/** @type {string | undefined} */",
        "let issuer;",
        "const body = /** @type {Record<string, unknown>} */ (input).x;",
        'const modes = /** @type {const} */ ({ a: "x" });',
        "/** @satisfies {Handler} */",
        "const handler = {",
        "  fetch() {",
        "    return 1;",
        "  },",
        "};",
        "export default /** @satisfies {Config} */ ({ port: 1 });",
        "const { data } = await /** @type {typeof oauth.finish<Data>} */ (oauth.finish)(request);",
        "use(/** @type {string} */ (issuer), body, modes, handler, data);",
      ),
    );
  });

  it("type-only imports become @import, for the names JSDoc uses; value imports used only as types too", () => {
    const js = toJs(
      lines(
        'import { McpServer, type ToolResult } from "sdk";',
        'import type { Unused } from "other";',
        'import { helper } from "./helper.ts";',
        'import { OnlyAType } from "lib";',
        "",
        "export function make(result: ToolResult, lib: OnlyAType): McpServer {",
        "  return helper(new McpServer(result, lib));",
        "}",
      ),
    );
    expect(js).toBe(
      lines(
        'import { McpServer } from "sdk";',
        'import { helper } from "./helper.js";',
        "",
        '/** @import { ToolResult } from "sdk" */',
        '/** @import { OnlyAType } from "lib" */',
        "",
        "/**",
        " * @param {ToolResult} result",
        " * @param {OnlyAType} lib",
        " * @returns {McpServer}",
        " */",
        "export function make(result, lib) {",
        "  return helper(new McpServer(result, lib));",
        "}",
      ),
    );
  });

  it("drops ambient declarations, and follows renamed files in comments and strings", () => {
    const js = toJs(
      lines(
        'declare module "cloudflare:test" {',
        "  interface ProvidedEnv extends Env {}",
        "}",
        "",
        "// See index.ts and worker-configuration.d.ts.",
        'export const main = "src/index.ts";',
      ),
      { renames: new Map([["src/index.ts", "src/index.js"], ["index.ts", "index.js"]]) },
    );
    expect(js).toBe(lines("// See index.js and worker-configuration.d.ts.", 'export const main = "src/index.js";'));
  });

  it.each([
    ["an enum", "enum Mode { A, B }"],
    ["a namespace", "namespace N { export const x = 1; }"],
    ["a parameter property", "class A { constructor(readonly x: number) {} }"],
  ])("stops at %s, naming the place: it has no JavaScript form", (what, source) => {
    expect(() => toJavaScript(source, "some/template.ts", { handlebars: false })).toThrow(new RegExp(`some/template.ts:1:\\d+: ${what} has no JavaScript equivalent`));
  });
});

describe("TypeScript → JavaScript in Handlebars templates", () => {
  const render = (template: string, view: object) => Handlebars.compile(template, { strict: true, noEscape: true })(view);

  it("keeps the tags where they were, and puts JSDoc about code inside {{#if}} inside the same {{#if}}", () => {
    const template = lines(
      'import type { Identity } from "./access";',
      "{{#if apps.length}}",
      'import { type Credential, register } from "./downstream";',
      "{{/if}}",
      "",
      "export function create(identity: Identity{{#if apps.length}}, credential: Credential{{/if}}): string {",
      "  const name = {{json name}};",
      "{{#if apps.length}}",
      "  register(credential);",
      "{{/if}}",
      "  return `${name} ${identity}`;",
      "}",
    );
    const js = toJs(template, { handlebars: true });
    expect(js).toBe(
      lines(
        "{{#if apps.length}}",
        'import { register } from "./downstream";',
        "{{/if}}",
        "",
        '/** @import { Identity } from "./access" */',
        "{{#if apps.length}}",
        '/** @import { Credential } from "./downstream" */',
        "{{/if}}",
        "",
        "/**",
        " * @param {Identity} identity",
        "{{#if apps.length}}",
        " * @param {Credential} credential",
        "{{/if}}",
        " * @returns {string}",
        " */",
        "export function create(identity{{#if apps.length}}, credential{{/if}}) {",
        "  const name = {{json name}};",
        "{{#if apps.length}}",
        "  register(credential);",
        "{{/if}}",
        "  return `${name} ${identity}`;",
        "}",
      ),
    );
  });

  it("puts the @imports of both branches of an {{#if}}…{{else}} in one block, and drops the block the imports left empty", () => {
    const js = toJs(
      lines(
        'import type { McpServer } from "sdk";',
        "{{#if selfHosted}}",
        'import type { Identity } from "./access";',
        "{{else}}",
        'import type { Identity } from "./access-oidc";',
        "{{/if}}",
        "",
        "export function register(server: McpServer, identity: Identity): void {",
        "  server.use(identity);",
        "}",
      ),
      { handlebars: true },
    );
    expect(js).toBe(
      lines(
        '/** @import { McpServer } from "sdk" */',
        "{{#if selfHosted}}",
        '/** @import { Identity } from "./access" */',
        "{{else}}",
        '/** @import { Identity } from "./access-oidc" */',
        "{{/if}}",
        "",
        "/**",
        " * @param {McpServer} server",
        " * @param {Identity} identity",
        " */",
        "export function register(server, identity) {",
        "  server.use(identity);",
        "}",
      ),
    );
  });

  it("writes a one-line comment when only one line is left without the condition", () => {
    const js = toJs(lines("export function f(a: number{{#if b}}, b: string{{/if}}) {", "  return a;", "}"), { handlebars: true });
    expect(js).toBe(
      lines(
        "{{#if b}}",
        "/**",
        " * @param {number} a",
        " * @param {string} b",
        " */",
        "{{else}}",
        "/** @param {number} a */",
        "{{/if}}",
        "export function f(a{{#if b}}, b{{/if}}) {",
        "  return a;",
        "}",
      ),
    );
  });

  it("renders both ways to JavaScript that reads as written by hand", () => {
    const template = lines(
      'import type { Identity } from "./access";',
      "",
      "/** Makes it. */",
      "export function create(identity: Identity{{#if apps.length}}, credential: string{{/if}}) {",
      "  return [identity{{#if apps.length}}, credential{{/if}}, {{json name}}];",
      "}",
    );
    const js = toJs(template, { handlebars: true });
    const json = { json: (value: unknown) => JSON.stringify(value) };
    Handlebars.registerHelper(json);
    expect(render(js, { apps: [], name: "srv" })).toBe(
      lines(
        '/** @import { Identity } from "./access" */',
        "",
        "/**",
        " * Makes it.",
        " * @param {Identity} identity",
        " */",
        "export function create(identity) {",
        '  return [identity, "srv"];',
        "}",
      ),
    );
    expect(render(js, { apps: [1], name: "srv" })).toContain(" * @param {Identity} identity\n * @param {string} credential\n */\nexport function create(identity, credential) {\n  return [identity, credential, \"srv\"];");
    Handlebars.unregisterHelper("json");
  });

  it("refuses a typed parameter inside {{#each}}: JSDoc outside the block cannot repeat with it", () => {
    expect(() => toJavaScript("function f({{#each xs}}a{{@index}}: string, {{/each}}) {}", "t.ts.hbs", { handlebars: true })).toThrow(/\{\{#each\}\}/);
  });
});
