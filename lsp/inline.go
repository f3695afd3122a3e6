package lsp

import (
	"encoding/json"
	"errors"
	"fmt"

	"go.lsp.dev/protocol"
)

// LSP 3.18 inline completion types, written by hand from the specification:
// "Language Server Protocol Specification - 3.18", section Language
// Features > Inline Completion Request (textDocument/inlineCompletion),
// https://microsoft.github.io/language-server-protocol/specifications/lsp/3.18/specification/#textDocument_inlineCompletion
// and the StringValue type of section Basic JSON Structures
// (#stringValue). go.lsp.dev/protocol v0.12.0 predates 3.18 and has none of
// them. Field names, optionality and numeric values follow the spec; when
// the spec and this file disagree, the spec wins.

// MethodInlineCompletion is the request's method name.
const MethodInlineCompletion = "textDocument/inlineCompletion"

// InlineCompletionClientCapabilities is
// ClientCapabilities.textDocument.inlineCompletion.
type InlineCompletionClientCapabilities struct {
	// DynamicRegistration: whether the client supports dynamic
	// registration of inline completion providers.
	DynamicRegistration bool `json:"dynamicRegistration,omitempty"`
}

// InlineCompletionOptions is the server capability inlineCompletionProvider
// (which may also be a plain boolean; we always send the object).
type InlineCompletionOptions struct {
	WorkDoneProgress bool `json:"workDoneProgress,omitempty"`
}

// InlineCompletionParams are the request's parameters: a text document
// position, an optional work-done token, and the context.
type InlineCompletionParams struct {
	TextDocument  protocol.TextDocumentIdentifier `json:"textDocument"`
	Position      protocol.Position               `json:"position"`
	WorkDoneToken json.RawMessage                 `json:"workDoneToken,omitempty"`
	Context       InlineCompletionContext         `json:"context"`
}

// InlineCompletionContext says how the request was triggered.
type InlineCompletionContext struct {
	// TriggerKind: how the inline completion was triggered.
	TriggerKind InlineCompletionTriggerKind `json:"triggerKind"`
	// SelectedCompletionInfo: the item selected in the completion popup,
	// when there is one. Returned items must then extend that text over
	// the same range.
	SelectedCompletionInfo *SelectedCompletionInfo `json:"selectedCompletionInfo,omitempty"`
}

// InlineCompletionTriggerKind is the spec's enumeration (1 and 2; note that
// the VS Code API numbers its own enum from 0).
type InlineCompletionTriggerKind int

const (
	// InlineInvoked: triggered explicitly by a user gesture. Return
	// several items to cycle through.
	InlineInvoked InlineCompletionTriggerKind = 1
	// InlineAutomatic: triggered automatically while editing. One item is
	// enough.
	InlineAutomatic InlineCompletionTriggerKind = 2
)

func (k InlineCompletionTriggerKind) String() string {
	switch k {
	case InlineInvoked:
		return "invoked"
	case InlineAutomatic:
		return "automatic"
	}
	return fmt.Sprintf("triggerKind(%d)", int(k))
}

// SelectedCompletionInfo describes the currently selected completion item.
type SelectedCompletionInfo struct {
	// Range: the range that will be replaced if this completion item is
	// accepted.
	Range protocol.Range `json:"range"`
	// Text: the text the range will be replaced with if this completion
	// is accepted.
	Text string `json:"text"`
}

// InlineCompletionList is one of the request's result forms; we always
// answer with it (never the bare array, never null) so clients see one shape.
type InlineCompletionList struct {
	Items []InlineCompletionItem `json:"items"`
}

// InlineCompletionItem is one suggestion.
type InlineCompletionItem struct {
	// InsertText: the text to replace the range with. Must be set. A
	// plain string or a snippet StringValue.
	InsertText InsertText `json:"insertText"`
	// FilterText: used to check whether the item should be shown
	// (defaults to InsertText).
	FilterText string `json:"filterText,omitempty"`
	// Range: the range to replace. Must begin and end on the same line.
	// When absent, clients pick their own (VS Code replaces from the
	// start of the word to the end of the line), so we always set it.
	Range *protocol.Range `json:"range,omitempty"`
	// Command: an optional command executed after inserting the item.
	Command *protocol.Command `json:"command,omitempty"`
}

// StringValue is a string with a kind; 3.18 defines only "snippet", whose
// value uses the snippet syntax of CompletionItem.insertText.
type StringValue struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// StringValueSnippet is the only StringValue kind the spec defines.
const StringValueSnippet = "snippet"

// InsertText is the union string | StringValue. Ghostline sends plain
// strings (ghost text is literal); the snippet form is decoded when a client
// echoes an item back (didShowCompletion).
type InsertText struct {
	Text    string       // set for the plain-string form
	Snippet *StringValue // set for the StringValue form
}

// Plain returns the literal text: the string form, or the snippet's value.
func (t InsertText) Plain() string {
	if t.Snippet != nil {
		return t.Snippet.Value
	}
	return t.Text
}

// MarshalJSON writes a JSON string or a StringValue object.
func (t InsertText) MarshalJSON() ([]byte, error) {
	if t.Snippet != nil {
		return json.Marshal(t.Snippet)
	}
	return json.Marshal(t.Text)
}

// UnmarshalJSON accepts either form.
func (t *InsertText) UnmarshalJSON(b []byte) error {
	*t = InsertText{}
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &t.Text)
	}
	var sv StringValue
	if err := json.Unmarshal(b, &sv); err != nil {
		return fmt.Errorf("insertText is neither a string nor a StringValue: %w", err)
	}
	if sv.Kind != StringValueSnippet {
		return errors.New(`insertText StringValue must have kind "snippet"`)
	}
	t.Snippet = &sv
	return nil
}
