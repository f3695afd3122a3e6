package fimbench

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the committed subsets in testdata/subsets")

// committedSubsets are the seeded subsets every quality figure of the
// project is measured on: 200 tasks per set and SAFIM language, so that a
// run with --limit N (the first N of these) compares across runs. Each
// file lists task ids in Subset's order.
var committedSubsets = []struct {
	file, set, lang string
}{
	{"humaneval-single.txt", "humaneval-infilling/HumanEval-SingleLineInfilling.jsonl.gz", ""},
	{"humaneval-multi.txt", "humaneval-infilling/HumanEval-MultiLineInfilling.jsonl.gz", ""},
	{"safim-block-python.txt", "safim/block_completion.jsonl.gz", "python"},
	{"safim-block-java.txt", "safim/block_completion.jsonl.gz", "java"},
	{"safim-block-cpp.txt", "safim/block_completion.jsonl.gz", "cpp"},
	{"safim-block-csharp.txt", "safim/block_completion.jsonl.gz", "csharp"},
}

const subsetSize = 200

// TestCommittedSubsets checks that Subset still picks the committed tasks
// from the shared sets (a change of hash or seed would silently make new
// figures incomparable with the old ones); -update rewrites them.
func TestCommittedSubsets(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "bench")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("../shared/bench is absent: the committed subsets are checked against it")
	}
	for _, c := range committedSubsets {
		t.Run(c.file, func(t *testing.T) {
			tasks, err := ReadTasks(filepath.Join(dir, c.set))
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, task := range Subset(ByLang(tasks, c.lang), subsetSize) {
				ids = append(ids, task.ID)
			}
			got := strings.Join(ids, "\n") + "\n"
			golden := filepath.Join("testdata", "subsets", c.file)
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got != string(want) {
				t.Errorf("Subset no longer picks the tasks in %s: figures measured on it would not compare", golden)
			}
		})
	}
}

// TestSubsetSpreads guards against the v1 clustering: a small subset of
// HumanEval's line holes must come from different problems.
func TestSubsetSpreads(t *testing.T) {
	var tasks []Task
	for p := range 50 {
		for l := range 10 {
			tasks = append(tasks, Task{ID: "SingleLineInfilling/HumanEval/" + strconv.Itoa(p) + "/L" + strconv.Itoa(l)})
		}
	}
	problems := map[string]bool{}
	for _, task := range Subset(tasks, 10) {
		problems[task.ID[:strings.LastIndexByte(task.ID, '/')]] = true
	}
	if len(problems) < 7 {
		t.Errorf("10 tasks from only %d problems", len(problems))
	}
}
