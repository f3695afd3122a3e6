package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/ghostline-dev/ghostline/decode"
	"github.com/ghostline-dev/ghostline/decode/fimbench"
)

func init() {
	register(&command{
		name:    "bench fim",
		summary: "fill-in-the-middle benchmark: exact match, edit similarity, syntax validity, pass@1, latency",
		usage: "--set FILE.jsonl[.gz] [--model PATH] [--limit N] [--beams N] [--astguard on|off] [--json] [--out RESULTS.jsonl]\n\n" +
			"Reads HumanEval-infilling or SAFIM tasks. --limit N takes a seeded subset (the same N tasks\n" +
			"in every run). Tests of generated code run only in a sandbox (no network, time and memory\n" +
			"limits, a temporary directory); without one, pass_at_1 is null.",
		setup: func(fs *flag.FlagSet) func([]string) error {
			o := benchFIMFlags{}
			fs.StringVar(&o.set, "set", "", "task file (.jsonl or .jsonl.gz)")
			fs.StringVar(&o.model, "model", "", "model file or installed name (default: the default model)")
			fs.IntVar(&o.limit, "limit", 0, "tasks to run, a seeded subset (0: all)")
			fs.IntVar(&o.beams, "beams", 1, "beam width (1: greedy)")
			fs.StringVar(&o.astguard, "astguard", "off", "syntax constraints: on or off")
			fs.BoolVar(&o.json, "json", false, "print JSON")
			fs.StringVar(&o.out, "out", "", "write per-task results as JSONL")
			fs.IntVar(&o.maxTokens, "max-tokens", decode.DefaultMaxTokens, "most tokens per completion")
			fs.StringVar(&o.order, "order", "psm", "FIM order: psm or spm")
			fs.IntVar(&o.threads, "threads", 0, "CPU threads (0: one per core)")
			fs.BoolVar(&o.noExec, "no-exec", false, "do not run tests (pass_at_1 null)")
			return func(args []string) error {
				if len(args) > 0 {
					return usageError{fmt.Sprintf("unexpected argument %q", args[0])}
				}
				return runBenchFIM(o, os.Stdout, os.Stderr)
			}
		},
	})
}

type benchFIMFlags struct {
	set, model, astguard, out, order string
	limit, beams, maxTokens, threads int
	json, noExec                     bool
}

// benchFIMReport is the --json contract of the issue; pass_at_1 is null
// when no task's tests could run.
type benchFIMReport struct {
	Tasks          int      `json:"tasks"`
	PassAt1        *float64 `json:"pass_at_1"`
	ExactMatch     float64  `json:"exact_match"`
	EditSimilarity float64  `json:"edit_similarity"`
	SyntaxValid    float64  `json:"syntax_valid"`
	P50ms          float64  `json:"p50_ms"`
	P99ms          float64  `json:"p99_ms"`
	DecodeTokS     float64  `json:"decode_tok_s"`
}

type benchFIMTask struct {
	TaskID         string  `json:"task_id"`
	Lang           string  `json:"lang"`
	Completion     string  `json:"completion"`
	FinishReason   string  `json:"finish_reason"`
	Exact          bool    `json:"exact"`
	EditSimilarity float64 `json:"edit_similarity"`
	SyntaxValid    *bool   `json:"syntax_valid"`
	Passed         *bool   `json:"passed"`
	Reason         string  `json:"reason,omitempty"`
	Ms             float64 `json:"ms"`
	PromptTokens   int     `json:"prompt_tokens"`
	Generated      int     `json:"generated"`
}

