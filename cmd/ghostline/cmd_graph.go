package main

import (
	"flag"
	"fmt"
	"os"
	"sort"

	"github.com/dominikbraun/graph"
	"github.com/dominikbraun/graph/draw"
)

func init() {
	register(&command{
		name:    "graph",
		summary: "show a file's imports and importers from the project graph",
		usage:   "--file F [--root DIR] [--depth N] [--dot]",
		setup: func(fs *flag.FlagSet) func(args []string) error {
			file := fs.String("file", "", "the file (required)")
			depth := fs.Int("depth", 1, "how many import hops to follow in each direction")
			dot := fs.Bool("dot", false, "write Graphviz DOT instead of a listing")
			root := fs.String("root", "", "workspace root (default: nearest ancestor with .git, go.mod, package.json, pyproject.toml or Cargo.toml)")
			return func(args []string) error {
				if len(args) > 0 {
					return usageError{"takes no arguments (use --file)"}
				}
				if *file == "" {
					return usageError{"--file is required"}
				}
				if *depth < 1 {
					return usageError{"--depth must be at least 1"}
				}
				ix, abs, err := openIndexForFile(*file, *root)
				if err != nil {
					return err
				}
				rel, err := ix.Rel(abs)
				if err != nil {
					return err
				}
				if ix.File(rel) == nil {
					return fmt.Errorf("%s is not indexed (unsupported language, ignored, or skipped)", rel)
				}
				type edge struct{ from, to string }
				var edges []edge
				walk := func(next func(string) []string, forward bool) map[string]int {
					dist := map[string]int{rel: 0}
					frontier := []string{rel}
					for d := 1; d <= *depth && len(frontier) > 0; d++ {
						var nf []string
						for _, p := range frontier {
							for _, q := range next(p) {
								if forward {
									edges = append(edges, edge{p, q})
								} else {
									edges = append(edges, edge{q, p})
								}
								if _, ok := dist[q]; !ok {
									dist[q] = d
									nf = append(nf, q)
								}
							}
						}
						frontier = nf
					}
					delete(dist, rel)
					return dist
				}
				imports := walk(ix.Imports, true)
				importers := walk(ix.Importers, false)
				if *dot {
					g := graph.New(graph.StringHash, graph.Directed())
					_ = g.AddVertex(rel, graph.VertexAttribute("style", "bold"))
					for _, e := range edges {
						_ = g.AddVertex(e.from)
						_ = g.AddVertex(e.to)
						_ = g.AddEdge(e.from, e.to)
					}
					return draw.DOT(g, os.Stdout)
				}
				list := func(title string, m map[string]int) {
					fmt.Printf("%s (%d):\n", title, len(m))
					keys := make([]string, 0, len(m))
					for k := range m {
						keys = append(keys, k)
					}
					sort.Slice(keys, func(i, j int) bool {
						if m[keys[i]] != m[keys[j]] {
							return m[keys[i]] < m[keys[j]]
						}
						return keys[i] < keys[j]
					})
					for _, k := range keys {
						fmt.Printf("  %d  %s\n", m[k], k)
					}
				}
				fmt.Println(rel)
				list("imports", imports)
				list("importers", importers)
				return nil
			}
		},
	})
}
