// Package fimbench runs fill-in-the-middle benchmarks: it reads the
// HumanEval-infilling and SAFIM task formats, scores completions with the
// project's shared definitions (exact match, edit similarity, syntax
// validity, pass@1) and runs generated code only inside a sandboxed
// subprocess.
package fimbench

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ghostline-dev/ghostline/astguard"
)

// Task is one hole to fill.
type Task struct {
	ID     string
	Format string // "humaneval" or "safim"
	Lang   string // LSP language id
	Prefix string
	Suffix string
	Truth  string // the ground-truth middle

	// HumanEval: the test code and the function it checks.
	Test, EntryPoint string
	// SAFIM: stdin/stdout pairs run against the completed program.
	UnitTests []UnitTest
}

// Replacing is t as seen by a completion that replaces the first n bytes
// of its suffix (decode.Completion.Replace): those bytes move from the
// suffix to the end of the truth, so prefix+completion+suffix is the
// completed document and truth is still the middle it should equal.
func (t Task) Replacing(n int) Task {
	n = min(max(n, 0), len(t.Suffix))
	t.Truth += t.Suffix[:n]
	t.Suffix = t.Suffix[n:]
	return t
}

// UnitTest is a SAFIM input with its accepted outputs (any one passes).
type UnitTest struct {
	Input   string
	Outputs []string
}

type rawTask struct {
	TaskID string `json:"task_id"`
	// HumanEval-infilling.
	EntryPoint        string `json:"entry_point"`
	Prompt            string `json:"prompt"`
	Suffix            string `json:"suffix"`
	CanonicalSolution string `json:"canonical_solution"`
	Test              string `json:"test"`
	// SAFIM.
	Lang        string `json:"lang"`
	EvalPrompt  string `json:"eval_prompt"`
	GroundTruth string `json:"ground_truth"`
	UnitTests   []struct {
		Input  string   `json:"input"`
		Output []string `json:"output"`
	} `json:"unit_tests"`
}

// safimLangs maps SAFIM's language names to LSP ids.
var safimLangs = map[string]string{"python": "python", "cpp": "cpp", "java": "java", "csharp": "csharp"}

// ReadTasks reads a .jsonl or .jsonl.gz file of either format (detected
// per line by its fields).
func ReadTasks(path string) ([]Task, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	return parseTasks(r, path)
}

func parseTasks(r io.Reader, name string) ([]Task, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	var tasks []Task
	seen := map[string]bool{}
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var raw rawTask
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			return nil, fmt.Errorf("%s line %d: %v", name, n, err)
		}
		t, err := raw.task()
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %v", name, n, err)
		}
		if seen[t.ID] {
			return nil, fmt.Errorf("%s line %d: task id %q repeats", name, n, t.ID)
		}
		seen[t.ID] = true
		tasks = append(tasks, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return tasks, nil
}

func (raw *rawTask) task() (Task, error) {
	if raw.TaskID == "" {
		return Task{}, fmt.Errorf("no task_id")
	}
	switch {
	case raw.EvalPrompt != "":
		pre, suf, ok := strings.Cut(raw.EvalPrompt, "{{completion}}")
		if !ok {
			return Task{}, fmt.Errorf("task %s: eval_prompt has no {{completion}} hole", raw.TaskID)
		}
		lang, ok := safimLangs[raw.Lang]
		if !ok {
			return Task{}, fmt.Errorf("task %s: unknown SAFIM language %q", raw.TaskID, raw.Lang)
		}
		t := Task{ID: raw.TaskID, Format: "safim", Lang: lang, Prefix: pre, Suffix: suf, Truth: raw.GroundTruth}
		for _, u := range raw.UnitTests {
			t.UnitTests = append(t.UnitTests, UnitTest{Input: u.Input, Outputs: u.Output})
		}
		return t, nil
	case raw.EntryPoint != "" || raw.CanonicalSolution != "":
		return Task{ID: raw.TaskID, Format: "humaneval", Lang: "python", Prefix: raw.Prompt, Suffix: raw.Suffix,
			Truth: raw.CanonicalSolution, Test: raw.Test, EntryPoint: raw.EntryPoint}, nil
	}
	return Task{}, fmt.Errorf("task %s: neither HumanEval-infilling (entry_point, canonical_solution) nor SAFIM (eval_prompt) fields", raw.TaskID)
}

