package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/ghostline-dev/ghostline/model"
	"github.com/ghostline-dev/ghostline/model/backend"
	"github.com/ghostline-dev/ghostline/model/tokenizer"
)

func init() {
	register(&command{
		name:    "generate",
		summary: "print the greedy continuation of a prompt as it streams",
		usage:   "--model PATH --prompt TEXT [--n N] [--threads N] [--device NAME]",
		setup: func(fs *flag.FlagSet) func([]string) error {
			path := fs.String("model", "", "GGUF model file")
			prompt := fs.String("prompt", "", "prompt text (special-token texts such as <fim_prefix> are parsed)")
			n := fs.Int("n", 64, "tokens to generate (stops early at end of generation)")
			threads := fs.Int("threads", 0, "threads (0: one per core)")
			device := fs.String("device", "cpu", "backend: "+strings.Join(backend.Available(), ", ")+" in this build")
			return func(args []string) error {
				if len(args) > 0 {
					return usageError{"unexpected argument " + strconv.Quote(args[0])}
				}
				if *path == "" {
					return usageError{"--model is required"}
				}
				if *n < 0 {
					return usageError{"--n must not be negative"}
				}
				m, err := loadModel(*path, *device, *threads)
				if err != nil {
					return err
				}
				defer m.Close()
				tok, err := tokenizer.FromGGUF(m.File())
				if err != nil {
					return fmt.Errorf("%s: %w", *path, err)
				}
				return generate(m, tok, *prompt, *n)
			}
		},
	})
}

// generate prefills the prompt in one batch, then decodes greedily one
// token per call, writing text to stdout as soon as it is complete UTF-8.
func generate(m *model.Model, tok *tokenizer.Tokenizer, prompt string, n int) error {
	ids := tok.Encode(prompt, tok.DefaultOptions(true))
	if len(ids) == 0 {
		return usageError{"the prompt encodes to no tokens"}
	}
	c := m.NewKVCache(len(ids) + n)
	logits, err := m.Forward(c, model.Batch{Tokens: ids})
	if err != nil {
		return err
	}
	dec := tok.NewDecoder(tokenizer.DecodeOptions{})
	pos := int32(len(ids))
	for i := 0; i < n; i++ {
		id, _ := model.Argmax(logits)
		if tok.IsEOG(int32(id)) {
			break
		}
		os.Stdout.WriteString(dec.Add(int32(id)))
		if i == n-1 {
			break
		}
		if logits, err = m.Decode(c, 0, pos, int32(id)); err != nil {
			return err
		}
		pos++
	}
	os.Stdout.WriteString(dec.Flush())
	os.Stdout.WriteString("\n")
	return nil
}
