package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
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
		usage: "--set FILE.jsonl[.gz] [--model PATH] [--limit N] [--beams N] [--astguard on|off] [--json] [--out RESULTS.jsonl [--resume]]\n\n" +
			"Reads HumanEval-infilling or SAFIM tasks. --limit N takes a seeded subset (the same N tasks\n" +
			"in every run; the first N of the subsets committed in decode/fimbench/testdata/subsets).\n" +
			"Tests of generated code run only in a sandbox (no network, time and memory limits, a\n" +
			"temporary directory); without one, pass_at_1 is null. A SAFIM task whose reference\n" +
			"solution fails there is not measured; pass_at_1_tasks and syntax_tasks count the tasks\n" +
			"the two rates are over.",
		setup: func(fs *flag.FlagSet) func([]string) error {
			o := benchFIMFlags{}
			o.common(fs)
			fs.IntVar(&o.beams, "beams", 1, "beam width (1: greedy)")
			fs.StringVar(&o.astguard, "astguard", "off", "syntax constraints: on or off")
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
	set, model, astguard, out, order, lang, multiline string
	limit, beams, maxTokens, threads, maxPrompt       int
	beamMargin                                        float64
	json, noExec, resume                              bool
}

// common declares the flags that bench fim and bench astguard share.
func (o *benchFIMFlags) common(fs *flag.FlagSet) {
	fs.StringVar(&o.set, "set", "", "task file (.jsonl or .jsonl.gz)")
	fs.StringVar(&o.model, "model", "", "model file or installed name (default: the default model)")
	fs.IntVar(&o.limit, "limit", 0, "tasks to run, a seeded subset (0: all)")
	fs.StringVar(&o.lang, "lang", "", "only tasks in this language (SAFIM mixes four)")
	fs.StringVar(&o.multiline, "multiline", "auto", "auto (from the cursor), always or never (single-line sets)")
	fs.BoolVar(&o.json, "json", false, "print JSON")
	fs.StringVar(&o.out, "out", "", "write per-task results as JSONL")
	fs.BoolVar(&o.resume, "resume", false, "keep the results already in --out and run only the tasks missing there (an interrupted run goes on; use the same flags)")
	fs.IntVar(&o.maxTokens, "max-tokens", decode.DefaultMaxTokens, "most tokens per completion")
	fs.IntVar(&o.maxPrompt, "max-prompt-tokens", 0, "cap each prompt at N tokens (0: the engine's default budget)")
	fs.StringVar(&o.order, "order", decode.DefaultOrder.String(), "FIM order: spm (suffix first: the prefix cache reuses all but the last tokens) or psm")
	fs.IntVar(&o.threads, "threads", 0, "CPU threads (0: one per core)")
	fs.BoolVar(&o.noExec, "no-exec", false, "do not run tests (pass_at_1 null)")
	fs.Float64Var(&o.beamMargin, "beam-margin", 0, "drop beams more than this many nats behind the best (0: the engine's default, negative: never)")
}

// benchFIMReport is the --json contract of the issue; pass_at_1 is null
// when no task's tests could run.
type benchFIMReport struct {
	Tasks          int      `json:"tasks"`
	PassAt1        *float64 `json:"pass_at_1"`
	ExactMatch     float64  `json:"exact_match"`
	EditSimilarity float64  `json:"edit_similarity"`
	SyntaxValid    *float64 `json:"syntax_valid"` // null: no task's syntax could be judged
	P50ms          float64  `json:"p50_ms"`
	P99ms          float64  `json:"p99_ms"`
	DecodeTokS     float64  `json:"decode_tok_s"`
	// The tasks pass_at_1 and syntax_valid are over: those whose tests
	// ran, and those whose documents parsed.
	PassAt1Tasks int `json:"pass_at_1_tasks"`
	SyntaxTasks  int `json:"syntax_tasks"`
}

