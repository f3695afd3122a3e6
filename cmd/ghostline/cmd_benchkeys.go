package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/ghostline-dev/ghostline/decode"
)

func init() {
	register(&command{
		name:    "bench keystrokes",
		summary: "replay typing a file and measure completion latency and prompt tokens computed with and without the prefix cache",
		usage: "--file F [--model PATH] [--json] [--limit N] [--from-line L] [--max-tokens N] [--order psm|spm]\n" +
			"    [--reuse-run N] [--completions OUT.jsonl] [--line-ends]\n\n" +
			"Types F character by character, as an editor with debounce off would see it: at each\n" +
			"keystroke the document is F up to the cursor, then the rest of the file from the end of\n" +
			"the cursor's line (the lines below already exist), and a completion is requested.\n" +
			"--from-line L starts typing at line L, the lines above already there (a long prompt).\n" +
			"ttft_p50_ms and ttft_p99_ms time each keystroke's request to its first generated token.\n" +
			"computed_tokens_uncached is what an engine without a prefix cache computes: every\n" +
			"prompt token of every request. --reuse-run N also reuses runs of N or more cached\n" +
			"tokens at moved positions (an approximation; off by default); moved_tokens counts them.\n" +
			"--completions writes each keystroke's completion, to compare two runs.\n" +
			"--line-ends types nothing: the cursor moves to the end of each line from --from-line\n" +
			"on, the document unchanged (what moved runs are for); keystrokes then counts the moves.",
		setup: func(fs *flag.FlagSet) func([]string) error {
			o := benchKeysFlags{}
			fs.StringVar(&o.file, "file", "", "source file to replay")
			fs.StringVar(&o.model, "model", "", "model file or installed name (default: the default model)")
			fs.BoolVar(&o.json, "json", false, "print JSON")
			fs.IntVar(&o.limit, "limit", 0, "replay only the first N keystrokes (0: all)")
			fs.IntVar(&o.fromLine, "from-line", 1, "start typing at this line (1-based); the lines above exist")
			fs.IntVar(&o.maxTokens, "max-tokens", 16, "tokens generated per keystroke")
			fs.StringVar(&o.order, "order", decode.DefaultOrder.String(), "FIM order: spm (suffix first: the prefix cache reuses all but the last tokens) or psm")
			fs.IntVar(&o.threads, "threads", 0, "CPU threads (0: one per core)")
			fs.IntVar(&o.reuseRun, "reuse-run", 0, fmt.Sprintf("reuse runs of at least N cached tokens at moved positions, approximately (0: off, the cached prefix only; %d suggested)", decode.DefaultReuseRun))
			fs.StringVar(&o.completions, "completions", "", "write each keystroke's completion and token counts to this JSONL file")
			fs.BoolVar(&o.lineEnds, "line-ends", false, "move the cursor to the end of each line instead of typing")
			return func(args []string) error {
				if len(args) > 0 {
					return usageError{fmt.Sprintf("unexpected argument %q", args[0])}
				}
				return runBenchKeys(o, os.Stdout, os.Stderr)
			}
		},
	})
}

type benchKeysFlags struct {
	file, model, order, completions string
	json, lineEnds                  bool
	limit, maxTokens, threads       int
	fromLine, reuseRun              int
}

// benchKeysReport is the --json contract of the issue.
type benchKeysReport struct {
	Keystrokes             int     `json:"keystrokes"`
	P50ms                  float64 `json:"p50_ms"`
	P99ms                  float64 `json:"p99_ms"`
	ComputedTokensCached   int64   `json:"computed_tokens_cached"`
	ComputedTokensUncached int64   `json:"computed_tokens_uncached"`
	TTFTP50ms              float64 `json:"ttft_p50_ms"`
	TTFTP99ms              float64 `json:"ttft_p99_ms"`
	MovedTokens            int64   `json:"moved_tokens"`
}

// keystrokeRecord is one line of --completions.
type keystrokeRecord struct {
	Keystroke  int    `json:"keystroke"`
	Completion string `json:"completion"`
	Prompt     int    `json:"prompt_tokens"`
	Computed   int    `json:"computed_tokens"`
	Moved      int    `json:"moved_tokens"`
	// Truth is what the file has after the cursor up to the line's end:
	// what a completion of the line should write.
	Truth string `json:"rest_of_line"`
}

// keystrokeDocs returns, for each keystroke of text, the prefix and suffix
// around the cursor (text up to and including the typed character, then
// the file from the end of that line) and the rest of the line the suffix
// leaves out. Typing starts at byte offset from
// (the text before it already there).
func keystrokeDocs(text string, from, limit int) [][3]string {
	var docs [][3]string
	for i := from; i < len(text); {
		_, n := utf8.DecodeRuneInString(text[i:])
		i += n
		end := strings.IndexByte(text[i:], '\n')
		if end < 0 {
			end = len(text) - i
		}
		docs = append(docs, [3]string{text[:i], text[i+end:], text[i : i+end]})
		if limit > 0 && len(docs) == limit {
			break
		}
	}
	return docs
}

