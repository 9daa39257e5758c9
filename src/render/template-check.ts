import { join } from "node:path";
import Handlebars from "handlebars";
import { CONFIG_FILE_NAME } from "../config/config.js";
import { AUTH_MODES, FEATURES, LANGUAGES, PACKAGE_MANAGERS } from "../config/options.js";
import { UsageError } from "../errors.js";
import type { FileSystem } from "../fs.js";
import { compileOptions, HELPERS } from "./compile.js";
import type { ManifestEntry } from "./manifest.js";
import { assembleTemplateSet, loadPrecompiled, type TemplateSet } from "./templates.js";

/**
 * A template from `--template` is third-party content: before anything renders, its manifest
 * and every file it names are checked, and every problem is reported at once (exit 2, nothing
 * written). What passes cannot write outside the project, nor into what the tool keeps there
 * (`mcp-access.json`, `.mcp-access/`) or into `.git/`; cannot read outside its folder (no `..`,
 * no absolute path, no symbolic link); and compiles. Rendering itself stays Handlebars in strict
 * mode with its default runtime options: no prototype access, only the tool's helpers.
 */
export async function loadTemplateFolder(fs: FileSystem, dir: string, schemaPath: string, origin: string): Promise<TemplateSet> {
  const problems: string[] = [];
  const fail = (): never => {
    throw new UsageError(
      `The template ${origin} cannot be used (${problems.length} problem${problems.length === 1 ? "" : "s"}); nothing was written. ` +
        "Fix these in the template (the format is in docs/templates.md of create-mcp-access), or use another one:",
      problems,
    );
  };

  const manifestFile = await readTemplateFile(fs, dir, "manifest.json");
  if (manifestFile.state !== "file") {
    problems.push(
      manifestFile.state === "missing"
        ? "there is no manifest.json at the top of the template folder (in a tarball: one top folder, with manifest.json directly inside it)"
        : `manifest.json ${manifestFile.problem}`,
    );
    return fail();
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(manifestFile.text);
  } catch (error) {
    problems.push(`manifest.json is not valid JSON: ${(error as Error).message}`);
    return fail();
  }
  const { files, partials, named } = checkManifest(manifest, problems);

  // Every file named (by any entry, even one with other problems), read once: missing ones,
  // links and folders are problems too; each one Handlebars renders must compile.
  const texts = new Map<string, string>();
  const partialNames = new Set(partials.keys());
  for (const [path, handlebars] of named) {
    const file = await readTemplateFile(fs, dir, path);
    if (file.state !== "file") {
      problems.push(`${path} ${file.state === "missing" ? "is listed in manifest.json, but there is no such file in the template" : file.problem}`);
      continue;
    }
    texts.set(path, file.text);
    if (handlebars) problems.push(...compileProblems(path, file.text, partialNames));
  }
  if (problems.length) return fail();

  const sources = new Map(files.map((entry) => [entry.template, texts.get(entry.template)!]));
  const partialSources = new Map([...partials].map(([name, path]) => [name, texts.get(path)!]));
  // A file the same as one of the bundled templates still renders from the build's table.
  const table = await loadPrecompiled();
  return assembleTemplateSet(files, sources, partialSources, await fs.readFile(schemaPath, "utf8"), table, { compiler: Handlebars, origin });
}

const MANIFEST_KEYS = ["$schema", "partials", "files"];
const ENTRY_KEYS = ["path", "template", "when", "raw"];
const WHEN_VALUES: Record<string, readonly unknown[]> = {
  auth: AUTH_MODES,
  lang: LANGUAGES,
  feature: FEATURES,
  downstreams: [true, false],
  packageManager: PACKAGE_MANAGERS,
  governed: [true, false],
  toolRules: [true, false],
  groups: [true, false],
  rateLimits: [true, false],
  audit: [true, false],
};
/** A partial's name as a template writes it (`{{> readme/intro}}`). */
const PARTIAL_NAME = /^[A-Za-z][\w-]*(\/[A-Za-z][\w-]*)*$/;

/**
 * The manifest's shape. Returns the well-formed entries and partials, and every template file
 * named with a usable path (→ whether Handlebars renders it), for the checks that follow.
 */
