package tokenizer

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// goSource returns about 1 MB of real Go source from the Go distribution.
func goSource(b *testing.B) string {
	b.Helper()
	root := runtime.GOROOT()
	var src []byte
	for _, f := range []string{"src/net/http/server.go", "src/go/parser/parser.go", "src/runtime/proc.go", "src/cmd/compile/internal/ssa/rewriteAMD64.go"} {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue
		}
		src = append(src, data...)
		if len(src) > 1<<20 {
			break
		}
	}
	if len(src) == 0 {
		b.Skip("no Go source found under GOROOT")
	}
	return string(src)
}

// BenchmarkEncodeGoSource measures tokenization throughput (MB/s of Go
// source, one goroutine) for each fixture vocabulary. The word cache starts
// empty in the first iteration only; later ones measure the steady state an
// editor session sees. MB/s-cpu divides by the process's CPU time, which
// stays meaningful when other processes share the cores.
func BenchmarkEncodeGoSource(b *testing.B) {
	dir := filepath.Join(sharedDir(b), "vocab")
	src := goSource(b)
	for _, name := range []string{"deepseek-coder", "starcoder", "gpt-2", "llama-spm"} {
		b.Run(name, func(b *testing.B) {
			tk := loadTokenizer(b, filepath.Join(dir, "ggml-vocab-"+name+".gguf"))
			b.SetBytes(int64(len(src)))
			b.ResetTimer()
			cpu0 := processCPU()
			for i := 0; i < b.N; i++ {
				tk.Encode(src, EncodeOptions{})
			}
			if cpu := processCPU() - cpu0; cpu > 0 {
				b.ReportMetric(float64(len(src))*float64(b.N)/cpu.Seconds()/1e6, "MB/s-cpu")
			}
		})
	}
}
