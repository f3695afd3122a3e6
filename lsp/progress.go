package lsp

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// progress reports one long task ($/progress). When the client did not
// announce window.workDoneProgress, reports are dropped: the spec forbids
// server-initiated tokens the client has not created.
type progress struct {
	s      *Server
	token  string // "" when the client gets no progress
	lastMs atomic.Int64
}

var progressSeq atomic.Uint64

// progressReportInterval: reports closer together than this are dropped
// (except the end): model loading calls report per tensor, and a
// notification per tensor would flood the client's UI for nothing.
const progressReportInterval = 100 * time.Millisecond

// beginProgress creates a token with window/workDoneProgress/create (the
// client must answer before we may use it) and sends the begin report.
func (s *Server) beginProgress(ctx context.Context, title string) *progress {
	p := &progress{s: s}
	s.mu.Lock()
	ok := s.caps.Window.WorkDoneProgress
	s.mu.Unlock()
	if !ok {
		return p
	}
	token := fmt.Sprintf("ghostline-%d", progressSeq.Add(1))
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := s.conn.Call(cctx, "window/workDoneProgress/create", map[string]string{"token": token}, nil); err != nil {
		s.log.Warn("client refused a progress token", "err", err)
		return p
	}
	p.token = token
	s.notify("$/progress", map[string]any{"token": token, "value": map[string]any{
		"kind": "begin", "title": title, "cancellable": false, "percentage": 0,
	}})
	return p
}

func (p *progress) report(percent int, message string) {
	if p.token == "" {
		return
	}
	now := time.Now().UnixMilli()
	if last := p.lastMs.Load(); now-last < progressReportInterval.Milliseconds() || !p.lastMs.CompareAndSwap(last, now) {
		return
	}
	v := map[string]any{"kind": "report", "message": message}
	if percent >= 0 {
		v["percentage"] = min(percent, 100)
	}
	p.s.notify("$/progress", map[string]any{"token": p.token, "value": v})
}

func (p *progress) end(message string) {
	if p.token == "" {
		return
	}
	p.s.notify("$/progress", map[string]any{"token": p.token, "value": map[string]any{"kind": "end", "message": message}})
}

// startLoad loads the model in the background when the Completer is a
// Loader, with progress, and tells the user how to fix a missing model.
func (s *Server) startLoad(model string) {
	loader, ok := s.opts.Completer.(Loader)
	if !ok {
		return
	}
	// Loads run one at a time and in order: a newer load cancels the
	// older and starts once it has returned, so the engine ends up with
	// the model named last.
	s.mu.Lock()
	s.loadGen++
	gen := s.loadGen
	prevCancel, prevDone := s.loadCancel, s.loadDone
	lctx, cancel := context.WithCancel(s.ctx)
	done := make(chan struct{})
	s.loadCancel, s.loadDone = cancel, done
	s.mu.Unlock()
	if prevCancel != nil {
		prevCancel()
	}
	s.background(func(context.Context) {
		defer close(done)
		defer cancel()
		if prevDone != nil {
			<-prevDone
		}
		ctx := lctx
		if ctx.Err() != nil {
			return
		}
		p := s.beginProgress(ctx, "Ghostline: loading model")
		err := loader.Load(ctx, model, p.report)
		s.mu.Lock()
		stale := gen != s.loadGen
		if err == nil && !stale {
			s.toldBroken = false // a new model: a broken one is worth a new message
		}
		s.mu.Unlock()
		switch {
		case err == nil:
			p.end("model loaded")
		case errors.Is(err, ErrModelMissing):
			p.end("model missing")
			if !stale {
				// The error names the pull command for the model asked for
				// (see ErrModelMissing); a fixed hint here would name the
				// default model's even when another one is missing.
				s.showMessage(msgError, fmt.Sprintf("Ghostline: %v. Run that in a terminal, then reload the window.", err))
			}
		case ctx.Err() != nil:
			p.end("cancelled")
		default:
			p.end("failed")
			if !stale {
				s.showMessage(msgError, fmt.Sprintf("Ghostline: could not load the model: %v", err))
			}
		}
	})
}

// startIndex runs the WorkspaceObserver's indexing with progress.
func (s *Server) startIndex(folders []WorkspaceFolder) {
	w := s.opts.Workspace
	if w == nil || len(folders) == 0 {
		return
	}
	s.background(func(ctx context.Context) {
		p := s.beginProgress(ctx, "Ghostline: indexing")
		if err := w.Index(ctx, folders, p.report); err != nil && ctx.Err() == nil {
			s.log.Warn("indexing failed", "err", err)
			p.end("failed: " + err.Error())
			return
		}
		p.end("done")
	})
}
