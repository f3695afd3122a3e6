package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

type logitsOut struct {
	NVocab     int            `json:"n_vocab"`
	TopLogits  [][][2]float64 `json:"top_logits"`
	LastLogits []float64      `json:"last_logits"`
	Greedy     []struct {
		ID     int     `json:"id"`
		Logit  float64 `json:"logit"`
		Margin float64 `json:"margin"`
	} `json:"greedy"`
}

// TestLogitsCommand runs `ghostline logits` on a fixture model with the
// reference's tokens and checks the JSON contract and the numbers
// (f32: within 1% of the logit range, greedy ids identical).
func TestLogitsCommand(t *testing.T) {
	model := sharedFixture(t, "models/qwen2-f32.gguf")
	data, err := os.ReadFile(sharedFixture(t, "reference/qwen2-f32.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []struct {
			Tokens []int `json:"tokens"`
			logitsOut
		} `json:"cases"`
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	rc := ref.Cases[0]
	var ids []string
	for _, id := range rc.Tokens {
		ids = append(ids, strconv.Itoa(id))
	}
	// The command prints to os.Stdout: point that at a file meanwhile.
	outFile, err := os.CreateTemp(t.TempDir(), "logits")
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = outFile
	var stdout, stderr bytes.Buffer
	code := run([]string{"logits", "--model", model, "--tokens", strings.Join(ids, ","), "--greedy", "4", "--threads", "2"}, &stdout, &stderr)
	os.Stdout = saved
	outFile.Close()
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out, err := os.ReadFile(outFile.Name())
	if err != nil {
		t.Fatal(err)
	}
	var got logitsOut
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if got.NVocab != 4096 || len(got.LastLogits) != 4096 || len(got.TopLogits) != len(rc.Tokens) || len(got.Greedy) != 4 {
		t.Fatalf("shape: n_vocab %d, last %d, top %d positions, greedy %d", got.NVocab, len(got.LastLogits), len(got.TopLogits), len(got.Greedy))
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range rc.LastLogits {
		lo, hi = min(lo, v), max(hi, v)
	}
	R := hi - lo
	for p, top := range got.TopLogits {
		if len(top) != 8 {
			t.Fatalf("position %d: %d top logits", p, len(top))
		}
		// The reference's top 3 must be in ours, each within 1% of R (near
		// ties may swap places).
		for _, il := range rc.TopLogits[p][:3] {
			found := false
			for _, o := range top {
				if int(o[0]) == int(il[0]) {
					found = true
					if math.Abs(o[1]-il[1]) > 0.01*R {
						t.Errorf("position %d id %d: logit %v, llama.cpp %v", p, int(il[0]), o[1], il[1])
					}
				}
			}
			if !found {
				t.Errorf("position %d: llama.cpp's id %d is not in our top 8 %v", p, int(il[0]), top)
			}
		}
	}
	for i, g := range got.Greedy {
		if g.ID != rc.Greedy[i].ID || math.Abs(g.Logit-rc.Greedy[i].Logit) > 0.01*R {
			t.Errorf("greedy %d: %+v, llama.cpp %+v", i, g, rc.Greedy[i])
		}
	}
}

func TestLogitsErrors(t *testing.T) {
	model := sharedFixture(t, "models/qwen2-f32.gguf")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"logits", "--model", model, "--tokens", "1,2", "--device", "cuda"}, "no CUDA backend"},
		{[]string{"logits", "--model", model, "--tokens", "1,x"}, `"x" is not a token id`},
		{[]string{"logits", "--model", model, "--tokens", "5000"}, "outside the vocabulary"},
		{[]string{"logits", "--tokens", "1"}, "--model is required"},
		{[]string{"generate", "--model", model, "--prompt", "x", "--device", "cuda"}, "no CUDA backend"},
		{[]string{"model", "synth", "--like", "gpt-5", "--out", "x.gguf"}, "--like must be one of"},
		{[]string{"model", "synth", "--like", "starcoder2-3b", "--type", "q3_k", "--out", t.TempDir() + "/x.gguf"}, "unknown type"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(c.args, &stdout, &stderr)
		if code != 1 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 and %q", c.args, code, stderr.String(), c.want)
		}
	}
}
