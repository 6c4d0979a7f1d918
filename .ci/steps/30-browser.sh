#!/usr/bin/env bash
# The web chat: the committed page bundle matches its sources, the
# committed router type matches the Rust router, then end-to-end tests in
# headless Chromium (Debian's, driven by playwright-core) against the real
# `chat` and `chat-client` binaries. Screenshots land in target/e2e/.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -x /usr/bin/chromium ]; then
    echo "installing Debian's chromium"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
/usr/bin/chromium --version 2>/dev/null || true

echo "--- web page bundle"
(cd clients/ts && npm ci --no-audit --no-fund)
(cd examples/web && npm ci --no-audit --no-fund && npm run build)
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    if [ -n "$(git status --porcelain -- examples/web/dist)" ]; then
        git status --short -- examples/web/dist
        echo "examples/web/dist is stale: run 'cd examples/web && npm run build' and commit it" >&2
        exit 1
    fi
fi

echo "--- binaries"
cargo build -p zocket-examples --bins
cargo run -q -p zocket-examples --bin export-ts -- --check

echo "--- end-to-end tests in Chromium"
cd e2e
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
npm test
ls -l ../target/e2e/*.png
