package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/ghostline-dev/ghostline/decode"
)

func init() {
	register(&command{
		name:    "complete",
		summary: "complete code at a cursor (or a JSONL batch of cursors) with the model",
		usage: "--file F --line L --col C [--model PATH] [--lang L] [--max-tokens N] [--beams N] [--json]\n" +
			"       ghostline complete --batch IN.jsonl --out OUT.jsonl [--model PATH]\n\n" +
			"L and C are 1-based; C counts Unicode code points. Batch input lines are\n" +
			`{"id","prefix","suffix","lang"} with optional "max_tokens" (default 128) and` + "\n" +
			`"multiline" ("auto", "always", "never"); output lines {"id","completion","stats"},` + "\n" +
			`with "replace" (bytes after the cursor the completion replaces) when it writes closers found there.` + "\n" +
			"Without --json, stdout holds the completion and stderr notes such closers." + "\n" +
			"A batch resumes: ids already in OUT are skipped.",
		setup: func(fs *flag.FlagSet) func([]string) error {
			o := completeFlags{}
			fs.StringVar(&o.model, "model", "", "model file or installed name (default: the default model)")
			fs.StringVar(&o.file, "file", "", "source file")
			fs.IntVar(&o.line, "line", 0, "cursor line, 1-based")
			fs.IntVar(&o.col, "col", 0, "cursor column, 1-based, in Unicode code points")
			fs.StringVar(&o.lang, "lang", "", "LSP language id (default: from the file extension; with --batch, for lines without \"lang\")")
			fs.IntVar(&o.maxTokens, "max-tokens", decode.DefaultMaxTokens, "most tokens to generate (with --batch, for lines without \"max_tokens\")")
			fs.IntVar(&o.beams, "beams", 1, fmt.Sprintf("beam width (1: greedy; at most %d)", decode.DefaultMaxBeamWidth))
			fs.BoolVar(&o.json, "json", false, "print JSON")
			fs.StringVar(&o.batch, "batch", "", "JSONL file of requests")
			fs.StringVar(&o.out, "out", "", "JSONL file of results (with --batch)")
			fs.StringVar(&o.multiline, "multiline", "auto", "auto, always or never (with --batch, for lines without \"multiline\")")
			fs.StringVar(&o.order, "order", decode.DefaultOrder.String(), "FIM order: spm (suffix first: the prefix cache reuses all but the last tokens) or psm")
			fs.StringVar(&o.astguard, "astguard", "off", "syntax constraints in beam search: on or off")
			fs.IntVar(&o.threads, "threads", 0, "CPU threads (0: one per core)")
			fs.IntVar(&o.parallel, "parallel", 4, "batch requests decoded together (continuous batching)")
			return func(args []string) error {
				if len(args) > 0 {
					return usageError{fmt.Sprintf("unexpected argument %q", args[0])}
				}
				if o.batch != "" {
					return runCompleteBatch(o, os.Stderr)
				}
				return runComplete(o, os.Stdout)
			}
		},
	})
}

type completeFlags struct {
	model, file, lang, batch, out, multiline, order, astguard string
	line, col, maxTokens, beams, threads, parallel            int
	json                                                      bool
}

// maxSourceBytes bounds the files complete reads: an editor buffer larger
// than this is not source code a completion model should see whole.
const maxSourceBytes = 8 << 20

// loadEngine resolves ref (a path, an installed name, "" for the default
// model) and starts an engine on it.
func loadEngine(ref string, threads int, opts decode.Options) (*decode.Loaded, error) {
	path, err := resolveModelPath(ref)
	if err != nil {
		return nil, err
	}
	return decode.Load(path, decode.LoadOptions{Threads: threads, Engine: opts})
}

func engineOptions(order string) (decode.Options, error) {
	o, err := decode.ParseOrder(order)
	if err != nil {
		return decode.Options{}, usageError{err.Error()}
	}
	return decode.Options{Order: o}, nil
}

// readSource reads a source file, refusing binary and oversized ones.
func readSource(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if fi.IsDir() {
		return "", fmt.Errorf("%s is a directory", path)
	}
	if fi.Size() > maxSourceBytes {
		return "", fmt.Errorf("%s is %d bytes, over the %d-byte limit for source files", path, fi.Size(), maxSourceBytes)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return "", fmt.Errorf("%s looks binary (it holds NUL bytes)", path)
	}
	return string(b), nil
}

