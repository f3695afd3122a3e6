package decode

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ghostline-dev/ghostline/decode/fimbench"
	"github.com/ghostline-dev/ghostline/model"
	"github.com/ghostline-dev/ghostline/model/backend/cpu"
	"github.com/ghostline-dev/ghostline/model/store"
	"github.com/ghostline-dev/ghostline/model/tokenizer"
)

// Engine fidelity (issue 6): greedy completions from Ghostline and from
// llama.cpp on the same GGUF, fed the same prompt ids, must be identical in
// at least 95% of 100 benchmark prompts. testdata/fidelity holds the
// prompts (100 tasks of the HumanEval infilling and SAFIM sets, laid out by
// Template.Build as the engine does, budget 384 tokens) with llama.cpp's
// greedy continuation of each (see the README there).

// fidelityModelSHA256 is the file llama.cpp's outputs were made from.
const fidelityModelSHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"

// fidelityGoal is the bar: identical greedy completions in at
// least 95% of the prompts. It is reported, not asserted: two engines that
// round differently (llama.cpp keeps keys and values in f16 and runs flash
// attention; we keep them in float32 and scale 8-bit activation blocks in
// float32 where ggml uses f16) choose differently at near-ties, and 48
// greedy steps meet many (docs/benchmarks.md, issue 6, has the figures).
const fidelityGoal = 0.95

// fidelityTie is ../shared/README.md's near-tie rule for greedy
// continuations: ids must agree at every step until the first step whose
// reference margin (top-1 − top-2 logit) is below 2% of the logit range R.
// A first divergence at a wider margin than that is a bug, not rounding:
// TestRealModelLogits finds our logits within ~2% of R of llama.cpp's, and
// llama.cpp differs from itself by as much when only its KV cache type
// changes.
const fidelityTie = 0.02

type fidelityRef struct {
	Model        string  `json:"model"`
	SHA256       string  `json:"sha256"`
	MaxNew       int     `json:"max_new"`
	PromptBudget int     `json:"prompt_budget"`
	EOG          []int32 `json:"eog"` // llama.cpp's end-of-generation ids
	CI           []int   `json:"ci"`  // prompts checked without GHOSTLINE_FIDELITY=all
	Prompts      []struct {
		Set    string  `json:"set"`
		TaskID string  `json:"task_id"`
		Lang   string  `json:"lang"`
		Tokens []int32 `json:"tokens"`
		// llama.cpp's greedy ids (ending with an end-of-generation id when
		// it stopped before MaxNew), and at each step its top-1 − top-2
		// margin, its second id and its top-1 − min range.
		Greedy  []int32   `json:"greedy"`
		Margins []float64 `json:"margins"`
		Second  []int32   `json:"second"`
		Ranges  []float64 `json:"ranges"`
	} `json:"prompts"`
}

func loadFidelityRef(t testing.TB) *fidelityRef {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "fidelity", "llamacpp-greedy.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var r fidelityRef
	if err := json.NewDecoder(zr).Decode(&r); err != nil {
		t.Fatalf("llamacpp-greedy.json.gz: %v", err)
	}
	return &r
}

// fidelityModel opens the installed qwen2.5-coder-0.5b, or skips.
func fidelityModel(t testing.TB) string {
	t.Helper()
	const name = "qwen2.5-coder-0.5b"
	if e, ok := store.Lookup(name); !ok || e.SHA256 != fidelityModelSHA256 {
		t.Skipf("the catalogue's %s is no longer the file the references were made from (sha256 %s)", name, fidelityModelSHA256)
	}
	s, err := store.OpenDefault()
	if err != nil {
		t.Skipf("no model store: %v", err)
	}
	path, err := s.Resolve(name)
	if err != nil {
		t.Skipf("%s is not installed (%v): run `ghostline pull %s` to include this test", name, err, name)
	}
	return path
}

// greedyRun is Ghostline's greedy continuation of one prompt: the ids and,
// at each step, the logits row it chose from (kept only where needed).
type greedyRun struct {
	ids []int32
	// at the first step where ids differ from want: our logits of our id
	// and of llama.cpp's id, and our own top-1 − top-2 margin.
	ourLogit, theirLogit, ourMargin float32
}

// greedy runs the prompt through the forward pass in one batch, then
// decodes one token per call over the KV cache (as the engine and
// llama.cpp do), choosing the argmax, until an end-of-generation id or
// maxNew tokens. want (llama.cpp's ids) only selects the logits recorded
// at the first divergence.
func greedy(m *model.Model, prompt []int32, maxNew int, eog []int32, want []int32) (greedyRun, error) {
	var r greedyRun
	c, err := m.NewKVCacheType(len(prompt)+maxNew+8, KVType) // as the engine keeps it
	if err != nil {
		return r, err
	}
	logits, err := m.Forward(c, model.Batch{Tokens: prompt})
	if err != nil {
		return r, err
	}
	pos := int32(len(prompt))
	diverged := false
	for step := 0; step < maxNew; step++ {
		id, margin := model.Argmax(logits)
		if !diverged && (step >= len(want) || int32(id) != want[step]) {
			diverged = true
			r.ourLogit, r.ourMargin = logits[id], margin
			if step < len(want) {
				r.theirLogit = logits[want[step]]
			}
		}
		r.ids = append(r.ids, int32(id))
		if slices.Contains(eog, int32(id)) {
			break
		}
		if logits, err = m.Decode(c, 0, pos, int32(id)); err != nil {
			return r, err
		}
		pos++
	}
	return r, nil
}

