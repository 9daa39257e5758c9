/**
 * Escapers for each context a user's value can land in. Validation already
 * limits most values to safe characters; these make the output parse and mean
 * what the user typed even if a rule is loosened later (SPEC §7).
 */

/**
 * A JSON value that is also a valid JavaScript/TypeScript expression:
 * JSON.stringify escapes quotes, backslashes and control characters, so
 * `"`, `\`, a newline or `{{` in a value stays inert text. U+2028/U+2029 are
 * escaped too, for tools that still treat them as line ends.
 */
export function jsonLiteral(value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError(`cannot render ${String(value)} as JSON`);
  return json.replace(/[\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16)}`);
}

/** jsonLiteral for inside an HTML `<script>` element: `</script>` and `<!--` cannot end it early. */
export function scriptJsonLiteral(value: unknown): string {
  return jsonLiteral(value).replace(/[<>&]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
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
