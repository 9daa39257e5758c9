import * as fsp from "node:fs/promises";
import { join } from "node:path";
import { Volume } from "memfs";
import { beforeAll, describe, expect, it } from "vitest";
import { precompileTemplates } from "../../scripts/precompile.mjs";
import type { Config } from "../../src/config/config.js";
import type { FileSystem } from "../../src/fs.js";
import type { TemplateSpec } from "../../src/render/compile.js";
import { withJsTwins } from "../../src/render/js-twins.js";
import type { ManifestEntry } from "../../src/render/manifest.js";
import { render } from "../../src/render/render.js";
import { assembleTemplateSet, loadTemplates, type TemplateSet } from "../../src/render/templates.js";
import { configWith, repoTemplates } from "../support/memory.js";
import { repoRoot } from "../support/processes.js";

/**
 * The build compiles the templates (scripts/precompile.mjs into src/render/precompiled.ts) so the
 * CLI need not load Handlebars' compiler (SPEC §8). That table may only ever make rendering
 * faster: same output, and a template that differs from the one it was built from is compiled.
 */
const templatesDir = join(repoRoot, "templates");
const schemaPath = join(repoRoot, "schema", "mcp-access.schema.json");
const meta = { generatorVersion: "0.1.0" };

const base = configWith();
const configs: Config[] = [
  base,
  { ...base, auth: "saas" },
  { ...base, team: "https://acme.cloudflareaccess.com", access: { emails: ["ada@example.com"], domains: ["example.com"], idps: ["github"] } },
  ...(["self-hosted", "saas"] as const).map((auth) => ({ ...base, auth, downstreams: [{ name: "wiki", url: "https://wiki.example.com" }] })),
  // --lang js renders the JavaScript twins, precompiled like the rest.
  ...(["self-hosted", "saas"] as const).map((auth) => ({ ...base, auth, lang: "js" as const, downstreams: [{ name: "wiki", url: "https://wiki.example.com" }] })),
];

let table: Record<string, TemplateSpec>;
/** The build's tables by name (precompiledTableOf), as the bundle's loaders would give them. */
let tables: Record<string, Record<string, TemplateSpec>>;
let compiledAtRunTime: TemplateSet;
beforeAll(async () => {
  // The tables exactly as the build makes them, evaluated the way the bundle's modules would be.
  tables = {};
  for (const { keys, table: name, spec } of precompileTemplates(templatesDir)) {
    const compiled = new Function(`return ${spec}`)() as TemplateSpec;
    for (const key of keys) (tables[name] ??= {})[key] = compiled;
  }
  table = Object.assign({}, ...Object.values(tables));
  compiledAtRunTime = await repoTemplates();
});

/** Loaders of `tables` that note which table each generation asked for. */
function loadersNoting(loaded: string[]) {
  return Object.fromEntries(Object.entries(tables).map(([name, specs]) => [name, async () => (loaded.push(name), specs)]));
}

