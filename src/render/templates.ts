import { join } from "node:path";
import type Handlebars from "handlebars";
import type { Config } from "../config/config.js";
import type { FileSystem } from "../fs.js";
import { bundledKey, precompiledTableOf, type TemplateSpec, templateKey } from "./compile.js";
import { included } from "./conditions.js";
import { withJsTwins } from "./js-twins.js";
import type { ManifestEntry } from "./manifest.js";
import { type PrecompiledTable, precompiledTables } from "./precompiled.js";

/**
 * A template set: the manifest's files (manifest.ts), each template's text
 * and the partials, ready to render.
 */
export interface TemplateSet {
  /** The manifest's files, with their JavaScript twins. */
  files: ManifestEntry[];
  /** Template path → its text; the package's bundled templates are published compiled only, and have none. */
  sources: Map<string, string>;
  /**
   * Partial name → its text: pieces shared by several templates, used as `{{> name}}`. A partial of
   * the package's bundled set has no text (it is published compiled only) and is in `precompiled`.
   */
  partials: Map<string, string>;
  /** The mcp-access.json schema, copied into every project. */
  schema: string;
  /** Templates (by template path) and partials (by name) compiled at build time from exactly the source loaded here. */
  precompiled: { templates: Map<string, TemplateSpec>; partials: Map<string, TemplateSpec> };
  /**
   * Handlebars with its compiler, for the templates that are not precompiled; loaded only when
   * there are some (from source, or a changed template), since loading it costs more than
   * rendering the whole project from precompiled templates.
   */
  compiler?: typeof Handlebars;
  /**
   * Set for a template set from `--template`: where it came from. Such a set is third-party
   * content, so a template that fails to render is reported as its problem (exit 2, naming the
   * file), not as a bug in create-mcp-access.
   */
  origin?: string;
}

/**
 * Loads the template set a project renders from: the bundled templates, or the
 * project's own `template` source (SPEC §3.2 `--template`), a local folder
 * resolved against `projectDir` or anything giget fetches. `run.ts` supplies
 * the real one; tests pass their own.
 */
export type TemplateLoader = (config: Config, projectDir: string) => Promise<TemplateSet>;

/**
 * The bundled templates, with the JavaScript twin of each TypeScript file (js-twins.ts: the build
 * derives them). A template from `--template` is rendered as its own manifest says
 * (template-check.ts): its JavaScript files are entries with `"when": { "lang": "js" }`.
 * `only`: read just the templates this config renders (a third of them), rather than every one a
 * project could have, and load just the build's precompiled tables they are in. `tables`: the
 * build's tables (tests pass their own), or `table`: one table to use as it is.
 */
export async function loadTemplates(
  fs: FileSystem,
  templatesDir: string,
  schemaPath: string,
  { table, tables = precompiledTables, only }: { table?: PrecompiledTable; tables?: typeof precompiledTables; only?: Config } = {},
): Promise<TemplateSet> {
  const manifest = JSON.parse(await fs.readFile(join(templatesDir, "manifest.json"), "utf8")) as {
    files: ManifestEntry[];
    partials?: Record<string, string>;
  };
  const read = (path: string) => fs.readFile(join(templatesDir, path), "utf8");
  const files = withJsTwins(manifest.files);
  const wanted = files.filter((entry) => !only || included(entry, only));
  const sources = new Map<string, string>();
  const partials = new Map<string, string>();
  // The package publishes its templates compiled only (package.json "files"): a source that is not
  // there is found by its path in the tables (assembleTemplateSet). A checkout has every source.
  const readIfThere = async (path: string, into: (text: string) => void) => {
    try {
      into(await read(path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  };
  // The tables load while the sources are read. A template several tables' entries use is in `common`.
  const [precompiled] = await Promise.all([
    table ?? loadPrecompiled(tables, only ? ["common", ...wanted.map(precompiledTableOf)] : Object.keys(tables)),
    ...wanted.map((entry) => readIfThere(entry.template, (text) => sources.set(entry.template, text))),
    ...Object.entries(manifest.partials ?? {}).map(([name, path]) => readIfThere(path, (text) => partials.set(name, text))),
  ]);
  return assembleTemplateSet(files, sources, partials, await fs.readFile(schemaPath, "utf8"), precompiled, { bundledPartials: manifest.partials ?? {} });
}

/** The named tables of the build's precompiled templates (every one by default), as one. */
export async function loadPrecompiled(tables = precompiledTables, names: Iterable<string> = Object.keys(tables)): Promise<PrecompiledTable> {
  const loaded = await Promise.all([...new Set(names)].flatMap((name) => tables[name]?.() ?? []));
  return Object.assign({}, ...loaded);
}

/**
 * A template set from what was read: each template and partial whose source is in `table` (the
 * build's precompiled templates) renders from there; the compiler is loaded when any is not (or is
 * passed in). `bundledPartials` (name → path) marks the package's own set, whose templates and
 * partials without a source are looked up by path; a set from elsewhere never takes one of ours.
 */
export async function assembleTemplateSet(
  files: ManifestEntry[],
  sources: Map<string, string>,
  partials: Map<string, string>,
  schema: string,
  table: PrecompiledTable,
  extra: { compiler?: typeof Handlebars; origin?: string; bundledPartials?: Record<string, string> } = {},
): Promise<TemplateSet> {
  const bundled = extra.bundledPartials !== undefined && extra.origin === undefined;
  // A source that was read is looked up by its text, so a template edited since the build is compiled.
  const lookUp = (path: string, source: string | undefined) =>
    source !== undefined ? table[templateKey(source)] : bundled ? table[bundledKey(path)] : undefined;
  const precompiled = { templates: new Map<string, TemplateSpec>(), partials: new Map<string, TemplateSpec>() };
  for (const entry of files) {
    if (entry.raw) continue;
    const spec = lookUp(entry.template, sources.get(entry.template));
    if (spec) precompiled.templates.set(entry.template, spec);
  }
  const partialPaths = bundled ? Object.entries(extra.bundledPartials!) : [...partials.keys()].map((name) => [name, ""] as const);
  for (const [name, path] of partialPaths) {
    const spec = lookUp(path, partials.get(name));
    if (spec) precompiled.partials.set(name, spec);
  }
  // Templates neither read nor in the tables (JavaScript twins a template set does not have) are not counted: render names them.
  const rendered = new Set(files.filter((entry) => !entry.raw && (sources.has(entry.template) || precompiled.templates.has(entry.template))).map((entry) => entry.template));
  const complete = [...rendered].every((template) => precompiled.templates.has(template)) && [...partials.keys()].every((name) => precompiled.partials.has(name));
  const compiler = extra.compiler ?? (complete ? undefined : (await import("handlebars")).default);
  return { files, sources, partials, schema, precompiled, ...(compiler ? { compiler } : {}), ...(extra.origin ? { origin: extra.origin } : {}) };
}
