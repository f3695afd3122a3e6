package decode

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options configure an Engine.
type Options struct {
	// Order of FIM prompts (SPM, DefaultOrder, when zero).
	Order Order
	// Budget splits the prompt; zero fields take DefaultBudget's.
	Budget Budget
	// CacheBytes bounds the keys and values the prefix cache keeps between
	// requests (0: as much as the KV cache holds).
	CacheBytes int64
	// DisableCache evaluates every prompt from scratch (for comparisons).
	DisableCache bool
	// MaxActive is how many requests decode at once; others wait. Default
	// 8: with beam width 4 that is 32 sequences, half the KV cache's 64
	// sequence ids, leaving the rest to cached prefixes.
	MaxActive int
	// PrefillChunk caps the prompt tokens evaluated in one engine step
	// across requests. A step is the engine's unit of latency: a new
	// request's long prompt is cut into chunks so that requests already
	// decoding keep getting tokens and a cancellation takes effect within
	// one chunk. Default 256: long enough that a chunk reads the weights
	// once for many tokens (prefill runs near its best throughput from
	// ~64 tokens), short enough that a step of a 0.5B model on two cores
	// stays around a second.
	PrefillChunk int
	// MaxBeamWidth caps Beams.Width (default DefaultMaxBeamWidth).
	MaxBeamWidth int
	// ReuseRun, when positive, lets a prompt reuse runs of at least that
	// many tokens that a recent cached prompt of the same document holds
	// at other positions (reuse.go; DefaultReuseRun is the suggested
	// value): a cursor move then costs a few tokens instead of the whole
	// prompt, but the completions are approximate. Zero, the default,
	// reuses only the cached prefix, which keeps every prompt exact, as
	// llama.cpp keeps its --cache-reuse off by default.
	ReuseRun int
	// NoHealing keeps the tokens of the word being typed in SPM and
	// prefix-only prompts instead of letting the model re-choose them
	// (token healing, Prompt.Heal); for comparisons.
	NoHealing bool
}

// DefaultMaxBeamWidth is the widest beam a request may ask for by
// default: MaxActive (8) requests of width 8 fill the KV cache's 64
// sequence ids, and past ~4 beams the quality measured here no longer rose
// while each step's cost grows with the width.
const DefaultMaxBeamWidth = 8

func (o *Options) defaults() {
	if o.MaxActive <= 0 {
		o.MaxActive = 8
	}
	if o.PrefillChunk <= 0 {
		o.PrefillChunk = 256
	}
	if o.MaxBeamWidth <= 0 {
		o.MaxBeamWidth = DefaultMaxBeamWidth
	}
	o.Budget = o.Budget.withDefaults()
}

// InternalError is a panic inside the engine (a backend failure, a
// constraint bug) turned into the failure of the requests in flight. Stack
// holds where it happened, for logs; Error stays one line.
type InternalError struct {
	Value any
	Stack []byte
}

func (e *InternalError) Error() string { return fmt.Sprintf("decode: internal error: %v", e.Value) }

// ErrClosed is returned by Complete after Close.
var ErrClosed = errors.New("decode: engine closed")

// ErrNonFinite reports logits with a NaN or an infinity in them: the
// model's weights are corrupt or its backend computed garbage.
var ErrNonFinite = errors.New("decode: the model produced non-finite logits (corrupt weights or a backend fault)")

// Engine serves completion requests on one model. Complete may be called
// from many goroutines; one goroutine owns the model and runs every
// active request's next step in one Forward call.
type Engine struct {
	lm    LM
	tok   Tokenizer
	sp    *Special
	tmpl  Template
	opts  Options
	cache *PrefixCache
	// The model's context length and KV cache size, read once: Complete
	// checks prompts against them on its caller's goroutine, and LM's
	// methods are for the loop alone.
	ctxLen, cells int

	submit    chan *job
	quit      chan struct{}
	loopDone  chan struct{}
	closeOnce sync.Once

	// Loop-owned state.
	free    []SeqID
	isFree  []bool // by SeqID: guards free against an id released twice
	active  []*job
	waiting []*job
	batch   Batch
	stopTxt []string
	pieces  []string           // every token's text, made on the first healing request
	healIDs map[string][]int32 // tokens that can start a healed text, by the text

	mu    sync.Mutex
	stats EngineStats
}

// EngineStats count the engine's work since it started.
type EngineStats struct {
	Requests       int
	Steps          int   // Forward calls
	BatchTokens    int64 // tokens evaluated
	PromptComputed int64 // prompt tokens evaluated
	PromptTokens   int64 // prompt tokens requested
	MaxBatchSeqs   int   // the most sequences one step served
	Cache          CacheStats
}

