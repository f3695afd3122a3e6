#!/usr/bin/env bash
# Runs the Neovim plugin's tests in a real headless Neovim against
# `ghostline lsp`. The server command comes from GHOSTLINE_LSP_CMD
# (default "ghostline lsp"; tests use "/tmp/ghostline lsp --fake-completer").
# Prints "N passed, N failed"; exits non-zero on any failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
plugin="$(dirname "$here")"
nvim="${NVIM_BIN:-nvim}"   # NVIM_BIN: another Neovim to test with
command -v "$nvim" >/dev/null || { echo "$nvim not found (apt-get install -y neovim)" >&2; exit 2; }
export GHOSTLINE_NVIM_DIR="$plugin"
# The outer nvim only drives the child; -u NONE keeps user config out of both.
exec timeout 600 "$nvim" --headless -u NONE -i NONE -n -c "luafile $here/run.lua"
