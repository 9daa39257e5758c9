// @ts-check
// `--lang js` (SPEC §3.2): the JavaScript templates are derived from the TypeScript ones when
// this package is built, so there is one set of templates to maintain and the CLI carries no
// compiler. Every manifest entry whose path ends in .ts/.mts (not .d.ts) and that has no `lang`
// condition gets a JavaScript twin under templates/js/ (build output, git-ignored, published);
// src/render/templates.ts applies the same rule when it loads the manifest.
//
// The conversion edits the TypeScript source text instead of printing a new tree, so comments
// and blank lines stay where the author put them:
// - types become JSDoc an editor reads: interfaces and type aliases `@typedef`, annotations on
//   functions `@param`/`@returns`/`@template`, on variables and fields `@type`, casts
//   `/** @type {T} */ (x)`, `satisfies` `@satisfies`, type-only imports `@import`;
// - what JavaScript cannot say is removed: modifiers such as `readonly`, `!`, type arguments,
//   `declare` statements. Syntax with run-time meaning that JavaScript lacks (enums, namespaces,
//   parameter properties) stops the build with the place to fix: templates are written in
//   TypeScript's erasable subset.
// In .hbs templates, Handlebars tags are first replaced by placeholders the TypeScript parser and
// Biome accept (an own-line block tag becomes a line comment, an inline one a block comment, an
// expression an identifier as long as the tag), and put back at the end; JSDoc written away from
// the code it describes (a `@param` for a parameter inside `{{#if}}…{{/if}}`) gets the same tags
// around it. Biome then formats the result with the settings of the lint feature's biome.json.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, posix, relative } from "node:path";
import { transformSync } from "esbuild";
import ts from "typescript";
import { importFromSrc } from "./from-src.mjs";

/** @typedef {import("../src/render/manifest.ts").ManifestEntry} ManifestEntry */

// The CLI's own rule for which files have a JavaScript twin and what it is called.
const { hasJsTwin, JS_TEMPLATES_DIR, jsTwinOf, jsTwinPath } = await importFromSrc("src/render/js-twins.ts");

/**
 * Writes the JavaScript twin of every template that has one into `templatesDir`/js/, replacing
 * what was there. Returns the twins' template paths.
 * @param {string} templatesDir
 * @param {{ biome?: string }} [options] `biome`: the Biome binary (default: this repository's)
 * @returns {string[]}
 */
export function writeJsTemplates(templatesDir, options = {}) {
  const manifest = JSON.parse(readFileSync(join(templatesDir, "manifest.json"), "utf8"));
  /** @type {ManifestEntry[]} */
  const entries = manifest.files.filter(hasJsTwin);
  // Mentions of the project's TypeScript files in comments and strings (`see index.ts`) follow them.
  /** @type {Map<string, string>} */
  const renames = new Map();
  for (const entry of manifest.files) {
    if (!hasJsTwin(entry) && !/(^|\/)tsconfig\.json$/.test(entry.path)) continue;
    const to = jsTwinPath(entry.path);
    renames.set(entry.path, to);
    renames.set(basename(entry.path), basename(to));
  }
  /** @type {Map<string, { code: string; restore: (text: string) => string; format: boolean }>} */
  const converted = new Map();
  for (const entry of entries) {
    const twin = jsTwinOf(entry);
    if (converted.has(twin.template)) continue;
    const source = readFileSync(join(templatesDir, entry.template), "utf8");
    converted.set(
      twin.template,
      /\.json(\.hbs)?$/.test(entry.template)
        ? { code: renameConfigPaths(source, entry.path, renames), restore: (text) => text, format: false }
        : { ...toJavaScript(source, entry.template, { handlebars: !entry.raw, renames }), format: true },
    );
  }
  const formatted = formatWithBiome(
    new Map([...converted].filter(([, { format }]) => format).map(([path, { code }]) => [path, code])),
    JSON.parse(readFileSync(join(templatesDir, "features", "lint", "biome.json"), "utf8")),
    options.biome,
  );
  // Written only where different, each file renamed into place: a test run and a build may do
  // this at the same time, and neither may read half a file.
  const outDir = join(templatesDir, JS_TEMPLATES_DIR);
  for (const [path, { code, restore }] of converted) {
    const file = join(templatesDir, path);
    const text = restore(formatted.get(path) ?? code);
    if (existsSync(file) && readFileSync(file, "utf8") === text) continue;
    mkdirSync(dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, text);
    renameSync(temporary, file);
  }
  if (existsSync(outDir)) {
    for (const entry of readdirSync(outDir, { recursive: true, withFileTypes: true })) {
      const path = relative(templatesDir, join(entry.parentPath, entry.name)).replaceAll("\\", "/");
      if (entry.isFile() && !converted.has(path) && !path.endsWith(".tmp")) rmSync(join(templatesDir, path));
    }
  }
  return [...converted.keys()];
}

/**
 * test/tsconfig.json → test/jsconfig.json: the paths in it that name renamed files follow them
 * (`"extends": "../tsconfig.json"` → `"../jsconfig.json"`, `"../vitest.config.ts"` → `.js`),
 * relative to where the file is; the rest is the same.
 * @param {string} source
 * @param {string} path the file's path in the project
 * @param {Map<string, string>} renames project paths → their JavaScript twins'
 */
function renameConfigPaths(source, path, renames) {
  const dir = posix.dirname(path);
  return source.replace(/"((?:\.{1,2}\/)[^"]*|[^"/]+\.(?:m?ts|json))"/g, (whole, value) => {
    const to = renames.get(posix.normalize(posix.join(dir, value)));
    if (!to) return whole;
    const moved = posix.relative(dir, to);
    return JSON.stringify(value.startsWith("./") && !moved.startsWith(".") ? `./${moved}` : moved);
  });
}

/**
 * One template, TypeScript → JavaScript, not yet formatted: `code` is what Biome formats, and
 * `restore` puts the Handlebars tags back into the formatted text.
 * @param {string} source
 * @param {string} name for messages
 * @param {{ handlebars: boolean; renames?: Map<string, string> }} options `renames`: project files
 *   that change name (`src/index.ts` → `src/index.js`), to follow in comments and strings
 */
