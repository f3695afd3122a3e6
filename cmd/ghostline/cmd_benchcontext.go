package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ghostline-dev/ghostline/projectgraph"
	"github.com/ghostline-dev/ghostline/projectgraph/ctxbench"
)

func init() {
	register(&command{
		name:    "bench context",
		summary: "measure cross-file context recall (vs Jaccard windows and BM25) and indexing speed on the Go standard library",
		usage:   "[--root DIR] [--targets N] [--budgets 512,1024,2048] [--updates N] [--seed N] [--model PATH] [--json]",
		setup: func(fs *flag.FlagSet) func(args []string) error {
			root := fs.String("root", "", "Go source tree to measure (default: $(go env GOROOT)/src)")
			targets := fs.Int("targets", 200, "target lines to cut and complete")
			budgets := fs.String("budgets", "512,1024,2048", "token budgets, comma-separated")
			updates := fs.Int("updates", 50, "single-file updates to time")
			seed := fs.Int64("seed", 1, "sampling seed")
			model := fs.String("model", "", "GGUF whose tokenizer counts tokens (default: the default model's, else approximate)")
			asJSON := fs.Bool("json", false, "print the figures as JSON instead of Markdown tables")
			doSpeed := fs.Bool("speed", true, "measure indexing speed (on a temporary copy of the tree); false indexes the tree in place through the cache and measures recall only")
			return func(args []string) error {
				if len(args) > 0 {
					return usageError{"takes no arguments"}
				}
				var bs []int
				for _, f := range strings.Split(*budgets, ",") {
					n, err := strconv.Atoi(strings.TrimSpace(f))
					if err != nil || n <= 0 {
						return usageError{fmt.Sprintf("--budgets: %q is not a positive number", f)}
					}
					bs = append(bs, n)
				}
				if *root == "" {
					out, err := exec.Command("go", "env", "GOROOT").Output()
					if err != nil {
						return fmt.Errorf("go env GOROOT: %w (pass --root)", err)
					}
					*root = filepath.Join(strings.TrimSpace(string(out)), "src")
				}
				counter, err := tokenCounter(*model)
				if err != nil {
					return err
				}
				ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
				defer stop()
				var speed *ctxbench.SpeedResult
				var ix *projectgraph.Index
				if *doSpeed {
					var cleanup func()
					speed, ix, cleanup, err = ctxbench.Speed(ctx, *root, *updates, os.Stderr)
					if err != nil {
						return err
					}
					defer cleanup()
				} else if ix, err = openIndex(ctx, *root, os.Stderr); err != nil {
					return err
				}
				rec, err := ctxbench.Recall(ctx, ix, ctxbench.Options{Root: *root, Targets: *targets, Budgets: bs, Seed: *seed, Counter: counter, Log: os.Stderr})
				if err != nil {
					return err
				}
				if *asJSON {
					return json.NewEncoder(os.Stdout).Encode(map[string]any{"speed": speed, "recall": rec})
				}
				defer func() {
					if speed == nil {
						fmt.Println("(indexing speed not measured: --speed=false)")
					}
				}()
				fmt.Printf("## Context recall on %s (%d targets, %d identifiers defined in other files)\n\n", *root, rec.Targets, rec.Identifiers)
				fmt.Printf("| method |")
				for _, b := range bs {
					fmt.Printf(" recall@%d |", b)
				}
				fmt.Printf("\n|---|%s\n", strings.Repeat("---|", len(bs)))
				for _, m := range ctxbench.Methods {
					fmt.Printf("| %s |", m)
					for _, b := range bs {
						fmt.Printf(" %.3f |", rec.Recall[m][b])
					}
					fmt.Println()
				}
				fmt.Printf("\nContext latency (wall): p50 %v, p99 %v; process CPU per request %v; requesting thread's CPU p50 %v, p99 %v (%d requests)\n\n",
					rec.ContextP50.Round(time.Microsecond), rec.ContextP99.Round(time.Microsecond), rec.ContextCPU.Round(time.Microsecond),
					rec.ContextCPUP50.Round(time.Microsecond), rec.ContextCPUP99.Round(time.Microsecond), rec.Targets*len(bs))
				if speed == nil {
					return nil
				}
				fmt.Printf("## Indexing speed (%d files, %d symbols, %d import edges)\n\n", speed.Files, speed.Symbols, speed.Edges)
				fmt.Printf("| step | wall s | CPU s |\n|---|---|---|\n")
				fmt.Printf("| index (fresh) | %.2f | %.2f |\n", speed.IndexSeconds, speed.IndexCPUSeconds)
				fmt.Printf("| plain tree-sitter parse | %.2f | %.2f |\n", speed.ParseSeconds, speed.ParseCPUSeconds)
				fmt.Printf("| go list -deps std | %.2f | — |\n", speed.GoListSeconds)
				fmt.Printf("| reload from cache | %.2f | %.2f |\n", speed.ReloadSeconds, speed.ReloadCPUSeconds)
				fmt.Printf("\nPeak RSS after indexing: %.0f MB. One-file update: p50 %v, p99 %v wall; CPU p50 %v, p99 %v (%d updates).\n",
					speed.PeakMB, speed.UpdateP50.Round(time.Microsecond), speed.UpdateP99.Round(time.Microsecond),
					speed.UpdateCPUP50.Round(time.Microsecond), speed.UpdateCPUP99.Round(time.Microsecond), speed.Updates)
				return nil
			}
		},
	})
}