type benchFIMTask struct {
	TaskID         string  `json:"task_id"`
	Config         string  `json:"config,omitempty"`
	Lang           string  `json:"lang"`
	Completion     string  `json:"completion"`
	Replace        int     `json:"replace,omitempty"` // bytes of the suffix the completion replaces
	FinishReason   string  `json:"finish_reason"`
	Exact          bool    `json:"exact"`
	EditSimilarity float64 `json:"edit_similarity"`
	SyntaxValid    *bool   `json:"syntax_valid"`
	Passed         *bool   `json:"passed"`
	Reason         string  `json:"reason,omitempty"`
	Ms             float64 `json:"ms"`
	PromptTokens   int     `json:"prompt_tokens"`
	Generated      int     `json:"generated"`
	Tokens         int     `json:"tokens"`    // of the returned completion
	DecodeMs       float64 `json:"decode_ms"` // first generated token to the end
	// PromptMs is bench astguard's untimed prompt computation, shared by
	// the task's three rows.
	PromptMs float64 `json:"prompt_ms,omitempty"`
	// Setup names what else shaped the row (model, set, flags): --resume
	// refuses rows of another setup.
	Setup string `json:"setup,omitempty"`
}

// fimBench is one benchmark run: the tasks, the loaded engine, the
// sandbox and where per-task results go.
type fimBench struct {
	o         benchFIMFlags
	tasks     []fimbench.Task
	multiline decode.Multiline
	l         *decode.Loaded
	sb        *fimbench.Sandbox
	results   io.Writer
	stderr    io.Writer
	closers   []func() error
	// done holds, with --resume, the rows already in --out of each task
	// finished there, in the order of the run's configurations.
	done  map[string][]benchFIMTask
	setup string
	// truth caches, per SAFIM task, why its reference solution fails in
	// this harness ("" when it passes).
	truth map[string]string
}

func (b *fimBench) Close() {
	for _, c := range slices.Backward(b.closers) {
		c()
	}
}

// openFIMBench validates the shared flags, reads the tasks, loads the
// engine and, with --resume, the results of configs already in --out.
func openFIMBench(o benchFIMFlags, configs []fimConfig, stderr io.Writer) (*fimBench, error) {
	if o.set == "" {
		return nil, usageError{"--set FILE.jsonl[.gz] is required"}
	}
	if o.resume && o.out == "" {
		return nil, usageError{"--resume needs --out RESULTS.jsonl"}
	}
	if o.maxTokens < 1 || o.limit < 0 {
		return nil, usageError{"--max-tokens must be at least 1, --limit at least 0"}
	}
	ml, ok := decode.ParseMultiline(o.multiline)
	if !ok {
		return nil, usageError{fmt.Sprintf("--multiline is auto, always or never, not %q", o.multiline)}
	}
	tasks, err := fimbench.ReadTasks(o.set)
	if err != nil {
		return nil, err
	}
	tasks = fimbench.Subset(fimbench.ByLang(tasks, o.lang), o.limit)
	if len(tasks) == 0 {
		return nil, fmt.Errorf("%s holds no tasks (language %q)", o.set, o.lang)
	}
	modelPath, err := resolveModelPath(o.model)
	if err != nil {
		return nil, err
	}
	b := &fimBench{o: o, tasks: tasks, multiline: ml, stderr: stderr, truth: map[string]string{},
		setup: fmt.Sprintf("set=%s model=%s beams=%d astguard=%s max_tokens=%d max_prompt=%d multiline=%s order=%s margin=%g exec=%t",
			filepath.Base(o.set), filepath.Base(modelPath), o.beams, o.astguard, o.maxTokens, o.maxPrompt, o.multiline, o.order, o.beamMargin, !o.noExec)}
	if o.resume {
		if b.done, err = resumeRows(o.out, configs, b.setup); err != nil {
			return nil, err
		}
		n := 0
		for _, t := range tasks {
			if b.done[t.ID] != nil {
				n++
			}
		}
		fmt.Fprintf(stderr, "resuming: %d of %d tasks already in %s\n", n, len(tasks), o.out)
	}
	if !o.noExec {
		if b.sb, err = fimbench.NewSandbox(10*time.Second, 1<<30); err != nil {
			fmt.Fprintf(stderr, "%v; pass_at_1 will be null\n", err)
		} else if !b.sb.Files {
			fmt.Fprintln(stderr, "sandbox: no bubblewrap here, so generated code runs without network but can write wherever this user can (install bubblewrap)")
		}
	}
	opts, err := engineOptions(o.order)
	if err != nil {
		return nil, err
	}
	if b.l, err = loadEngine(modelPath, o.threads, opts); err != nil {
		return nil, err
	}
	b.closers = append(b.closers, b.l.Close)
	if o.out != "" {
		flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		if o.resume {
			flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND
		}
		f, err := os.OpenFile(o.out, flags, 0o644)
		if err != nil {
			b.Close()
			return nil, err
		}
		b.closers = append(b.closers, f.Close)
		b.results = f
	}
	return b, nil
}

