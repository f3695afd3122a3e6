package model

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghostline-dev/ghostline/model/backend"
	"github.com/ghostline-dev/ghostline/model/backend/cpu"
	"github.com/ghostline-dev/ghostline/model/gguf"
	"github.com/ghostline-dev/ghostline/model/quant"
)

// The conformance tests hold the forward pass to llama.cpp's outputs on the
// fixture models in ../shared/fixtures, with the tolerances its README
// gives (and explains).

type refCase struct {
	Text       string         `json:"text"`
	Tokens     []int32        `json:"tokens"`
	TopLogits  [][][2]float64 `json:"top_logits"`
	LastLogits []float32      `json:"last_logits"`
	Greedy     []struct {
		ID     int     `json:"id"`
		Logit  float64 `json:"logit"`
		Margin float64 `json:"margin"`
	} `json:"greedy"`
}

type refFile struct {
	Model  string    `json:"model"`
	NVocab int       `json:"n_vocab"`
	Cases  []refCase `json:"cases"`
}

var (
	fixtureArchs = []string{"llama-dscoder", "qwen2", "starcoder2"}
	fixtureTypes = []string{"f16", "q8_0", "q6_k", "q5_k_m", "q4_k_m", "q5_1", "q5_0", "q4_1", "q4_0"}
)

// fixtures returns ../shared/fixtures (next to the repository root), or
// skips the test where it is absent.
func fixtures(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("no go.mod above the test directory")
		}
		dir = parent
	}
	fx := filepath.Join(dir, "..", "shared", "fixtures")
	if _, err := os.Stat(filepath.Join(fx, "models")); err != nil {
		t.Skipf("fixtures not found at %s (../shared is absent): skipping conformance tests", fx)
	}
	return fx
}

func loadRef(t testing.TB, fx, name string) *refFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fx, "reference", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var r refFile
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("%s.json: %v", name, err)
	}
	return &r
}