// TestFidelityGreedy compares greedy completions with llama.cpp's: every
// prompt's ids must agree up to the first near-tie (fidelityTie), and the
// share of completions identical to the end is reported next to the
// issue's goal, with every mismatch and the margins at its first
// divergence. Where ../shared/bench holds the tasks' texts, it also
// reports how many of the completions the engine returns (both token
// streams cut by the same stop rules and filters, replayer) are identical:
// a divergence after a completion's end is not one a user sees. By
// default it runs the few prompts listed under "ci" (short
// prompts whose every step has a margin of at least 2% of the range, so
// they must be identical); GHOSTLINE_FIDELITY=all runs every committed
// prompt (about 217 prompt tokens and up to 48 decode steps each).
func TestFidelityGreedy(t *testing.T) {
	path := fidelityModel(t)
	ref := loadFidelityRef(t)
	if ref.SHA256 != fidelityModelSHA256 {
		t.Fatalf("reference made from %s, test expects %s", ref.SHA256, fidelityModelSHA256)
	}
	m, err := model.Open(path, cpu.New(0))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tok, err := tokenizer.FromGGUF(m.File())
	if err != nil {
		t.Fatal(err)
	}
	// Both engines must stop on the same ids for "identical" to mean
	// anything.
	eog := slices.Sorted(slices.Values(tok.Special().EOG))
	if !slices.Equal(eog, ref.EOG) {
		t.Fatalf("end-of-generation ids %v, llama.cpp's %v", eog, ref.EOG)
	}

	// The default subset must be free of near-ties, or rounding alone could
	// fail it.
	for _, i := range ref.CI {
		p := ref.Prompts[i]
		for k := range p.Greedy {
			if p.Margins[k] < fidelityTie*p.Ranges[k] {
				t.Fatalf("ci prompt %d has a near-tie at step %d (margin %.3f of range %.1f)", i, k, p.Margins[k], p.Ranges[k])
			}
		}
	}
	all := os.Getenv("GHOSTLINE_FIDELITY") == "all"
	idx := ref.CI
	if all {
		idx = make([]int, len(ref.Prompts))
		for i := range idx {
			idx[i] = i
		}
	} else {
		t.Logf("checking %d of %d prompts; GHOSTLINE_FIDELITY=all checks every one", len(idx), len(ref.Prompts))
	}
	// The completions the engine returns from each token stream: the same
	// stop rules and filters cut both, so divergences after a completion's
	// end do not count (../shared/bench has the tasks' texts).
	rp := newReplayer(t, m, tok)
	same, sameShown, compared := 0, 0, 0
	var report []string
	for _, i := range idx {
		p := ref.Prompts[i]
		r, err := greedy(m, p.Tokens, ref.MaxNew, eog, p.Greedy)
		if err != nil {
			t.Fatalf("prompt %d (%s): %v", i, p.TaskID, err)
		}
		if rp != nil {
			theirs, ok1 := rp.completion(t, p.TaskID, p.Tokens, p.Greedy, ref.MaxNew)
			ours, ok2 := rp.completion(t, p.TaskID, p.Tokens, r.ids, ref.MaxNew)
			if ok1 && ok2 {
				compared++
				if ours == theirs {
					sameShown++
				} else {
					t.Logf("prompt %d %s: completions differ: ours %q, llama.cpp's %q", i, p.TaskID, ours, theirs)
				}
			}
		}
		if slices.Equal(r.ids, p.Greedy) {
			same++
			continue
		}
		k := 0
		for k < len(r.ids) && k < len(p.Greedy) && r.ids[k] == p.Greedy[k] {
			k++
		}
		line := fmt.Sprintf("prompt %d %s (%s, %d tokens): first divergence at step %d of %d/%d: ours %v, llama.cpp %v",
			i, p.TaskID, p.Lang, len(p.Tokens), k, len(r.ids), len(p.Greedy), at(r.ids, k), at(p.Greedy, k))
		if k < len(p.Greedy) && k < len(r.ids) {
			R := p.Ranges[k]
			line += fmt.Sprintf("; llama.cpp's margin there %.3f (%.2f%% of its range %.1f), its second choice %d; our logits %.3f (ours) vs %.3f (its), our margin %.3f",
				p.Margins[k], 100*p.Margins[k]/R, R, p.Second[k], r.ourLogit, r.theirLogit, r.ourMargin)
		}
		if k >= len(p.Greedy) || k >= len(r.ids) || p.Margins[k] >= fidelityTie*p.Ranges[k] {
			t.Errorf("not a near-tie (llama.cpp's margin ≥ %.0f%% of its range, or one engine stopped early): %s", 100*fidelityTie, line)
			continue
		}
		report = append(report, line)
	}
	for _, l := range report {
		t.Log("near-tie: " + l)
	}
	if compared > 0 {
		t.Logf("completions as the engine returns them (PSM, default stop rules and filters, at most %d tokens) identical in %d of %d prompts",
			ref.MaxNew, sameShown, compared)
	}
	rate := float64(same) / float64(len(idx))
	t.Logf("greedy completions identical to llama.cpp's in %d of %d prompts (%.0f%%; the issue's goal is %.0f%%); the other %d diverge first at a near-tie (llama.cpp's margin below %.0f%% of the logit range)",
		same, len(idx), 100*rate, 100*fidelityGoal, len(report), 100*fidelityTie)
}