// countBar is the progress bar of the commands that work through a count
// of items (the bench commands, complete --batch): n items counted on w
// (stderr), ending its line when done.
func countBar(w io.Writer, n int, what string) *progressbar.ProgressBar {
	return progressbar.NewOptions(n, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }))
}

// fimConfig is one way of decoding: beam width and syntax constraints.
type fimConfig struct {
	name     string
	beams    int
	astguard string
}

// resumed adds the rows of t already in --out to tallies (one per
// configuration) and returns them; nil means t is still to run.
func (b *fimBench) resumed(t fimbench.Task, tallies []fimTally) []benchFIMTask {
	rows := b.done[t.ID]
	for i, r := range rows {
		tallies[i].add(r)
	}
	return rows
}

// resumeRows reads the per-task results already in path for --resume and
// returns, per task id, its rows in the order of configs: only tasks with a
// row for every configuration count as done. Rows of an unfinished task (an
// interrupted run's last one, or a line cut short) are removed from path,
// so that the redone task leaves one row per configuration. A row of a
// configuration this run does not make, or of another setup (model, set,
// flags), means path belongs to another command or flags, and is an error
// rather than data to drop; so is a second row of one task and
// configuration. (Rows without a setup come from builds before it was
// recorded and are taken on trust.)
func resumeRows(path string, configs []fimConfig, setup string) (map[string][]benchFIMTask, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	index := map[string]int{}
	for i, c := range configs {
		index[c.name] = i
	}
	type taskRows struct {
		rows  []benchFIMTask
		lines [][]byte
		n     int
	}
	var order []string
	byTask := map[string]*taskRows{}
	lines := bytes.SplitAfter(data, []byte("\n"))
	for n, line := range lines {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r benchFIMTask
		if err := json.Unmarshal(line, &r); err != nil || r.TaskID == "" {
			if n == len(lines)-1 && !bytes.HasSuffix(line, []byte("\n")) {
				continue // cut short by an interrupted write: redone
			}
			return nil, fmt.Errorf("%s line %d: not a result row", path, n+1)
		}
		i, ok := index[r.Config]
		if !ok {
			return nil, fmt.Errorf("%s line %d: a result of configuration %q, which this run does not make: resume with the flags that wrote it, or use another --out", path, n+1, r.Config)
		}
		if r.Setup != "" && r.Setup != setup {
			return nil, fmt.Errorf("%s line %d: a result of another setup (%s; this run: %s): resume with the flags that wrote it, or use another --out", path, n+1, r.Setup, setup)
		}
		tr := byTask[r.TaskID]
		if tr == nil {
			tr = &taskRows{rows: make([]benchFIMTask, len(configs))}
			byTask[r.TaskID] = tr
			order = append(order, r.TaskID)
		}
		if tr.rows[i].TaskID != "" {
			return nil, fmt.Errorf("%s line %d: a second result of task %s (configuration %q)", path, n+1, r.TaskID, r.Config)
		}
		tr.rows[i] = r
		tr.n++
		tr.lines = append(tr.lines, line)
	}
	done := map[string][]benchFIMTask{}
	var keep bytes.Buffer
	for _, id := range order {
		tr := byTask[id]
		if tr.n == len(configs) {
			done[id] = tr.rows
			for _, l := range tr.lines {
				keep.Write(l)
			}
		}
	}
	if keep.Len() != len(data) {
		if err := replaceFile(path, keep.Bytes()); err != nil {
			return nil, fmt.Errorf("dropping unfinished tasks from %s: %w", path, err)
		}
	}
	return done, nil
}

