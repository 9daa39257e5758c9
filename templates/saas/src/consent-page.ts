import type { ConsentDescription } from "@cloudflare/workers-oauth-provider";

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

const STYLE = `
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d1f23}
main{max-width:34rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 1px 4px #0002}
h1{font-size:1.3rem;margin:0 0 1rem}
dl{margin:1rem 0}dt{font-weight:600;margin-top:.75rem}dd{margin:0;overflow-wrap:anywhere}
code{font-size:.9em;background:#f0f1f3;padding:0 .25em;border-radius:4px}
.warn{background:#fff4e5;border-left:4px solid #f0a020;padding:.5rem .75rem}
.muted{color:#5b616e;font-size:.9rem}
.actions{display:flex;gap:.75rem;margin-top:1.5rem}
button{font:inherit;padding:.55rem 1.2rem;border-radius:8px;border:1px solid #c4c8d0;background:#fff;cursor:pointer}
button.primary{background:#f38020;border-color:#f38020;color:#fff}
`;

// The page's only style sheet, allowed by its hash: nothing else may run, load or style the page.
let styleHash: Promise<string> | undefined;

async function contentSecurityPolicy(): Promise<string> {
  styleHash ??= crypto.subtle
    .digest("SHA-256", new TextEncoder().encode(STYLE))
    .then((digest) => btoa(String.fromCharCode(...new Uint8Array(digest))));
  // No `form-action`: browsers apply it to every redirect that follows the form submission too,
  // and the approve/deny redirects go to Access, then to the identity provider, then to the
  // client's redirect URI, none of which this page can list in advance. The form itself posts to
  // this origin, and `base-uri 'none'` keeps injected markup from retargeting it.
  return [
    "default-src 'none'",
    `style-src 'sha256-${await styleHash}'`,
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * Sends an HTML page with the headers every page of the sign-in flow needs. `headers` carries what
 * the provider's helpers returned (the browser-binding cookie, `no-store`, anti-framing).
 */
export async function htmlResponse(body: string, init: { status?: number; headers?: Headers } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("Content-Type", "text/html; charset=utf-8");
  headers.set("Content-Security-Policy", await contentSecurityPolicy());
  headers.set("X-Frame-Options", "DENY");
  headers.set("X-Content-Type-Options", "nosniff");
  // The authorization URL carries the client's state and PKCE challenge: keep it from Access's logs.
  headers.set("Referrer-Policy", "no-referrer");
  headers.set("Cache-Control", "no-store");
  return new Response(body, { status: init.status ?? 200, headers });
}

function page(title: string, content: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${content}
</main>
</body>
</html>
`;
}

// Long enough for any real app's name, short enough that a name cannot push the rest off the page.
const MAX_NAME_LENGTH = 80;

/**
 * The name the app gave itself, without what could disguise it on the page: control and format
 * characters (a right-to-left override can make "evil.com" read as "moc.live"). Undefined when it
 * gave none (the provider then puts the client ID in its place).
 */
function claimedName(details: ConsentDescription): string | undefined {
  const name = details.clientName.replace(/[\p{Cc}\p{Cf}]/gu, "").trim();
  return name && name !== details.clientId ? name.slice(0, MAX_NAME_LENGTH) : undefined;
}

/**
 * Where the browser goes after the sign-in, which is what really identifies the app: the redirect
 * URI's origin (scheme, host and port), or for a native app's own scheme (`cursor://…`) that scheme
 * and host, or the whole URI when it has no host.
 */
function destination(details: ConsentDescription): string {
  try {
    const url = new URL(details.redirectUri);
    if (url.origin !== "null") return url.origin;
    return url.host ? `${url.protocol}//${url.host}` : details.redirectUri;
  } catch {
    return details.redirectHost;
  }
}

/** A link to an http(s) URL, as text that says exactly where it goes; anything else (`javascript:`, `data:`) is left out. */
function externalLink(uri: string | undefined): string | undefined {
  let url: URL;
  try {
    url = new URL(uri ?? "");
  } catch {
    return undefined;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return undefined;
  const href = escapeHtml(url.href);
  return `<a href="${href}" rel="noopener noreferrer nofollow">${href}</a>`;
}

/**
 * The consent page the MCP authorization spec asks for before any redirect to Access: which app is
 * asking, where the browser goes afterwards, and a plain form (no JavaScript) that posts the
 * transaction handle back. Anything from the app's own registration (its name, its website) is
 * presented as the app's claim, escaped, and a link only when it is http(s). The server defines no
 * scopes, so the page lists none: the app gets every tool, and the page says so.
 */
export function renderConsentPage(serverName: string, details: ConsentDescription, handle: string): string {
  const name = claimedName(details);
  const claim = name ? `It calls itself <strong><bdi>${escapeHtml(name)}</bdi></strong>.` : "It gave no name.";
  const provenance = details.clientDomain
    ? `Its client ID is a document on <strong>${escapeHtml(details.clientDomain)}</strong>, which vouches for it.`
    : "Any app can register under any name, so the name is not verified: where your browser goes next is what identifies the app.";
  const website = externalLink(details.clientUri);
  // A loopback redirect URI, or an app's own scheme (cursor://), which any installed app may claim.
  const privateUse = !/^https?:/i.test(details.redirectUri);
  const localAppWarning =
    details.redirectIsLoopback || privateUse
      ? `<p class="warn">The sign-in goes back to <strong>an app on your computer</strong>${privateUse ? ", whichever one opens these links" : ""}. Allow it only if you started connecting from an app just now.</p>`
      : "";
  return page(
    `Allow an app to use ${serverName}?`,
    `<h1>Allow an app to use ${escapeHtml(serverName)} as you?</h1>
<p>${claim} ${provenance}</p>
<dl>
<dt>After you sign in, your browser goes to</dt><dd><strong>${escapeHtml(destination(details))}</strong><br><code>${escapeHtml(details.redirectUri)}</code></dd>
<dt>Client ID</dt><dd><code>${escapeHtml(details.clientId)}</code></dd>
${website ? `<dt>Website, as the app gives it (not verified)</dt><dd>${website}</dd>` : ""}
</dl>
${localAppWarning}
<p class="muted">Next, you sign in with Cloudflare Access. The app can then call every tool of this server as you until you revoke it or your sign-in ends.</p>
<form method="post" action="/authorize">
<input type="hidden" name="handle" value="${escapeHtml(handle)}">
<label><input type="checkbox" name="remember" value="1"> Don't ask again for this app for 30 days</label>
<div class="actions">
<button class="primary" type="submit" name="decision" value="approve">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</div>
</form>`,
  );
}

/** A page for a sign-in that cannot continue. `message` is ours, never a value from the request. */
export function renderErrorPage(title: string, message: string): string {
  return page(
    title,
    `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(message)}</p>\n<p class="muted">Start again from your app.</p>`,
  );
}
