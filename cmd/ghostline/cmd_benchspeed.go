package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ghostline-dev/ghostline/model"
	"github.com/ghostline-dev/ghostline/projectgraph/rusage"
)

func init() {
	register(&command{
		name:    "bench speed",
		summary: "prefill and decode speed (as llama-bench's pp512 and tg128) and peak memory",
		usage:   "--model PATH [--threads N] [--json] [--reps N]",
		setup: func(fs *flag.FlagSet) func([]string) error {
			path := fs.String("model", "", "GGUF model file")
			threads := fs.Int("threads", 0, "threads (0: one per core)")
			asJSON := fs.Bool("json", false, `print {"pp512":x,"tg128":x,"peak_mb":x} on stdout`)
			reps := fs.Int("reps", 3, "timed repetitions of each test (their mean is reported, as llama-bench -r)")
			return func(args []string) error {
				if len(args) > 0 {
					return usageError{"unexpected argument " + strconv.Quote(args[0])}
				}
				if *path == "" {
					return usageError{"--model is required"}
				}
				if *threads < 0 || *reps < 1 {
					return usageError{"--threads must not be negative and --reps must be at least 1"}
				}
				return benchSpeed(os.Stdout, os.Stderr, *path, *threads, *reps, *asJSON)
			}
		},
	})
}

// The two tests of llama-bench's default run, with its sizes: a 512-token
// prompt in one batch, and 128 tokens decoded one by one from an empty
// context.
const (
	benchPrompt = 512
	benchGen    = 128
)

type speedResult struct {
	PP512  float64 `json:"pp512"`
	TG128  float64 `json:"tg128"`
	PeakMB float64 `json:"peak_mb"`
}

// benchSpeed follows llama-bench: one untimed warm-up of each test, then
// reps timed runs from an empty cache; the rate is tokens / mean time.
// Token ids are fixed pseudo-random ids (the speed of a dense model does
// not depend on them).
func benchSpeed(stdout, stderr io.Writer, path string, threads, reps int, asJSON bool) error {
	m, err := loadModel(path, "cpu", threads)
	if err != nil {
		return err
	}
	defer m.Close()
	c := m.NewKVCache(benchPrompt + benchGen)
	prompt := make([]int32, benchPrompt)
	s := uint32(2463534242)
	for i := range prompt {
		s ^= s << 13
		s ^= s >> 17
		s ^= s << 5
		prompt[i] = int32(s % uint32(m.Vocab))
	}
	pp := func() (time.Duration, error) {
		c.Clear()
		t0 := time.Now()
		_, err := m.Forward(c, model.Batch{Tokens: prompt})
		return time.Since(t0), err
	}
	tg := func(n int) (time.Duration, error) {
		c.Clear()
		t0 := time.Now()
		for i := 0; i < n; i++ {
			// As llama-bench: one token per call, ids not sampled.
			if _, err := m.Decode(c, 0, int32(i), prompt[i]); err != nil {
				return 0, err
			}
		}
		return time.Since(t0), nil
	}
	fmt.Fprintf(stderr, "bench speed: %s, %d threads, %d reps\n", path, m.Backend().Threads(), reps)
	if _, err := pp(); err != nil {
		return fmt.Errorf("prefill warm-up: %w", err)
	}
	// Each run's CPU time goes to stderr: on a machine shared with other
	// work the CPU time per token moves far less than the wall-clock rate
	// (with more than one thread it includes the workers' spinning).
	var ppT time.Duration
	for r := 0; r < reps; r++ {
		cpu0 := rusage.CPUSeconds()
		d, err := pp()
		if err != nil {
			return fmt.Errorf("prefill: %w", err)
		}
		cpu := rusage.CPUSeconds() - cpu0
		fmt.Fprintf(stderr, "  pp%d run %d: %.1f tok/s (cpu %.2f s, %.2f ms/token)\n", benchPrompt, r+1, benchPrompt/d.Seconds(), cpu, 1e3*cpu/benchPrompt)
		ppT += d
	}
	if _, err := tg(1); err != nil {
		return fmt.Errorf("decode warm-up: %w", err)
	}
	var tgT time.Duration
	for r := 0; r < reps; r++ {
		cpu0 := rusage.CPUSeconds()
		d, err := tg(benchGen)
		if err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		cpu := rusage.CPUSeconds() - cpu0
		fmt.Fprintf(stderr, "  tg%d run %d: %.2f tok/s (cpu %.2f s, %.2f ms/token)\n", benchGen, r+1, benchGen/d.Seconds(), cpu, 1e3*cpu/benchGen)
		tgT += d
	}
	res := speedResult{
		PP512:  round2(float64(benchPrompt*reps) / ppT.Seconds()),
		TG128:  round2(float64(benchGen*reps) / tgT.Seconds()),
		PeakMB: round2(peakRSSMB()),
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "pp%d: %.2f tok/s\ntg%d: %.2f tok/s\npeak memory: %.1f MB\n", benchPrompt, res.PP512, benchGen, res.TG128, res.PeakMB)
	return nil
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

// peakRSSMB is the process's peak resident set in MB (10^6 bytes): VmHWM
// from /proc/self/status, or getrusage's maxrss (rusage.PeakBytes) where /proc is absent. It
// counts the resident pages of the mmapped weights, as llama.cpp's memory
// does when it maps the file.
func peakRSSMB() float64 {
	if f, err := os.Open("/proc/self/status"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
				fs := strings.Fields(rest)
				if len(fs) == 2 && fs[1] == "kB" {
					if kb, err := strconv.ParseFloat(fs[0], 64); err == nil {
						return kb * 1024 / 1e6
					}
				}
			}
		}
	}
	return rusage.PeakBytes() / 1e6
}
