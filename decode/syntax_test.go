package decode_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ghostline-dev/ghostline/astguard"
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
	logits := scriptedLogits(tok, true, script{"x))", 22}, script{"x + 1", 20})
	req := decode.Request{Prefix: prefix, Suffix: suffix, Language: "python", Beams: decode.Beams{Width: 4, N: 1},
		Limits: decode.Limits{MaxTokens: 8}}
	e, _, _ := newEngine(t, logits, decode.Options{Order: decode.PSM})
	free, err := e.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if free.Completions[0].Text != "x))" {
		t.Fatalf("unconstrained completion %q: the scripted model should prefer x))", free.Completions[0].Text)
	}
	res := completeWithSyntax(t, e, req)
	if got := res.Completions[0].Text; got != "x + 1" {
		t.Errorf("constrained completion %q, want x + 1", got)
	}
}

// TestSyntaxConstraintUnitEnd: mid-line (the rest-of-line unit) a
// completion ends at its first line break, unless that line opens a
// callback or literal, which the engine then ends at its closer.
func TestSyntaxConstraintUnitEnd(t *testing.T) {
	con, err := decode.NewSyntaxConstraint("javascript", "f.js", "setTimeout(", ", 1000);\n")
	if err != nil {
		t.Fatal(err)
	}
	defer con.Close()
	for _, tc := range []struct {
		text string
		end  int
		ok   bool
	}{
		{"f\ng", 1, true},
		{"() => {\n  f();\n", 0, false},
		{"g(a)\n", 4, true},
	} {
		if end, ok := con.UnitEnd(tc.text); end != tc.end || ok != tc.ok {
			t.Errorf("UnitEnd(%q) = %d, %v; want %d, %v", tc.text, end, ok, tc.end, tc.ok)
		}
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

// TestSyntaxConstraintAt: a constraint built from an open document's tree
// (after incremental edits) judges candidates exactly as one built from a
// full parse of the same prefix and suffix, is unaffected by later edits
// to the document, and refuses a cursor outside the text.
func TestSyntaxConstraintAt(t *testing.T) {
	doc, err := astguard.NewDocument(astguard.Go, []byte("package p\n\nfunc f(a int) int {\n\treturn\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	// Type " a" after "return" one edit at a time, as an editor would.
	at := strings.Index(string(doc.Source()), "return") + len("return")
	for i, ch := range " a" {
		if err := doc.Replace(at+i, at+i, []byte(string(ch))); err != nil {
			t.Fatal(err)
		}
	}
	cursor := at + 2
	src := string(doc.Source())
	prefix, suffix := src[:cursor], src[cursor:]
	inc, err := decode.NewSyntaxConstraintAt(doc, cursor)
	if err != nil {
		t.Fatal(err)
	}
	defer inc.Close()
	// Editing the document must not reach the constraint's own tree.
	if err := doc.Replace(0, len("package p"), []byte("package q {{{")); err != nil {
		t.Fatal(err)
	}
	full, err := decode.NewSyntaxConstraint("go", "f.go", prefix, suffix)
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	objected := 0 // judgements other than "fine": the comparison must cover some
	for _, tc := range []struct {
		cand  string
		final bool
	}{
		{" + 1", true},
		{" + 1)", true},
		{" + (1", false},
		{" + (1", true},
		{"\n\tx := }", true},
		{"", true},
	} {
		pi, prunei := inc.Judge(tc.cand, 0, tc.final)
		pf, prunef := full.Judge(tc.cand, 0, tc.final)
		if prunei || pi > 0 {
			objected++
		}
		if pi != pf || prunei != prunef {
			t.Errorf("Judge(%q, final=%v): from the document %v/%v, from a full parse %v/%v", tc.cand, tc.final, pi, prunei, pf, prunef)
		}
		if inc.Allow(tc.cand, ")") != full.Allow(tc.cand, ")") {
			t.Errorf("Allow(%q, \")\") differs", tc.cand)
		}
	}
	if objected == 0 {
		t.Error("no candidate was pruned or penalized: the cases test nothing")
	}
	if inc.Errors != 0 {
		t.Errorf("%d checker failures", inc.Errors)
	}
	if _, err := decode.NewSyntaxConstraintAt(doc, len(doc.Source())+1); err == nil {
		t.Error("a cursor past the end was accepted")
	}
}

// TestSyntaxConstraintTruncates: a completion that MaxTokens ends in the
// middle of a statement is cut back, with astguard, to the statements
// that parse; without it, it is shown as it is, but for its unfinished
// last line.
func TestSyntaxConstraintTruncates(t *testing.T) {
	tok := decodetest.NewTokenizer(decodetest.StarCoderSpecials...)
	prefix, suffix := "def f(x):\n    ", "\n\nprint(f(1))\n"
	text := "return x\n    y = (1 +\n    z"
	whole := "return x\n    y = (1 +"
	e, _, _ := newEngine(t, scriptedLogits(tok, false, script{text, 40}), decode.Options{Order: decode.PSM})
	req := decode.Request{Prefix: prefix, Suffix: suffix, Language: "python",
		Limits: decode.Limits{MaxTokens: len(text)}, Stop: decode.StopRules{NoBlockEnd: true}}
	free, err := e.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if c := free.Completions[0]; c.Text != whole || c.FinishReason != decode.FinishLength {
		t.Fatalf("unconstrained: %q (%s), want %q (length)", c.Text, c.FinishReason, whole)
	}
	res := completeWithSyntax(t, e, req)
	if got := res.Completions[0].Text; got != "return x" {
		t.Errorf("constrained completion %q, want it cut to %q", got, "return x")
	}
}

// script is a completion a scripted model prefers, by w nats a byte.
type script struct {
	s string
	w float32
}

// scriptedLogits is a model that, after <fim_middle>, favours the next
// byte of every script the completion so far begins, and, when end is
// set, an end token once a script is complete.
func scriptedLogits(tok *decodetest.Tokenizer, end bool, scripts ...script) decodetest.LogitsFunc {
	base := decodetest.HashLogits(1)
	return func(h []int32, l []float32) {
		base(h, l)
		written := generated(tok, h)
		for _, c := range scripts {
			switch {
			case !strings.HasPrefix(c.s, written):
			case len(written) < len(c.s):
				l[tok.ID(c.s[len(written)])] += c.w
			case end:
				l[eos] += 40
			}
		}
	}
}

// completeWithSyntax runs req with astguard's constraint for its hole,
// in req's language.
func completeWithSyntax(t *testing.T, e *decode.Engine, req decode.Request) *decode.Result {
	t.Helper()
	con, err := decode.NewSyntaxConstraint(req.Language, req.Path, req.Prefix, req.Suffix)
	if err != nil {
		t.Fatal(err)
	}
	defer con.Close()
	req.Constraint = con
	res, err := e.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestSyntaxConstraintEndsUnit: a model that never stops writes lines
// past the statement or comment the cursor is in; with astguard decoding
// ends as soon as the unit is complete, not at the token limit.
func TestSyntaxConstraintEndsUnit(t *testing.T) {
	tok := decodetest.NewTokenizer(decodetest.StarCoderSpecials...)
	for _, tc := range []struct {
		name, prefix, script, want string
	}{
		{"statement", "def f(x):\n    y = x +", " 1\n    y = y * 2\n    y = y - 3\n", " 1"},
		{"statement over lines", "def f(x):\n    y = max(x,", " 1,\n            2)\n    z = 3\n    z = 4\n", " 1,\n            2)"},
		{"comment", "def f(x):\n    # add", " one to x\n    # and more\n    # and more\n", " one to x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logits := decodetest.NoStop(scriptedLogits(tok, false, script{tc.script, 30}), eos)
			e, _, _ := newEngine(t, logits, decode.Options{Order: decode.PSM})
			req := decode.Request{Prefix: tc.prefix, Suffix: "\n    return y\n", Language: "python",
				Limits: decode.Limits{MaxTokens: 60}, Stop: decode.StopRules{Multiline: decode.MultilineAlways}}
			res := completeWithSyntax(t, e, req)
			c := res.Completions[0]
			if c.Text != tc.want || c.FinishReason != decode.FinishUnit {
				t.Errorf("completion %q (%s), want %q (%s)", c.Text, c.FinishReason, tc.want, decode.FinishUnit)
			}
			if n := res.Stats.Generated; n > len(tc.want)+2 {
				t.Errorf("%d tokens generated for a %d-byte unit: decoding ran past its end", n, len(tc.want))
			}
		})
	}
}

// TestSyntaxConstraintBlockEnd: where a completion ends at the end of its
// indented block with astguard.
//   - "repaired": a hole in a Python try body whose ground truth ends with
//     the "except:" the suffix's lines belong to (HumanEval/124). The
//     block-end rule stops at that dedented line and leaves a try without
//     except; with astguard the completion goes on past it and ends where
//     it meets the suffix, valid.
//   - "kept": whole lines inserted at a line start are valid only with the
//     line break the engine adds after them (judged without it they read
//     as glued to the next line); the completion ends at its block end as
//     without astguard, unpenalised.
func TestSyntaxConstraintBlockEnd(t *testing.T) {
	tok := decodetest.NewTokenizer(decodetest.StarCoderSpecials...)
	for _, tc := range []struct {
		name, prefix, suffix, script string
		free, want                   string // without and with astguard
		reason                       string // with astguard
	}{
		{"repaired", "def f(s):\n    try:\n        x = int(s)\n", "        return None\n    return x\n",
			"        x += 1\n    except ValueError:\n        return None\n    return x\n",
			"        x += 1\n", "        x += 1\n    except ValueError:\n", decode.FinishSuffix},
		{"kept", "def f(x):\n    for c in x:\n        if c:\n", "        else:\n            y = 1\n    return y\n",
			"            y = 2\n    return y\n",
			"            y = 2\n", "            y = 2\n", decode.FinishBlock},
	} {
		logits := scriptedLogits(tok, true, script{tc.script, 30})
		e, _, _ := newEngine(t, logits, decode.Options{Order: decode.PSM})
		for _, beams := range []int{1, 4} {
			req := decode.Request{Prefix: tc.prefix, Suffix: tc.suffix, Language: "python",
				Limits: decode.Limits{MaxTokens: 80}, Beams: decode.Beams{Width: beams}}
			free, err := e.Complete(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if c := free.Completions[0]; c.Text != tc.free || c.FinishReason != decode.FinishBlock {
				t.Fatalf("%s, beams %d, unconstrained: %q (%s), want %q (block)", tc.name, beams, c.Text, c.FinishReason, tc.free)
			}
			c := completeWithSyntax(t, e, req).Completions[0]
			if c.Text != tc.want || c.FinishReason != tc.reason || c.Penalty != 0 {
				t.Errorf("%s, beams %d, with astguard: %q (%s, penalty %v), want %q (%s, no penalty)",
					tc.name, beams, c.Text, c.FinishReason, c.Penalty, tc.want, tc.reason)
			}
		}
	}
}
