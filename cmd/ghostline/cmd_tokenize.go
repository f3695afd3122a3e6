package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/ghostline-dev/ghostline/model/tokenizer"
)

// tokenize and detokenize expose the model's tokenizer for scripts and for
// checking it against other implementations. Their flags and JSON shapes are
// a public contract (issue 3).

func init() {
	register(&command{
		name:    "tokenize",
		summary: `tokenize stdin with a model's tokenizer; prints {"tokens":[ids]}`,
		usage:   "--model PATH [--bos auto|true|false] [--parse-special] [--jsonl]",
		setup: func(fs *flag.FlagSet) func(args []string) error {
			model := fs.String("model", "", "GGUF file holding the tokenizer (a vocab-only GGUF is enough; required)")
			bos := fs.String("bos", "false", "prepend BOS: true, false, or auto (BOS, and EOS, as the model's metadata says)")
			parseSpecial := fs.Bool("parse-special", false, `match control-token texts such as "<fim_prefix>" in the input as those tokens`)
			jsonl := fs.Bool("jsonl", false, `read one JSON string per line; print one {"tokens":[...]} line for each, in order`)
			return func(args []string) error {
				if len(args) > 0 {
					return usageError{"takes no arguments (the text comes on stdin)"}
				}
				if *model == "" {
					return usageError{"--model is required"}
				}
				tk, err := tokenizer.Open(*model)
				if err != nil {
					return err
				}
				var opt tokenizer.EncodeOptions
				switch *bos {
				case "true":
					opt.AddBOS = true
				case "false":
				case "auto":
					opt.AddBOS, opt.AddEOS = tk.AddBOS(), tk.AddEOS()
				default:
					return usageError{fmt.Sprintf("--bos must be auto, true or false, not %q", *bos)}
				}
				opt.ParseSpecial = *parseSpecial
				out := bufio.NewWriter(os.Stdout)
				if *jsonl {
					err = tokEncodeLines(tk, opt, os.Stdin, out)
				} else {
					var text []byte
					if text, err = io.ReadAll(os.Stdin); err != nil {
						return fmt.Errorf("read stdin: %w", err)
					}
					err = tokWriteJSON(out, tk.Encode(string(text), opt))
				}
				if err != nil {
					return err
				}
				return out.Flush()
			}
		},
	})
	register(&command{
		name:    "detokenize",
		summary: "turn token ids (a JSON array on stdin) back into text",
		usage:   "--model PATH",
		setup: func(fs *flag.FlagSet) func(args []string) error {
			model := fs.String("model", "", "GGUF file holding the tokenizer (a vocab-only GGUF is enough; required)")
			return func(args []string) error {
				if len(args) > 0 {
					return usageError{"takes no arguments (the ids come on stdin)"}
				}
				if *model == "" {
					return usageError{"--model is required"}
				}
				tk, err := tokenizer.Open(*model)
				if err != nil {
					return err
				}
				data, err := io.ReadAll(os.Stdin)
				if err != nil {
					return fmt.Errorf("read stdin: %w", err)
				}
				ids, err := tokParseIDs(data)
				if err != nil {
					return err
				}
				// The inverse of tokenize: a leading BOS (which tokenize adds,
				// it is not text) is dropped; other control tokens, such as
				// FIM markers, print as their text.
				if len(ids) > 0 && ids[0] == tk.Special().BOS {
					ids = ids[1:]
				}
				text, err := tk.Decode(ids, tokenizer.DecodeOptions{Special: true})
				if err != nil {
					return err
				}
				_, err = io.WriteString(os.Stdout, text)
				return err
			}
		},
	})
}

func tokWriteJSON(w io.Writer, ids []int32) error {
	b := make([]byte, 0, 16+len(ids)*6)
	b = append(b, `{"tokens":[`...)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(id), 10)
	}
	b = append(b, "]}\n"...)
	_, err := w.Write(b)
	return err
}

// tokEncodeLines handles --jsonl. Lines may be of any length; blank lines are
// skipped.
func tokEncodeLines(tk *tokenizer.Tokenizer, opt tokenizer.EncodeOptions, in io.Reader, out io.Writer) error {
	r := bufio.NewReaderSize(in, 1<<16)
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var text string
			if jerr := json.Unmarshal(line, &text); jerr != nil {
				return fmt.Errorf("stdin line %d: not a JSON string: %v", n, jerr)
			}
			if werr := tokWriteJSON(out, tk.Encode(text, opt)); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read stdin: %w", err)
		}
	}
}

// tokParseIDs reads a JSON array of token ids, or the {"tokens":[...]} object
// tokenize prints.
func tokParseIDs(data []byte) ([]int32, error) {
	var raw []int64
	if err := json.Unmarshal(data, &raw); err != nil {
		var obj struct {
			Tokens *[]int64 `json:"tokens"`
		}
		if oerr := json.Unmarshal(data, &obj); oerr != nil || obj.Tokens == nil {
			return nil, fmt.Errorf("stdin: expected a JSON array of token ids: %v", err)
		}
		raw = *obj.Tokens
	}
	ids := make([]int32, len(raw))
	for i, x := range raw {
		if x < 0 || x > 1<<31-1 {
			return nil, fmt.Errorf("token id %d out of range", x)
		}
		ids[i] = int32(x)
	}
	return ids, nil
}