// NewEngine starts an engine on lm with tok's tokenization and sp's special
// tokens. Close stops it.
func NewEngine(lm LM, tok Tokenizer, sp *Special, opts Options) (*Engine, error) {
	if lm == nil || tok == nil || sp == nil {
		return nil, fmt.Errorf("decode: NewEngine needs a model, a tokenizer and special tokens")
	}
	opts.defaults()
	e := &Engine{
		lm: lm, tok: tok, sp: sp, opts: opts, ctxLen: lm.ContextLen(), cells: lm.CacheCells(),
		tmpl:     Template{Special: sp, Order: opts.Order, Budget: opts.Budget, Heal: !opts.NoHealing},
		submit:   make(chan *job),
		quit:     make(chan struct{}),
		loopDone: make(chan struct{}),
	}
	e.isFree = make([]bool, lm.MaxSeqs())
	for s := lm.MaxSeqs() - 1; s >= 0; s-- {
		e.putSeq(SeqID(s))
	}
	e.cache = NewPrefixCache(lm, opts.CacheBytes, e.putSeq)
	for id, t := range sp.Text {
		if sp.IsStop(id) && len(t) >= 5 {
			e.stopTxt = append(e.stopTxt, t)
		}
	}
	slices.Sort(e.stopTxt)
	go e.loop()
	return e, nil
}

// Special is the engine's vocabulary's special tokens.
func (e *Engine) Special() *Special { return e.sp }

// Template is a copy of the engine's prompt layout (to build the prompts
// it would, or to read its budget).
func (e *Engine) Template() *Template {
	t := e.tmpl
	return &t
}

// Close stops the engine; requests in flight fail with ErrClosed.
func (e *Engine) Close() {
	e.closeOnce.Do(func() { close(e.quit) })
	<-e.loopDone
}

// Stats returns a snapshot of the engine's counters.
func (e *Engine) Stats() EngineStats {
	e.mu.Lock()
	s := e.stats
	e.mu.Unlock()
	s.Cache = e.cache.Stats()
	return s
}

// job is one request inside the engine.
type job struct {
	ctx    context.Context
	req    Request
	prompt []int32
	pr     *Prompt
	doc    *docInfo
	docID  uint64 // the document's identity (documentID) for moved-run reuse; 0 when that is off
	width  int
	nbest  int
	maxTok int
	rng    *rand.Rand
	out    chan jobResult

	seq      SeqID   // the prompt's sequence (beam 0's once decoding)
	poisoned bool    // a Forward failed: its cells are unknown, cache nothing
	ended    bool    // its result has been sent
	todo     []int32 // prompt indexes to evaluate, ascending; the others' cells were reused
	done     int     // todo[:done] are evaluated
	cached   int     // prompt tokens reused from the prefix cache
	moved    int     // of those, reused from runs after the cached prefix (approximate)
	admitted bool

	beams    []*beam
	finished []hyp
	steps    int

	start, first time.Time
	logitIdx     []int // this step: indexes of its logits rows, per beam (or one for prefill)
}

type jobResult struct {
	res *Result
	err error
}

type beam struct {
	seq       SeqID
	toks      []int32 // generated, the last one possibly not yet evaluated
	evaluated int     // toks[:evaluated] are in seq's cells after the prompt
	text      string
	heal      string // what the beam must still generate of the prompt's healed text before text begins
	lp        float64
	penalty   float64
}

func (b *beam) score() float64 { return b.lp - b.penalty }

type hyp struct {
	toks    []int32
	text    string
	shown   view // as the editor gets it (job.shown), set by addFinished
	lp      float64
	penalty float64
	reason  string
}

func (h *hyp) score() float64 { return h.lp - h.penalty }

// floor is the score of the n-th best finished hypothesis, counting
// hypotheses the editor would see as one (the same shown text) once: the
// result holds N distinct completions, so duplicates set no floor. ok is
// false while fewer than N distinct ones have finished.
func (j *job) floor() (score float64, ok bool) {
	if len(j.finished) == 0 {
		return 0, false
	}
	if j.nbest == 1 { // every decode step of a single-result search: no map
		return j.finished[0].score(), true
	}
	seen := map[view]bool{}
	for i := range j.finished {
		h := &j.finished[i]
		if seen[h.shown] {
			continue
		}
		seen[h.shown] = true
		if len(seen) == j.nbest {
			return h.score(), true
		}
	}
	return 0, false
}

// margin is the request's beam margin in nats, negative for none.
func (j *job) margin() float64 {
	if m := j.req.Beams.Margin; m != 0 {
		return m
	}
	return DefaultBeamMargin
}

// endsLine reports whether the completion ended at a line break: the
// line-based stop rules cut there, and a model that ends its middle with
// a newline before its end token meant a whole line.
func (h *hyp) endsLine() bool {
	switch h.reason {
	case FinishLines, FinishBlock, FinishSuffix, FinishUnit:
		return true
	case FinishStop, FinishLength, FinishDeadline, FinishContext:
		return strings.HasSuffix(strings.TrimRight(h.text, " \t\r"), "\n")
	}
	return false
}

// wholeLines is the text of a multi-line completion cut short by a limit
// (tokens, deadline, context) without its unfinished last line: half a
// line ends mid-word ("print(is_pal"), which no one would accept. A
// completion of one visible line is kept as it is: there the part is the
// point (it may be accepted word by word).
func wholeLines(text string) string {
	if i := strings.LastIndexByte(text, '\n'); i >= 0 && strings.TrimSpace(text[:i]) != "" {
		return text[:i+1]
	}
	return text
}

// Complete runs req and returns its completions, best first. It returns
// ctx's error, within one engine step, when ctx is cancelled; a request's
// Limits.Deadline instead ends it with the best result so far.
func (e *Engine) Complete(ctx context.Context, req Request) (*Result, error) {
	start := time.Now()
	j, err := e.newJob(ctx, req)
	if err != nil {
		return nil, err
	}
	j.start = start
	select {
	case e.submit <- j:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-e.quit:
		return nil, ErrClosed
	}
	r := <-j.out
	return r.res, r.err
}