// splitAt returns the byte offset of 1-based line and column (in code
// points) in text. The column may be one past the line's last character
// (the end of the line); a line's "\r\n" ending is not part of it.
func splitAt(text string, line, col int) (int, error) {
	if line < 1 || col < 1 {
		return 0, fmt.Errorf("line and column are 1-based (got line %d, column %d)", line, col)
	}
	off := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(text[off:], '\n')
		if i < 0 {
			return 0, fmt.Errorf("line %d is past the end of the file (%d lines)", line, l)
		}
		off += i + 1
	}
	end := strings.IndexByte(text[off:], '\n')
	if end < 0 {
		end = len(text) - off
	}
	lineText := strings.TrimSuffix(text[off:off+end], "\r")
	pos := 0
	for c := 1; c < col; c++ {
		if pos >= len(lineText) {
			return 0, fmt.Errorf("column %d is past the end of line %d (%d characters)", col, line, utf8.RuneCountInString(lineText))
		}
		_, n := utf8.DecodeRuneInString(lineText[pos:])
		pos += n
	}
	return off + pos, nil
}

// languageOf is the LSP language id for a path's extension ("" when
// unknown: the engine works without one).
func languageOf(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".go":
		return "go"
	case ".py", ".pyi":
		return "python"
	case ".js", ".mjs", ".cjs", ".jsx":
		return "javascript"
	case ".ts", ".mts", ".cts":
		return "typescript"
	case ".tsx":
		return "typescriptreact"
	case ".java":
		return "java"
	case ".c", ".h":
		return "c"
	case ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx":
		return "cpp"
	case ".rs":
		return "rust"
	case ".cs":
		return "csharp"
	}
	return ""
}

// completionJSON and statsJSON are the --json shapes of the issue's
// contract; field names and order are public.
type completionJSON struct {
	Text string `json:"text"`
	// Replace: how many bytes after the cursor, on its line, Text
	// replaces (closers the editor auto-inserted that Text writes
	// itself); absent when it is inserted.
	Replace      int     `json:"replace,omitempty"`
	Logprob      float64 `json:"logprob"`
	FinishReason string  `json:"finish_reason"`
}

type statsJSON struct {
	PromptTokens int     `json:"prompt_tokens"`
	CachedTokens int     `json:"cached_tokens"`
	TTFTms       float64 `json:"ttft_ms"`
	DecodeTokS   float64 `json:"decode_tok_s"`
	TotalMs      float64 `json:"total_ms"`
}

type resultJSON struct {
	Completions []completionJSON `json:"completions"`
	Stats       statsJSON        `json:"stats"`
}

func toStatsJSON(s decode.Stats) statsJSON {
	return statsJSON{
		PromptTokens: s.PromptTokens,
		CachedTokens: s.CachedTokens,
		TTFTms:       roundMilli(float64(s.TTFT.Microseconds()) / 1000),
		DecodeTokS:   roundMilli(s.DecodeTokPerSec()),
		TotalMs:      roundMilli(float64(s.Total.Microseconds()) / 1000),
	}
}

func roundMilli(x float64) float64 {
	return float64(int64(x*1000+0.5)) / 1000
}

func toResultJSON(r *decode.Result) resultJSON {
	out := resultJSON{Stats: toStatsJSON(r.Stats), Completions: []completionJSON{}}
	for _, c := range r.Completions {
		out.Completions = append(out.Completions, completionJSON{Text: c.Text, Replace: c.Replace, Logprob: roundMilli(c.LogProb), FinishReason: c.FinishReason})
	}
	return out
}

// withSyntax attaches astguard to req when asked; it returns a release
// function. An unsupported language decodes unconstrained (said on
// stderr): a completion is still useful.
func withSyntax(mode string, req *decode.Request, warn io.Writer) (func(), error) {
	switch mode {
	case "off", "":
		return func() {}, nil
	case "on":
	default:
		return nil, usageError{fmt.Sprintf("--astguard is on or off, not %q", mode)}
	}
	con, err := decode.NewSyntaxConstraint(req.Language, req.Path, req.Prefix, req.Suffix)
	if err != nil {
		fmt.Fprintf(warn, "astguard: %v; decoding without syntax constraints\n", err)
		return func() {}, nil
	}
	req.Constraint = con
	return con.Close, nil
}

