package astguard

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sitter "github.com/smacker/go-tree-sitter"
)

// sampleFiles names the committed valid sample of each language.
var sampleFiles = map[Language]string{
	Go: "sample.go", Python: "sample.py", JavaScript: "sample.js", TypeScript: "sample.ts",
	TSX: "sample.tsx", Java: "sample.java", C: "sample.c", Cpp: "sample.cpp", Rust: "sample.rs", CSharp: "sample.cs",
}

func readSample(t testing.TB, lang Language) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "samples", sampleFiles[lang]))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dumpTree renders every node with its kind, flags, byte range and points,
// so two trees compare equal only if they agree on all of them.
func dumpTree(n *sitter.Node) string {
	var b strings.Builder
	var visit func(n *sitter.Node, depth int)
	visit = func(n *sitter.Node, depth int) {
		flags := ""
		if n.IsMissing() {
			flags += "!missing"
		}
		if n.IsError() {
			flags += "!error"
		}
		fmt.Fprintf(&b, "%s%s%s [%d,%d) %d:%d-%d:%d\n", strings.Repeat(" ", depth), n.Type(), flags,
			n.StartByte(), n.EndByte(), n.StartPoint().Row, n.StartPoint().Column, n.EndPoint().Row, n.EndPoint().Column)
		for i := 0; i < int(n.ChildCount()); i++ {
			visit(n.Child(i), depth+1)
		}
	}
	visit(n, 0)
	return b.String()
}

// dumpLeaves renders only the leaves (tokens) with their ranges and points.
func dumpLeaves(n *sitter.Node) string {
	var b strings.Builder
	var visit func(n *sitter.Node)
	visit = func(n *sitter.Node) {
		if n.ChildCount() == 0 {
			fmt.Fprintf(&b, "%s [%d,%d) %d:%d-%d:%d\n", n.Type(), n.StartByte(), n.EndByte(),
				n.StartPoint().Row, n.StartPoint().Column, n.EndPoint().Row, n.EndPoint().Column)
		}
		for i := 0; i < int(n.ChildCount()); i++ {
			visit(n.Child(i))
		}
	}
	visit(n)
	return b.String()
}

// fullDump parses src from scratch and dumps the tree.
func fullDump(t testing.TB, lang Language, src []byte) string {
	t.Helper()
	d, err := NewDocument(lang, src)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	return dumpTree(d.Tree().RootNode())
}

// firstDiff shows where two dumps part, for readable failures.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d: incremental %q vs full %q", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("lengths differ: %d vs %d lines", len(al), len(bl))
}
