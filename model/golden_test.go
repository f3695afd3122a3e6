package model

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/model")

// goldenStep is one greedy step: the chosen id, its logit and its margin
// over the runner-up.
type goldenStep struct {
	ID     int     `json:"id"`
	Logit  float64 `json:"logit"`
	Margin float64 `json:"margin"`
}

// TestGreedyGolden decodes 16 greedy tokens from a synthesized model of
// every architecture (deterministic weights) and compares them with
// testdata/model/greedy-<arch>.json. It needs no shared fixtures, so it
// guards the forward pass wherever the tests run. The golden ids are fed
// back step by step; each step's logit of the golden id must agree within
// 0.1% of the logit range, and the greedy id wherever the golden margin
// exceeds 1% of the range (float summation order may differ across CPUs,
// e.g. FMA fusion on arm64). Refresh with -update after an intended change.
func TestGreedyGolden(t *testing.T) {
	for _, arch := range Architectures() {
		t.Run(arch, func(t *testing.T) {
			m := synthTiny(t, arch, "f32", false)
			prompt := testTokens(10, m.Vocab)
			path := filepath.Join("..", "testdata", "model", "greedy-"+arch+".json")
			var want []goldenStep
			if !*update {
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if err := json.Unmarshal(data, &want); err != nil {
					t.Fatal(err)
				}
			}
			c := m.NewKVCache(32)
			logits, err := m.Forward(c, Batch{Tokens: prompt})
			if err != nil {
				t.Fatal(err)
			}
			R := rangeOf(logits)
			var got []goldenStep
			for i := 0; i < 16; i++ {
				id, margin := Argmax(logits)
				got = append(got, goldenStep{id, float64(logits[id]), float64(margin)})
				next := id
				if !*update {
					// Feed the golden id, so one early difference does not
					// derail every later comparison.
					w := want[i]
					next = w.ID
					if d := math.Abs(float64(logits[w.ID]) - w.Logit); d > 0.001*R {
						t.Errorf("step %d: logit of %d is %v, golden %v", i, w.ID, logits[w.ID], w.Logit)
					}
					if w.Margin >= 0.01*R && id != w.ID {
						t.Errorf("step %d: greedy id %d, golden %d (margin %v)", i, id, w.ID, w.Margin)
					}
				}
				if logits, err = m.Decode(c, 0, int32(len(prompt)+i), int32(next)); err != nil {
					t.Fatal(err)
				}
			}
			if *update {
				data, _ := json.MarshalIndent(got, "", " ")
				if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