function checkManifest(manifest: unknown, problems: string[]) {
  const files: ManifestEntry[] = [];
  const partials = new Map<string, string>();
  const named = new Map<string, boolean>();
  const listFile = (path: string, handlebars: boolean) => named.set(path, named.get(path) === true || handlebars);
  if (!isObject(manifest)) {
    problems.push('manifest.json must be an object: { "partials": { "name": "file" }, "files": [{ "path": …, "template": … }] }');
    return { files, partials, named };
  }
  for (const key of unknownKeys(manifest, MANIFEST_KEYS)) problems.push(`manifest.json: unknown key ${show(key)} (known: ${MANIFEST_KEYS.join(", ")})`);

  if (manifest.partials !== undefined) {
    if (!isObject(manifest.partials)) problems.push('manifest.json: "partials" must be an object of partial name → template file');
    else {
      for (const [name, path] of Object.entries(manifest.partials)) {
        const where = `manifest.json: partial ${show(name)}`;
        const nameOk = PARTIAL_NAME.test(name);
        if (!nameOk) problems.push(`${where}: a partial's name is letters, digits, - and _, in /-separated parts that start with a letter`);
        const pathProblem = templatePathProblem(path);
        if (pathProblem) problems.push(`${where}: ${pathProblem}`);
        if (!pathProblem) listFile(path as string, true);
        if (nameOk && !pathProblem) partials.set(name, path as string);
      }
    }
  }

  if (!Array.isArray(manifest.files) || manifest.files.length === 0) {
    problems.push('manifest.json: "files" must be a non-empty list of { "path": …, "template": … }');
    return { files, partials, named };
  }
  manifest.files.forEach((entry: unknown, index) => {
    const where = `manifest.json: files[${index}]${isObject(entry) && typeof entry.path === "string" ? ` (${show(entry.path)})` : ""}`;
    if (!isObject(entry)) {
      problems.push(`${where} must be an object: { "path": …, "template": … }`);
      return;
    }
    const before = problems.length;
    for (const key of unknownKeys(entry, ENTRY_KEYS)) problems.push(`${where}: unknown key ${show(key)} (known: ${ENTRY_KEYS.join(", ")})`);
    const pathProblem = outputPathProblem(entry.path);
    if (pathProblem) problems.push(`${where}: "path" ${pathProblem}`);
    const templateProblem = templatePathProblem(entry.template);
    if (templateProblem) problems.push(`${where}: "template" ${templateProblem}`);
    if (entry.raw !== undefined && typeof entry.raw !== "boolean") problems.push(`${where}: "raw" must be true or false`);
    if (!templateProblem) listFile(entry.template as string, entry.raw !== true);
    if (entry.when !== undefined) {
      if (!isObject(entry.when)) problems.push(`${where}: "when" must be an object, like { "auth": "saas" }`);
      else {
        for (const [key, value] of Object.entries(entry.when)) {
          const allowed = WHEN_VALUES[key];
          if (!Object.hasOwn(WHEN_VALUES, key) || !allowed) {
            problems.push(`${where}: unknown condition "when.${key}" (known: ${Object.keys(WHEN_VALUES).join(", ")})`);
          } else if (!allowed.includes(value)) {
            problems.push(`${where}: "when.${key}" is ${show(value)}, which is not one of: ${allowed.map((item) => JSON.stringify(item)).join(", ")}`);
          }
        }
      }
    }
    if (problems.length === before) files.push(entry as unknown as ManifestEntry);
  });
  return { files, partials, named };
}

/** What is wrong with a generated file's path, if anything: it must name a file inside the project that the tool does not own. */
export function outputPathProblem(path: unknown): string | undefined {
  const problem = relativePathProblem(path);
  if (problem) return problem;
  const text = path as string;
  // Lower-cased: on a case-insensitive disk `.MCP-ACCESS/…` is the tool's folder too.
  const lower = text.toLowerCase();
  const first = lower.split("/")[0];
  if (lower === CONFIG_FILE_NAME || first === ".mcp-access") {
    return `must not be ${CONFIG_FILE_NAME} or inside .mcp-access/: create-mcp-access writes those itself (the answers, the schema, the snapshot regenerate merges against)`;
  }
  if (first === ".git") return "must not be inside .git/: a template does not write git's own files (hooks, config)";
  return undefined;
}

function templatePathProblem(path: unknown): string | undefined {
  const problem = relativePathProblem(path);
  return problem && problem.replace("inside the project", "inside the template folder");
}

/** Relative, `/`-separated, every part a plain name: it cannot leave the folder it is joined to. */
function relativePathProblem(path: unknown): string | undefined {
  if (typeof path !== "string" || path === "") return "must be a non-empty string";
  const shown = show(path);
  if (path.includes("\0")) return `${shown} contains a NUL character`;
  if (/[\u0001-\u001f\u007f]/.test(path)) return `${shown} contains a control character`;
  if (path.includes("\\")) return `${shown} contains a backslash: separate folders with /`;
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path)) return `${shown} is absolute: give a path relative to the folder, inside the project`;
  const parts = path.split("/");
  if (parts.includes("..")) return `${shown} contains "..": it must stay inside the project`;
  if (parts.some((part) => part === "" || part === ".")) return `${shown} has an empty or "." part: write it as a/b/c, inside the project`;
  return undefined;
}

/**
 * A template file's text, read without following links: "missing", or what is wrong, when it
 * cannot be used. A link could point anywhere on the machine, so none is followed, not even one
 * that stays inside the folder.
 */
