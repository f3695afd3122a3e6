package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ghostline-dev/ghostline/model/gguf"
	"github.com/ghostline-dev/ghostline/model/tokenizer"
)

// tokRun runs the CLI with stdin as its standard input and returns what it
// printed and its exit status.
func tokRun(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	in := filepath.Join(t.TempDir(), "stdin")
	if err := os.WriteFile(in, []byte(stdin), 0o644); err != nil {
		t.Fatal(err)
	}
	fin, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer fin.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	oldIn, oldOut := os.Stdin, os.Stdout
	os.Stdin, os.Stdout = fin, w
	done := make(chan []byte)
	go func() {
		var b bytes.Buffer
		b.ReadFrom(r)
		done <- b.Bytes()
	}()
	var errBuf, helpBuf bytes.Buffer
	code = run(args, &helpBuf, &errBuf)
	w.Close()
	os.Stdin, os.Stdout = oldIn, oldOut
	out := <-done
	return string(out) + helpBuf.String(), errBuf.String(), code
}

func tokVocabDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "fixtures", "vocab")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared fixtures not found at %s: %v", dir, err)
	}
	return dir
}

// tokParse decodes one {"tokens":[...]} line, failing on anything else.
func tokParse(t *testing.T, line string) []int32 {
	t.Helper()
	var v struct {
		Tokens *[]int32 `json:"tokens"`
	}
	dec := json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil || v.Tokens == nil {
		t.Fatalf("output %q is not {\"tokens\":[...]}: %v", line, err)
	}
	return *v.Tokens
}