func (e *Engine) newJob(ctx context.Context, req Request) (*job, error) {
	w := max(1, req.Beams.Width)
	if w > e.opts.MaxBeamWidth {
		return nil, fmt.Errorf("decode: beam width %d exceeds the maximum of %d", w, e.opts.MaxBeamWidth)
	}
	n := max(1, req.Beams.N)
	if n > w {
		return nil, fmt.Errorf("decode: %d results asked of a beam width of %d", n, w)
	}
	if req.Limits.MaxTokens < 0 || req.Limits.MaxLines < 0 {
		return nil, fmt.Errorf("decode: negative limits")
	}
	s := req.Sampling
	if s.TopP < 0 || s.MinP < 0 || s.MinP >= 1 || s.TopK < 0 || math.IsNaN(s.Temperature) {
		return nil, fmt.Errorf("decode: sampling parameters out of range (top-p %v, min-p %v, top-k %d)", s.TopP, s.MinP, s.TopK)
	}
	maxTok := req.Limits.MaxTokens
	if maxTok == 0 {
		maxTok = DefaultMaxTokens
	}
	tmpl := e.tmpl
	tmpl.Budget = tmpl.Budget.withDefaults()
	if req.Limits.MaxPromptTokens > 0 {
		tmpl.Budget.Total = req.Limits.MaxPromptTokens
	}
	if e.ctxLen > 0 {
		// The prompt and the completion share the model's context: a
		// budget past it would fail every large document's request, or
		// leave room for a token or two. The completion keeps its room
		// unless that would leave the prompt less than half the context.
		room := max(e.ctxLen-maxTok-w, e.ctxLen/2)
		tmpl.Budget.Total = min(tmpl.Budget.Total, room)
	}
	pr, err := tmpl.Build(e.tok, PromptInput{
		Prefix: req.Prefix, Suffix: req.Suffix, Path: req.Path, Language: req.Language,
		Repo: req.Repo, Context: req.Context,
	})
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if len(pr.Tokens) == 0 {
		return nil, fmt.Errorf("decode: empty prompt (no prefix, suffix or BOS)")
	}
	if e.ctxLen > 0 && len(pr.Tokens) >= e.ctxLen {
		return nil, fmt.Errorf("decode: prompt of %d tokens fills the model's context of %d", len(pr.Tokens), e.ctxLen)
	}
	if need := len(pr.Tokens) + w; need > e.cells {
		return nil, fmt.Errorf("decode: prompt of %d tokens does not fit the KV cache of %d cells", len(pr.Tokens), e.cells)
	}
	j := &job{
		ctx: ctx, req: req, prompt: pr.Tokens, pr: pr,
		doc:   newDocInfo(req.Prefix, req.Suffix, req.Stop.Multiline),
		width: w, nbest: n, maxTok: maxTok,
		rng: rand.New(rand.NewPCG(s.Seed, s.Seed^0x6a09e667f3bcc909)),
		out: make(chan jobResult, 1),
		seq: -1,
	}
	if e.opts.ReuseRun > 0 {
		// Hashing the whole document costs a keystroke only when it can
		// pay off.
		j.docID = documentID(req.Prefix, req.Suffix)
	}
	return j, nil
}

// loop is the engine's goroutine: it owns the model, the KV cache and the
// prefix cache.
func (e *Engine) loop() {
	defer close(e.loopDone)
	for {
		if len(e.active) == 0 && len(e.waiting) == 0 {
			select {
			case j := <-e.submit:
				e.waiting = append(e.waiting, j)
			case <-e.quit:
				e.shutdown()
				return
			}
		}
	drain:
		for {
			select {
			case j := <-e.submit:
				e.waiting = append(e.waiting, j)
			case <-e.quit:
				e.shutdown()
				return
			default:
				break drain
			}
		}
		e.safeStep()
	}
}

func (e *Engine) shutdown() {
	e.fail(append(e.active, e.waiting...), ErrClosed, false)
	e.active, e.waiting = nil, nil
}

// safeStep runs one step; a panic inside it (a backend failure) fails the
// requests in flight instead of the process: the language server above
// keeps serving. Waiting requests fail too: a panic while admitting one
// leaves the waiting list half filtered (and that request holding a
// sequence), and retrying it would panic again at every step.
func (e *Engine) safeStep() {
	defer func() {
		if r := recover(); r != nil {
			e.fail(append(e.active, e.waiting...), &InternalError{Value: r, Stack: debug.Stack()}, true)
			e.active, e.waiting = nil, nil
		}
	}()
	e.step()
}

// fail ends jobs with err. Poisoned jobs cache nothing: their cells are
// in an unknown state. A job listed twice (as a half-filtered list can
// hold it) ends once.
func (e *Engine) fail(jobs []*job, err error, poisoned bool) {
	for _, j := range jobs {
		j.poisoned = j.poisoned || poisoned
		e.abort(j, err)
	}
}

