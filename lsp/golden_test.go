package lsp_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/ghostline-dev/ghostline/lsp/lsptest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestGoldenSession replays testdata/lsp/session.script.jsonl (one client
// message a line; a request waits for its answer) and compares every
// server message, in order, with testdata/lsp/session.golden.jsonl.
// Refresh with: go test ./lsp -run TestGoldenSession -update
func TestGoldenSession(t *testing.T) {
	script, err := os.ReadFile("../testdata/lsp/session.script.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	c := fakeServer(t, &lsptest.Fake{}, nil)
	for _, line := range strings.Split(strings.TrimSpace(string(script)), "\n") {
		var m msg
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("script line %q: %v", line, err)
		}
		c.writeBody(line)
		if len(m.ID) > 0 {
			c.response(string(m.ID))
		}
	}
	// Everything the server sent, in order, keys sorted.
	var got bytes.Buffer
	c.mu.Lock()
	all := c.all
	c.mu.Unlock()
	for _, raw := range all {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(v)
		got.Write(b)
		got.WriteByte('\n')
	}
	const golden = "../testdata/lsp/session.golden.jsonl"
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	gl, wl := strings.Split(got.String(), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(gl), len(wl)) {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Errorf("server message %d:\n got %s\nwant %s", i+1, g, w)
		}
	}
}
