package lsp_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ghostline-dev/ghostline/decode"
	"github.com/ghostline-dev/ghostline/lsp"
	"github.com/ghostline-dev/ghostline/lsp/lsptest"
	"github.com/ghostline-dev/ghostline/projectgraph"
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
	typingSession(b, lsp.Options{Completer: &lsptest.Fake{}}, "file:///bench/lru.go", nil, []rune(string(src)), 0)
}

// BenchmarkTypingSessionModel is the same replay on the real engine with
// everything a user's session has: the completer observes the documents
// (incremental syntax trees for astguard) and the workspace (this
// repository, indexed by the project graph before typing starts; the file
// is typed as lsp/lru.go, a new file in an existing package, whose
// neighbours the project graph outlines), so each model call carries
// cross-file context. (A new file in a new directory gets none: nothing
// it uses yet is defined in the workspace.) The figures split end-to-end
// latency into model time and the server's own (JSON-RPC, sync, context,
// syntax constraint, prompt). It types the first typedChars characters
// only (a real model answers in seconds per keystroke on a 2-core CPU)
// and runs only when GHOSTLINE_BENCH_MODEL names a GGUF file, since CI
// has no time for it.
func BenchmarkTypingSessionModel(b *testing.B) {
	path := os.Getenv("GHOSTLINE_BENCH_MODEL")
	if path == "" {
		b.Skip("set GHOSTLINE_BENCH_MODEL=FILE.gguf to time typing against a real model")
	}
	src, err := os.ReadFile("../testdata/lsp/typing.go.txt")
	if err != nil {
		b.Fatal(err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		b.Fatal(err)
	}
	const typedChars = 120 // two short lines and a half: a few minutes on 2 cores
	eng := &lsp.EngineCompleter{
		Resolve: func(string) (string, error) { return path, nil }, MaxTokens: 32,
		Trees:   &lsp.SyntaxTrees{},
		Project: &lsp.ProjectContext{Options: projectgraph.Options{NoCache: true}, NoWatch: true},
	}
	defer eng.Close()
	ctx := context.Background()
	if err := eng.Load(ctx, "", func(int, string) {}); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	folder := lsp.WorkspaceFolder{URI: lsp.FileURI(root), Name: "ghostline"}
	if err := eng.Index(ctx, []lsp.WorkspaceFolder{folder}, func(int, string) {}); err != nil {
		b.Fatal(err)
	}
	b.Logf("indexed %s in %v", root, time.Since(t0).Round(time.Millisecond))
	var last decode.Request // the engine request of the keystroke being timed
	lsp.SetRequestHook(eng, func(dr decode.Request) { last = dr })
	prompt := func() time.Duration {
		d, err := lsp.PromptTime(eng, last)
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	uri := lsp.FileURI(filepath.Join(root, "lsp", "lru.go"))
	opts := lsp.Options{Completer: eng, Documents: eng, Workspace: eng}
	typingSession(b, opts, uri, prompt, []rune(string(src))[:typedChars], 10*time.Minute)
}

// keystroke is one timed keystroke.
type keystroke struct {
	total  time.Duration // didChange sent → answer read
	engine time.Duration // the engine's call (0: no model call)
	prompt time.Duration // of which building the prompt (measured apart)
	ctx    time.Duration // cross-file context
	syntax time.Duration // syntax constraint
	// blocks and tokens: the cross-file context the project graph gave
	// (cached: the line's context was reused)
	blocks, tokens int
	cached         bool
}

// model is the time in the model proper: the engine's call less the
// prompt building.
func (k keystroke) model() time.Duration { return k.engine - k.prompt }

// server is what the server adds: JSON-RPC, sync, scheduling, context,
// syntax constraint, prompt.
func (k keystroke) server() time.Duration { return k.total - k.model() }

// typingSession types src one character at a time into uri: for each
// keystroke a didChange (incremental, one character) and an Automatic
// inlineCompletion, timed from sending the didChange to receiving the
// answer. The split comes from Options.OnCompletion, which the server
// calls before it writes the answer, so each keystroke's figures are in
// when its answer is read. prompt, if set, measures the prompt building of
// the keystroke's engine request apart (off the clock). slow, if set, is
// how long one answer may take. Debounce is 0.
func typingSession(b *testing.B, opts lsp.Options, uri string, prompt func() time.Duration, src []rune, slow time.Duration) {
	var keys []keystroke
	var mu sync.Mutex
	var timing lsp.CompletionTiming // of the request being timed
	opts.Config = noDebounce()
	opts.OnCompletion = func(t lsp.CompletionTiming) {
		mu.Lock()
		timing = t
		mu.Unlock()
	}
	for b.Loop() {
		c := start(b, opts)
		c.slow = slow
		c.initialize(vscodeCaps, nil)
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
			t := timing
			mu.Unlock()
			if t.ID != id {
				b.Fatalf("keystroke %d: the timing of request %s was not recorded before its answer (have %s)", len(keys), id, t.ID)
			}
			k := keystroke{total: d, engine: t.Completer.Engine, ctx: t.Completer.Context, syntax: t.Completer.Syntax,
				blocks: t.Completer.ContextBlocks, tokens: t.Completer.ContextTokens, cached: t.Completer.ContextCached}
			if k.engine == 0 { // a Completer that does not split its time
				k.engine = t.Model()
			}
			if prompt != nil && t.Outcome != "cached" && t.Completer.Engine > 0 {
				k.prompt = prompt()
			}
			keys = append(keys, k)
		}
		c.conn.Close()
	}
	report := func(suffix string, keys []keystroke) {
		if len(keys) == 0 {
			return
		}
		q := func(f func(keystroke) time.Duration, p float64) float64 {
			d := make([]time.Duration, len(keys))
			for i, k := range keys {
				d[i] = f(k)
			}
			slices.Sort(d)
			return float64(d[int(p*float64(len(d)-1))].Microseconds())
		}
		total := func(k keystroke) time.Duration { return k.total }
		b.ReportMetric(q(total, 0.50), "p50-µs"+suffix)
		b.ReportMetric(q(total, 0.90), "p90-µs"+suffix)
		b.ReportMetric(q(total, 0.99), "p99-µs"+suffix)
		b.ReportMetric(q(keystroke.model, 0.50), "model-p50-µs"+suffix)
		b.ReportMetric(q(keystroke.model, 0.99), "model-p99-µs"+suffix)
		// End to end minus the model's own time: what the server adds.
		b.ReportMetric(q(keystroke.server, 0.50), "server-p50-µs"+suffix)
		b.ReportMetric(q(keystroke.server, 0.99), "server-p99-µs"+suffix)
		if suffix != "" {
			b.ReportMetric(q(func(k keystroke) time.Duration { return k.ctx }, 0.50), "context-p50-µs"+suffix)
			b.ReportMetric(q(func(k keystroke) time.Duration { return k.ctx }, 0.99), "context-p99-µs"+suffix)
			b.ReportMetric(q(func(k keystroke) time.Duration { return k.syntax }, 0.50), "syntax-p50-µs"+suffix)
			b.ReportMetric(q(func(k keystroke) time.Duration { return k.syntax }, 0.99), "syntax-p99-µs"+suffix)
			b.ReportMetric(q(func(k keystroke) time.Duration { return k.prompt }, 0.50), "prompt-p50-µs"+suffix)
			b.ReportMetric(q(func(k keystroke) time.Duration { return k.prompt }, 0.99), "prompt-p99-µs"+suffix)
		}
	}
	report("", keys) // every keystroke
	var ran []keystroke
	for _, k := range keys {
		if k.engine > 0 && prompt != nil {
			ran = append(ran, k)
		}
	}
	report("/model-call", ran) // the keystrokes that ran the model
	if len(ran) > 0 {
		blocks, tokens, cached := 0, 0, 0
		for _, k := range ran {
			blocks, tokens = blocks+k.blocks, tokens+k.tokens
			if k.cached {
				cached++
			}
		}
		b.ReportMetric(float64(cached)/float64(len(ran)), "context-cached/model-call")
		b.ReportMetric(float64(blocks)/float64(len(ran)), "context-blocks/model-call")
		b.ReportMetric(float64(tokens)/float64(len(ran)), "context-tokens/model-call")
	}
	b.ReportMetric(float64(len(keys))/float64(b.N), "keystrokes/op")
	b.ReportMetric(float64(len(ran))/float64(b.N), "model-calls/op")
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
