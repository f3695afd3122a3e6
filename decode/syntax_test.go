package decode_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ghostline-dev/ghostline/decode"
	"github.com/ghostline-dev/ghostline/decode/decodetest"
)

// TestSyntaxConstraintSteersBeams: a model that prefers an unbalanced
// completion first; with astguard the beam search returns a valid one.
func TestSyntaxConstraintSteersBeams(t *testing.T) {
	tok := decodetest.NewTokenizer(decodetest.StarCoderSpecials...)
	prefix, suffix := "def f(x):\n    return ", "\n\nprint(f(1))\n"
	// Scripted preference: "x))" (invalid) is the model's favourite by 2 nats
	// (less than astguard's 5-nat penalty per new error), "x + 1"
	// its second choice.
	base := decodetest.HashLogits(1)
	logits := func(h []int32, l []float32) {
		base(h, l)
		i := len(h) - 1
		for i >= 0 && h[i] != fimMiddle {
			i--
		}
		written := ""
		for _, id := range h[i+1:] {
			written += tok.Piece(id)
		}
		for _, c := range []struct {
			s string
			w float32
		}{{"x))", 22}, {"x + 1", 20}} {
			if strings.HasPrefix(c.s, written) {
				if len(written) < len(c.s) {
					l[tok.ID(c.s[len(written)])] += c.w
				} else {
					l[eos] += 40
				}
			}
		}
	}
	req := decode.Request{Prefix: prefix, Suffix: suffix, Language: "python", Beams: decode.Beams{Width: 4, N: 1},
		Limits: decode.Limits{MaxTokens: 8}}
	e, _, _ := newEngine(t, logits, decode.Options{})
	free, err := e.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if free.Completions[0].Text != "x))" {
		t.Fatalf("unconstrained completion %q: the scripted model should prefer x))", free.Completions[0].Text)
	}
	con, err := decode.NewSyntaxConstraint("python", "f.py", prefix, suffix)
	if err != nil {
		t.Fatal(err)
	}
	defer con.Close()
	req.Constraint = con
	res, err := e.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Completions[0].Text; got != "x + 1" {
		t.Errorf("constrained completion %q, want x + 1", got)
	}
}

func TestSyntaxConstraintMasks(t *testing.T) {
	con, err := decode.NewSyntaxConstraint("python", "f.py", "x = (1, ", "\n")
	if err != nil {
		t.Fatal(err)
	}
	defer con.Close()
	var m decode.TokenMasker = con
	for _, tc := range []struct {
		text, next string
		ok         bool
	}{
		{"2", ")", true},
		{"2", "]", false},
		{"[2", "]", true},
		{"[2", ")", false},
		{"'a", "]", true}, // inside a string anything goes
	} {
		if got := m.Allow(tc.text, tc.next); got != tc.ok {
			t.Errorf("Allow(%q, %q) = %v, want %v", tc.text, tc.next, got, tc.ok)
		}
	}
}
