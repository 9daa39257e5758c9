/**
 * Makes rendered text look hand-written whatever the template's conditionals
 * left behind: no trailing spaces, never more than one blank line in a row,
 * no blank line at the start, exactly one newline at the end.
 */
export function tidy(text: string): string {
  return `${text
    .replace(/\r\n?/g, "\n")
    .replace(/[ \t]+$/gm, "")
    .replace(/\n{3,}/g, "\n\n")
    .replace(/^\n+/, "")
    .trimEnd()}\n`;
}
