package lsp_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ghostline-dev/ghostline/lsp"
	"github.com/ghostline-dev/ghostline/lsp/lsptest"
)

func TestEncodingNegotiation(t *testing.T) {
	tests := []struct {
		offered string
		want    string
	}{
		{`[]`, "utf-16"},
		{`["utf-16"]`, "utf-16"},
		{`["utf-16","utf-8"]`, "utf-8"},
		{`["utf-32","utf-16"]`, "utf-32"},
		{`["utf-8","utf-32","utf-16"]`, "utf-8"},
		{`["latin-1"]`, "utf-16"},
	}
	for _, tt := range tests {
		c := fakeServer(t, &lsptest.Fake{}, nil)
		caps := c.initialize(`{"general":{"positionEncodings":`+tt.offered+`}}`, nil)
		if caps["positionEncoding"] != tt.want {
			t.Errorf("offered %s: chose %v, want %s", tt.offered, caps["positionEncoding"], tt.want)
		}
	}
}

// In UTF-8 and UTF-32 mode, columns count bytes and code points.
func TestCompletionColumnsPerEncoding(t *testing.T) {
	for _, tt := range []struct {
		enc  string
		char int // the column after "é😀 ab" on line 1
	}{{"utf-8", len("é😀 ab")}, {"utf-16", 6}, {"utf-32", 5}} {
		fake := &lsptest.Fake{}
		c := fakeServer(t, fake, nil)
		c.initialize(`{"general":{"positionEncodings":["`+tt.enc+`"]},"textDocument":{"inlineCompletion":{}}}`, nil)
		c.open("file:///e.py", "python", "x\r\né😀 ab\r\n")
		var list inlineList
		c.result(c.call(lsp.MethodInlineCompletion, inlineParams("file:///e.py", 1, tt.char, 2)), &list)
		if got := list.texts(); len(got) != 1 || got[0] != "ghost0(ab)" {
			t.Errorf("%s: items %q", tt.enc, got)
		}
		if r := fake.Requests()[0]; r.Prefix != "x\r\né😀 ab" || r.Suffix != "\r\n" {
			t.Errorf("%s: prefix %q suffix %q", tt.enc, r.Prefix, r.Suffix)
		}
	}
}

// completionList is the fields of a textDocument/completion answer the
// tests read.
type completionList struct {
	IsIncomplete bool `json:"isIncomplete"`
	Items        []struct {
		Label          string `json:"label"`
		FilterText     string `json:"filterText"`
		InsertTextMode int    `json:"insertTextMode"`
		TextEdit       struct {
			Range   struct{ Start, End struct{ Line, Character int } } `json:"range"`
			NewText string                                             `json:"newText"`
		} `json:"textEdit"`
	} `json:"items"`
}

func TestCompletionFallback(t *testing.T) {
	fake := &lsptest.Fake{}
	c := fakeServer(t, fake, nil)
	caps := c.initialize(`{}`, nil) // no inline completion capability
	if _, ok := caps["completionProvider"]; !ok {
		t.Fatal("completionProvider not offered to a client without inline completion")
	}
	c.open("file:///f.go", "go", "package f\nvar x = fo")
	var list completionList
	c.result(c.call("textDocument/completion", map[string]any{
		"textDocument": map[string]string{"uri": "file:///f.go"},
		"position":     map[string]int{"line": 1, "character": 10},
		"context":      map[string]int{"triggerKind": 1},
	}), &list)
	if !list.IsIncomplete || len(list.Items) != 1 {
		t.Fatalf("list %+v: want isIncomplete and one item", list)
	}
	it := list.Items[0]
	// The edit covers the word "fo" so that the client's filtering by the
	// typed word keeps the item.
	if it.TextEdit.NewText != "foghost0(fo)" || it.Label != "foghost0(fo)" || it.TextEdit.Range.Start.Character != 8 || it.TextEdit.Range.End.Character != 10 {
		t.Errorf("item %+v", it)
	}
	if it.InsertTextMode != 1 {
		t.Errorf("insertTextMode %d, want 1 (asIs): the text's lines are indented already", it.InsertTextMode)
	}
	if n := fake.Requests()[0].N; n != 1 {
		t.Errorf("fallback asked for %d candidates, want 1", n)
	}
}

// A long first line is cut in the list's label, never inside a
// character (a client shows a broken byte as "�").
func TestCompletionFallbackLabelCut(t *testing.T) {
	fake := &lsptest.Fake{}
	c := fakeServer(t, fake, nil)
	c.initialize(`{}`, nil)
	word := "a" + strings.Repeat("é", 45) // byte 80 falls inside an é
	c.open("file:///f.go", "go", "package f\nvar x = "+word)
	var list struct {
		Items []struct {
			Label string `json:"label"`
		} `json:"items"`
	}
	c.result(c.call("textDocument/completion", map[string]any{
		"textDocument": map[string]string{"uri": "file:///f.go"},
		"position":     map[string]int{"line": 1, "character": 8 + 46},
		"context":      map[string]int{"triggerKind": 1},
	}), &list)
	if len(list.Items) != 1 {
		t.Fatalf("items %+v", list.Items)
	}
	l := list.Items[0].Label
	if !utf8.ValidString(l) || strings.ContainsRune(l, utf8.RuneError) || !strings.HasSuffix(l, "…") || !strings.HasPrefix(word+"ghost0("+word, strings.TrimSuffix(l, "…")) {
		t.Errorf("label %q: want the item's start, cut at a character boundary, then …", l)
	}
}

