package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeOllama lays out an Ollama store: manifests/HOST/NS/NAME/TAG and
// blobs/sha256-HEX.
func fakeOllama(t *testing.T, models map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for ref, blob := range models {
		parts := strings.Split(ref, "/") // HOST/NS/NAME/TAG
		digest := sha(blob)
		if blob != nil {
			os.MkdirAll(filepath.Join(dir, "blobs"), 0o755)
			os.WriteFile(filepath.Join(dir, "blobs", "sha256-"+digest), blob, 0o644)
		}
		man := `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
  "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:` + strings.Repeat("c", 64) + `","size":10},
  "layers":[{"mediaType":"application/vnd.ollama.image.template","digest":"sha256:` + strings.Repeat("d", 64) + `","size":5},
            {"mediaType":"application/vnd.ollama.image.model","digest":"sha256:` + digest + `","size":` + itoa(len(blob)) + `}]}`
		mdir := filepath.Join(append([]string{dir, "manifests"}, parts[:3]...)...)
		os.MkdirAll(mdir, 0o755)
		os.WriteFile(filepath.Join(mdir, parts[3]), []byte(man), 0o644)
	}
	return dir
}

func TestOllamaStore(t *testing.T) {
	qwen := tinyGGUF(t, "qwen2", 64)
	llama := tinyGGUF(t, "llama", 32)
	dir := fakeOllama(t, map[string][]byte{
		"registry.ollama.ai/library/qwen2.5-coder/0.5b":   qwen,
		"registry.ollama.ai/library/qwen2.5-coder/latest": qwen,
		"registry.ollama.ai/someone/tiny/q4":              llama,
		"hf.co/org/repo/Q4_K_M":                           llama,
		"registry.ollama.ai/library/notgguf/latest":       []byte("safetensors?"),
	})
	// A manifest whose digest tries to escape the blobs folder.
	evil := filepath.Join(dir, "manifests", "registry.ollama.ai", "library", "evil")
	os.MkdirAll(evil, 0o755)
	os.WriteFile(filepath.Join(evil, "latest"), []byte(`{"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:../../../etc/passwd"}]}`), 0o644)
	os.WriteFile(filepath.Join(dir, "manifests", "registry.ollama.ai", "library", "qwen2.5-coder", "broken"), []byte("{"), 0o644)

	models, err := ListOllama(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Model{}
	for _, m := range models {
		got[m.Name] = m
	}
	for _, tt := range []struct {
		name, problem string
		blob          []byte
	}{
		{"ollama:qwen2.5-coder:0.5b", "", qwen},
		{"ollama:qwen2.5-coder:latest", "", qwen},
		{"ollama:someone/tiny:q4", "", llama},
		{"ollama:hf.co/org/repo:Q4_K_M", "", llama},
		{"ollama:notgguf:latest", "not a GGUF", nil},
		{"ollama:evil:latest", "bad digest", nil},
		{"ollama:qwen2.5-coder:broken", "manifest", nil},
	} {
		m, ok := got[tt.name]
		if !ok {
			t.Errorf("%s not listed (have %v)", tt.name, sortedKeys(got))
			continue
		}
		if tt.problem != "" {
			if !strings.Contains(m.Problem, tt.problem) {
				t.Errorf("%s: problem %q, want %q", tt.name, m.Problem, tt.problem)
			}
			continue
		}
		if m.Problem != "" || m.SHA256 != sha(tt.blob) || m.Size != int64(len(tt.blob)) || m.Store != "ollama" {
			t.Errorf("%s = %+v", tt.name, m)
		}
	}
	if len(models) != 7 {
		t.Errorf("listed %d models, want 7", len(models))
	}

	s := testStore(t, nil)
	s.OllamaDir = dir
	for ref, want := range map[string][]byte{
		"ollama:qwen2.5-coder:0.5b": qwen,
		"qwen2.5-coder:0.5b":        qwen,
		"qwen2.5-coder":             qwen, // tag latest
		"someone/tiny:q4":           llama,
	} {
		p, err := s.Resolve(ref)
		if err != nil {
			t.Errorf("Resolve(%q): %v", ref, err)
			continue
		}
		if b, _ := os.ReadFile(p); sha(b) != sha(want) {
			t.Errorf("Resolve(%q) = %s, wrong blob", ref, p)
		}
	}
	for _, ref := range []string{"ollama:evil", "ollama:notgguf", "ollama:absent:1b"} {
		if _, err := s.Resolve(ref); err == nil {
			t.Errorf("Resolve(%q) succeeded", ref)
		}
	}
	// An Ollama model that is there but unusable says why, with or
	// without the prefix, rather than being an unknown model.
	for _, ref := range []string{"ollama:notgguf", "notgguf"} {
		if _, err := s.Resolve(ref); err == nil || !strings.Contains(err.Error(), "not a GGUF") {
			t.Errorf("Resolve(%q) = %v, want the Ollama model's problem", ref, err)
		}
	}
	list, err := s.List(ListOptions{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	var verified int
	for _, m := range list {
		if m.Store == "ollama" && m.Problem == "" {
			if m.SHA256OK == nil || !*m.SHA256OK {
				t.Errorf("%s: sha256_ok = %v after verify", m.Name, m.SHA256OK)
			}
			verified++
		}
	}
	if verified != 4 {
		t.Errorf("verified %d Ollama models, want 4", verified)
	}
	if m, err := ListOllama(filepath.Join(t.TempDir(), "none")); err != nil || len(m) != 0 {
		t.Errorf("missing Ollama store: %v, %v", m, err)
	}
}
