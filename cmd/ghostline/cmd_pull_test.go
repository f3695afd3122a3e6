package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ghostline-dev/ghostline/model/gguf"
	"github.com/ghostline-dev/ghostline/model/store"
)

// TestPullModelsDoctorCLI drives the three commands against a model served
// by a local HTTP server, with the store in a temporary XDG cache.
func TestPullModelsDoctorCLI(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("OLLAMA_MODELS", filepath.Join(t.TempDir(), "no-ollama"))

	w := gguf.NewWriter()
	w.AddKV("general.architecture", gguf.StringValue("llama"))
	if err := w.AddTensor("t", gguf.F32, []uint64{64}, make([]byte, 256)); err != nil {
		t.Fatal(err)
	}
	var model bytes.Buffer
	w.WriteTo(&model)
	sum := sha256.Sum256(model.Bytes())
	digest := hex.EncodeToString(sum[:])
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(model.Bytes()))
	}))
	defer srv.Close()
	ref := srv.URL + "/files/tiny-coder.gguf#sha256=" + digest

	var out, errb bytes.Buffer
	stdout := captureStdout(t, func() {
		if code := run([]string{"pull", "--json", ref}, &out, &errb); code != 0 {
			t.Fatalf("pull exit %d: %s", code, errb.String())
		}
	})
	var pulled store.Model
	if err := json.Unmarshal(stdout, &pulled); err != nil || pulled.Name != "tiny-coder" || pulled.SHA256 != digest {
		t.Fatalf("pull --json = %s (%v)", stdout, err)
	}
	stdout = captureStdout(t, func() {
		if code := run([]string{"models", "--json"}, &out, &errb); code != 0 {
			t.Fatalf("models exit %d: %s", code, errb.String())
		}
	})
	var rep modelsReport
	if err := json.Unmarshal(stdout, &rep); err != nil {
		t.Fatalf("models --json: %v\n%s", err, stdout)
	}
	if len(rep.Models) != 1 || rep.Models[0].Name != "tiny-coder" || rep.Models[0].SHA256 != digest ||
		rep.Models[0].SHA256OK == nil || !*rep.Models[0].SHA256OK || rep.Default != store.DefaultModel {
		t.Errorf("models --json = %+v", rep)
	}
	if len(rep.Available) != len(store.Catalog()) {
		t.Errorf("available = %d entries, want the whole catalogue (%d)", len(rep.Available), len(store.Catalog()))
	}

	// The default model is missing: doctor fails and names the fix.
	errb.Reset()
	stdout = captureStdout(t, func() {
		if code := run([]string{"doctor", "--json"}, &out, &errb); code != 1 {
			t.Errorf("doctor exit %d, want 1 (default model missing)", code)
		}
	})
	var doc doctorReport
	if err := json.Unmarshal(stdout, &doc); err != nil {
		t.Fatalf("doctor --json: %v\n%s", err, stdout)
	}
	found := false
	for _, p := range doc.Problems {
		if strings.Contains(p.Problem, "default model") && p.Fix == "ghostline pull" {
			found = true
		}
	}
	if !found || doc.OK || doc.Default.Installed || len(doc.Models) != 1 {
		t.Errorf("doctor report = %+v", doc)
	}
	if !strings.Contains(errb.String(), "ghostline doctor: 1 problem(s) found") {
		t.Errorf("doctor stderr = %q", errb.String())
	}

	// A damaged model pulled from a URL: doctor's fix pulls that URL
	// again (its name alone is not in the catalogue).
	if err := os.WriteFile(pulled.Path, []byte("damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout = captureStdout(t, func() { run([]string{"doctor", "--json"}, &out, &errb) })
	doc = doctorReport{}
	if err := json.Unmarshal(stdout, &doc); err != nil {
		t.Fatalf("doctor --json: %v\n%s", err, stdout)
	}
	found = false
	for _, p := range doc.Problems {
		if strings.Contains(p.Problem, "tiny-coder") {
			found = p.Fix == "ghostline pull "+ref
			if !found {
				t.Errorf("fix for the damaged model: %q, want %q", p.Fix, "ghostline pull "+ref)
			}
		}
	}
	if !found {
		t.Errorf("doctor does not report the damaged model: %+v", doc.Problems)
	}

	// A command resolving the default model names `ghostline pull`.
	if _, err := resolveModelPath(""); err == nil || !strings.Contains(err.Error(), "ghostline pull") {
		t.Errorf("resolveModelPath(\"\") = %v", err)
	}
	if p, err := resolveModelPath("tiny-coder"); err != nil || filepath.Base(p) != "tiny-coder.gguf" {
		t.Errorf("resolveModelPath(tiny-coder) = %q, %v", p, err)
	}

	// A bad checksum fails the pull with exit 1 and a one-line message.
	errb.Reset()
	if code := run([]string{"pull", "--quiet", srv.URL + "/files/other.gguf#sha256=" + strings.Repeat("0", 64)}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "sha256") || strings.Count(errb.String(), "\n") != 1 {
		t.Errorf("pull with a wrong checksum: exit %d, stderr %q", code, errb.String())
	}
}

// captureStdout runs f with os.Stdout redirected and returns what it wrote
// (the commands print JSON to the process's stdout, as the CLI contract says).
func captureStdout(t *testing.T, f func()) []byte {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan []byte)
	go func() {
		var b bytes.Buffer
		b.ReadFrom(r)
		done <- b.Bytes()
	}()
	defer func() { os.Stdout = old }()
	f()
	w.Close()
	os.Stdout = old
	return <-done
}

// A model given by path needs no model store: it works where the cache
// folder cannot be created (here XDG_CACHE_HOME is a file).
func TestModelPathWithoutStore(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "cache")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CACHE_HOME", notDir)
	model := filepath.Join(dir, "m.gguf")
	if err := os.WriteFile(model, []byte("GGUF"), 0o644); err != nil {
		t.Fatal(err)
	}
	if p, err := resolveModelPath(model); err != nil || p != model {
		t.Errorf("resolveModelPath(%s) = %q, %v", model, p, err)
	}
	if _, err := resolveModelPath(""); err == nil {
		t.Error("the default model resolved without a store")
	}
}
