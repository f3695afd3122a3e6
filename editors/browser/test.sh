#!/usr/bin/env bash
# Runs the browser test: Monaco page + WebSocket bridge + `ghostline lsp`,
# driven in Debian's Chromium by playwright-core. Server command:
# GHOSTLINE_LSP_CMD (default "ghostline lsp"); browser: CHROMIUM (default
# /usr/bin/chromium). Writes docs/screenshots/browser-ghost-text.png.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
chromium="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$chromium" ] || { echo "no Chromium at $chromium (apt-get install -y chromium)" >&2; exit 2; }
[ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund
exec node --test test/
