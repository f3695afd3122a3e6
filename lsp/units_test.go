package lsp

import (
	"encoding/json"
	"testing"
	"time"
)

func TestInsertTextJSON(t *testing.T) {
	tests := []struct {
		in    string
		plain string
		err   bool
	}{
		{`"abc"`, "abc", false},
		{`{"kind":"snippet","value":"f(${1:x})"}`, "f(${1:x})", false},
		{`{"kind":"markdown","value":"x"}`, "", true},
		{`42`, "", true},
	}
	for _, tt := range tests {
		var it InsertText
		err := json.Unmarshal([]byte(tt.in), &it)
		if (err != nil) != tt.err || (err == nil && it.Plain() != tt.plain) {
			t.Errorf("%s: %+v, %v", tt.in, it, err)
			continue
		}
		if err == nil {
			out, _ := json.Marshal(it)
			if string(out) != tt.in {
				t.Errorf("round trip %s -> %s", tt.in, out)
			}
		}
	}
	// An item with no range leaves it out (clients then choose), and the
	// trigger kinds are the spec's numbers.
	b, _ := json.Marshal(InlineCompletionItem{InsertText: InsertText{Text: "x"}})
	if string(b) != `{"insertText":"x"}` {
		t.Errorf("item %s", b)
	}
	if InlineInvoked != 1 || InlineAutomatic != 2 {
		t.Error("trigger kinds differ from LSP 3.18 (Invoked 1, Automatic 2)")
	}
}

func TestConfigApply(t *testing.T) {
	base := DefaultConfig()
	tests := []struct {
		name  string
		in    string
		check func(Config) bool
		bad   int
	}{
		{"empty", ``, func(c Config) bool { return c.MaxLines == base.MaxLines }, 0},
		{"null", `null`, func(c Config) bool { return c.MaxLines == base.MaxLines }, 0},
		{"flat", `{"maxLines":3,"debounceMs":0}`, func(c Config) bool { return c.MaxLines == 3 && c.Debounce == 0 }, 0},
		{"wrapped", `{"ghostline":{"contextBudget":512,"astguard":false},"other":{"x":1}}`, func(c Config) bool { return c.ContextBudget == 512 && !c.AstGuard }, 0},
		{"enable merges", `{"enable":{"go":false}}`, func(c Config) bool { return !c.Enabled("go") && c.Enabled("rust") && !c.Enabled("markdown") }, 0},
		{"default off", `{"enable":{"*":false,"python":true}}`, func(c Config) bool { return !c.Enabled("go") && c.Enabled("python") }, 0},
		{"out of range", `{"maxLines":0,"debounceMs":99999,"contextBudget":1}`, func(c Config) bool {
			return c.MaxLines == base.MaxLines && c.Debounce == 50*time.Millisecond && c.ContextBudget == base.ContextBudget
		}, 3},
		{"wrong type", `{"maxLines":"ten"}`, func(c Config) bool { return c.MaxLines == base.MaxLines }, 1},
		{"wrong type loses that setting only", `{"maxLines":"ten","contextBudget":512,"model":"/m.gguf"}`, func(c Config) bool {
			return c.MaxLines == base.MaxLines && c.ContextBudget == 512 && c.Model == "/m.gguf"
		}, 1},
		{"not JSON", `{"maxLines":`, func(c Config) bool { return c.MaxLines == base.MaxLines }, 1},
		{"empty model keeps the startup one", `{"model":""}`, func(c Config) bool { return c.Model == base.Model }, 0},
		{"model", `{"model":"/m.gguf"}`, func(c Config) bool { return c.Model == "/m.gguf" }, 0},
		{"cross-file default", `{}`, func(c Config) bool { return c.CrossFileBudget == 512 }, 0},
		{"cross-file off", `{"crossFileBudget":0}`, func(c Config) bool { return c.CrossFileBudget == 0 }, 0},
		{"cross-file negative", `{"crossFileBudget":-1}`, func(c Config) bool { return c.CrossFileBudget == base.CrossFileBudget }, 1},
	}
	for _, tt := range tests {
		got, bad := base.Apply(json.RawMessage(tt.in))
		if !tt.check(got) || len(bad) != tt.bad {
			t.Errorf("%s: %+v, refused %q", tt.name, got, bad)
		}
	}
	if base.Enabled("go") != true || len(base.Enable) != 4 {
		t.Error("Apply changed the receiver's Enable map")
	}
}

// TestFirstLines: cutting a candidate to the maxLines setting keeps whole
// lines, and keeps the break the engine adds after a completion typed at a
// line start (without it the code after the cursor would be glued to the
// last line: "x = y * 2return x").
func TestFirstLines(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"a", 1, "a"},
		{"a\nb\nc", 2, "a\nb"},
		{"a\r\nb\r\nc", 2, "a\r\nb"},
		{"a\nb", 2, "a\nb"},
		{"y = x + 1\n    x = y * 2\n    ", 2, "y = x + 1\n    x = y * 2\n    "},
		{"y = x + 1\n    x = y * 2\n    z = 3\n    ", 2, "y = x + 1\n    x = y * 2\n    "},
		{"a\r\nb\r\nc\r\n\t", 1, "a\r\n\t"},
		{"a\n", 1, "a\n"},
	} {
		if got := firstLines(tc.s, tc.n); got != tc.want {
			t.Errorf("firstLines(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}
