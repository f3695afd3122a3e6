package lsp

import (
	"context"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghostline-dev/ghostline/projectgraph"
)

// copyTree copies the fixture repository into a fresh directory, so tests
// may change files under it.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "shop")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func fileURI(p string) string { return (&url.URL{Scheme: "file", Path: filepath.ToSlash(p)}).String() }

// mainRequest is a completion request at the end of main() in the
// fixture's main.go (the cursor after "fmt.Println(money.Format(c.Total()))").
func mainRequest(t *testing.T, root string, extra string) CompletionRequest {
	t.Helper()
	path := filepath.Join(root, "main.go")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	at := strings.Index(src, "c.Total()))") + len("c.Total()))")
	prefix := src[:at] + extra
	return CompletionRequest{URI: fileURI(path), Path: path, LanguageID: "go", Version: 1,
		Prefix: prefix, Suffix: src[at:], Line: strings.Count(prefix, "\n"), Column: len(prefix) - lineStart(prefix)}
}

// changingCounter counts tokens as the approximate counter does, and the
// first time it is used the index "changes" (as a watcher batch would).
type changingCounter struct {
	p    *ProjectContext
	once sync.Once
}

func (c *changingCounter) Count(s string) int {
	c.once.Do(c.p.forget)
	return projectgraph.ApproxCounter{}.Count(s)
}

func blockText(pb ProjectBlocks) string {
	var b strings.Builder
	for _, bl := range pb.Blocks {
		b.WriteString("==> " + bl.Path + " (" + bl.Reason + ")\n" + bl.Text + "\n")
	}
	return b.String()
}

