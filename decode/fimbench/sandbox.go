package fimbench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Sandbox runs untrusted programs: each in a fresh temporary directory
// (its working directory, HOME and TMPDIR), without network, under
// resource limits set with prlimit (address space, CPU seconds, file
// size), killed with everything it started at the wall-clock limit.
// Where bubblewrap is installed (Debian: bubblewrap) the program also sees
// the file system read-only except its directory, with no capabilities
// (root's included) and an empty /run (no host sockets), in its own PID
// namespace (bwrap --unshare-all); NewSandbox checks that a write outside
// the directory fails. Elsewhere it runs in new user, network and PID
// namespaces (unshare -rn --pid, or -rn alone where PID namespaces are
// refused), and can write wherever its user can (Files is false: the
// benchmarks say so). Generated code never runs any other way: NewSandbox
// fails when neither is available, and the benchmark then reports pass@1
// as not measured.
//
// Not covered: the machine's total processes and memory (no cgroup: a fork
// bomb may exhaust PIDs until the wall-clock limit), and code that sets out
// to fool the HumanEval pass marker by reading its own source. The
// benchmarks run a model's completions, not an adversary's.
type Sandbox struct {
	Timeout     time.Duration // wall clock per run
	MemoryBytes int64         // address space per process
	Files       bool          // the file system is protected (bubblewrap)
	bwrap       string
	unshare     []string // unshare and its options
	prlimit     string
}

// outputCap bounds what a program may print: a runaway loop must not
// exhaust memory.
const outputCap = 1 << 20

// NewSandbox checks that bubblewrap, or else unshare, and prlimit work
// here.
func NewSandbox(timeout time.Duration, memoryBytes int64) (*Sandbox, error) {
	s := &Sandbox{Timeout: timeout, MemoryBytes: memoryBytes}
	var err error
	if s.prlimit, err = exec.LookPath("prlimit"); err != nil {
		return nil, fmt.Errorf("sandbox: prlimit not found (util-linux): generated code cannot be resource-limited")
	}
	if p, err := exec.LookPath("bwrap"); err == nil && bwrapHolds(p, s.prlimit) {
		s.bwrap, s.Files = p, true
		return s, nil
	}
	u, err := exec.LookPath("unshare")
	if err != nil {
		return nil, fmt.Errorf("sandbox: neither bwrap (bubblewrap) nor unshare (util-linux) found: generated code cannot be isolated")
	}
	var out []byte
	for _, opts := range [][]string{{"-rn", "--pid", "--fork", "--kill-child", "--mount-proc"}, {"-rn"}} {
		out, err = exec.Command(u, append(opts, s.prlimit, "--cpu=1", "--", "true")...).CombinedOutput()
		if err == nil {
			s.unshare = append([]string{u}, opts...)
			return s, nil
		}
	}
	return nil, fmt.Errorf("sandbox: unshare -rn fails here (%v: %s): no network isolation", err, bytes.TrimSpace(out))
}

// writeProbe is a file bwrapHolds tries to create outside the sandbox's
// directory (after trying to remount / writable): it must fail.
const writeProbe = "/.ghostline-sandbox-probe"

// bwrapHolds reports whether bubblewrap runs here and keeps a program from
// writing outside its directory. (Run as root without --cap-drop, bwrap
// would keep every capability, and the program could remount / writable.)
func bwrapHolds(bwrap, prlimit string) bool {
	dir, err := os.MkdirTemp("", "ghostline-probe-*")
	if err != nil {
		return false
	}
	defer os.RemoveAll(dir)
	script := "mount -o remount,bind,rw / 2>/dev/null; touch " + writeProbe + " 2>/dev/null && exit 1; exit 0"
	err = exec.Command(bwrap, append(bwrapArgs(dir), prlimit, "--cpu=2", "--", "sh", "-c", script)...).Run()
	if _, serr := os.Lstat(writeProbe); serr == nil {
		os.Remove(writeProbe)
		return false
	}
	return err == nil
}

