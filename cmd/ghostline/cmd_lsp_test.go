package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ghostline-dev/ghostline/lsp"
	"github.com/ghostline-dev/ghostline/lsp/lsptest"
)

// lspExchange sends framed bodies on conn and returns the bodies of the
// next n messages read.
func lspExchange(t *testing.T, conn net.Conn, r *bufio.Reader, n int, bodies ...string) []string {
	t.Helper()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	for _, b := range bodies {
		fmt.Fprintf(conn, "Content-Length: %d\r\n\r\n%s", len(b), b)
	}
	var out []string
	for len(out) < n {
		length := -1
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("reading header: %v", err)
			}
			if line = strings.TrimSpace(line); line == "" {
				break
			}
			if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
				length, _ = strconv.Atoi(v)
			}
		}
		body := make([]byte, length)
		if _, err := io.ReadFull(r, body); err != nil {
			t.Fatal(err)
		}
		out = append(out, string(body))
	}
	return out
}

// TestLSPOverTCP: --listen serves one session per connection, one after
// the other, each a fresh server.
func TestLSPOverTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback TCP here: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	opts := lsp.Options{Completer: &lsptest.Fake{}, Logger: slog.New(slog.DiscardHandler)}
	go func() { done <- serveTCP(ctx, ln, opts, opts.Logger) }()

	for session := range 2 {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(conn)
		got := lspExchange(t, conn, r, 1, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{"textDocument":{"inlineCompletion":{}}}}}`)
		if !strings.Contains(got[0], `"inlineCompletionProvider"`) {
			t.Fatalf("session %d: initialize answered %s", session, got[0])
		}
		got = lspExchange(t, conn, r, 1,
			`{"jsonrpc":"2.0","method":"initialized","params":{}}`,
			`{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"file:///t.go","languageId":"go","version":1,"text":"x := ab"}}}`,
			`{"jsonrpc":"2.0","id":2,"method":"textDocument/inlineCompletion","params":{"textDocument":{"uri":"file:///t.go"},"position":{"line":0,"character":7},"context":{"triggerKind":1}}}`)
		if !strings.Contains(got[0], `"insertText":"ghost2(ab)"`) {
			t.Errorf("session %d: completion %s", session, got[0])
		}
		got = lspExchange(t, conn, r, 1, `{"jsonrpc":"2.0","id":3,"method":"shutdown"}`, `{"jsonrpc":"2.0","method":"exit"}`)
		if got[0] != `{"jsonrpc":"2.0","result":null,"id":3}` {
			t.Errorf("session %d: shutdown %s", session, got[0])
		}
		conn.Close()
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serveTCP after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serveTCP did not stop")
	}
}

// TestLSPOptionsObservers: the engine's completer follows documents and
// the workspace (syntax trees, project graph), so the server must hand it
// the edits and folder events; the fake follows neither.
func TestLSPOptionsObservers(t *testing.T) {
	eng := engineCompleter(64)
	if eng.Options.Engine.ReuseRun != 64 {
		t.Errorf("--reuse-run 64 gave the engine ReuseRun %d", eng.Options.Engine.ReuseRun)
	}
	opts := lspOptions(eng, slog.New(slog.DiscardHandler), "/m.gguf")
	if opts.Documents == nil || opts.Workspace == nil {
		t.Errorf("engine completer not observing: documents %v, workspace %v", opts.Documents, opts.Workspace)
	}
	if eng.Trees == nil || eng.Project == nil {
		t.Error("engine completer without syntax trees or project graph")
	}
	if opts.Config.Model != "/m.gguf" || opts.Completer != lsp.Completer(eng) {
		t.Errorf("options %+v", opts)
	}
	fake := lspOptions(&lsptest.Fake{}, slog.New(slog.DiscardHandler), "")
	if fake.Documents != nil || fake.Workspace != nil {
		t.Error("the fake completer became an observer")
	}
}
