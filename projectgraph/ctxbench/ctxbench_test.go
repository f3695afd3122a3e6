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
