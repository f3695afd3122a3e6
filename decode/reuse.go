package decode

import (
	"cmp"
	"hash/maphash"
	"slices"
)

// Reuse of cached runs at moved positions.
//
// The prefix cache reuses a prompt's longest cached prefix exactly. In SPM
// order the suffix comes first, so moving the cursor to another line
// changes the prompt right after its first token: the whole prompt, most
// of it the same text as before, is evaluated again (~1,500 tokens, seconds
// on a laptop CPU). Like llama.cpp's cache reuse (--cache-reuse), the
// engine can instead copy long runs of tokens that a cached sequence holds
// at other positions, rotating their keys to the new positions
// (ShiftLM.SeqCpShift), and evaluate only the tokens in between.
//
// This is an approximation: a moved token's keys and values were computed
// attending to the text before it at the time. Runs come only from cached
// prompts of the same document (documentID: the cursor moved, nothing was
// edited): after an edit the cells remember the old text, and in `bench
// keystrokes`, which types each line with the lines below present, cells
// that had seen the line being typed steered the model away from it (the
// completions matching the line fell from 240 to 190 of 600 keystrokes).
// Even for cursor moves, fewer than half of the completions equal the
// exact ones (in SPM every prefix token attends to the suffix, so cells
// cached with the cursor elsewhere carry another idea of where the middle
// ends), so it is off unless Options.ReuseRun is set (docs/benchmarks.md,
// "Session 11").

// DefaultReuseRun is the suggested Options.ReuseRun: the fewest tokens a
// run must have to be reused at a moved position. A long run carries most
// of its own context, and short runs (a closing brace and a newline)
// recur all over a file and would be matched to the wrong place. 64
// tokens is about three lines of code: a cursor moved by a line still
// reuses the rest of the suffix and the whole prefix.
const DefaultReuseRun = 64

// reuseCandidates is how many recently used cache entries are searched
// for runs: the previous keystroke's sequence is nearly always the best,
// and a few more cover switching between nearby places.
const reuseCandidates = 4

// run is a stretch of a prompt that a cached sequence holds:
// prompt[dst:dst+n] equals the cached tokens[src:src+n].
type run struct{ src, dst, n int }

// reusePlan finds runs of cached in prompt for reuse: the common prefix,
// however short, then, from left to right, the longest run of at least
// minRun tokens found anywhere in cached. Runs may come from cached in any
// order: moving the cursor down moves lines from the suffix, which SPM
// puts first, into the prefix, which comes last. The prompt's last token
// is never covered: its logits start the completion and the cache keeps
// no logits.
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
	if len(cached) < minRun || end-i < minRun {
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
	for x := 0; x+minRun <= len(cached); x++ {
		k := hash(cached[x : x+minRun])
		at[k] = append(at[k], x)
	}
	for i+minRun <= end {
		w := prompt[i : i+minRun]
		src, n := -1, 0
		// A window repeated all over the file (blank or identical lines)
		// has many places; the first few are enough to find a long run.
		cands := at[hash(w)]
		for _, x := range cands[:min(len(cands), maxRunCandidates)] {
			if !slices.Equal(cached[x:x+minRun], w) {
				continue
			}
			k := minRun
			for i+k < end && x+k < len(cached) && prompt[i+k] == cached[x+k] {
				k++
			}
			if k > n {
				src, n = x, k
			}
		}
		if src < 0 {
			i++
			continue
		}
		plan = append(plan, run{src, i, n})
		i += n
	}
	return plan
}

// maxRunCandidates bounds the places in the cached prompt tried for one
// window, so a file of identical lines costs linear time.
const maxRunCandidates = 8

// planTokens is the number of prompt tokens plan covers.
func planTokens(plan []run) int {
	n := 0
	for _, r := range plan {
		n += r.n
	}
	return n
}

// MatchRuns finds, among the most recently used entries computed for the
// document doc, the one whose runs (reusePlan) cover most of tokens, and
// returns its sequence id and plan. The entry found counts as used. With
// no such entry, or none sharing a token, the plan is empty.
func (c *PrefixCache) MatchRuns(tokens []int32, minRun int, doc uint64) (SeqID, []run) {
	var recent []*cacheEntry
	for _, e := range c.entries {
		if doc != 0 && e.doc == doc {
			recent = append(recent, e)
		}
	}
	slices.SortFunc(recent, func(a, b *cacheEntry) int { return cmp.Compare(b.lastUse, a.lastUse) })
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

var docSeed = maphash.MakeSeed()

// documentID identifies the document a request completes in: a hash of
// its text, the same wherever the cursor is in it. It is never 0.
func documentID(prefix, suffix string) uint64 {
	var h maphash.Hash
	h.SetSeed(docSeed)
	h.WriteString(prefix)
	h.WriteString(suffix)
	return h.Sum64() | 1
}
