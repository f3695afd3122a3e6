package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ghostline-dev/ghostline/decode"
	"github.com/ghostline-dev/ghostline/decode/fimbench"
	"github.com/ghostline-dev/ghostline/model/gguf"
	"github.com/ghostline-dev/ghostline/projectgraph"
	"github.com/ghostline-dev/ghostline/projectgraph/ctxbench"
)

func init() {
	register(&command{
		name:    "bench context",
		summary: "measure cross-file context recall (vs Jaccard windows and BM25) and indexing speed on the Go standard library",
		usage: "[--root DIR] [--targets N] [--budgets 512,1024,2048] [--updates N] [--seed N] [--model PATH] [--json]\n" +
			"       [--complete N [--complete-out ROWS.jsonl] [--threads N]]\n\n" +
			"--complete N also completes the first N target lines with the model (--model when it has\n" +
			"weights, else the default model), greedy and single-line, with no cross-file context, with\n" +
			"projectgraph's and with the Jaccard baseline's context at 1,024 tokens, around the same\n" +
			"local window, and reports exact match, edit similarity and latency per mode.",
		setup: func(fs *flag.FlagSet) func(args []string) error {
			root := fs.String("root", "", "Go source tree to measure (default: $(go env GOROOT)/src)")
			targets := fs.Int("targets", 200, "target lines to cut and complete")
			budgets := fs.String("budgets", "512,1024,2048", "token budgets, comma-separated")
			updates := fs.Int("updates", 50, "single-file updates to time")
			seed := fs.Int64("seed", 1, "sampling seed")
			model := fs.String("model", "", "GGUF whose tokenizer counts tokens (default: the default model's, else approximate)")
			asJSON := fs.Bool("json", false, "print the figures as JSON instead of Markdown tables")
			doSpeed := fs.Bool("speed", true, "measure indexing speed (on a temporary copy of the tree); false indexes the tree in place through the cache and measures recall only")
			complete := fs.Int("complete", 0, "complete the first N targets with the model, without and with context (0: off)")
			completeOut := fs.String("complete-out", "", "with --complete: write one JSON line per target and mode")
			threads := fs.Int("threads", 0, "with --complete: CPU threads (0: one per core)")
			return func(args []string) error {
				if len(args) > 0 {
					return usageError{"takes no arguments"}
				}
				if *targets < 1 || *complete < 0 {
					return usageError{"--targets must be at least 1 and --complete at least 0"}
				}
				if *complete > *targets {
					return usageError{fmt.Sprintf("--complete %d exceeds --targets %d (it completes the first of the recall targets)", *complete, *targets)}
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
				// Load the completion model before the long recall run,
				// so that a missing model fails at once.
				var l *decode.Loaded
				var modelPath string
				if *complete > 0 {
					if l, modelPath, err = loadCompletionModel(*model, *threads, os.Stderr); err != nil {
						return err
					}
					defer l.Close()
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
				rec, err := ctxbench.Recall(ctx, ix, ctxbench.Options{Root: *root, Targets: *targets, Budgets: bs, Seed: *seed, Counter: counter, Log: os.Stderr,
					Cases: *complete, CaseBudget: completeContextBudget})
				if err != nil {
					return err
				}
				var comp *benchCompletion
				if l != nil {
					var rows io.Writer
					if *completeOut != "" {
						f, err := os.Create(*completeOut)
						if err != nil {
							return err
						}
						defer f.Close()
						rows = f
					}
					if comp, err = runContextCompletion(ctx, l, rec.Cases, filepath.Base(*root), rows, os.Stderr); err != nil {
						return err
					}
					comp.Model = filepath.Base(modelPath)
				}
				if *asJSON {
					out := map[string]any{"speed": speed, "recall": rec}
					if comp != nil {
						out["completion"] = comp
					}
					return json.NewEncoder(os.Stdout).Encode(out)
				}
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
				if comp != nil {
					comp.markdown(os.Stdout)
					fmt.Println()
				}
				if speed == nil {
					fmt.Println("(indexing speed not measured: --speed=false)")
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

// The completion measurement (--complete) asks whether the context
// changes what the model writes. Every mode sees the same local window
// of the file, and the context modes add their blocks on top of it, so
// that the comparison isolates the context. (The language server instead
// trades prefix for context within one 1,536-token prompt, and gives the
// context at most 30% of it; see decode.DefaultBudget.)
const (
	// completeContextBudget is the cross-file context each context mode
	// may show: the recall benchmark's headline budget.
	completeContextBudget = 1024
	// completePrefixTokens and completeSuffixTokens bound the local
	// window: about 40 lines before the cursor and 20 after, what the
	// default prompt keeps of a file once context has its share, while
	// keeping a context prompt near 1,900 tokens (~30 s of prefill on two
	// busy cores).
	completePrefixTokens = 512
	completeSuffixTokens = 256
	// completeMaxTokens caps a single-line completion: a Go line rarely
	// needs more.
	completeMaxTokens = 64
)

// completeModes are the ways of completing, in report order: no cross-file
// context, then each context method's blocks.
var completeModes = []string{"none", "jaccard", "projectgraph"}

// completeEngineOptions size the prompt so that the engine cuts nothing:
// the window is cut before (4,096 tokens hold 512 + 256 + 1,024 and the
// block headers; the context's share, 50%, holds the blocks). Each prompt
// is computed from scratch, so the latency is that of a cold prompt.
func completeEngineOptions() decode.Options {
	return decode.Options{Order: decode.DefaultOrder, DisableCache: true,
		Budget: decode.Budget{Total: 4096, SuffixShare: 0.25, ContextShare: 0.5}}
}

// loadCompletionModel loads --model when it is a model with weights (it
// may be a vocabulary-only GGUF used to count tokens), else the default
// model.
func loadCompletionModel(ref string, threads int, stderr io.Writer) (*decode.Loaded, string, error) {
	path := ""
	if ref != "" {
		p, err := resolveModelPath(ref)
		if err != nil {
			return nil, "", fmt.Errorf("--model: %w", err)
		}
		f, err := gguf.Open(p)
		if err != nil {
			return nil, "", fmt.Errorf("--model: %w", err)
		}
		weights := len(f.Tensors) > 0
		f.Close()
		if weights {
			path = p
		} else {
			fmt.Fprintf(stderr, "ghostline: %s holds no weights; completing with the default model\n", p)
		}
	}
	if path == "" {
		p, err := resolveModelPath("")
		if err != nil {
			return nil, "", fmt.Errorf("--complete needs a model: %w", err)
		}
		path = p
	}
	l, err := loadEngine(path, threads, completeEngineOptions())
	if err != nil {
		return nil, "", err
	}
	return l, path, nil
}

// benchCompletion is the "completion" object of the --json report.
type benchCompletion struct {
	Model         string `json:"model"`
	Targets       int    `json:"targets"`
	ContextBudget int    `json:"context_budget"`
	PrefixTokens  int    `json:"prefix_window_tokens"`
	SuffixTokens  int    `json:"suffix_window_tokens"`
	// Modes maps "none", "jaccard" and "projectgraph" to their figures.
	Modes map[string]*benchCompletionMode `json:"modes"`
}

type benchCompletionMode struct {
	Targets        int     `json:"targets"`
	ExactMatch     float64 `json:"exact_match"`
	EditSimilarity float64 `json:"edit_similarity"`
	// ExactIgnoringLead is exact match after stripping the completion's
	// leading whitespace too: a completion that starts with one tab too
	// many (a small model's frequent slip at a cursor after indentation)
	// is wrong on screen but right in content; the two figures tell the
	// slips from the content errors.
	ExactIgnoringLead float64 `json:"exact_match_ignoring_leading_ws"`
	P50ms             float64 `json:"p50_ms"`
	// PromptTokens is the mean prompt size, ContextTokens the mean of the
	// blocks' tokens as the context counted them (0 without context).
	PromptTokens  float64 `json:"prompt_tokens_mean"`
	ContextTokens float64 `json:"context_tokens_mean"`
	// Trimmed counts prompts the engine cut (none are expected: the
	// budget holds the window and the context).
	Trimmed int `json:"prompts_trimmed"`
	lat     []float64
}

// benchCompletionRow is one line of --complete-out.
type benchCompletionRow struct {
	Path           string  `json:"path"`
	Line           int     `json:"line"`
	Mode           string  `json:"mode"`
	Truth          string  `json:"truth"`
	Completion     string  `json:"completion"`
	FinishReason   string  `json:"finish_reason"`
	Exact          bool    `json:"exact"`
	EditSimilarity float64 `json:"edit_similarity"`
	Ms             float64 `json:"ms"`
	PromptTokens   int     `json:"prompt_tokens"`
	ContextBlocks  int     `json:"context_blocks"`
}

// runContextCompletion completes every case's line in every mode, greedy
// and single-line, and scores it against the line's text.
func runContextCompletion(ctx context.Context, l *decode.Loaded, cases []ctxbench.Case, repo string, rows, stderr io.Writer) (*benchCompletion, error) {
	opt := l.Tokenizer.DefaultOptions(false)
	opt.AddBOS, opt.AddEOS = false, false
	count := func(s string) int { return len(l.Tokenizer.Encode(s, opt)) }
	rep := &benchCompletion{Targets: len(cases), ContextBudget: completeContextBudget,
		PrefixTokens: completePrefixTokens, SuffixTokens: completeSuffixTokens, Modes: map[string]*benchCompletionMode{}}
	for _, m := range completeModes {
		rep.Modes[m] = &benchCompletionMode{}
	}
	bar := countBar(stderr, len(cases)*len(completeModes), "completing")
	for _, c := range cases {
		prefix, suffix := localWindow(count, c.Prefix, c.Suffix, completePrefixTokens, completeSuffixTokens)
		for _, mode := range completeModes {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			req := decode.Request{Prefix: prefix, Suffix: suffix, Language: "go", Path: c.Path, Repo: repo,
				Limits: decode.Limits{MaxTokens: completeMaxTokens},
				Stop:   decode.StopRules{Multiline: decode.MultilineNever}}
			for _, b := range c.Context[mode] {
				req.Context = append(req.Context, decode.ContextBlock{Path: b.Path, Text: b.Text, Reason: b.Reason})
			}
			res, err := l.Complete(ctx, req)
			if err != nil {
				return nil, fmt.Errorf("%s:%d (%s): %w", c.Path, c.Line, mode, err)
			}
			if len(res.Completions) == 0 {
				return nil, errors.New("the engine returned no completion")
			}
			got := res.Completions[0]
			// A completion that replaces closers after the cursor is
			// scored with them on both sides (fimbench.Task.Replacing).
			truth := c.Truth + suffix[:min(got.Replace, len(suffix))]
			exact, sim := rep.Modes[mode].add(got.Text, truth, res.Stats, c.ContextTokens[mode])
			r := benchCompletionRow{Path: c.Path, Line: c.Line, Mode: mode, Truth: c.Truth, Completion: got.Text,
				FinishReason: got.FinishReason, Exact: exact, EditSimilarity: roundMilli(sim),
				Ms: roundMilli(float64(res.Stats.Total.Microseconds()) / 1000), PromptTokens: res.Stats.PromptTokens,
				ContextBlocks: len(req.Context)}
			if rows != nil {
				if err := writeJSON(rows, r); err != nil {
					return nil, err
				}
			}
			bar.Add(1)
		}
	}
	for _, m := range rep.Modes {
		m.finish()
	}
	return rep, nil
}

// add scores one completion (sums now, means in finish) and returns its
// exact match and edit similarity for the per-target row.
func (m *benchCompletionMode) add(got, truth string, st decode.Stats, contextTokens int) (exact bool, sim float64) {
	exact, sim = fimbench.ExactMatch(got, truth), fimbench.EditSimilarity(got, truth)
	m.Targets++
	if exact {
		m.ExactMatch++
	}
	if fimbench.ExactMatch(strings.TrimLeft(got, " \t"), truth) {
		m.ExactIgnoringLead++
	}
	m.EditSimilarity += sim
	m.PromptTokens += float64(st.PromptTokens)
	m.ContextTokens += float64(contextTokens)
	if st.PromptTrimmed {
		m.Trimmed++
	}
	m.lat = append(m.lat, float64(st.Total.Microseconds())/1000)
	return exact, sim
}

// finish turns the sums into means and the latencies into their median.
func (m *benchCompletionMode) finish() {
	n := float64(max(m.Targets, 1))
	m.ExactMatch = roundMilli(m.ExactMatch / n)
	m.ExactIgnoringLead = roundMilli(m.ExactIgnoringLead / n)
	m.EditSimilarity = roundMilli(m.EditSimilarity / n)
	m.PromptTokens = roundMilli(m.PromptTokens / n)
	m.ContextTokens = roundMilli(m.ContextTokens / n)
	m.P50ms = roundMilli(percentile(m.lat, 0.50))
}

// localWindow keeps the whole lines of prefix nearest the cursor (the
// cursor's own line always) within p tokens and the whole lines of suffix
// after it within s tokens, counting each line on its own.
func localWindow(count func(string) int, prefix, suffix string, p, s int) (string, string) {
	lines := strings.SplitAfter(prefix, "\n")
	start, used := len(lines)-1, count(lines[len(lines)-1])
	for start > 0 {
		c := count(lines[start-1])
		if used+c > p {
			break
		}
		used += c
		start--
	}
	prefix = strings.Join(lines[start:], "")
	lines = strings.SplitAfter(suffix, "\n")
	end, used := 0, 0
	for end < len(lines) {
		c := count(lines[end])
		if used+c > s {
			break
		}
		used += c
		end++
	}
	return prefix, strings.Join(lines[:end], "")
}

// markdown prints the completion figures as a table.
func (b *benchCompletion) markdown(w io.Writer) {
	fmt.Fprintf(w, "## Completion with and without context (%s, %d targets)\n\n", b.Model, b.Targets)
	fmt.Fprintf(w, "Greedy, single line, cursor after the target line's indentation; the same local window in every mode\n"+
		"(≤%d prefix and ≤%d suffix tokens), context modes add up to %d tokens of blocks.\n\n", b.PrefixTokens, b.SuffixTokens, b.ContextBudget)
	fmt.Fprintf(w, "| context | exact match | exact, leading whitespace ignored | edit similarity | p50 ms | prompt tokens (mean) | context tokens (mean) |\n|---|---|---|---|---|---|---|\n")
	for _, name := range completeModes {
		m := b.Modes[name]
		fmt.Fprintf(w, "| %s | %.3f | %.3f | %.3f | %.0f | %.0f | %.0f |\n", name, m.ExactMatch, m.ExactIgnoringLead, m.EditSimilarity, m.P50ms, m.PromptTokens, m.ContextTokens)
	}
}
