package main

import (
	"errors"
	"fmt"

	"github.com/ghostline-dev/ghostline/decode"
	"github.com/ghostline-dev/ghostline/lsp"
	"github.com/ghostline-dev/ghostline/model/store"
)

// engineCompleter is the language server's Completer: the decoding
// engine on the model the editor's settings name (the default model
// otherwise). The model itself is loaded by the server through Loader,
// after initialize, so the editor shows progress instead of waiting on a
// silent process. The completer also follows the documents (their syntax
// trees) and the workspace (the project graph, with its on-disk cache and
// fsnotify watcher); lspOptions registers it as the server's observer.
func engineCompleter(reuseRun int) *lsp.EngineCompleter {
	return &lsp.EngineCompleter{Resolve: resolveForLSP, Trees: &lsp.SyntaxTrees{}, Project: &lsp.ProjectContext{},
		Options: decode.LoadOptions{Engine: decode.Options{ReuseRun: reuseRun}}}
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
