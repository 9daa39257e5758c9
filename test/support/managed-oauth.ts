/**
 * Access's Managed OAuth as cloudflare-docs describe its dynamic client registration
 * (Access → Managed OAuth, `dynamic_client_registration`): a redirect URI on `localhost` is allowed
 * when `allow_any_on_localhost` is on, one on 127.0.0.1 or [::1] when `allow_any_on_loopback` is,
 * whatever the port; any other must be in `allowed_uris`, exactly, or under an http(s) entry ending
 * in `/*`; an app's own scheme (`cursor://…`) only exactly. Taken strictly: a registration is
 * refused when any one of its redirect URIs is not allowed (the docs do not say it is partial).
 */
export interface DynamicClientRegistration {
  enabled?: boolean;
  allow_any_on_localhost?: boolean;
  allow_any_on_loopback?: boolean;
  allowed_uris?: string[];
}

export function redirectAllowed(settings: DynamicClientRegistration, redirectUri: string): boolean {
  const url = new URL(redirectUri);
  if (url.protocol === "http:" && url.hostname === "localhost") return settings.allow_any_on_localhost === true;
  if (url.protocol === "http:" && (/^127\.\d+\.\d+\.\d+$/.test(url.hostname) || url.hostname === "[::1]")) return settings.allow_any_on_loopback === true;
  return (settings.allowed_uris ?? []).some((allowed) => {
    if (allowed === redirectUri) return true;
    const web = /^https?:\/\//.test(allowed);
    return web && allowed.endsWith("/*") && redirectUri.startsWith(allowed.slice(0, -1));
  });
}

/** The redirect URIs of a registration that Access would refuse (empty: it registers). */
export function refusedRedirects(settings: DynamicClientRegistration, redirectUris: readonly string[]): string[] {
  if (!settings.enabled) return [...redirectUris];
  return redirectUris.filter((uri) => !redirectAllowed(settings, uri));
}
