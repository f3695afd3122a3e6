#!/usr/bin/env bash
# Builds the peer of docs/benchmarks.md outside this repository: llama.cpp
# from the source node-llama-cpp 3.21.1 ships (llama/gitRelease.bundle,
# build 80fb11a, tag v0.4.0), with llama-bench and libllama, and llref
# (llref.cpp here) linked against it. llama.cpp is never a dependency of
# Ghostline; this only reproduces the peer figures and the fidelity
# reference.
#
#   scripts/peer/build-llama.sh DIR      # DIR must be outside the repository
#
# Then: DIR/llama.cpp/build/bin/llama-bench and DIR/llref.
#
# GGML_NATIVE tunes the kernels to this CPU; the -mno-amx-* flags keep AMX
# instructions out, because the machines this project runs on report AMX
# in CPUID but raise SIGILL on it.
set -euo pipefail
dir=${1:?usage: build-llama.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
dir=$(realpath -m "$dir")
case "$dir/" in "$repo"/*) echo "build-llama.sh: $dir is inside the repository" >&2; exit 2 ;; esac
mkdir -p "$dir"
cd "$dir"
if [ ! -d llama.cpp ]; then
	[ -f node-llama-cpp-3.21.1.tgz ] || npm pack --silent node-llama-cpp@3.21.1 >/dev/null
	tar xzf node-llama-cpp-3.21.1.tgz package/llama/gitRelease.bundle
	git -c advice.detachedHead=false clone --quiet package/llama/gitRelease.bundle llama.cpp
fi
noamx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
cmake -S llama.cpp -B llama.cpp/build -DCMAKE_BUILD_TYPE=Release \
	-DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
	-DCMAKE_C_FLAGS="$noamx" -DCMAKE_CXX_FLAGS="$noamx" >cmake.log 2>&1 ||
	{ tail -20 cmake.log >&2; exit 1; }
cmake --build llama.cpp/build --target llama-bench llama -j "$(nproc)" >build.log 2>&1 ||
	{ tail -20 build.log >&2; exit 1; }
lib=llama.cpp/build/bin
g++ -O2 -Wall -o llref "$here/llref.cpp" -Illama.cpp/include -Illama.cpp/ggml/include \
	-L"$lib" -lllama -lggml -lggml-base -Wl,-rpath,"$dir/$lib"
echo "$dir/$lib/llama-bench"
echo "$dir/llref"
