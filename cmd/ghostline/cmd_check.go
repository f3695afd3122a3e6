package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/ghostline-dev/ghostline/astguard"
)

// checkStdout is where check prints; tests replace it.
var checkStdout io.Writer

func init() {
	register(&command{
		name:    "check",
		summary: "list the syntax errors of a file (tree-sitter ERROR and MISSING nodes; exit 0 whenever the check ran)",
		usage:   "--lang L --file F [--json]",
		setup: func(fs *flag.FlagSet) func(args []string) error {
			lang := fs.String("lang", "", "LSP language identifier: "+astguard.SupportedList()+" (default: from the file extension)")
			file := fs.String("file", "", "the file to check (required)")
			asJSON := fs.Bool("json", false, `print {"errors":[{"line":…,"col":…,"kind":"error"|"missing","text":…}]} (line and col 1-based, col in Unicode code points)`)
			return func(args []string) error {
				if len(args) > 0 {
					return usageError{"takes no arguments (use --file)"}
				}
				if *file == "" {
					return usageError{"--file is required"}
				}
				var l astguard.Language
				var err error
				if *lang != "" {
					l, err = astguard.LanguageFromID(*lang)
				} else {
					l, err = astguard.LanguageFromPath(*file)
				}
				if err != nil {
					return err
				}
				src, err := readChecked(*file)
				if err != nil {
					return err
				}
				errs, err := astguard.SyntaxErrors(l, src)
				if err != nil {
					return fmt.Errorf("%s: %w", *file, err)
				}
				out := checkStdout
				if out == nil {
					out = os.Stdout
				}
				return printCheck(out, *file, errs, *asJSON)
			}
		},
	})
}

// readChecked reads a file for check, refusing one over astguard's size
// limit before reading it.
func readChecked(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("cannot read %s: %v", path, pe.Err)
		}
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a directory", path)
	}
	if st.Size() > astguard.MaxSourceBytes {
		return nil, fmt.Errorf("%s: %w: %d bytes, limit %d", path, astguard.ErrTooLarge, st.Size(), astguard.MaxSourceBytes)
	}
	// Read at most one byte past the limit: the file may grow meanwhile.
	src, err := io.ReadAll(io.LimitReader(f, astguard.MaxSourceBytes+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	return src, nil
}

// checkError is one error in check's JSON output; the field order is the
// public contract.
type checkError struct {
	Line int    `json:"line"`
	Col  int    `json:"col"`
	Kind string `json:"kind"`
	Text string `json:"text"`
}

func printCheck(w io.Writer, file string, errs []astguard.SyntaxError, asJSON bool) error {
	if asJSON {
		out := struct {
			Errors []checkError `json:"errors"`
		}{Errors: make([]checkError, 0, len(errs))}
		for _, e := range errs {
			out.Errors = append(out.Errors, checkError{Line: e.Line, Col: e.Col, Kind: string(e.Kind), Text: e.Text})
		}
		b, err := json.Marshal(out)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	bw := bufio.NewWriter(w)
	for _, e := range errs {
		fmt.Fprintf(bw, "%s:%d:%d: %s: %s\n", file, e.Line, e.Col, e.Kind, e.Text)
	}
	return bw.Flush()
}
