#!/usr/bin/env bash
# Test-only tools from the npm registry (k6-html-reporter), installed into
# build/npm from test/npm/package.json. Idempotent: nothing to do (and no
# network) when they are there.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${BUILD:-build}/npm
if [ -f "$DEST/node_modules/k6-html-reporter/package.json" ]; then
    exit 0
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    BLASTER_EXTRA_PKGS="nodejs npm" scripts/deps.sh
fi
mkdir -p "$DEST"
cp test/npm/package.json "$DEST/package.json"
(cd "$DEST" && timeout 300 npm install --no-audit --no-fund --loglevel=error)
