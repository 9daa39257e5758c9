// Text that comes from outside (what the user typed, names from the Cloudflare API, answers from
// the network) on its way into a message. Shared by every layer, so it imports nothing.

/**
 * Characters that change what a terminal or a log shows without being seen: controls (which can
 * move the cursor, recolour or rewrite the screen), the line and paragraph separators, and the
 * bidirectional marks and overrides (which reorder what is read).
 */
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Text from outside (the user, the API, the network) with each invisible character written as \uXXXX. */
export function escapeInvisible(text: string): string {
  return text.replace(INVISIBLE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Text from outside in a message: a JSON string literal, so quotes and backslashes stay readable, with nothing invisible left in it. */
export function quoted(text: string): string {
  return escapeInvisible(JSON.stringify(text));
}