export function toJavaScript(source, name, { handlebars, renames = new Map() }) {
  const hbs = handlebars ? protectHandlebars(source, name) : noHandlebars(source);
  let code = convert(hbs.code, name, hbs);
  code = renameMentions(code, name, renames);
  code = removeEmptyBlocks(code, hbs.blocks);
  try {
    transformSync(code, { loader: "js", format: "esm", sourcefile: name });
  } catch (error) {
    throw new Error(`${name}: the JavaScript made from it does not parse: ${/** @type {Error} */ (error).message}\n${code}`);
  }
  return { code, restore: (/** @type {string} */ text) => restoreDocTags(hbs.restore(text)) };
}

/**
 * Own-line tags written into JSDoc by `docComment`.
 * @param {string} text
 */
function restoreDocTags(text) {
  return text.replace(/^[ \t]*\*?[ \t]*\/\/@@TAG(".*")@@[ \t]*$/gm, (_, tag) => JSON.parse(tag));
}

// ─── Handlebars placeholders ────────────────────────────────────────────────────────────────

/**
 * @typedef {object} Tag
 * @property {string} text the tag as written
 * @property {"open" | "else" | "close" | "comment" | "partial" | "expr"} kind
 * @property {boolean} ownLine alone on its line (Handlebars removes the line: a "standalone" tag)
 * @property {string} marker what stands in for it in the code
 */

/**
 * @typedef {object} Block
 * @property {number} open tag index
 * @property {number[]} elses
 * @property {number} close
 * @property {string} helper `if`, `unless`, `each`…
 */

/**
 * @typedef {object} Protected
 * @property {string} code
 * @property {Tag[]} tags
 * @property {Block[]} blocks
 * @property {(text: string) => string} restore
 */

const TAG = /\{\{!--[\s\S]*?--\}\}|\{\{\{?[\s\S]*?\}?\}\}/g;

/** @param {string} text */
function tagKind(text) {
  if (text.startsWith("{{!")) return "comment";
  const inner = text.replace(/^\{\{\{?~?\s*/, "").replace(/\s*~?\}?\}\}$/, "");
  if (inner === "else" || inner.startsWith("else ") || inner === "^") return "else";
  if (inner.startsWith("#") || inner.startsWith("^")) return "open";
  if (inner.startsWith("/")) return "close";
  if (inner.startsWith(">")) return "partial";
  return "expr";
}

/**
 * @param {string} source
 * @returns {Protected}
 */
function noHandlebars(source) {
  return { code: source, tags: [], blocks: [], restore: (text) => text };
}

/**
 * @param {string} source
 * @param {string} name
 * @returns {Protected}
 */
