package lsp

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"
)

// Config holds the user settings, from initializationOptions and
// workspace/didChangeConfiguration. Settings may come flat or under a
// "ghostline" key: {"ghostline": {"maxLines": 4}}.
type Config struct {
	// Model: path or name of the model to load; "" means the default model.
	Model string `json:"model"`
	// MaxLines: the longest suggestion, in lines. Multi-line ghost text
	// is what users value most and what costs most decode time; 10 lines
	// covers a typical function body, as Copilot's default does.
	MaxLines int `json:"maxLines"`
	// Debounce: how long an Automatic request waits for a newer one
	// before the model runs (Invoked requests never wait). Supersession
	// already stops stale work, so this only collapses bursts from clients
	// that do not debounce themselves; 50 ms is below the ~100 ms typing
	// interval and adds little to the <200 ms latency target.
	Debounce time.Duration `json:"-"`
	// ContextBudget: prompt size in tokens. 2048 fits the 4k windows of
	// small local code models with room for the answer.
	ContextBudget int `json:"contextBudget"`
	// CrossFileBudget: tokens of code from other files of the workspace
	// (definitions the code at the cursor uses, graph neighbours; see
	// ProjectContext) shown to the model before the current file; 0
	// turns cross-file context off. 512 is what the default prompt
	// budget's context share (30% of contextBudget, decode.DefaultBudget)
	// holds with room to spare; the engine never gives it more than that
	// share, whatever this says.
	CrossFileBudget int `json:"crossFileBudget"`
	// AstGuard: prune candidates that break the syntax.
	AstGuard bool `json:"astguard"`
	// Enable: per client languageId, whether to complete; the key "*" is
	// the default for languages not listed.
	Enable map[string]bool `json:"enable"`
}

// DefaultConfig returns the defaults (see the field comments for why).
// Prose (plaintext, markdown) and commit-message boxes are off by default,
// as in Copilot: code completion there is mostly noise.
func DefaultConfig() Config {
	return Config{
		MaxLines:        10,
		Debounce:        50 * time.Millisecond,
		ContextBudget:   2048,
		CrossFileBudget: 512,
		AstGuard:        true,
		Enable:          map[string]bool{"*": true, "plaintext": false, "markdown": false, "scminput": false},
	}
}

// Enabled reports whether completion is on for a languageId.
func (c Config) Enabled(languageID string) bool {
	if v, ok := c.Enable[languageID]; ok {
		return v
	}
	if v, ok := c.Enable["*"]; ok {
		return v
	}
	return true
}

// settingsPatch is the wire form: every field optional.
type settingsPatch struct {
	Model         *string         `json:"model"`
	MaxLines      *int            `json:"maxLines"`
	DebounceMs    *int            `json:"debounceMs"`
	ContextBudget *int            `json:"contextBudget"`
	CrossFile     *int            `json:"crossFileBudget"`
	AstGuard      *bool           `json:"astguard"`
	Enable        map[string]bool `json:"enable"`
}

// Limits on settings; values outside are refused with a message rather
// than clamped, so a typo (maxLines: 1000) is noticed.
const (
	maxMaxLines      = 200
	maxDebounceMs    = 5000
	minContextBudget = 64
	maxContextBudget = 1 << 20
)

// decodeSettings decodes raw, dropping each setting whose value has the
// wrong type (with a description of it), so that one typo does not lose
// the other settings.
func decodeSettings(raw json.RawMessage) (settingsPatch, []string, error) {
	var bad []string
	for {
		var p settingsPatch
		err := json.Unmarshal(raw, &p)
		var te *json.UnmarshalTypeError
		if err == nil || !errors.As(err, &te) || te.Field == "" {
			return p, bad, err
		}
		key, _, _ := strings.Cut(te.Field, ".")
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil || m[key] == nil {
			return p, bad, err
		}
		bad = append(bad, fmt.Sprintf("%s: a %s where a %s belongs", te.Field, te.Value, te.Type))
		delete(m, key)
		raw, _ = json.Marshal(m)
	}
}

// Apply returns c updated by the settings in raw (flat or under
// "ghostline"), and a description of each setting it refused. Unknown keys
// are ignored (clients send other extensions' settings too).
func (c Config) Apply(raw json.RawMessage) (Config, []string) {
	if len(raw) == 0 || string(raw) == "null" {
		return c, nil
	}
	var wrapped struct {
		Ghostline json.RawMessage `json:"ghostline"`
	}
	if json.Unmarshal(raw, &wrapped) == nil && len(wrapped.Ghostline) > 0 && string(wrapped.Ghostline) != "null" {
		raw = wrapped.Ghostline
	}
	p, bad, err := decodeSettings(raw)
	if err != nil {
		return c, []string{fmt.Sprintf("settings not understood: %v", err)}
	}
	out := c
	out.Enable = maps.Clone(c.Enable)
	if p.Model != nil && *p.Model != "" {
		out.Model = *p.Model // "" (a client's unset setting) keeps --model or the default
	}
	if p.MaxLines != nil {
		if *p.MaxLines < 1 || *p.MaxLines > maxMaxLines {
			bad = append(bad, fmt.Sprintf("maxLines %d outside 1..%d", *p.MaxLines, maxMaxLines))
		} else {
			out.MaxLines = *p.MaxLines
		}
	}
	if p.DebounceMs != nil {
		if *p.DebounceMs < 0 || *p.DebounceMs > maxDebounceMs {
			bad = append(bad, fmt.Sprintf("debounceMs %d outside 0..%d", *p.DebounceMs, maxDebounceMs))
		} else {
			out.Debounce = time.Duration(*p.DebounceMs) * time.Millisecond
		}
	}
	if p.ContextBudget != nil {
		if *p.ContextBudget < minContextBudget || *p.ContextBudget > maxContextBudget {
			bad = append(bad, fmt.Sprintf("contextBudget %d outside %d..%d", *p.ContextBudget, minContextBudget, maxContextBudget))
		} else {
			out.ContextBudget = *p.ContextBudget
		}
	}
	if p.CrossFile != nil {
		if *p.CrossFile < 0 || *p.CrossFile > maxContextBudget {
			bad = append(bad, fmt.Sprintf("crossFileBudget %d outside 0..%d", *p.CrossFile, maxContextBudget))
		} else {
			out.CrossFileBudget = *p.CrossFile
		}
	}
	if p.AstGuard != nil {
		out.AstGuard = *p.AstGuard
	}
	if out.Enable == nil {
		out.Enable = map[string]bool{}
	}
	maps.Copy(out.Enable, p.Enable)
	return out, bad
}