// check validates the flags both modes share, before anything is read
// or loaded: a bad value fails at once, not after the model has loaded
// (or, in a batch, once per line).
func (o completeFlags) check() error {
	if o.beams < 1 || o.beams > decode.DefaultMaxBeamWidth {
		return usageError{fmt.Sprintf("--beams is 1 to %d, not %d", decode.DefaultMaxBeamWidth, o.beams)}
	}
	if o.maxTokens < 1 {
		return usageError{fmt.Sprintf("--max-tokens must be at least 1, not %d", o.maxTokens)}
	}
	if _, ok := decode.ParseMultiline(o.multiline); !ok {
		return usageError{fmt.Sprintf("--multiline is auto, always or never, not %q", o.multiline)}
	}
	if o.astguard != "on" && o.astguard != "off" {
		return usageError{fmt.Sprintf("--astguard is on or off, not %q", o.astguard)}
	}
	if o.threads < 0 {
		return usageError{fmt.Sprintf("--threads must not be negative, not %d", o.threads)}
	}
	return nil
}

func runComplete(o completeFlags, stdout io.Writer) error {
	if o.file == "" {
		return usageError{"--file is required (or --batch)"}
	}
	if o.line == 0 || o.col == 0 {
		return usageError{"--line and --col are required (1-based)"}
	}
	if err := o.check(); err != nil {
		return err
	}
	ml, _ := decode.ParseMultiline(o.multiline)
	text, err := readSource(o.file)
	if err != nil {
		return err
	}
	off, err := splitAt(text, o.line, o.col)
	if err != nil {
		return fmt.Errorf("%s: %w", o.file, err)
	}
	opts, err := engineOptions(o.order)
	if err != nil {
		return err
	}
	lang := o.lang
	if lang == "" {
		lang = languageOf(o.file)
	}
	req := decode.Request{
		Prefix: text[:off], Suffix: text[off:], Language: lang, Path: filepath.ToSlash(o.file),
		Limits: decode.Limits{MaxTokens: o.maxTokens},
		Beams:  decode.Beams{Width: o.beams, N: 1},
		Stop:   decode.StopRules{Multiline: ml},
	}
	release, err := withSyntax(o.astguard, &req, os.Stderr)
	if err != nil {
		return err
	}
	defer release()
	l, err := loadEngine(o.model, o.threads, opts)
	if err != nil {
		return err
	}
	defer l.Close()
	res, err := l.Complete(context.Background(), req)
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(stdout, toResultJSON(res))
	}
	c := res.Completions[0]
	if c.Replace > 0 && c.Replace <= len(req.Suffix) {
		// stdout holds only the text; the replaced closers are a note.
		fmt.Fprintf(os.Stderr, "ghostline: the completion replaces %q after the cursor\n", req.Suffix[:c.Replace])
	}
	_, err = fmt.Fprintln(stdout, c.Text)
	return err
}

// batchIn is one line of a --batch input.
type batchIn struct {
	ID        json.RawMessage `json:"id"`
	Prefix    *string         `json:"prefix"`
	Suffix    string          `json:"suffix"`
	Lang      string          `json:"lang"`
	MaxTokens *int            `json:"max_tokens"`
	Multiline string          `json:"multiline"`
}

type batchOut struct {
	ID         json.RawMessage `json:"id"`
	Completion string          `json:"completion"`
	Replace    int             `json:"replace,omitempty"` // as completionJSON's
	Stats      statsJSON       `json:"stats"`
}

