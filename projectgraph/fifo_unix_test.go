//go:build unix

package projectgraph

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A named pipe where a file is read (an ignore file, a config, a source
// file made a FIFO after the scan) must not block the index: os.ReadFile
// would wait for a writer forever.
func TestFIFOsDoNotBlock(t *testing.T) {
	root := writeFiles(t, map[string]string{
		"go.mod": "module ex.com/m\n",
		"a/a.go": "package a\n\nfunc A() {}\n",
		"b/b.go": "package b\n\nimport \"ex.com/m/a\"\n\nfunc B() { a.A() }\n",
		"c/c.go": "package c\n",
	})
	for _, p := range []string{".gitignore", "b/.ghostlineignore", "c/go.mod"} {
		if err := syscall.Mkfifo(filepath.Join(root, filepath.FromSlash(p)), 0o644); err != nil {
			t.Skip("cannot make a FIFO here:", err)
		}
	}
	done := make(chan error, 1)
	go func() {
		ix, err := Open(context.Background(), root, Options{NoCache: true})
		if err == nil {
			_, err = ix.Context(Request{Path: "b/b.go", Line: 5, Col: 12, Budget: 200})
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("indexing a workspace with FIFOs hangs")
	}
}
