package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.lsp.dev/jsonrpc2"
)

// Options configure a Server.
type Options struct {
	// Completer computes completions. Required.
	Completer Completer
	// Logger receives the server's log; nil discards it.
	Logger *slog.Logger
	// FeedbackLog is the JSONL file where shown/accepted events are
	// appended (see DefaultFeedbackPath); "" keeps no log.
	FeedbackLog string
	// Documents and Workspace are optional observers (astguard, project
	// graph).
	Documents DocumentObserver
	Workspace WorkspaceObserver
	// Config holds the initial settings; nil means DefaultConfig().
	// initializationOptions and didChangeConfiguration update it.
	Config *Config
	// Version is reported in serverInfo.
	Version string
	// CompletionBudget, if positive, sets CompletionRequest.Deadline to
	// this long after the request arrived (gopls keeps such a budget
	// apart from cancellation the same way): a partial suggestion in time
	// beats a complete one after the user has moved on.
	CompletionBudget time.Duration
	// OnCompletion, if set, is called with the timing of each completion
	// request that reaches scheduling (benchmarks, latency logs), just
	// before the answer is written: by the time the client reads an
	// answer, its timing has been reported. Requests answered at once
	// (invalid parameters, a document that gets no completions) are not
	// reported. It runs on the request's goroutine, in the answer's path,
	// and must be quick.
	OnCompletion func(CompletionTiming)
}

// shutdownGrace bounds how long Serve waits, once the session is over, for
// work that ignores cancellation (a Loader reading a file, a stuck read):
// the editor is waiting for the process to go, and an engine that cannot
// stop within two seconds will not stop at all.
const shutdownGrace = 2 * time.Second

// ErrNoShutdown is returned by Serve when the session ended without the
// shutdown request (exit before shutdown, or the client went away). The
// specification asks the server to exit with status 1 then.
var ErrNoShutdown = errors.New("session ended without shutdown")

type lifecycle int

const (
	stateNew lifecycle = iota
	stateInitialized
	stateShutdown
)

// Server serves one LSP session. Create it with New and call Serve once.
//
// Concurrency: jsonrpc2 delivers messages one at a time on its read
// goroutine ("the message loop"). Everything that must follow protocol
// order (document sync, settings, cancellation, starting a completion) runs
// there and is quick; completions run on their own goroutines and reply
// when done. s.mu guards the state shared with those goroutines.
type Server struct {
	opts     Options
	log      *slog.Logger
	feedback *feedbackLog

	conn   jsonrpc2.Conn
	ctx    context.Context // lives as long as the session
	cancel context.CancelFunc

	mu         sync.Mutex
	state      lifecycle
	shutdown   bool // shutdown request received
	exited     bool
	enc        PositionEncoding
	caps       clientCapabilities
	cfg        Config
	base       Config // the startup settings with initializationOptions: what each didChangeConfiguration applies to
	folders    []WorkspaceFolder
	docs       map[string]*document
	inflight   map[jsonrpc2.ID]context.CancelCauseFunc
	slots      map[string]*slot  // per document: the latest completion
	shown      map[string]*shown // per document: the last suggestions, for typing along
	items      itemRegistry
	skipMsgs   map[string]bool // documents we already told the user we skip
	toldBroken bool            // we told the user the model computes NaN (until another model loads)
	loadGen    int             // bumps when a model load starts
	loadCancel context.CancelFunc
	loadDone   chan struct{}  // closed when the latest load has returned
	tasks      sync.WaitGroup // background goroutines (load, index, completions)
}

