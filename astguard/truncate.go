package astguard

import (
	"slices"
	"strings"
)

// Unit is the syntactic unit a completion should fill, after SAFIM's kinds:
// an expression (the rest of the line), a statement, or a block of
// statements.
type Unit int

const (
	// UnitExpression: single line; the completion ends within the cursor's
	// line.
	UnitExpression Unit = iota
	// UnitStatement: one statement, which may span lines when it opens
	// brackets or a compound body.
	UnitStatement
	// UnitBlock: statements up to the end of the enclosing block.
	UnitBlock
)

func (u Unit) String() string {
	switch u {
	case UnitExpression:
		return "expression"
	case UnitStatement:
		return "statement"
	case UnitBlock:
		return "block"
	}
	return "unknown"
}

// Multiline reports whether completions of this unit may span lines.
func (u Unit) Multiline() bool { return u != UnitExpression }

// DecideMode chooses the unit to complete at the cursor from the syntax
// around it, the way people expect of inline completion:
//   - inside a string or comment, or mid-line (text before and after the
//     cursor on its line): the rest of the line only (UnitExpression). Only
//     closing brackets and separators after the cursor (what an editor
//     auto-inserts after "(": "createServer(|);") are not "mid-line": the
//     argument may be a callback spanning lines, so the rules below apply;
//   - right after something that opens a block ('{', or ':' ending a Python
//     line), or on a blank line, or at the indentation of a line whose
//     text follows the cursor (lines are inserted before it): the block
//     (UnitBlock);
//   - after text on the cursor's line with nothing after it: finish that
//     statement (UnitStatement).
func DecideMode(lang Language, prefix, suffix string) (Unit, error) {
	l, err := NewLexer(lang)
	if err != nil {
		return 0, err
	}
	l.Prime(prefix)
	rest, _, _ := strings.Cut(suffix, "\n")
	line := prefix[strings.LastIndexByte(prefix, '\n')+1:]
	// Closers an editor auto-inserted, perhaps followed by an empty call
	// ("go func() {|}()", "(function () {|})();").
	closers := strings.Trim(strings.ReplaceAll(rest, "()", ""), " \t\r)]};,") == ""
	if l.InCode() && l.AtBlockOpen() && BodyBeforeCloser(line, rest) {
		return UnitBlock, nil
	}
	if !l.InCode() || !closers && strings.TrimSpace(line) != "" {
		return UnitExpression, nil
	}
	if l.AtBlockOpen() {
		return UnitBlock, nil
	}
	if strings.TrimSpace(line) == "" {
		return UnitBlock, nil
	}
	return UnitStatement, nil
}

