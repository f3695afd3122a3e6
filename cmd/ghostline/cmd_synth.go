package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/ghostline-dev/ghostline/model"
	"github.com/ghostline-dev/ghostline/model/gguf"
)

func init() {
	register(&command{
		name:    "model synth",
		summary: "write a random-weight model of a real model's shape (for benchmarks)",
		usage:   "--like " + strings.Join(model.ShapeNames(), "|") + " --out PATH [--arch llama|qwen2|starcoder2] [--type f16|q8_0|q4_k_m|...] [--vocab VOCAB.gguf]",
		setup: func(fs *flag.FlagSet) func([]string) error {
			arch := fs.String("arch", "", "architecture (default: the --like model's)")
			like := fs.String("like", "", "real model whose shape to copy: "+strings.Join(model.ShapeNames(), ", "))
			typ := fs.String("type", "q8_0", "file type: "+strings.Join(model.FileTypes(), ", "))
			vocab := fs.String("vocab", "", "GGUF file whose tokenizer to embed (sets the vocabulary size)")
			out := fs.String("out", "", "output GGUF path")
			seed := fs.Uint64("seed", 1, "random seed")
			threads := fs.Int("threads", 0, "threads (0: one per core)")
			return func(args []string) error {
				if len(args) > 0 {
					return usageError{"unexpected argument " + strconv.Quote(args[0])}
				}
				shape, ok := model.Shapes[*like]
				if !ok {
					return usageError{fmt.Sprintf("--like must be one of %s", strings.Join(model.ShapeNames(), ", "))}
				}
				if *out == "" {
					return usageError{"--out is required"}
				}
				a := *arch
				if a == "" {
					a = shape.Arch
				}
				o := model.SynthOptions{Arch: a, Shape: shape, Type: *typ, Seed: *seed, Threads: *threads,
					Name: "random " + *like + " (" + *typ + ")"}
				if *vocab != "" {
					vf, err := gguf.Open(*vocab)
					if err != nil {
						return err
					}
					defer vf.Close()
					o.Vocab = vf
				}
				start := time.Now()
				var bar *progressbar.ProgressBar
				o.Progress = func(done, total int64) {
					if bar == nil {
						bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(os.Stderr),
							progressbar.OptionShowBytes(true), progressbar.OptionSetDescription("synth "+*like+" "+*typ),
							progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
					}
					bar.Set64(done)
				}
				w, err := model.Synth(o)
				if err != nil {
					return err
				}
				if bar != nil {
					bar.Finish()
				}
				if err := w.WriteFile(*out); err != nil {
					return err
				}
				st, err := os.Stat(*out)
				if err != nil {
					return err
				}
				fmt.Fprintf(os.Stderr, "wrote %s: %s %s, %.1f MB in %.1fs\n", *out, a, *typ, float64(st.Size())/1e6, time.Since(start).Seconds())
				return nil
			}
		},
	})
}
