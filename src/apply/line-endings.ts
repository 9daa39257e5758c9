/**
 * Merges and comparisons work on LF text; a file keeps the line endings it
 * had on disk (a Windows checkout with core.autocrlf has CRLF everywhere).
 */
export type Eol = "\n" | "\r\n";

export function toLf(text: string): string {
  return text.replace(/\r\n/g, "\n");
}

/** CRLF when most of the file's line breaks are CRLF, else LF. */
export function eolOf(text: string): Eol {
  const breaks = text.match(/\n/g)?.length ?? 0;
  const crlf = text.match(/\r\n/g)?.length ?? 0;
  return breaks > 0 && crlf * 2 > breaks ? "\r\n" : "\n";
}

/** LF text → text with the given line endings. */
export function withEol(lfText: string, eol: Eol): string {
  return eol === "\n" ? lfText : lfText.replace(/\n/g, "\r\n");
}

/** Same contents, ignoring LF vs CRLF. */
export function sameText(a: string, b: string): boolean {
  return a === b || toLf(a) === toLf(b);
}