// bwrapArgs: the whole file system read-only, fresh /dev, /proc and /tmp,
// an empty /run (where host sockets live), dir writable and current; no
// network, no capabilities, its own PID namespace (so nothing outlives the
// run), killed with its parent.
func bwrapArgs(dir string) []string {
	args := []string{"--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"}
	if fi, err := os.Stat("/run"); err == nil && fi.IsDir() {
		args = append(args, "--tmpfs", "/run")
	}
	return append(args, "--bind", dir, dir, "--chdir", dir, "--unshare-all", "--cap-drop", "ALL",
		"--die-with-parent", "--new-session", "--")
}

// RunResult is one program run.
type RunResult struct {
	Stdout   string
	Stderr   string
	ExitCode int
	TimedOut bool
}

// Run runs argv in dir with stdin, under the sandbox's limits (mem
// overrides MemoryBytes when > 0, for runtimes such as the JVM that
// reserve address space up front).
func (s *Sandbox) Run(ctx context.Context, dir, stdin string, mem int64, timeout time.Duration, argv ...string) (RunResult, error) {
	if mem <= 0 {
		mem = s.MemoryBytes
	}
	if timeout <= 0 {
		timeout = s.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cpu := int(timeout.Seconds()) + 1
	limited := append([]string{s.prlimit, fmt.Sprintf("--as=%d", mem), fmt.Sprintf("--cpu=%d", cpu), fmt.Sprintf("--fsize=%d", 64<<20), "--"}, argv...)
	var cmd *exec.Cmd
	if s.bwrap != "" {
		cmd = exec.CommandContext(ctx, s.bwrap, append(bwrapArgs(dir), limited...)...)
	} else {
		cmd = exec.CommandContext(ctx, s.unshare[0], append(slices.Clone(s.unshare[1:]), limited...)...)
	}
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + sandboxPath(), "HOME=" + dir, "TMPDIR=" + dir, "LANG=C.UTF-8",
		"PYTHONDONTWRITEBYTECODE=1", "PYTHONHASHSEED=0"}
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr capped
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if cmd.Process != nil {
		// Whatever the program left running in its group goes too.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	r := RunResult{Stdout: stdout.String(), Stderr: stderr.String(), TimedOut: ctx.Err() != nil}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.Is(err, exec.ErrWaitDelay):
		// It exited, but a process it started kept its output open: a
		// failed run, not a failure of the benchmark.
		r.ExitCode = -1
		r.Stderr += "\n(the program left processes running)"
	case errors.As(err, &ee):
		r.ExitCode = ee.ExitCode() // -1: killed by a signal
		if s.bwrap != "" && r.ExitCode > 128 {
			// bwrap passes a signal's death on as exit 128+n: the same
			// event as -1 without it (a compiler stopped by RLIMIT_CPU).
			r.Stderr += fmt.Sprintf("\n(killed by signal %d)", r.ExitCode-128)
			r.ExitCode = -1
		}
	case r.TimedOut:
		r.ExitCode = -1
	default:
		return r, err
	}
	return r, nil
}

// sandboxPath is the PATH programs run with: the system's directories,
// after GHOSTLINE_PYTHON_PATH when set (a Python with the tasks' packages).
func sandboxPath() string {
	path := "/usr/local/bin:/usr/bin:/bin"
	if py := os.Getenv("GHOSTLINE_PYTHON_PATH"); py != "" {
		path = py + ":" + path
	}
	return path
}

// missing names the first of tools not found on the sandbox's PATH (the
// one the programs run with, not the caller's), or "".
func missing(tools ...string) string {
	for _, t := range tools {
		found := false
		for _, d := range filepath.SplitList(sandboxPath()) {
			if fi, err := os.Stat(filepath.Join(d, t)); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
				found = true
				break
			}
		}
		if !found {
			return t
		}
	}
	return ""
}

type capped struct{ bytes.Buffer }