// subsetSeed names the subset selection; changing it changes every
// committed subset (testdata/subsets), so it carries a version. v1 hashed
// with FNV-1a, whose high bits barely depend on the last bytes of a key:
// ids that differ only at the end ("…/150/L0", "…/150/L1") sorted
// together, and a 5-task subset was five lines of one problem. v2 uses
// SHA-256, which mixes every byte.
const subsetSeed = "ghostline-subset-v2:"

// Subset returns n tasks chosen by a seeded hash of their ids, in that
// order: the same n tasks whatever the file's order, so figures from
// different runs compare, and Subset(tasks, m) for m < n is the first m
// of Subset(tasks, n). n ≤ 0 or ≥ len(tasks) keeps them all (in file
// order).
func Subset(tasks []Task, n int) []Task {
	if n <= 0 || n >= len(tasks) {
		return tasks
	}
	type keyed struct {
		k uint64
		t Task
	}
	ks := make([]keyed, len(tasks))
	for i, t := range tasks {
		sum := sha256.Sum256([]byte(subsetSeed + t.ID))
		ks[i] = keyed{binary.BigEndian.Uint64(sum[:8]), t}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		switch {
		case a.k < b.k:
			return -1
		case a.k > b.k:
			return 1
		}
		return strings.Compare(a.t.ID, b.t.ID)
	})
	out := make([]Task, n)
	for i := range out {
		out[i] = ks[i].t
	}
	return out
}

// ByLang keeps the tasks in language lang (an LSP language id); "" keeps
// all. SAFIM mixes four languages, and its figures are reported per
// language.
func ByLang(tasks []Task, lang string) []Task {
	if lang == "" {
		return tasks
	}
	var out []Task
	for _, t := range tasks {
		if t.Lang == lang {
			out = append(out, t)
		}
	}
	return out
}

// ExactMatch: equal after stripping trailing whitespace of both.
func ExactMatch(got, want string) bool {
	return strings.TrimRight(got, " \t\r\n") == strings.TrimRight(want, " \t\r\n")
}

// EditSimilarity is 1 − Levenshtein distance / length of the longer, over
// code points of the strings stripped of trailing whitespace (1 for two
// empty strings).
func EditSimilarity(got, want string) float64 {
	a := []rune(strings.TrimRight(got, " \t\r\n"))
	b := []rune(strings.TrimRight(want, " \t\r\n"))
	n := max(len(a), len(b))
	if n == 0 {
		return 1
	}
	return 1 - float64(levenshtein(a, b))/float64(n)
}

func levenshtein(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// SyntaxValid: the document with the completion filled in has no more
// tree-sitter ERROR/MISSING nodes than with the ground truth. ok is false
// when the language has no grammar, or the ground truth's document cannot
// be parsed; a completion whose document cannot be (a NUL byte, the parse
// time limit) while the ground truth's can is invalid.
func SyntaxValid(t Task, completion string) (valid, ok bool) {
	lang, err := astguard.LanguageFromID(t.Lang)
	if err != nil {
		return false, false
	}
	count := func(mid string) (int, bool) {
		src := t.Prefix + mid + t.Suffix
		if !utf8.ValidString(src) {
			src = strings.ToValidUTF8(src, "\uFFFD")
		}
		d, err := astguard.NewDocument(lang, []byte(src))
		if err != nil {
			return 0, false
		}
		defer d.Close()
		return len(d.Errors()), true
	}
	want, ok := count(t.Truth)
	if !ok {
		return false, false
	}
	got, ok := count(completion)
	return ok && got <= want, true
}
