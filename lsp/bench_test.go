package lsp_test

import (
	"context"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ghostline-dev/ghostline/lsp"
	"github.com/ghostline-dev/ghostline/lsp/lsptest"
	"go.lsp.dev/protocol"
)

type (
	protocolPosition = protocol.Position
	protocolRange    = protocol.Range
)

// BenchmarkTypingSession replays typing testdata/lsp/typing.go.txt one
// character at a time: for each keystroke a didChange (incremental, one
// character) and an Automatic inlineCompletion, timed from sending the
// didChange to receiving the answer. The Completer is the instant fake, so
// the figures are the server's own overhead (JSON-RPC framing and decoding
// over an in-memory pipe, document sync, scheduling, prompt slicing), the
// part of end-to-end latency that is not model time; server-p* subtract
// the Completer's time as the server measured it (Options.OnCompletion),
// which is how the same benchmark separates the two once the real engine
// is plugged in. Debounce is 0.
func BenchmarkTypingSession(b *testing.B) {
	src, err := os.ReadFile("../testdata/lsp/typing.go.txt")
	if err != nil {
		b.Fatal(err)
	}
	typingSession(b, &lsptest.Fake{}, []rune(string(src)))
}

// BenchmarkTypingSessionModel is the same replay on the real engine, so
// the figures split end-to-end latency into model time and the server's
// own. It types the first typedChars characters only (a real model answers
// in seconds per keystroke on a 2-core CPU) and runs only when
// GHOSTLINE_BENCH_MODEL names a GGUF file, since CI has no time for it.
func BenchmarkTypingSessionModel(b *testing.B) {
	path := os.Getenv("GHOSTLINE_BENCH_MODEL")
	if path == "" {
		b.Skip("set GHOSTLINE_BENCH_MODEL=FILE.gguf to time typing against a real model")
	}
	src, err := os.ReadFile("../testdata/lsp/typing.go.txt")
	if err != nil {
		b.Fatal(err)
	}
	const typedChars = 120 // two short lines and a half: ~2 min on 2 cores
	eng := &lsp.EngineCompleter{Resolve: func(string) (string, error) { return path, nil }, MaxTokens: 32}
	defer eng.Close()
	if err := eng.Load(context.Background(), "", func(int, string) {}); err != nil {
		b.Fatal(err)
	}
	typingSession(b, eng, []rune(string(src))[:typedChars])
}

// typingSession types src one character at a time: for each keystroke a
// didChange (incremental, one character) and an Automatic inlineCompletion,
// timed from sending the didChange to receiving the answer. server-p*
// subtract the Completer's time as the server measured it
// (Options.OnCompletion): what the server adds (JSON-RPC, sync,
// scheduling, prompt slicing) apart from model time. Debounce is 0.
func typingSession(b *testing.B, completer lsp.Completer, src []rune) {
	var lat, server, model []time.Duration
	var mu sync.Mutex
	var last time.Duration // Completer time of the request being timed
	onCompletion := func(t lsp.CompletionTiming) {
		mu.Lock()
		last = t.Model()
		mu.Unlock()
	}
	for b.Loop() {
		c := start(b, lsp.Options{Completer: completer, Config: noDebounce(), OnCompletion: onCompletion})
		c.initialize(vscodeCaps, nil)
		const uri = "file:///bench/lru.go"
		c.open(uri, "go", "")
		line, col := 0, 0
		for _, ch := range src {
			t0 := time.Now()
			c.change(uri, edit(line, col, line, col, string(ch)))
			if ch == '\n' {
				line, col = line+1, 0
			} else {
				col++ // the file is ASCII: one UTF-16 unit per character
			}
			id := c.call(lsp.MethodInlineCompletion, inlineParams(uri, line, col, 2))
			c.response(id)
			d := time.Since(t0)
			mu.Lock()
			lat, server, model = append(lat, d), append(server, d-last), append(model, last)
			mu.Unlock()
		}
		c.conn.Close()
	}
	slices.Sort(lat)
	slices.Sort(server)
	slices.Sort(model)
	q := func(d []time.Duration, p float64) float64 { return float64(d[int(p*float64(len(d)-1))].Microseconds()) }
	b.ReportMetric(q(lat, 0.50), "p50-µs/keystroke")
	b.ReportMetric(q(lat, 0.90), "p90-µs/keystroke")
	b.ReportMetric(q(lat, 0.99), "p99-µs/keystroke")
	b.ReportMetric(q(model, 0.50), "model-p50-µs")
	b.ReportMetric(q(model, 0.99), "model-p99-µs")
	// End to end minus the Completer's own time: what the server adds.
	b.ReportMetric(q(server, 0.50), "server-p50-µs")
	b.ReportMetric(q(server, 0.99), "server-p99-µs")
	b.ReportMetric(float64(len(lat))/float64(b.N), "keystrokes/op")
}

// BenchmarkApplyEdit measures one incremental edit on a 1 MB document:
// the string splice and line re-index that every didChange costs.
func BenchmarkApplyEdit(b *testing.B) {
	src, err := os.ReadFile("../testdata/lsp/typing.go.txt")
	if err != nil {
		b.Fatal(err)
	}
	var big []byte
	for len(big) < 1<<20 {
		big = append(big, src...)
	}
	text := lsp.NewText(string(big))
	mid := text.Position(len(big)/2, lsp.UTF16)
	r := lspRange(mid)
	b.SetBytes(int64(len(big)))
	for b.Loop() {
		if _, _, err := text.Apply(&r, "x", lsp.UTF16); err != nil {
			b.Fatal(err)
		}
	}
}

func lspRange(p protocolPosition) protocolRange { return protocolRange{Start: p, End: p} }