func (e *Engine) step() {
	now := time.Now()
	// Active requests: cancellation and deadlines. They end before any
	// waiting request is admitted, so that one takes their place in this
	// step and finds their prompts in the prefix cache (a request that
	// supersedes a cancelled one usually shares most of its prompt).
	live := e.active[:0]
	for _, j := range e.active {
		if err := j.ctx.Err(); err != nil {
			e.abort(j, err)
			continue
		}
		if j.pastDeadline(now) {
			e.finish(j, FinishDeadline)
			continue
		}
		live = append(live, j)
	}
	e.active = live

	// Waiting requests: drop cancelled ones, end those whose deadline
	// passed while they waited (with the empty result a deadline gives
	// before the first token), admit others while there is room.
	keep := e.waiting[:0]
	for _, j := range e.waiting {
		if err := j.ctx.Err(); err != nil {
			e.send(j, jobResult{err: err})
			continue
		}
		if j.pastDeadline(now) {
			e.finish(j, FinishDeadline)
			continue
		}
		if len(e.active) < e.opts.MaxActive && e.admit(j) {
			e.active = append(e.active, j)
			continue
		}
		keep = append(keep, j)
	}
	e.waiting = keep
	if len(e.active) == 0 {
		return
	}

	// Room in the KV cache for this step: evict cached prefixes first;
	// if running requests alone overflow it, the newest ones stop so the
	// older ones can finish. One already decoding returns what it has,
	// as when the context window fills; one still reading its prompt has
	// nothing to return and fails.
	for len(e.active) > 0 && !e.cache.Reserve(e.stepCells()) {
		j := e.active[len(e.active)-1]
		e.active = e.active[:len(e.active)-1]
		if j.beams != nil {
			e.finish(j, FinishContext)
			continue
		}
		e.abort(j, fmt.Errorf("decode: KV cache full (%d cells): too many concurrent requests for its size", e.cells))
	}
	if len(e.active) == 0 {
		return
	}

	// One batch for everyone: prompt chunks of requests still prefilling,
	// the pending token of every beam of requests decoding.
	b := &e.batch
	b.reset()
	chunk := e.opts.PrefillChunk
	nlog := 0
	seqs := 0
	for _, j := range e.active {
		j.logitIdx = j.logitIdx[:0]
		if j.beams == nil {
			if chunk == 0 {
				continue
			}
			k := min(chunk, len(j.todo)-j.done)
			chunk -= k
			for _, i := range j.todo[j.done : j.done+k] {
				last := int(i) == len(j.prompt)-1
				b.add(j.prompt[i], i, j.seq, last)
				if last {
					j.logitIdx = append(j.logitIdx, nlog)
					nlog++
				}
			}
			j.done += k
			seqs++
			continue
		}
		for _, bm := range j.beams {
			b.add(bm.toks[len(bm.toks)-1], int32(len(j.prompt)+bm.evaluated), bm.seq, true)
			bm.evaluated++
			j.logitIdx = append(j.logitIdx, nlog)
			nlog++
			seqs++
		}
	}
	if len(b.Tokens) == 0 {
		return
	}
	logits, err := e.lm.Forward(*b)
	e.mu.Lock()
	e.stats.Steps++
	e.stats.BatchTokens += int64(len(b.Tokens))
	e.stats.MaxBatchSeqs = max(e.stats.MaxBatchSeqs, seqs)
	e.mu.Unlock()
	if err != nil {
		e.fail(e.active, fmt.Errorf("decode: forward: %w", err), true)
		e.active = nil
		return
	}
	V := e.lm.Vocab()
	if len(logits) != nlog*V {
		panic(fmt.Sprintf("forward returned %d logits, want %d×%d", len(logits), nlog, V))
	}
	live = e.active[:0]
	for _, j := range e.active {
		if len(j.logitIdx) == 0 {
			live = append(live, j) // prefill continues next step
			continue
		}
		if j.beams == nil {
			// The prompt is done: beam 0 starts on its sequence.
			j.beams = []*beam{{seq: j.seq, heal: j.pr.Heal}}
		}
		rows := make([][]float32, len(j.logitIdx))
		for i, k := range j.logitIdx {
			rows[i] = logits[k*V : (k+1)*V]
		}
		if e.expand(j, rows) {
			live = append(live, j)
		}
	}
	e.active = live
}

// stepCells is the number of tokens the next batch will hold (the same
// walk as the batch building in step, without its effects).
func (e *Engine) stepCells() int {
	chunk, n := e.opts.PrefillChunk, 0
	for _, j := range e.active {
		if j.beams == nil {
			k := min(chunk, len(j.todo)-j.done)
			chunk -= k
			n += k
			continue
		}
		n += len(j.beams)
	}
	return n
}

// admit gives j a sequence holding its longest cached prefix. It returns
// false (j keeps waiting) when no sequence id is free.
func (e *Engine) admit(j *job) bool {
	seq, ok := e.allocSeq()
	if !ok {
		return false
	}
	j.seq = seq
	j.admitted = true
	var plan []run
	if !e.opts.DisableCache {
		plan = e.reuse(j)
	}
	// The runs come in prompt order, apart; the gaps are what to evaluate.
	next := 0
	for _, r := range plan {
		for i := next; i < r.dst; i++ {
			j.todo = append(j.todo, int32(i))
		}
		next = r.dst + r.n
		j.cached += r.n
		if r.dst > 0 { // past the cached prefix: approximate, even at its old position
			j.moved += r.n
		}
	}
	for i := next; i < len(j.prompt); i++ {
		j.todo = append(j.todo, int32(i))
	}
	if j.cached > 0 {
		e.cache.update(func(s *CacheStats) { s.ReusedTokens += int64(j.cached); s.MovedTokens += int64(j.moved) })
	}
	e.mu.Lock()
	e.stats.Requests++
	e.stats.PromptTokens += int64(len(j.prompt))
	e.stats.PromptComputed += int64(len(j.todo))
	e.mu.Unlock()
	return true
}

