package decode

import (
	"time"
)

// Request asks for completions at a cursor: the text before it (Prefix) and
// after it (Suffix) in the document, with optional cross-file context.
type Request struct {
	Prefix   string
	Suffix   string
	Language string // LSP language identifier ("go", "python", …); may be empty
	Path     string // the document's path, relative to the workspace root when known
	Repo     string // repository name for repository-level prompts; may be empty

	// Context holds snippets from other files (the project graph's choice),
	// most relevant first; they go into the prompt while the budget lasts.
	Context []ContextBlock

	Limits   Limits
	Sampling Sampling
	Beams    Beams

	// Constraint, when set, judges each candidate's text (a syntax checker:
	// astguard). Nil: unconstrained.
	Constraint Constraint

	Stop StopRules
}

// ContextBlock is a piece of another file shown to the model before the
// current one. Reason says why it was chosen (for logs); it is not shown to
// the model.
type ContextBlock struct {
	Path   string
	Text   string
	Reason string
}

// Limits bound one request.
type Limits struct {
	// MaxTokens caps generated tokens (0: DefaultMaxTokens).
	MaxTokens int
	// MaxLines caps the lines of a completion (0: no cap beyond the
	// multi-line rule in StopRules).
	MaxLines int
	// Deadline, when not zero, is a soft budget: at the deadline the engine
	// returns the best completion found so far with finish reason
	// "deadline". It is not cancellation (that is the context's job).
	Deadline time.Time
	// MaxPromptTokens caps the prompt (0: the engine's default).
	MaxPromptTokens int
}

// DefaultMaxTokens is the generation cap when a request sets none: 128
// tokens is about ten lines of code, more than an editor shows as ghost text.
const DefaultMaxTokens = 128

// Sampling chooses the next token of a single-sequence search. The zero
// value is greedy decoding.
type Sampling struct {
	Temperature float64 // ≤ 0: greedy
	TopK        int     // 0: off
	TopP        float64 // 0 or ≥ 1: off
	MinP        float64 // 0: off; drop tokens below MinP × the top token's probability
	Seed        uint64  // the same seed gives the same completion
}

// Greedy reports whether s picks the most likely token at every step.
func (s Sampling) Greedy() bool { return s.Temperature <= 0 }

// Beams configures beam search. Width ≤ 1 is a single sequence (greedy or
// sampling); N is the number of completions returned (≤ Width; 0 means 1).
type Beams struct {
	Width int
	N     int
	// Margin drops a live beam whose score falls more than Margin nats
	// below the best live beam's (0: DefaultBeamMargin; negative: never),
	// keeping at least N. Such a beam is e^Margin times less likely than the
	// best so far and rarely overtakes it, while every live beam costs a
	// token of the step's forward pass: where one reading dominates, the
	// search runs on one or two beams.
	Margin float64
}

// DefaultBeamMargin: 6 nats (a probability ratio of ~400). On the default
// model a 4-beam step's forward pass costs ~1.9× a 1-beam step's on 2 AVX2
// cores (the 4-token matrix products are compute-bound there; llama.cpp's
// own pp4 is 2.5× its pp1), so beams that cannot win are worth dropping
// early. Tighter is not much cheaper: on HumanEval's multi-line holes the
// four beams stay within 2 nats of each other for most of a search, and a
// 2-nat margin saved 11% of beam 4's time (docs/benchmarks.md, session 9).
const DefaultBeamMargin = 6.0

// Multiline says whether a completion may span lines.
type Multiline int

const (
	// MultilineAuto decides from the cursor: text after the cursor on its
	// line (other than closing brackets) means a single line, or the lines
	// up to the closer of a bracket that line opens (a callback); otherwise
	// the completion may fill the block.
	MultilineAuto Multiline = iota
	// MultilineAlways lets the completion span lines; it ends where the
	// model, the block or the suffix says.
	MultilineAlways
	// MultilineNever ends the completion at the first newline.
	MultilineNever
)

// ParseMultiline reads the CLI and JSON spelling: "auto", "always", "never"
// ("" is auto).
func ParseMultiline(s string) (Multiline, bool) {
	switch s {
	case "", "auto":
		return MultilineAuto, true
	case "always":
		return MultilineAlways, true
	case "never":
		return MultilineNever, true
	}
	return MultilineAuto, false
}

func (m Multiline) String() string {
	switch m {
	case MultilineAlways:
		return "always"
	case MultilineNever:
		return "never"
	}
	return "auto"
}

// StopRules end a completion besides the model's own end tokens.
type StopRules struct {
	Multiline Multiline
	// Strings end the completion where one of them appears; the string is
	// not part of the completion.
	Strings []string
	// NoBlockEnd keeps going past the end of the indented block (a line
	// indented less than the cursor's line). Default: stop there.
	NoBlockEnd bool
	// NoSuffixStop keeps going when the completion starts to repeat the
	// suffix. Default: stop there.
	NoSuffixStop bool
	// NoFilters returns the raw completion without post-filters.
	NoFilters bool
}

