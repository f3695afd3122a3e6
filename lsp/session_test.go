package lsp_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ghostline-dev/ghostline/lsp"
	"github.com/ghostline-dev/ghostline/lsp/lsptest"
)

const vscodeCaps = `{"general":{"positionEncodings":["utf-16"]},"textDocument":{"inlineCompletion":{"dynamicRegistration":false}},"window":{"workDoneProgress":true}}`

// TestSession drives one whole session in raw JSON-RPC, in protocol order,
// checking each answer and what the Completer was asked.
func TestSession(t *testing.T) {
	fake := &lsptest.Fake{LoadSteps: 2, LoadStepDelay: 150 * time.Millisecond}
	c := fakeServer(t, fake, nil)

	// Before initialize: requests are refused with ServerNotInitialized.
	if code, _ := c.errorCode(c.call(lsp.MethodInlineCompletion, inlineParams("file:///x", 0, 0, 2))); code != -32002 {
		t.Errorf("request before initialize: code %d, want -32002", code)
	}

	caps := c.initialize(vscodeCaps, nil)
	if caps["positionEncoding"] != "utf-16" {
		t.Errorf("positionEncoding = %v, want utf-16 (the only one offered)", caps["positionEncoding"])
	}
	if sync, _ := caps["textDocumentSync"].(map[string]any); sync["change"] != 2.0 || sync["openClose"] != true {
		t.Errorf("textDocumentSync = %v, want incremental with open/close", caps["textDocumentSync"])
	}
	if _, ok := caps["inlineCompletionProvider"]; !ok {
		t.Error("no inlineCompletionProvider")
	}
	if _, ok := caps["completionProvider"]; ok {
		t.Error("completionProvider offered to a client with inline completion: the model would run twice")
	}

	// Model loading shows progress: a token is created first, then begin,
	// at least one report, end.
	c.waitFor("progress end", 5*time.Second, func() bool {
		for _, n := range c.notifications {
			if n.Method == "$/progress" && strings.Contains(string(n.Params), `"kind":"end"`) {
				return true
			}
		}
		return false
	})
	c.mu.Lock()
	if len(c.serverCalls) == 0 || c.serverCalls[0].Method != "window/workDoneProgress/create" {
		t.Errorf("server calls %v: want window/workDoneProgress/create first", c.serverCalls)
	}
	c.mu.Unlock()
	var kinds []string
	for _, n := range c.notificationsOf("$/progress") {
		var p struct {
			Value struct{ Kind string } `json:"value"`
		}
		json.Unmarshal(n.Params, &p)
		kinds = append(kinds, p.Value.Kind)
	}
	if len(kinds) < 3 || kinds[0] != "begin" || kinds[len(kinds)-1] != "end" {
		t.Errorf("progress kinds %v, want begin, report..., end", kinds)
	}

	// Open a CRLF document with an astral character, then edit it
	// incrementally with UTF-16 positions.
	const uri = "file:///ws/a.go"
	c.open(uri, "go", "package a\r\n\r\nfunc 😀() {\r\n\t\r\n}\r\n")
	// 😀 is two UTF-16 units: line 2 characters 5..7. Replace it.
	c.change(uri, edit(2, 5, 2, 7, "𝄞name"))
	// Line 2 is now "func 𝄞name() {": "𝄞" is 2 units, so "() {" starts at 11.
	// Type on line 3 after the tab.
	c.change(uri, edit(3, 1, 3, 1, "x := f"))
	var list inlineList
	c.result(c.call(lsp.MethodInlineCompletion, inlineParams(uri, 3, 7, 2)), &list)
	if got := list.texts(); len(got) != 1 || got[0] != "ghost0(f)" {
		t.Fatalf("automatic completion = %q, want exactly [ghost0(f)]", got)
	}
	if r := list.Items[0].Range; r.Start.Line != 3 || r.Start.Character != 7 || r.End != r.Start {
		t.Errorf("item range %+v, want the empty range at 3:7", r)
	}
	if list.Items[0].Command.Command != "ghostline.didAccept" || len(list.Items[0].Command.Arguments) != 1 {
		t.Errorf("item command %+v, want ghostline.didAccept with the item id", list.Items[0].Command)
	}
	reqs := fake.Requests()
	last := reqs[len(reqs)-1]
	if want := "package a\r\n\r\nfunc 𝄞name() {\r\n\tx := f"; last.Prefix != want {
		t.Errorf("completer prefix %q, want %q", last.Prefix, want)
	}
	if last.Suffix != "\r\n}\r\n" || last.Line != 3 || last.Column != len("\tx := f") || last.LanguageID != "go" || last.N != 1 || last.Path != "/ws/a.go" {
		t.Errorf("completer request %+v", last)
	}

	// A change whose range ends after the astral character, in the same
	// line, and a change spanning a CRLF.
	c.change(uri, edit(2, 5, 2, 11, "g"), edit(3, 7, 4, 0, "\r\n"))
	c.result(c.call(lsp.MethodInlineCompletion, inlineParams(uri, 3, 7, 2)), &list)
	last = fake.Requests()[len(fake.Requests())-1]
	if want := "package a\r\n\r\nfunc g() {\r\n\tx := f"; last.Prefix != want || last.Suffix != "\r\n}\r\n" {
		t.Fatalf("after edits: prefix %q suffix %q", last.Prefix, last.Suffix)
	}

	// Typing along the suggestion: the remainder comes back and the
	// completer is not called.
	calls := len(fake.Requests())
	c.change(uri, edit(3, 7, 3, 7, "gh"))
	c.result(c.call(lsp.MethodInlineCompletion, inlineParams(uri, 3, 9, 2)), &list)
	if got := list.texts(); len(got) != 1 || got[0] != "ost0(f)" {
		t.Errorf("typing along: %q, want [ost0(f)]", got)
	}
	if n := len(fake.Requests()); n != calls {
		t.Errorf("typing along called the completer (%d calls, want %d)", n, calls)
	}

	// Invoked: up to three distinct items (the cache had one, so the
	// completer runs).
	c.result(c.call(lsp.MethodInlineCompletion, inlineParams(uri, 3, 9, 1)), &list)
	if got := list.texts(); strings.Join(got, ",") != "ghost0(fgh),ghost1(fgh),ghost2(fgh)" {
		t.Errorf("invoked: %q, want three distinct items", got)
	}

	// selectedCompletionInfo: items extend the selected text over its range.
	p := inlineParams(uri, 3, 9, 2)
	p["context"].(map[string]any)["selectedCompletionInfo"] = map[string]any{"range": rng(3, 6, 3, 9), "text": "fmt.Sprint"}
	c.result(c.call(lsp.MethodInlineCompletion, p), &list)
	if got := list.texts(); len(got) != 1 || got[0] != "fmt.Sprintghost0(Sprint)" {
		t.Errorf("with selectedCompletionInfo: %q", got)
	}
	if r := list.Items[0].Range; r.Start.Character != 6 || r.End.Character != 9 || r.Start.Line != 3 {
		t.Errorf("with selectedCompletionInfo: range %+v, want 3:6-3:9", r)
	}
	if last = fake.Requests()[len(fake.Requests())-1]; !strings.HasSuffix(last.Prefix, "\tx := fmt.Sprint") || last.Suffix != "\r\n}\r\n" {
		t.Errorf("with selectedCompletionInfo: prefix %q suffix %q", last.Prefix, last.Suffix)
	}

	// Cancellation: a completion that blocks is stopped by $/cancelRequest
	// and answered with RequestCancelled.
	c.change(uri, edit(3, 1, 3, 9, "BLOCK"))
	n := len(fake.Requests())
	id := c.call(lsp.MethodInlineCompletion, inlineParams(uri, 3, 6, 2))
	c.waitFor("the completer to start", 5*time.Second, func() bool { return len(fake.Requests()) > n })
	t0 := time.Now()
	c.notify("$/cancelRequest", map[string]any{"id": json.RawMessage(id)})
	if code, m := c.errorCode(id); code != -32800 || !strings.Contains(m, "cancelled by the client") {
		t.Errorf("cancelled request: %d %q, want -32800", code, m)
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("cancellation took %v", d)
	}
	c.waitFor("completer sees the cancellation", 2*time.Second, func() bool { return fake.Cancelled() == 1 })

	// Supersession: a newer request for the document cancels the older.
	n = len(fake.Requests())
	older := c.call(lsp.MethodInlineCompletion, inlineParams(uri, 3, 6, 2))
	c.waitFor("the completer to start", 5*time.Second, func() bool { return len(fake.Requests()) > n })
	c.change(uri, edit(3, 1, 3, 6, "f"))
	newer := c.call(lsp.MethodInlineCompletion, inlineParams(uri, 3, 2, 1))
	if code, m := c.errorCode(older); code != -32800 || !strings.Contains(m, "superseded") {
		t.Errorf("superseded request: %d %q", code, m)
	}
	c.result(newer, &list)
	if got := list.texts(); len(got) != 3 || got[0] != "ghost0(f)" {
		t.Errorf("newer request: %q", got)
	}
	if fake.Overlapped() {
		t.Error("two completer calls for one document ran at once")
	}

	// A malformed message gets a Parse error and the session goes on.
	c.writeRaw("Content-Length: 12\r\n\r\n{\"jsonrpc\":")
	okID := c.call(lsp.MethodInlineCompletion, inlineParams(uri, 3, 2, 2))
	c.result(okID, &list)
	if pe := c.response("null"); pe.Error == nil || pe.Error.Code != -32700 {
		t.Errorf("malformed message answered with %+v, want -32700 and id null", pe)
	}

	// Unknown and unimplemented methods, bad positions, a panicking
	// completer: errors, never a crash.
	if code, _ := c.errorCode(c.call("ghostline/nonsense", nil)); code != -32601 {
		t.Errorf("unknown method: %d", code)
	}
	if code, m := c.errorCode(c.call("textDocument/hover", inlineParams(uri, 0, 0, 2))); code != -32601 || !strings.Contains(m, "not implemented") {
		t.Errorf("unimplemented method: %d %q", code, m)
	}
	if code, _ := c.errorCode(c.call(lsp.MethodInlineCompletion, inlineParams(uri, 99, 0, 2))); code != -32602 {
		t.Errorf("position out of range: %d, want -32602", code)
	}
	if code, _ := c.errorCode(c.call(lsp.MethodInlineCompletion, inlineParams("file:///ws/unopened.go", 0, 0, 2))); code != -32602 {
		t.Errorf("unopened document: %d, want -32602", code)
	}
	if code, _ := c.errorCode(c.call(lsp.MethodInlineCompletion, inlineParams(uri, 0, 0, 7))); code != -32602 {
		t.Errorf("unknown trigger kind: %d, want -32602", code)
	}
	c.change(uri, edit(3, 1, 3, 2, "PANIC"))
	if code, m := c.errorCode(c.call(lsp.MethodInlineCompletion, inlineParams(uri, 3, 6, 2))); code != -32803 || !strings.Contains(m, "panicked") {
		t.Errorf("panicking completer: %d %q, want -32803", code, m)
	}
	c.change(uri, edit(3, 1, 3, 6, "ok"))
	c.result(c.call(lsp.MethodInlineCompletion, inlineParams(uri, 3, 3, 2)), &list)
	if got := list.texts(); len(got) != 1 || got[0] != "ghost0(ok)" {
		t.Errorf("after the panic: %q", got)
	}

	// Shutdown, then requests are refused, then exit ends Serve cleanly.
	c.result(c.call("shutdown", nil), nil)
	if code, _ := c.errorCode(c.call(lsp.MethodInlineCompletion, inlineParams(uri, 3, 3, 2))); code != -32600 {
		t.Errorf("request after shutdown: %d, want -32600", code)
	}
	c.notify("exit", nil)
	select {
	case err := <-c.served:
		if err != nil {
			t.Errorf("Serve after shutdown+exit = %v, want nil", err)
		}
		c.served <- err // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("server did not exit")
	}
}