// reuse puts into j's sequence the cells of its prompt that the prefix
// cache holds, and returns the runs it reused: the longest cached prefix,
// or, when more of the prompt is found at moved positions in a recent
// entry (reuse.go), those runs.
func (e *Engine) reuse(j *job) []run {
	src, n := e.cache.Match(j.prompt)
	// The last prompt token is evaluated even when cached: its logits
	// start the completion, and the cache keeps keys, not logits.
	n = min(n, len(j.prompt)-1)
	if sh, ok := e.lm.(ShiftLM); ok && e.opts.ReuseRun > 0 && len(j.prompt)-1-n >= e.opts.ReuseRun {
		if rsrc, plan := e.cache.MatchRuns(j.prompt, e.opts.ReuseRun, j.docID); planTokens(plan) > n && e.applyRuns(sh, rsrc, j.seq, plan) {
			return plan
		}
	}
	// src is checked again: making room for moved runs may have evicted it.
	if n == 0 || !e.cache.Has(src) || e.lm.SeqCp(src, j.seq, 0, int32(n)) != nil {
		return nil
	}
	return []run{{0, 0, n}}
}

// applyRuns copies plan's runs of src into dst: shared cells where a run
// keeps its position, moved copies elsewhere. On failure (no room for the
// copies) dst is left empty and it returns false.
func (e *Engine) applyRuns(sh ShiftLM, src, dst SeqID, plan []run) bool {
	moved := 0
	for _, r := range plan {
		if r.src != r.dst {
			moved += r.n
		}
	}
	// Room for the copies; the cache evicts least recently used entries,
	// and src was just used, so it goes last.
	if !e.cache.Reserve(moved) || !e.cache.Has(src) {
		return false
	}
	for _, r := range plan {
		var err error
		if r.src == r.dst {
			err = e.lm.SeqCp(src, dst, int32(r.src), int32(r.src+r.n))
		} else {
			err = sh.SeqCpShift(src, dst, int32(r.src), int32(r.src+r.n), int32(r.dst-r.src))
		}
		if err != nil {
			e.lm.SeqRm(dst, -1, -1)
			return false
		}
	}
	return true
}

// allocSeq takes a free sequence id, evicting cached prefixes if none is.
func (e *Engine) allocSeq() (SeqID, bool) {
	for len(e.free) == 0 {
		if !e.cache.EvictLRU() {
			return -1, false
		}
	}
	s := e.free[len(e.free)-1]
	e.free = e.free[:len(e.free)-1]
	e.isFree[s] = false
	return s, true
}

func (e *Engine) releaseSeq(s SeqID) {
	e.lm.SeqRm(s, -1, -1)
	e.putSeq(s)
}

// putSeq returns s to the free list. An id already there is not added
// again: two jobs handed the same sequence would corrupt each other's
// cells, and a step cut short by a panic can release an id twice.
func (e *Engine) putSeq(s SeqID) {
	if !e.isFree[s] {
		e.isFree[s] = true
		e.free = append(e.free, s)
	}
}

