package backend_test

import (
	"strings"
	"testing"

	"github.com/ghostline-dev/ghostline/model/backend"
	_ "github.com/ghostline-dev/ghostline/model/backend/cpu" // registers "cpu"
)

// TestNewChecksThreads: a thread count from a flag or a setting reaches
// New unchecked; out of range it must be an error, not thousands of
// locked OS threads and a runtime crash.
func TestNewChecksThreads(t *testing.T) {
	for _, tc := range []struct {
		threads int
		ok      bool
	}{{0, true}, {2, true}, {backend.MaxThreads, true}, {-1, false}, {backend.MaxThreads + 1, false}, {1 << 20, false}} {
		_, err := backend.New("cpu", tc.threads)
		if (err == nil) != tc.ok {
			t.Errorf("New(cpu, %d): %v, want ok=%v", tc.threads, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "threads") {
			t.Errorf("New(cpu, %d): %q does not name the threads", tc.threads, err)
		}
	}
	if _, err := backend.New("cuda", 1); err == nil || !strings.Contains(err.Error(), "not available") {
		t.Errorf("New(cuda) in a build without it: %v", err)
	}
}
