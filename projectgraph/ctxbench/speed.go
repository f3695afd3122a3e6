package ctxbench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"time"

	sitter "github.com/smacker/go-tree-sitter"

	"github.com/ghostline-dev/ghostline/projectgraph"
	"github.com/ghostline-dev/ghostline/projectgraph/rusage"
)

// SpeedResult holds the indexing figures of one run. Times are wall
// clock; CPU figures are user+system time of the whole process over the
// same interval, which is what stays comparable on a shared machine.
type SpeedResult struct {
	Files, Symbols, Edges int
	IndexSeconds          float64 // fresh index, empty cache
	IndexCPUSeconds       float64
	PeakMB                float64 // process peak RSS right after indexing
	ParseSeconds          float64 // plain tree-sitter parse of the same files, same worker count
	ParseCPUSeconds       float64
	GoListSeconds         float64 // `go list -deps std`
	ReloadSeconds         float64 // Open again from the cache, nothing changed
	ReloadCPUSeconds      float64
	UpdateP50, UpdateP99  time.Duration // one file rewritten → Update
	// UpdateCPUP50 and UpdateCPUP99: process CPU time per update (GC
	// included), comparable on a loaded machine.
	UpdateCPUP50, UpdateCPUP99 time.Duration
	Updates                    int
}

func cpuSeconds() float64 { return rusage.CPUSeconds() }

// Speed indexes root (a copy of it, made in a temporary directory, so
// the update benchmark may rewrite files) and times the comparisons. It
// returns the index of the copy for the recall run; cleanup removes the
// copy.
func Speed(ctx context.Context, root string, updates int, log io.Writer) (res *SpeedResult, ix *projectgraph.Index, cleanup func(), err error) {
	if log == nil {
		log = io.Discard
	}
	tmp, err := os.MkdirTemp("", "ghostline-bench-")
	if err != nil {
		return nil, nil, nil, err
	}
	cleanup = func() { os.RemoveAll(tmp) }
	defer func() {
		if err != nil {
			cleanup()
		}
	}()
	work := filepath.Join(tmp, "src")
	fmt.Fprintf(log, "copying %s to %s…\n", root, work)
	if out, err := exec.CommandContext(ctx, "cp", "-a", root, work).CombinedOutput(); err != nil {
		return nil, nil, nil, fmt.Errorf("copy %s: %v: %s", root, err, out)
	}
	// The copy's module (GOROOT/src says "module std") resolves the same.
	cache := filepath.Join(tmp, "cache")
	opt := projectgraph.Options{Config: projectgraph.Config{CacheDir: cache}}
	res = &SpeedResult{}

	fmt.Fprintf(log, "indexing (fresh)…\n")
	runtime.GC()
	c0, t0 := cpuSeconds(), time.Now()
	ix, err = projectgraph.Open(ctx, work, opt)
	if err != nil {
		return nil, nil, nil, err
	}
	res.IndexSeconds, res.IndexCPUSeconds = time.Since(t0).Seconds(), cpuSeconds()-c0
	res.PeakMB = rusage.PeakMB()
	st := ix.Stats()
	res.Files, res.Symbols, res.Edges = st.Files, st.Symbols, st.Edges

	fmt.Fprintf(log, "plain tree-sitter parse…\n")
	c0, t0 = cpuSeconds(), time.Now()
	if err := parseAll(ctx, work, ix.Files()); err != nil {
		return nil, nil, nil, err
	}
	res.ParseSeconds, res.ParseCPUSeconds = time.Since(t0).Seconds(), cpuSeconds()-c0

	fmt.Fprintf(log, "go list -deps std…\n")
	t0 = time.Now()
	cmd := exec.CommandContext(ctx, "go", "list", "-deps", "std")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, nil, nil, fmt.Errorf("go list -deps std: %v: %s", err, out)
	}
	res.GoListSeconds = time.Since(t0).Seconds()

	fmt.Fprintf(log, "reload from cache…\n")
	runtime.GC()
	c0, t0 = cpuSeconds(), time.Now()
	if _, err := projectgraph.Open(ctx, work, opt); err != nil {
		return nil, nil, nil, err
	}
	res.ReloadSeconds, res.ReloadCPUSeconds = time.Since(t0).Seconds(), cpuSeconds()-c0

	fmt.Fprintf(log, "%d single-file updates…\n", updates)
	files := ix.Files()
	var lat, cpu []time.Duration
	for i := 0; i < updates && len(files) > 0; i++ {
		p := filepath.Join(work, filepath.FromSlash(files[(i*7919)%len(files)]))
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if err := os.WriteFile(p, append(data, fmt.Sprintf("\n// edit %d\n", i)...), 0o644); err != nil {
			return nil, nil, nil, err
		}
		t0, c0 = time.Now(), cpuSeconds()
		if err := ix.Update(ctx, []string{p}); err != nil {
			return nil, nil, nil, err
		}
		lat = append(lat, time.Since(t0))
		cpu = append(cpu, time.Duration((cpuSeconds()-c0)*float64(time.Second)))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return nil, nil, nil, err
		}
		if err := ix.Update(ctx, []string{p}); err != nil {
			return nil, nil, nil, err
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		res.Updates = len(lat)
		res.UpdateP50 = lat[len(lat)/2]
		res.UpdateP99 = lat[min(len(lat)-1, len(lat)*99/100)]
		sort.Slice(cpu, func(i, j int) bool { return cpu[i] < cpu[j] })
		res.UpdateCPUP50 = cpu[len(cpu)/2]
		res.UpdateCPUP99 = cpu[min(len(cpu)-1, len(cpu)*99/100)]
	}
	return res, ix, cleanup, nil
}

// parseAll reads and parses every file with tree-sitter and nothing else,
// on GOMAXPROCS workers as the index does.
func parseAll(ctx context.Context, root string, files []string) error {
	jobs := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := sitter.NewParser()
			defer p.Close()
			for f := range jobs {
				src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
				if err != nil {
					continue
				}
				g := projectgraph.LangOf(f).Grammar()
				if g == nil {
					continue
				}
				p.SetLanguage(g)
				tree, err := p.ParseCtx(context.Background(), nil, src)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("parse %s: %w", f, err)
					}
					mu.Unlock()
					continue
				}
				tree.Close()
			}
		}()
	}
	for _, f := range files {
		if ctx.Err() != nil {
			break
		}
		jobs <- f
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}
