package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/ghostline-dev/ghostline/decode"
)

func init() {
	register(&command{
		name:    "bench astguard",
		summary: "syntax validity and pass@1 of greedy, beam 4 and beam 4 with astguard on the same tasks",
		usage: "--set FILE.jsonl[.gz] [--model PATH] [--limit N] [--lang L] [--json] [--out RESULTS.jsonl [--resume]]\n\n" +
			"Runs each task three ways in one process: greedy, beam 4 without constraints, beam 4 with\n" +
			"astguard's syntax constraints (the survey's before → after). Each task's prompt is computed\n" +
			"once first (prompt_ms) and the three completions reuse it from the prefix cache, so their\n" +
			"latencies compare decoding alone. invalid_fixed is the share of the tasks that beam 4 leaves\n" +
			"syntax-invalid which beam 4 with astguard gets valid.",
		setup: func(fs *flag.FlagSet) func([]string) error {
			o := benchFIMFlags{}
			o.common(fs)
			return func(args []string) error {
				if len(args) > 0 {
					return usageError{fmt.Sprintf("unexpected argument %q", args[0])}
				}
				return runBenchAstguard(o, os.Stdout, os.Stderr)
			}
		},
	})
}

// astguardConfigs are the survey's three columns.
var astguardConfigs = []fimConfig{
	{name: "greedy", beams: 1, astguard: "off"},
	{name: "beam4", beams: 4, astguard: "off"},
	{name: "beam4_astguard", beams: 4, astguard: "on"},
}

type benchAstguardReport struct {
	Tasks         int            `json:"tasks"`
	PromptP50ms   float64        `json:"prompt_p50_ms"`
	Greedy        benchFIMReport `json:"greedy"`
	Beam4         benchFIMReport `json:"beam4"`
	Beam4Astguard benchFIMReport `json:"beam4_astguard"`
	// InvalidFixed: of the tasks beam 4 leaves invalid, the share valid
	// with astguard (null when beam 4 left none invalid).
	InvalidFixed *float64 `json:"invalid_fixed"`
	// LatencyOverhead: p50 latency of beam 4 with astguard over beam 4
	// without, minus one.
	LatencyOverhead float64 `json:"latency_overhead"`
	// Beam4TokenCost: beam 4's decode time per returned token over
	// greedy's (the decoding issue's ≤ 1.6× target).
	Beam4TokenCost float64 `json:"beam4_token_cost"`
}

func runBenchAstguard(o benchFIMFlags, stdout, stderr io.Writer) error {
	b, err := openFIMBench(o, astguardConfigs, stderr)
	if err != nil {
		return err
	}
	defer b.Close()
	tallies := make([]fimTally, len(astguardConfigs))
	var promptMs []float64
	bar := countBar(b.stderr, len(b.tasks), "bench astguard")
	for _, t := range b.tasks {
		if rows := b.resumed(t, tallies); rows != nil {
			if ms := rows[0].PromptMs; ms > 0 {
				promptMs = append(promptMs, ms)
			}
			bar.Add(1)
			continue
		}
		// Compute the prompt once, untimed by the configurations: all
		// three then start from the same cached prompt.
		res, err := b.l.Complete(context.Background(), decode.Request{Prefix: t.Prefix, Suffix: t.Suffix, Language: t.Lang,
			Limits: decode.Limits{MaxTokens: 1, MaxPromptTokens: o.maxPrompt}})
		if err != nil {
			return fmt.Errorf("task %s: %w", t.ID, err)
		}
		ms := roundMilli(float64(res.Stats.Total.Microseconds()) / 1000)
		promptMs = append(promptMs, ms)
		for i, cfg := range astguardConfigs {
			if err := b.run(t, cfg, ms, &tallies[i]); err != nil {
				return err
			}
		}
		bar.Add(1)
	}
	rep := benchAstguardReport{Tasks: len(b.tasks), PromptP50ms: roundMilli(percentile(promptMs, 0.5)),
		Greedy: tallies[0].report(stderr), Beam4: tallies[1].report(stderr), Beam4Astguard: tallies[2].report(stderr)}
	invalid, fixed := 0, 0
	for id, v := range tallies[1].valid {
		if !v {
			invalid++
			if tallies[2].valid[id] {
				fixed++
			}
		}
	}
	if invalid > 0 {
		f := roundMilli(float64(fixed) / float64(invalid))
		rep.InvalidFixed = &f
	}
	if g := tallies[0].perReturnedToken(); g > 0 {
		rep.Beam4TokenCost = roundMilli(tallies[1].perReturnedToken() / g)
	}
	if rep.Beam4.P50ms > 0 {
		rep.LatencyOverhead = roundMilli(rep.Beam4Astguard.P50ms/rep.Beam4.P50ms - 1)
	}
	if o.json {
		return writeJSON(stdout, rep)
	}
	fmt.Fprintf(stdout, "tasks %d  prompt p50 %.1f ms\n", rep.Tasks, rep.PromptP50ms)
	for i, r := range []benchFIMReport{rep.Greedy, rep.Beam4, rep.Beam4Astguard} {
		fmt.Fprintf(stdout, "%-15s %s\n", astguardConfigs[i].name, r)
	}
	fixedS := "n/a (beam 4 left no invalid completion)"
	if rep.InvalidFixed != nil {
		fixedS = fmt.Sprintf("%.3f", *rep.InvalidFixed)
	}
	fmt.Fprintf(stdout, "invalid fixed by astguard %s  latency overhead %+.1f%%  beam 4 cost per token %.2f× greedy\n",
		fixedS, 100*rep.LatencyOverhead, rep.Beam4TokenCost)
	return nil
}
