import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // The JSON report lets .ci/run print one plain "N passed, N failed" line.
    reporters: ["default", ["json", { outputFile: ".tmp/vitest-report.json" }]],
    projects: [
      {
        // setup.ts derives the JavaScript templates from the TypeScript ones, as the build does.
        test: { name: "unit", include: ["test/unit/**/*.test.ts"], globalSetup: ["test/unit/setup.ts"] },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["test/e2e/setup.ts"],
          // Real installs, wrangler and workerd: slow by nature, and run one file at a time
          // so two workerd instances never fight over the machine's two cores.
          testTimeout: 180_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
