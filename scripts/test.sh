#!/usr/bin/env bash
# The project's test command (README.md "Tests"): vet, then every package's
# tests, then every benchmark once so they cannot rot. Tests that need
# ../shared skip with a message where it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=1 # tree-sitter grammars are C

echo "-- go vet"
go vet ./...
echo "-- go mod tidy leaves no diff"
cp go.mod /tmp/ghostline-go.mod.bak; cp go.sum /tmp/ghostline-go.sum.bak
go mod tidy
if ! git diff --quiet -- go.mod go.sum; then
	git diff -- go.mod go.sum
	cp /tmp/ghostline-go.mod.bak go.mod; cp /tmp/ghostline-go.sum.bak go.sum
	echo "go.mod/go.sum are not tidy: run go mod tidy" >&2
	exit 1
fi
echo "-- go test -race"
go test -race -count=1 ./...
echo "-- benchmarks, once each"
go test -run '^$' -bench . -benchtime=1x ./... > /tmp/ghostline-bench.log 2>&1 || { cat /tmp/ghostline-bench.log; exit 1; }
grep -E '^(Benchmark|ok|FAIL)' /tmp/ghostline-bench.log || true

echo "-- the C kernels built with clang (macOS's compiler)"
if command -v clang >/dev/null; then
	CC=clang go test -count=1 ./model/kernels
else
	echo "clang is not installed: skipped (CI installs it)"
fi

echo "-- LSP session driven by VS Code's protocol libraries"
(cd lsp/nodetest && npm ci --no-audit --no-fund --loglevel=error && node --test)

echo "-- editor clients: VS Code extension, Neovim plugin, Monaco in Chromium"
bash editors/test.sh

echo "-- the portable path on arm64 under qemu (conformance of all three architectures)"
bash .ci/qemu-arm64.sh
