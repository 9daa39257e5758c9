import { join } from "node:path";
import type Handlebars from "handlebars";
import type { Config } from "../config/config.js";
import type { FileSystem } from "../fs.js";
import { jsTwinKey, precompiledTableOf, type TemplateSpec, templateKey } from "./compile.js";
import { included } from "./conditions.js";
import { JS_TEMPLATES_DIR, withJsTwins } from "./js-twins.js";
import type { ManifestEntry } from "./manifest.js";
import { type PrecompiledTable, precompiledTables } from "./precompiled.js";

/**
 * A template set: the manifest's files (manifest.ts), each template's text
 * and the partials, ready to render.
 */
export interface TemplateSet {
  /** The manifest's files, with their JavaScript twins. */
  files: ManifestEntry[];
  /** Template path → its text. */
  sources: Map<string, string>;
  /** Partial name → its text: pieces shared by several templates, used as `{{> name}}`. */
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
  // The tables load while the sources are read. A template several tables' entries use is in `common`.
  const [precompiled] = await Promise.all([
    table ?? loadPrecompiled(tables, only ? ["common", ...wanted.map(precompiledTableOf)] : Object.keys(tables)),
    ...wanted.map(async (entry) => {
      try {
        sources.set(entry.template, await read(entry.template));
      } catch (error) {
        // JavaScript twins exist where the build made them; without them, only --lang js fails (render says so).
        if (!entry.template.startsWith(`${JS_TEMPLATES_DIR}/`) || (error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
    }),
    ...Object.entries(manifest.partials ?? {}).map(async ([name, path]) => partials.set(name, await read(path))),
  ]);
  return assembleTemplateSet(files, sources, partials, await fs.readFile(schemaPath, "utf8"), precompiled);
}

/** The named tables of the build's precompiled templates (every one by default), as one. */
export async function loadPrecompiled(tables = precompiledTables, names: Iterable<string> = Object.keys(tables)): Promise<PrecompiledTable> {
  const loaded = await Promise.all([...new Set(names)].flatMap((name) => tables[name]?.() ?? []));
  return Object.assign({}, ...loaded);
}

/**
 * A template set from what was read: each template and partial whose source is in `table` (the
 * build's precompiled templates) renders from there; the compiler is loaded when any is not (or is
 * passed in).
 */
export async function assembleTemplateSet(
  files: ManifestEntry[],
  sources: Map<string, string>,
  partials: Map<string, string>,
  schema: string,
  table: PrecompiledTable,
  extra: { compiler?: typeof Handlebars; origin?: string } = {},
): Promise<TemplateSet> {
  const compiled = (source: string) => table[templateKey(source)];
  // The bundled set's JavaScript twins are in the tables by path, and published without their
  // sources; a template set from elsewhere (`origin`) never takes one of ours by its path.
  const twin = (entry: ManifestEntry) =>
    extra.origin === undefined && entry.template.startsWith(`${JS_TEMPLATES_DIR}/`) ? table[jsTwinKey(entry.template)] : undefined;
  const precompiled = { templates: new Map<string, TemplateSpec>(), partials: new Map<string, TemplateSpec>() };
  // Templates that were not read and are not in the tables (JavaScript twins a template set does not have) are not counted.
  const rendered = files.filter((entry) => !entry.raw && (sources.has(entry.template) || twin(entry)));
  for (const entry of rendered) {
    const source = sources.get(entry.template);
    const spec = twin(entry) ?? (source === undefined ? undefined : compiled(source));
    if (spec) precompiled.templates.set(entry.template, spec);
  }
  for (const [name, source] of partials) {
    const spec = compiled(source);
    if (spec) precompiled.partials.set(name, spec);
  }
  const templateCount = new Set(rendered.map((entry) => entry.template)).size;
  const complete = precompiled.templates.size === templateCount && precompiled.partials.size === partials.size;
  const compiler = extra.compiler ?? (complete ? undefined : (await import("handlebars")).default);
  return { files, sources, partials, schema, precompiled, ...(compiler ? { compiler } : {}), ...(extra.origin ? { origin: extra.origin } : {}) };
}
