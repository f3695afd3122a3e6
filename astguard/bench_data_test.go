package astguard

import (
	"strings"
	"testing"
)

// TestCheckerOnReferences runs the Checker over real fill-in-the-middle
// tasks (SAFIM block completion in C++, Java, Python and C#; HumanEval
// multi-line infilling) with their reference answers, which are correct
// code. A reference must never be pruned at any line end on its way
// (Partial), and must be allowed when finished (Final). It also breaks each
// reference (drops its last closing bracket, or its last line's final
// character) and reports how often Final notices.
func TestCheckerOnReferences(t *testing.T) {
	limit := 60
	if testing.Short() {
		limit = 15
	}
	tasks := loadBenchTasks(t, limit)
	var pruned, rejected, checked, broken, caught, corrupt, prunedBad int
	perLang := map[Language][2]int{}
	for i, task := range tasks {
		c, err := NewChecker(task.lang, task.prefix, task.suffix)
		if err != nil {
			t.Fatal(err)
		}
		mid := task.middle
		for j := 0; j < len(mid); j++ {
			if mid[j] != '\n' {
				continue
			}
			jd, err := c.Partial(mid[:j+1])
			if err != nil {
				t.Fatal(err)
			}
			if jd.Verdict == Prune {
				pruned++
				if pruned <= 3 {
					t.Errorf("%s task %d: reference pruned after line ending at %d: %+v\nreference:\n%s", task.lang, i, j, jd.Errors, mid)
				}
				break
			}
		}
		jd, err := c.Final(mid)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		if jd.NewErrors > 0 {
			rejected++
			if rejected <= 3 {
				t.Errorf("%s task %d: finished reference has new errors %+v (baseline %d, fill %q)\nreference:\n%s", task.lang, i, jd.Errors, c.BaselineErrors(), c.Fill(), mid)
			}
		}
		if bad, ok := breakCode(mid); ok {
			broken++
			jb, err := c.Final(bad)
			if err != nil {
				t.Fatal(err)
			}
			pl := perLang[task.lang]
			pl[0]++
			if jb.NewErrors > 0 {
				caught++
				pl[1]++
			}
			perLang[task.lang] = pl
		}
		// Insert a garbage line after the reference's first line: Partial
		// must prune once the line after it is written.
		if lines := strings.SplitAfter(mid, "\n"); len(lines) >= 3 {
			ind := lines[1][:len(lines[1])-len(strings.TrimLeft(lines[1], " \t"))]
			bad := lines[0] + ind + "= = =\n" + lines[1]
			corrupt++
			jd, err := c.Partial(bad)
			if err != nil {
				t.Fatal(err)
			}
			if jd.Verdict == Prune {
				prunedBad++
			}
		}
		c.Close()
	}
	t.Logf("%d references: %d pruned on the way, %d with new errors when finished", checked, pruned, rejected)
	t.Logf("references with a garbage line inserted: %d of %d pruned by Partial", prunedBad, corrupt)
	if corrupt > 0 && prunedBad*10 < corrupt*8 {
		t.Errorf("Partial pruned only %d of %d corrupted references", prunedBad, corrupt)
	}
	t.Logf("broken references caught by Final: %d of %d", caught, broken)
	for l, pl := range perLang {
		t.Logf("  %s: %d of %d", l, pl[1], pl[0])
	}
	if broken > 0 && caught*10 < broken*8 {
		t.Errorf("Final caught only %d of %d broken references", caught, broken)
	}
}

// breakCode removes the last closing bracket of s (or, without one, its
// last non-space character), the most common way a completion goes wrong.
func breakCode(s string) (string, bool) {
	i := strings.LastIndexAny(s, ")]}")
	if i < 0 {
		t := strings.TrimRight(s, " \t\r\n")
		if t == "" {
			return "", false
		}
		i = len(t) - 1
	}
	return s[:i] + s[i+1:], true
}

// TestTruncateOnReferences simulates the commonest overrun: the model writes
// the reference and then carries on with the rest of the file (the suffix).
// Truncate with the unit DecideMode picks must give back the reference
// (up to trailing whitespace), and its result must always be valid.
func TestTruncateOnReferences(t *testing.T) {
	limit := 60
	if testing.Short() {
		limit = 15
	}
	tasks := loadBenchTasks(t, limit)
	var exact, valid [2]int
	misses := 0
	units := map[Unit]int{}
	for i, task := range tasks {
		unit, err := DecideMode(task.lang, task.prefix, task.suffix)
		if err != nil {
			t.Fatal(err)
		}
		units[unit]++
		// Two overruns: the model goes on with the rest of the file (the
		// suffix), or leaves the enclosing block and starts new code.
		junk := "\n}\n\nint extra() {\n  return 0;\n}\n"
		if task.lang == Python {
			junk = "\n\ndef extra():\n    return 0\n"
		}
		for k, over := range []string{task.middle + task.suffix, task.middle + junk} {
			got, err := Truncate(task.lang, task.prefix, over, task.suffix, unit)
			if err != nil {
				t.Fatal(err)
			}
			if got.Valid {
				valid[k]++
			}
			want := strings.TrimRight(task.middle, " \t\r\n")
			if strings.TrimRight(got.Text, " \t\r\n") == want {
				exact[k]++
			} else if misses++; misses <= 5 {
				t.Logf("%s task %d (%s, overrun %d): got %q, reference %q", task.lang, i, unit, k, tail(got.Text, 80), tail(want, 80))
			}
		}
	}
	for k, name := range []string{"reference+suffix", "reference+new code"} {
		t.Logf("%s: %d tasks (units %v): %d cut back to the reference exactly, %d valid", name, len(tasks), units, exact[k], valid[k])
		if valid[k] < len(tasks)*9/10 {
			t.Errorf("%s: only %d of %d truncations valid", name, valid[k], len(tasks))
		}
		if exact[k] < len(tasks)*8/10 {
			t.Errorf("%s: only %d of %d truncations gave back the reference", name, exact[k], len(tasks))
		}
	}
}