func TestSkippedDocuments(t *testing.T) {
	fake := &lsptest.Fake{}
	c := fakeServer(t, fake, nil)
	c.initialize(vscodeCaps, nil)
	big := "// " + strings.Repeat("x", lsp.MaxDocumentBytes)
	c.open("file:///big.go", "go", big)
	c.open("file:///bin.go", "go", "GIF89a\x00\x01")
	var list inlineList
	for _, uri := range []string{"file:///big.go", "file:///bin.go"} {
		c.result(c.call(lsp.MethodInlineCompletion, inlineParams(uri, 0, 2, 1)), &list)
		if len(list.Items) != 0 {
			t.Errorf("%s: items %q from a skipped document", uri, list.texts())
		}
		// Incremental changes to a skipped document are ignored quietly.
		c.change(uri, edit(0, 0, 0, 0, "y"))
	}
	c.waitFor("two skip messages", 2*time.Second, func() bool {
		n := 0
		for _, m := range c.notifications {
			if m.Method == "window/showMessage" && strings.Contains(string(m.Params), "no completions in") {
				n++
			}
		}
		return n == 2
	})
	if len(fake.Requests()) != 0 {
		t.Error("the completer ran on a skipped document")
	}
	// A full-text change brings a document back.
	c.change("file:///bin.go", map[string]any{"text": "package ok\nfunc "})
	c.result(c.call(lsp.MethodInlineCompletion, inlineParams("file:///bin.go", 1, 5, 2)), &list)
	if got := list.texts(); len(got) != 1 {
		t.Errorf("after a full-text change: %q", got)
	}
	// An edit that cannot apply (past the end) puts the document out of
	// sync: no completions on a text we no longer know.
	c.change("file:///bin.go", edit(9, 0, 9, 1, "z"))
	c.result(c.call(lsp.MethodInlineCompletion, inlineParams("file:///bin.go", 1, 5, 2)), &list)
	if len(list.Items) != 0 {
		t.Errorf("out-of-sync document still completed: %q", list.texts())
	}
	if msgs := c.notificationsOf("window/showMessage"); len(msgs) != 3 || !strings.Contains(string(msgs[2].Params), "resends") {
		t.Errorf("showMessage after a bad edit: %v", msgs)
	}
}

// A missing model is reported once, with the command that installs the
// model asked for: the default's `ghostline pull`, another's `ghostline
// pull NAME`, never the default's for another.
func TestModelMissingMessage(t *testing.T) {
	for _, tc := range []struct {
		model string
		want  string
	}{{"", "install it with: ghostline pull. "}, {"qwen2.5-coder-1.5b", "install it with: ghostline pull qwen2.5-coder-1.5b. "}} {
		c := fakeServer(t, &lsptest.Fake{MissingModel: true}, nil)
		var opts any
		if tc.model != "" {
			opts = map[string]any{"model": tc.model}
		}
		c.initialize(`{"window":{"workDoneProgress":true}}`, opts)
		c.waitFor("showMessage", 5*time.Second, func() bool {
			for _, m := range c.notifications {
				if m.Method == "window/showMessage" {
					return true
				}
			}
			return false
		})
		msgs := c.notificationsOf("window/showMessage")
		var p struct {
			Type    int
			Message string
		}
		json.Unmarshal(msgs[0].Params, &p)
		if len(msgs) != 1 || p.Type != 1 || !strings.Contains(p.Message, tc.want) || strings.Count(p.Message, "ghostline pull") != 1 ||
			!strings.Contains(p.Message, "reload the window") {
			t.Errorf("model %q: showMessage %+v (of %d); want one error with %q", tc.model, p, len(msgs), tc.want)
		}
	}
}

// A model that computes NaN fails every request the same way: the user is
// told once, with the commands that check and repair the file, and again
// only after another model has loaded.
func TestBrokenModelMessage(t *testing.T) {
	fake := &lsptest.Fake{}
	c := fakeServer(t, fake, nil)
	c.initialize(vscodeCaps, nil)
	loaded := func(n int) { // the model loads (again) before the requests
		c.waitFor("the model load", 5*time.Second, func() bool {
			ends := 0
			for _, m := range c.notifications {
				if m.Method == "$/progress" && strings.Contains(string(m.Params), `"kind":"end"`) {
					ends++
				}
			}
			return ends >= n
		})
	}
	// The server sends the message before the failed request's answer, so
	// it is here once that answer is.
	fail := func() {
		t.Helper()
		if code, _ := c.errorCode(c.call(lsp.MethodInlineCompletion, inlineParams("file:///n.go", 0, 8, 2))); code == 0 {
			t.Fatal("a failed completion answered without an error")
		}
	}
	told := func() int {
		n := 0
		for _, m := range c.notificationsOf("window/showMessage") {
			if strings.Contains(string(m.Params), "ghostline doctor") && strings.Contains(string(m.Params), "NaN") {
				n++
			}
		}
		return n
	}
	loaded(1)
	c.open("file:///n.go", "go", "x := NAN")
	for range 3 {
		fail()
	}
	if n := told(); n != 1 {
		t.Fatalf("%d messages about the broken model after 3 failures, want 1", n)
	}
	c.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"ghostline": map[string]any{"model": "/models/other.gguf"}}})
	loaded(2)
	if l := fake.Loads(); l[len(l)-1] != "/models/other.gguf" {
		t.Fatalf("loads %v", l)
	}
	fail()
	if n := told(); n != 2 {
		t.Fatalf("%d messages about the broken model after another model loaded, want 2", n)
	}
}