// expand turns each live beam's next-token logits into the next set of
// beams, recording finished hypotheses. It returns false when the job has
// ended (and delivers its result).
func (e *Engine) expand(j *job, rows [][]float32) bool {
	if j.first.IsZero() {
		j.first = time.Now()
	}
	j.steps++
	type cand struct {
		parent int
		tok    int32
		lp     float64 // the beam's log-probability with tok
	}
	var cands []cand
	perBeam := 2 * j.width
	if j.width == 1 && j.req.Constraint != nil {
		perBeam = 8 // fallbacks when the constraint rejects the first choice
	}
	for bi, bm := range j.beams {
		row := rows[bi]
		lse := logSumExp(row)
		if math.IsNaN(lse) || math.IsInf(lse, 0) {
			// NaN or infinite logits come from broken weights or a broken
			// backend, never from a healthy model: any token chosen from
			// them is noise. The request fails with that said, and its
			// cells are not cached (they hold the same garbage).
			j.poisoned = true
			e.abort(j, fmt.Errorf("%w: log-sum-exp %v at step %d", ErrNonFinite, lse, j.steps))
			return false
		}
		if bm.heal != "" {
			// Healing: only tokens that agree with the healed text compete
			// (their log-probabilities stay those of the whole vocabulary).
			row = e.healRow(row, bm.heal)
		}
		var order []int32
		if j.width == 1 {
			order = sampleOrder(row, j.req.Sampling, j.rng, max(1, perBeam))
		} else {
			order = topK(row, perBeam)
		}
		for _, t := range order {
			cands = append(cands, cand{bi, t, bm.lp + float64(row[t]) - lse})
		}
	}
	if j.width > 1 {
		slices.SortStableFunc(cands, func(a, b cand) int {
			switch {
			case a.lp > b.lp:
				return -1
			case a.lp < b.lp:
				return 1
			}
			return 0
		})
	}
	con := j.req.Constraint
	masker, _ := con.(TokenMasker)
	ender, _ := con.(UnitEnder)
	type child struct {
		parent int
		tok    int32
		text   string
		heal   string
		lp     float64
		pen    float64
	}
	var next []child
	byScore := func(a, b child) int {
		sa, sb := a.lp-a.pen, b.lp-b.pen
		switch {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		}
		return 0
	}
	for rank, c := range cands {
		if len(next) >= j.width {
			// Penalties only lower scores, so once width survivors score at
			// least this candidate's raw log-probability, no later
			// candidate can displace them: the constraint is asked about
			// as few candidates as possible.
			slices.SortStableFunc(next, byScore)
			if w := next[j.width-1]; w.lp-w.pen >= c.lp {
				break
			}
		}
		p := j.beams[c.parent]
		piece, heal := e.tok.Piece(c.tok), ""
		if p.heal != "" {
			var ok bool
			if piece, heal, ok = healStep(p.heal, piece); !ok || e.sp.IsStop(c.tok) {
				continue // masked out (a sampled order may run past the allowed tokens)
			}
			if heal != "" {
				// Still inside the healed text: nothing to show or judge yet.
				next = append(next, child{c.parent, c.tok, p.text, heal, c.lp, p.penalty})
				if j.width == 1 {
					break
				}
				continue
			}
		}
		if e.sp.IsStop(c.tok) {
			if j.width > 1 && rank >= j.width {
				continue // an ending ranked below the beam width is not a finished hypothesis
			}
			e.addFinished(j, hyp{toks: slices.Clone(p.toks), text: p.text, lp: c.lp, reason: FinishStop})
			if j.width == 1 {
				break
			}
			continue
		}
		if masker != nil && !masker.Allow(p.text, piece) {
			continue
		}
		text := p.text + piece
		toks := append(slices.Clone(p.toks), c.tok)
		if keep, reason, stop := e.stopCheck(j, text); stop && !e.pastBrokenBlockEnd(j, reason, keep, text) {
			e.addFinished(j, hyp{toks: toks, text: keep, lp: c.lp, reason: reason})
			if j.width == 1 {
				break
			}
			continue
		}
		if ender != nil && strings.Contains(piece, "\n") {
			if cut, ok := ender.UnitEnd(text); ok {
				e.addFinished(j, hyp{toks: toks, text: text[:cut], lp: c.lp, reason: FinishUnit})
				if j.width == 1 {
					break
				}
				continue
			}
		}
		var pen float64
		if con != nil {
			var prune bool
			pen, prune = con.Judge(text, 0, false)
			if prune {
				continue
			}
			pen = max(0, pen)
		}
		next = append(next, child{c.parent, c.tok, text, "", c.lp, pen})
		if j.width == 1 {
			break
		}
	}
	if j.width == 1 && len(next) == 0 && len(j.finished) == 0 {
		// Every candidate was rejected: end with what the beam had.
		p := j.beams[0]
		e.addFinished(j, hyp{toks: slices.Clone(p.toks), text: p.text, lp: p.lp, reason: FinishPruned})
	}
	if len(next) > 1 {
		// The constraint's penalties reorder the survivors.
		slices.SortStableFunc(next, byScore)
		next = next[:min(len(next), j.width)]
		// Beams far behind the best one are dropped (Beams.Margin).
		if m := j.margin(); m >= 0 {
			best := next[0].lp - next[0].pen
			keep := len(next)
			for keep > j.nbest && next[keep-1].lp-next[keep-1].pen < best-m {
				keep--
			}
			next = next[:keep]
		}
	}

	// Scores only fall as beams grow, so a live beam that scores no better
	// than the n-th best finished hypothesis can never overtake it: it is
	// dropped, sparing its token in every later step (beam search's tail,
	// where one hypothesis has ended and the others run on, is otherwise
	// the dearest part of it). The search stops when no live beam is left.
	if floor, ok := j.floor(); ok {
		next = slices.DeleteFunc(next, func(c child) bool { return c.lp-c.pen <= floor })
	}
	done := len(next) == 0
	if j.width == 1 && len(j.finished) > 0 {
		done = true
	}
	if done {
		e.finish(j, "")
		return false
	}

	// New beams: a child takes its parent's sequence when it is the
	// parent's first child; later children share the parent's cells
	// through SeqCp (copy-on-write: only the tokens they add are theirs).
	// Parents without children give their sequences back.
	taken := make([]bool, len(j.beams))
	nb := make([]*beam, 0, len(next))
	var copies []*beam
	var copyFrom []SeqID
	for _, c := range next {
		p := j.beams[c.parent]
		b := &beam{toks: append(slices.Clone(p.toks), c.tok), evaluated: p.evaluated, text: c.text, heal: c.heal, lp: c.lp, penalty: c.pen}
		if !taken[c.parent] {
			taken[c.parent] = true
			b.seq = p.seq
		} else {
			copies = append(copies, b)
			copyFrom = append(copyFrom, p.seq)
		}
		nb = append(nb, b)
	}
	for i, p := range j.beams {
		if !taken[i] {
			e.releaseSeq(p.seq)
		}
	}
	for i, b := range copies {
		s, ok := e.allocSeq()
		if !ok {
			// No sequence id left: this step goes on with fewer beams.
			nb = slices.DeleteFunc(nb, func(x *beam) bool { return x == b })
			continue
		}
		if err := e.lm.SeqCp(copyFrom[i], s, -1, -1); err != nil {
			e.releaseSeq(s)
			nb = slices.DeleteFunc(nb, func(x *beam) bool { return x == b })
			continue
		}
		b.seq = s
	}
	j.beams = nb

	// Limits on the next step.
	if j.steps >= j.maxTok {
		e.finish(j, FinishLength)
		return false
	}
	if e.ctxLen > 0 && len(j.prompt)+j.steps+1 >= e.ctxLen {
		e.finish(j, FinishContext)
		return false
	}
	return true
}