function protectHandlebars(source, name) {
  /** @type {Tag[]} */
  const tags = [];
  /** @type {Map<number, { before: string; after: string }>} */
  const spacing = new Map();
  const code = source.replace(TAG, (text, offset) => {
    const kind = /** @type {Tag["kind"]} */ (tagKind(text));
    const lineStart = source.lastIndexOf("\n", offset - 1) + 1;
    const lineEnd = source.indexOf("\n", offset) === -1 ? source.length : source.indexOf("\n", offset);
    const ownLine = kind !== "expr" && !source.slice(lineStart, offset).trim() && !source.slice(offset + text.length, lineEnd).trim();
    const index = tags.length;
    let marker;
    if (ownLine) marker = `//@@HBS${index}@@`;
    else if (kind === "expr") marker = `$HBS${index}`.padEnd(Math.max(text.length - 1, `$HBS${index}`.length + 1), "_") + "$";
    else if (kind === "partial") throw new Error(`${name}: a partial ({{> …}}) must be alone on its line in code templates: ${text}`);
    else {
      marker = `/*@@HBS${index}@@*/`;
      spacing.set(index, { before: /[ \t]$/.test(source.slice(lineStart, offset)) ? " " : "", after: /^[ \t]/.test(source.slice(offset + text.length)) ? " " : "" });
    }
    tags.push({ text, kind, ownLine, marker });
    return marker;
  });

  /** @type {Block[]} */
  const blocks = [];
  /** @type {Block[]} */
  const stack = [];
  tags.forEach((tag, index) => {
    if (tag.kind === "open") {
      const helper = /^\{\{~?\s*[#^]\s*([\w-]+)/.exec(tag.text)?.[1] ?? "";
      const block = { open: index, elses: [], close: -1, helper };
      stack.push(block);
      blocks.push(block);
    } else if (tag.kind === "else") {
      const block = stack.at(-1);
      if (!block) throw new Error(`${name}: ${tag.text} outside a block`);
      block.elses.push(index);
    } else if (tag.kind === "close") {
      const block = stack.pop();
      if (!block) throw new Error(`${name}: ${tag.text} closes no block`);
      block.close = index;
    }
  });
  if (stack.length) throw new Error(`${name}: ${tags[stack[0].open].text} is never closed`);

  /** @param {string} text */
  const restore = (text) =>
    text
      // Own-line tags, also those written into JSDoc (` * //@@HBS3@@`): the whole line is the tag.
      .replace(/^[ \t]*(?:\*[ \t]*)?\/\/@@HBS(\d+)@@[ \t]*$/gm, (_, index) => tags[Number(index)].text)
      // Inline tags: the spacing around them as the template had it, not as Biome chose.
      .replace(/(?<=\S)[ \t]*\/\*@@HBS(\d+)@@\*\/[ \t]*(?=(.?))/g, (_, index, next) => {
        const around = spacing.get(Number(index)) ?? { before: "", after: "" };
        return `${around.before}${tags[Number(index)].text}${next && next !== "\n" ? around.after : ""}`;
      })
      .replace(/\/\*@@HBS(\d+)@@\*\/[ \t]*(?=(.?))/g, (_, index, next) => {
        const around = spacing.get(Number(index)) ?? { before: "", after: "" };
        return `${tags[Number(index)].text}${next && next !== "\n" ? around.after : ""}`;
      })
      .replace(/\$HBS(\d+)_*\$/g, (_, index) => tags[Number(index)].text);
  return { code, tags, blocks, restore };
}

/**
 * Blocks that conversion left with nothing inside (`{{#if x}}…{{else}}…{{/if}}` around type-only
 * imports) go, tags and all.
 * @param {string} code
 * @param {Block[]} blocks
 */
function removeEmptyBlocks(code, blocks) {
  const lines = code.split("\n");
  const markerOf = (/** @type {string} */ line) => /^[ \t]*\/\/@@HBS(\d+)@@[ \t]*$/.exec(line)?.[1];
  for (let changed = true; changed; ) {
    changed = false;
    for (const block of blocks) {
      const open = lines.findIndex((line) => markerOf(line) === String(block.open));
      const close = lines.findIndex((line) => markerOf(line) === String(block.close));
      if (open < 0 || close < open) continue;
      const elses = block.elses.map(String);
      if (lines.slice(open + 1, close).every((line) => !line.trim() || elses.includes(markerOf(line) ?? ""))) {
        lines.splice(open, close - open + 1);
        changed = true;
      }
    }
  }
  return lines.join("\n");
}

// ─── TypeScript → JavaScript ────────────────────────────────────────────────────────────────

/**
 * @typedef {object} Edit
 * @property {number} start
 * @property {number} end
 * @property {string} text
 * @property {number} [order] among edits at one position: lower goes first
 */

/**
 * A branch of a Handlebars block that a line written elsewhere (JSDoc, an `@import`) must stay in:
 * the block's tags, and which branch (0 before any `{{else}}`, 1 after the first…).
 * @typedef {object} Condition
 * @property {number} id
 * @property {string} helper
 * @property {string} open
 * @property {string[]} elses
 * @property {string} close
 * @property {number} branch
 */

/**
 * @typedef {object} DocLine
 * @property {string} text
 * @property {Condition[]} path the conditions it is under, outermost first
 */

const REMOVED_MODIFIERS = new Set([
  ts.SyntaxKind.PublicKeyword,
  ts.SyntaxKind.PrivateKeyword,
  ts.SyntaxKind.ProtectedKeyword,
  ts.SyntaxKind.ReadonlyKeyword,
  ts.SyntaxKind.OverrideKeyword,
]);

/**
 * @param {string} code TypeScript, with placeholders for Handlebars tags
 * @param {string} name
 * @param {Protected} hbs
 */
function convert(code, name, hbs) {
  const sf = ts.createSourceFile(name.replace(/\.hbs$/, ""), code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const parseErrors = /** @type {{ parseDiagnostics: ts.Diagnostic[] }} */ (/** @type {unknown} */ (sf)).parseDiagnostics;
  if (parseErrors.length) {
    throw new Error(`${name}: not valid TypeScript: ${ts.flattenDiagnosticMessageText(parseErrors[0].messageText, "\n")} at ${where(parseErrors[0].start ?? 0)}`);
  }
  /** @type {Edit[]} */
  const edits = [];
  /** @type {Map<ts.Node, { lines: DocLine[]; inline: boolean }>} */
  const docs = new Map();
  /** @type {{ module: string; clause: string; node: ts.Node }[]} */
  const typeImports = [];
  const valueNames = valueReferences(sf);

  /** @param {number} pos */
  function where(pos) {
    const { line, character } = ts.getLineAndCharacterOfPosition(sf, pos);
    return `${name}:${line + 1}:${character + 1}`;
  }
  /** @param {ts.Node} node @param {string} what */
  function refuse(node, what) {
    return new Error(`${where(node.getStart(sf))}: ${what} has no JavaScript equivalent; write the template in TypeScript's erasable syntax (${node.getText(sf).split("\n")[0]})`);
  }
  /** @param {number} start @param {number} end @param {string} [text] @param {number} [order] */
  const edit = (start, end, text = "", order = 0) => edits.push({ start, end, text, order });

  // Handlebars blocks as offsets in `code`, to tell which tags enclose a node.
  const markerAt = (/** @type {number} */ index) => code.indexOf(hbs.tags[index].marker);
  const blocks = hbs.blocks.map((block) => ({ ...block, start: markerAt(block.open), end: markerAt(block.close), elseAt: block.elses.map(markerAt) }));

  /**
   * The own-line tags to put around a line written at `at` that describes `node`: the blocks
   * that enclose the node but not the place where the line goes.
   * @param {ts.Node} node @param {number} at
   */
  function conditions(node, at) {
    const start = node.getStart(sf);
    /** @type {Condition[]} */
    const path = [];
    for (const block of blocks) {
      const encloses = (/** @type {number} */ pos) => block.start < pos && pos < block.end;
      if (!encloses(start) || encloses(at)) continue;
      if (block.helper !== "if" && block.helper !== "unless") {
        throw new Error(`${where(start)}: a type inside {{#${block.helper}}} cannot be written into JSDoc outside it; move it out of the block`);
      }
      path.push({
        id: block.open,
        helper: block.helper,
        open: hbs.tags[block.open].text,
        elses: block.elses.map((index) => hbs.tags[index].text),
        close: hbs.tags[block.close].text,
        branch: block.elseAt.filter((pos) => pos < start).length,
      });
    }
    // Blocks come in the order they open: outermost first.
    return { path };
  }

  /**
   * @param {ts.Node} host the node the JSDoc belongs to
   * @param {ts.Node} about the node the line describes
   * @param {string} text
   * @param {{ inline?: boolean }} [options]
   */
  function addDoc(host, about, text, options = {}) {
    let doc = docs.get(host);
    if (!doc) docs.set(host, (doc = { lines: [], inline: options.inline ?? false }));
    doc.lines.push({ text, ...conditions(about, host.getStart(sf)) });
  }

  /**
   * A type's text as written, for JSDoc: continuation lines keep their indentation relative to
   * the line the declaration starts on.
   * @param {ts.Node} type
   */
  function typeText(type) {
    const text = type.getText(sf);
    if (!text.includes("\n")) return text;
    const lineStart = code.lastIndexOf("\n", type.getStart(sf) - 1) + 1;
    const indent = /^[ \t]*/.exec(code.slice(lineStart))?.[0] ?? "";
    return text.replaceAll(`\n${indent}`, "\n");
  }

  /** Removes `: Type` (the colon is just before the type's full start). @param {ts.TypeNode} type */
  function removeAnnotation(type) {
    const colon = code.lastIndexOf(":", type.getFullStart());
    if (colon < 0 || code.slice(colon + 1, type.getFullStart()).trim()) throw new Error(`${where(type.getStart(sf))}: no colon before the type`);
    edit(colon, type.end);
  }

  /** Removes `<…>` around type arguments or parameters. @param {ts.NodeArray<ts.Node>} list */
  function removeAngles(list) {
    const open = code.lastIndexOf("<", list.pos);
    const close = code.indexOf(">", list.end);
    edit(open, close + 1);
  }

  /** @param {ts.Node} token */
  function removeToken(token) {
    let end = token.end;
    while (end < code.length && (code[end] === " " || code[end] === "\t")) end++;
    edit(token.getStart(sf), end);
  }

  /** Removes a statement and, when nothing else is on them, its lines. @param {ts.Node} node */
  function removeStatement(node) {
    const jsDoc = lastJsDoc(node);
    let start = jsDoc ? jsDoc.getStart(sf) : node.getStart(sf);
    const lineStart = code.lastIndexOf("\n", start - 1) + 1;
    if (!code.slice(lineStart, start).trim()) start = lineStart;
    let end = node.end;
    const lineEnd = code.indexOf("\n", end);
    if (lineEnd !== -1 && !code.slice(end, lineEnd).trim()) end = lineEnd + 1;
    edit(start, end);
  }

  /** @param {ts.Node} node */
  const modifiersOf = (node) => (ts.canHaveModifiers(node) ? (ts.getModifiers(node) ?? []) : []);
  /** @param {ts.Node} node @param {ts.SyntaxKind} kind */
  const hasModifier = (node, kind) => modifiersOf(node).some((modifier) => modifier.kind === kind);

  /**
   * Where a function's JSDoc goes: the declaration, the `const` it initialises, the property it
   * is the value of; else inline, right before it.
   * @param {ts.SignatureDeclaration} fn
   * @returns {{ host: ts.Node; inline: boolean }}
   */
  function docHostOf(fn) {
    if (!ts.isArrowFunction(fn) && !ts.isFunctionExpression(fn)) return { host: fn, inline: false };
    const parent = fn.parent;
    const list = ts.isVariableDeclaration(parent) && ts.isVariableDeclarationList(parent.parent) ? parent.parent : undefined;
    if (list && ts.isVariableDeclaration(parent) && parent.initializer === fn && ts.isVariableStatement(list.parent) && list.declarations.length === 1) {
      return { host: list.parent, inline: false };
    }
    if ((ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) && parent.initializer === fn) return { host: parent, inline: false };
    return { host: fn, inline: true };
  }

  /** @param {ts.SignatureDeclaration} fn */
  function convertSignature(fn) {
    const { host, inline } = docHostOf(fn);
    if (fn.typeParameters) {
      removeAngles(fn.typeParameters);
      for (const parameter of fn.typeParameters) addDoc(host, parameter, templateTag(parameter), { inline });
    }
    fn.parameters.forEach((parameter, index) => {
      if (modifiersOf(parameter).length) throw refuse(parameter, "a parameter property");
      if (ts.isIdentifier(parameter.name) && parameter.name.text === "this") throw refuse(parameter, "a `this` parameter");
      if (parameter.questionToken) edit(parameter.questionToken.getStart(sf), parameter.questionToken.end);
      if (!parameter.type) return;
      removeAnnotation(parameter.type);
      const name = ts.isIdentifier(parameter.name) ? parameter.name.text : `param${index}`;
      const optional = parameter.questionToken || parameter.initializer ? `[${name}]` : name;
      let type = typeText(parameter.type);
      if (parameter.dotDotDotToken) type = ts.isArrayTypeNode(parameter.type) ? `...${typeText(parameter.type.elementType)}` : `...${type}`;
      addDoc(host, parameter, `@param {${type}} ${optional}`, { inline });
    });
    if (fn.type) {
      removeAnnotation(fn.type);
      if (fn.type.kind !== ts.SyntaxKind.VoidKeyword) addDoc(host, fn.type, `@returns {${typeText(fn.type)}}`, { inline });
    }
  }

  /** @param {ts.TypeParameterDeclaration} parameter */
  function templateTag(parameter) {
    const constraint = parameter.constraint ? `{${typeText(parameter.constraint)}} ` : "";
    const name = parameter.default ? `[${parameter.name.text}=${typeText(parameter.default)}]` : parameter.name.text;
    return `@template ${constraint}${name}`;
  }

  /** The `@typedef` that stands for an interface or a type alias. @param {ts.InterfaceDeclaration | ts.TypeAliasDeclaration} node */
  function typedef(node) {
    const host = node;
    for (const parameter of node.typeParameters ?? []) addDoc(host, parameter, templateTag(parameter));
    const name = node.name.text;
    if (ts.isTypeAliasDeclaration(node)) {
      addDoc(host, node, `@typedef {${typeText(node.type)}} ${name}`);
    } else if (!node.heritageClauses && node.members.every(simpleProperty)) {
      addDoc(host, node, `@typedef {object} ${name}`);
      for (const member of /** @type {ts.PropertySignature[]} */ ([...node.members])) {
        const key = /** @type {ts.Identifier} */ (member.name).text;
        const about = describe(member);
        addDoc(host, member, `@property {${member.type ? typeText(member.type) : "*"}} ${member.questionToken ? `[${key}]` : key}${about ? ` ${about}` : ""}`);
      }
    } else {
      const bases = (node.heritageClauses ?? []).flatMap((clause) => clause.types.map((type) => typeText(type)));
      const body = code.slice(node.members.pos, node.members.end).trim();
      addDoc(host, node, `@typedef {${[...bases, `{ ${body} }`].join(" & ")}} ${name}`);
    }
    // The declaration goes; its JSDoc is rewritten around the @typedef where it was.
    const jsDoc = lastJsDoc(node);
    const start = jsDoc ? jsDoc.getStart(sf) : node.getStart(sf);
    edit(start, node.end, "", 1);
    typedefs.set(node, start);
  }
  /** @type {string[]} types written into casts, for the `@import`s they need */
  const castTypes = [];
  /** @type {Map<ts.Node, number>} where each typedef goes */
  const typedefs = new Map();

  /** @param {ts.TypeElement} member */
  function simpleProperty(member) {
    return ts.isPropertySignature(member) && ts.isIdentifier(member.name);
  }

  /** A member's own comment, as one or more lines of text. @param {ts.Node} member */
  function describe(member) {
    const jsDoc = lastJsDoc(member);
    if (jsDoc) return commentLines(jsDoc.getText(sf)).join("\n  ");
    const comments = ts.getLeadingCommentRanges(code, member.getFullStart()) ?? [];
    return comments
      .filter((range) => range.kind === ts.SyntaxKind.SingleLineCommentTrivia && !code.slice(range.pos, range.end).startsWith("//@@HBS"))
      .map((range) => code.slice(range.pos + 2, range.end).trim())
      .join("\n  ");
  }

  /** @param {ts.ImportDeclaration} node */
  function convertImport(node) {
    const specifier = /** @type {ts.StringLiteral} */ (node.moduleSpecifier);
    if (/^\.\.?\/.*\.m?ts$/.test(specifier.text)) {
      edit(specifier.getStart(sf), specifier.end, JSON.stringify(specifier.text.replace(/\.(m?)ts$/, ".$1js")));
    }
    const clause = node.importClause;
    if (!clause) return;
    const module = JSON.stringify(specifier.text.replace(/\.(m?)ts$/, ".$1js"));
    const bindings = clause.namedBindings;
    if (clause.isTypeOnly) {
      typeImports.push({ module, clause: clause.getText(sf).replace(/^type\s+/, ""), node });
      removeStatement(node);
      return;
    }
    const isValue = (/** @type {ts.Identifier} */ id) => valueNames.has(id.text);
    const keepDefault = clause.name && isValue(clause.name);
    const named = bindings && ts.isNamedImports(bindings) ? bindings.elements : [];
    const keptNamed = named.filter((element) => !element.isTypeOnly && isValue(element.name));
    const typeNamed = named.filter((element) => !keptNamed.includes(element));
    const namespace = bindings && ts.isNamespaceImport(bindings) ? bindings : undefined;
    const keepNamespace = namespace && isValue(namespace.name);
    if (clause.name && !keepDefault) typeImports.push({ module, clause: clause.name.text, node });
    if (namespace && !keepNamespace) typeImports.push({ module, clause: namespace.getText(sf), node });
    if (typeNamed.length) typeImports.push({ module, clause: `{ ${typeNamed.map((element) => element.getText(sf).replace(/^type\s+/, "")).join(", ")} }`, node });
    if (!(clause.name && !keepDefault) && !(namespace && !keepNamespace) && !typeNamed.length) return;
    const parts = [
      ...(keepDefault && clause.name ? [clause.name.text] : []),
      ...(keepNamespace && namespace ? [namespace.getText(sf)] : []),
      ...(keptNamed.length ? [`{ ${keptNamed.map((element) => element.getText(sf)).join(", ")} }`] : []),
    ];
    if (!parts.length) removeStatement(node);
    else edit(clause.getStart(sf), clause.end, parts.join(", "));
  }

  /** @param {ts.Node} node */
  function visit(node) {
    if (ts.isImportDeclaration(node)) return convertImport(node);
    if (ts.isImportEqualsDeclaration(node)) {
      if (node.isTypeOnly) return removeStatement(node);
      throw refuse(node, "`import … = require()`");
    }
    if (ts.isExportDeclaration(node)) {
      if (node.isTypeOnly) {
        if (node.moduleSpecifier) throw refuse(node, "re-exporting types from another module");
        return removeStatement(node);
      }
      const clause = node.exportClause;
      if (clause && ts.isNamedExports(clause) && clause.elements.some((element) => element.isTypeOnly)) {
        const kept = clause.elements.filter((element) => !element.isTypeOnly);
        if (!kept.length) return removeStatement(node);
        edit(clause.getStart(sf), clause.end, `{ ${kept.map((element) => element.getText(sf)).join(", ")} }`);
      }
      return;
    }
    if (ts.isExportAssignment(node) && node.isExportEquals) throw refuse(node, "`export =`");
    if (hasModifier(node, ts.SyntaxKind.DeclareKeyword)) return removeStatement(node);
    if (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) return typedef(node);
    if (ts.isEnumDeclaration(node)) throw refuse(node, "an enum");
    if (ts.isModuleDeclaration(node)) throw refuse(node, "a namespace");
    if (ts.isIndexSignatureDeclaration(node) && ts.isClassLike(node.parent)) return removeStatement(node);
    if (ts.canHaveDecorators(node) && ts.getDecorators(node)?.length) throw refuse(node, "a decorator");
    if (hasModifier(node, ts.SyntaxKind.AbstractKeyword)) throw refuse(node, "`abstract`");

    for (const modifier of modifiersOf(node)) if (REMOVED_MODIFIERS.has(modifier.kind)) removeToken(modifier);

    if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isConstructorDeclaration(node)) && !node.body) {
      return removeStatement(node); // an overload signature
    }
    if (ts.isFunctionLike(node) && !ts.isTypeNode(node) && !ts.isMethodSignature(node)) convertSignature(/** @type {ts.SignatureDeclaration} */ (node));

    if (ts.isClassLike(node)) {
      if (node.typeParameters) {
        removeAngles(node.typeParameters);
        for (const parameter of node.typeParameters) addDoc(node, parameter, templateTag(parameter));
      }
      for (const clause of node.heritageClauses ?? []) {
        if (clause.token === ts.SyntaxKind.ImplementsKeyword) {
          edit(clause.getFullStart(), clause.end);
          continue;
        }
        const base = clause.types[0];
        if (base?.typeArguments) {
          removeAngles(base.typeArguments);
          addDoc(node, base, `@extends {${typeText(base)}}`);
        }
        if (base) visit(base.expression);
      }
      for (const member of node.members) visit(member);
      return;
    }

    if (ts.isPropertyDeclaration(node)) {
      if (node.questionToken) edit(node.questionToken.getStart(sf), node.questionToken.end);
      if (node.exclamationToken) edit(node.exclamationToken.getStart(sf), node.exclamationToken.end);
      if (node.type) {
        removeAnnotation(node.type);
        addDoc(node, node.type, `@type {${typeText(node.type)}}`);
      }
    }

    if (ts.isVariableDeclaration(node)) {
      if (node.exclamationToken) edit(node.exclamationToken.getStart(sf), node.exclamationToken.end);
      const statement = ts.isVariableDeclarationList(node.parent) && ts.isVariableStatement(node.parent.parent) ? node.parent.parent : undefined;
      const single = statement && statement.declarationList.declarations.length === 1;
      if (node.type) {
        removeAnnotation(node.type);
        if (statement) {
          if (!single) throw refuse(node, "a typed declaration among several in one statement");
          // An async function typed by a function type whose result may also be a plain value
          // (`JWTVerifyGetKey`) cannot have that type declared in JSDoc: TypeScript reads @type on a
          // function as its declared signature, and an async one must declare a Promise. @satisfies
          // types its parameters and checks it the same.
          const asyncFunction = node.initializer && (ts.isArrowFunction(node.initializer) || ts.isFunctionExpression(node.initializer)) && hasModifier(node.initializer, ts.SyntaxKind.AsyncKeyword);
          addDoc(statement, node.type, `@${asyncFunction ? "satisfies" : "type"} {${typeText(node.type)}}`);
        }
      } else if (single && node.initializer && ts.isNewExpression(node.initializer) && node.initializer.typeArguments) {
        // `const keys = new Map<string, Key>()`: the type arguments have no place but the declaration's type.
        const created = node.initializer;
        addDoc(statement, created, `@type {${created.expression.getText(sf)}<${(created.typeArguments ?? []).map(typeText).join(", ")}>}`);
      }
      if (single && node.initializer && ts.isSatisfiesExpression(node.initializer)) {
        addDoc(statement, node.initializer.type, `@satisfies {${typeText(node.initializer.type)}}`);
        edit(node.initializer.expression.end, node.initializer.end);
        visit(node.name);
        visit(node.initializer.expression);
        return;
      }
    }

    if (ts.isAsExpression(node) || ts.isTypeAssertionExpression(node) || ts.isSatisfiesExpression(node)) {
      const tag = ts.isSatisfiesExpression(node) ? "satisfies" : "type";
      const type = ts.isTypeReferenceNode(node.type) && node.type.getText(sf) === "const" ? "const" : typeText(node.type);
      const depth = depthOf(node);
      castTypes.push(type);
      edit(node.getStart(sf), ts.isTypeAssertionExpression(node) ? node.expression.getStart(sf) : node.getStart(sf), `/** @${tag} {${type}} */ (`, depth);
      if (!ts.isTypeAssertionExpression(node)) edit(node.expression.end, node.end, ")");
      else edit(node.end, node.end, ")", -depth);
      visit(node.expression);
      return;
    }
    if (ts.isNonNullExpression(node)) {
      // `issuer!` where `let issuer: string | undefined`: JSDoc says it with a cast to `string`.
      const declared = ts.isIdentifier(node.expression) ? declaredType(node.expression) : undefined;
      const defined = declared && ts.isUnionTypeNode(declared) ? declared.types.filter((type) => !isNullish(type)) : [];
      if (declared && defined.length && defined.length < /** @type {ts.UnionTypeNode} */ (declared).types.length) {
        const type = defined.map(typeText).join(" | ");
        castTypes.push(type);
        edit(node.getStart(sf), node.getStart(sf), `/** @type {${type}} */ (`, depthOf(node));
        edit(node.expression.end, node.end, ")");
      } else {
        edit(node.expression.end, node.end);
      }
      visit(node.expression);
      return;
    }
    if (ts.isCallExpression(node) && node.typeArguments && isEntityName(node.expression)) {
      // `oauth.finishUpstream<UpstreamData>(request)`: JavaScript cannot pass type arguments, but
      // the callee can be cast to its instantiation. The parentheses keep `this` (`(a.b)()` is a
      // method call).
      const type = `typeof ${node.expression.getText(sf)}<${node.typeArguments.map(typeText).join(", ")}>`;
      castTypes.push(type);
      edit(node.expression.getStart(sf), node.expression.getStart(sf), `/** @type {${type}} */ (`, depthOf(node));
      edit(node.expression.end, node.expression.end, ")", -depthOf(node));
      removeAngles(node.typeArguments);
    } else if ((ts.isCallExpression(node) || ts.isNewExpression(node) || ts.isTaggedTemplateExpression(node) || ts.isExpressionWithTypeArguments(node)) && node.typeArguments) {
      removeAngles(node.typeArguments);
    }

    ts.forEachChild(node, (child) => {
      if (ts.isTypeNode(child) && !ts.isExpressionWithTypeArguments(child)) return;
      if (ts.isTypeParameterDeclaration(child)) return;
      if (ts.isHeritageClause(child)) return;
      visit(child);
    });
  }
  /**
   * The type annotation of the variable or parameter `id` names, looked up in the scopes around it.
   * @param {ts.Identifier} id
   */
  function declaredType(id) {
    for (let scope = id.parent; scope; scope = scope.parent) {
      /** @type {ts.VariableDeclaration | ts.ParameterDeclaration | undefined} */
      let found;
      const look = (/** @type {ts.Node} */ node) => {
        if ((ts.isVariableDeclaration(node) || ts.isParameter(node)) && ts.isIdentifier(node.name) && node.name.text === id.text) found ??= node;
        else if (ts.isVariableStatement(node)) node.declarationList.declarations.forEach(look);
      };
      if (ts.isFunctionLike(scope)) scope.parameters.forEach(look);
      if (ts.isBlock(scope) || ts.isSourceFile(scope) || ts.isModuleBlock(scope)) scope.statements.forEach(look);
      // The nearest declaration of the name is the one `id` means, typed or not.
      if (found) return found.type;
    }
    return undefined;
  }
  /** @param {ts.TypeNode} type */
  const isNullish = (type) =>
    type.kind === ts.SyntaxKind.UndefinedKeyword || (ts.isLiteralTypeNode(type) && type.literal.kind === ts.SyntaxKind.NullKeyword);
  /** @param {ts.Node} node @returns {boolean} */
  const isEntityName = (node) => ts.isIdentifier(node) || (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.name) && isEntityName(node.expression));

  /** @param {ts.Node} node */
  function depthOf(node) {
    let depth = 0;
    for (let parent = node.parent; parent; parent = parent.parent) depth++;
    return depth;
  }

  for (const statement of sf.statements) visit(statement);

  // JSDoc: merged into the declaration's own comment, or written before it.
  /** @type {string[]} */
  const docTexts = [];
  for (const [host, doc] of docs) {
    docTexts.push(...doc.lines.map((line) => line.text));
    const jsDoc = lastJsDoc(host);
    const at = typedefs.get(host) ?? (jsDoc ? jsDoc.getStart(sf) : host.getStart(sf));
    const lineStart = code.lastIndexOf("\n", at - 1) + 1;
    const ownLine = !code.slice(lineStart, at).trim();
    const indent = ownLine ? code.slice(lineStart, at) : "";
    const text = docComment(jsDoc ? commentLines(jsDoc.getText(sf)) : [], doc.lines, indent, doc.inline || !ownLine);
    if (typedefs.has(host)) edit(at, at, text, 0);
    else if (jsDoc) edit(jsDoc.getStart(sf), jsDoc.end, text.trimEnd());
    else edit(at, at, doc.inline || !ownLine ? `${text} ` : `${text}\n${indent}`, -1);
  }

  // Type-only imports: `@import` comments after the imports, for the names JSDoc uses.
  const used = [...docTexts, ...castTypes].join("\n");
  const imports = typeImports
    .map((entry) => ({ ...entry, clause: usedNames(entry.clause, used) }))
    .filter((entry) => entry.clause);
  if (imports.length) {
    const lastImport = [...sf.statements].reverse().find(ts.isImportDeclaration);
    let at = code.indexOf("\n", /** @type {ts.Node} */ (lastImport).end) + 1 || code.length;
    // Past the own-line tags that close blocks of imports.
    for (let match; (match = /^[ \t]*\/\/@@HBS(\d+)@@\n/.exec(code.slice(at))) && hbs.tags[Number(match[1])].kind === "close"; ) at += match[0].length;
    const lines = imports.map(({ module, clause, node }) => ({ text: `@import ${clause} from ${module}`, ...conditions(node, at) }));
    // One comment per module; those under a condition inside its block.
    const comment = conditionalLines(lines, (line) => importComment(line.text), tagLine).join("\n");
    const blankAfter = /^[ \t]*\n/.test(code.slice(at));
    edit(at, at, `\n${comment}\n${blankAfter ? "" : "\n"}`, -2);
  }

  return applyEdits(code, edits, name);
}

/**
 * A one-line JSDoc comment with `@import { A, B } from "m"`, or one name a line when that line would
 * be longer than Biome's.
 * @param {string} text
 */
function importComment(text) {
  const single = `/** ${text} */`;
  const names = /^@import \{ (.*) \} (from .*)$/.exec(text);
  if (single.length <= 120 || !names) return single;
  return ["/**", " * @import {", ...names[1].split(", ").map((name) => ` *   ${name},`), ` * } ${names[2]}`, " */"].join("\n");
}

/**
 * Keeps the names of an import clause (`{ A, B as C }`, `* as N`, `D`) that `used` mentions.
 * @param {string} clause @param {string} used
 */
function usedNames(clause, used) {
  const mentioned = (/** @type {string} */ local) => new RegExp(`(?<![\\w$.])${local.replace(/\$/g, "\\$")}(?![\\w$])`).test(used);
  if (!clause.startsWith("{")) return mentioned(clause.split(/\s+/).at(-1) ?? "") ? clause : "";
  const names = clause
    .slice(1, -1)
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name && mentioned(name.split(/\s+/).at(-1) ?? ""));
  return names.length ? `{ ${names.join(", ")} }` : "";
}