// writeSynthVocab writes a vocab-only GGUF (no tensors) with a byte-level
// vocabulary, so the CLI is tested without the shared fixtures too.
func writeSynthVocab(t *testing.T, model string) string {
	t.Helper()
	var toks []string
	for _, s := range []string{"h", "e", "l", "o", "Ġ", "w", "r", "d", "Ċ", "Ġw", "or", "ld", "orld", "Ġworld", "he", "hel", "hell", "hello", "<|endoftext|>"} {
		toks = append(toks, s)
	}
	types := make([]int32, len(toks))
	for i := range types {
		types[i] = 1
	}
	types[len(types)-1] = 3
	w := gguf.NewWriter()
	w.AddKV("general.architecture", gguf.StringValue("llama"))
	w.AddKV("tokenizer.ggml.model", gguf.StringValue(model))
	w.AddKV("tokenizer.ggml.pre", gguf.StringValue("gpt-2"))
	w.AddKV("tokenizer.ggml.tokens", gguf.StringsValue(toks))
	w.AddKV("tokenizer.ggml.token_type", gguf.Int32sValue(types))
	w.AddKV("tokenizer.ggml.merges", gguf.StringsValue([]string{"Ġ w", "o r", "l d", "or ld", "Ġw orld", "h e", "he l", "hel l", "hell o"}))
	w.AddKV("tokenizer.ggml.bos_token_id", gguf.Uint32Value(uint32(len(toks)-1)))
	w.AddKV("tokenizer.ggml.add_bos_token", gguf.BoolValue(true))
	path := filepath.Join(t.TempDir(), model+".gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTokenizeCLISynthetic(t *testing.T) {
	path := writeSynthVocab(t, "gpt2")
	out, errOut, code := tokRun(t, "hello world\n", "tokenize", "--model", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// hello, Ġworld, Ċ: the final newline is part of the text.
	if got := tokParse(t, out); !slices.Equal(got, []int32{17, 13, 8}) {
		t.Errorf("tokens %v", got)
	}
	// Flags after --model and auto BOS from the metadata.
	out, _, _ = tokRun(t, "hello", "tokenize", "--bos", "auto", "--model", path)
	if got := tokParse(t, out); !slices.Equal(got, []int32{18, 17}) {
		t.Errorf("--bos auto: tokens %v", got)
	}
	out, errOut, code = tokRun(t, "[18,17,13]", "detokenize", "--model", path)
	if code != 0 || out != "hello world" {
		t.Errorf("detokenize: exit %d, %q, %s", code, out, errOut)
	}
}

func TestTokenizeCLIFixtures(t *testing.T) {
	dir := tokVocabDir(t)
	starcoder := filepath.Join(dir, "ggml-vocab-starcoder.gguf")
	deepseek := filepath.Join(dir, "ggml-vocab-deepseek-coder.gguf")
	spm := filepath.Join(dir, "ggml-vocab-llama-spm.gguf")
	sc, err := tokenizer.Open(starcoder)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		model string
		stdin string
		args  []string
		want  []int32
	}{
		// llama.cpp's expected ids (ggml-vocab-starcoder.gguf.out).
		{"hello world", starcoder, " Hello world", nil, []int32{12009, 5810}},
		{"empty input", starcoder, "", nil, []int32{}},
		{"bos true", starcoder, " Hello world", []string{"--bos", "true"}, []int32{0, 12009, 5810}},
		{"bos auto, no BOS in metadata", starcoder, " Hello world", []string{"--bos", "auto"}, []int32{12009, 5810}},
		{"bos auto, BOS in metadata", deepseek, "Hello", []string{"--bos=auto"}, []int32{32013, 17535}},
		{"special parsed", starcoder, "<fim_prefix>x", []string{"--parse-special"}, []int32{1, 125}},
		{"special not parsed", starcoder, "<fim_prefix>x", nil, sc.Encode("<fim_prefix>x", tokenizer.EncodeOptions{})},
		{"CR LF kept", starcoder, "x\r\n", nil, sc.Encode("x\r\n", tokenizer.EncodeOptions{})},
		{"final newline kept", starcoder, "x\n", nil, []int32{125, 222}},
		{"sentencepiece", spm, "Hello world", []string{"--bos", "auto"}, []int32{1, 15043, 3186}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"tokenize", "--model", tc.model}, tc.args...)
			out, errOut, code := tokRun(t, tc.stdin, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 {
				t.Errorf("output %q is not one line", out)
			}
			if got := tokParse(t, out); !slices.Equal(got, tc.want) {
				t.Errorf("tokens %v, want %v", got, tc.want)
			}
			if tc.name == "special not parsed" && slices.Contains(tc.want, 1) {
				t.Error("the test's own expectation contains <fim_prefix>")
			}
			if tc.name == "CR LF kept" && (len(tc.want) != 2 || tc.want[1] == 222) {
				t.Errorf("x\\r\\n must be x and one token for \\r\\n (222 is \\n alone): %v", tc.want)
			}
		})
	}
}

func TestTokenizeCLIJSONLines(t *testing.T) {
	dir := tokVocabDir(t)
	model := filepath.Join(dir, "ggml-vocab-deepseek-coder.gguf")
	texts := []string{"def f(x):\n", "", "  \t", "\"quoted\" \\ \u00e9 🦙", "<｜fim▁begin｜>a"}
	var in strings.Builder
	for _, s := range texts {
		b, _ := json.Marshal(s)
		in.Write(b)
		in.WriteString("\n")
	}
	in.WriteString("\n") // a blank line is skipped
	out, errOut, code := tokRun(t, in.String(), "tokenize", "--jsonl", "--parse-special", "--model", model)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(texts) {
		t.Fatalf("%d output lines for %d inputs: %q", len(lines), len(texts), out)
	}
	for i, s := range texts {
		single, _, _ := tokRun(t, s, "tokenize", "--parse-special", "--model", model)
		if got, want := tokParse(t, lines[i]), tokParse(t, single); !slices.Equal(got, want) {
			t.Errorf("line %d (%q): %v, one-shot gives %v", i, s, got, want)
		}
	}
	_, errOut, code = tokRun(t, "\"ok\"\nnot json\n", "tokenize", "--jsonl", "--model", model)
	if code != 1 || !strings.Contains(errOut, "line 2") {
		t.Errorf("bad line: exit %d, stderr %q", code, errOut)
	}
}

