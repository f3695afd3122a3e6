package quant_test

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/ghostline-dev/ghostline/model/gguf"
	"github.com/ghostline-dev/ghostline/model/quant"
)

// TestFixtureTensors decodes every tensor of the quantized fixture models
// (written by llama.cpp's llama-quantize) and compares it with the same
// tensor of the f32 model they were made from: a layout mistake would give
// errors near 1.4 (uncorrelated), correct decoding the quantization error of
// the type. The bounds are ~1.5× those measured on these files.
func TestFixtureTensors(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "fixtures", "models")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("fixtures not found at %s (../shared is absent)", dir)
	}
	maxRel := map[quant.Type]float64{
		quant.F16: 1e-3, quant.Q8_0: 0.01, quant.Q6_K: 0.03, quant.Q5_K: 0.05, quant.Q4_K: 0.1,
		quant.Q5_1: 0.06, quant.Q5_0: 0.07, quant.Q4_1: 0.12, quant.Q4_0: 0.14,
	}
	for _, arch := range []string{"llama-dscoder", "qwen2", "starcoder2"} {
		ref, err := gguf.Open(filepath.Join(dir, arch+"-f32.gguf"))
		if err != nil {
			t.Fatal(err)
		}
		defer ref.Close()
		for _, typ := range []string{"f16", "q8_0", "q6_k", "q5_k_m", "q4_k_m", "q5_1", "q5_0", "q4_1", "q4_0"} {
			f, err := gguf.Open(filepath.Join(dir, arch+"-"+typ+".gguf"))
			if err != nil {
				t.Fatal(err)
			}
			seen := map[quant.Type]bool{}
			for i := range f.Tensors {
				ti := &f.Tensors[i]
				qt := quant.Type(ti.Type)
				if qt == quant.F32 {
					continue
				}
				rt, ok := ref.Tensor(ti.Name)
				if !ok {
					t.Fatalf("%s-%s: %s not in the f32 model", arch, typ, ti.Name)
				}
				want := quant.F32View(ref.TensorData(rt))
				got := make([]float32, ti.Elements())
				if err := quant.Dequantize(qt, f.TensorData(ti), got); err != nil {
					t.Fatalf("%s-%s %s: %v", arch, typ, ti.Name, err)
				}
				var se, sx float64
				for j := range got {
					d := float64(got[j] - want[j])
					se += d * d
					sx += float64(want[j]) * float64(want[j])
				}
				rel := math.Sqrt(se / sx)
				if !seen[qt] {
					t.Logf("%s-%s %s (%s): relative RMS error %.4f", arch, typ, ti.Name, qt, rel)
					seen[qt] = true
				}
				if rel > maxRel[qt] {
					t.Errorf("%s-%s %s (%s): relative RMS error %.4f > %.4f", arch, typ, ti.Name, qt, rel, maxRel[qt])
				}
			}
			f.Close()
		}
	}
}

// TestQuantizeMatchesLlamaQuantize requantizes the f32 fixture tensors with
// the simple types and requires the very bytes llama-quantize wrote: these
// quantizers follow ggml's reference ones, so files written by `model
// synth` or a converter are what llama.cpp itself would write.
func TestQuantizeMatchesLlamaQuantize(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "fixtures", "models")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("fixtures not found at %s (../shared is absent)", dir)
	}
	for _, arch := range []string{"llama-dscoder", "qwen2", "starcoder2"} {
		ref, err := gguf.Open(filepath.Join(dir, arch+"-f32.gguf"))
		if err != nil {
			t.Fatal(err)
		}
		defer ref.Close()
		for _, typ := range []string{"f16", "q8_0", "q5_1", "q5_0", "q4_1", "q4_0"} {
			f, err := gguf.Open(filepath.Join(dir, arch+"-"+typ+".gguf"))
			if err != nil {
				t.Fatal(err)
			}
			checked := 0
			for i := range f.Tensors {
				ti := &f.Tensors[i]
				qt := quant.Type(ti.Type)
				if qt == quant.F32 || qt == quant.Q6_K {
					continue
				}
				rt, _ := ref.Tensor(ti.Name)
				want := f.TensorData(ti)
				got := make([]byte, len(want))
				if err := quant.Quantize(qt, quant.F32View(ref.TensorData(rt)), got); err != nil {
					t.Fatal(err)
				}
				bb := qt.BlockBytes()
				for b := 0; b < len(want)/bb; b++ {
					if !bytes.Equal(got[b*bb:(b+1)*bb], want[b*bb:(b+1)*bb]) {
						t.Errorf("%s-%s %s block %d: % x, llama-quantize % x", arch, typ, ti.Name, b, got[b*bb:(b+1)*bb], want[b*bb:(b+1)*bb])
						break
					}
				}
				checked++
			}
			if checked == 0 {
				t.Errorf("%s-%s: no %s tensors checked", arch, typ, typ)
			}
			f.Close()
		}
	}
}
