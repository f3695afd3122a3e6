// Package lsp is Ghostline's language server: it speaks the Language Server
// Protocol to editors and turns textDocument/inlineCompletion (LSP 3.18) and
// textDocument/completion requests into calls of a Completer, the narrow
// interface behind which the decoding engine lives.
//
// Layers, bottom up (imports flow one way, as in gopls):
//
//	stream.go       LSP base-protocol framing that survives malformed input
//	inline.go       LSP 3.18 inline-completion types, written from the spec
//	protocol.go     the other wire types we need that go.lsp.dev/protocol lacks
//	text.go         documents: UTF-8/16/32 positions <-> byte offsets, edits
//	config.go       settings from initializationOptions/didChangeConfiguration
//	completer.go    the Completer interface and optional engine hooks
//	server.go       connection, dispatch, lifecycle, recover per request,
//	                settings, workspace notifications, window/showMessage
//	documents.go    didOpen/didChange/didClose
//	completion.go   inline completion and the completion fallback, scheduling
//	feedback.go     didShow/partial-accept/accept, kept in a local JSONL log
//	progress.go     $/progress, and loading the model with it
//	unimplemented.go the methods we answer with MethodNotFound on purpose
//
// The server core (the files above) does not import the engine (decode),
// astguard or projectgraph: they plug in through Completer,
// DocumentObserver and WorkspaceObserver, so the server is tested with
// deterministic fakes (package lsptest). The adapters that do import them
// sit beside it, each behind one of those interfaces:
//
//	engine.go       EngineCompleter: the decoding engine as Completer, and
//	                the observer that forwards edits and workspace events
//	trees.go        SyntaxTrees: one incremental astguard.Document per open
//	                document, so a syntax constraint needs no full parse
//	project.go      ProjectContext: projectgraph indexes of the workspace
//	                folders, kept current, and cross-file context blocks
package lsp
