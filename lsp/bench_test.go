package lsp_test

import (
	"os"
	"slices"
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
// part of end-to-end latency that is not model time. Debounce is 0.
func BenchmarkTypingSession(b *testing.B) {
	src, err := os.ReadFile("../testdata/lsp/typing.go.txt")
	if err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	for b.Loop() {
		c := start(b, lsp.Options{Completer: &lsptest.Fake{}, Config: noDebounce()})
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
			lat = append(lat, time.Since(t0))
		}
		c.conn.Close()
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(q(0.50), "p50-µs/keystroke")
	b.ReportMetric(q(0.90), "p90-µs/keystroke")
	b.ReportMetric(q(0.99), "p99-µs/keystroke")
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
