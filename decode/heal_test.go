package decode_test

import (
	"context"
	"slices"
	"testing"

	"github.com/ghostline-dev/ghostline/decode"
	"github.com/ghostline-dev/ghostline/decode/decodetest"
)

// TestTokenHealing types in the middle of a word. The prefix "fmt.Pri"
// tokenizes as "fmt" ".Pr" "i", and a model that saw ".Pr" "i" rarely
// continues it as if the word were "Pri…": the fake model here writes
// "intln" after it, as Qwen2.5-Coder does. Healing takes ".Pr" "i" off
// the prompt and lets the model choose tokens that begin with ".Pri": it
// writes ".Print", shown as "nt", then "ln".
//
// The second case heals over two generated tokens: "abc" is one token,
// and the model spells it "ab" "cd", so the completion shows only "d".
func TestTokenHealing(t *testing.T) {
	tok := decodetest.NewTokenizer(decodetest.StarCoderSpecials...)
	tok.Words = []string{"fmt", ".Pr", ".Print", "int", "ln", "abc", "ab", "cd"}
	word := func(w string) int32 {
		ids := tok.Encode(w)
		if len(ids) != 1 {
			t.Fatalf("%q is %d tokens", w, len(ids))
		}
		return ids[0]
	}
	// after: the model's favourite token after a history ending with a
	// sequence of words.
	after := []struct {
		end  []string
		next int32
	}{
		{[]string{".Pr", "i"}, word("int")}, // the odd tokenization: a bad continuation
		{[]string{"fmt"}, word(".Print")},
		{[]string{".Print"}, word("ln")},
		{[]string{"int"}, word("ln")},
		{[]string{"= "}, word("ab")},
		{[]string{"ab"}, word("cd")},
		{[]string{"ln"}, eos},
		{[]string{"cd"}, eos},
	}
	logits := func(h []int32, l []float32) {
		decodetest.HashLogits(1)(h, l)
		for _, a := range after {
			var end []int32
			for _, w := range a.end {
				end = append(end, tok.Encode(w)...)
			}
			if len(h) >= len(end) && slices.Equal(h[len(h)-len(end):], end) {
				l[a.next] = 50
				return
			}
		}
	}
	for _, tc := range []struct {
		prefix, suffix string
		heal           bool
		beams          int
		want           string
	}{
		{"func main() {\n\tfmt.Pri", "(\"hi\")\n}\n", false, 1, "intln"},
		{"func main() {\n\tfmt.Pri", "(\"hi\")\n}\n", true, 1, "ntln"},
		{"func main() {\n\tfmt.Pri", "(\"hi\")\n}\n", true, 4, "ntln"},
		{"x = abc", "\n", true, 1, "d"},
		{"x = abc", "\n", true, 3, "d"},
	} {
		e, lm, _ := newEngineTok(t, tok, logits, decode.Options{Order: decode.SPM, NoHealing: !tc.heal})
		res, err := e.Complete(context.Background(), decode.Request{
			Prefix: tc.prefix, Suffix: tc.suffix, Language: "go",
			Beams: decode.Beams{Width: tc.beams},
			Stop:  decode.StopRules{Multiline: decode.MultilineNever},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Completions[0].Text; got != tc.want {
			t.Errorf("%q heal=%v beams=%d: completion %q, want %q", tc.prefix, tc.heal, tc.beams, got, tc.want)
		}
		checkIdle(t, e, lm)
	}
}

// TestTokenHealingPrompt: healing changes only prompts that end with the
// prefix, and takes off exactly the last token's text.
func TestTokenHealingPrompt(t *testing.T) {
	tok := decodetest.NewTokenizer(decodetest.StarCoderSpecials...)
	tok.Words = []string{"fmt", ".Pr"}
	for _, tc := range []struct {
		prefix   string
		order    decode.Order
		heal     bool
		wantHeal string
		tokens   int // taken off the prompt
	}{
		{"fmt.Pr", decode.SPM, true, ".Pr", 1},
		{"fmt.Pri", decode.SPM, true, ".Pri", 2}, // the word being typed, not only its last token
		{"x := fmt", decode.SPM, true, " fmt", 2},
		{"fmt.Pr", decode.SPM, false, "", 0},
		{"fmt.Pr", decode.PSM, true, "", 0}, // the prompt ends with <fim_middle>
	} {
		in := decode.PromptInput{Prefix: tc.prefix, Suffix: "()\n"}
		tmpl := decode.Template{Special: tok.Special(), Order: tc.order, Heal: tc.heal}
		pr, err := tmpl.Build(tok, in)
		if err != nil {
			t.Fatal(err)
		}
		plain := tmpl
		plain.Heal = false
		want, _ := plain.Build(tok, in)
		if pr.Heal != tc.wantHeal {
			t.Errorf("%v heal=%v: Heal %q, want %q", tc.order, tc.heal, pr.Heal, tc.wantHeal)
		}
		if n := len(want.Tokens) - len(pr.Tokens); n != tc.tokens {
			t.Errorf("%q %v heal=%v: %d tokens taken off the prompt, want %d", tc.prefix, tc.order, tc.heal, n, tc.tokens)
		}
		if !slices.Equal(pr.Tokens, want.Tokens[:len(pr.Tokens)]) {
			t.Errorf("%v heal=%v: the healed prompt is not the plain one cut short", tc.order, tc.heal)
		}
	}
	// A prefix of one token stays: the model would have nothing to go on;
	// so does a line break (a boundary the model knows: healing it let
	// the model open the completion with a blank line). Indentation after
	// it is healed: the model writes "   " " if", not "    " "if".
	tmpl := decode.Template{Special: tok.Special(), Order: decode.SPM, Heal: true}
	for _, tc := range []struct{ prefix, heal string }{
		{"fmt", ""},
		{"x = 1\n", ""},
		{"x = 1\n\n", ""},
		{"x = 1\n    ", " "},
		{"x = 1\nab", "ab"}, // the line break before the word is not taken
	} {
		pr, err := tmpl.Build(tok, decode.PromptInput{Prefix: tc.prefix, Suffix: "\n"})
		if err != nil || pr.Heal != tc.heal {
			t.Errorf("prefix %q: Heal %q (err %v), want %q", tc.prefix, pr.Heal, err, tc.heal)
		}
	}
}
