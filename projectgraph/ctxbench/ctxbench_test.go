package ctxbench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ghostline-dev/ghostline/projectgraph"
)

func TestWords(t *testing.T) {
	got := words("x := strings.Index(s2, \"a_b\") + 3x")
	want := []string{"x", "strings", "Index", "s2", "a_b", "x"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("words (-want +got):\n%s", diff)
	}
}

func TestCutLine(t *testing.T) {
	src := []byte("a\n\t\tfoo(bar)\nb\n")
	got, col := cutLine(src, 2)
	if string(got) != "a\n\t\t\nb\n" || col != 3 {
		t.Errorf("cutLine = %q, col %d", got, col)
	}
	if got, col := cutLine(src, 9); string(got) != string(src) || col != 1 {
		t.Errorf("cutLine past the end = %q, %d", got, col)
	}
}

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// The baselines rank the window that shares the query's rare words first,
// never return the query's own file, and pack within the budget.
func TestBaselines(t *testing.T) {
	root := writeTree(t, map[string]string{
		"go.mod":    "module m\n",
		"a/a.go":    "package a\n\nfunc zebraQuux(giraffe int) int { return giraffe }\n",
		"b/b.go":    "package b\n\nfunc other(x int) int { return x }\n",
		"c/main.go": "package c\n\nfunc f() {\n\tgiraffe := 1\n\t_ = zebraQuux(giraffe)\n}\n",
	})
	ix, err := projectgraph.Open(context.Background(), root, projectgraph.Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	ws := buildWindows(ix)
	q := words("giraffe := 1\n_ = zebraQuux(giraffe)")
	for name, ranked := range map[string][]scored{"jaccard": ws.jaccard(q, "c/main.go"), "bm25": ws.bm25(q, "c/main.go")} {
		if len(ranked) == 0 || ws.list[ranked[0].w].file != "a/a.go" {
			t.Errorf("%s: a/a.go not ranked first: %+v", name, ranked)
		}
		for _, s := range ranked {
			if ws.list[s.w].file == "c/main.go" {
				t.Errorf("%s ranked the query's own file", name)
			}
		}
		counter := projectgraph.ApproxCounter{}
		for _, budget := range []int{0, 3, 10, 1000} {
			spans := ws.pack(ranked, budget, counter)
			used := 0
			for _, sp := range spans {
				lines := strings.Split(readLines(t, root, sp.Path), "\n")
				used += counter.Count(strings.Join(lines[sp.Start-1:sp.End], "\n"))
			}
			if used > budget {
				t.Errorf("%s: budget %d exceeded: %d", name, budget, used)
			}
		}
	}
	defs := []def{{file: "a/a.go", line: 3}}
	if n := covered(defs, ws.pack(ws.bm25(q, "c/main.go"), 1000, projectgraph.ApproxCounter{})); n != 1 {
		t.Errorf("covered = %d, want 1", n)
	}
	if n := covered(defs, nil); n != 0 {
		t.Errorf("covered by nothing = %d", n)
	}
}

func readLines(t *testing.T, root, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Recall's completion cases are its first targets laid out around the
// cursor: prefix + truth + suffix is the original file, the cursor stands
// after the indentation, and both context methods' blocks are there, the
// projectgraph ones showing the cross-file definition the line uses.
func TestCases(t *testing.T) {
	files := map[string]string{
		"go.mod":    "module m\n\ngo 1.21\n",
		"a/a.go":    "package a\n\n// ZebraQuux doubles giraffe.\nfunc ZebraQuux(giraffe int) int { return 2 * giraffe }\n",
		"a/b.go":    "package a\n\nfunc helper(x int) int {\n\treturn ZebraQuux(x) + 1\n}\n",
		"c/main.go": "package c\n\nimport \"m/a\"\n\nfunc f() int {\n\tgiraffe := 1\n\treturn a.ZebraQuux(giraffe)\n}\n",
	}
	root := writeTree(t, files)
	ix, err := projectgraph.Open(context.Background(), root, projectgraph.Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Recall(context.Background(), ix, Options{Root: root, Packages: []string{"./..."}, Targets: 10, Budgets: []int{256},
		Seed: 1, Cases: 5, CaseBudget: 256})
	if err != nil {
		t.Fatal(err)
	}
	if res.Targets != 2 || len(res.Cases) != 2 {
		t.Fatalf("%d targets, %d cases; want 2 and 2 (a/b.go:4 and c/main.go:7)", res.Targets, len(res.Cases))
	}
	for _, c := range res.Cases {
		if got := c.Prefix + c.Truth + c.Suffix; got != files[c.Path] {
			t.Errorf("%s:%d: prefix+truth+suffix =\n%q\nwant\n%q", c.Path, c.Line, got, files[c.Path])
		}
		if !strings.HasSuffix(c.Prefix, "\n\t") || c.Col != 2 || !strings.HasPrefix(c.Suffix, "\n") {
			t.Errorf("%s:%d: cursor not after the indentation: col %d, prefix ends %q", c.Path, c.Line, c.Col, c.Prefix[max(0, len(c.Prefix)-5):])
		}
		if !strings.Contains(c.Truth, "ZebraQuux(") {
			t.Errorf("%s:%d: truth %q", c.Path, c.Line, c.Truth)
		}
		shows := false
		for _, b := range c.Context["projectgraph"] {
			if b.Path == "a/a.go" && strings.Contains(b.Text, "func ZebraQuux(giraffe int) int") {
				shows = true
			}
		}
		if !shows || c.ContextTokens["projectgraph"] <= 0 || c.ContextTokens["projectgraph"] > 256 {
			t.Errorf("%s:%d: projectgraph context %+v (%d tokens) does not show ZebraQuux within the budget", c.Path, c.Line, c.Context["projectgraph"], c.ContextTokens["projectgraph"])
		}
		if _, ok := c.Context["jaccard"]; !ok {
			t.Errorf("%s:%d: no jaccard entry", c.Path, c.Line)
		}
		for _, b := range c.Context["jaccard"] {
			if b.Path == c.Path {
				t.Errorf("%s:%d: jaccard shows the file itself", c.Path, c.Line)
			}
		}
	}
	none, err := Recall(context.Background(), ix, Options{Root: root, Packages: []string{"./..."}, Targets: 10, Budgets: []int{256}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(none.Cases) != 0 || none.Recall["projectgraph"][256] != res.Recall["projectgraph"][256] {
		t.Errorf("without Cases: %d cases, recall %v (with: %v)", len(none.Cases), none.Recall, res.Recall)
	}
}