// New checks the options and returns a server for one session.
func New(opts Options) (*Server, error) {
	if opts.Completer == nil {
		return nil, errors.New("lsp: Options.Completer is required")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := DefaultConfig()
	if opts.Config != nil {
		cfg = *opts.Config
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	s := &Server{
		opts:     opts,
		log:      log,
		enc:      UTF16,
		cfg:      cfg,
		base:     cfg,
		docs:     map[string]*document{},
		inflight: map[jsonrpc2.ID]context.CancelCauseFunc{},
		slots:    map[string]*slot{},
		shown:    map[string]*shown{},
		skipMsgs: map[string]bool{},
	}
	if opts.FeedbackLog != "" {
		s.feedback = &feedbackLog{path: opts.FeedbackLog}
	}
	return s, nil
}

// Serve runs the session on rwc until the client sends exit or the
// connection ends. It returns nil after shutdown+exit, ErrNoShutdown
// otherwise.
func (s *Server) Serve(ctx context.Context, rwc io.ReadWriteCloser) error {
	s.ctx, s.cancel = context.WithCancel(ctx)
	defer s.cancel()
	stream := NewStream(rwc, s.log)
	s.conn = jsonrpc2.NewConn(stream)
	s.conn.Go(s.ctx, s.handle)
	select {
	case <-s.conn.Done():
	case <-ctx.Done():
		s.conn.Close()
		// A read blocked on a terminal or blocking pipe may not return
		// when its file is closed; do not hang on it.
		select {
		case <-s.conn.Done():
		case <-time.After(shutdownGrace):
		}
	}
	s.cancel() // stop completions, loads and indexing
	tasks := make(chan struct{})
	go func() { s.tasks.Wait(); close(tasks) }()
	select {
	case <-tasks:
	case <-time.After(shutdownGrace):
		s.log.Warn("background work did not stop in time; exiting anyway", "grace", shutdownGrace)
	}
	if s.feedback != nil {
		s.feedback.close()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Documents still open when the session ends are closed for the
	// observers, which outlive a session in TCP mode (one completer, many
	// sessions): their syntax trees would pile up.
	if o := s.opts.Documents; o != nil {
		for uri, doc := range s.docs {
			if doc.skip == nil {
				o.DidClose(uri)
			}
		}
	}
	if s.exited && s.shutdown {
		return nil
	}
	if err := s.conn.Err(); err != nil && !errors.Is(err, io.EOF) {
		s.log.Info("connection ended", "err", err)
	}
	return ErrNoShutdown
}

// handle is the jsonrpc2 handler. It never returns an error (jsonrpc2
// would close the connection) and never lets a panic escape: a broken
// request is logged and answered, and the session goes on.
func (s *Server) handle(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	call, isCall := req.(*jsonrpc2.Call)
	var replied atomic.Bool // replies may come from completion goroutines
	safeReply := func(ctx context.Context, result any, err error) error {
		replied.Store(true)
		if rerr := reply(context.WithoutCancel(ctx), result, err); rerr != nil {
			s.log.Debug("reply not sent", "method", req.Method(), "err", rerr)
		}
		return nil
	}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic handling message", "method", req.Method(), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if isCall && !replied.Load() {
				safeReply(ctx, nil, jsonrpc2.Errorf(jsonrpc2.InternalError, "internal error handling %s: %v", req.Method(), p))
			}
		}
	}()
	s.log.Debug("message", "method", req.Method(), "call", isCall)

	method := req.Method()
	s.mu.Lock()
	state := s.state
	s.mu.Unlock()

	// Lifecycle gates (LSP "Server lifecycle").
	switch {
	case method == "exit":
		s.exit()
		return nil
	case state == stateNew && method != "initialize":
		if isCall {
			return safeReply(ctx, nil, jsonrpc2.NewError(jsonrpc2.ServerNotInitialized, "the server is not initialized yet"))
		}
		return nil // notifications before initialize are dropped
	case state == stateShutdown:
		if isCall {
			return safeReply(ctx, nil, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "the server is shutting down"))
		}
		return nil
	}

	if isCall {
		h, ok := callHandlers[method]
		if !ok {
			msg := fmt.Sprintf("method %q not found", method)
			if unimplemented[method] {
				msg = fmt.Sprintf("method %q is not implemented by ghostline", method)
			}
			return safeReply(ctx, nil, jsonrpc2.NewError(jsonrpc2.MethodNotFound, msg))
		}
		h(s, call, safeReply)
		return nil
	}
	if h, ok := notificationHandlers[method]; ok {
		h(s, req.Params())
		return nil
	}
	if len(method) < 2 || method[:2] != "$/" {
		s.log.Debug("ignored notification", "method", method)
	}
	return nil
}

