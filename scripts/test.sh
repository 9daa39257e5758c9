#!/usr/bin/env bash
# The tests, on a fresh machine as on a prepared one: `bash scripts/test.sh`. Brings Node 24 (when
# the machine's is older than 22.12) and the test tools, installs the locked dependencies, then
# type-checks and runs `npm test`, and fails if no test ran.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
ensure_node
ensure_test_tools
ensure_dependencies
npm run typecheck
npm test
node -e 'const r = require("./.tmp/vitest-report.json");
  if (!r.numTotalTests) { console.error("no test ran"); process.exit(1); }
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`);'
