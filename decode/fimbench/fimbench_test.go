package fimbench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMetrics(t *testing.T) {
	for _, tc := range []struct {
		got, want string
		exact     bool
		sim       float64
	}{
		{"return x\n", "return x", true, 1},
		{"return x  ", "return x\n\n", true, 1},
		{"return y", "return x", false, 1 - 1.0/8},
		{"", "", true, 1},
		{"", "abcd", false, 0},
		{"héllo", "hello", false, 0.8}, // code points, not bytes
		{"  return x", "return x", false, 0.8},
	} {
		if e := ExactMatch(tc.got, tc.want); e != tc.exact {
			t.Errorf("ExactMatch(%q, %q) = %v", tc.got, tc.want, e)
		}
		if s := EditSimilarity(tc.got, tc.want); s < tc.sim-1e-9 || s > tc.sim+1e-9 {
			t.Errorf("EditSimilarity(%q, %q) = %v, want %v", tc.got, tc.want, s, tc.sim)
		}
	}
}

const heLine = `{"task_id": "SingleLineInfilling/HumanEval/0/L0", "entry_point": "add", "prompt": "def add(a, b):\n", "suffix": "\n", "canonical_solution": "    return a + b\n", "test": "def check(candidate):\n    assert candidate(1, 2) == 3\n"}`
const safimLine = `{"lang": "python", "prompt": "instr", "eval_prompt": "a, b = map(int, input().split())\n{{completion}}\n", "ground_truth": "print(a + b)", "unit_tests": [{"input": "1 2", "output": ["3"]}, {"input": "5 5", "output": ["10\n"]}], "task_id": "block_completion_1"}`

