package projectgraph

import (
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// copyTree copies a fixture into a temporary directory the test may edit.
func copyTree(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestPersistenceRoundTrip(t *testing.T) {
	root := copyTree(t, filepath.Join(fixtures, "gorepo"))
	cache := t.TempDir()
	opt := Options{Config: Config{CacheDir: cache}}
	before := parses.Load()
	ix1, err := Open(context.Background(), root, opt)
	if err != nil {
		t.Fatal(err)
	}
	firstParses := parses.Load() - before
	if firstParses != int64(len(ix1.Files())) {
		t.Errorf("first open parsed %d files, want %d", firstParses, len(ix1.Files()))
	}
	if _, err := os.Stat(ix1.CachePath()); err != nil {
		t.Fatalf("no cache written: %v", err)
	}
	if !strings.HasPrefix(ix1.CachePath(), cache) {
		t.Errorf("cache %s not under %s", ix1.CachePath(), cache)
	}

	// Reopen: nothing parsed, same content.
	before = parses.Load()
	ix2, err := Open(context.Background(), root, opt)
	if err != nil {
		t.Fatal(err)
	}
	if n := parses.Load() - before; n != 0 {
		t.Errorf("reopen parsed %d files, want 0", n)
	}
	if diff := cmp.Diff(ix1.Files(), ix2.Files()); diff != "" {
		t.Errorf("files differ after reload:\n%s", diff)
	}
	if diff := cmp.Diff(ix1.Stats(), ix2.Stats()); diff != "" {
		t.Errorf("stats differ after reload:\n%s", diff)
	}
	if diff := cmp.Diff(ix1.Definitions("Format"), ix2.Definitions("Format")); diff != "" {
		t.Errorf("definitions differ after reload:\n%s", diff)
	}

	// Touch one file without changing it (mtime differs, hash equal): no
	// parse. Change another: exactly one parse, new symbol visible.
	now := time.Now().Add(time.Minute)
	if err := os.Chtimes(filepath.Join(root, "main.go"), now, now); err != nil {
		t.Fatal(err)
	}
	write(t, root, "internal/price/price.go", strings.Replace(readFile(t, root, "internal/price/price.go"),
		"// Format renders", "// Round drops the cents.\nfunc Round(c Cents) Cents { return c / 100 * 100 }\n\n// Format renders", 1))
	before = parses.Load()
	ix3, err := Open(context.Background(), root, opt)
	if err != nil {
		t.Fatal(err)
	}
	if n := parses.Load() - before; n != 1 {
		t.Errorf("refresh parsed %d files, want 1", n)
	}
	if len(ix3.Definitions("Round")) != 1 {
		t.Errorf("Round not found after refresh")
	}
	// A removed file leaves the reloaded index.
	if err := os.Remove(filepath.Join(root, "cart", "config.go")); err != nil {
		t.Fatal(err)
	}
	ix4, err := Open(context.Background(), root, opt)
	if err != nil {
		t.Fatal(err)
	}
	if ix4.File("cart/config.go") != nil || len(ix4.Definitions("apiToken")) != 0 {
		t.Errorf("removed file still indexed")
	}
}

// A cache that decodes but holds what no extraction produces is refused
// (and so rebuilt), not trusted: a path out of the workspace would be read,
// a bad range would be sliced.
func TestLoadCacheRejectsImpossibleEntries(t *testing.T) {
	sym := Symbol{Name: "f", Kind: "function", Line: 1, SigLine: 1, EndLine: 2, Start: 0, End: 10}
	for _, tc := range []struct {
		name string
		edit func(f *File)
		ok   bool
	}{
		{"sound", func(*File) {}, true},
		{"negative start", func(f *File) { f.Symbols[0].Start = -5 }, false},
		{"end before start", func(f *File) { f.Symbols[0].End = -1 }, false},
		{"line 0", func(f *File) { f.Symbols[0].Line = 0 }, false},
		{"path up", func(f *File) { f.Path = "../../etc/passwd" }, false},
		{"absolute path", func(f *File) { f.Path = "/etc/passwd" }, false},
	} {
		f := &File{Path: "a/b.go", Lang: Go, Symbols: []Symbol{sym}}
		tc.edit(f)
		p := filepath.Join(t.TempDir(), "index.gob")
		fh, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := gob.NewEncoder(fh).Encode(&cacheFile{Schema: SchemaVersion, Files: []*File{f}, Idents: []string{""}}); err != nil {
			t.Fatal(err)
		}
		fh.Close()
		if _, err := loadCache(p); (err == nil) != tc.ok {
			t.Errorf("%s: loadCache error %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestCacheSchemaMismatchRebuilds(t *testing.T) {
	root := copyTree(t, filepath.Join(fixtures, "pyrepo"))
	cache := t.TempDir()
	opt := Options{Config: Config{CacheDir: cache}}
	ix, err := Open(context.Background(), root, opt)
	if err != nil {
		t.Fatal(err)
	}
	// A corrupt cache and then a cache of another schema are both ignored.
	if err := os.WriteFile(ix.CachePath(), []byte("not a gob"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := parses.Load()
	ix2, err := Open(context.Background(), root, opt)
	if err != nil {
		t.Fatalf("corrupt cache: %v", err)
	}
	if n := parses.Load() - before; n != int64(len(ix2.Files())) {
		t.Errorf("corrupt cache: parsed %d, want all %d", n, len(ix2.Files()))
	}
	if _, err := loadCache(ix.CachePath()); err != nil {
		t.Fatalf("cache not rewritten: %v", err)
	}
}

func TestCacheDirXDG(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/x/cache")
	if d, _ := CacheDir(); d != filepath.Join("/x/cache", "ghostline", "index") {
		t.Errorf("CacheDir = %s", d)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/home/u")
	if d, _ := CacheDir(); d != filepath.Join("/home/u", ".cache", "ghostline", "index") {
		t.Errorf("CacheDir = %s", d)
	}
}

func TestUpdateVanishedPaths(t *testing.T) {
	root := copyTree(t, filepath.Join(fixtures, "gorepo"))
	ix, err := Open(context.Background(), root, Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(root, "cart")); err != nil {
		t.Fatal(err)
	}
	err = ix.Update(context.Background(), []string{
		filepath.Join(root, "cart"), filepath.Join(root, "cart", "cart.go"), filepath.Join(root, "never", "was.go"), "/outside/root.go",
	})
	if err != nil {
		t.Fatalf("Update with vanished paths: %v", err)
	}
	want := []string{"internal/price/price.go", "main.go"}
	if diff := cmp.Diff(want, ix.Files()); diff != "" {
		t.Errorf("files after removing cart/ (-want +got):\n%s", diff)
	}
	if got := ix.Imports("main.go"); !cmp.Equal(got, []string{"internal/price/price.go"}) {
		t.Errorf("main.go still imports %v", got)
	}
	// The graph holds no edge to the vanished package any more.
	g, _ := ix.Graph()
	if _, err := g.Vertex(PkgPrefix + "cart"); err == nil {
		t.Errorf("pkg:cart still in the graph")
	}
	// Recreating a package resolves imports pointing at it again.
	write(t, root, "cart/cart.go", "package cart\n\nfunc New() int { return 0 }\n")
	if err := ix.Update(context.Background(), []string{filepath.Join(root, "cart")}); err != nil {
		t.Fatal(err)
	}
	if got := ix.Imports("main.go"); !cmp.Equal(got, []string{"cart/cart.go", "internal/price/price.go"}) {
		t.Errorf("after re-creating cart/: main.go imports %v", got)
	}
	if r := ix.Recent(); len(r) == 0 || r[0] != "cart/cart.go" {
		t.Errorf("Recent = %v, want cart/cart.go first", r)
	}
}

// A batch of changes the index cannot care about (a build writing object
// files) is not taken for a branch switch: only the source file in it is
// refreshed, no re-scan. A changed ignore file refreshes its subtree.
func TestUpdateSkipsNoiseAndFollowsIgnoreFiles(t *testing.T) {
	root := copyTree(t, filepath.Join(fixtures, "gorepo"))
	write(t, root, "sub/shown.go", "package sub\n\nfunc Shown() {}\n")
	write(t, root, "sub/hidden.go", "package sub\n\nfunc Hidden() {}\n")
	ix, err := Open(context.Background(), root, Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Not in any batch: only a re-scan would find it.
	write(t, root, "sneaky/s.go", "package sneaky\n\nfunc Sneaky() {}\n")
	var batch []string
	for i := 0; i < 2*maxUpdatePaths; i++ {
		batch = append(batch, write(t, root, fmt.Sprintf("obj/f%04d.o", i), "\x7fELF"))
	}
	batch = append(batch, write(t, root, "cart/more.go", "package cart\n\nfunc More() {}\n"))
	if err := ix.Update(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if len(ix.Definitions("More")) != 1 {
		t.Error("the source file in a noisy batch was not indexed")
	}
	if len(ix.Definitions("Sneaky")) != 0 {
		t.Error("a batch of object files re-scanned the whole workspace")
	}

	ign := write(t, root, "sub/.gitignore", "hidden.go\n")
	if err := ix.Update(ctx, []string{ign}); err != nil {
		t.Fatal(err)
	}
	if len(ix.Definitions("Hidden")) != 0 || len(ix.Definitions("Shown")) != 1 {
		t.Errorf("after ignoring hidden.go: Hidden %v, Shown %v", ix.Definitions("Hidden"), ix.Definitions("Shown"))
	}
	if err := os.Remove(ign); err != nil {
		t.Fatal(err)
	}
	if err := ix.Update(ctx, []string{ign}); err != nil {
		t.Fatal(err)
	}
	if len(ix.Definitions("Hidden")) != 1 {
		t.Error("hidden.go not indexed again once its ignore rule went")
	}
}

// fakeWatcher lets a test deliver batches.
type fakeWatcher struct{ ch chan Batch }

func (f *fakeWatcher) Events() <-chan Batch { return f.ch }
func (f *fakeWatcher) Close() error         { close(f.ch); return nil }

func TestWatchOverflowRescans(t *testing.T) {
	root := copyTree(t, filepath.Join(fixtures, "gorepo"))
	ix, err := Open(context.Background(), root, Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	write(t, root, "extra/extra.go", "package extra\n\nfunc Extra() {}\n")
	fw := &fakeWatcher{ch: make(chan Batch)}
	done := make(chan struct{})
	go func() { ix.Watch(context.Background(), fw, func(err error) { t.Error(err) }); close(done) }()
	fw.ch <- Batch{Overflow: true}
	fw.Close()
	<-done
	if len(ix.Definitions("Extra")) != 1 {
		t.Errorf("rescan after overflow missed a new file")
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFSWatcher(t *testing.T) {
	root := copyTree(t, filepath.Join(fixtures, "gorepo"))
	ix, err := Open(context.Background(), root, Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWatcher(root, Config{})
	if err != nil {
		t.Skipf("fsnotify unavailable: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var errs atomic.Int32
	done := make(chan struct{})
	go func() {
		ix.Watch(ctx, w, func(err error) { errs.Add(1); t.Log(err) })
		close(done)
	}()
	defer func() { cancel(); w.Close(); <-done }()
	const wait = 10 * time.Second

	// A new file in a watched directory.
	write(t, root, "cart/discount.go", "package cart\n\n// Discount lowers a price.\nfunc Discount(p int) int { return p * 9 / 10 }\n")
	waitFor(t, "Discount indexed", wait, func() bool { return len(ix.Definitions("Discount")) == 1 })

	// An edit.
	write(t, root, "cart/discount.go", "package cart\n\nfunc Rebate(p int) int { return p - 1 }\n")
	waitFor(t, "edit seen", wait, func() bool { return len(ix.Definitions("Rebate")) == 1 && len(ix.Definitions("Discount")) == 0 })

	// A new directory with files written right away (before its watch
	// exists), nested two deep.
	write(t, root, "promo/deep/promo.go", "package deep\n\nfunc Promo() {}\n")
	waitFor(t, "new nested directory indexed", wait, func() bool { return len(ix.Definitions("Promo")) == 1 })
	// Its subdirectory is watched now too.
	write(t, root, "promo/deep/later.go", "package deep\n\nfunc Later() {}\n")
	waitFor(t, "file in new directory indexed", wait, func() bool { return len(ix.Definitions("Later")) == 1 })

	// A renamed directory: files written in it afterwards, directly and
	// below, are seen under the new name.
	if err := os.Rename(filepath.Join(root, "promo"), filepath.Join(root, "promo2")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "renamed directory reindexed", wait, func() bool { return ix.File("promo2/deep/later.go") != nil && ix.File("promo/deep/later.go") == nil })
	write(t, root, "promo2/top.go", "package promo\n\nfunc Top() {}\n")
	write(t, root, "promo2/deep/after.go", "package deep\n\nfunc After() {}\n")
	waitFor(t, "files in the renamed directory indexed", wait, func() bool {
		return len(ix.Definitions("Top")) == 1 && len(ix.Definitions("After")) == 1 && ix.File("promo2/deep/after.go") != nil
	})
	if err := os.Rename(filepath.Join(root, "promo2"), filepath.Join(root, "promo")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "renamed back", wait, func() bool { return ix.File("promo/top.go") != nil && ix.File("promo2/top.go") == nil })

	// A vanished directory.
	if err := os.RemoveAll(filepath.Join(root, "promo")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "removed directory dropped", wait, func() bool {
		return len(ix.Definitions("Promo")) == 0 && len(ix.Definitions("Later")) == 0 && len(ix.Definitions("Top")) == 0
	})

	// A burst like a branch switch: 1,000 files.
	start := time.Now()
	for i := 0; i < 1000; i++ {
		write(t, root, fmt.Sprintf("gen/p%02d/f%03d.go", i%10, i), fmt.Sprintf("package p%02d\n\nfunc Burst%03d() {}\n", i%10, i))
	}
	waitFor(t, "1,000-file burst indexed", 60*time.Second, func() bool {
		return len(ix.Definitions("Burst000")) == 1 && len(ix.Definitions("Burst999")) == 1 && len(ix.Files()) >= 1005
	})
	t.Logf("1,000-file burst indexed %v after the first write", time.Since(start))
	// Ignored files stay out even when the watcher reports them.
	write(t, root, "build/new.go", "package build\n\nfunc NotMe() {}\n")
	write(t, root, ".env.local", "TOKEN=abc\n")
	write(t, root, "cart/late.go", "package cart\n\nfunc Late() {}\n")
	waitFor(t, "late file indexed", wait, func() bool { return len(ix.Definitions("Late")) == 1 })
	if len(ix.Definitions("NotMe")) != 0 || ix.File(".env.local") != nil {
		t.Errorf("ignored file indexed through the watcher")
	}
	if errs.Load() != 0 {
		t.Errorf("%d watch errors", errs.Load())
	}
}

// A tree with more directories than the watcher may watch: it watches up
// to the limit, says so with a *PartialWatchError, and still runs.
func TestWatcherDirLimit(t *testing.T) {
	defer func(n int) { maxWatchDirs = n }(maxWatchDirs)
	maxWatchDirs = 5
	root := t.TempDir()
	for i := 0; i < 10; i++ {
		write(t, root, fmt.Sprintf("d%d/f.go", i), "package d\n")
	}
	w, err := NewWatcher(root, Config{})
	var partial *PartialWatchError
	if !errors.As(err, &partial) || partial.Failed == 0 || w == nil {
		t.Fatalf("NewWatcher over the limit: %v, %v", w, err)
	}
	defer w.Close()
	if n := len(w.(*fsWatcher).dirs); n != maxWatchDirs {
		t.Errorf("%d directories watched, want the limit %d", n, maxWatchDirs)
	}
}

func readFile(t *testing.T, root, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
