package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/ghostline-dev/ghostline/decode/fimbench"
)

func init() {
	register(&command{
		name:    "bench rejudge",
		summary: "run the tests of completions already in a bench results file again, with this build's harness",
		usage: "--set FILE.jsonl[.gz] --out RESULTS.jsonl [--json]\n\n" +
			"Reads the rows of bench fim or bench astguard in RESULTS.jsonl, runs each completion's\n" +
			"tests again in the sandbox (a completion shared by several rows runs once), rewrites the\n" +
			"rows' passed and reason fields, and prints pass@1 per configuration. When the harness\n" +
			"changes (how outputs are judged, which tasks can be measured), the figures of a long run\n" +
			"follow without decoding anything again.",
		setup: func(fs *flag.FlagSet) func([]string) error {
			set := fs.String("set", "", "task file the results were made on (.jsonl or .jsonl.gz)")
			out := fs.String("out", "", "results file to judge again (JSONL rows of bench fim or bench astguard)")
			asJSON := fs.Bool("json", false, "print JSON")
			return func(args []string) error {
				if len(args) > 0 {
					return usageError{fmt.Sprintf("unexpected argument %q", args[0])}
				}
				return runBenchRejudge(*set, *out, *asJSON, os.Stdout, os.Stderr)
			}
		},
	})
}

// rejudgeReport is pass@1 per configuration ("" for bench fim's rows),
// with the other figures of the rows as they were.
type rejudgeReport struct {
	Configs map[string]benchFIMReport `json:"configs"`
	Changed int                       `json:"changed"` // rows whose verdict changed
}

func runBenchRejudge(set, out string, asJSON bool, stdout, stderr io.Writer) error {
	if set == "" || out == "" {
		return usageError{"--set and --out are required"}
	}
	tasks, err := fimbench.ReadTasks(set)
	if err != nil {
		return err
	}
	byID := map[string]fimbench.Task{}
	for _, t := range tasks {
		byID[t.ID] = t
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	var rows []benchFIMTask
	for n, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r benchFIMTask
		if err := json.Unmarshal(line, &r); err != nil || r.TaskID == "" {
			return fmt.Errorf("%s line %d: not a result row", out, n+1)
		}
		if _, ok := byID[r.TaskID]; !ok {
			return fmt.Errorf("%s line %d: task %s is not in %s", out, n+1, r.TaskID, set)
		}
		rows = append(rows, r)
	}
	sb, err := fimbench.NewSandbox(0, 1<<30)
	if err != nil {
		return err
	}
	b := &fimBench{sb: sb, truth: map[string]string{}}
	type verdict struct {
		passed *bool
		reason string
	}
	seen := map[[2]string]verdict{} // (task, completion) → verdict
	rep := rejudgeReport{Configs: map[string]benchFIMReport{}}
	tallies := map[string]*fimTally{}
	var order []string
	bar := countBar(stderr, len(rows), "bench rejudge")
	for i := range rows {
		r := &rows[i]
		t := byID[r.TaskID]
		k := [2]string{r.TaskID, r.Completion}
		v, ok := seen[k]
		if !ok {
			if v.passed, v.reason, err = b.judge(t, r.Completion); err != nil {
				return err
			}
			seen[k] = v
		}
		if (r.Passed == nil) != (v.passed == nil) || (r.Passed != nil && *r.Passed != *v.passed) {
			rep.Changed++
		}
		r.Passed, r.Reason = v.passed, v.reason
		if tallies[r.Config] == nil {
			tallies[r.Config] = &fimTally{}
			order = append(order, r.Config)
		}
		tallies[r.Config].add(*r)
		bar.Add(1)
	}
	var buf bytes.Buffer
	for _, r := range rows {
		if err := writeJSON(&buf, r); err != nil {
			return err
		}
	}
	if err := replaceFile(out, buf.Bytes()); err != nil {
		return fmt.Errorf("rewriting %s: %w", out, err)
	}
	for _, c := range order {
		rep.Configs[c] = tallies[c].report(stderr)
	}
	if asJSON {
		return writeJSON(stdout, rep)
	}
	for _, c := range order {
		name := c
		if name == "" {
			name = "(bench fim)"
		}
		fmt.Fprintf(stdout, "%s: %s\n", name, rep.Configs[c])
	}
	fmt.Fprintf(stdout, "%d verdicts changed\n", rep.Changed)
	return nil
}
