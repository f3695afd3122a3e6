package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/ghostline-dev/ghostline/model/tokenizer"
	"github.com/ghostline-dev/ghostline/projectgraph"
	"github.com/ghostline-dev/ghostline/projectgraph/rusage"
)

func init() {
	register(&command{
		name:    "index",
		summary: "build or refresh the project index (files, import graph, symbols) of a workspace",
		usage:   "DIR [--json]",
		setup: func(fs *flag.FlagSet) func(args []string) error {
			asJSON := fs.Bool("json", false, `print {"files":N,"edges":N,"symbols":N,"seconds":x,"peak_mb":x} instead of a summary`)
			return func(args []string) error {
				if len(args) > 1 {
					return usageError{"expects one directory"}
				}
				dir := "."
				if len(args) == 1 {
					dir = args[0]
				}
				ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
				defer stop()
				start := time.Now()
				ix, err := openIndex(ctx, dir, os.Stderr)
				if err != nil {
					return err
				}
				secs := time.Since(start).Seconds()
				st := ix.Stats()
				if *asJSON {
					return json.NewEncoder(os.Stdout).Encode(struct {
						Files   int     `json:"files"`
						Edges   int     `json:"edges"`
						Symbols int     `json:"symbols"`
						Seconds float64 `json:"seconds"`
						PeakMB  float64 `json:"peak_mb"`
					}{st.Files, st.Edges, st.Symbols, round3(secs), round3(rusage.PeakMB())})
				}
				fmt.Printf("indexed %s: %d files, %d import edges, %d symbols in %.2fs (peak %.0f MB)\n",
					ix.Root(), st.Files, st.Edges, st.Symbols, secs, rusage.PeakMB())
				if len(st.Skipped) > 0 {
					fmt.Printf("skipped: %v\n", st.Skipped)
				}
				if p := ix.CachePath(); p != "" {
					fmt.Printf("cache: %s\n", p)
				}
				return nil
			}
		},
	})
}

func round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }

// progressDelay: a load that finishes sooner (a cache hit, a small
// workspace) draws no progress bar at all.
const progressDelay = 300 * time.Millisecond

// openIndex loads or builds the index of dir, drawing a progress bar on
// progress (stderr) while files are parsed.
func openIndex(ctx context.Context, dir string, progress io.Writer) (*projectgraph.Index, error) {
	var bar *progressbar.ProgressBar
	var once sync.Once
	start := time.Now()
	opt := projectgraph.Options{Progress: func(done, total int) {
		if bar == nil && time.Since(start) < progressDelay {
			return
		}
		once.Do(func() {
			bar = progressbar.NewOptions(total,
				progressbar.OptionSetWriter(progress),
				progressbar.OptionSetDescription("indexing"),
				progressbar.OptionShowCount(),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionClearOnFinish())
		})
		_ = bar.Set(done)
	}}
	ix, err := projectgraph.Open(ctx, dir, opt)
	if bar != nil {
		_ = bar.Finish()
	}
	return ix, err
}

// openIndexForFile opens the index of the workspace holding file (root
// when given, else found from file; built on demand with progress on
// stderr) and returns it with file's absolute path.
func openIndexForFile(file, root string) (*projectgraph.Index, string, error) {
	// Check the file first: a missing one would otherwise send the index
	// up to its parent folder, which can be / , and build it for nothing.
	if fi, err := os.Stat(file); err != nil {
		return nil, "", err
	} else if fi.IsDir() {
		return nil, "", fmt.Errorf("%s is a directory, not a file", file)
	}
	dir, err := workspaceRoot(file, root)
	if err != nil {
		return nil, "", err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ix, err := openIndex(ctx, dir, os.Stderr)
	if err != nil {
		return nil, "", err
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, "", err
	}
	return ix, abs, nil
}

// workspaceRoot returns root when set, else the nearest ancestor of file
// holding .git, go.mod, package.json, pyproject.toml or Cargo.toml, else
// the file's directory.
func workspaceRoot(file, root string) (string, error) {
	if root != "" {
		return root, nil
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", err
	}
	start := filepath.Dir(abs)
	for d := start; ; d = filepath.Dir(d) {
		for _, m := range []string{".git", "go.mod", "package.json", "pyproject.toml", "Cargo.toml"} {
			if _, err := os.Stat(filepath.Join(d, m)); err == nil {
				return d, nil
			}
		}
		if filepath.Dir(d) == d {
			return start, nil
		}
	}
}

// tokenCounter returns the tokenizer of model (a GGUF path or an
// installed name), else the default model's; when no model is named and
// the default is not installed, the approximate counter (with a note on
// stderr).
func tokenCounter(model string) (projectgraph.TokenCounter, error) {
	path, err := resolveModelPath(model)
	if err != nil && model == "" {
		fmt.Fprintf(os.Stderr, "ghostline: token counts are approximate (no --model, and the default model is unavailable: %v)\n", err)
		return projectgraph.ApproxCounter{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("--model: %w", err)
	}
	tok, err := tokenizer.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--model: %w", err)
	}
	opt := tok.DefaultOptions(false)
	opt.AddBOS, opt.AddEOS = false, false
	return projectgraph.TokenCounterFunc(func(s string) int { return len(tok.Encode(s, opt)) }), nil
}
