package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/ghostline-dev/ghostline/decode"
	"github.com/ghostline-dev/ghostline/lsp"
	"github.com/ghostline-dev/ghostline/lsp/lsptest"
)

func init() {
	register(&command{
		name:    "lsp",
		summary: "run the language server (inline completions over LSP; stdio, or TCP with --listen)",
		usage:   "[--listen 127.0.0.1:PORT] [--model PATH] [--log FILE] [--feedback-log FILE|off] [--reuse-run N]",
		setup: func(fs *flag.FlagSet) func(args []string) error {
			listen := fs.String("listen", "", "serve LSP over TCP on `ADDR` (e.g. 127.0.0.1:7654) instead of stdin/stdout")
			model := fs.String("model", "", "model file to load (`PATH`); default: the default model from the model store (a client's non-empty \"model\" setting takes precedence)")
			logFile := fs.String("log", "", "append the server log, as JSON lines (log/slog), to `FILE` (default: text on stderr)")
			feedback := fs.String("feedback-log", lsp.DefaultFeedbackPath(), "local JSONL `FILE` for shown/accepted suggestions (never sent anywhere); \"off\" keeps none")
			reuseRun := fs.Int("reuse-run", 0, fmt.Sprintf("after a cursor move, reuse runs of at least `N` cached prompt tokens at their new positions instead of evaluating the whole prompt again (~0.2 s instead of ~12 s on 2 cores), but approximate: completions often differ from exact ones (docs/benchmarks.md); 0: off; %d suggested", decode.DefaultReuseRun))
			fake := fs.Bool("fake-completer", false, "FOR TESTS ONLY: answer with a deterministic fake instead of the model (protocol tests drive the real binary with it)")
			return func(args []string) error {
				if len(args) > 0 {
					return usageError{fmt.Sprintf("unexpected argument %q", args[0])}
				}
				logger, closeLog, err := openLog(*logFile)
				if err != nil {
					return err
				}
				defer closeLog()

				var completer lsp.Completer = engineCompleter(*reuseRun)
				if *fake {
					completer = &lsptest.Fake{}
				}
				opts := lspOptions(completer, logger, *model)
				if *feedback != "off" {
					opts.FeedbackLog = *feedback
				}

				ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				if *listen != "" {
					ln, err := net.Listen("tcp", *listen)
					if err != nil {
						return fmt.Errorf("listen: %w", err)
					}
					fmt.Fprintf(os.Stderr, "ghostline lsp: listening on %s\n", ln.Addr())
					return serveTCP(ctx, ln, opts, logger)
				}
				srv, err := lsp.New(opts)
				if err != nil {
					return err
				}
				logger.Info("serving on stdio", "version", version)
				return srv.Serve(ctx, stdio{})
			}
		},
	})
}

// lspOptions are the server's options around completer. A completer that
// follows documents (syntax trees) or the workspace (the project graph),
// as the engine's does, is also the server's observer of them.
func lspOptions(completer lsp.Completer, logger *slog.Logger, model string) lsp.Options {
	cfg := lsp.DefaultConfig()
	cfg.Model = model
	opts := lsp.Options{Completer: completer, Logger: logger, Config: &cfg, Version: version}
	if o, ok := completer.(lsp.DocumentObserver); ok {
		opts.Documents = o
	}
	if o, ok := completer.(lsp.WorkspaceObserver); ok {
		opts.Workspace = o
	}
	return opts
}

// openLog returns the server logger: JSON lines to file (debug level: a
// log file is for diagnosing), or text on stderr at info level.
func openLog(path string) (*slog.Logger, func(), error) {
	if path == "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})), func() {}, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("opening log: %w", err)
	}
	return slog.New(slog.NewJSONHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug})), func() { f.Close() }, nil
}

// serveTCP accepts one client at a time (an editor session), each with a
// fresh server, until interrupted.
func serveTCP(ctx context.Context, ln net.Listener, opts lsp.Options, logger *slog.Logger) error {
	defer ln.Close()
	go func() { <-ctx.Done(); ln.Close() }()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("accept: %w", err)
		}
		srv, err := lsp.New(opts)
		if err != nil {
			conn.Close()
			return err
		}
		logger.Info("client connected", "remote", conn.RemoteAddr().String())
		if err := srv.Serve(ctx, conn); err != nil {
			logger.Info("session ended", "remote", conn.RemoteAddr().String(), "err", err)
		}
		conn.Close()
	}
}

// stdio is the server's transport on standard input and output.
type stdio struct{}

func (stdio) Read(b []byte) (int, error)  { return os.Stdin.Read(b) }
func (stdio) Write(b []byte) (int, error) { return os.Stdout.Write(b) }
func (stdio) Close() error {
	return errors.Join(os.Stdin.Close(), os.Stdout.Close())
}

var _ io.ReadWriteCloser = stdio{}