// replayer turns a prompt's greedy token stream into the completion the
// engine returns for it: an engine whose model (replayLM) answers with
// the stream, on the task's prefix and suffix laid out as the reference's
// prompts were (PSM, 384 tokens).
type replayer struct {
	tok   *tokenizer.Tokenizer
	sp    *Special
	tasks map[string]fimbench.Task
	vocab int
}

// newReplayer returns nil (and logs why) when ../shared/bench is absent.
func newReplayer(t *testing.T, m *model.Model, tok *tokenizer.Tokenizer) *replayer {
	dir := filepath.Join("..", "..", "shared", "bench")
	rp := &replayer{tok: tok, tasks: map[string]fimbench.Task{}, vocab: m.Vocab}
	for _, f := range []string{"humaneval-infilling/HumanEval-SingleLineInfilling.jsonl.gz", "humaneval-infilling/HumanEval-MultiLineInfilling.jsonl.gz", "safim/block_completion.jsonl.gz"} {
		ts, err := fimbench.ReadTasks(filepath.Join(dir, f))
		if err != nil {
			t.Logf("completions not compared: %v (../shared/bench holds the tasks)", err)
			return nil
		}
		for _, task := range ts {
			rp.tasks[task.ID] = task
		}
	}
	var err error
	if rp.sp, err = engineSpecial(m.File(), tok); err != nil {
		t.Fatal(err)
	}
	return rp
}

// completion is the engine's completion of task id when its model
// answers with stream; ok is false (and the reason logged) when the
// engine no longer lays the task out as prompt.
func (rp *replayer) completion(t *testing.T, id string, prompt, stream []int32, maxNew int) (string, bool) {
	task, ok := rp.tasks[id]
	if !ok {
		t.Logf("%s: not in ../shared/bench", id)
		return "", false
	}
	lm := &replayLM{vocab: rp.vocab, prompt: prompt, stream: stream, end: rp.tok.Special().EOG[0]}
	e, err := NewEngine(lm, TokenizerLM{rp.tok}, rp.sp, Options{Order: PSM, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	res, err := e.Complete(context.Background(), Request{Prefix: task.Prefix, Suffix: task.Suffix, Language: task.Lang,
		Limits: Limits{MaxTokens: maxNew, MaxPromptTokens: 384}})
	if err != nil {
		t.Fatal(err)
	}
	if lm.strayPrompt {
		t.Logf("%s: the engine lays this task out differently from the committed prompt ids: completions not compared", id)
		return "", false
	}
	return res.Completions[0].Text, true
}

// replayLM is a model that writes a given token stream after a given
// prompt (and then an end-of-generation id), for one sequence with no
// cache to speak of. strayPrompt records a prompt other than prompt.
type replayLM struct {
	vocab          int
	prompt, stream []int32
	end            int32
	strayPrompt    bool
}

func (l *replayLM) Forward(b Batch) ([]float32, error) {
	var out []float32
	n := int32(len(l.prompt))
	for i, tok := range b.Tokens {
		p := b.Pos[i]
		switch {
		case p < n && l.prompt[p] != tok, b.Logits[i] && p < n-1:
			l.strayPrompt = true // another prompt, or a shorter one
		case p >= n && (int(p-n) >= len(l.stream) || l.stream[p-n] != tok):
			l.strayPrompt = true // a longer one
		}
		if !b.Logits[i] {
			continue
		}
		row := make([]float32, l.vocab)
		next := l.end
		if k := int(p + 1 - n); k >= 0 && k < len(l.stream) {
			next = l.stream[k]
		}
		row[next] = 1
		out = append(out, row...)
	}
	return out, nil
}

func (l *replayLM) Vocab() int                             { return l.vocab }
func (l *replayLM) SeqRm(SeqID, int32, int32)              {}
func (l *replayLM) SeqCp(SeqID, SeqID, int32, int32) error { return nil }
func (l *replayLM) CacheCells() int                        { return 4096 }
func (l *replayLM) CacheUsed() int                         { return 0 }
func (l *replayLM) CellBytes() int                         { return 1 }
func (l *replayLM) MaxSeqs() int                           { return 64 }
func (l *replayLM) ContextLen() int                        { return 0 }

func at(ids []int32, k int) string {
	if k < len(ids) {
		return fmt.Sprint(ids[k])
	}
	return "(end)"
}