func TestConfiguration(t *testing.T) {
	fake := &lsptest.Fake{}
	c := fakeServer(t, fake, nil)
	c.initialize(vscodeCaps, map[string]any{"ghostline": map[string]any{"maxLines": 2}})
	c.open("file:///c.go", "go", "func f() {")
	c.open("file:///c.md", "markdown", "# title")
	var list inlineList
	c.result(c.call(lsp.MethodInlineCompletion, inlineParams("file:///c.go", 0, 10, 2)), &list)
	if got := list.texts(); len(got) != 1 || got[0] != "\n\tghost0()" {
		t.Errorf("maxLines 2 from initializationOptions: %q", got)
	}
	if r := fake.Requests()[0]; r.MaxLines != 2 || r.ContextBudget != 2048 || !r.AstGuard {
		t.Errorf("request settings %+v", r)
	}
	// markdown is off by default.
	c.result(c.call(lsp.MethodInlineCompletion, inlineParams("file:///c.md", 0, 7, 2)), &list)
	if len(list.Items) != 0 {
		t.Errorf("markdown completed by default: %q", list.texts())
	}
	// Settings change: turn go off, markdown on, more lines, a bad value,
	// another model (which is loaded again).
	c.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"ghostline": map[string]any{
		"maxLines": 5, "contextBudget": 4096, "astguard": false, "debounceMs": -3, "model": "/models/other.gguf",
		"enable": map[string]bool{"go": false, "markdown": true},
	}}})
	c.result(c.call(lsp.MethodInlineCompletion, inlineParams("file:///c.go", 0, 10, 2)), &list)
	if len(list.Items) != 0 {
		t.Errorf("go completed after being disabled: %q", list.texts())
	}
	c.result(c.call(lsp.MethodInlineCompletion, inlineParams("file:///c.md", 0, 7, 2)), &list)
	if got := list.texts(); len(got) != 1 || got[0] != "ghost0(title)" {
		t.Errorf("markdown after enabling: %q", got)
	}
	r := fake.Requests()[len(fake.Requests())-1]
	if r.MaxLines != 5 || r.ContextBudget != 4096 || r.AstGuard {
		t.Errorf("request settings after change %+v", r)
	}
	msgs := c.notificationsOf("window/showMessage")
	if len(msgs) != 1 || !strings.Contains(string(msgs[0].Params), "debounceMs -3") {
		t.Errorf("bad setting not reported: %v", msgs)
	}
	// The new model is loaded last (an older load still running is
	// cancelled first, so the engine ends with the model named last).
	c.waitFor("model reload", 2*time.Second, func() bool {
		l := fake.Loads()
		return len(l) > 0 && l[len(l)-1] == "/models/other.gguf"
	})
	// The client sends its whole section each time: "go" no longer listed
	// means go is back to its default (on), not still off; maxLines left
	// out is the default again, not the initializationOptions' 2 (they were
	// the client's settings at startup, since changed).
	c.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"ghostline": map[string]any{
		"model": "/models/other.gguf", "enable": map[string]bool{"markdown": true},
	}}})
	c.open("file:///d.go", "go", "var y = q")
	c.result(c.call(lsp.MethodInlineCompletion, inlineParams("file:///d.go", 0, 9, 2)), &list)
	if len(list.Items) != 1 {
		t.Errorf("go still off after its setting was removed: %q", list.texts())
	}
	def := lsp.DefaultConfig()
	if r := fake.Requests()[len(fake.Requests())-1]; r.URI != "file:///d.go" || r.MaxLines != def.MaxLines || r.ContextBudget != def.ContextBudget {
		t.Errorf("settings left out did not return to the defaults: %+v", r)
	}
	// An emptied model setting means the default model again.
	c.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"ghostline": map[string]any{"model": ""}}})
	c.waitFor("the default model reloaded", 2*time.Second, func() bool {
		l := fake.Loads()
		return len(l) > 0 && l[len(l)-1] == ""
	})
}