// lineEndDocs returns, for each line from byte offset from on, the prefix
// and suffix with the cursor at its end, in the unchanged text (the rest
// of the line is empty).
func lineEndDocs(text string, from, limit int) [][3]string {
	var docs [][3]string
	for i := from; i < len(text); i++ {
		if text[i] != '\n' {
			continue
		}
		docs = append(docs, [3]string{text[:i], text[i:], ""})
		if limit > 0 && len(docs) == limit {
			break
		}
	}
	return docs
}

func runBenchKeys(o benchKeysFlags, stdout, stderr io.Writer) error {
	if o.file == "" {
		return usageError{"--file is required"}
	}
	if o.maxTokens < 1 || o.limit < 0 || o.fromLine < 1 {
		return usageError{"--max-tokens and --from-line must be at least 1, --limit at least 0"}
	}
	text, err := readSource(o.file)
	if err != nil {
		return err
	}
	from := 0
	for range o.fromLine - 1 {
		nl := strings.IndexByte(text[from:], '\n')
		if nl < 0 {
			return usageError{fmt.Sprintf("%s has fewer than %d lines", o.file, o.fromLine)}
		}
		from += nl + 1
	}
	var docs [][3]string
	if o.lineEnds {
		docs = lineEndDocs(text, from, o.limit)
	} else {
		docs = keystrokeDocs(text, from, o.limit)
	}
	if len(docs) == 0 {
		return fmt.Errorf("%s: nothing to type from line %d", o.file, o.fromLine)
	}
	opts, err := engineOptions(o.order)
	if err != nil {
		return err
	}
	opts.ReuseRun = o.reuseRun
	var rec *json.Encoder
	var recFile *os.File
	if o.completions != "" {
		if recFile, err = os.Create(o.completions); err != nil {
			return err
		}
		defer recFile.Close()
		rec = json.NewEncoder(recFile)
	}
	l, err := loadEngine(o.model, o.threads, opts)
	if err != nil {
		return err
	}
	defer l.Close()
	lang := languageOf(o.file)
	bar := countBar(stderr, len(docs), "keystrokes")
	rep := benchKeysReport{}
	var lat, ttft []float64
	for _, d := range docs {
		res, err := l.Complete(context.Background(), decode.Request{
			Prefix: d[0], Suffix: d[1], Language: lang, Path: filepath.ToSlash(o.file),
			Limits: decode.Limits{MaxTokens: o.maxTokens},
		})
		if err != nil {
			return err
		}
		rep.Keystrokes++
		rep.ComputedTokensCached += int64(res.Stats.ComputedTokens)
		rep.ComputedTokensUncached += int64(res.Stats.PromptTokens)
		rep.MovedTokens += int64(res.Stats.MovedTokens)
		if rec != nil {
			if err := rec.Encode(keystrokeRecord{rep.Keystrokes, res.Completions[0].Text, res.Stats.PromptTokens, res.Stats.ComputedTokens, res.Stats.MovedTokens, d[2]}); err != nil {
				return fmt.Errorf("--completions: %w", err)
			}
		}
		lat = append(lat, float64(res.Stats.Total.Microseconds())/1000)
		ttft = append(ttft, float64(res.Stats.TTFT.Microseconds())/1000)
		bar.Add(1)
	}
	rep.P50ms = roundMilli(percentile(lat, 0.50))
	rep.P99ms = roundMilli(percentile(lat, 0.99))
	rep.TTFTP50ms = roundMilli(percentile(ttft, 0.50))
	rep.TTFTP99ms = roundMilli(percentile(ttft, 0.99))
	if recFile != nil {
		if err := recFile.Close(); err != nil {
			return fmt.Errorf("--completions: %w", err)
		}
	}
	if o.json {
		return writeJSON(stdout, rep)
	}
	ratio := float64(rep.ComputedTokensUncached) / float64(max(1, rep.ComputedTokensCached))
	fmt.Fprintf(stdout, "keystrokes %d  p50 %.1f ms  p99 %.1f ms  first token p50 %.1f ms  p99 %.1f ms  prompt tokens computed: %d with the cache, %d without (%.1f× fewer)\n",
		rep.Keystrokes, rep.P50ms, rep.P99ms, rep.TTFTP50ms, rep.TTFTP99ms, rep.ComputedTokensCached, rep.ComputedTokensUncached, ratio)
	return nil
}