// maxBlockOverrun is how many lines a completion may run past the end of
// its indented block while that end would leave the syntax broken (see
// pastBrokenBlockEnd): a Python "except:" or "else:" and a line or two of
// its body, after which the suffix's own lines usually follow.
const maxBlockOverrun = 3

// pastBrokenBlockEnd reports whether a completion that the block-end rule
// would end at keep goes on instead: with a constraint that finds keep
// broken (a "try:" body cut before its "except:", whose body is the
// suffix's next line), for at most maxBlockOverrun lines. The
// completion then usually ends on the suffix rule, with the dedented line
// that repairs it; otherwise it ends here after all.
func (e *Engine) pastBrokenBlockEnd(j *job, reason, keep, text string) bool {
	con := j.req.Constraint
	if reason != FinishBlock || con == nil || j.doc.linesPastBlockEnd(text) > maxBlockOverrun {
		return false
	}
	v := j.shown(keep, true)
	pen, prune := con.Judge(v.text, v.replace, true)
	return prune || pen > 0
}

// pastDeadline reports whether j's deadline, if any, has come at now.
func (j *job) pastDeadline(now time.Time) bool {
	d := j.req.Limits.Deadline
	return !d.IsZero() && !now.Before(d)
}

// view is a completion as an editor gets it: text, inserted at the cursor
// in place of the replace bytes after it (Completion.Replace).
type view struct {
	text    string
	replace int
}

// shown is a finished completion as the editor gets it: post-filtered
// and, where it ends a line at a line start, followed by the line break
// that keeps the code after the cursor on its own line. The constraint
// judges this text, not the raw one: a whole-line completion without its
// line break reads as glued to the next line, a syntax error that is not
// there (on HumanEval that sent valid completions on past their block end).
//
// Before closers the editor auto-inserted, a completion that writes them
// itself and goes on replaces them (docInfo.replaced), where the
// constraint, if any, finds the line that results no worse; otherwise it
// is cut where it would close them, and the document's close it.
func (j *job) shown(text string, endsLine bool) view {
	if j.req.Stop.NoFilters {
		return view{text: text}
	}
	plain, whole, n := filterReplacing(text, j.doc)
	if n > 0 && j.accepts(whole, n) {
		return view{whole, n}
	}
	return view{text: plain + j.doc.lineBreak(plain, endsLine)}
}

// accepts reports whether the request's constraint, if any, finds a final
// completion replacing replace bytes after the cursor free of new errors.
func (j *job) accepts(text string, replace int) bool {
	if j.req.Constraint == nil {
		return true
	}
	pen, prune := j.req.Constraint.Judge(text, replace, true)
	return !prune && pen <= 0
}

// healStep matches a token's text against what remains of a healed text:
// the token either covers it (show gets the token's text past it) or is a
// beginning of it (rest is what then remains). ok is false for a token
// that disagrees with it.
func healStep(heal, piece string) (show, rest string, ok bool) {
	switch {
	case piece == "":
		return "", heal, false
	case strings.HasPrefix(piece, heal):
		return piece[len(heal):], "", true
	case strings.HasPrefix(heal, piece):
		return "", heal[len(piece):], true
	}
	return "", heal, false
}

// healRow is row with every token that cannot continue heal (see
// healStep), and every stop token, at -Inf. The tokens allowed for a
// healed text are found once per text by a pass over the vocabulary's
// pieces (~1 ms for 150k tokens) and kept: typing along a word heals the
// same few texts again and again.
func (e *Engine) healRow(row []float32, heal string) []float32 {
	ids, ok := e.healIDs[heal]
	if !ok {
		if e.pieces == nil {
			e.pieces = make([]string, len(row))
			for id := range e.pieces {
				e.pieces[id] = e.tok.Piece(int32(id))
			}
			e.healIDs = map[string][]int32{}
		}
		for id, p := range e.pieces {
			if _, _, ok := healStep(heal, p); ok && !e.sp.IsStop(int32(id)) {
				ids = append(ids, int32(id))
			}
		}
		if len(e.healIDs) >= maxHealTexts {
			clear(e.healIDs)
		}
		e.healIDs[heal] = ids
	}
	out := make([]float32, len(row))
	for i := range out {
		out[i] = float32(math.Inf(-1))
	}
	for _, id := range ids {
		out[id] = row[id]
	}
	return out
}

// maxHealTexts bounds the healed texts whose allowed tokens are kept
// (then the lot is dropped and rebuilt). A word's list is short, but one
// space allows every token that begins with a space, a third of the
// vocabulary (~200 KB): 256 texts stay within a few MB.
const maxHealTexts = 256