// replier sends the single reply to a request; it may be called from any
// goroutine.
type replier func(ctx context.Context, result any, err error) error

type callHandler func(s *Server, call *jsonrpc2.Call, reply replier)
type notificationHandler func(s *Server, params json.RawMessage)

// Filled in init to break the initialisation cycle with the handlers.
var (
	callHandlers         map[string]callHandler
	notificationHandlers map[string]notificationHandler
)

func init() {
	callHandlers = map[string]callHandler{
		"initialize":               (*Server).initialize,
		"shutdown":                 (*Server).shutdownRequest,
		MethodInlineCompletion:     (*Server).inlineCompletion,
		"textDocument/completion":  (*Server).completion,
		"workspace/executeCommand": (*Server).executeCommand,
	}
	notificationHandlers = map[string]notificationHandler{
		"initialized":                               (*Server).initialized,
		"$/cancelRequest":                           (*Server).cancelRequest,
		"textDocument/didOpen":                      (*Server).didOpen,
		"textDocument/didChange":                    (*Server).didChange,
		"textDocument/didClose":                     (*Server).didClose,
		"textDocument/didSave":                      func(*Server, json.RawMessage) {},
		"workspace/didChangeWorkspaceFolders":       (*Server).didChangeWorkspaceFolders,
		"workspace/didChangeConfiguration":          (*Server).didChangeConfiguration,
		"workspace/didChangeWatchedFiles":           (*Server).didChangeWatchedFiles,
		"textDocument/didShowCompletion":            (*Server).didShowCompletion,
		"textDocument/didPartiallyAcceptCompletion": (*Server).didPartiallyAcceptCompletion,
		"ghostline/didAccept":                       (*Server).didAccept,
	}
}

// decodeParams unmarshals params, or replies InvalidParams and returns
// false.
func decodeParams(ctx context.Context, raw json.RawMessage, v any, reply replier) bool {
	if len(raw) == 0 {
		raw = json.RawMessage("null")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		reply(ctx, nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "invalid params: %v", err))
		return false
	}
	return true
}

// commandAccept is the command attached to each suggestion; clients run
// it (workspace/executeCommand) when the user accepts the suggestion.
const commandAccept = "ghostline.didAccept"

func (s *Server) initialize(call *jsonrpc2.Call, reply replier) {
	var p initializeParams
	if !decodeParams(s.ctx, call.Params(), &p, reply) {
		return
	}
	s.mu.Lock()
	if s.state != stateNew {
		s.mu.Unlock()
		reply(s.ctx, nil, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "initialize sent twice"))
		return
	}
	s.caps = p.Capabilities
	s.enc = chooseEncoding(p.Capabilities.General.PositionEncodings)
	s.folders = p.WorkspaceFolders
	if len(s.folders) == 0 && p.RootURI != "" {
		s.folders = []WorkspaceFolder{{URI: p.RootURI, Name: p.RootURI}}
	}
	// base stays the configuration before initializationOptions (flags and
	// defaults): a client that sends them also sends its whole section on
	// each change, so what a change leaves out (a language removed from
	// enable, a model cleared) means the default, not the value at startup.
	cfg, bad := s.cfg.Apply(p.InitializationOptions)
	s.base, s.cfg = s.cfg, cfg
	s.state = stateInitialized
	enc := s.enc
	inline := p.Capabilities.TextDocument.InlineCompletion != nil
	s.mu.Unlock()
	s.reportBadSettings(bad)

	caps := serverCapabilities{
		PositionEncoding:         enc,
		TextDocumentSync:         textDocumentSyncOptions{OpenClose: true, Change: 2},
		InlineCompletionProvider: &InlineCompletionOptions{},
		ExecuteCommandProvider:   executeCommandOptions{Commands: []string{commandAccept}},
	}
	// The completion-list fallback only for clients without inline
	// completion: a client with both would run the model twice per
	// keystroke. textDocument/completion is still answered if sent.
	if !inline {
		caps.CompletionProvider = &completionOptions{}
	}
	caps.Workspace.WorkspaceFolders.Supported = true
	caps.Workspace.WorkspaceFolders.ChangeNotifications = true
	name := ""
	if p.ClientInfo != nil {
		name = p.ClientInfo.Name + " " + p.ClientInfo.Version
	}
	s.log.Info("initialize", "client", name, "positionEncoding", string(enc), "inlineCompletion", inline, "folders", len(s.folders))
	reply(s.ctx, initializeResult{Capabilities: caps, ServerInfo: clientInfo{Name: "ghostline", Version: s.opts.Version}}, nil)
}