// A language turned off at startup and later removed from the client's
// enable setting is on again (the client sends its whole section).
func TestConfigurationEnableRemoved(t *testing.T) {
	fake := &lsptest.Fake{}
	c := fakeServer(t, fake, nil)
	c.initialize(vscodeCaps, map[string]any{"ghostline": map[string]any{"enable": map[string]bool{"go": false}}})
	c.open("file:///e.go", "go", "var y = q")
	var list inlineList
	c.result(c.call(lsp.MethodInlineCompletion, inlineParams("file:///e.go", 0, 9, 2)), &list)
	if len(list.Items) != 0 {
		t.Fatalf("go completed while off: %q", list.texts())
	}
	c.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"ghostline": map[string]any{"enable": map[string]bool{}}}})
	c.result(c.call(lsp.MethodInlineCompletion, inlineParams("file:///e.go", 0, 9, 2)), &list)
	if len(list.Items) != 1 {
		t.Errorf("go still off after its setting was removed: %q", list.texts())
	}
}

func TestFeedbackLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "feedback.jsonl")
	c := fakeServer(t, &lsptest.Fake{}, func(o *lsp.Options) { o.FeedbackLog = path })
	c.initialize(vscodeCaps, nil)
	c.open("file:///fb.py", "python", "pri")
	var raw json.RawMessage
	c.result(c.call(lsp.MethodInlineCompletion, inlineParams("file:///fb.py", 0, 3, 2)), &raw)
	var list struct{ Items []map[string]any }
	json.Unmarshal(raw, &list)
	item := list.Items[0]
	id := item["command"].(map[string]any)["arguments"].([]any)[0].(string)
	c.notify("textDocument/didShowCompletion", map[string]any{"item": item})
	c.notify("textDocument/didPartiallyAcceptCompletion", map[string]any{"item": item, "acceptedLength": 3})
	c.notify("ghostline/didAccept", map[string]any{"id": id})
	c.result(c.call("workspace/executeCommand", map[string]any{"command": "ghostline.didAccept", "arguments": []string{id}}), nil)
	if code, _ := c.errorCode(c.call("workspace/executeCommand", map[string]any{"command": "rm -rf"})); code != -32602 {
		t.Errorf("unknown command: %d", code)
	}
	var recs []lsp.FeedbackRecord
	c.waitFor("four records", 2*time.Second, func() bool {
		b, _ := os.ReadFile(path)
		recs = nil
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var r lsp.FeedbackRecord
			if json.Unmarshal([]byte(l), &r) == nil {
				recs = append(recs, r)
			}
		}
		return len(recs) == 4
	})
	want := []string{"shown", "partial", "accepted", "accepted"}
	for i, r := range recs {
		if r.Event != want[i] || r.ID != id || r.Text != "ghost0(pri)" || r.URI != "file:///fb.py" || r.LanguageID != "python" {
			t.Errorf("record %d: %+v", i, r)
		}
	}
	if recs[1].AcceptedLength == nil || *recs[1].AcceptedLength != 3 {
		t.Errorf("partial accept length: %+v", recs[1])
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("feedback log mode: %v %v (want private 0600)", st, err)
	}
}

func TestDefaultFeedbackPath(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/xdg/state")
	if got := lsp.DefaultFeedbackPath(); got != "/xdg/state/ghostline/feedback.jsonl" {
		t.Errorf("with XDG_STATE_HOME: %s", got)
	}
	t.Setenv("XDG_STATE_HOME", "relative/ignored")
	t.Setenv("HOME", "/home/u")
	if got := lsp.DefaultFeedbackPath(); got != "/home/u/.local/state/ghostline/feedback.jsonl" {
		t.Errorf("default: %s", got)
	}
}

func TestCloseMidCompletion(t *testing.T) {
	fake := &lsptest.Fake{}
	c := fakeServer(t, fake, nil)
	c.initialize(vscodeCaps, nil)
	c.open("file:///b.go", "go", "BLOCK")
	id := c.call(lsp.MethodInlineCompletion, inlineParams("file:///b.go", 0, 5, 2))
	c.waitFor("the completer to start", 5*time.Second, func() bool { return len(fake.Requests()) == 1 })
	c.notify("textDocument/didClose", map[string]any{"textDocument": map[string]string{"uri": "file:///b.go"}})
	if code, m := c.errorCode(id); code != -32800 || !strings.Contains(m, "closed") {
		t.Errorf("completion of a closed document: %d %q", code, m)
	}
	if code, _ := c.errorCode(c.call(lsp.MethodInlineCompletion, inlineParams("file:///b.go", 0, 5, 2))); code != -32602 {
		t.Errorf("completion after close: %d, want -32602", code)
	}
}

func TestExitWithoutShutdown(t *testing.T) {
	c := fakeServer(t, &lsptest.Fake{}, nil)
	c.initialize(`{}`, nil)
	c.notify("exit", nil)
	select {
	case err := <-c.served:
		if err != lsp.ErrNoShutdown {
			t.Errorf("Serve = %v, want ErrNoShutdown (exit status 1)", err)
		}
		c.served <- err
	case <-time.After(5 * time.Second):
		t.Fatal("no exit")
	}
}