// replaceFile writes data beside path and renames it over path, so that an
// interruption leaves the old results or the new ones, never a mix.
func replaceFile(path string, data []byte) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".resume")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// run completes t with cfg, scores it and adds it to tally.
func (b *fimBench) run(t fimbench.Task, cfg fimConfig, promptMs float64, tally *fimTally) error {
	req := decode.Request{Prefix: t.Prefix, Suffix: t.Suffix, Language: t.Lang,
		Limits: decode.Limits{MaxTokens: b.o.maxTokens, MaxPromptTokens: b.o.maxPrompt}, Beams: decode.Beams{Width: cfg.beams, N: 1, Margin: b.o.beamMargin},
		Stop: decode.StopRules{Multiline: b.multiline}}
	release, err := withSyntax(cfg.astguard, &req, b.stderr)
	if err != nil {
		return err
	}
	res, err := b.l.Complete(context.Background(), req)
	release()
	if err != nil {
		return fmt.Errorf("task %s: %w", t.ID, err)
	}
	c := res.Completions[0]
	t = t.Replacing(c.Replace) // scored as the document it makes
	r := benchFIMTask{TaskID: t.ID, Config: cfg.name, Lang: t.Lang, Completion: c.Text, Replace: c.Replace, FinishReason: c.FinishReason,
		Exact: fimbench.ExactMatch(c.Text, t.Truth), EditSimilarity: fimbench.EditSimilarity(c.Text, t.Truth),
		Ms: roundMilli(float64(res.Stats.Total.Microseconds()) / 1000), PromptTokens: res.Stats.PromptTokens, Generated: res.Stats.Generated,
		Tokens: len(c.Tokens), DecodeMs: roundMilli(float64(res.Stats.DecodeTime.Microseconds()) / 1000), PromptMs: promptMs}
	if v, ok := fimbench.SyntaxValid(t, c.Text); ok {
		r.SyntaxValid = &v
	}
	r.Setup = b.setup
	if b.sb != nil {
		if r.Passed, r.Reason, err = b.judge(t, c.Text); err != nil {
			return err
		}
	}
	tally.add(r)
	if b.results != nil {
		return writeJSON(b.results, r)
	}
	return nil
}

// judge runs t's tests on completion in the sandbox: passed is nil when
// the task cannot be measured (no toolchain, a reference solution that
// fails here), with the reason.
func (b *fimBench) judge(t fimbench.Task, completion string) (passed *bool, reason string, err error) {
	why, err := b.truthFails(t)
	if err != nil || why != "" {
		return nil, why, err
	}
	out, err := b.sb.Check(context.Background(), t, completion)
	if err != nil {
		return nil, "", fmt.Errorf("task %s: sandbox: %w", t.ID, err)
	}
	if out.Ran {
		passed = &out.Passed
	}
	return passed, out.Reason, nil
}

// truthFails says why t's reference solution does not pass in this
// harness ("" when it passes), once per task: such a task is not measured
// rather than failed, since no completion could pass it (C# tasks written
// for a newer compiler than Debian's mcs, for one). HumanEval's references
// are checked by the tests instead (TestGroundTruthPasses).
func (b *fimBench) truthFails(t fimbench.Task) (string, error) {
	if t.Format != "safim" {
		return "", nil
	}
	if why, ok := b.truth[t.ID]; ok {
		return why, nil
	}
	out, err := b.sb.Check(context.Background(), t, t.Truth)
	if err != nil {
		return "", fmt.Errorf("task %s: sandbox: %w", t.ID, err)
	}
	why := ""
	// A reference that runs out of time says the machine was busy, not
	// that the task cannot be judged: its completions are tested.
	if !out.Passed && !out.TimedOut {
		why = "the reference solution does not pass in this harness (" + out.Reason + "): not measured"
	}
	b.truth[t.ID] = why
	return why, nil
}

// fimTally accumulates per-task results into a report.
type fimTally struct {
	rep                     benchFIMReport
	lat                     []float64
	ran, passed, synN, synV int
	genTok                  int
	decodeTime              time.Duration
	// retTok counts the returned completions' tokens after their first,
	// retTime the decode phases that produced them: beam search decodes
	// more tokens than it returns, and the issue prices it per returned
	// token.
	retTok  int
	retTime time.Duration
	valid   map[string]bool // task id → syntax valid, for comparisons
}