/**
 * A JSDoc comment from the lines of an existing one and new tag lines (each in the own-line tags
 * of its conditions, written as markers that `restore` turns back into tags).
 * @param {string[]} existing
 * @param {DocLine[]} added
 * @param {string} indent
 * @param {boolean} inline
 * @returns {string}
 */
function docComment(existing, added, indent, inline) {
  const lines = [...existing];
  /** @type {DocLine[]} */
  const rest = [];
  for (const line of added) {
    // `@param name description` already there, with no type: give it the type.
    const param = /^@param (\{[\s\S]*\}) \[?([\w$]+)/.exec(line.text);
    const returns = /^@returns (\{[\s\S]*\})$/.exec(line.text);
    const pattern = param ? new RegExp(`^@param\\s+\\[?${param[2].replace(/\$/g, "\\$")}\\b`) : returns ? /^@returns?(\s|$)/ : undefined;
    const index = pattern && !line.path.length ? lines.findIndex((text) => pattern.test(text)) : -1;
    const type = param?.[1] ?? returns?.[1];
    if (index >= 0 && type) lines[index] = lines[index].replace(/^@(\w+)\s*/, `@$1 ${type} `).trimEnd();
    else rest.push(line);
  }
  /** @type {DocLine[]} */
  const body = [...lines.map((text) => ({ text, path: [] })), ...rest];
  const conditional = body.filter((line) => line.path.length);
  const plain = body.filter((line) => !line.path.length);
  if (!conditional.length && body.length === 1 && !body[0].text.includes("\n")) return `/** ${body[0].text} */`;
  // One line that is always there and more under one {{#if}}: a one-line comment when the
  // condition is false, rather than three lines around one.
  const only = conditional[0]?.path[0];
  if (
    !inline &&
    only &&
    plain.length === 1 &&
    !plain[0].text.includes("\n") &&
    conditional.every((line) => line.path.length === 1 && line.path[0].id === only.id && line.path[0].branch === 0) &&
    (only.helper === "if" || only.helper === "unless") &&
    only.elses.length === 0
  ) {
    const full = docComment([], body.map((line) => ({ ...line, path: [] })), indent, false);
    return [tagLine(only.open), full, tagLine("{{else}}"), `/** ${plain[0].text} */`, tagLine(only.close)].join(`\n${indent}`);
  }
  const out = [
    "/**",
    ...conditionalLines(
      body,
      (line) => line.text.split("\n").map((text) => (text ? ` * ${text}` : " *")).join(`\n${indent}`),
      (tag) => ` * ${tagLine(tag)}`,
    ),
    " */",
  ];
  return out.join(`\n${inline ? "" : indent}`);
}

/**
 * Lines under conditions, with the tags around them: consecutive lines under the same conditions
 * share a block, and a line in a later branch of the block just left follows an `{{else}}`.
 * @param {DocLine[]} lines
 * @param {(line: DocLine) => string} render
 * @param {(tag: string) => string} marker
 * @returns {string[]}
 */
function conditionalLines(lines, render, marker) {
  /** @type {string[]} */
  const out = [];
  /** @type {Condition[]} */
  let open = [];
  const same = (/** @type {Condition} */ a, /** @type {Condition} */ b) => a.id === b.id && a.branch === b.branch;
  for (const line of [...lines, undefined]) {
    const path = line?.path ?? [];
    let k = 0;
    while (k < open.length && k < path.length && same(open[k], path[k])) k++;
    const sibling = k < open.length && k < path.length && open[k].id === path[k].id && path[k].branch > open[k].branch;
    for (const condition of open.slice(sibling ? k + 1 : k).reverse()) out.push(marker(condition.close));
    if (sibling) out.push(...path[k].elses.slice(open[k].branch, path[k].branch).map(marker));
    for (const condition of path.slice(sibling ? k + 1 : k)) out.push(...[condition.open, ...condition.elses.slice(0, condition.branch)].map(marker));
    if (line) out.push(render(line));
    open = path;
  }
  return out;
}

/**
 * A Handlebars tag the conversion writes, as a line comment `restoreDocTags` turns back into it.
 * @param {string} tag
 */
function tagLine(tag) {
  return `//@@TAG${JSON.stringify(tag)}@@`;
}

/**
 * The text of a JSDoc comment, line by line, without the `/**`, `*` and `* /` framing.
 * @param {string} comment
 */
function commentLines(comment) {
  const lines = comment
    .replace(/^\/\*\*/, "")
    .replace(/\*\/$/, "")
    .split("\n")
    .map((line) => line.replace(/^\s*\* ?/, "").trimEnd());
  while (lines.length && !lines[0].trim()) lines.shift();
  while (lines.length && !lines.at(-1)?.trim()) lines.pop();
  return lines.map((line, index) => (index === 0 ? line.trim() : line));
}

/** @param {ts.Node} node @returns {ts.JSDoc | undefined} */
function lastJsDoc(node) {
  const docs = /** @type {{ jsDoc?: ts.JSDoc[] }} */ (/** @type {unknown} */ (node)).jsDoc;
  return docs?.at(-1);
}

/**
 * Names used as values anywhere (not only in types): an import of anything else is type-only
 * in JavaScript.
 * @param {ts.SourceFile} sf
 */
function valueReferences(sf) {
  /** @type {Set<string>} */
  const names = new Set();
  /** @param {ts.Node} node */
  const walk = (node) => {
    if (ts.isImportDeclaration(node) || ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) return;
    if (ts.isTypeNode(node) && !(ts.isExpressionWithTypeArguments(node) && ts.isHeritageClause(node.parent) && node.parent.token === ts.SyntaxKind.ExtendsKeyword)) return;
    if (ts.isHeritageClause(node) && node.token === ts.SyntaxKind.ImplementsKeyword) return;
    if (ts.isExportDeclaration(node) && node.isTypeOnly) return;
    if (ts.isIdentifier(node)) names.add(node.text);
    ts.forEachChild(node, walk);
  };
  walk(sf);
  return names;
}

/**
 * @param {string} code @param {Edit[]} edits @param {string} name
 */
function applyEdits(code, edits, name) {
  const sorted = edits
    .map((edit, index) => ({ ...edit, index }))
    .sort((a, b) => a.start - b.start || (a.end === a.start ? 0 : 1) - (b.end === b.start ? 0 : 1) || (a.order ?? 0) - (b.order ?? 0) || a.index - b.index);
  let out = "";
  let cursor = 0;
  for (const edit of sorted) {
    if (edit.start < cursor) {
      // Removing a range inside one already removed (a modifier of a removed statement) is fine.
      if (edit.end <= cursor && !edit.text) continue;
      throw new Error(`${name}: overlapping edits at offset ${edit.start}: ${JSON.stringify(code.slice(edit.start, edit.end))}`);
    }
    out += code.slice(cursor, edit.start) + edit.text;
    cursor = Math.max(cursor, edit.end);
  }
  return out + code.slice(cursor);
}

/**
 * `index.ts` → `index.js` in comments, and `"src/index.ts"` → `"src/index.js"` in strings, for the
 * files that are renamed; nothing else (`worker-configuration.d.ts` stays).
 * @param {string} code JavaScript
 * @param {string} name
 * @param {Map<string, string>} renames
 */
function renameMentions(code, name, renames) {
  if (!renames.size) return code;
  const sf = ts.createSourceFile(name.replace(/\.(m?)ts(\.hbs)?$/, ".$1js"), code, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  /** @type {Edit[]} */
  const edits = [];
  const seen = new Set();
  const inComment = (/** @type {ts.CommentRange} */ range) => {
    if (seen.has(range.pos)) return;
    seen.add(range.pos);
    const text = code.slice(range.pos, range.end);
    const renamed = text.replace(/(?<![\w./-])((?:[\w.-]+\/)*[\w.-]+\.m?ts)\b/g, (path) => renames.get(path) ?? path);
    if (renamed !== text) edits.push({ start: range.pos, end: range.end, text: renamed });
  };
  /** @param {ts.Node} node */
  const walk = (node) => {
    for (const range of ts.getLeadingCommentRanges(code, node.getFullStart()) ?? []) inComment(range);
    for (const range of ts.getTrailingCommentRanges(code, node.end) ?? []) inComment(range);
    if (ts.isStringLiteral(node) && renames.has(node.text.replace(/^\.\//, ""))) {
      const to = /** @type {string} */ (renames.get(node.text.replace(/^\.\//, "")));
      edits.push({ start: node.getStart(sf), end: node.end, text: JSON.stringify(node.text.startsWith("./") ? `./${to}` : to) });
    }
    ts.forEachChild(node, walk);
  };
  walk(sf);
  return applyEdits(code, edits, name);
}

// ─── Formatting ─────────────────────────────────────────────────────────────────────────────

/**
 * Formats JavaScript with Biome, configured like the lint feature's biome.json (the generated
 * project's own `npm run lint` must find nothing to change). Imports are not reordered here: the
 * order comes from the TypeScript templates, and moving an import across a `{{#if}}` placeholder
 * would change what it depends on.
 * @param {Map<string, string>} files
 * @param {Record<string, unknown>} lintConfig
 * @param {string} [biome]
 */
export function formatWithBiome(files, lintConfig, biome = join(import.meta.dirname, "..", "node_modules", ".bin", "biome")) {
  const dir = mkdtempSync(join(tmpdir(), "js-templates-"));
  try {
    const { $schema: _, vcs: __, files: ___, assist: ____, ...settings } = lintConfig;
    writeFileSync(join(dir, "biome.json"), JSON.stringify(settings));
    const names = [...files.keys()].map((path, index) => ({ path, name: `${index}.js` }));
    for (const { path, name } of names) writeFileSync(join(dir, name), files.get(path) ?? "");
    execFileSync(biome, ["format", "--write", ...names.map(({ name }) => name)], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    return new Map(names.map(({ path, name }) => [path, readFileSync(join(dir, name), "utf8")]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const written = writeJsTemplates(process.argv[2] ?? "templates");
  console.log(`${written.length} JavaScript templates in templates/${JS_TEMPLATES_DIR}/`);
}
