/**
 * Escapers for each context a user's value can land in. Validation already
 * limits most values to safe characters; these make the output parse and mean
 * what the user typed even if a rule is loosened later (SPEC §7).
 */

const UNSAFE_IN_SCRIPT: Record<string, string> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

/**
 * A JSON value that is also a valid JavaScript/TypeScript expression and safe
 * inside HTML `<script>`: quotes, backslashes and control characters are
 * escaped by JSON.stringify; `<`, `>`, `&` and the two line separators are
 * escaped on top, so `</script>` or `{{` in a value stays inert text.
 */
export function jsonLiteral(value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError(`cannot render ${String(value)} as JSON`);
  return json.replace(/[<>&\u2028\u2029]/g, (char) => UNSAFE_IN_SCRIPT[char]!);
}

/** Text inside Markdown prose: backslash-escapes what would start markup; newlines become spaces. */
export function markdownText(value: unknown): string {
  return String(value)
    .replace(/[\r\n]+/g, " ")
    .replace(/[\\`*_{}[\]()#+!|<>~]/g, (char) => `\\${char}`);
}

/** Text inside a Markdown code span or fenced block: only a backtick run or newline could break out. */
export function markdownCode(value: unknown): string {
  return String(value).replace(/[\r\n`]+/g, " ");
}
