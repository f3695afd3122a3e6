package decode_test

import (
	"context"
	"testing"

	"github.com/ghostline-dev/ghostline/decode"
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
