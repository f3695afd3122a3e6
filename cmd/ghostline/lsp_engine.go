package main

import (
	"errors"
	"fmt"

	"github.com/ghostline-dev/ghostline/lsp"
	"github.com/ghostline-dev/ghostline/model/store"
)

// The language server's completions come from the decoding engine on the
// model the editor's settings name (the default model otherwise).
func init() {
	newEngine = func(string) (lsp.Completer, error) {
		// The model itself is loaded by the server through Loader, after
		// initialize, so the editor shows progress instead of waiting on a
		// silent process. The completer also follows the documents (their
		// syntax trees) and the workspace (the project graph, with its
		// on-disk cache and fsnotify watcher); cmd_lsp.go registers it as
		// the server's observer.
		return &lsp.EngineCompleter{Resolve: resolveForLSP, Trees: &lsp.SyntaxTrees{}, Project: &lsp.ProjectContext{}}, nil
	}
}

// resolveForLSP resolves a model setting; a model that is simply not
// installed becomes lsp.ErrModelMissing, which the server turns into a
// message naming `ghostline pull`.
func resolveForLSP(model string) (string, error) {
	path, err := resolveModelPath(model)
	var missing *store.NotInstalledError
	if errors.As(err, &missing) {
		return "", fmt.Errorf("%w: %v", lsp.ErrModelMissing, err)
	}
	return path, err
}