func TestProjectContext(t *testing.T) {
	root := copyTree(t, filepath.Join("..", "testdata", "projectgraph", "gorepo"))
	p := &ProjectContext{Options: projectgraph.Options{NoCache: true}, NoWatch: true}
	defer p.Close()
	req := mainRequest(t, root, "\n\tc.")

	// Before indexing: nothing, at once.
	t0 := time.Now()
	if pb, _, err := p.Blocks(req, 512); err != nil || len(pb.Blocks) != 0 || pb.Rel != "" {
		t.Errorf("before indexing: %+v, %v", pb, err)
	}
	if d := time.Since(t0); d > 50*time.Millisecond {
		t.Errorf("a request before indexing took %v", d)
	}

	folder := WorkspaceFolder{URI: fileURI(root), Name: "shop"}
	var reports []int
	if err := p.Index(context.Background(), []WorkspaceFolder{folder}, func(pct int, _ string) { reports = append(reports, pct) }); err != nil {
		t.Fatal(err)
	}
	if !p.Ready() || len(reports) == 0 || reports[len(reports)-1] != 100 {
		t.Errorf("ready %v, progress %v (want it to end at 100)", p.Ready(), reports)
	}
	p.DidOpen(fileURI(filepath.Join(root, "internal", "price", "price.go")), "go", 1, "")

	pb, cached, err := p.Blocks(req, 512)
	if err != nil {
		t.Fatal(err)
	}
	text := blockText(pb)
	t.Logf("context:\n%s", text)
	if pb.Rel != "main.go" || pb.Repo != "shop" {
		t.Errorf("rel %q repo %q", pb.Rel, pb.Repo)
	}
	// main() uses cart.New, c.Add, c.Total and money.Format: their
	// definitions are what the model needs.
	for _, want := range []string{"cart/cart.go", "func New", "internal/price/price.go", "Format"} {
		if !strings.Contains(text, want) {
			t.Errorf("context lacks %q:\n%s", want, text)
		}
	}
	if cached {
		t.Error("the first request on a line was answered from the cache")
	}
	// Typing on along the line: the same blocks, from the cache; a new
	// line recomputes.
	along := mainRequest(t, root, "\n\tc.Ad")
	if again, cached, _ := p.Blocks(along, 512); !cached || blockText(again) != text {
		t.Errorf("same line: cached %v, blocks changed %v", cached, blockText(again) != text)
	}
	if _, cached, _ := p.Blocks(mainRequest(t, root, "\n\tc.Add(\"x\", 1)\n\t"), 512); cached {
		t.Error("a new line was answered from the cache")
	}
	if pb.Tokens <= 0 || pb.Tokens > 512 {
		t.Errorf("%d tokens for a budget of 512", pb.Tokens)
	}
	for _, secret := range []string{".env", "server.key"} {
		if strings.Contains(text, secret) {
			t.Errorf("context shows %s", secret)
		}
	}
	small, _, _ := p.Blocks(req, 24)
	if small.Tokens > 24 {
		t.Errorf("%d tokens for a budget of 24", small.Tokens)
	}
	if off, _, _ := p.Blocks(req, 0); len(off.Blocks) != 0 || off.Rel != "main.go" {
		t.Errorf("budget 0: %+v (want no blocks, the path still relative)", off)
	}
	// The index changes while a context is being computed: that context
	// is answered, but not kept for the line's next requests.
	p.Counter = &changingCounter{p: p}
	onLine := mainRequest(t, root, "\n\tc.Tot")
	if _, cached, _ := p.Blocks(onLine, 512); cached {
		t.Error("a new line was answered from the cache")
	}
	if _, cached, _ := p.Blocks(onLine, 512); cached {
		t.Error("a context computed across an index change was kept")
	}
	p.Counter = nil

	outside := req
	outside.Path, outside.URI = "/elsewhere/x.go", "file:///elsewhere/x.go"
	if pb, _, _ := p.Blocks(outside, 512); len(pb.Blocks) != 0 || pb.Rel != "" {
		t.Errorf("a file outside the workspace got %+v", pb)
	}

	// didChangeWatchedFiles: a new file's definitions reach the context.
	if err := os.WriteFile(filepath.Join(root, "cart", "discount.go"), []byte("package cart\n\n// Discount takes pct percent off the total.\nfunc (c *Cart) Discount(pct int) int { return c.Total() * (100 - pct) / 100 }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.FilesChanged([]FileEvent{{URI: fileURI(filepath.Join(root, "cart", "discount.go")), Type: 1}})
	reqD := mainRequest(t, root, "\n\tfmt.Println(c.Discount(10))")
	waitUntil(t, "the new file's definition in the context", 5*time.Second, func() bool {
		pb, _, _ := p.Blocks(reqD, 512)
		return strings.Contains(blockText(pb), "func (c *Cart) Discount")
	})

	// A folder removed: its files get no context.
	p.FoldersChanged(nil, []WorkspaceFolder{folder})
	if pb, _, _ := p.Blocks(req, 512); len(pb.Blocks) != 0 || pb.Rel != "" {
		t.Errorf("after removing the folder: %+v", pb)
	}
}

// A file the editor reports changed while its folder is still being
// indexed reaches the index once indexing ends (the scan may have read it
// before the change).
func TestProjectContextChangeDuringIndexing(t *testing.T) {
	root := copyTree(t, filepath.Join("..", "testdata", "projectgraph", "gorepo"))
	p := &ProjectContext{Options: projectgraph.Options{NoCache: true}, NoWatch: true}
	defer p.Close()
	mainGo := filepath.Join(root, "main.go")
	changed := false
	report := func(pct int, _ string) {
		if pct < 100 || changed {
			return
		}
		// Every file is read by now: change one and tell the server.
		changed = true
		src, err := os.ReadFile(mainGo)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(mainGo, append(src, "\nfunc Pending() {}\n"...), 0o644); err != nil {
			t.Fatal(err)
		}
		p.FilesChanged([]FileEvent{{URI: fileURI(mainGo), Type: 2}})
	}
	folder := WorkspaceFolder{URI: fileURI(root), Name: "shop"}
	if err := p.Index(context.Background(), []WorkspaceFolder{folder}, report); err != nil {
		t.Fatal(err)
	}
	if !changed {
		t.Fatal("indexing never reported 100%")
	}
	p.mu.Lock()
	ix := p.folders[folder.URI].ix
	p.mu.Unlock()
	waitUntil(t, "the change made during indexing in the index", 5*time.Second, func() bool {
		return len(ix.Definitions("Pending")) == 1
	})
}

// The fsnotify watcher keeps the index current without the client's
// help.
func TestProjectContextWatcher(t *testing.T) {
	root := copyTree(t, filepath.Join("..", "testdata", "projectgraph", "gorepo"))
	p := &ProjectContext{Options: projectgraph.Options{NoCache: true}}
	defer p.Close()
	if err := p.Index(context.Background(), []WorkspaceFolder{{URI: fileURI(root), Name: "shop"}}, func(int, string) {}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "cart", "tax.go"), []byte("package cart\n\n// WithTax adds VAT.\nfunc WithTax(cents int) int { return cents * 6 / 5 }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	req := mainRequest(t, root, "\n\tfmt.Println(cart.WithTax(c.Total()))")
	waitUntil(t, "the watcher to index the new file", 10*time.Second, func() bool {
		pb, _, _ := p.Blocks(req, 512)
		return strings.Contains(blockText(pb), "func WithTax")
	})
}

func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BenchmarkProjectBlocks is the context time a completion pays with the
// default budget (512 tokens, the approximate counter, as the server asks):
// in the small fixture repository, and in this repository (~470 files)
// with the cursor in the middle of lsp/completion.go.
func BenchmarkProjectBlocks(b *testing.B) {
	fixture := filepath.Join(b.TempDir(), "shop")
	if err := os.CopyFS(fixture, os.DirFS(filepath.Join("..", "testdata", "projectgraph", "gorepo"))); err != nil {
		b.Fatal(err)
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name, root, file, at string
	}{
		{"fixture", fixture, "main.go", "c.Total()))"},
		{"repo", repo, filepath.Join("lsp", "completion.go"), "texts := cleanCandidates(o.res.Candidates, j.req.N, j.req.MaxLines)"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p := &ProjectContext{Options: projectgraph.Options{NoCache: true}, NoWatch: true}
			defer p.Close()
			if err := p.Index(context.Background(), []WorkspaceFolder{{URI: fileURI(tc.root), Name: "ws"}}, func(int, string) {}); err != nil {
				b.Fatal(err)
			}
			path := filepath.Join(tc.root, tc.file)
			src, err := os.ReadFile(path)
			if err != nil {
				b.Fatal(err)
			}
			at := strings.Index(string(src), tc.at)
			if at < 0 {
				b.Fatalf("%q not in %s", tc.at, path)
			}
			at += len(tc.at)
			prefix := string(src[:at]) + "\n\t"
			req := CompletionRequest{Path: path, Prefix: prefix, Suffix: string(src[at:]), Line: strings.Count(prefix, "\n")}
			var blocks, tokens int
			cpu0 := processCPU()
			for b.Loop() {
				p.forget() // the cost of computing it, not of the line cache
				pb, _, err := p.Blocks(req, 512)
				if err != nil || len(pb.Blocks) == 0 {
					b.Fatalf("%d blocks, %v", len(pb.Blocks), err)
				}
				blocks, tokens = len(pb.Blocks), pb.Tokens
			}
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
			b.ReportMetric(float64(blocks), "blocks")
			b.ReportMetric(float64(tokens), "tokens")
		})
	}
}