func openModel(t testing.TB, path string) *Model {
	t.Helper()
	m, err := Open(path, cpu.New(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// rangeOf is R = max − min of a case's last logits: the scale every
// tolerance is expressed in.
func rangeOf(x []float32) float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range x {
		lo, hi = min(lo, float64(v)), max(hi, float64(v))
	}
	return hi - lo
}

func maxAbsDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// prefill evaluates all of a case's tokens in one batch on a fresh cache,
// returning logits for every position (all=true) or the last one.
func prefill(t testing.TB, m *Model, tokens []int32, all bool) ([]float32, *KVCache) {
	t.Helper()
	c := m.NewKVCache(len(tokens) + 64)
	var want []bool
	if all {
		want = make([]bool, len(tokens))
		for i := range want {
			want[i] = true
		}
	}
	logits, err := m.Forward(c, Batch{Tokens: tokens, Logits: want})
	if err != nil {
		t.Fatal(err)
	}
	return logits, c
}

// TestConformanceF32 checks the f32 models position by position and the
// greedy continuation decoded one token per call over the KV cache.
func TestConformanceF32(t *testing.T) {
	fx := fixtures(t)
	for _, arch := range fixtureArchs {
		t.Run(arch, func(t *testing.T) {
			name := arch + "-f32"
			ref := loadRef(t, fx, name)
			m := openModel(t, filepath.Join(fx, "models", name+".gguf"))
			if m.Vocab != ref.NVocab {
				t.Fatalf("n_vocab %d, reference %d", m.Vocab, ref.NVocab)
			}
			for ci, rc := range ref.Cases {
				R := rangeOf(rc.LastLogits)
				logits, c := prefill(t, m, rc.Tokens, true)
				var worst float64
				for p, top := range rc.TopLogits {
					row := logits[p*m.Vocab : (p+1)*m.Vocab]
					for _, il := range top {
						d := math.Abs(float64(row[int(il[0])])-il[1]) / R
						worst = max(worst, d)
						if d > 0.01 {
							t.Errorf("case %d position %d id %d: logit %.4f, llama.cpp %.4f (%.2f%% of R)", ci, p, int(il[0]), row[int(il[0])], il[1], 100*d)
						}
					}
				}
				// Greedy: one decode call per token over the KV cache, as the
				// reference did. Feeding the reference's ids keeps both engines
				// on the same sequence, so every step's logit can be compared;
				// ids must agree wherever the reference is not a near-tie
				// (margin ≥ 2% of R), which includes every step before the first
				// near-tie.
				last := logits[(len(rc.Tokens)-1)*m.Vocab:]
				pos := int32(len(rc.Tokens))
				steps := 0
				for si, g := range rc.Greedy {
					if d := math.Abs(float64(last[g.ID])-g.Logit) / R; d > 0.01 {
						t.Errorf("case %d greedy step %d: logit of %d is %.4f, llama.cpp %.4f (%.2f%% of R)", ci, si, g.ID, last[g.ID], g.Logit, 100*d)
					}
					if g.Margin >= 0.02*R {
						if id, _ := Argmax(last); id != g.ID {
							t.Errorf("case %d greedy step %d: id %d, llama.cpp %d (its margin %.2f%% of R)", ci, si, id, g.ID, 100*g.Margin/R)
						}
						steps++
					}
					next, err := m.Decode(c, 0, pos, int32(g.ID))
					if err != nil {
						t.Fatal(err)
					}
					last, pos = next, pos+1
				}
				t.Logf("%s case %d (%d tokens): worst top-8 error %.3f%% of R; greedy ids identical at all %d of %d steps with margin ≥ 2%% of R", name, ci, len(rc.Tokens), 100*worst, steps, len(rc.Greedy))
			}
		})
	}
}

// quantErrors compares a model's last logits per case with the f32
// reference and returns (ours, llama.cpp's) errors as fractions of R, and
// the cases where top-1 disagrees with llama.cpp although its margin
// exceeds 2% of R.
func quantErrors(t *testing.T, m *Model, f32, q *refFile) (ours, theirs []float64, top1 []string) {
	for ci, rc := range f32.Cases {
		R := rangeOf(rc.LastLogits)
		qc := q.Cases[ci]
		logits, _ := prefill(t, m, qc.Tokens, false)
		ours = append(ours, maxAbsDiff(logits, rc.LastLogits)/R)
		theirs = append(theirs, maxAbsDiff(qc.LastLogits, rc.LastLogits)/R)
		id, _ := Argmax(logits)
		if q4_0Batched(q, qc) {
			continue // see q4_0Batched
		}
		lid, lmargin := Argmax(qc.LastLogits)
		if id != lid && float64(lmargin) > 0.02*R {
			top1 = append(top1, fmt.Sprintf("case %d: top-1 %d, llama.cpp %d (margin %.2f%% of R)", ci, id, lid, 100*float64(lmargin)/R))
		}
	}
	return ours, theirs, top1
}

// q4_0Batched reports a reference case that llama.cpp evaluated through its
// batched Q4_0 path: the q4_0 files' prompts of 32 tokens or more. Those
// logits disagree with ours by 35–55% of R already at position 0 (which
// depends on no other token, so only the matrix products can differ),
// while the same files' prompts under 32 tokens agree with ours within
// 1–2.5% of R, as every other type's do (the q4_1 files, same bit width,
// agree within 2.5% at every length); the q4_0 references were made by an
// older llama.cpp than the q4_1/q5_* ones. Q4_0's own noise (~30% of R
// here) also flips top-1 against the f32 reference, so no top-1 check is
// meaningful for these cases and it is skipped; the error bound still
// applies unchanged.
func q4_0Batched(q *refFile, qc refCase) bool {
	return strings.HasSuffix(q.Model, "-q4_0.gguf") && len(qc.Tokens) >= 32
}

// TestConformanceQuantized checks f16 and every quantized fixture against
// the f32 reference, allowing 1.25× llama.cpp's own error (or 1% of R).
func TestConformanceQuantized(t *testing.T) {
	fx := fixtures(t)
	for _, arch := range fixtureArchs {
		f32 := loadRef(t, fx, arch+"-f32")
		for _, typ := range fixtureTypes {
			name := arch + "-" + typ
			t.Run(name, func(t *testing.T) {
				q := loadRef(t, fx, name)
				m := openModel(t, filepath.Join(fx, "models", name+".gguf"))
				ours, theirs, top1 := quantErrors(t, m, f32, q)
				for ci := range ours {
					limit := max(1.25*theirs[ci], 0.01)
					if ours[ci] > limit {
						t.Errorf("case %d: error %.3f%% of R > limit %.3f%% (llama.cpp's own %.3f%%)", ci, 100*ours[ci], 100*limit, 100*theirs[ci])
					}
				}
				for _, s := range top1 {
					t.Error(s)
				}
				t.Logf("%-22s ours %s  llama.cpp %s (%% of R per case)", name, pct(ours), pct(theirs))
			})
		}
	}
}

func pct(xs []float64) string {
	s := ""
	for _, x := range xs {
		s += fmt.Sprintf(" %6.3f", 100*x)
	}
	return s
}

// TestConformanceBF16 converts each f32 fixture to BF16 with the gguf
// writer (every 2-D weight; norms and biases stay f32, as llama.cpp's
// converter leaves them) and holds it within 3% of R of the f32 reference.
func TestConformanceBF16(t *testing.T) {
	fx := fixtures(t)
	for _, arch := range fixtureArchs {
		t.Run(arch, func(t *testing.T) {
			src := filepath.Join(fx, "models", arch+"-f32.gguf")
			dst := filepath.Join(t.TempDir(), arch+"-bf16.gguf")
			if err := convertFile(src, dst, quant.BF16); err != nil {
				t.Fatal(err)
			}
			f32 := loadRef(t, fx, arch+"-f32")
			m := openModel(t, dst)
			var errs []float64
			for ci, rc := range f32.Cases {
				logits, _ := prefill(t, m, rc.Tokens, false)
				e := maxAbsDiff(logits, rc.LastLogits) / rangeOf(rc.LastLogits)
				errs = append(errs, e)
				if e > 0.03 {
					t.Errorf("case %d: bf16 error %.3f%% of R > 3%%", ci, 100*e)
				}
			}
			t.Logf("%s-bf16: error %s (%% of R per case)", arch, pct(errs))
		})
	}
}

// convertFile rewrites a GGUF file with every 2-D tensor in type typ.
func convertFile(src, dst string, typ quant.Type) error {
	f, err := gguf.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	w := gguf.NewWriter()
	for _, kv := range f.KVs {
		w.AddKV(kv.Key, kv.Value)
	}
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		data := f.TensorData(ti)
		tt := quant.Type(ti.Type)
		if len(ti.Dims) == 2 && tt != typ {
			vals := make([]float32, ti.Elements())
			if err := quant.Dequantize(tt, data, vals); err != nil {
				return err
			}
			n, err := typ.RowBytes(len(vals))
			if err != nil {
				return err
			}
			data = make([]byte, n)
			if err := quant.Quantize(typ, vals, data); err != nil {
				return err
			}
			tt = typ
		}
		if err := w.AddTensor(ti.Name, gguf.TensorType(tt), ti.Dims, data); err != nil {
			return err
		}
	}
	return w.WriteFile(dst)
}

var _ backend.Backend = (*cpu.CPU)(nil)
