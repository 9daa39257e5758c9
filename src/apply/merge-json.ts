import { applyEdits, type FormattingOptions, modify, parse, type ParseError, visit } from "jsonc-parser";
import { eolOf, toLf, withEol } from "./line-endings.js";
import { type MergeInput, type MergeOutcome, mergeText, wholeFileConflict } from "./merge-text.js";

/**
 * JSON and JSONC files the project shares with the user: npm, wrangler and
 * the editor rewrite them, and users add dependencies, scripts and bindings.
 * They are merged key by key, so edits in different keys never conflict even
 * on neighbouring lines (the comma after the last property would).
 */
export const JSON_MERGED_FILES: ReadonlySet<string> = new Set(["package.json", "wrangler.jsonc", "tsconfig.json", "jsconfig.json"]);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonPath = string[];

/**
 * Applies the generator's changes (before → now) to the user's file key by
 * key, with jsonc-parser edits, so the user's comments, order and formatting
 * stay. A key both sides changed differently, or a file that does not parse,
 * falls back to the line merge; a clean line merge that turns the user's
 * valid file into a broken one (a lost comma, a key added twice) becomes one
 * whole-file conflict rather than a broken config reported as merged.
 */
export function mergeJson(input: MergeInput): MergeOutcome {
  return mergeByKey(input) ?? mergeAsText(input);
}

function mergeAsText(input: MergeInput): MergeOutcome {
  const merged = mergeText(input);
  if (merged.conflicts || !isValid(input.yours) || isValid(merged.text)) return merged;
  return wholeFileConflict(input);
}

function isValid(text: string): boolean {
  return parseObject(toLf(text)) !== undefined && !hasDuplicateKeys(text);
}

function hasDuplicateKeys(text: string): boolean {
  const objects: Set<string>[] = [];
  let duplicate = false;
  visit(
    text,
    {
      onObjectBegin: () => void objects.push(new Set()),
      onObjectEnd: () => void objects.pop(),
      onObjectProperty: (name) => {
        const keys = objects.at(-1);
        if (keys?.has(name)) duplicate = true;
        keys?.add(name);
      },
    },
    { allowTrailingComma: true },
  );
  return duplicate;
}

function hasProtoKey(text: string): boolean {
  let found = false;
  visit(text, { onObjectProperty: (name) => void (found ||= name === "__proto__") }, { allowTrailingComma: true });
  return found;
}

function mergeByKey({ before, yours, now }: MergeInput): MergeOutcome | undefined {
  // jsonc-parser builds plain objects, where a `__proto__` key sets the prototype instead of
  // becoming a key: such a file would lose the key here, so the line merge takes it.
  if ([before, yours, now].some(hasProtoKey)) return undefined;
  const [base, mine, next] = [before, yours, now].map((text) => parseObject(toLf(text)));
  if (!base || !mine || !next) return undefined;
  let text = toLf(yours);
  const formattingOptions = formattingOf(text);
  try {
    for (const change of changes(base, next)) {
      const current = valueAt(mine, change.path);
      if (equal(current, change.value)) continue; // the user made the same change
      if (!equal(current, valueAt(base, change.path))) return undefined; // both changed it: let the line merge show it
      const siblings = valueAt(next, change.path.slice(0, -1));
      const order = isObject(siblings) ? Object.keys(siblings) : [];
      const key = change.path.at(-1)!;
      text = applyEdits(text, modify(text, change.path, change.value, { formattingOptions, getInsertionIndex: (keys) => insertionIndex(keys, key, order) }));
    }
  } catch {
    return undefined; // a shape jsonc-parser cannot edit (say, a key under what the user made an array)
  }
  if (!parseObject(text)) return undefined;
  return { text: withEol(text, eolOf(yours)), conflicts: 0 };
}

/** Leaf changes from `before` to `now`: objects are compared key by key, anything else (arrays too) as a whole. */
function changes(before: Json | undefined, now: Json | undefined, path: JsonPath = []): { path: JsonPath; value: Json | undefined }[] {
  if (isObject(before) && isObject(now)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(now)]);
    // Own keys only: a key one side lacks is absent there, not Object.prototype's `toString`.
    return [...keys].flatMap((key) => changes(valueAt(before, [key]), valueAt(now, [key]), [...path, key]));
  }
  return equal(before, now) ? [] : [{ path, value: now }];
}

/**
 * Where a new key goes among the keys the user's object has: in sorted order
 * when the object is sorted (npm keeps dependencies sorted), else after the
 * last key that comes before it in the generator's order.
 */
function insertionIndex(existing: string[], key: string, generatorOrder: string[]): number {
  const sorted = existing.every((name, i) => i === 0 || existing[i - 1]! <= name);
  if (sorted && existing.length > 1) return existing.filter((name) => name < key).length;
  const before = new Set(generatorOrder.slice(0, generatorOrder.indexOf(key)));
  for (let i = existing.length - 1; i >= 0; i--) if (before.has(existing[i]!)) return i + 1;
  return before.size ? existing.length : 0;
}

function formattingOf(text: string): FormattingOptions {
  const indent = /^([ \t]+)\S/m.exec(text)?.[1] ?? "  ";
  return indent.startsWith("\t") ? { insertSpaces: false, tabSize: 1, eol: "\n" } : { insertSpaces: true, tabSize: indent.length, eol: "\n" };
}

function parseObject(text: string): Record<string, Json> | undefined {
  const errors: ParseError[] = [];
  const value = parse(text, errors, { allowTrailingComma: true, disallowComments: false }) as Json;
  return errors.length === 0 && isObject(value) ? value : undefined;
}

function valueAt(value: Json | undefined, path: JsonPath): Json | undefined {
  let current = value;
  for (const key of path) {
    if (!isObject(current) || !Object.hasOwn(current, key)) return undefined;
    current = current[key];
  }
  return current;
}

function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function equal(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => equal(item, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && equal(a[key], b[key]));
  }
  return false;
}
