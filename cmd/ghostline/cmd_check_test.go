package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghostline-dev/ghostline/astguard"
)

// checkRun runs `ghostline check ARGS` in-process and returns stdout,
// stderr and the exit status.
func checkRun(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	checkStdout = &out
	defer func() { checkStdout = nil }()
	code := run(append([]string{"check"}, args...), &out, &errOut)
	return out.String(), errOut.String(), code
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckJSON(t *testing.T) {
	bad := writeTemp(t, "bad.go", []byte("package a\n\nfunc f() {\n\tg(\"日本\", 1 2)\n}\n"))
	out, errOut, code := checkRun(t, "--lang", "go", "--file", bad, "--json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	want := `{"errors":[{"line":4,"col":12,"kind":"error","text":"2"}]}` + "\n"
	if out != want {
		t.Errorf("got %q, want %q", out, want)
	}

	good := writeTemp(t, "good.py", []byte("def f(x):\n    return x\n"))
	out, _, code = checkRun(t, "--json", "--file", good, "--lang", "python")
	if code != 0 || out != "{\"errors\":[]}\n" {
		t.Errorf("valid file: exit %d, output %q", code, out)
	}
}

func TestCheckHuman(t *testing.T) {
	bad := writeTemp(t, "bad.java", []byte("class A { void f() { int x = 1 } }\n"))
	out, _, code := checkRun(t, "--lang", "java", "--file", bad)
	if want := bad + ":1:31: missing: ;\n"; code != 0 || out != want {
		t.Errorf("exit %d, got %q, want %q", code, out, want)
	}
	// Without --lang the extension decides.
	out, _, code = checkRun(t, "--file", bad, "--json")
	var got struct {
		Errors []map[string]any `json:"errors"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 || len(got.Errors) != 1 {
		t.Errorf("extension fallback: exit %d, output %q (%v)", code, out, err)
	}
}

func TestCheckBadInput(t *testing.T) {
	good := writeTemp(t, "a.go", []byte("package a\n"))
	_, errOut, code := checkRun(t, "--lang", "cobol", "--file", good)
	if code != 1 || !strings.Contains(errOut, "supported: ") || !strings.Contains(errOut, "typescriptreact") {
		t.Errorf("unknown language: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = checkRun(t, "--lang", "go", "--file", filepath.Join(t.TempDir(), "missing.go"))
	if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "missing.go") {
		t.Errorf("missing file: exit %d, stderr %q", code, errOut)
	}
	bin := writeTemp(t, "b.go", []byte("package a\x00\x00\x01"))
	_, errOut, code = checkRun(t, "--lang", "go", "--file", bin)
	if code != 1 || !strings.Contains(errOut, "binary") {
		t.Errorf("binary file: exit %d, stderr %q", code, errOut)
	}
	big := writeTemp(t, "big.go", bytes.Repeat([]byte("// x\n"), astguard.MaxSourceBytes/5+1))
	_, errOut, code = checkRun(t, "--lang", "go", "--file", big)
	if code != 1 || !strings.Contains(errOut, "too large") {
		t.Errorf("huge file: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = checkRun(t, "--lang", "go")
	if code != 1 || !strings.Contains(errOut, "--file") {
		t.Errorf("no file: exit %d, stderr %q", code, errOut)
	}
}
