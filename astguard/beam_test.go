package astguard

import (
	"math"
	"sort"
	"strings"
	"testing"
)

// This file drives the constraint hooks the way the decoding engine will: a
// small beam search over a fixed vocabulary, scored by a deterministic fake
// model (a table from the text generated so far to log-probabilities of next
// pieces). It shows, per hook, that the guard turns the unconstrained
// search's invalid answer into a valid one.

const eos = "<eos>"

// fakeModel maps generated text to the log-probabilities of next pieces;
// texts it does not know end the completion.
type fakeModel map[string]map[string]float64

func (m fakeModel) next(text string) map[string]float64 {
	if p, ok := m[text]; ok {
		return p
	}
	return map[string]float64{eos: 0}
}

type beam struct {
	text  string
	score float64
	lex   *Lexer
	done  bool
}

// beamSearch runs a beam of width w for at most steps steps; with guard set
// it masks pieces with the lexer, judges beams with Partial whenever a piece
// ends a line, and rescores finished beams with Final.
func beamSearch(t *testing.T, lang Language, prefix, suffix string, m fakeModel, w, steps int, guard bool) string {
	t.Helper()
	c, err := NewChecker(lang, prefix, suffix)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	beams := []beam{{lex: c.Lexer()}}
	for step := 0; step < steps; step++ {
		var next []beam
		for _, b := range beams {
			if b.done {
				next = append(next, b)
				continue
			}
			for piece, lp := range m.next(b.text) {
				nb := beam{text: b.text, score: b.score + lp}
				if piece == eos {
					nb.done = true
					if guard {
						j, err := c.Final(nb.text)
						if err != nil {
							t.Fatal(err)
						}
						nb.score += j.Penalty
					}
					next = append(next, nb)
					continue
				}
				nb.text += piece
				if guard {
					if !b.lex.Allows(piece) {
						continue // masked
					}
					nb.lex = b.lex.Clone()
					nb.lex.Feed(piece)
					if strings.Contains(piece, "\n") {
						j, err := c.Partial(nb.text)
						if err != nil {
							t.Fatal(err)
						}
						if j.Verdict == Prune {
							continue
						}
						nb.score += j.Penalty
					}
				}
				next = append(next, nb)
			}
		}
		sort.Slice(next, func(i, j int) bool {
			if next[i].score != next[j].score {
				return next[i].score > next[j].score
			}
			return next[i].text < next[j].text
		})
		beams = next[:min(w, len(next))]
	}
	best, bestScore := "", math.Inf(-1)
	for _, b := range beams {
		if b.done && b.score > bestScore {
			best, bestScore = b.text, b.score
		}
	}
	return best
}

func TestBeamGuard(t *testing.T) {
	cases := []struct {
		name           string
		lang           Language
		prefix, suffix string
		model          fakeModel
		unguarded      string // what the plain beam search returns (invalid)
		guarded        string // what it returns with astguard (valid)
	}{
		{
			name: "lexical mask drops a wrong closer", lang: Go,
			prefix: "package a\n\nfunc f(a int) int {\n\treturn g(a", suffix: "\n}\n",
			model: fakeModel{
				"":    {"]": -0.1, ")": -1.0, ", 1": -2.0},
				", 1": {")": -0.1},
			},
			unguarded: "]", guarded: ")",
		},
		{
			name: "partial check prunes a broken line", lang: Python,
			prefix: "def f(xs):\n    total = 0\n    ", suffix: "\n    return total\n",
			model: fakeModel{
				"":                                 {"total = = 1\n": -0.1, "for x in xs:\n": -1.5},
				"total = = 1\n":                    {"    total += 1": -0.1},
				"for x in xs:\n":                   {"        total += x": -0.2},
				"total = = 1\n    total += 1":      {eos: -0.1},
				"for x in xs:\n        total += x": {eos: -0.1},
			},
			unguarded: "total = = 1\n    total += 1", guarded: "for x in xs:\n        total += x",
		},
		{
			name: "final check penalises an unfinished statement", lang: Java,
			prefix: "class A {\n  int f(int x) {\n    int y = ", suffix: "\n    return y;\n  }\n}\n",
			model: fakeModel{
				"":      {"x *": -0.1, "x * 2": -0.9},
				"x *":   {eos: -0.1},
				"x * 2": {";": -0.1},
			},
			unguarded: "x *", guarded: "x * 2;",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := beamSearch(t, tc.lang, tc.prefix, tc.suffix, tc.model, 4, 6, false); got != tc.unguarded {
				t.Fatalf("unguarded beam = %q, want %q (the scenario no longer tests anything)", got, tc.unguarded)
			}
			if got := beamSearch(t, tc.lang, tc.prefix, tc.suffix, tc.model, 4, 6, true); got != tc.guarded {
				t.Errorf("guarded beam = %q, want %q", got, tc.guarded)
			}
			for _, text := range []string{tc.unguarded, tc.guarded} {
				c, _ := NewChecker(tc.lang, tc.prefix, tc.suffix)
				j, _ := c.Final(text)
				c.Close()
				if valid := j.NewErrors == 0; valid != (text == tc.guarded) {
					t.Errorf("%q: new errors %d", text, j.NewErrors)
				}
			}
		})
	}
}
