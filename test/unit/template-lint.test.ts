import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Config } from "../../src/config/config.js";
import { AUTH_MODES, FEATURES, type Feature, LANGUAGES } from "../../src/config/options.js";
import { render } from "../../src/render/render.js";
import type { TemplateSet } from "../../src/render/templates.js";
import { configWith, renderMeta, repoTemplates } from "../support/memory.js";
import { repoRoot } from "../support/processes.js";

/**
 * The template lint: every template renders for every combination of the CLI's choices, and what comes
 * out reads as written by hand — no template leftovers, no blank-line runs, and Biome (formatting,
 * import order, unused imports and the recommended rules) finds nothing to say.
 */

const meta = renderMeta;
const downstreams = [
  { name: "wiki", url: "https://wiki.example.com/api" },
  { name: "jira", url: "https://jira.example.com" },
];

/** Every subset of the features, from none to all. */
function subsets(items: readonly Feature[]): Feature[][] {
  return items.reduce<Feature[][]>((all, item) => [...all, ...all.map((subset) => [...subset, item])], [[]]);
}

function combinations(): [string, Config][] {
  const out: [string, Config][] = [];
  for (const auth of AUTH_MODES) {
    for (const lang of LANGUAGES) {
      for (const features of subsets(FEATURES)) {
        for (const apps of [[], downstreams.slice(0, 1), downstreams]) {
          out.push([`${auth}-${lang}-${features.join("+") || "none"}-${apps.length}apps`, configWith({ auth, downstreams: apps, lang, features })]);
        }
      }
    }
  }
  // Who may call what (SPEC §9): off entirely, rules alone, and every part at once.
  const governance: [string, Partial<Config>][] = [
    ["no-audit", { audit: false }],
    ["rules-only", { audit: false, tools: { whoami: { allow: { emails: ["ada@example.com"], domains: [], groups: [] } } } }],
    [
      "all-governance",
      {
        audit: { arguments: "hash" },
        rateLimit: { limit: 60, period: 60 },
        tools: {
          whoami: { allow: { emails: [], domains: ["example.com"], groups: ["admins"] } },
          call_wiki: { allow: { emails: [], domains: [], groups: ["wiki-editors"] }, rateLimit: { limit: 5, period: 10 } },
        },
      },
    ],
  ];
  for (const auth of AUTH_MODES) {
    for (const lang of LANGUAGES) {
      for (const [name, more] of governance) {
        out.push([`${auth}-${lang}-${name}`, configWith({ auth, lang, features: [...FEATURES], downstreams: downstreams.slice(0, 1), ...more })]);
      }
      // A custom domain, before and after provision found its zone.
      const domain = { domain: "mcp.example.com", features: [...FEATURES] };
      out.push([`${auth}-${lang}-domain`, configWith({ auth, lang, ...domain })]);
      out.push([`${auth}-${lang}-domain-provisioned`, configWith({ auth, lang, ...domain, provisioned: { customDomain: { hostname: "mcp.example.com", zone: "example.com" } } })]);
    }
  }
  return out;
}

let templates: TemplateSet;
let root: string;
beforeAll(async () => {
  templates = await repoTemplates();
  root = mkdtempSync(join(tmpdir(), "cma-template-lint-"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const all = combinations();

describe("template lint", () => {
  it("renders every combination with no leftovers, blank-line runs or trailing spaces", () => {
    for (const [name, config] of all) {
      for (const [path, text] of render(config, templates, meta)) {
        const where = `${name}: ${path}`;
        // GitHub Actions expressions are `${{ … }}`, and JSDoc object types in JavaScript `{{ a: T }}`:
        // the only double braces an output may have.
        const withoutActionExpressions = path.endsWith(".yml") ? text.replace(/\$\{\{[^}\n]*\}\}/g, "") : text;
        const leftover = /\.m?js$/.test(path) ? /\{\{(?! )|(?<! )\}\}(?!\s*$)/m : /\{\{|\}\}(?!\s*$)/m;
        expect(withoutActionExpressions, where).not.toMatch(leftover);
        expect(text, where).not.toMatch(/\n\n\n/);
        expect(text, where).not.toMatch(/[ \t]+$/m);
        expect(text.endsWith("\n") && !text.endsWith("\n\n"), where).toBe(true);
      }
    }
    // Every combination of both modes, languages and features: seconds, not the default five.
  }, 60_000);

  it("Biome, with the lint feature's settings, passes every combination untouched", () => {
    for (const [name, config] of all) {
      for (const [path, text] of render(config, templates, meta)) {
        // One configuration for all of them, at the root; a nested biome.json would be a second root.
        if (path === "biome.json") continue;
        const file = join(root, name, path);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, text);
      }
    }
    const settings = JSON.parse(readFileSync(join(repoRoot, "templates/features/lint/biome.json"), "utf8"));
    // The project's exclusions are relative to its root; here each project is one folder down.
    const includes = settings.files.includes.map((glob: string) => glob.replace(/^!(?!\*\*\/)/, "!**/"));
    const shared = { ...settings, $schema: undefined, root: true, vcs: { enabled: false }, files: { includes: [...includes, "!biome.json"] } };
    writeFileSync(join(root, "biome.json"), `${JSON.stringify(shared, null, 2)}\n`);
    const biome = join(repoRoot, "node_modules", ".bin", "biome");
    const result = spawnSync(biome, ["check", "--error-on-warnings", "--max-diagnostics=20", "--colors=off", "."], { cwd: root, encoding: "utf8" });
    expect(result.stdout + result.stderr, "biome check").toMatch(/Checked \d+ files?/);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    // Both languages' combinations, a thousand files or so: seconds, and over a minute on a busy
    // two-core machine running the other unit files beside it.
  }, 180_000);
});
