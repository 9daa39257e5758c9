import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

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
        // Instead of what wrangler.jsonc and .dev.vars say: a loopback team domain where nothing
        // listens. The tests answer the Worker's requests to it themselves (test/access.ts), so they
        // need neither a Cloudflare account nor the network.
        bindings: { TEAM_DOMAIN: "http://127.0.0.1:9", POLICY_AUD: "test-policy-aud" },
      },
    }),
  ],
  test: {
    // Each test sets up the network it needs (test/network.ts).
    restoreMocks: true,
  },
});
