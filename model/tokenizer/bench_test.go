package tokenizer

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// goSource returns about 1 MB of hand-written Go source from the Go
// distribution (net/http, go/types, runtime; no tests, no generated files,
// whose repetition would flatter the word cache).
func goSource(b *testing.B) string {
	b.Helper()
	root := runtime.GOROOT()
	var src []byte
	for _, dir := range []string{"src/net/http", "src/go/types", "src/runtime"} {
		files, _ := filepath.Glob(filepath.Join(root, dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			data, err := os.ReadFile(f)
			if err != nil || bytes.Contains(data, []byte("// Code generated")) {
				continue
			}
			src = append(src, data...)
			if len(src) >= 1<<20 {
				return string(src)
			}
		}
	}
	if len(src) == 0 {
		b.Skip("no Go source found under GOROOT")
	}
	return string(src)
}

// BenchmarkEncodeGoSource measures tokenization throughput (MB/s of Go
// source, one goroutine) for each fixture vocabulary, in two states: "warm"
// keeps the word cache across iterations, as an editor session that
// re-tokenizes a file after each edit does; "cold" empties it before every
// iteration, as the first pass over a file. MB/s-cpu divides by the process's
// CPU time, which stays meaningful when other processes share the cores.
func BenchmarkEncodeGoSource(b *testing.B) {
	dir := filepath.Join(sharedDir(b), "vocab")
	src := goSource(b)
	for _, name := range []string{"deepseek-coder", "starcoder", "gpt-2", "llama-spm"} {
		for _, cold := range []bool{true, false} {
			state := "warm"
			if cold {
				state = "cold"
			}
			b.Run(name+"/"+state, func(b *testing.B) {
				tk := loadTokenizer(b, filepath.Join(dir, "ggml-vocab-"+name+".gguf"))
				b.SetBytes(int64(len(src)))
				b.ResetTimer()
				var cpu time.Duration
				for i := 0; i < b.N; i++ {
					if cold {
						b.StopTimer()
						if tk.bpe != nil {
							tk.bpe.cache = wordCache{}
						}
						tk.spmCache = wordCache{}
						b.StartTimer()
					}
					cpu0 := processCPU()
					tk.Encode(src, EncodeOptions{})
					cpu += processCPU() - cpu0
				}
				if cpu > 0 {
					b.ReportMetric(float64(len(src))*float64(b.N)/cpu.Seconds()/1e6, "MB/s-cpu")
				}
			})
		}
	}
}