async function readTemplateFile(
  fs: FileSystem,
  dir: string,
  path: string,
): Promise<{ state: "file"; text: string } | { state: "missing" } | { state: "unusable"; problem: string }> {
  const parts = path.split("/");
  for (let i = 1; i <= parts.length; i++) {
    const partial = parts.slice(0, i).join("/");
    let info: Awaited<ReturnType<FileSystem["lstat"]>>;
    try {
      info = await fs.lstat(join(dir, partial));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return { state: "missing" };
      throw error;
    }
    const last = i === parts.length;
    const it = last ? "is" : `is in ${partial}, which is`;
    if (info.isSymbolicLink()) {
      return { state: "unusable", problem: `${it} a symbolic link: a template is read without following links; put the file itself there` };
    }
    if (!last && !info.isDirectory()) return { state: "unusable", problem: `${it} a file, not a folder` };
    if (last && !info.isFile()) return { state: "unusable", problem: "is not a regular file" };
  }
  return { state: "file", text: await fs.readFile(join(dir, path), "utf8") };
}

/** Handlebars' own errors (with the line), and partials the template uses that the manifest does not list. */
function compileProblems(path: string, source: string, partials: ReadonlySet<string>): string[] {
  let ast: hbs.AST.Program;
  try {
    ast = Handlebars.parse(source);
    Handlebars.precompile(ast, compileOptions());
  } catch (error) {
    const what = describeCompileError(error as Error & { lineNumber?: number });
    return [`${path}${what.startsWith("line ") ? ", " : ": "}${what}`];
  }
  const problems: string[] = [];
  const inline = new Set<string>();
  const used: { name: string | undefined; line: number }[] = [];
  walk(ast, (node) => {
    if (node.type === "DecoratorBlock" || node.type === "Decorator") {
      const decorator = node as hbs.AST.Decorator;
      const name = (decorator.params[0] as hbs.AST.StringLiteral | undefined)?.value;
      if ((decorator.path as hbs.AST.PathExpression).original === "inline" && typeof name === "string") inline.add(name);
    }
    if (node.type === "PartialStatement" || node.type === "PartialBlockStatement") {
      // A name is a path (`{{> intro}}`), a literal (`{{> "intro"}}`), or computed (a subexpression).
      const name = (node as hbs.AST.PartialStatement).name as hbs.AST.Expression;
      if (name.type === "PathExpression" && (name as hbs.AST.PathExpression).data) return; // {{> @partial-block}}
      const literal =
        name.type === "PathExpression"
          ? (name as hbs.AST.PathExpression).original
          : name.type === "StringLiteral" || name.type === "NumberLiteral"
            ? String((name as hbs.AST.StringLiteral | hbs.AST.NumberLiteral).value)
            : undefined;
      used.push({ name: literal, line: node.loc?.start.line ?? 0 });
    }
  });
  for (const { name, line } of used) {
    if (name === undefined) problems.push(`${path}, line ${line}: a partial's name must be written out ({{> name}}), not computed`);
    else if (!partials.has(name) && !inline.has(name)) {
      problems.push(`${path}, line ${line}: uses the partial ${show(name)}, which manifest.json "partials" does not list`);
    }
  }
  return problems;
}

function describeCompileError(error: Error & { lineNumber?: number }): string {
  const parse = /^Parse error on line (\d+):\n([\s\S]*)$/.exec(error.message);
  if (parse) {
    const [context = "", pointer = "", ...rest] = parse[2]!.split("\n");
    return `line ${parse[1]}: ${rest.join(" ").trim() || "parse error"}, at\n      ${context}\n      ${pointer}`;
  }
  const located = /^(.*) - (\d+):\d+$/s.exec(error.message);
  const message = explainUnknownHelper(located ? located[1]! : error.message);
  if (located) return `line ${located[2]}: ${message}`;
  return error.lineNumber !== undefined ? `line ${error.lineNumber}: ${message}` : message;
}

/** Handlebars blames "knownHelpersOnly", an option the template's author never set: say what they can use instead. */
function explainUnknownHelper(message: string): string {
  const helper = /^You specified knownHelpersOnly, but used the unknown helper (.+)$/.exec(message)?.[1];
  if (!helper) return message;
  return `there is no helper ${JSON.stringify(helper)}: a template can use ${HELPERS.join(", ")} and Handlebars' own (if, unless, each, with, lookup)`;
}

/** Every node under `node`, depth first. */
function walk(node: unknown, visit: (node: hbs.AST.Node) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, visit);
    return;
  }
  if (!node || typeof node !== "object") return;
  if (typeof (node as { type?: unknown }).type === "string") visit(node as hbs.AST.Node);
  for (const [key, value] of Object.entries(node)) if (key !== "loc") walk(value, visit);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function unknownKeys(value: Record<string, unknown>, known: string[]): string[] {
  return Object.keys(value).filter((key) => !known.includes(key));
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}
