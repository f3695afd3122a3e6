package decode

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReusePlan(t *testing.T) {
	seq := func(from, n int) []int32 { // distinct tokens from, from+1, …
		out := make([]int32, n)
		for i := range out {
			out[i] = int32(from + i)
		}
		return out
	}
	cat := func(parts ...[]int32) []int32 {
		var out []int32
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	A, B, C, D := seq(100, 10), seq(200, 10), seq(300, 10), seq(400, 10)
	for _, tc := range []struct {
		name           string
		cached, prompt []int32
		minRun         int
		want           []run
	}{
		{"same prompt: all but the last token", cat(A, B), cat(A, B), 4, []run{{0, 0, 19}}},
		{"longer cached: the common prefix", cat(A, B, C), cat(A, B), 4, []run{{0, 0, 19}}},
		{"a deletion moves what follows", cat(A, B, C), cat(A, C, D), 4, []run{{0, 0, 10}, {20, 10, 10}}},
		{"an insertion is evaluated, what follows moves", cat(A, C, D), cat(A, B, C, D), 4, []run{{0, 0, 10}, {10, 20, 19}}},
		{"a new first token: runs move", cat(A, B), cat(seq(1, 1), A, B), 4, []run{{0, 1, 19}}},
		{"runs shorter than minRun are evaluated", cat(A, B), cat(seq(1, 1), A, B), 12, []run{{0, 1, 19}}},
		{"nothing shared", cat(A, B), cat(C, D), 4, nil},
		{"short common prefix kept, short run dropped", cat(A, B), cat(A[:2], seq(1, 3), A[5:8], C), 4, []run{{0, 0, 2}}},
		{"runs in another order", cat(A, B, C), cat(C, A, D), 4, []run{{20, 0, 10}, {0, 10, 10}}},
		{"the longest place wins", cat(A, B[:5], C, A, B), cat(D[:1], A, B), 4, []run{{25, 1, 19}}},
		{"off", cat(A, B), cat(seq(1, 1), A, B), 0, nil},
		{"one token", A, A[:1], 4, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := reusePlan(tc.cached, tc.prompt, tc.minRun)
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(run{})); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			// Every run must hold equal tokens and leave the last one.
			for _, r := range got {
				for k := range r.n {
					if tc.cached[r.src+k] != tc.prompt[r.dst+k] {
						t.Fatalf("run %+v: token %d differs", r, k)
					}
				}
				if r.dst+r.n >= len(tc.prompt) {
					t.Fatalf("run %+v covers the prompt's last token", r)
				}
			}
		})
	}
}
