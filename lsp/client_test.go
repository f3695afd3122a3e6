package lsp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghostline-dev/ghostline/lsp"
	"github.com/ghostline-dev/ghostline/lsp/lsptest"
)

// msg is a decoded JSON-RPC message as the client sees it.
type msg struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

func (m msg) isResponse() bool { return m.Method == "" }

// client is a raw JSON-RPC test client over an in-memory pipe. It answers
// the server's requests (progress tokens, registrations) with null results
// and keeps the server's notifications for inspection.
type client struct {
	t      testing.TB
	conn   net.Conn
	nextID int

	mu            sync.Mutex
	responses     map[string]msg // by raw id
	notifications []msg
	serverCalls   []msg
	changed       chan struct{} // signalled on every message
	versions      map[string]int
	all           [][]byte // every server message, in order

	served chan error
	// slow, if set, replaces the 30 s a response may take (a real model
	// on a loaded CPU).
	slow time.Duration
}

// start runs a server with opts on one end of a pipe.
func start(t testing.TB, opts lsp.Options) *client {
	t.Helper()
	srv, err := lsp.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	c := &client{t: t, conn: a, responses: map[string]msg{}, changed: make(chan struct{}, 1), served: make(chan error, 1)}
	go func() { c.served <- srv.Serve(context.Background(), b) }()
	go c.readLoop()
	t.Cleanup(func() {
		a.Close()
		select {
		case <-c.served:
		case <-time.After(5 * time.Second):
			t.Error("server did not stop after the connection closed")
		}
	})
	return c
}

func (c *client) readLoop() {
	r := bufio.NewReader(c.conn)
	for {
		n := -1
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSpace(line)
			if line == "" {
				break
			}
			if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
				n, _ = strconv.Atoi(v)
			}
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		var m msg
		if err := json.Unmarshal(body, &m); err != nil || m.JSONRPC != "2.0" {
			c.t.Errorf("server sent a malformed message %q: %v", body, err)
			continue
		}
		c.mu.Lock()
		c.all = append(c.all, body)
		switch {
		case m.isResponse():
			c.responses[string(m.ID)] = m
		case len(m.ID) > 0:
			c.serverCalls = append(c.serverCalls, m)
		default:
			c.notifications = append(c.notifications, m)
		}
		c.mu.Unlock()
		if len(m.ID) > 0 && !m.isResponse() {
			// Answer from another goroutine: like a real client, keep
			// reading while writing (net.Pipe has no buffer, so a
			// blocking write here could deadlock with the server's).
			go func(id json.RawMessage) { // errors: the test may be over
				body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":null}`, id)
				fmt.Fprintf(c.conn, "Content-Length: %d\r\n\r\n%s", len(body), body)
			}(m.ID)
		}
		select {
		case c.changed <- struct{}{}:
		default:
		}
	}
}

func (c *client) writeBody(body string) {
	c.writeRaw(fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body))
}

