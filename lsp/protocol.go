package lsp

import (
	"encoding/json"

	"go.lsp.dev/protocol"
)

// Wire types we decode or send ourselves. go.lsp.dev/protocol v0.12.0 is an
// LSP 3.16 binding: it lacks positionEncoding (3.17), inline completion
// (3.18), and its TextDocumentContentChangeEvent has a non-pointer Range,
// which cannot tell a full-text change from an edit at 0:0. We keep its
// basic types (Position, Range, TextDocumentIdentifier, Command) and define
// the rest here, each with only the fields we use.

// Error codes of LSP beyond JSON-RPC's (LSP 3.17, "Response Message").
const (
	codeRequestFailed    = -32803
	codeServerCancelled  = -32802
	codeContentModified  = -32801
	codeRequestCancelled = -32800
)

// WorkspaceFolder is a root the client has open.
type WorkspaceFolder struct {
	URI  string `json:"uri"`
	Name string `json:"name"`
}

// FileEvent is one entry of workspace/didChangeWatchedFiles: Type 1
// created, 2 changed, 3 deleted.
type FileEvent struct {
	URI  string `json:"uri"`
	Type int    `json:"type"`
}

type initializeParams struct {
	ProcessID             *int               `json:"processId"`
	ClientInfo            *clientInfo        `json:"clientInfo"`
	RootURI               string             `json:"rootUri"`
	Capabilities          clientCapabilities `json:"capabilities"`
	InitializationOptions json.RawMessage    `json:"initializationOptions"`
	WorkspaceFolders      []WorkspaceFolder  `json:"workspaceFolders"`
}

type clientInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type clientCapabilities struct {
	General struct {
		PositionEncodings []PositionEncoding `json:"positionEncodings"`
	} `json:"general"`
	TextDocument struct {
		InlineCompletion *InlineCompletionClientCapabilities `json:"inlineCompletion"`
	} `json:"textDocument"`
	Window struct {
		WorkDoneProgress bool `json:"workDoneProgress"`
	} `json:"window"`
	Workspace struct {
		WorkspaceFolders      bool `json:"workspaceFolders"`
		DidChangeWatchedFiles struct {
			DynamicRegistration bool `json:"dynamicRegistration"`
		} `json:"didChangeWatchedFiles"`
	} `json:"workspace"`
}

type initializeResult struct {
	Capabilities serverCapabilities `json:"capabilities"`
	ServerInfo   clientInfo         `json:"serverInfo"`
}

type serverCapabilities struct {
	PositionEncoding         PositionEncoding         `json:"positionEncoding"`
	TextDocumentSync         textDocumentSyncOptions  `json:"textDocumentSync"`
	CompletionProvider       *completionOptions       `json:"completionProvider,omitempty"`
	InlineCompletionProvider *InlineCompletionOptions `json:"inlineCompletionProvider,omitempty"`
	ExecuteCommandProvider   executeCommandOptions    `json:"executeCommandProvider"`
	Workspace                workspaceServerCaps      `json:"workspace"`
}

type textDocumentSyncOptions struct {
	OpenClose bool `json:"openClose"`
	Change    int  `json:"change"` // 2: incremental
}

type completionOptions struct {
	ResolveProvider bool `json:"resolveProvider"`
}

type executeCommandOptions struct {
	Commands []string `json:"commands"`
}

type workspaceServerCaps struct {
	WorkspaceFolders struct {
		Supported           bool `json:"supported"`
		ChangeNotifications bool `json:"changeNotifications"`
	} `json:"workspaceFolders"`
}

type textDocumentItem struct {
	URI        string `json:"uri"`
	LanguageID string `json:"languageId"`
	Version    int32  `json:"version"`
	Text       string `json:"text"`
}

type didOpenParams struct {
	TextDocument textDocumentItem `json:"textDocument"`
}

type versionedTextDocumentIdentifier struct {
	URI     string `json:"uri"`
	Version int32  `json:"version"`
}

type contentChange struct {
	Range *protocol.Range `json:"range"` // nil: Text is the whole document
	Text  string          `json:"text"`
}

type didChangeParams struct {
	TextDocument   versionedTextDocumentIdentifier `json:"textDocument"`
	ContentChanges []contentChange                 `json:"contentChanges"`
}

type textDocumentParams struct {
	TextDocument struct {
		URI string `json:"uri"`
	} `json:"textDocument"`
}

type didChangeWorkspaceFoldersParams struct {
	Event struct {
		Added   []WorkspaceFolder `json:"added"`
		Removed []WorkspaceFolder `json:"removed"`
	} `json:"event"`
}

type didChangeConfigurationParams struct {
	Settings json.RawMessage `json:"settings"`
}

type didChangeWatchedFilesParams struct {
	Changes []FileEvent `json:"changes"`
}

type cancelParams struct {
	ID json.RawMessage `json:"id"`
}

type completionParams struct {
	TextDocument protocol.TextDocumentIdentifier `json:"textDocument"`
	Position     protocol.Position               `json:"position"`
	Context      *struct {
		TriggerKind int `json:"triggerKind"` // 1 invoked, 2 trigger character, 3 incomplete
	} `json:"context"`
}

type completionList struct {
	IsIncomplete bool             `json:"isIncomplete"`
	Items        []completionItem `json:"items"`
}

type completionItem struct {
	Label            string         `json:"label"`
	Kind             int            `json:"kind"`
	Detail           string         `json:"detail"`
	Documentation    *markupContent `json:"documentation,omitempty"`
	SortText         string         `json:"sortText"`
	FilterText       string         `json:"filterText"`
	Preselect        bool           `json:"preselect"`
	InsertTextFormat int            `json:"insertTextFormat"`
	// InsertTextMode 1 (asIs): the text's later lines carry their whole
	// indentation already; a client left to its default (VS Code's is
	// adjustIndentation) would add the cursor line's again.
	InsertTextMode int               `json:"insertTextMode"`
	TextEdit       textEdit          `json:"textEdit"`
	Command        *protocol.Command `json:"command,omitempty"`
}

type markupContent struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

type textEdit struct {
	Range   protocol.Range `json:"range"`
	NewText string         `json:"newText"`
}

type showMessageParams struct {
	Type    int    `json:"type"` // 1 error, 2 warning, 3 info, 4 log
	Message string `json:"message"`
}

const (
	msgError   = 1
	msgWarning = 2
	msgInfo    = 3
	msgLog     = 4
)

type executeCommandParams struct {
	Command   string            `json:"command"`
	Arguments []json.RawMessage `json:"arguments"`
}

type registrationParams struct {
	Registrations []registration `json:"registrations"`
}

type registration struct {
	ID              string `json:"id"`
	Method          string `json:"method"`
	RegisterOptions any    `json:"registerOptions,omitempty"`
}

type fileSystemWatcher struct {
	GlobPattern string `json:"globPattern"`
}
