package astguard

import (
	"fmt"
	"strconv"

	sitter "github.com/smacker/go-tree-sitter"
)

// Verdict is what the decoder should do with a candidate.
type Verdict int

const (
	// Allow: the candidate adds no syntax error (or only ones more text can
	// still fix).
	Allow Verdict = iota
	// Penalize: keep the candidate but add Judgement.Penalty to its score.
	Penalize
	// Prune: drop the candidate; no continuation can make it valid.
	Prune
)

func (v Verdict) String() string {
	switch v {
	case Allow:
		return "allow"
	case Penalize:
		return "penalize"
	case Prune:
		return "prune"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// Judgement is the Checker's answer for one candidate.
type Judgement struct {
	Verdict Verdict
	// Penalty is the log-probability to add to the candidate's score when
	// Verdict is Penalize (negative); zero otherwise.
	Penalty float64
	// NewErrors counts the syntax errors the candidate adds relative to the
	// baseline; Hard counts those among them that more text cannot fix.
	NewErrors, Hard int
	// Completable reports whether every new error could still be fixed by
	// more text (always true for a finished candidate without new errors).
	Completable bool
	// Errors lists the new errors, positioned in the text that was parsed
	// (prefix+candidate+closers for Partial, where closers close what the
	// candidate leaves open; prefix+candidate+suffix for Final).
	Errors []SyntaxError
}

// Policy tunes how judgements turn into verdicts.
type Policy struct {
	// PenaltyPerError is added to a finished candidate's log-probability
	// for each new error. Why -5 by default: a syntax error should outweigh
	// the usual log-probability gap between the top beams (1–3 nats), so a
	// valid beam wins whenever one exists, without making an invalid beam
	// impossible when none is valid.
	PenaltyPerError float64
	// PenalizeHardPartial makes Partial penalise (rather than prune) a
	// candidate with hard errors, for callers that would rather keep beams.
	PenalizeHardPartial bool
}

// DefaultPolicy is the policy NewChecker starts with.
var DefaultPolicy = Policy{PenaltyPerError: -5}

// neutralFills are texts tried in the hole to build the baseline: the one
// that leaves the fewest errors stands for "a hole filled by something
// harmless" (an expression hole wants an expression, a Python block a
// statement, a statement hole nothing at all, the end of a declaration
// "0;").
var neutralFills = map[Language][]string{
	Go:         {"", "0", "_ = 0"},
	Python:     {"", "pass", "0"},
	JavaScript: {"", "0", ";", "0;"},
	TypeScript: {"", "0", ";", "0;"},
	TSX:        {"", "0", ";", "0;"},
	Java:       {"", "0", ";", "0;"},
	C:          {"", "0", ";", "0;"},
	Cpp:        {"", "0", ";", "0;"},
	Rust:       {"", "0", "()", "0;"},
	CSharp:     {"", "0", ";", "0;"},
}

// judgeCacheSize bounds the memo of judgements. Why 4,096: a beam of 4 over
// 256 tokens judged at every step is 1,024 texts per completion; four times
// that covers re-judged texts with room to spare, at a few hundred KB.
const judgeCacheSize = 4096

// Checker judges candidate completions of one hole: the text between a fixed
// prefix and suffix. It keeps two parse trees: prefix+candidate+closers for
// candidates still being generated (closers close the brackets and quotes
// that prefix+candidate leaves open, see Lexer.Closers) and
// prefix+candidate+suffix for finished ones. It moves each tree from the
// last candidate to the next by a tree edit of the differing middle bytes,
// so one judgement costs an incremental reparse around the hole rather than
// a parse of the file.
//
// Use Lexer for the per-token mask between judgements; call Partial at line
// ends (or when a beam closes a bracket) and Final when a beam finishes.
// A Checker is not safe for concurrent use.
type Checker struct {
	lang           Language
	prefix, suffix string
	policy         Policy
	lexer          *Lexer

	part               hole // prefix + candidate + closers
	full               hole // prefix + candidate + suffix
	fill               string
	basePart, baseFull map[errKey]int // baseline errors (multiset)

	memoPart map[string]Judgement
	memoFull map[finalKey]Judgement
}

// finalKey memoises Final: a candidate and how much of the suffix it
// replaces.
type finalKey struct {
	candidate string
	replace   int
}

// errKey identifies an error for comparison with the baseline: positions
// after the hole are stored relative to the end of the text.
type errKey struct {
	kind       ErrorKind
	start, end int
	fromEnd    bool
	text       string
}

// hole is the Document of prefix+middle+tail, whose middle changes.
type hole struct {
	doc  *Document
	pre  int    // len(prefix)
	mid  string // current middle
	tail int    // len(suffix) (0 for the partial tree)
	// suffix is the tail's text and cut how many of its first bytes the
	// middle currently replaces (FinalReplacing): the document is
	// prefix + mid + suffix[cut:].
	suffix string
	cut    int
}

// NewChecker prepares a Checker for the hole between prefix and suffix: it
// parses prefix+suffix once, tries every neutral fill by incremental edits,
// and keeps the fill with the fewest errors as the baseline. Where the file
// is open in a Document, NewCheckerAt starts from its tree and costs much
// less.
func NewChecker(lang Language, prefix, suffix string) (*Checker, error) {
	if err := checkSource([]byte(prefix + suffix)); err != nil {
		return nil, err
	}
	c, err := newChecker(lang, prefix, suffix)
	if err != nil {
		return nil, err
	}
	if err := c.full.init(lang, prefix, suffix, nil); err != nil {
		return nil, err
	}
	return c, c.baseline()
}

// NewCheckerAt prepares a Checker for a hole at byte offset cursor of an
// open Document (prefix = text before the cursor, suffix = text after it).
// The document's tree is already the parse of prefix+suffix, so the
// Checker starts from a copy of it and needs no full parse
// (BenchmarkNewCheckerAt against BenchmarkNewChecker).
func NewCheckerAt(d *Document, cursor int) (*Checker, error) {
	if cursor < 0 || cursor > len(d.src) {
		return nil, fmt.Errorf("cursor %d outside document of %d bytes", cursor, len(d.src))
	}
	prefix, suffix := string(d.src[:cursor]), string(d.src[cursor:])
	c, err := newChecker(d.lang, prefix, suffix)
	if err != nil {
		return nil, err
	}
	if err := c.full.init(d.lang, prefix, suffix, d.tree); err != nil {
		return nil, err
	}
	return c, c.baseline()
}

// ensurePart builds the prefix tree on the first Partial call (Final and
// Truncate never need it): a copy of the full tree with the middle and
// suffix replaced by the closers in one incremental edit, so it costs a
// reparse of the changed region, not of the prefix.
func (c *Checker) ensurePart() error {
	if c.part.doc != nil {
		return nil
	}
	h := &c.part
	if err := h.init(c.lang, string(c.full.doc.src), "", c.full.doc.tree); err != nil {
		return err
	}
	h.pre, h.mid = len(c.prefix), string(c.full.doc.src[len(c.prefix):])
	if err := h.set(c.lexer.Closers()); err != nil {
		h.close()
		return err
	}
	c.basePart = keys(h.errors(), h)
	return nil
}

// newChecker sets up everything but the trees.
func newChecker(lang Language, prefix, suffix string) (*Checker, error) {
	lx, err := NewLexer(lang)
	if err != nil {
		return nil, err
	}
	lx.Prime(prefix)
	return &Checker{lang: lang, prefix: prefix, suffix: suffix, policy: DefaultPolicy, lexer: lx,
		memoPart: map[string]Judgement{}, memoFull: map[finalKey]Judgement{}}, nil
}

// baseline records the baseline errors of Final: prefix+fill+suffix with
// the best neutral fill. On error the Checker is closed.
func (c *Checker) baseline() error {
	best := -1
	for _, f := range neutralFills[c.lang] {
		if err := c.full.set(f); err != nil {
			c.Close()
			return err
		}
		errs := c.full.errors()
		if best < 0 || len(errs) < best {
			best, c.fill, c.baseFull = len(errs), f, keys(errs, &c.full)
		}
	}
	return nil
}

// SetPolicy replaces the policy (and forgets memoised judgements).
func (c *Checker) SetPolicy(p Policy) {
	c.policy = p
	clear(c.memoPart)
	clear(c.memoFull)
}

// Lexer returns a lexical automaton primed with the prefix; Clone it for
// each beam.
func (c *Checker) Lexer() *Lexer { return c.lexer.Clone() }

// Fill is the neutral fill chosen for the baseline.
func (c *Checker) Fill() string { return c.fill }

// BaselineErrors is the number of errors of prefix+fill+suffix.
func (c *Checker) BaselineErrors() int {
	n := 0
	for _, k := range c.baseFull {
		n += k
	}
	return n
}

// Partial judges a candidate that is still being generated. Errors that
// stand before the candidate's frontier (the outermost bracket or literal
// it leaves open, else its last non-blank line) are hard: more text cannot
// reach back to fix them, so the candidate is pruned. Errors past the
// frontier are what any unfinished statement shows; they only make the
// candidate "completable".
func (c *Checker) Partial(candidate string) (Judgement, error) {
	if j, ok := c.memoPart[candidate]; ok {
		return j, nil
	}
	if err := c.ensurePart(); err != nil {
		return Judgement{}, err
	}
	front, closers := c.frontier(candidate)
	if err := c.part.set(candidate + closers); err != nil {
		return Judgement{}, err
	}
	frontier := len(c.prefix) + front
	newErrs := subtract(c.part.errors(), c.basePart, &c.part)
	j := Judgement{Completable: true}
	var raws []rawError
	for _, e := range newErrs {
		j.NewErrors++
		if e.end < frontier || e.kind == KindMissing && e.start < frontier {
			j.Hard++
		}
		raws = append(raws, e)
	}
	j.Errors = locate(c.part.doc.src, raws)
	if j.Hard > 0 {
		j.Completable = false
		if c.policy.PenalizeHardPartial {
			j.Verdict, j.Penalty = Penalize, c.policy.PenaltyPerError*float64(j.Hard)
		} else {
			j.Verdict = Prune
		}
	}
	remember(c.memoPart, candidate, j)
	return j, nil
}

// Final judges a finished candidate in place between prefix and suffix: the
// errors of prefix+candidate+suffix that the baseline (prefix+fill+suffix)
// does not have are new, and each costs PenaltyPerError.
func (c *Checker) Final(candidate string) (Judgement, error) {
	return c.FinalReplacing(candidate, 0)
}

// FinalReplacing is Final for a candidate that replaces the first replace
// bytes of the suffix (closers an editor auto-inserted after the cursor,
// which the candidate writes itself): it judges
// prefix+candidate+suffix[replace:].
func (c *Checker) FinalReplacing(candidate string, replace int) (Judgement, error) {
	if replace < 0 || replace > len(c.suffix) {
		return Judgement{}, fmt.Errorf("checker: replacing %d bytes of a %d-byte suffix", replace, len(c.suffix))
	}
	k := finalKey{candidate, replace}
	if j, ok := c.memoFull[k]; ok {
		return j, nil
	}
	if err := c.full.setCut(candidate, replace); err != nil {
		return Judgement{}, err
	}
	newErrs := subtract(c.full.errors(), c.baseFull, &c.full)
	j := Judgement{NewErrors: len(newErrs), Hard: len(newErrs), Completable: len(newErrs) == 0}
	j.Errors = locate(c.full.doc.src, newErrs)
	if j.NewErrors > 0 {
		j.Verdict, j.Penalty = Penalize, c.policy.PenaltyPerError*float64(j.NewErrors)
	}
	remember(c.memoFull, k, j)
	return j, nil
}

// frontier returns the offset in candidate before which errors are final:
// where the outermost bracket, string or comment that the candidate leaves
// open begins, or else the start of its last non-blank line. It also returns
// the text that closes what prefix+candidate leaves open (Lexer.Closers).
func (c *Checker) frontier(candidate string) (int, string) {
	l := c.lexer.Clone()
	front := -1
	var opens []int // where each bracket the candidate opened and left open begins
	leftCode := -1
	for i := 0; i < len(candidate); i++ {
		wasCode, d := l.InCode(), l.Depth()
		l.Prime(candidate[i : i+1])
		switch nd := l.Depth(); {
		case nd > d:
			opens = append(opens, i)
		case nd < d && len(opens) > 0:
			opens = opens[:max(0, len(opens)-(d-nd))]
		}
		if wasCode && !l.InCode() {
			leftCode = i
		}
	}
	if len(opens) > 0 {
		front = opens[0]
	}
	if !l.InCode() && leftCode >= 0 && (front < 0 || leftCode < front) {
		front = leftCode
	}
	// Start of the last non-blank line.
	end := len(candidate)
	for end > 0 && (candidate[end-1] == '\n' || candidate[end-1] == ' ' || candidate[end-1] == '\t' || candidate[end-1] == '\r') {
		end--
	}
	lineStart := end
	for lineStart > 0 && candidate[lineStart-1] != '\n' {
		lineStart--
	}
	if front < 0 || lineStart < front {
		front = lineStart
	}
	return front, l.Closers()
}

// Close frees the parse trees and parsers.
func (c *Checker) Close() {
	c.part.close()
	c.full.close()
}

func remember[K comparable](m map[K]Judgement, k K, j Judgement) {
	if len(m) >= judgeCacheSize {
		clear(m)
	}
	m[k] = j
}

// keys turns errors into a baseline multiset.
func keys(errs []rawError, h *hole) map[errKey]int {
	m := map[errKey]int{}
	for _, e := range errs {
		m[h.key(e)]++
	}
	return m
}

// subtract returns the errors not accounted for by the baseline multiset.
func subtract(errs []rawError, base map[errKey]int, h *hole) []rawError {
	used := map[errKey]int{}
	var out []rawError
	for _, e := range errs {
		k := h.key(e)
		if used[k] < base[k] {
			used[k]++
			continue
		}
		out = append(out, e)
	}
	return out
}

// key positions an error relative to the part of the text it lies in: the
// prefix (absolute) or the suffix (from the end), so the same error compares
// equal whatever the middle. Errors that touch the middle keep absolute
// positions and the middle's length, so they match only an identical text.
func (h *hole) key(e rawError) errKey {
	midEnd := h.pre + len(h.mid)
	switch {
	case e.end < h.pre || e.end == h.pre && e.start < h.pre:
		return errKey{kind: e.kind, start: e.start, end: e.end, text: e.text}
	case h.tail > 0 && e.start >= midEnd:
		n := len(h.doc.src)
		return errKey{kind: e.kind, start: n - e.start, end: n - e.end, fromEnd: true, text: e.text}
	}
	return errKey{kind: e.kind, start: e.start, end: e.end, text: e.text + "\x00" + h.mid + "\x00" + strconv.Itoa(h.cut)}
}

// init sets prefix+tail as the hole's first state (empty middle): a copy
// of tree when it is the parse of exactly that text, else a full parse.
func (h *hole) init(lang Language, prefix, tail string, tree *sitter.Tree) error {
	p, err := newParser(lang)
	if err != nil {
		return err
	}
	src := append(append(make([]byte, 0, len(prefix)+len(tail)+256), prefix...), tail...)
	if h.doc, err = newDocument(lang, p, src, tree); err != nil {
		return fmt.Errorf("checker: %w", err)
	}
	h.pre, h.tail, h.suffix = len(prefix), len(tail), tail
	return nil
}

// set replaces the middle by mid with one tree edit over the bytes that
// differ, and reparses incrementally.
func (h *hole) set(mid string) error { return h.setCut(mid, h.cut) }

// setCut is set with the middle also replacing the first cut bytes of the
// suffix. The edit spans the middle and the suffix bytes either state
// replaces, so a change of cut is one edit like a change of middle.
func (h *hole) setCut(mid string, cut int) error {
	span := max(cut, h.cut)
	old := h.mid + h.suffix[h.cut:span]
	next := mid + h.suffix[cut:span]
	if err := h.replace(old, next); err != nil {
		return err
	}
	h.mid, h.cut = mid, cut
	return nil
}

// replace swaps the document's bytes old, which begin after the prefix,
// for next with one tree edit over the bytes that differ.
func (h *hole) replace(old, mid string) error {
	if mid == old {
		return nil
	}
	k := 0 // common prefix of old and new middle
	for k < len(old) && k < len(mid) && old[k] == mid[k] {
		k++
	}
	e := 0 // common suffix, not overlapping the common prefix
	for e < len(old)-k && e < len(mid)-k && old[len(old)-1-e] == mid[len(mid)-1-e] {
		e++
	}
	return h.doc.Replace(h.pre+k, h.pre+len(old)-e, []byte(mid[k:len(mid)-e]))
}

// errors lists the raw errors of the current tree.
func (h *hole) errors() []rawError {
	return collectErrors(h.doc.tree.RootNode(), h.doc.src, nil)
}

func (h *hole) close() {
	if h.doc != nil {
		h.doc.Close()
		h.doc = nil
	}
}
