#!/usr/bin/env bash
# Generates a project from this checkout and runs it: `bash scripts/try.sh [directory] [options]`
# (default my-server, and --yes for every answer no option gives). Brings Node 24 first when the
# machine's is older than 22.12, so it works as written on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
ensure_node
ensure_dependencies
npm run build
dir="${1:-my-server}"
[ $# -gt 0 ] && shift
node bin/create-mcp-access.js "$dir" --yes "$@"
cd "$dir"
exec npm run dev