func (c *client) writeRaw(s string) {
	// Generous: a 5 MB didOpen under the race detector takes seconds.
	c.conn.SetWriteDeadline(time.Now().Add(60 * time.Second))
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Errorf("write: %v", err)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// call sends a request and returns its id.
func (c *client) call(method string, params any) string {
	c.nextID++
	id := strconv.Itoa(c.nextID)
	c.writeBody(fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":%q,"params":%s}`, id, method, mustJSON(params)))
	return id
}

func (c *client) notify(method string, params any) {
	c.writeBody(fmt.Sprintf(`{"jsonrpc":"2.0","method":%q,"params":%s}`, method, mustJSON(params)))
}

// waitFor polls cond until it holds or the deadline passes.
func (c *client) waitFor(what string, d time.Duration, cond func() bool) {
	c.t.Helper()
	deadline := time.After(d)
	for {
		c.mu.Lock()
		ok := cond()
		c.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-c.changed:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			c.t.Fatalf("timed out after %v waiting for %s", d, what)
		}
	}
}

// response waits for the response to id.
func (c *client) response(id string) msg {
	c.t.Helper()
	var m msg
	wait := 30 * time.Second
	if c.slow > 0 {
		wait = c.slow
	}
	c.waitFor("response "+id, wait, func() bool {
		r, ok := c.responses[id]
		m = r
		return ok
	})
	return m
}

// result waits for a successful response and decodes it into v.
func (c *client) result(id string, v any) {
	c.t.Helper()
	m := c.response(id)
	if m.Error != nil {
		c.t.Fatalf("request %s failed: %d %s", id, m.Error.Code, m.Error.Message)
	}
	if v != nil {
		if err := json.Unmarshal(m.Result, v); err != nil {
			c.t.Fatalf("result of %s: %v (%s)", id, err, m.Result)
		}
	}
}

// errorCode waits for an error response and returns its code and message.
func (c *client) errorCode(id string) (int, string) {
	c.t.Helper()
	m := c.response(id)
	if m.Error == nil {
		c.t.Fatalf("request %s succeeded (%s), want an error", id, m.Result)
	}
	return m.Error.Code, m.Error.Message
}

// notificationsOf returns the server's notifications of one method so far.
func (c *client) notificationsOf(method string) []msg {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []msg
	for _, n := range c.notifications {
		if n.Method == method {
			out = append(out, n)
		}
	}
	return out
}

// initialize runs the handshake with the given capabilities JSON.
func (c *client) initialize(capabilities string, initOptions any) map[string]any {
	c.t.Helper()
	var res struct {
		Capabilities map[string]any `json:"capabilities"`
	}
	id := c.call("initialize", json.RawMessage(fmt.Sprintf(`{"processId":null,"rootUri":"file:///ws","capabilities":%s,"initializationOptions":%s}`, capabilities, mustJSON(initOptions))))
	c.result(id, &res)
	c.notify("initialized", map[string]any{})
	return res.Capabilities
}

func (c *client) open(uri, lang, text string) {
	c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": lang, "version": 1, "text": text}})
}

func (c *client) change(uri string, changes ...map[string]any) {
	c.mu.Lock()
	if c.versions == nil {
		c.versions = map[string]int{}
	}
	c.versions[uri]++
	v := c.versions[uri] + 1
	c.mu.Unlock()
	c.notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": uri, "version": v}, "contentChanges": changes})
}

func rng(l1, c1, l2, c2 int) map[string]any {
	return map[string]any{"start": map[string]int{"line": l1, "character": c1}, "end": map[string]int{"line": l2, "character": c2}}
}

func edit(l1, c1, l2, c2 int, text string) map[string]any {
	return map[string]any{"range": rng(l1, c1, l2, c2), "text": text}
}

func inlineParams(uri string, line, char, kind int) map[string]any {
	return map[string]any{
		"textDocument": map[string]string{"uri": uri},
		"position":     map[string]int{"line": line, "character": char},
		"context":      map[string]any{"triggerKind": kind},
	}
}

type inlineList struct {
	Items []struct {
		InsertText string `json:"insertText"`
		Range      struct {
			Start struct{ Line, Character int }
			End   struct{ Line, Character int }
		} `json:"range"`
		Command struct {
			Command   string   `json:"command"`
			Arguments []string `json:"arguments"`
		} `json:"command"`
	} `json:"items"`
}

func (l inlineList) texts() []string {
	var out []string
	for _, it := range l.Items {
		out = append(out, it.InsertText)
	}
	return out
}

// noDebounce is a config with debounce 0, for tests that do not measure it.
func noDebounce() *lsp.Config {
	c := lsp.DefaultConfig()
	c.Debounce = 0
	return &c
}

func fakeServer(t testing.TB, fake *lsptest.Fake, mod func(*lsp.Options)) *client {
	opts := lsp.Options{Completer: fake, Config: noDebounce(), Logger: testLogger(t)}
	if mod != nil {
		mod(&opts)
	}
	return start(t, opts)
}

// testLogger sends the server's log to t.Log (shown for failing tests).
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}
