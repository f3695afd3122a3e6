package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/ghostline-dev/ghostline/projectgraph"
)

func init() {
	register(&command{
		name:    "context",
		summary: "show the cross-file context packed for a cursor (definitions, graph neighbours)",
		usage:   "--file F --line L [--col C] [--root DIR] [--budget N] [--model PATH] [--json]",
		setup: func(fs *flag.FlagSet) func(args []string) error {
			file := fs.String("file", "", "the file being edited (required)")
			line := fs.Int("line", 0, "cursor line, 1-based (required)")
			col := fs.Int("col", 1, "cursor column, 1-based, in Unicode code points")
			root := fs.String("root", "", "workspace root (default: nearest ancestor with .git, go.mod, package.json, pyproject.toml or Cargo.toml)")
			budget := fs.Int("budget", 1024, "token budget for all blocks together")
			model := fs.String("model", "", "GGUF file whose tokenizer counts tokens (a vocab-only GGUF is enough)")
			asJSON := fs.Bool("json", false, `print {"tokens":N,"blocks":[{"path":…,"text":…,"reason":…}]}`)
			return func(args []string) error {
				if len(args) > 0 {
					return usageError{"takes no arguments (use --file, --line, --col)"}
				}
				if *file == "" || *line < 1 || *col < 1 {
					return usageError{"--file and --line (and --col, if given) are required and 1-based"}
				}
				if *budget < 0 {
					return usageError{"--budget must not be negative"}
				}
				// The cursor must be in the file, as for complete; checked
				// before the index is opened (which may build it).
				text, err := readSource(*file)
				if err != nil {
					return err
				}
				if _, err := splitAt(text, *line, *col); err != nil {
					return fmt.Errorf("%s: %w", *file, err)
				}
				counter, err := tokenCounter(*model)
				if err != nil {
					return err
				}
				ix, abs, err := openIndexForFile(*file, *root)
				if err != nil {
					return err
				}
				res, err := ix.Context(projectgraph.Request{Path: abs, Line: *line, Col: *col, Budget: *budget, Counter: counter})
				if err != nil {
					return err
				}
				if *asJSON {
					blocks := res.Blocks
					if blocks == nil {
						blocks = []projectgraph.Block{}
					}
					return json.NewEncoder(os.Stdout).Encode(struct {
						Tokens int                  `json:"tokens"`
						Blocks []projectgraph.Block `json:"blocks"`
					}{res.Tokens, blocks})
				}
				for _, b := range res.Blocks {
					fmt.Printf("==> %s (%s)\n%s\n\n", b.Path, b.Reason, b.Text)
				}
				fmt.Printf("%d blocks, %d of %d tokens\n", len(res.Blocks), res.Tokens, *budget)
				return nil
			}
		},
	})
}