// BodyBeforeCloser reports whether a cursor between line (its line up to
// it) and rest (the rest of that line) stands in an empty block body whose
// closer the editor auto-inserted, with more code after that closer
// ("if x {|} else {", "try {|} catch (e) {", "do {|} while (x);"): the
// "{" follows ")" or a word, as a block's does, and not a tag or an
// operator, as a JSX expression's or an object literal's does.
func BodyBeforeCloser(line, rest string) bool {
	before := strings.TrimRight(line, " \t")
	if !strings.HasSuffix(before, "{") || !strings.HasPrefix(strings.TrimLeft(rest, " \t"), "}") {
		return false
	}
	before = strings.TrimRight(before[:len(before)-1], " \t")
	if before == "" {
		return false
	}
	c := before[len(before)-1]
	return c == ')' || c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// Truncation is the result of Truncate.
type Truncation struct {
	// Text is the completion to show: the original or a prefix of it ending
	// at a syntactic boundary.
	Text string
	// Valid reports whether prefix+Text+suffix adds no syntax error to the
	// baseline (the hole filled neutrally). When no cut is valid, Text is
	// the cut with the fewest new errors.
	Valid bool
	// NewErrors is the number of errors Text adds.
	NewErrors int
}

// maxTruncChecks bounds the parses one Truncate may run. Why 48: each is an
// incremental reparse of about half a millisecond on a 5,000-line file
// (BenchmarkCheckerFinal), so the worst case stays around 25 ms, once per
// completion; real completions rarely offer more than a dozen cut points.
const maxTruncChecks = 48

// cutPoint is a place where a completion may end.
type cutPoint struct {
	at    int  // offset in the completion
	depth int  // brackets open relative to the prefix (negative: closes the prefix's)
	code  bool // the lexer is in code there
	line  int  // 0-based line of the completion
}

// Truncate cuts an over-long completion at a syntactic boundary of the
// given unit so that prefix+completion+suffix parses, checking candidate cuts
// with a Checker (one incremental reparse each):
//   - UnitExpression: the longest valid cut within the first line, at a
//     token boundary;
//   - UnitStatement: the shortest valid cut at a line end or ';' that ends a
//     statement at the completion's own bracket depth (for Python, where the
//     next line is not indented deeper);
//   - UnitBlock: the longest valid cut at a line end before the completion
//     leaves the block (closes a bracket the prefix opened, or dedents
//     below the block's first line in Python).
func Truncate(lang Language, prefix, completion, suffix string, unit Unit) (Truncation, error) {
	c, err := NewChecker(lang, prefix, suffix)
	if err != nil {
		return Truncation{}, err
	}
	defer c.Close()
	return c.Truncate(completion, unit)
}

// Unit is the unit DecideMode chooses for this checker's hole (a block
// when the lexer cannot tell).
func (c *Checker) Unit() Unit {
	u, err := DecideMode(c.lang, c.prefix, c.suffix)
	if err != nil {
		return UnitBlock
	}
	return u
}

// Truncate is the package-level Truncate on this Checker's hole, reusing its
// trees (see the package function for the rules).
func (c *Checker) Truncate(completion string, unit Unit) (Truncation, error) {
	ends := c.cutCandidates(completion, unit)
	best := Truncation{Text: completion, NewErrors: -1}
	// When code follows the cursor on its line and only indentation stands
	// before it, the completion inserts whole lines before that code and
	// must end with a line break.
	rest, _, _ := strings.Cut(c.suffix, "\n")
	line := c.prefix[strings.LastIndexByte(c.prefix, '\n')+1:]
	needBreak := strings.TrimSpace(rest) != "" && strings.TrimSpace(line) == ""
	for n, end := range ends {
		if n >= maxTruncChecks {
			break
		}
		text := strings.TrimRight(completion[:end], " \t\r\n")
		if unit == UnitExpression {
			text = completion[:end]
		} else if needBreak && text != "" {
			text += lineBreak(completion)
		}
		j, err := c.Final(text)
		if err != nil {
			return Truncation{}, err
		}
		if j.NewErrors == 0 {
			return Truncation{Text: text, Valid: true}, nil
		}
		if best.NewErrors < 0 || j.NewErrors < best.NewErrors {
			best = Truncation{Text: text, NewErrors: j.NewErrors}
		}
	}
	if best.NewErrors < 0 { // no candidate at all: judge the whole text
		j, err := c.Final(completion)
		if err != nil {
			return Truncation{}, err
		}
		return Truncation{Text: completion, Valid: j.NewErrors == 0, NewErrors: j.NewErrors}, nil
	}
	return best, nil
}

// cutCandidates lists candidate end offsets of completion in the order they
// should be tried for unit.
func (c *Checker) cutCandidates(completion string, unit Unit) []int {
	l := c.lexer.Clone()
	base := l.Depth()
	points := make([]cutPoint, 0, len(completion)+1)
	line := 0
	points = append(points, cutPoint{at: 0, depth: 0, code: l.InCode()})
	for i := 0; i < len(completion); i++ {
		l.Prime(completion[i : i+1])
		if completion[i] == '\n' {
			line++
		}
		points = append(points, cutPoint{at: i + 1, depth: l.Depth() - base, code: l.InCode(), line: line})
	}
	// limit: where the completion leaves the enclosing block (a closer of
	// a bracket the prefix opened; in Python a dedent below its first line)
	// or starts repeating the suffix's first line. closeAt is where that
	// closer stands, the limit of an expression.
	limit, closeAt := len(completion), len(completion)
	for _, p := range points {
		if p.depth < 0 {
			closeAt = p.at - 1
			limit = lineStartBefore(completion, closeAt)
			break
		}
	}
	if lexConfigs[c.lang].pyIndent {
		limit = min(limit, c.pyBlockLimit(completion))
	}
	if sl := nonBlankLines(c.suffix, repeatLines); len(sl) > 0 {
		lines := strings.SplitAfter(completion, "\n")
		off := 0
		for n, ln := range lines {
			if n > 0 && strings.TrimSpace(ln) == sl[0] && repeats(lines[n:], sl) {
				limit = min(limit, off)
				break
			}
			off += len(ln)
		}
	}

	var ends []int
	seen := map[int]bool{}
	add := func(e int) {
		if e > 0 && !seen[e] {
			seen[e] = true
			ends = append(ends, e)
		}
	}
	switch unit {
	case UnitExpression:
		first := len(completion)
		if i := strings.IndexByte(completion, '\n'); i >= 0 {
			first = i
		}
		// A completion that runs on into the text after the cursor
		// repeats it: cut where the rest of the cursor's line begins.
		if rest, _, _ := strings.Cut(c.suffix, "\n"); strings.TrimSpace(rest) != "" {
			if i := strings.Index(completion[:first], strings.TrimSpace(rest)); i > 0 {
				add(i)
			}
		}
		first = min(first, closeAt)
		// Then longest first: the line end, then every token boundary.
		add(first)
		for i := first - 1; i > 0; i-- {
			if points[i].code && points[i].depth >= 0 && isBoundary(completion, i) {
				add(i)
			}
		}
	case UnitStatement:
		for _, e := range lineEnds(completion, limit) {
			p := points[e]
			if p.code && p.depth == 0 && c.statementEndsAt(completion, e) {
				add(e)
			}
		}
		for i := 0; i < limit; i++ { // ';' at the completion's own level
			if completion[i] == ';' && points[i+1].code && points[i+1].depth == 0 {
				add(i + 1)
			}
		}
		slices.Sort(ends)
	case UnitBlock:
		le := lineEnds(completion, limit)
		for k := len(le) - 1; k >= 0; k-- {
			if p := points[le[k]]; p.code && p.depth == 0 {
				add(le[k])
			}
		}
	}
	return ends
}

// isBoundary reports whether offset i of s sits between two tokens.
func isBoundary(s string, i int) bool {
	a, b := s[i-1], s[i]
	return !(isWordByte(a) && isWordByte(b))
}

// lineEnds returns the offsets of the ends of the completion's lines (before
// each '\n', and the end of the text) up to limit.
func lineEnds(s string, limit int) []int {
	var out []int
	for i := 0; i < limit; i++ {
		if s[i] == '\n' {
			out = append(out, i)
		}
	}
	if limit == len(s) {
		out = append(out, len(s))
	} else if len(out) == 0 || out[len(out)-1] != limit {
		out = append(out, limit)
	}
	return out
}

// lineStartBefore returns the offset of the start of the line holding i.
func lineStartBefore(s string, i int) int {
	return strings.LastIndexByte(s[:max(0, i)], '\n') + 1
}

// statementEndsAt reports whether a statement can end at line end e: in
// Python the next non-blank line must not be indented deeper than the
// statement's first line (else it is the statement's body).
func (c *Checker) statementEndsAt(s string, e int) bool {
	if !lexConfigs[c.lang].pyIndent || e >= len(s) {
		return true
	}
	first := c.firstIndent(s)
	for _, ln := range strings.Split(s[e+1:], "\n") {
		if strings.TrimSpace(ln) == "" {
			continue
		}
		return indentWidth(ln) <= first
	}
	return true
}

// firstIndent is the indentation of the completion's first non-blank line,
// counting the prefix's partial line when the completion starts on it.
func (c *Checker) firstIndent(s string) int {
	cur := c.prefix[strings.LastIndexByte(c.prefix, '\n')+1:]
	for n, ln := range strings.Split(s, "\n") {
		if strings.TrimSpace(ln) == "" {
			continue
		}
		if n == 0 {
			if strings.TrimSpace(cur) != "" {
				return indentWidth(cur)
			}
			return indentWidth(cur + ln)
		}
		return indentWidth(ln)
	}
	return indentWidth(cur)
}

// pyBlockLimit returns the offset of the first line of s indented less than
// both its first line and the suffix's first line (the completion leaving
// the block that the suffix continues), or len(s).
func (c *Checker) pyBlockLimit(s string) int {
	first := c.firstIndent(s)
	suffixIndent := -1
	for _, ln := range strings.Split(c.suffix, "\n") {
		if strings.TrimSpace(ln) != "" {
			suffixIndent = indentWidth(ln)
			break
		}
	}
	switch {
	case suffixIndent > 0:
		first = min(first, suffixIndent)
	case first > 0:
		// Nothing follows, or only top-level code: the completion may
		// close any inner block, but a completion that starts indented
		// and reaches column 0 has left its definition.
		first = 1
	}
	off := 0
	l := c.lexer.Clone()
	for n, ln := range strings.SplitAfter(s, "\n") {
		atTop := l.Depth() == 0 && l.InCode()
		if n > 0 && atTop && strings.TrimSpace(ln) != "" && !strings.HasPrefix(strings.TrimSpace(ln), "#") && indentWidth(ln) < first {
			return off
		}
		l.Prime(ln)
		off += len(ln)
	}
	return len(s)
}

// indentWidth is the indentation of a line in columns (tabs to multiples of
// 8, as Python counts them).
func indentWidth(ln string) int {
	w := 0
	for i := 0; i < len(ln); i++ {
		switch ln[i] {
		case ' ':
			w++
		case '\t':
			w = (w/8 + 1) * 8
		default:
			return w
		}
	}
	return w
}

// repeatLines is how many of the suffix's first lines a completion must
// reproduce to count as repeating the suffix. Why 3: one line such as
// "i++;" or "return x" often occurs legitimately inside the completion too;
// three in a row in the same order almost never do by chance.
const repeatLines = 3

// nonBlankLines returns up to n first non-blank lines of s, trimmed.
func nonBlankLines(s string, n int) []string {
	var out []string
	for _, ln := range strings.Split(s, "\n") {
		if t := strings.TrimSpace(ln); t != "" {
			out = append(out, t)
			if len(out) == n {
				break
			}
		}
	}
	return out
}

// repeats reports whether lines (from the completion) begin with the
// non-blank lines want, as far as either goes.
func repeats(lines, want []string) bool {
	k := 0
	for _, ln := range lines {
		t := strings.TrimSpace(ln)
		if t == "" {
			continue
		}
		if k == len(want) {
			break
		}
		if t != want[k] {
			return false
		}
		k++
	}
	return k > 0
}

// lineBreak returns the line break style of s ("\r\n" or "\n").
func lineBreak(s string) string {
	if strings.Contains(s, "\r\n") {
		return "\r\n"
	}
	return "\n"
}
