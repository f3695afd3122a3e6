package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestBenchSpeedResult runs bench speed on a tiny fixture model and checks
// the --json contract: one object with exactly pp512, tg128 and peak_mb,
// all positive; progress goes to stderr.
func TestBenchSpeedResult(t *testing.T) {
	model := sharedFixture(t, "models/qwen2-q8_0.gguf")
	var stdout, stderr bytes.Buffer
	if err := benchSpeed(&stdout, &stderr, model, 2, 1, true); err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.Number
	if err := json.Unmarshal(stdout.Bytes(), &raw); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout.String())
	}
	m := map[string]float64{}
	for k, v := range raw {
		f, err := v.Float64()
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		m[k] = f
	}
	if len(m) != 3 {
		t.Errorf("keys %v, want exactly pp512, tg128, peak_mb", m)
	}
	for _, k := range []string{"pp512", "tg128", "peak_mb"} {
		if m[k] <= 0 {
			t.Errorf("%s = %v, want > 0", k, m[k])
		}
	}
	if !strings.Contains(stderr.String(), "pp512 run 1") || !strings.Contains(stderr.String(), "tg128 run 1") {
		t.Errorf("no progress on stderr: %q", stderr.String())
	}
}

func TestBenchSpeedUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "speed"},
		{"bench", "speed", "--model", "x.gguf", "--reps", "0"},
		{"bench", "speed", "--model", "x.gguf", "extra"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code == 0 || stdout.Len() != 0 || !strings.HasPrefix(stderr.String(), "ghostline bench speed: ") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, stdout.String(), stderr.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"bench", "speed", "--model", "/nonexistent/m.gguf"}, &stdout, &stderr); code == 0 || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("missing model: exit %d, stderr %q", code, stderr.String())
	}
}