// Finish reasons, as the CLI and the language server report them.
const (
	FinishStop     = "stop"   // the model ended the completion (an end token)
	FinishLength   = "length" // MaxTokens reached
	FinishLines    = "lines"  // MaxLines or the single-line rule reached
	FinishBlock    = "block"  // the indented block ended
	FinishSuffix   = "suffix" // the completion began repeating the suffix
	FinishString   = "stop_string"
	FinishDeadline = "deadline" // Limits.Deadline reached: best result so far
	FinishFiltered = "filtered" // post-filters removed everything
	FinishPruned   = "pruned"   // the constraint pruned every candidate
	FinishContext  = "context"  // the model's context window, or the KV cache, is full
	FinishUnit     = "unit"     // the syntactic unit at the cursor is complete (UnitEnder)
)

// Result holds a request's completions, best first (always at least one),
// and what computing them cost.
type Result struct {
	Completions []Completion
	Stats       Stats
}

// Completion is one candidate. Text is what an editor inserts at the cursor
// (after post-filters); Tokens are the generated ids before filtering.
type Completion struct {
	Text string
	// Replace is how many bytes of the document after the cursor, on the
	// cursor's line, Text replaces: closers and quotes the editor
	// auto-inserted there ("fmt.Println(\"|\")") which Text writes
	// itself before writing on (`Hello, ", name)` replaces `")`). 0: Text
	// is inserted at the cursor.
	Replace      int
	Tokens       []int32
	LogProb      float64 // sum of the log-probabilities of Tokens (and of the end token, if any)
	FinishReason string
	// Penalty is what the constraint subtracted from LogProb's ranking
	// score; zero without a constraint.
	Penalty float64
}

// Stats measure one request.
type Stats struct {
	PromptTokens   int           // tokens in the prompt
	CachedTokens   int           // of those, reused from the prefix cache
	MovedTokens    int           // of CachedTokens, reused from runs after the cached prefix (reuse.go): approximate
	ComputedTokens int           // prompt tokens evaluated for this request
	Generated      int           // tokens generated (all beams' steps counted once per step)
	TTFT           time.Duration // submission to the first generated token
	DecodeTime     time.Duration // first token to the end
	Total          time.Duration // submission to the result
	PromptTrimmed  bool          // the budget cut prefix, suffix or context
}

// DecodeTokPerSec is generated tokens per second of the decode phase (0
// when nothing was decoded).
func (s Stats) DecodeTokPerSec() float64 {
	if s.DecodeTime <= 0 || s.Generated <= 1 {
		return 0
	}
	// The first token comes out of the prompt's forward pass and is
	// counted in TTFT; the decode phase produced the rest.
	return float64(s.Generated-1) / s.DecodeTime.Seconds()
}

// Constraint judges partial completions: astguard implements it. It uses
// only built-in types, so a checker satisfies it without importing this
// package. Implementations must be safe for use by one goroutine at a time
// (the engine calls them from its loop) and should be cheap: the engine
// calls Judge for each candidate it keeps at every step.
type Constraint interface {
	// Judge looks at a beam's completion text so far (final: the beam
	// ended there). It returns prune to drop the beam, or a penalty ≥ 0
	// subtracted from the beam's log-probability score. A final
	// completion may replace the first replace bytes after the cursor
	// (Completion.Replace); a partial one replaces nothing.
	Judge(completion string, replace int, final bool) (penalty float64, prune bool)
}

// TokenMasker is optionally implemented by a Constraint: it vetoes a next
// token given the beam's text so far and the token's text. The engine asks
// only about the candidates it would otherwise keep (a few per beam), so a
// lexical automaton answers cheaply.
type TokenMasker interface {
	Allow(completion, next string) bool
}

// UnitEnder is optionally implemented by a Constraint: the engine asks it
// whenever a completion has just begun a new line, and it reports whether
// the text before that line break already completes what the cursor asks
// for (the rest of a line, a statement), and where to cut. Decoding then
// stops there instead of running on to the token limit and being cut back
// by the Truncator: the model is not asked for lines nobody will see.
type UnitEnder interface {
	UnitEnd(completion string) (cut int, ok bool)
}

// Truncator is optionally implemented by a Constraint: given a finished
// completion as it would be shown, it returns it unchanged when it leaves
// the document's syntax as good as it was, and otherwise the longest cut
// at a syntactic boundary that does (or the completion, when no cut
// does). An over-long completion, ended by MaxTokens in the middle of a
// statement, is cut back to one that parses.
type Truncator interface {
	Truncate(completion string) string
}
