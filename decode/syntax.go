package decode

import (
	"github.com/ghostline-dev/ghostline/astguard"
)

// SyntaxConstraint adapts astguard's Checker to the Constraint hook:
// Partial judgements while a beam grows, Final when it ends. astguard
// knows nothing of this package; the adapter lives here so imports flow
// one way (decode → astguard).
type SyntaxConstraint struct {
	C *astguard.Checker
	// Errors counts checker failures (a parse that could not run); the
	// candidate is then allowed: a broken checker must not empty the
	// suggestions.
	Errors int
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

// Judge implements Constraint.
func (s *SyntaxConstraint) Judge(text string, final bool) (float64, bool) {
	var j astguard.Judgement
	var err error
	if final {
		j, err = s.C.Final(text)
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

// Close releases the checker's parse trees.
func (s *SyntaxConstraint) Close() { s.C.Close() }