// chooseEncoding picks the position encoding from the client's list. We
// take UTF-8 whenever it is offered: documents are stored as Go strings
// (UTF-8), so UTF-8 columns are byte offsets with no per-line decoding,
// and the engine's tokenizer works on bytes. Otherwise UTF-32 (one step per
// rune, still simpler than surrogates), else the mandatory UTF-16. All
// three are implemented exactly, so the choice is about cost, not
// correctness.
func chooseEncoding(offered []PositionEncoding) PositionEncoding {
	for _, want := range []PositionEncoding{UTF8, UTF32} {
		if slices.Contains(offered, want) {
			return want
		}
	}
	return UTF16
}

func (s *Server) initialized(json.RawMessage) {
	s.mu.Lock()
	folders := slices.Clone(s.folders)
	model := s.cfg.Model
	watch := s.caps.Workspace.DidChangeWatchedFiles.DynamicRegistration && s.opts.Workspace != nil
	s.mu.Unlock()
	if watch {
		s.background(func(ctx context.Context) {
			params := registrationParams{Registrations: []registration{{
				ID: "ghostline-watch", Method: "workspace/didChangeWatchedFiles",
				RegisterOptions: map[string]any{"watchers": []fileSystemWatcher{{GlobPattern: "**/*"}}},
			}}}
			if _, err := s.conn.Call(ctx, "client/registerCapability", params, nil); err != nil {
				s.log.Warn("registering file watchers", "err", err)
			}
		})
	}
	s.startLoad(model)
	s.startIndex(folders)
}

func (s *Server) shutdownRequest(call *jsonrpc2.Call, reply replier) {
	s.mu.Lock()
	s.state = stateShutdown
	s.shutdown = true
	for _, cancel := range s.inflight {
		cancel(errShutdown)
	}
	s.mu.Unlock()
	reply(s.ctx, nil, nil)
}

func (s *Server) exit() {
	s.mu.Lock()
	s.exited = true
	s.state = stateShutdown
	s.mu.Unlock()
	s.conn.Close()
}

// background runs fn on its own goroutine, tracked so Serve waits for it,
// with panics recovered.
func (s *Server) background(fn func(ctx context.Context)) {
	s.tasks.Add(1)
	go func() {
		defer s.tasks.Done()
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("panic in background task", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			}
		}()
		fn(s.ctx)
	}()
}

// notify sends a notification; failures (a closed connection) are logged.
func (s *Server) notify(method string, params any) {
	if err := s.conn.Notify(context.WithoutCancel(s.ctx), method, params); err != nil {
		s.log.Debug("notification not sent", "method", method, "err", err)
	}
}

// tellBrokenModel tells the user, once per loaded model, that completions
// fail because the model computes NaN or infinite values: every request
// would fail the same way, and a log line alone leaves the user guessing.
func (s *Server) tellBrokenModel() {
	s.mu.Lock()
	told := s.toldBroken
	s.toldBroken = true
	s.mu.Unlock()
	if !told {
		s.showMessage(msgError, "Ghostline: the model computes NaN or infinite values, so it cannot complete code: its file may be corrupt. "+
			"In a terminal, `ghostline doctor` checks the installed models' checksums and `ghostline pull [NAME]` downloads one again "+
			"(a model given by path must be replaced by hand); then reload the window.")
	}
}