func TestInitializeTwiceAndNotificationsBeforeInit(t *testing.T) {
	fake := &lsptest.Fake{}
	c := fakeServer(t, fake, nil)
	c.open("file:///early.go", "go", "x") // dropped: not initialized
	c.initialize(vscodeCaps, nil)
	if code, _ := c.errorCode(c.call("initialize", map[string]any{"capabilities": map[string]any{}})); code != -32600 {
		t.Errorf("second initialize: %d", code)
	}
	if code, _ := c.errorCode(c.call(lsp.MethodInlineCompletion, inlineParams("file:///early.go", 0, 1, 2))); code != -32602 {
		t.Errorf("document opened before initialize was kept: %d", code)
	}
	if code, _ := c.errorCode(c.call(lsp.MethodInlineCompletion, json.RawMessage(`{"textDocument":"nope"}`))); code != -32602 {
		t.Errorf("malformed params: %d", code)
	}
}

func TestDebounce(t *testing.T) {
	fake := &lsptest.Fake{}
	cfg := lsp.DefaultConfig()
	cfg.Debounce = time.Second // long, so that a loaded machine cannot space the burst out
	c := start(t, lsp.Options{Completer: fake, Config: &cfg})
	c.initialize(vscodeCaps, nil)
	c.open("file:///d.go", "go", "abc")
	// A burst of automatic requests: only the last reaches the completer.
	var ids []string
	for i := 0; i < 3; i++ {
		ids = append(ids, c.call(lsp.MethodInlineCompletion, inlineParams("file:///d.go", 0, 3, 2)))
	}
	var list inlineList
	c.result(ids[2], &list)
	for _, id := range ids[:2] {
		if code, _ := c.errorCode(id); code != -32800 {
			t.Errorf("debounced request %s: %d", id, code)
		}
	}
	if n := len(fake.Requests()); n != 1 {
		t.Errorf("completer called %d times for a burst, want 1", n)
	}
	// Invoked requests skip the debounce.
	t0 := time.Now()
	c.change("file:///d.go", edit(0, 3, 0, 3, "d"))
	c.result(c.call(lsp.MethodInlineCompletion, inlineParams("file:///d.go", 0, 4, 1)), &list)
	if d := time.Since(t0); d > 900*time.Millisecond {
		t.Errorf("invoked request took %v: debounced?", d)
	}
}

// stubborn ignores cancellation for a while: the server must still answer
// a cancelled request at once, and keep the document's next call waiting
// until the stubborn one returns.
type stubborn struct {
	release  chan struct{}
	running  atomic.Int32
	overlaps atomic.Int32
}

func (s *stubborn) Complete(ctx context.Context, req lsp.CompletionRequest) (lsp.CompletionResult, error) {
	if s.running.Add(1) > 1 {
		s.overlaps.Add(1)
	}
	defer s.running.Add(-1)
	if strings.HasSuffix(req.Prefix, "wait") {
		<-s.release
	}
	return lsp.CompletionResult{Candidates: []lsp.Candidate{{Text: "done"}}}, nil
}

func TestStubbornCompleter(t *testing.T) {
	st := &stubborn{release: make(chan struct{})}
	c := start(t, lsp.Options{Completer: st, Config: noDebounce()})
	c.initialize(vscodeCaps, nil)
	c.open("file:///s.go", "go", "wait")
	first := c.call(lsp.MethodInlineCompletion, inlineParams("file:///s.go", 0, 4, 2))
	c.waitFor("the completer to start", 5*time.Second, func() bool { return st.running.Load() == 1 })
	c.notify("$/cancelRequest", map[string]any{"id": json.RawMessage(first)})
	if code, _ := c.errorCode(first); code != -32800 {
		t.Fatalf("cancelled: %d", code)
	}
	c.change("file:///s.go", edit(0, 0, 0, 4, "go"))
	second := c.call(lsp.MethodInlineCompletion, inlineParams("file:///s.go", 0, 2, 2))
	time.Sleep(50 * time.Millisecond)
	c.mu.Lock()
	_, early := c.responses[second]
	c.mu.Unlock()
	if early {
		t.Error("second completion ran while the first was still in the completer")
	}
	close(st.release)
	var list inlineList
	c.result(second, &list)
	if got := list.texts(); len(got) != 1 || got[0] != "done" {
		t.Errorf("second: %q", got)
	}
	if st.overlaps.Load() != 0 {
		t.Error("completer calls overlapped for one document")
	}
}

// Different documents complete concurrently: a blocked one does not hold
// up another.
func TestDocumentsIndependent(t *testing.T) {
	fake := &lsptest.Fake{}
	c := fakeServer(t, fake, nil)
	c.initialize(vscodeCaps, nil)
	c.open("file:///1.go", "go", "BLOCK")
	c.open("file:///2.go", "go", "two")
	blocked := c.call(lsp.MethodInlineCompletion, inlineParams("file:///1.go", 0, 5, 2))
	var list inlineList
	c.result(c.call(lsp.MethodInlineCompletion, inlineParams("file:///2.go", 0, 3, 2)), &list)
	if got := list.texts(); len(got) != 1 || got[0] != "ghost0(two)" {
		t.Errorf("second document: %q", got)
	}
	c.result(c.call("shutdown", nil), nil) // cancels what is in flight
	if code, m := c.errorCode(blocked); code != -32800 || !strings.Contains(m, "shutting down") {
		t.Errorf("in-flight completion at shutdown: %d %q", code, m)
	}
}