// TestDetokenizeCLIRoundTrip pipes tokenize into detokenize.
func TestDetokenizeCLIRoundTrip(t *testing.T) {
	dir := tokVocabDir(t)
	text := "package main\r\n\nfunc main() {\n\tprintln(\"héllo, 世界 🦙\")\n}\n"
	for _, name := range []string{"starcoder", "deepseek-coder", "gpt-2", "refact", "llama-spm"} {
		model := filepath.Join(dir, "ggml-vocab-"+name+".gguf")
		for _, bos := range []string{"false", "auto", "true"} {
			ids, errOut, code := tokRun(t, text, "tokenize", "--model", model, "--bos", bos)
			if code != 0 {
				t.Fatalf("%s: tokenize exit %d: %s", name, code, errOut)
			}
			back, errOut, code := tokRun(t, ids, "detokenize", "--model", model)
			if code != 0 {
				t.Fatalf("%s: detokenize exit %d: %s", name, code, errOut)
			}
			if back != text {
				t.Errorf("%s --bos %s: round trip gave %q", name, bos, back)
			}
		}
	}
	// Control tokens print as their text.
	out, _, _ := tokRun(t, "[1,125,2]", "detokenize", "--model", filepath.Join(dir, "ggml-vocab-starcoder.gguf"))
	if out != "<fim_prefix>x<fim_middle>" {
		t.Errorf("detokenize of FIM tokens: %q", out)
	}
}

func TestTokenizeCLIErrors(t *testing.T) {
	tmp := t.TempDir()
	notGGUF := filepath.Join(tmp, "not.gguf")
	os.WriteFile(notGGUF, []byte("this is not a GGUF file at all, just text\n"), 0o644)
	good := writeSynthVocab(t, "gpt2")
	data, _ := os.ReadFile(good)
	corrupt := filepath.Join(tmp, "corrupt.gguf")
	os.WriteFile(corrupt, data[:len(data)/2], 0o644)
	unknown := writeSynthVocab(t, "t5")
	noTok := filepath.Join(tmp, "notok.gguf")
	w := gguf.NewWriter()
	w.AddKV("general.architecture", gguf.StringValue("llama"))
	if err := w.WriteFile(noTok); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string // in the error message
	}{
		{"missing file", "x", []string{"tokenize", "--model", filepath.Join(tmp, "absent.gguf")}, "no such file"},
		{"not GGUF", "x", []string{"tokenize", "--model", notGGUF}, "not GGUF"},
		{"corrupt GGUF", "x", []string{"tokenize", "--model", corrupt}, "gguf"},
		{"unknown tokenizer", "x", []string{"tokenize", "--model", unknown}, "unsupported tokenizer model"},
		{"no tokenizer", "x", []string{"tokenize", "--model", noTok}, "no tokenizer"},
		{"no --model", "x", []string{"tokenize"}, "--model is required"},
		{"bad --bos", "x", []string{"tokenize", "--model", good, "--bos", "yes"}, "--bos"},
		{"detokenize missing file", "[1]", []string{"detokenize", "--model", filepath.Join(tmp, "absent.gguf")}, "no such file"},
		{"detokenize corrupt", "[1]", []string{"detokenize", "--model", corrupt}, "gguf"},
		{"detokenize unknown tokenizer", "[1]", []string{"detokenize", "--model", unknown}, "unsupported tokenizer model"},
		{"detokenize not JSON", "1 2 3", []string{"detokenize", "--model", good}, "JSON array"},
		{"detokenize id out of range", "[5, 1000]", []string{"detokenize", "--model", good}, "out of range"},
		{"detokenize negative id", "[-1]", []string{"detokenize", "--model", good}, "out of range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := tokRun(t, tc.stdin, tc.args...)
			if code != 1 {
				t.Errorf("exit %d, want 1 (stdout %q)", code, out)
			}
			if strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "ghostline ") {
				t.Errorf("stderr is not one line: %q", errOut)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q does not mention %q", errOut, tc.want)
			}
			if strings.Contains(errOut, "panic") || strings.Contains(errOut, "goroutine") {
				t.Errorf("stack trace on stderr: %q", errOut)
			}
		})
	}
}
