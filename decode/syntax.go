package decode

import (
	"strings"

	"github.com/ghostline-dev/ghostline/astguard"
)

// SyntaxConstraint adapts astguard's Checker to the Constraint hook:
// Partial judgements while a beam grows, Final when it ends. astguard
// knows nothing of this package; the adapter lives here so imports flow
// one way (decode → astguard).
type SyntaxConstraint struct {
	C   *astguard.Checker
	lex map[string]*astguard.Lexer // lexer state after each recent beam text
	// Errors counts checker failures (a parse that could not run); the
	// candidate is then allowed: a broken checker must not empty the
	// suggestions.
	Errors int

	unit    astguard.Unit // the checker's Unit, decided on first use
	unitSet bool
}

func (s *SyntaxConstraint) cursorUnit() astguard.Unit {
	if !s.unitSet {
		s.unit, s.unitSet = s.C.Unit(), true
	}
	return s.unit
}

// UnitEnd implements UnitEnder for the unit DecideMode picks: an
// expression (the rest of a line) ends at the completion's first line
// break, unless that line leaves brackets open (see spanEnd); a statement
// at the first line break before which the document has no new syntax
// errors (a call spanning lines goes on until it is closed). A block ends
// by indentation (the engine's own stop rule), so it is never ended here. An empty first line never ends a unit.
func (s *SyntaxConstraint) UnitEnd(text string) (int, bool) {
	nl := strings.LastIndexByte(text, '\n')
	if nl < 0 || strings.TrimSpace(text[:nl]) == "" {
		return 0, false
	}
	switch s.cursorUnit() {
	case astguard.UnitExpression:
		first := strings.IndexByte(text, '\n')
		for strings.TrimSpace(text[:first]) == "" {
			first += 1 + strings.IndexByte(text[first+1:], '\n')
		}
		if opens(text[:first]) > 0 {
			return 0, false // a callback or literal: the engine's spanEnd ends it once closed
		}
		return first, true
	case astguard.UnitStatement:
		if j, err := s.C.Final(text[:nl]); err == nil && j.NewErrors == 0 {
			return nl, true
		}
	}
	return 0, false
}

// NewSyntaxConstraint makes a constraint for the hole between prefix and
// suffix in a document of language lang (an LSP id) or, failing that, of
// path's extension. It returns an error for unsupported languages; callers
// then decode without constraint. Close it after the request.
func NewSyntaxConstraint(lang, path, prefix, suffix string) (*SyntaxConstraint, error) {
	l, err := astguard.Resolve(lang, path)
	if err != nil {
		return nil, err
	}
	c, err := astguard.NewChecker(l, prefix, suffix)
	if err != nil {
		return nil, err
	}
	return &SyntaxConstraint{C: c}, nil
}

// NewSyntaxConstraintAt makes a constraint for the hole at byte offset
// cursor of an open astguard.Document (prefix = its text before cursor,
// suffix = the rest). The document's tree is already the parse of that
// text, so this costs a few incremental reparses for the baseline instead
// of the full parse NewSyntaxConstraint needs: the language server keeps
// one Document per open file for this. The constraint owns its own copy
// of the tree; the document may be edited once this returns. Close it
// after the request.
func NewSyntaxConstraintAt(d *astguard.Document, cursor int) (*SyntaxConstraint, error) {
	c, err := astguard.NewCheckerAt(d, cursor)
	if err != nil {
		return nil, err
	}
	return &SyntaxConstraint{C: c}, nil
}

// Judge implements Constraint.
func (s *SyntaxConstraint) Judge(text string, replace int, final bool) (float64, bool) {
	var j astguard.Judgement
	var err error
	if final {
		j, err = s.C.FinalReplacing(text, replace)
	} else {
		j, err = s.C.Partial(text)
	}
	if err != nil {
		s.Errors++
		return 0, false
	}
	switch j.Verdict {
	case astguard.Prune:
		return 0, true
	case astguard.Penalize:
		return -j.Penalty, false // astguard's penalties are negative log-probabilities
	}
	return 0, false
}

// Allow implements TokenMasker with astguard's lexical automaton: a
// piece that no continuation could make valid (a closer that matches no
// open bracket, say) is masked. The automaton's state after a beam's text
// is cached; a beam grows by one piece per step, so most lookups hit.
func (s *SyntaxConstraint) Allow(text, next string) bool {
	l, ok := s.lex[text]
	if !ok {
		l = s.C.Lexer()
		if !l.Feed(text) {
			l = nil // the text itself is off the automaton's map: do not mask
		}
		if s.lex == nil || len(s.lex) >= lexCacheSize {
			s.lex = map[string]*astguard.Lexer{}
		}
		s.lex[text] = l
	}
	return l == nil || l.Allows(next)
}

// lexCacheSize bounds the cached lexer states: a beam search of width 8
// keeps 8 live texts and asks about a few dozen per step, so a few hundred
// entries cover many steps before the cache is dropped and rebuilt.
const lexCacheSize = 512

// Truncate implements Truncator with astguard's cut rules for the unit
// DecideMode picks at the cursor (expression, statement or block).
func (s *SyntaxConstraint) Truncate(text string) string {
	if j, err := s.C.Final(text); err != nil || j.NewErrors == 0 {
		return text
	}
	t, err := s.C.Truncate(text, s.cursorUnit())
	if err != nil || !t.Valid {
		return text
	}
	return t.Text
}

// Close releases the checker's parse trees.
func (s *SyntaxConstraint) Close() { s.C.Close() }