// recorder is a DocumentObserver keeping a shadow copy through the edits.
type recorder struct {
	mu     sync.Mutex
	shadow map[string]string
	bad    []string
}

func (r *recorder) DidOpen(uri, lang string, v int32, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.shadow[uri] = text
}

func (r *recorder) DidChange(uri string, v int32, edits []lsp.Edit, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.shadow[uri]
	for _, e := range edits {
		// Points must match the bytes, as tree-sitter needs.
		if p := pointOf(s, e.StartByte); p != e.StartPoint {
			r.bad = append(r.bad, "start point")
		}
		if p := pointOf(s, e.OldEndByte); p != e.OldEndPoint {
			r.bad = append(r.bad, "old end point")
		}
		s = s[:e.StartByte] + e.NewText + s[e.OldEndByte:]
	}
	if s != text {
		r.bad = append(r.bad, "edits do not reproduce the text")
	}
	r.shadow[uri] = s
}

func (r *recorder) DidClose(uri string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.shadow, uri)
}

func pointOf(s string, off int) lsp.Point {
	row := strings.Count(s[:off], "\n")
	return lsp.Point{Row: uint32(row), Column: uint32(off - strings.LastIndex(s[:off], "\n") - 1)}
}

func TestDocumentObserver(t *testing.T) {
	rec := &recorder{shadow: map[string]string{}}
	c := fakeServer(t, &lsptest.Fake{}, func(o *lsp.Options) { o.Documents = rec })
	c.initialize(vscodeCaps, nil)
	const uri = "file:///o.rs"
	c.open(uri, "rust", "fn main() {\r\n    let s = \"😀\";\r\n}\r\n")
	c.change(uri, edit(1, 13, 1, 15, "𝄞x"), edit(0, 11, 1, 0, "\n"), edit(2, 0, 2, 0, "// end\r\n"))
	c.change(uri, map[string]any{"text": "fn x() {}\n"})
	c.change(uri, edit(0, 9, 0, 9, "\n"))
	var list inlineList
	c.result(c.call(lsp.MethodInlineCompletion, inlineParams(uri, 1, 0, 2)), &list) // a barrier: all changes are processed
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.bad) > 0 {
		t.Errorf("observer saw inconsistent edits: %v", rec.bad)
	}
	if got := rec.shadow[uri]; got != "fn x() {}\n\n" {
		t.Errorf("shadow text %q", got)
	}
}

// The observers drop a document's state when it is opened again without a
// close (even when the new text is skipped) and when the session ends
// with documents open (in TCP mode they outlive sessions).
func TestDocumentObserverReopenAndSessionEnd(t *testing.T) {
	rec := &recorder{shadow: map[string]string{}}
	c := fakeServer(t, &lsptest.Fake{}, func(o *lsp.Options) { o.Documents = rec })
	c.initialize(vscodeCaps, nil)
	c.open("file:///a.go", "go", "package a\n")
	c.open("file:///b.go", "go", "package b\n")
	c.open("file:///a.go", "go", "bin\x00ary") // skipped: binary
	var list inlineList
	c.result(c.call(lsp.MethodInlineCompletion, inlineParams("file:///b.go", 0, 9, 2)), &list) // a barrier
	rec.mu.Lock()
	_, kept := rec.shadow["file:///a.go"]
	rec.mu.Unlock()
	if kept {
		t.Error("reopening a.go with skipped text left its old state in the observer")
	}
	c.notify("exit", nil)
	err := <-c.served
	c.served <- err
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.shadow) != 0 {
		t.Errorf("documents open at the session's end still observed: %v", rec.shadow)
	}
}

// workspace is a WorkspaceObserver recording what it is told.
type workspace struct {
	mu      sync.Mutex
	added   []string
	removed []string
	files   []lsp.FileEvent
	indexed [][]string
}

func (w *workspace) FoldersChanged(added, removed []lsp.WorkspaceFolder) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, f := range added {
		w.added = append(w.added, f.URI)
	}
	for _, f := range removed {
		w.removed = append(w.removed, f.URI)
	}
}

func (w *workspace) FilesChanged(ev []lsp.FileEvent) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.files = append(w.files, ev...)
}

func (w *workspace) Index(ctx context.Context, folders []lsp.WorkspaceFolder, report lsp.ProgressFunc) error {
	var uris []string
	for _, f := range folders {
		uris = append(uris, f.URI)
	}
	report(50, "half")
	w.mu.Lock()
	defer w.mu.Unlock()
	w.indexed = append(w.indexed, uris)
	return nil
}

func (w *workspace) snapshot() (indexed [][]string, added, removed []string, files []lsp.FileEvent) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([][]string(nil), w.indexed...), append([]string(nil), w.added...), append([]string(nil), w.removed...), append([]lsp.FileEvent(nil), w.files...)
}