describe("precompiled templates", () => {
  it("cover every template and partial: the CLI never loads the compiler for its own templates", async () => {
    const templates = await loadTemplates(fsp as unknown as FileSystem, templatesDir, schemaPath, { table });
    expect(templates.compiler).toBeUndefined();
    expect(templates.precompiled.templates.size).toBe(templates.files.filter((entry) => !entry.raw).length);
    expect(templates.precompiled.partials.size).toBe(templates.partials.size);
  });

  it("render exactly what compiling at run time renders", async () => {
    const templates = await loadTemplates(fsp as unknown as FileSystem, templatesDir, schemaPath, { table });
    expect(compiledAtRunTime.compiler).toBeDefined();
    for (const config of configs) {
      expect(render(config, templates, meta)).toEqual(render(config, compiledAtRunTime, meta));
    }
  });

  it("are split by auth mode and language: a generation loads only its own tables, and renders every template from them", async () => {
    expect(Object.keys(tables).sort()).toEqual(["common", "saas", "saas-js", "saas-ts", "self-hosted", "self-hosted-js", "self-hosted-ts"]);
    for (const config of [...configs, { ...base, features: ["tests", "ci", "lint", "examples"] } satisfies Config]) {
      const loaded: string[] = [];
      const templates = await loadTemplates(fsp as unknown as FileSystem, templatesDir, schemaPath, { tables: loadersNoting(loaded), only: config });
      expect(loaded.sort(), `${config.auth} ${config.lang}`).toEqual(["common", config.auth, `${config.auth}-${config.lang}`].sort());
      expect(templates.compiler).toBeUndefined();
      expect(render(config, templates, meta)).toEqual(render(config, compiledAtRunTime, meta));
    }
  });

  it("each hold a template once: the package carries no copies", () => {
    const keys = Object.values(tables).flatMap((specs) => Object.keys(specs));
    expect(keys.length).toBe(new Set(keys).size);
  });

  it("are all loaded for a template set that is not narrowed to one project", async () => {
    const loaded: string[] = [];
    const templates = await loadTemplates(fsp as unknown as FileSystem, templatesDir, schemaPath, { tables: loadersNoting(loaded) });
    expect(loaded.sort()).toEqual(Object.keys(tables).sort());
    expect(templates.compiler).toBeUndefined();
  });

  it("render every template and partial without its source, as in the package, and only for the bundled set", async () => {
    // package.json "files" publishes no template source that the build compiled: only the manifest and raw files.
    const manifest = JSON.parse(await fsp.readFile(join(templatesDir, "manifest.json"), "utf8")) as { files: ManifestEntry[] };
    const files: Record<string, string> = { "/t/manifest.json": JSON.stringify(manifest) };
    const raw = withJsTwins(manifest.files).filter((entry) => entry.raw).map((entry) => entry.template);
    for (const template of raw) files[join("/t", template)] = await fsp.readFile(join(templatesDir, template), "utf8");
    files["/schema.json"] = compiledAtRunTime.schema;
    const volume = Volume.fromJSON(files);
    const templates = await loadTemplates(volume.promises as unknown as FileSystem, "/t", "/schema.json", { table });
    expect(templates.compiler).toBeUndefined();
    expect([...templates.sources.keys()].sort()).toEqual([...new Set(raw)].sort());
    expect(templates.partials.size).toBe(0);
    for (const config of configs) expect(render(config, templates, meta)).toEqual(render(config, compiledAtRunTime, meta));
    // A template set from elsewhere never takes one of ours by its path.
    const custom = await assembleTemplateSet(templates.files, templates.sources, templates.partials, templates.schema, table, { origin: "./mine" });
    expect(() => render(configs[0]!, custom, meta)).toThrow(/template \S+ is listed but was not loaded/);
  });

  it("hold no fallback for runtimes older than the bundled one", () => {
    for (const { spec } of precompileTemplates(templatesDir)) {
      expect(spec).not.toContain("hasOwnProperty.call");
      expect(spec).not.toContain("nullContext ||");
    }
  });

  it("are not used for a template that changed since the build: it is compiled, and the change shows", async () => {
    const manifest = JSON.parse(await fsp.readFile(join(templatesDir, "manifest.json"), "utf8")) as { partials: Record<string, string> };
    const files: Record<string, string> = {};
    for (const path of ["manifest.json", ...compiledAtRunTime.sources.keys(), ...Object.values(manifest.partials)]) {
      files[join("/t", path)] = await fsp.readFile(join(templatesDir, path), "utf8");
    }
    files[join("/t", "common/gitignore.hbs")] += "edited-after-the-build/\n";
    files["/schema.json"] = compiledAtRunTime.schema;
    const volume = Volume.fromJSON(files);
    const templates = await loadTemplates(volume.promises as unknown as FileSystem, "/t", "/schema.json", { table });
    expect(templates.precompiled.templates.has("common/gitignore.hbs")).toBe(false);
    expect(templates.compiler).toBeDefined();
    expect(render(base, templates, meta).get(".gitignore")).toContain("edited-after-the-build/");
  });
});
