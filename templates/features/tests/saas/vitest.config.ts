import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// An Access for SaaS app on a loopback address where nothing listens: the tests answer the Worker's
// requests to it themselves (test/access.ts), so they need neither a Cloudflare account nor the network.
const ACCESS_APP = "http://127.0.0.1:9/cdn-cgi/access/sso/oidc/test-client";

export default defineConfig({
  plugins: [
    // The tests run inside workerd, the Workers runtime, next to the Worker wrangler.jsonc describes.
    cloudflareTest({
      wrangler: { configPath: "./wrangler.jsonc" },
      miniflare: {
        // The plugin brings its own workerd, which can be a little older than wrangler's and refuses
        // a newer compatibility date than its own. When you update the plugin, move this up to the
        // date in wrangler.jsonc.
        compatibilityDate: "2026-11-02",
        // Instead of the secrets (wrangler warns that they are missing, and may read .dev.vars:
        // these values win).
        bindings: {
          ACCESS_CLIENT_ID: "test-client",
          ACCESS_CLIENT_SECRET: "test-client-secret",
          ACCESS_AUTHORIZATION_URL: `${ACCESS_APP}/authorization`,
          ACCESS_TOKEN_URL: `${ACCESS_APP}/token`,
          ACCESS_JWKS_URL: `${ACCESS_APP}/jwks`,
          COOKIE_ENCRYPTION_KEY: "test-cookie-key-of-at-least-32-characters",
        },
      },
    }),
  ],
  test: {
    // Each test sets up the network it needs (test/network.ts).
    restoreMocks: true,
  },
});