func TestWorkspace(t *testing.T) {
	ws := &workspace{}
	c := fakeServer(t, &lsptest.Fake{}, func(o *lsp.Options) { o.Workspace = ws })
	var res struct{ Capabilities map[string]any }
	c.result(c.call("initialize", json.RawMessage(`{"capabilities":{"workspace":{"workspaceFolders":true,"didChangeWatchedFiles":{"dynamicRegistration":true}}},
		"workspaceFolders":[{"uri":"file:///a","name":"a"},{"uri":"file:///b","name":"b"}]}`)), &res)
	c.notify("initialized", map[string]any{})
	// File watching is registered with the client, and the folders indexed.
	c.waitFor("watcher registration and indexing", 5*time.Second, func() bool {
		ix, _, _, _ := ws.snapshot()
		return len(c.serverCalls) == 1 && len(ix) == 1
	})
	c.mu.Lock()
	reg := c.serverCalls[0]
	c.mu.Unlock()
	if reg.Method != "client/registerCapability" || !strings.Contains(string(reg.Params), `"method":"workspace/didChangeWatchedFiles"`) {
		t.Errorf("registration %s %s", reg.Method, reg.Params)
	}
	c.notify("workspace/didChangeWorkspaceFolders", map[string]any{"event": map[string]any{
		"added": []map[string]string{{"uri": "file:///c", "name": "c"}}, "removed": []map[string]string{{"uri": "file:///a", "name": "a"}},
	}})
	c.notify("workspace/didChangeWatchedFiles", map[string]any{"changes": []map[string]any{{"uri": "file:///b/x.go", "type": 2}}})
	c.waitFor("re-index after folders change", 5*time.Second, func() bool {
		ix, _, _, files := ws.snapshot()
		return len(ix) == 2 && len(files) == 1
	})
	ix, added, removed, files := ws.snapshot()
	if strings.Join(ix[0], ",") != "file:///a,file:///b" || strings.Join(ix[1], ",") != "file:///b,file:///c" {
		t.Errorf("indexed %q", ix)
	}
	if strings.Join(added, ",") != "file:///c" || strings.Join(removed, ",") != "file:///a" {
		t.Errorf("folders added %q removed %q", added, removed)
	}
	if files[0].URI != "file:///b/x.go" || files[0].Type != 2 {
		t.Errorf("files %+v", files)
	}
}

// panicky is a DocumentObserver with a bug.
type panicky struct{}

func (panicky) DidOpen(string, string, int32, string)       {}
func (panicky) DidChange(string, int32, []lsp.Edit, string) { panic("observer bug") }
func (panicky) DidClose(string)                             {}

// A panic in a notification handler is recovered; the document is still
// updated and the session goes on.
func TestPanicInNotificationRecovered(t *testing.T) {
	fake := &lsptest.Fake{}
	c := fakeServer(t, fake, func(o *lsp.Options) { o.Documents = panicky{} })
	c.initialize(vscodeCaps, nil)
	c.open("file:///p.go", "go", "a")
	c.change("file:///p.go", edit(0, 1, 0, 1, "b"))
	var list inlineList
	c.result(c.call(lsp.MethodInlineCompletion, inlineParams("file:///p.go", 0, 2, 2)), &list)
	if got := list.texts(); len(got) != 1 || got[0] != "ghost0(ab)" {
		t.Errorf("after a panicking observer: %q", got)
	}
}

func TestCompletionTiming(t *testing.T) {
	var mu sync.Mutex
	var got []lsp.CompletionTiming
	c := fakeServer(t, &lsptest.Fake{}, func(o *lsp.Options) {
		o.OnCompletion = func(ct lsp.CompletionTiming) { mu.Lock(); got = append(got, ct); mu.Unlock() }
	})
	c.initialize(vscodeCaps, nil)
	c.open("file:///t.go", "go", "SLOW x")
	var list inlineList
	c.result(c.call(lsp.MethodInlineCompletion, inlineParams("file:///t.go", 0, 6, 2)), &list)
	c.change("file:///t.go", edit(0, 6, 0, 6, "gh"))
	c.result(c.call(lsp.MethodInlineCompletion, inlineParams("file:///t.go", 0, 8, 2)), &list)
	// Timings are recorded before the answer is written: both are in
	// once the second answer has been read.
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("%d timings recorded when the second answer arrived, want 2", len(got))
	}
	if got[0].ID != "2" || got[1].ID != "3" { // initialize was request 1
		t.Errorf("request ids %q, %q", got[0].ID, got[1].ID)
	}
	if got[0].Outcome != "items" || got[0].Items != 1 || got[0].Model() < 250*time.Millisecond || got[0].Replied.Before(got[0].Returned) {
		t.Errorf("first: %+v (model %v), want items after a ~300 ms Completer call", got[0], got[0].Model())
	}
	if got[0].Received.IsZero() || got[0].Started.Before(got[0].Received) {
		t.Errorf("first: received %v started %v", got[0].Received, got[0].Started)
	}
	if got[1].Outcome != "cached" || got[1].Model() != 0 {
		t.Errorf("second: %+v, want cached with no model time", got[1])
	}
}

