#!/usr/bin/env bash
# Installs the browser tests' npm packages (test/browser/package-lock.json:
# playwright-core only) when node_modules is missing or older than the lock.
# Chromium itself is Debian's (scripts/deps.sh); Playwright's own browser
# download is never used.
set -euo pipefail
DIR=$(cd "$(dirname "$0")/../test/browser" && pwd)
cd "$DIR"
command -v npm >/dev/null || { echo "browser-deps: npm is not installed (scripts/deps.sh installs it)" >&2; exit 1; }
stamp=node_modules/.package-lock.json
if [ -d node_modules/playwright-core ] && [ -e "$stamp" ] && [ ! package-lock.json -nt "$stamp" ]; then
    exit 0
fi
echo "browser-deps: npm ci in $DIR"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
timeout 300 npm ci --no-audit --no-fund --loglevel=error
