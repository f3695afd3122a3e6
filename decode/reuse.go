package decode

import "slices"

// Reuse of cached runs at moved positions.
//
// The prefix cache reuses a prompt's longest cached prefix exactly. In SPM
// order the suffix comes first, so an edit that moves the suffix's start
// (a line break typed over existing lines, the cursor moved to another
// line) leaves only the first token or two of the prompt cached: the
// rest, unchanged text after the edit, is evaluated again. Like
// llama.cpp's cache reuse (--cache-reuse, which llama.vim's setup turns on), the
// engine can instead copy long runs of tokens that a cached sequence holds
// at other positions, rotating their keys to the new positions
// (ShiftLM.SeqCpShift), and evaluate only the tokens in between.
//
// This is an approximation: a moved token's keys and values were computed
// attending to the text before it at the time, which the edit changed. It
// is off unless Options.ReuseRun is set: in `bench keystrokes`, which
// types each line of a file with the lines below present, the cached
// cells have seen the line being typed in the suffix, and the completions
// that matched the line fell by 29% (docs/benchmarks.md, "Session 11").

// DefaultReuseRun is the suggested Options.ReuseRun: the fewest tokens a
// run must have to be reused at a moved position. A long run carries most
// of its own context, and short runs (a closing brace and a newline)
// recur all over a file and would be matched to the wrong place. 64
// tokens is about three lines of code: a line break, which moves the
// suffix by one line, still reuses the rest of the suffix and the whole
// prefix.
const DefaultReuseRun = 64

// reuseCandidates is how many recently used cache entries are searched
// for runs: the previous keystroke's sequence is nearly always the best,
// and a few more cover switching between nearby places.
const reuseCandidates = 4

// run is a stretch of a prompt that a cached sequence holds:
// prompt[dst:dst+n] equals the cached tokens[src:src+n].
type run struct{ src, dst, n int }

// reusePlan finds runs of cached in prompt, in order (both src and dst
// ascending), for reuse: the common prefix, however short, then runs of
// at least minRun tokens, each found greedily at the first place in cached
// after the previous run. The prompt's last token is never covered: its
// logits start the completion and the cache keeps no logits.
func reusePlan(cached, prompt []int32, minRun int) []run {
	end := len(prompt) - 1 // the last token is always evaluated
	if end <= 0 || minRun <= 0 {
		return nil
	}
	var plan []run
	i := commonPrefix(cached, prompt[:end])
	if i > 0 {
		plan = append(plan, run{0, 0, i})
	}
	if len(cached)-i < minRun || end-i < minRun {
		return plan
	}
	// Index every minRun-token window of cached by its hash (FNV-1a over
	// the token ids; a match is checked token by token).
	hash := func(w []int32) uint64 {
		h := uint64(14695981039346656037)
		for _, t := range w {
			h = (h ^ uint64(uint32(t))) * 1099511628211
		}
		return h
	}
	at := map[uint64][]int{}
	for x := i; x+minRun <= len(cached); x++ {
		k := hash(cached[x : x+minRun])
		at[k] = append(at[k], x)
	}
	j := i // runs come from cached[j:], after the previous one
	for i+minRun <= end {
		src := -1
		for _, x := range at[hash(prompt[i:i+minRun])] {
			if x >= j && slices.Equal(cached[x:x+minRun], prompt[i:i+minRun]) {
				src = x
				break
			}
		}
		if src < 0 {
			i++
			continue
		}
		n := minRun
		for i+n < end && src+n < len(cached) && prompt[i+n] == cached[src+n] {
			n++
		}
		plan = append(plan, run{src, i, n})
		i, j = i+n, src+n
	}
	return plan
}

// planTokens is the number of prompt tokens plan covers.
func planTokens(plan []run) int {
	n := 0
	for _, r := range plan {
		n += r.n
	}
	return n
}

// MatchRuns finds, among the most recently used entries, the one whose
// runs (reusePlan) cover most of tokens, and returns its sequence id and
// plan. The entry found counts as used. With no entry, or none sharing a
// token, the plan is empty.
func (c *PrefixCache) MatchRuns(tokens []int32, minRun int) (SeqID, []run) {
	var recent []*cacheEntry
	for _, e := range c.entries {
		recent = append(recent, e)
	}
	// The few most recent, newest first (a partial selection sort: there
	// are at most MaxSeqs entries).
	for k := 0; k < len(recent) && k < reuseCandidates; k++ {
		for m := k + 1; m < len(recent); m++ {
			if recent[m].lastUse > recent[k].lastUse {
				recent[k], recent[m] = recent[m], recent[k]
			}
		}
	}
	recent = recent[:min(len(recent), reuseCandidates)]
	var best *cacheEntry
	var bestPlan []run
	for _, e := range recent {
		plan := reusePlan(e.tokens(), tokens, minRun)
		if planTokens(plan) > planTokens(bestPlan) {
			best, bestPlan = e, plan
		}
	}
	if best == nil {
		return -1, nil
	}
	c.clock++
	best.lastUse = c.clock
	return best.seq, bestPlan
}

// tokens is the entry's token sequence: the edges from the root to its
// leaf.
func (e *cacheEntry) tokens() []int32 {
	out := make([]int32, e.node.depth)
	for n := e.node; n != nil && n.parent != nil; n = n.parent {
		copy(out[n.depth-len(n.edge):n.depth], n.edge)
	}
	return out
}

// Has reports whether seq is a stored entry.
func (c *PrefixCache) Has(seq SeqID) bool { return c.entries[seq] != nil }
