package decode_test

import (
	"context"
	"testing"

	"github.com/ghostline-dev/ghostline/decode"
	"github.com/ghostline-dev/ghostline/decode/decodetest"
)

// BenchmarkCompleteFixture measures a full request on the tiny fixture
// model (random weights: the text is noise; the figure is engine overhead
// plus a small forward pass), greedy and beam 4, with the prefix cache warm.
func BenchmarkCompleteFixture(b *testing.B) {
	l, err := decode.Load(fixtureModel(b, "qwen2-q8_0.gguf"), decode.LoadOptions{Threads: 2, KVCells: 4096})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	for _, w := range []int{1, 4} {
		b.Run(map[int]string{1: "greedy", 4: "beam4"}[w], func(b *testing.B) {
			req := decode.Request{Prefix: "package main\n\nfunc main() {\n\t", Suffix: "\n}\n", Language: "go",
				Beams: decode.Beams{Width: w}, Limits: decode.Limits{MaxTokens: 32},
				Stop: decode.StopRules{Multiline: decode.MultilineAlways, NoBlockEnd: true, NoSuffixStop: true}}
			for i := 0; i < b.N; i++ {
				if _, err := l.Complete(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEngineOverhead measures what the engine adds per generated token
// (sampling over the vocabulary, beam bookkeeping, batching, stop rules)
// with a stand-in model whose forward pass costs almost nothing, at the
// vocabulary size of Qwen2.5-Coder (151,936).
func BenchmarkEngineOverhead(b *testing.B) {
	tok := decodetest.NewTokenizer(decodetest.StarCoderSpecials...)
	const vocab = 151936
	flat := func(h []int32, l []float32) {
		// A fixed, history-dependent favourite among byte tokens keeps
		// the completion going without an end token.
		// Special tokens never win: with the rest of the vocabulary tied
		// at 0, an end token would rank among beam 4's candidates and end
		// the search after two steps, measuring nothing.
		l[tok.ID(byte('a'+len(h)%26))] = 5
		l[tok.ID(byte('a'+(len(h)+7)%26))] = 4
		for i := range len(tok.Specials) {
			l[i] = -1e9
		}
	}
	for _, w := range []int{1, 4} {
		b.Run(map[int]string{1: "greedy", 4: "beam4"}[w], func(b *testing.B) {
			lm := decodetest.NewLM(vocab, 4096, flat)
			e, err := decode.NewEngine(lm, tok, tok.Special(), decode.Options{Order: decode.PSM})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			req := decode.Request{Prefix: "x = ", Suffix: "\n", Beams: decode.Beams{Width: w},
				Limits: decode.Limits{MaxTokens: 32}, Stop: decode.StopRules{Multiline: decode.MultilineAlways}}
			tokens := 0
			for i := 0; i < b.N; i++ {
				res, err := e.Complete(context.Background(), req)
				if err != nil {
					b.Fatal(err)
				}
				tokens += res.Stats.Generated
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(tokens), "µs/token")
		})
	}
}
