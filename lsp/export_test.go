package lsp

import (
	"testing"
	"time"

	"github.com/ghostline-dev/ghostline/decode"
)

// SetRequestHook makes c call f with each request it sends the engine
// (before the engine runs it).
func SetRequestHook(c *EngineCompleter, f func(decode.Request)) { c.onRequest = f }

// PromptTime builds dr's prompt as the engine does (same template and
// tokenizer) and returns how long that took: benchmarks report the
// prompt's share of the engine's time with it.
func PromptTime(c *EngineCompleter, dr decode.Request) (time.Duration, error) {
	c.mu.RLock()
	eng := c.eng
	c.mu.RUnlock()
	tmpl := *eng.Template()
	if dr.Limits.MaxPromptTokens > 0 {
		tmpl.Budget.Total = dr.Limits.MaxPromptTokens
	}
	t0 := time.Now()
	_, err := tmpl.Build(decode.TokenizerLM{T: eng.Tokenizer}, decode.PromptInput{
		Prefix: dr.Prefix, Suffix: dr.Suffix, Path: dr.Path, Language: dr.Language, Repo: dr.Repo, Context: dr.Context,
	})
	return time.Since(t0), err
}

// CopyTree and FileURI serve the external tests.
func CopyTree(t *testing.T, src string) string { return copyTree(t, src) }
func FileURI(p string) string                  { return fileURI(p) }
