package projectgraph

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// The benchmarks run on the fixtures so CI can run each once
// (-benchtime=1x); `ghostline bench context` measures the Go standard
// library.

func BenchmarkIndexFixtures(b *testing.B) {
	for _, repo := range []string{"gorepo", "pyrepo", "tsrepo", "javarepo", "rustrepo", "crepo", "csrepo"} {
		b.Run(repo, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := Open(context.Background(), filepath.Join(fixtures, repo), Options{NoCache: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkContext(b *testing.B) {
	ix, err := Open(context.Background(), filepath.Join(fixtures, "gorepo"), Options{NoCache: true})
	if err != nil {
		b.Fatal(err)
	}
	for _, budget := range []int{512, 1024, 2048} {
		b.Run(fmt.Sprint(budget), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := ix.Context(Request{Path: "main.go", Line: 13, Col: 2, Budget: budget}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUpdateOneFile is the cost of a save: one file re-read,
// re-parsed and re-linked.
func BenchmarkUpdateOneFile(b *testing.B) {
	root := b.TempDir()
	src := filepath.Join(fixtures, "gorepo")
	_ = filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(root, rel), 0o755)
		}
		data, _ := os.ReadFile(p)
		return os.WriteFile(filepath.Join(root, rel), data, 0o644)
	})
	ix, err := Open(context.Background(), root, Options{NoCache: true})
	if err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(root, "cart", "cart.go")
	base, _ := os.ReadFile(p)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := os.WriteFile(p, append(base, fmt.Sprintf("\nfunc F%d() {}\n", i)...), 0o644); err != nil {
			b.Fatal(err)
		}
		if err := ix.Update(context.Background(), []string{p}); err != nil {
			b.Fatal(err)
		}
	}
}