func TestParseTasks(t *testing.T) {
	tasks, err := parseTasks(strings.NewReader(heLine+"\n\n"+safimLine+"\n"), "x.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 2 {
		t.Fatalf("%d tasks", len(tasks))
	}
	he, sf := tasks[0], tasks[1]
	if he.Format != "humaneval" || he.Prefix != "def add(a, b):\n" || he.Truth != "    return a + b\n" || he.EntryPoint != "add" {
		t.Errorf("humaneval task %+v", he)
	}
	if sf.Format != "safim" || sf.Lang != "python" || sf.Prefix != "a, b = map(int, input().split())\n" || sf.Suffix != "\n" ||
		len(sf.UnitTests) != 2 || len(sf.UnitTests[1].Outputs) != 1 || sf.UnitTests[1].Outputs[0] != "10\n" {
		t.Errorf("safim task %+v", sf)
	}
	for _, bad := range []string{`{"task_id": "x"}`, `{"task_id": "x", "lang": "cobol", "eval_prompt": "{{completion}}"}`,
		`{"task_id": "x", "lang": "python", "eval_prompt": "no hole"}`, `not json`, heLine + "\n" + heLine} {
		if _, err := parseTasks(strings.NewReader(bad), "bad.jsonl"); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestSubsetIsStable(t *testing.T) {
	var tasks []Task
	for _, id := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		tasks = append(tasks, Task{ID: id})
	}
	s1 := Subset(tasks, 3)
	rev := make([]Task, len(tasks))
	for i := range tasks {
		rev[len(tasks)-1-i] = tasks[i]
	}
	s2 := Subset(rev, 3)
	for i := range s1 {
		if s1[i].ID != s2[i].ID {
			t.Fatalf("subset depends on file order: %v vs %v", s1, s2)
		}
	}
	if got := Subset(tasks, 0); len(got) != len(tasks) {
		t.Error("limit 0 must keep every task")
	}
}

func TestSyntaxValid(t *testing.T) {
	task := Task{Lang: "python", Prefix: "def f(x):\n    return ", Suffix: "\n", Truth: "x + 1"}
	if v, ok := SyntaxValid(task, "x * 2"); !ok || !v {
		t.Errorf("valid completion judged %v %v", v, ok)
	}
	if v, ok := SyntaxValid(task, "x +* (("); !ok || v {
		t.Errorf("broken completion judged %v %v", v, ok)
	}
	// A completion the parser refuses (a NUL byte) is invalid, not left
	// out of the rate.
	if v, ok := SyntaxValid(task, "x\x00"); !ok || v {
		t.Errorf("completion with a NUL judged %v %v", v, ok)
	}
}

// A compiler stopped at the wall-clock limit leaves the task not measured
// and says it timed out (the reference's own check relies on that).
func TestCompiledTimeout(t *testing.T) {
	o, failed := compiled(RunResult{ExitCode: -1, TimedOut: true})
	if !failed || o.Ran || !o.TimedOut {
		t.Errorf("compiler timed out: %+v", o)
	}
	if o, failed := compiled(RunResult{ExitCode: 1}); !failed || !o.Ran || o.TimedOut {
		t.Errorf("compile error: %+v", o)
	}
}

func TestMissingTool(t *testing.T) {
	if got := missing("sh", "ghostline-no-such-tool"); got != "ghostline-no-such-tool" {
		t.Errorf("missing = %q", got)
	}
	if got := missing("sh"); got != "" {
		t.Errorf("sh reported missing")
	}
}

func sandbox(t *testing.T) *Sandbox {
	s, err := NewSandbox(5*time.Second, 1<<30)
	if err != nil {
		t.Skipf("no sandbox here: %v", err)
	}
	return s
}

func TestSandboxChecks(t *testing.T) {
	s := sandbox(t)
	ctx := context.Background()
	tasks, err := parseTasks(strings.NewReader(heLine+"\n"+safimLine), "x")
	if err != nil {
		t.Fatal(err)
	}
	he, sf := tasks[0], tasks[1]
	outside := filepath.Join(t.TempDir(), "escaped")
	type check struct {
		name   string
		task   Task
		compl  string
		passed bool
		reason string
	}
	cases := []check{
		{"humaneval truth", he, he.Truth, true, ""},
		{"humaneval wrong", he, "    return a - b\n", false, "exit"},
		{"safim truth", sf, sf.Truth, true, ""},
		{"safim wrong output", sf, "print(a * b)", false, "wrong output"},
		{"infinite loop", he, "    while True: pass\n", false, "time limit"},
		{"no network", he, "    import socket; socket.create_connection(('1.1.1.1', 53), timeout=2); return a + b\n", false, "exit"},
		{"memory limit", he, "    x = bytearray(3 << 30); return a + b\n", false, "exit"},
		{"exit(0) is not a pass", he, "    import sys; sys.exit(0)\n", false, "exited before the tests ran"},
	}
	// A process left running: bubblewrap's PID namespace ends it with the
	// program (which passed); without it, the run fails rather than wait.
	leftBehind := check{"a process left behind", he, "    import subprocess; subprocess.Popen(['sleep', '30']); return a + b\n", false, "exit"}
	if s.Files {
		leftBehind.passed, leftBehind.reason = true, ""
	}
	cases = append(cases, leftBehind)
	// A folder of the host outside /tmp (which the sandbox replaces), so
	// that the program could reach it if the file system were writable.
	hostDir, err := os.MkdirTemp(".", "zz-sandbox-escape-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(hostDir)
	hostFile, _ := filepath.Abs(filepath.Join(hostDir, "escaped"))
	if s.Files {
		cases = append(cases,
			check{"files outside its directory are read-only", he, "    open(" + strconv.Quote(outside) + ", 'w').write('x'); return a + b\n", false, "exit"},
			// Run as root, bwrap keeps root's capabilities unless told not
			// to, and / could be remounted writable.
			check{"no remounting / writable", he, "    import subprocess; subprocess.run(['mount', '-o', 'remount,bind,rw', '/'], capture_output=True); open(" +
				strconv.Quote(hostFile) + ", 'w').write('x'); return a + b\n", false, "exit"})
	} else {
		t.Log("no bubblewrap here: the file system is not protected, not tested")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			o, err := s.Check(ctx, tc.task, tc.compl)
			if err != nil {
				t.Fatal(err)
			}
			if !o.Ran || o.Passed != tc.passed || !strings.Contains(o.Reason, tc.reason) {
				t.Errorf("outcome %+v, want passed=%v reason ~%q", o, tc.passed, tc.reason)
			}
			if o.TimedOut != (tc.reason == "time limit") {
				t.Errorf("TimedOut = %v for %+v", o.TimedOut, o)
			}
			if time.Since(start) > 15*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
	for _, f := range []string{outside, hostFile} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("a program wrote outside its directory: %s", f)
		}
	}
}

// SAFIM's judge: lines stripped, else tokens with numbers within 1e-12
// and yes/no/true/false in any case.
func TestOutputsMatch(t *testing.T) {
	for _, tc := range []struct {
		got, want string
		ok        bool
	}{
		{"3\n", "3", true},
		{"  a b  \r\n c\n\n", "a b\nc", true},
		{"14\n4\n4\n15\n", "14 4 4 15", true}, // one per line against one line: tokens match
		{"NO\n", "No", true},
		{"YES", "yes", true},
		{"True", "TRUE", true},
		{"Maybe", "maybe", false}, // other words keep their case
		{"0.3333333333333333", "0.333333333333333333", true},
		{"0.3334", "0.3333", false},
		{"12345678901234567891", "12345678901234567890", false}, // 129 bits: exact for 64-bit integers
		{"1e3", "1000", true},
		{"inf", "inf", true},
		{"inf", "1", false},
		{"1 2", "1 2 3", false},
		{"", "", true},
		{"", "0", false},
	} {
		if got := OutputsMatch(tc.got, tc.want); got != tc.ok {
			t.Errorf("OutputsMatch(%q, %q) = %v, want %v", tc.got, tc.want, got, tc.ok)
		}
	}
}

// TestGroundTruthPasses runs the shared sets' reference solutions (a few
// per language) through the sandbox: the harness must accept them.
func TestGroundTruthPasses(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles C++ and Java")
	}
	// The reference solutions must pass; how fast a loaded machine starts
	// a JVM is not what this checks, so the limit is generous.
	s, err := NewSandbox(60*time.Second, 1<<30)
	if err != nil {
		t.Skipf("no sandbox here: %v", err)
	}
	dir := filepath.Join("..", "..", "..", "shared", "bench")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("../shared/bench is absent")
	}
	he, err := ReadTasks(filepath.Join(dir, "humaneval-infilling", "HumanEval-SingleLineInfilling.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	sf, err := ReadTasks(filepath.Join(dir, "safim", "block_completion.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if len(he) != 1033 || len(sf) != 8781 {
		t.Errorf("%d HumanEval and %d SAFIM tasks, want 1033 and 8781 (as ../shared/README.md says)", len(he), len(sf))
	}
	picked := Subset(he, 3)
	per := map[string]int{}
	for _, t := range Subset(sf, 400) {
		if per[t.Lang] < 2 && t.Lang != "csharp" {
			per[t.Lang]++
			picked = append(picked, t)
		}
	}
	for _, task := range picked {
		o, err := s.Check(context.Background(), task, task.Truth)
		if err != nil {
			t.Fatal(err)
		}
		if !o.Passed {
			t.Errorf("%s (%s): the ground truth fails: %s", task.ID, task.Lang, o.Reason)
		}
	}
}

// FuzzParseTasks: malformed task files give errors, never panics.
func FuzzParseTasks(f *testing.F) {
	f.Add(heLine)
	f.Add(safimLine)
	f.Add(`{"task_id": "x", "lang": "cpp", "eval_prompt": "a{{completion}}b{{completion}}", "unit_tests": [{"input": "", "output": []}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		tasks, err := parseTasks(strings.NewReader(s), "fuzz")
		if err != nil {
			return
		}
		for _, tk := range tasks {
			if tk.ID == "" || (tk.Format != "humaneval" && tk.Format != "safim") {
				t.Fatalf("task %+v accepted", tk)
			}
		}
	})
}

// A program killed by a signal reads the same in both sandbox modes
// (bubblewrap reports it as exit 128+n): ExitCode -1, which leaves a
// compile step not measured rather than blamed on the completion.
func TestRunKilledBySignal(t *testing.T) {
	s := sandbox(t)
	if !s.Files {
		// In unshare's PID namespace the program is its init, which a
		// signal from inside does not kill: nothing to map.
		t.Skip("no bubblewrap here")
	}
	r, err := s.Run(context.Background(), t.TempDir(), "", 0, 5*time.Second, "sh", "-c", "kill -9 $$")
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode != -1 || r.TimedOut {
		t.Errorf("killed by SIGKILL: %+v, want exit -1, not timed out", r)
	}
	if o, failed := compiled(r); !failed || o.Ran {
		t.Errorf("a compiler killed by a signal: %+v, want not measured", o)
	}
	r, err = s.Run(context.Background(), t.TempDir(), "", 0, 5*time.Second, "sh", "-c", "exit 3")
	if err != nil || r.ExitCode != 3 {
		t.Errorf("exit 3: %+v, %v", r, err)
	}
}

// Without bubblewrap, the unshare fallback runs the program in its own PID
// namespace: a process it detached (setsid) dies with it rather than live
// on and write after the run.
func TestUnshareFallbackEndsDetachedProcesses(t *testing.T) {
	u, err := exec.LookPath("unshare")
	p, perr := exec.LookPath("prlimit")
	if err != nil || perr != nil {
		t.Skip("no unshare or prlimit here")
	}
	opts := []string{"-rn", "--pid", "--fork", "--kill-child", "--mount-proc"}
	if exec.Command(u, append(opts, "true")...).Run() != nil {
		t.Skip("unshare --pid refused here")
	}
	s := &Sandbox{Timeout: 5 * time.Second, MemoryBytes: 1 << 30, unshare: append([]string{u}, opts...), prlimit: p}
	dir := t.TempDir()
	r, err := s.Run(context.Background(), dir, "", 0, 0, "sh", "-c", `(setsid sh -c "sleep 1; touch late" >/dev/null 2>&1 </dev/null) & exit 0`)
	if err != nil || r.ExitCode != 0 {
		t.Fatalf("run: %+v, %v", r, err)
	}
	time.Sleep(2 * time.Second)
	if _, err := os.Stat(filepath.Join(dir, "late")); err == nil {
		t.Error("a detached process outlived the run")
	}
}

// TestReplacing: a completion that replaces the closers after the hole is
// scored on the document it makes: exact when that is the reference
// document, and syntax-checked with the suffix it leaves.
func TestReplacing(t *testing.T) {
	task := Task{Lang: "go", Prefix: "package p\n\nfunc f(name string) {\n\tprintln(", Suffix: ")\n}\n", Truth: `"hi", name`}
	for _, tc := range []struct {
		completion string
		replace    int
		exact      bool
	}{
		{`"hi", name`, 0, true},
		{`"hi", name)`, 1, true},
		{`"hi", nam)`, 1, false},
		{`"hi", name)`, 0, false},
		{`"hi", name)`, 99, false}, // more than the suffix: all of it
	} {
		r := task.Replacing(tc.replace)
		if r.Prefix+r.Truth+r.Suffix != task.Prefix+task.Truth+task.Suffix {
			t.Errorf("Replacing(%d) changed the reference document", tc.replace)
		}
		if got := ExactMatch(tc.completion, r.Truth); got != tc.exact {
			t.Errorf("%q replacing %d: exact %v, want %v", tc.completion, tc.replace, got, tc.exact)
		}
	}
	if v, ok := SyntaxValid(task.Replacing(1), `"hi", name)`); !ok || !v {
		t.Errorf("a completion writing the closer it replaces: syntax valid %v (ok %v)", v, ok)
	}
	if v, ok := SyntaxValid(task, `"hi", name)`); !ok || v {
		t.Errorf("the same completion inserted before it: syntax valid %v (ok %v)", v, ok)
	}
}
