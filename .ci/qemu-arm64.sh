#!/usr/bin/env bash
# Runs the model packages' tests, the llama.cpp conformance tests included,
# for GOARCH=arm64 under qemu-user: the portable Go path (what runs on every
# CPU without the amd64 SIMD kernels) must stay correct off x86.
#
# CGO_ENABLED=0: no cross C compiler is needed, and it is exactly the build
# a non-amd64 user gets from the kernels package (its !cgo fallback). Only
# model/... is tested; nothing there needs cgo (tree-sitter lives in
# astguard/, which is not built here).
#
# Usage: .ci/qemu-arm64.sh [extra go test flags, e.g. -v]
# Needs ../shared for the conformance fixtures (the tests skip without it).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v qemu-aarch64-static >/dev/null; then
	if [ "$(id -u)" != 0 ]; then
		echo "qemu-aarch64-static is missing: apt-get install qemu-user-static (as root)" >&2
		exit 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static
fi

start=$SECONDS
export CGO_ENABLED=0 GOARCH=arm64
exec_flag=(-exec qemu-aarch64-static)
# Unit tests of the CPU backend's portable ops, in -short mode. (model/quant
# and model/gguf are architecture-independent Go and take over 5 minutes
# emulated; the conformance tests below exercise their decoding paths.)
go test "${exec_flag[@]}" -short -timeout 10m "$@" ./model/backend/...
printf '== arm64 unit tests: %ds\n' $((SECONDS - start))
# Conformance against llama.cpp's outputs for all three fixture
# architectures (llama, qwen2, starcoder2) in f32 (top-8 logits at every
# position, greedy continuations), and qwen2 in q8_0 and q4_k_m (the 8-bit
# and k-quant families). The amd64 run covers every type.
t1=$SECONDS
go test "${exec_flag[@]}" -timeout 60m \
	-run '^TestConformance(F32|Quantized)$/^(llama-dscoder|qwen2|starcoder2|qwen2-q8_0|qwen2-q4_k_m)$' "$@" ./model
printf '== arm64 conformance: %ds\n' $((SECONDS - t1))
printf '== arm64 under qemu took %ds\n' $((SECONDS - start))
