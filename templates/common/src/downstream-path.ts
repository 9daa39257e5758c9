/** The part of a downstream app's configuration that decides where a tool call may go. */
export interface AppLocation {
  /** Base URL: tool calls can reach this origin, at or below this path, and nothing else. */
  url: string;
}

export class UnsafePathError extends Error {
  override readonly name = "UnsafePathError";
}

/**
 * The URL a tool call may reach: the app's own origin, at or below its path. The request carries
 * the user's credential, so a path is refused before any request exists when the app's server,
 * or anything in front of it, could read it as leading elsewhere. Servers do not agree on how to
 * read a path (Tomcat, Jetty and Spring drop `;params` from segments, so `/api/..;/x` is `/x`;
 * some decode twice; Windows trims trailing dots and spaces; IIS maps full-width and "best fit"
 * characters to ASCII), so anything that one of them could turn into a `.`/`..` segment or a
 * separator is refused, not normalised: no real path needs it.
 */
export function targetUrl(app: AppLocation, path: string, query: Record<string, string | number | boolean> = {}): URL {
  const base = new URL(app.url);
  if (/^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith("//")) {
    throw new UnsafePathError("the path must be relative to the app, not a URL");
  }
  if (/[?#]/.test(path)) throw new UnsafePathError("the path may not contain ? or # (put parameters in `query`)");
  // `.` never needs encoding, and `/`, `\`, `;` and `%` encoded are read differently by different
  // servers (decoded before routing, or decoded twice): refused at any level of encoding.
  if (/%(2e|2f|5c|3b|25)/i.test(path)) {
    throw new UnsafePathError("the path may not percent-encode . / \\ ; or %");
  }
  for (const segment of path.split("/")) checkSegment(segment);

  const prefix = base.pathname.replace(/\/+$/, "");
  const target = new URL(`${prefix}/${path.replace(/^\/+/, "")}`, base.origin);
  // Belt and braces: whatever the URL parser made of it, it must still be inside the app.
  if (target.origin !== base.origin || (target.pathname !== prefix && !target.pathname.startsWith(`${prefix}/`))) {
    throw new UnsafePathError("the path leads outside the app");
  }
  for (const [key, value] of Object.entries(query)) target.searchParams.append(key, String(value));
  return target;
}

// Characters that servers read as structure: separators, path parameters, user info, escapes.
const STRUCTURAL = /[\\;@%]/;
// Control, format (zero-width), private-use and unassigned characters: no real path has them, and
// servers drop or map them in ways that can join `.` and `.` into `..`.
const INVISIBLE = /\p{C}/u;
// Left alone by NFKC, but read as `/`, `\` or `.` elsewhere: by Windows' "best fit" conversion to a
// code page (∕ ⁄ ⧵ ∖), as the backslash of Japanese and Korean code pages (¥ ₩), as dots by IDNA (。 ｡).
const LOOK_ALIKES = /[\u2215\u2044\u29f5\u2216\u00a5\u20a9\u3002\uff61]/u;

function checkSegment(raw: string): void {
  let segment: string;
  try {
    // Fails on a malformed escape (`%u002e`, `%%`) and on invalid UTF-8, overlong forms such as
    // `%c0%ae` for `.` included.
    segment = decodeURIComponent(raw);
  } catch {
    throw new UnsafePathError("the path has a malformed percent-encoding or invalid UTF-8");
  }
  if (STRUCTURAL.test(segment) || INVISIBLE.test(segment)) {
    throw new UnsafePathError("the path has a character that is not allowed (\\ ; @ % or a control character)");
  }
  // Full-width `．`, `／`, `‥` and friends become ASCII under NFKC, which some servers apply.
  const normalised = segment.normalize("NFKC");
  if (countSpecial(normalised) !== countSpecial(segment) || LOOK_ALIKES.test(segment)) {
    throw new UnsafePathError("the path has a character that servers may read as . / or \\");
  }
  // `..`, `.`, and what Windows trims to them (`.. `, `...`); an NTFS stream suffix (`..::$DATA`)
  // does not hide one.
  const stem = normalised.split(":")[0] ?? "";
  if (/^[.\s]*\.[.\s]*$/.test(stem)) throw new UnsafePathError("the path may not contain . or .. segments");
}

function countSpecial(text: string): number {
  return text.replace(/[^./\\;%@:?#]/g, "").length;
}