func (c *capped) Write(p []byte) (int, error) {
	if room := outputCap - c.Len(); room > 0 {
		c.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// Limits for one test program. Why: HumanEval's and SAFIM's reference
// solutions finish in well under a second; 10 s leaves room for a slow
// machine, and 1 GiB of address space for Python or C++ is more than the
// tasks need while stopping a runaway allocation. The JVM reserves its
// heap and code cache up front, so it gets its own, larger bound.
const (
	runTimeout     = 10 * time.Second
	compileTimeout = 60 * time.Second
	memNative      = 1 << 30
	memJVM         = 4 << 30
)

// Outcome of running a task's tests on a completion.
type Outcome struct {
	Ran    bool   // false: not measured (no toolchain for the language)
	Passed bool   // all tests passed
	Reason string // why not, for the results file
	// TimedOut: the tests ran out of time, which on a busy machine says
	// more about the machine than about the code.
	TimedOut bool
}

var javaClass = regexp.MustCompile(`public\s+(?:final\s+)?class\s+([A-Za-z_]\w*)`)

// Check runs t's tests on completion inside the sandbox.
func (s *Sandbox) Check(ctx context.Context, t Task, completion string) (Outcome, error) {
	dir, err := os.MkdirTemp("", "ghostline-fim-*")
	if err != nil {
		return Outcome{}, err
	}
	defer os.RemoveAll(dir)
	write := func(name, text string) error { return os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644) }

	// A toolchain that is not installed leaves the task not measured; it
	// is no failure of the completion.
	if tool := missing(toolsFor(t)...); tool != "" {
		return Outcome{Reason: tool + " not installed" + debianHint[tool]}, nil
	}
	if t.Format == "humaneval" {
		// A completion that calls exit(0) or sys.exit() would end the
		// program with status 0 before check runs: a pass is the marker
		// printed after check, fresh for each run, which a completion does
		// not print by accident (one set on cheating could read it from
		// its own source: see Sandbox).
		mark := passMarker()
		prog := t.Prefix + completion + t.Suffix + "\n" + t.Test + "\ncheck(" + t.EntryPoint + ")\nprint(" + strconv.Quote(mark) + ")\n"
		if err := write("prog.py", prog); err != nil {
			return Outcome{}, err
		}
		r, err := s.Run(ctx, dir, "", memNative, runTimeout, "python3", "prog.py")
		if err != nil {
			return Outcome{}, err
		}
		o := verdict(r, r.ExitCode == 0 && strings.Contains(r.Stdout, mark))
		if !o.Passed && r.ExitCode == 0 && !r.TimedOut {
			o.Reason = "exited before the tests ran"
		}
		return o, nil
	}

	prog := t.Prefix + completion + t.Suffix
	var run []string
	mem := int64(memNative)
	switch t.Lang {
	case "python":
		if err := write("prog.py", prog); err != nil {
			return Outcome{}, err
		}
		run = []string{"python3", "prog.py"}
	case "cpp":
		if err := write("prog.cpp", prog); err != nil {
			return Outcome{}, err
		}
		r, err := s.Run(ctx, dir, "", 2<<30, compileTimeout, "g++", "-O2", "-std=gnu++17", "-o", "prog", "prog.cpp")
		if err != nil {
			return Outcome{}, err
		}
		if o, failed := compiled(r); failed {
			return o, nil
		}
		run = []string{"./prog"}
	case "java":
		class := "Main"
		if m := javaClass.FindStringSubmatch(prog); m != nil {
			class = m[1]
		}
		if err := write(class+".java", prog); err != nil {
			return Outcome{}, err
		}
		r, err := s.Run(ctx, dir, "", memJVM, compileTimeout, "javac", "-J-Xmx512m", "-encoding", "UTF-8", class+".java")
		if err != nil {
			return Outcome{}, err
		}
		if o, failed := compiled(r); failed {
			return o, nil
		}
		run = []string{"java", "-Xmx512m", "-Xss64m", "-cp", ".", class}
		mem = memJVM
	case "csharp":
		if err := write("prog.cs", prog); err != nil {
			return Outcome{}, err
		}
		r, err := s.Run(ctx, dir, "", memJVM, compileTimeout, "mcs", "-out:prog.exe", "prog.cs")
		if err != nil {
			return Outcome{}, err
		}
		if o, failed := compiled(r); failed {
			return o, nil
		}
		run = []string{"mono", "prog.exe"}
		mem = memJVM
	default:
		return Outcome{Reason: "no runner for " + t.Lang}, nil
	}
	if len(t.UnitTests) == 0 {
		return Outcome{Reason: "no unit tests: nothing to pass"}, nil
	}
	for i, u := range t.UnitTests {
		r, err := s.Run(ctx, dir, u.Input, mem, runTimeout, run...)
		if err != nil {
			return Outcome{}, err
		}
		if r.TimedOut || r.ExitCode != 0 {
			o := verdict(r, false)
			o.Reason = fmt.Sprintf("test %d: %s", i, o.Reason)
			return o, nil
		}
		if !slices.ContainsFunc(u.Outputs, func(want string) bool { return OutputsMatch(r.Stdout, want) }) {
			return Outcome{Ran: true, Reason: fmt.Sprintf("test %d: wrong output", i)}, nil
		}
	}
	return Outcome{Ran: true, Passed: true}, nil
}

// toolsFor lists the programs t's tests need.
func toolsFor(t Task) []string {
	if t.Format == "humaneval" {
		return []string{"python3"}
	}
	switch t.Lang {
	case "python":
		return []string{"python3"}
	case "cpp":
		return []string{"g++"}
	case "java":
		return []string{"javac", "java"}
	case "csharp":
		return []string{"mcs", "mono"}
	}
	return nil
}

// debianHint names the Debian package of a tool whose name does not say it.
var debianHint = map[string]string{"mcs": " (Debian: mono-mcs)", "mono": " (Debian: mono-runtime)", "javac": " (Debian: default-jdk-headless)"}

// compiled reports a compile step that did not succeed: a compiler that
// exits with an error is the completion's fault (Ran); one stopped at the
// time or resource limit says more about the machine (a JVM starting on a
// loaded CPU) than about the code, so the task is not measured.
func compiled(r RunResult) (Outcome, bool) {
	switch {
	case r.ExitCode == 0:
		return Outcome{}, false
	case r.TimedOut || r.ExitCode == -1:
		return Outcome{Reason: "the compiler did not finish (time or resource limit): not measured", TimedOut: r.TimedOut}, true
	}
	return Outcome{Ran: true, Reason: "compile error"}, true
}

// passMarker is a fresh random line for a program to print once its tests
// have passed.
func passMarker() string {
	var b [12]byte
	rand.Read(b[:])
	return "ghostline-tests-passed-" + hex.EncodeToString(b[:])
}

func verdict(r RunResult, ok bool) Outcome {
	switch {
	case ok:
		return Outcome{Ran: true, Passed: true}
	case r.TimedOut:
		return Outcome{Ran: true, Reason: "time limit", TimedOut: true}
	}
	return Outcome{Ran: true, Reason: fmt.Sprintf("exit %d", r.ExitCode)}
}

// OutputsMatch judges a program's output against an accepted one as
// SAFIM's judge (ExecEval) does, so that pass@1 means what the paper's
// does: the same lines once each line and the whole are stripped of
// surrounding space; failing that, the same whitespace-separated tokens,
// where two numbers match within 1e-12 and yes/no/true/false match in any
// case (problems that accept "YES" or "Yes"). A stricter judge failed 13
// of the 200 Python subset's own reference solutions (numbers one per
// line where the expected output has them on one line, "NO" for "No").
func OutputsMatch(got, want string) bool {
	gl := strings.Split(strings.TrimSpace(strings.ReplaceAll(got, "\r", "")), "\n")
	wl := strings.Split(strings.TrimSpace(strings.ReplaceAll(want, "\r", "")), "\n")
	if slices.EqualFunc(gl, wl, func(a, b string) bool { return strings.TrimSpace(a) == strings.TrimSpace(b) }) {
		return true
	}
	return slices.EqualFunc(strings.Fields(got), strings.Fields(want), tokensMatch)
}

// caseFree are the tokens a judge accepts in any case.
var caseFree = map[string]bool{"yes": true, "no": true, "true": true, "false": true}

// numEps is the judge's tolerance between two numbers, compared at 129
// bits (so that 64-bit integers compare exactly).
var numEps = new(big.Float).SetPrec(129).SetFloat64(1e-12)

func tokensMatch(a, b string) bool {
	x, _, errA := big.ParseFloat(a, 10, 129, big.ToNearestEven)
	y, _, errB := big.ParseFloat(b, 10, 129, big.ToNearestEven)
	if errA == nil && errB == nil && !x.IsInf() && !y.IsInf() {
		d := new(big.Float).SetPrec(129).Sub(x, y)
		return d.Abs(d).Cmp(numEps) <= 0
	}
	if caseFree[strings.ToLower(a)] {
		a = strings.ToLower(a)
	}
	if caseFree[strings.ToLower(b)] {
		b = strings.ToLower(b)
	}
	return a == b
}