// showMessage tells the user something (window/showMessage) and logs it.
func (s *Server) showMessage(typ int, msg string) {
	s.log.Info("showMessage", "type", typ, "message", msg)
	s.notify("window/showMessage", showMessageParams{Type: typ, Message: msg})
}

func (s *Server) cancelRequest(raw json.RawMessage) {
	var p cancelParams
	if err := json.Unmarshal(raw, &p); err != nil || len(p.ID) == 0 {
		s.log.Warn("bad $/cancelRequest", "params", string(raw))
		return
	}
	var id jsonrpc2.ID
	if err := id.UnmarshalJSON(p.ID); err != nil {
		s.log.Warn("bad $/cancelRequest id", "id", string(p.ID))
		return
	}
	s.mu.Lock()
	cancel := s.inflight[id]
	s.mu.Unlock()
	if cancel != nil {
		cancel(errClientCancelled)
	}
}

var (
	errClientCancelled = errors.New("request cancelled by the client")
	errSuperseded      = errors.New("superseded by a newer completion request for the same document")
	errDocClosed       = errors.New("document closed")
	errShutdown        = errors.New("server shutting down")
	errAnswered        = errors.New("request answered")
)

func (s *Server) reportBadSettings(bad []string) {
	for _, b := range bad {
		s.showMessage(msgWarning, "Ghostline: ignored setting: "+b)
	}
}

func (s *Server) didChangeConfiguration(raw json.RawMessage) {
	var p didChangeConfigurationParams
	if err := json.Unmarshal(raw, &p); err != nil {
		s.log.Warn("bad didChangeConfiguration", "err", err)
		return
	}
	s.mu.Lock()
	old := s.cfg
	// The client sends its whole section each time: a setting it no longer
	// sends (a language removed from enable, an emptied model) goes back to
	// its default or command-line value (see initialize).
	cfg, bad := s.base.Apply(p.Settings)
	s.cfg = cfg
	s.mu.Unlock()
	s.reportBadSettings(bad)
	s.log.Info("configuration", "model", cfg.Model, "maxLines", cfg.MaxLines, "debounce", cfg.Debounce, "contextBudget", cfg.ContextBudget, "crossFileBudget", cfg.CrossFileBudget, "astguard", cfg.AstGuard)
	if cfg.Model != old.Model {
		s.startLoad(cfg.Model)
	}
}

func (s *Server) didChangeWorkspaceFolders(raw json.RawMessage) {
	var p didChangeWorkspaceFoldersParams
	if err := json.Unmarshal(raw, &p); err != nil {
		s.log.Warn("bad didChangeWorkspaceFolders", "err", err)
		return
	}
	s.mu.Lock()
	for _, r := range p.Event.Removed {
		s.folders = slices.DeleteFunc(s.folders, func(f WorkspaceFolder) bool { return f.URI == r.URI })
	}
	for _, a := range p.Event.Added {
		if !slices.ContainsFunc(s.folders, func(f WorkspaceFolder) bool { return f.URI == a.URI }) {
			s.folders = append(s.folders, a)
		}
	}
	folders := slices.Clone(s.folders)
	s.mu.Unlock()
	if w := s.opts.Workspace; w != nil {
		w.FoldersChanged(p.Event.Added, p.Event.Removed)
		if len(p.Event.Added) > 0 {
			s.startIndex(folders)
		}
	}
}

// Folders returns the current workspace folders.
func (s *Server) Folders() []WorkspaceFolder {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.folders)
}

func (s *Server) didChangeWatchedFiles(raw json.RawMessage) {
	var p didChangeWatchedFilesParams
	if err := json.Unmarshal(raw, &p); err != nil {
		s.log.Warn("bad didChangeWatchedFiles", "err", err)
		return
	}
	if w := s.opts.Workspace; w != nil && len(p.Changes) > 0 {
		w.FilesChanged(p.Changes)
	}
}