func TestCompletionBudget(t *testing.T) {
	fake := &lsptest.Fake{}
	c := fakeServer(t, fake, func(o *lsp.Options) { o.CompletionBudget = 150 * time.Millisecond })
	c.initialize(vscodeCaps, nil)
	c.open("file:///u.go", "go", "x")
	t0 := time.Now()
	c.result(c.call(lsp.MethodInlineCompletion, inlineParams("file:///u.go", 0, 1, 2)), nil)
	d := fake.Requests()[0].Deadline
	if d.Before(t0.Add(150*time.Millisecond)) || d.After(time.Now().Add(150*time.Millisecond)) {
		t.Errorf("deadline %v not 150 ms after the request (sent %v)", d, t0)
	}
	// Without a budget, no deadline.
	fake2 := &lsptest.Fake{}
	c2 := fakeServer(t, fake2, nil)
	c2.initialize(vscodeCaps, nil)
	c2.open("file:///u.go", "go", "x")
	c2.result(c2.call(lsp.MethodInlineCompletion, inlineParams("file:///u.go", 0, 1, 2)), nil)
	if d := fake2.Requests()[0].Deadline; !d.IsZero() {
		t.Errorf("deadline %v without a budget", d)
	}
}

// ctxCompleter answers at once and hands each request's context to the
// test.
type ctxCompleter struct{ ctxs chan context.Context }

func (c ctxCompleter) Complete(ctx context.Context, _ lsp.CompletionRequest) (lsp.CompletionResult, error) {
	c.ctxs <- ctx
	return lsp.CompletionResult{Candidates: []lsp.Candidate{{Text: "x"}}}, nil
}

// An answered request's context is released (cancelled), not kept as a
// child of the server's for the rest of the session.
func TestAnsweredRequestReleasesItsContext(t *testing.T) {
	cc := ctxCompleter{ctxs: make(chan context.Context, 4)}
	c := fakeServer(t, nil, func(o *lsp.Options) { o.Completer = cc })
	c.initialize(vscodeCaps, nil)
	c.open("file:///a.go", "go", "package a\n\nvar v = ")
	var list inlineList
	c.result(c.call(lsp.MethodInlineCompletion, inlineParams("file:///a.go", 2, 8, 2)), &list)
	if got := list.texts(); len(got) != 1 {
		t.Fatalf("items %q, want the completer's one", got)
	}
	ctx := <-cc.ctxs
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Error("the answered request's context is still live")
	}
}

// replacer answers with one candidate that writes the closers after the
// cursor itself and replaces them.
type replacer struct{}

func (replacer) Complete(context.Context, lsp.CompletionRequest) (lsp.CompletionResult, error) {
	return lsp.CompletionResult{Candidates: []lsp.Candidate{{Text: `Hello, ", name)`, Replace: 2}}}, nil
}

// TestItemRangeCoversReplacedClosers: a candidate that replaces the
// closers an editor auto-inserted gets an item range (inline) and an edit
// range (fallback) from the cursor over them, on the cursor's line; typing
// along the suggestion keeps that range.
func TestItemRangeCoversReplacedClosers(t *testing.T) {
	c := start(t, lsp.Options{Completer: replacer{}, Config: noDebounce()})
	c.initialize(vscodeCaps, nil)
	c.open("file:///r.go", "go", "package r\n\nfunc f() {\n\tname := 1\n\tfmt.Println(\"\")\n}\n")
	var list inlineList
	c.result(c.call(lsp.MethodInlineCompletion, inlineParams("file:///r.go", 4, 14, 2)), &list)
	if len(list.Items) != 1 {
		t.Fatalf("items %+v", list.Items)
	}
	r := list.Items[0].Range
	if list.Items[0].InsertText != `Hello, ", name)` || r.Start.Line != 4 || r.Start.Character != 14 || r.End.Line != 4 || r.End.Character != 16 {
		t.Errorf("item %+v: want the text over 4:14–4:16", list.Items[0])
	}
	// Typed along: "He" typed, the rest of the suggestion replaces the
	// same closers, now two characters further.
	c.change("file:///r.go", edit(4, 14, 4, 14, "He"))
	c.result(c.call(lsp.MethodInlineCompletion, inlineParams("file:///r.go", 4, 16, 2)), &list)
	if len(list.Items) != 1 || list.Items[0].InsertText != `llo, ", name)` || list.Items[0].Range.End.Character != 18 {
		t.Errorf("typed along: %+v", list.Items)
	}

	// A count past the end of the line is not turned into a range.
	c.open("file:///e.go", "go", "package e\n\nvar x = \n")
	c.result(c.call(lsp.MethodInlineCompletion, inlineParams("file:///e.go", 2, 8, 2)), &list)
	if len(list.Items) != 1 || list.Items[0].Range.End.Character != 8 {
		t.Errorf("at the end of a line: %+v", list.Items)
	}

	var fb completionList
	c.result(c.call("textDocument/completion", map[string]any{
		"textDocument": map[string]string{"uri": "file:///r.go"},
		"position":     map[string]int{"line": 4, "character": 16},
		"context":      map[string]int{"triggerKind": 1},
	}), &fb)
	if len(fb.Items) != 1 {
		t.Fatalf("fallback items %+v", fb.Items)
	}
	// The fallback's edit starts at the word before the cursor ("He").
	if e := fb.Items[0].TextEdit; e.NewText != `HeHello, ", name)` || e.Range.Start.Character != 14 || e.Range.End.Character != 18 {
		t.Errorf("fallback edit %+v", e)
	}
}
