package lsp_test

import (
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
	var lat, server []time.Duration
	var mu sync.Mutex
	var model time.Duration // Completer time of the request being timed
	onCompletion := func(t lsp.CompletionTiming) {
		mu.Lock()
		model = t.Model()
		mu.Unlock()
	}
	for b.Loop() {
		c := start(b, lsp.Options{Completer: &lsptest.Fake{}, Config: noDebounce(), OnCompletion: onCompletion})
		c.initialize(vscodeCaps, nil)
		const uri = "file:///bench/lru.go"
		c.open(uri, "go", "")
		line, col := 0, 0
		for _, ch := range string(src) {
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
			lat, server = append(lat, d), append(server, d-model)
			mu.Unlock()
		}
		c.conn.Close()
	}
	slices.Sort(lat)
	slices.Sort(server)
	q := func(d []time.Duration, p float64) float64 { return float64(d[int(p*float64(len(d)-1))].Microseconds()) }
	b.ReportMetric(q(lat, 0.50), "p50-µs/keystroke")
	b.ReportMetric(q(lat, 0.90), "p90-µs/keystroke")
	b.ReportMetric(q(lat, 0.99), "p99-µs/keystroke")
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