// idKey canonicalises a JSON id so that resuming matches 7 and 7.0 or
// "a" written with different escapes. Numbers compare exactly (as
// rationals), not as float64, which would merge ids beyond 2^53.
func idKey(raw json.RawMessage) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return string(bytes.TrimSpace(raw))
	}
	if n, ok := v.(json.Number); ok {
		if r, ok := new(big.Rat).SetString(n.String()); ok {
			return r.RatString()
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// readDoneIDs lists the ids already in out (a missing file holds none) and
// the length of its complete lines. A last line without its line break
// (an interrupted write) is not counted: the caller cuts it off and redoes
// it. Any other line that is not an output line is an error: OUT is then
// not this command's file, and appending to it would lose nothing less.
func readDoneIDs(path string) (map[string]bool, int64, error) {
	done := map[string]bool{}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return done, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	keep := int64(bytes.LastIndexByte(data, '\n') + 1)
	for n, line := range bytes.Split(data[:keep], []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r struct {
			ID json.RawMessage `json:"id"`
		}
		if json.Unmarshal(line, &r) != nil || len(r.ID) == 0 {
			return nil, 0, fmt.Errorf("%s line %d: not a batch output line (an id, a completion and stats)", path, n+1)
		}
		done[idKey(r.ID)] = true
	}
	return done, keep, nil
}

// readBatch parses IN, reporting the first malformed line by number.
func readBatch(path string) ([]batchIn, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var reqs []batchIn
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	seen := map[string]int{}
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var r batchIn
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, fmt.Errorf("%s line %d: %v", path, n, err)
		}
		if len(r.ID) == 0 || string(r.ID) == "null" {
			return nil, fmt.Errorf("%s line %d: missing \"id\"", path, n)
		}
		if r.Prefix == nil {
			return nil, fmt.Errorf("%s line %d: missing \"prefix\"", path, n)
		}
		if _, ok := decode.ParseMultiline(r.Multiline); !ok {
			return nil, fmt.Errorf("%s line %d: \"multiline\" is auto, always or never, not %q", path, n, r.Multiline)
		}
		if r.MaxTokens != nil && *r.MaxTokens < 1 {
			return nil, fmt.Errorf("%s line %d: \"max_tokens\" must be at least 1", path, n)
		}
		k := idKey(r.ID)
		if prev, dup := seen[k]; dup {
			return nil, fmt.Errorf("%s line %d: id %s already used on line %d", path, n, k, prev)
		}
		seen[k] = n
		reqs = append(reqs, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return reqs, nil
}

func runCompleteBatch(o completeFlags, stderr io.Writer) error {
	if o.out == "" {
		return usageError{"--batch needs --out OUT.jsonl"}
	}
	if o.file != "" {
		return usageError{"--batch and --file are exclusive"}
	}
	if o.parallel < 1 {
		return usageError{"--parallel must be at least 1"}
	}
	if err := o.check(); err != nil {
		return err
	}
	reqs, err := readBatch(o.batch)
	if err != nil {
		return err
	}
	done, keep, err := readDoneIDs(o.out)
	if err != nil {
		return err
	}
	var todo []batchIn
	for _, r := range reqs {
		if !done[idKey(r.ID)] {
			todo = append(todo, r)
		}
	}
	if skipped := len(reqs) - len(todo); skipped > 0 {
		fmt.Fprintf(stderr, "resuming: %d of %d already in %s\n", skipped, len(reqs), o.out)
	}
	if len(todo) == 0 {
		return nil
	}
	opts, err := engineOptions(o.order)
	if err != nil {
		return err
	}
	opts.MaxActive = max(opts.MaxActive, o.parallel)
	l, err := loadEngine(o.model, o.threads, opts)
	if err != nil {
		return err
	}
	defer l.Close()
	out, err := os.OpenFile(o.out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	if err := out.Truncate(keep); err != nil { // a line cut short by an interrupted run
		return err
	}
	bar := countBar(stderr, len(todo), "complete")
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	jobs := make(chan batchIn)
	for w := 0; w < o.parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range jobs {
				line, err := completeOne(l, r, o, stderr)
				mu.Lock()
				if err == nil {
					_, err = out.Write(line)
				}
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("id %s: %w", idKey(r.ID), err)
				}
				bar.Add(1)
				mu.Unlock()
			}
		}()
	}
	for _, r := range todo {
		mu.Lock()
		stop := firstErr != nil
		mu.Unlock()
		if stop {
			break
		}
		jobs <- r
	}
	close(jobs)
	wg.Wait()
	return firstErr
}

// completeOne runs one batch line; the --lang, --max-tokens and
// --multiline flags apply to lines that leave those fields out.
func completeOne(l *decode.Loaded, r batchIn, o completeFlags, warn io.Writer) ([]byte, error) {
	if r.Multiline == "" {
		r.Multiline = o.multiline
	}
	ml, _ := decode.ParseMultiline(r.Multiline)
	maxTok := o.maxTokens
	if r.MaxTokens != nil {
		maxTok = *r.MaxTokens
	}
	if r.Lang == "" {
		r.Lang = o.lang
	}
	req := decode.Request{
		Prefix: *r.Prefix, Suffix: r.Suffix, Language: r.Lang,
		Limits: decode.Limits{MaxTokens: maxTok},
		Beams:  decode.Beams{Width: o.beams, N: 1},
		Stop:   decode.StopRules{Multiline: ml},
	}
	release, err := withSyntax(o.astguard, &req, warn)
	if err != nil {
		return nil, err
	}
	defer release()
	res, err := l.Complete(context.Background(), req)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	c := res.Completions[0]
	err = writeJSON(&buf, batchOut{ID: r.ID, Completion: c.Text, Replace: c.Replace, Stats: toStatsJSON(res.Stats)})
	return buf.Bytes(), err
}

// writeJSON writes v as one line, leaving <, > and & unescaped: the
// output is code, read by people and tools, not embedded in HTML.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