// add counts one task's row; it reads only the row, so that rows read back
// by --resume count as the run's own.
func (t *fimTally) add(r benchFIMTask) {
	if r.SyntaxValid != nil {
		t.synN++
		if *r.SyntaxValid {
			t.synV++
		}
		if t.valid == nil {
			t.valid = map[string]bool{}
		}
		t.valid[r.TaskID] = *r.SyntaxValid
	}
	if r.Passed != nil {
		t.ran++
		if *r.Passed {
			t.passed++
		}
	}
	t.rep.Tasks++
	if r.Exact {
		t.rep.ExactMatch++
	}
	t.rep.EditSimilarity += r.EditSimilarity
	t.lat = append(t.lat, r.Ms)
	decodeTime := time.Duration(r.DecodeMs * float64(time.Millisecond))
	if r.Generated > 1 {
		t.genTok += r.Generated - 1
		t.decodeTime += decodeTime
	}
	if r.Tokens > 1 {
		t.retTok += r.Tokens - 1
		t.retTime += decodeTime
	}
}

// perReturnedToken is the decode phase's wall time per token of the
// returned completions, in milliseconds.
func (t *fimTally) perReturnedToken() float64 {
	if t.retTok == 0 {
		return 0
	}
	return float64(t.retTime.Microseconds()) / 1000 / float64(t.retTok)
}

// report computes the figures; warn hears when pass@1 covers only some
// of the tasks.
func (t *fimTally) report(warn io.Writer) benchFIMReport {
	rep := t.rep
	n := float64(max(rep.Tasks, 1))
	rep.ExactMatch = roundMilli(rep.ExactMatch / n)
	rep.EditSimilarity = roundMilli(rep.EditSimilarity / n)
	rep.PassAt1Tasks, rep.SyntaxTasks = t.ran, t.synN
	if t.synN > 0 {
		v := roundMilli(float64(t.synV) / float64(t.synN))
		rep.SyntaxValid = &v
	}
	if t.ran > 0 {
		p := roundMilli(float64(t.passed) / float64(t.ran))
		rep.PassAt1 = &p
		if t.ran < rep.Tasks {
			fmt.Fprintf(warn, "pass@1 over the %d of %d tasks whose tests could run\n", t.ran, rep.Tasks)
		}
	}
	rep.P50ms = roundMilli(percentile(t.lat, 0.50))
	rep.P99ms = roundMilli(percentile(t.lat, 0.99))
	if t.decodeTime > 0 {
		rep.DecodeTokS = roundMilli(float64(t.genTok) / t.decodeTime.Seconds())
	}
	return rep
}

func (r benchFIMReport) String() string {
	ratio := func(v *float64, n int) string {
		if v == nil {
			return "not measured"
		}
		return fmt.Sprintf("%.3f (of %d)", *v, n)
	}
	return fmt.Sprintf("tasks %d  pass@1 %s  exact %.3f  edit-sim %.3f  syntax-valid %s  p50 %.1f ms  p99 %.1f ms  decode %.1f tok/s",
		r.Tasks, ratio(r.PassAt1, r.PassAt1Tasks), r.ExactMatch, r.EditSimilarity, ratio(r.SyntaxValid, r.SyntaxTasks), r.P50ms, r.P99ms, r.DecodeTokS)
}

func runBenchFIM(o benchFIMFlags, stdout, stderr io.Writer) error {
	if o.beams < 1 {
		return usageError{"--beams must be at least 1"}
	}
	if o.astguard != "on" && o.astguard != "off" {
		return usageError{fmt.Sprintf("--astguard is on or off, not %q", o.astguard)}
	}
	cfg := fimConfig{beams: o.beams, astguard: o.astguard}
	b, err := openFIMBench(o, []fimConfig{cfg}, stderr)
	if err != nil {
		return err
	}
	defer b.Close()
	tally := make([]fimTally, 1)
	bar := countBar(b.stderr, len(b.tasks), "bench fim")
	for _, t := range b.tasks {
		if b.resumed(t, tally) == nil {
			if err := b.run(t, cfg, 0, &tally[0]); err != nil {
				return err
			}
		}
		bar.Add(1)
	}
	rep := tally[0].report(stderr)
	if o.json {
		return writeJSON(stdout, rep)
	}
	fmt.Fprintln(stdout, rep)
	return nil
}

func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	k := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(0, min(k, len(s)-1))]
}