func runBenchFIM(o benchFIMFlags, stdout, stderr io.Writer) error {
	if o.set == "" {
		return usageError{"--set FILE.jsonl[.gz] is required"}
	}
	if o.beams < 1 || o.maxTokens < 1 || o.limit < 0 {
		return usageError{"--beams and --max-tokens must be at least 1, --limit at least 0"}
	}
	if o.astguard != "on" && o.astguard != "off" {
		return usageError{fmt.Sprintf("--astguard is on or off, not %q", o.astguard)}
	}
	tasks, err := fimbench.ReadTasks(o.set)
	if err != nil {
		return err
	}
	tasks = fimbench.Subset(tasks, o.limit)
	if len(tasks) == 0 {
		return fmt.Errorf("%s holds no tasks", o.set)
	}
	var sb *fimbench.Sandbox
	if !o.noExec {
		if sb, err = fimbench.NewSandbox(10*time.Second, 1<<30); err != nil {
			fmt.Fprintf(stderr, "%v; pass_at_1 will be null\n", err)
		}
	}
	opts, err := engineOptions(o.order)
	if err != nil {
		return err
	}
	l, err := loadEngine(o.model, o.threads, opts)
	if err != nil {
		return err
	}
	defer l.Close()
	var results io.Writer
	if o.out != "" {
		f, err := os.Create(o.out)
		if err != nil {
			return err
		}
		defer f.Close()
		results = f
	}
	bar := progressbar.NewOptions(len(tasks), progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("bench fim"),
		progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }))

	var (
		rep                     benchFIMReport
		lat                     []float64
		ran, passed, synN, synV int
		genTok                  int
		decodeTime              time.Duration
	)
	for _, t := range tasks {
		req := decode.Request{Prefix: t.Prefix, Suffix: t.Suffix, Language: t.Lang,
			Limits: decode.Limits{MaxTokens: o.maxTokens}, Beams: decode.Beams{Width: o.beams, N: 1}}
		release, err := withSyntax(o.astguard, &req, io.Discard)
		if err != nil {
			return err
		}
		res, err := l.Complete(context.Background(), req)
		release()
		if err != nil {
			return fmt.Errorf("task %s: %w", t.ID, err)
		}
		c := res.Completions[0]
		r := benchFIMTask{TaskID: t.ID, Lang: t.Lang, Completion: c.Text, FinishReason: c.FinishReason,
			Exact: fimbench.ExactMatch(c.Text, t.Truth), EditSimilarity: fimbench.EditSimilarity(c.Text, t.Truth),
			Ms: roundMilli(float64(res.Stats.Total.Microseconds()) / 1000), PromptTokens: res.Stats.PromptTokens, Generated: res.Stats.Generated}
		if v, ok := fimbench.SyntaxValid(t, c.Text); ok {
			r.SyntaxValid = &v
			synN++
			if v {
				synV++
			}
		}
		if sb != nil {
			out, err := sb.Check(context.Background(), t, c.Text)
			if err != nil {
				return fmt.Errorf("task %s: sandbox: %w", t.ID, err)
			}
			if out.Ran {
				p := out.Passed
				r.Passed = &p
				ran++
				if p {
					passed++
				}
			}
			r.Reason = out.Reason
		}
		rep.Tasks++
		if r.Exact {
			rep.ExactMatch++
		}
		rep.EditSimilarity += r.EditSimilarity
		lat = append(lat, float64(res.Stats.Total.Microseconds())/1000)
		if res.Stats.Generated > 1 {
			genTok += res.Stats.Generated - 1
			decodeTime += res.Stats.DecodeTime
		}
		if results != nil {
			if err := writeJSON(results, r); err != nil {
				return err
			}
		}
		bar.Add(1)
	}
	n := float64(rep.Tasks)
	rep.ExactMatch = roundMilli(rep.ExactMatch / n)
	rep.EditSimilarity = roundMilli(rep.EditSimilarity / n)
	if synN > 0 {
		rep.SyntaxValid = roundMilli(float64(synV) / float64(synN))
	}
	if ran > 0 {
		p := roundMilli(float64(passed) / float64(ran))
		rep.PassAt1 = &p
		if ran < rep.Tasks {
			fmt.Fprintf(stderr, "pass@1 over the %d of %d tasks whose tests could run\n", ran, rep.Tasks)
		}
	}
	rep.P50ms = roundMilli(percentile(lat, 0.50))
	rep.P99ms = roundMilli(percentile(lat, 0.99))
	if decodeTime > 0 {
		rep.DecodeTokS = roundMilli(float64(genTok) / decodeTime.Seconds())
	}
	if o.json {
		return writeJSON(stdout, rep)
	}
	pass := "not measured"
	if rep.PassAt1 != nil {
		pass = fmt.Sprintf("%.3f", *rep.PassAt1)
	}
	fmt.Fprintf(stdout, "tasks %d  pass@1 %s  exact %.3f  edit-sim %.3f  syntax-valid %.3f  p50 %.1f ms  p99 %.1f ms  decode %.1f tok/s\n",
		rep.Tasks, pass, rep.ExactMatch, rep.EditSimilarity, rep.SyntaxValid, rep.P50ms, rep.P99ms, rep.DecodeTokS)
	return nil
}

// percentile is the nearest-rank percentile of xs (0 for none).
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	k := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(0, min(k, len(s)-1))]
}