func (e *Engine) stopCheck(j *job, text string) (string, string, bool) {
	for _, s := range e.stopTxt {
		if i := strings.Index(text, s); i >= 0 {
			return text[:i], FinishStop, true
		}
	}
	return j.doc.stopCheck(text, &j.req)
}

// addFinished records a hypothesis, judged as final by the constraint,
// keeping j.finished sorted best first.
func (e *Engine) addFinished(j *job, h hyp) {
	h.shown = j.shown(h.text, h.endsLine())
	if con := j.req.Constraint; con != nil {
		pen, prune := con.Judge(h.shown.text, h.shown.replace, true)
		if prune {
			if j.width > 1 {
				return
			}
			h.penalty = math.Inf(1)
		} else {
			h.penalty = max(0, pen)
		}
	}
	i, _ := slices.BinarySearchFunc(j.finished, h.score(), func(x hyp, s float64) int {
		if x.score() >= s {
			return -1
		}
		return 1
	})
	j.finished = slices.Insert(j.finished, i, h)
}

// finish ends j: live beams become hypotheses with reason liveReason (when
// not empty), the best ones are filtered into the result, the prompt's
// cells go to the prefix cache and every other sequence is released.
func (e *Engine) finish(j *job, liveReason string) {
	if liveReason != "" {
		for _, b := range j.beams {
			n := len(b.toks)
			e.addFinished(j, hyp{toks: b.toks[:n:n], text: wholeLines(b.text), lp: b.lp, reason: liveReason})
		}
	}
	res := &Result{}
	seen := map[view]bool{}
	for i := range j.finished {
		if len(res.Completions) == j.nbest {
			break
		}
		h := &j.finished[i]
		v := h.shown
		if !j.req.Stop.NoFilters {
			// A replacing completion was judged free of new errors
			// (job.shown): there is nothing to truncate.
			if tr, ok := j.req.Constraint.(Truncator); ok && v.text != "" && v.replace == 0 {
				v.text = tr.Truncate(v.text)
			}
			v.text = j.doc.lineEndings(v.text)
		}
		if v.text == "" || seen[v] {
			continue
		}
		seen[v] = true
		res.Completions = append(res.Completions, Completion{
			Text: v.text, Replace: v.replace, Tokens: h.toks, LogProb: h.lp, FinishReason: h.reason, Penalty: finite(h.penalty),
		})
	}
	if len(res.Completions) == 0 {
		c := Completion{FinishReason: FinishFiltered}
		if len(j.finished) > 0 {
			h := j.finished[0]
			c.Tokens, c.LogProb, c.Penalty = h.toks, h.lp, finite(h.penalty)
			if h.text == "" {
				c.FinishReason = h.reason // nothing to filter: say why it is empty
			}
		} else if liveReason != "" {
			c.FinishReason = liveReason
		}
		res.Completions = []Completion{c}
	}
	end := time.Now()
	st := &res.Stats
	st.PromptTokens = len(j.prompt)
	st.CachedTokens = j.cached
	st.MovedTokens = j.moved
	st.ComputedTokens = j.done
	st.Generated = j.steps
	st.PromptTrimmed = j.pr.Trimmed
	st.Total = end.Sub(j.start)
	if !j.first.IsZero() {
		st.TTFT = j.first.Sub(j.start)
		st.DecodeTime = end.Sub(j.first)
	}
	e.retire(j)
	e.send(j, jobResult{res: res})
}

func finite(x float64) float64 {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return math.MaxFloat64
	}
	return x
}

// abort ends j with err, releasing its sequences (its computed prompt
// still goes to the prefix cache: the next keystroke will want it).
func (e *Engine) abort(j *job, err error) {
	e.retire(j)
	e.send(j, jobResult{err: err})
}

// send delivers j's result once.
func (e *Engine) send(j *job, r jobResult) {
	if !j.ended {
		j.ended = true
		j.out <- r
	}
}

// retire stores the longest sequence j computed in the prefix cache and
// releases the others.
func (e *Engine) retire(j *job) {
	if !j.admitted {
		return
	}
	j.admitted = false
	var keep SeqID = -1
	var tokens []int32
	if j.beams == nil {
		// Prefill did not finish: keep the prompt up to its first token
		// not evaluated, dropping the reused cells after it.
		n := len(j.prompt)
		if j.done < len(j.todo) {
			n = int(j.todo[j.done])
			e.lm.SeqRm(j.seq, int32(n), -1)
		}
		keep, tokens = j.seq, j.prompt[:n]
	} else {
		best := -1
		for i, b := range j.beams {
			if best < 0 || b.evaluated > j.beams[best].evaluated {
				best = i
			}
		}
		for i, b := range j.beams {
			if i == best {
				keep = b.seq
				tokens = append(slices.Clone(j.prompt), b.toks[:b.evaluated]...)
			} else {
				e.releaseSeq(b.seq)
			}
		}
	}
	j.beams = nil
	if keep < 0 {
		return
	}
	if e.opts.DisableCache || j.poisoned {
		e.releaseSeq(keep)
		return
	}
	e.cache.Insert(keep, tokens, j.docID)
	e.cache.Trim()
}
