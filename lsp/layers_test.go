package lsp

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestCoreImportsNoEngine holds the package comment's promise: the server
// core reaches the engine, astguard and the project graph only through its
// interfaces, so that it is tested with fakes. Only the adapters import
// them.
func TestCoreImportsNoEngine(t *testing.T) {
	adapters := map[string]bool{"engine.go": true, "trees.go": true, "project.go": true}
	banned := []string{"/decode", "/astguard", "/projectgraph", "/model"}
	ents, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || adapters[name] {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range f.Imports {
			path, _ := strconv.Unquote(im.Path.Value)
			for _, b := range banned {
				if strings.HasPrefix(path, "github.com/ghostline-dev/ghostline"+b) {
					t.Errorf("%s imports %s: the server core must reach it through an interface", name, path)
				}
			}
		}
	}
}
