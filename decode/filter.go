package decode

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A post-filter rewrites a finished completion before an editor sees it.
// Each one is small, named and table-tested; they run in order, and an
// empty result means the suggestion is dropped (the finish reason then
// says "filtered"). They only ever remove text from the end of a
// completion or re-indent it: a filter that cut the middle of a
// suggestion would show code the model did not write.
type postFilter struct {
	name string
	fn   func(text string, d *docInfo) string
}

var postFilters = []postFilter{
	{"line-endings", filterLineEndings},
	{"repetition", filterRepetition},
	{"next-lines", filterNextLines},
	{"closers", filterClosers},
	{"indentation", filterIndentation},
	{"trailing-space", filterTrailingSpace},
	{"whitespace-only", filterWhitespaceOnly},
}

// applyFilters runs every post-filter on text.
func applyFilters(text string, d *docInfo) string {
	for _, f := range postFilters {
		text = f.fn(text, d)
	}
	return text
}

// filterReplacing runs the post-filters twice where the editor
// auto-inserted closers after the cursor: plain is applyFilters' text, and
// whole, when n > 0, the completion kept whole to replace the first n
// bytes after the cursor (filterClosers with replaceClosers, replaced).
func filterReplacing(text string, d *docInfo) (plain, whole string, n int) {
	plain = applyFilters(text, d)
	if d.closersAfter == "" {
		return plain, "", 0
	}
	r := *d
	r.replaceClosers = true
	if whole = applyFilters(text, &r); whole != plain {
		// Only filterClosers' replacing branch tells the two apart.
		return plain, whole, r.replaced(whole)
	}
	return plain, "", 0
}

// filterLineEndings makes every line break "\n", so the filters after it
// see one kind: a model writing a CRLF document writes "\r\n", and a
// stop at a line break leaves its "\r" at the end ("x)\r", whose closer
// the closers filter would then miss). The document's breaks come back
// after filtering (docInfo.lineEndings).
func filterLineEndings(text string, _ *docInfo) string {
	return strings.TrimSuffix(strings.ReplaceAll(text, "\r\n", "\n"), "\r")
}

// filterRepetition cuts a completion that has fallen into a loop: the same
// block of 1–4 lines three times in a row keeps only its first
// occurrence, and a line ending in one short unit repeated into a long run
// keeps one. Small models at low temperature loop this way.
//
// Lines compare with their indentation (the first one with the cursor
// line's text before it), so the closers of nested blocks ("\t\t}",
// "\t}", "}"; Ruby's "end"s) are not a loop.
func filterRepetition(text string, d *docInfo) string {
	lines := strings.Split(text, "\n")
	full := slices.Clone(lines)
	full[0] = d.lineBefore + full[0]
	for i := 0; i < len(lines); i++ {
		for p := 1; p <= 4 && i+3*p <= len(lines); p++ {
			if blankBlock(lines[i : i+p]) {
				continue
			}
			if eqLines(full[i:i+p], full[i+p:i+2*p]) && eqLines(full[i:i+p], full[i+2*p:i+3*p]) {
				return strings.Join(lines[:i+p], "\n")
			}
		}
	}
	// Within the last line: a unit of 1–16 bytes repeated at its end into
	// a run of at least minLoopRun bytes. Shorter runs are code: numeric
	// and hex literals (100000000, 0xFFFFFFFF), padding strings. Runs of
	// separator characters (// -----, /*****) are comment rules, not loops.
	last := lines[len(lines)-1]
	for u := 1; u <= 16 && u*8 <= len(last); u++ {
		unit := last[len(last)-u:]
		n := 1
		for k := len(last) - 2*u; k >= 0 && last[k:k+u] == unit; k -= u {
			n++
		}
		if n >= 8 && n*u >= minLoopRun && strings.Trim(unit, ruleChars) != "" {
			lines[len(lines)-1] = last[:len(last)-(n-1)*u]
			return strings.Join(lines, "\n")
		}
	}
	return text
}

// minLoopRun is the shortest run of one repeated unit that counts as a
// loop: longer than the 32 hex digits of a 128-bit literal, while a looping
// model, which runs until its token limit, overshoots it by far.
const minLoopRun = 40

// ruleChars make up comment rules and separators, which repeat on purpose.
const ruleChars = " \t-=*#~_+/<>."

func blankBlock(ls []string) bool {
	for _, l := range ls {
		if strings.TrimSpace(l) != "" {
			return false
		}
	}
	return true
}

// eqLines compares lines with their indentation, ignoring trailing space.
func eqLines(a, b []string) bool {
	for i := range a {
		if strings.TrimRight(a[i], " \t\r") != strings.TrimRight(b[i], " \t\r") {
			return false
		}
	}
	return true
}

// filterNextLines removes trailing lines of the completion that duplicate
// the lines right after the cursor's: the model wrote code that is already
// there. A one-line completion that equals the next line is dropped whole.
// Blank lines are ignored in the comparison.
func filterNextLines(text string, d *docInfo) string {
	if len(d.nextLines) == 0 {
		return text
	}
	lines := strings.Split(text, "\n")
	// Start from the largest overlap: the completion's last k non-blank
	// lines equal the suffix's first k.
	var idx []int // indexes of non-blank lines of the completion, after the first
	for i, l := range lines {
		if i == 0 && strings.TrimSpace(d.lineBefore) != "" {
			continue // the first line continues the cursor's line
		}
		if strings.TrimSpace(l) != "" {
			idx = append(idx, i)
		}
	}
	for k := min(len(idx), len(d.nextLines)); k >= 1; k-- {
		ok := true
		for j := 0; j < k; j++ {
			i := idx[len(idx)-k+j]
			line := lines[i]
			if i == 0 {
				line = d.lineBefore + line // on a blank cursor line, the first line starts at the cursor's indentation
			}
			if !d.isNextLine(line, j) {
				ok = false
				break
			}
		}
		if ok {
			cut := idx[len(idx)-k]
			if cut == 0 {
				return ""
			}
			return strings.Join(lines[:cut], "\n")
		}
	}
	return text
}

// filterClosers trims text at the end of the completion that the rest of
// the cursor's line already holds: with ")" after the cursor, "foo(x))"
// becomes "foo(x)", and with "}" after "if err != nil {" a body ending in
// its own "}" line loses that "}" (lineBreak then puts the suffix's on a
// line of its own). Only closers and separators are trimmed, or the whole
// rest of the line where it holds a closing bracket ("w)) {" before ")) {"),
// never words alone, so a completion that merely ends like the suffix
// keeps its text.
func filterClosers(text string, d *docInfo) string {
	rest := strings.TrimRight(strings.TrimLeft(d.restOfLine, " \t"), " \t")
	// Perhaps with the line break the model ended it with (the
	// trailing-space filter drops that anyway).
	body := strings.TrimRight(text, " \t\n")
	if rest == "" {
		return text
	}
	if i := strings.LastIndexByte(body, '\n'); i >= 0 {
		// A last line of closers at the cursor line's indentation closes
		// what the cursor's line opened: the closers after the cursor do.
		// (Not where they close brackets the completion opened itself:
		// "bar(\n    1,\n)" inside "foo(|)" needs its ")".)
		last := body[i+1:]
		if t := strings.TrimLeft(last, " \t"); t != "" && onlyClosers(t) && strings.HasPrefix(rest, t) &&
			indentWidth(last) == indentWidth(d.lineBefore) && !bracketsOf(body[:i]).cover(t) {
			return body[:i]
		}
	}
	// The longest k such that the completion ends with rest[:k] and
	// rest[:k] is made only of closers, or is all of rest with a bracket.
	for k := min(len(rest), len(body)); k >= 1; k-- {
		head := rest[:k]
		whole := k == len(rest) && strings.ContainsAny(head, ")]}")
		if !whole && (!onlyClosers(head) || strings.ContainsAny(head, " \t")) {
			continue
		}
		if strings.HasSuffix(body, head) && duplicated(d, body, head) {
			return body[:len(body)-k]
		}
	}
	// The completion writes closers the editor auto-inserted, and goes on:
	// it is kept whole, to replace them (job.shown).
	if d.replaceClosers && d.replaced(body) > 0 {
		return text
	}
	// Otherwise: in a string whose closing quote the editor auto-inserted
	// (`fmt.Println("|")`), a completion that closes the string and writes
	// on (`Hello, ", name)`) would leave the document's quote and closers
	// after its own: it ends at its closing quote, and the document's
	// closes the string. One that opens a string again (`Hello, " + name
	// + "!`) leaves the document's quote something to close.
	if q := d.stringQuote; q != 0 {
		// The line before holds an odd number of q: the completion's
		// line closes the string when it adds an odd number too.
		first, _, _ := strings.Cut(body, "\n")
		if at := quotes(first, q); len(at)%2 == 1 {
			return body[:at[0]]
		}
	}
	// Likewise a completion that closes a bracket the closers after the
	// cursor close, and writes on (`name}!"` in `f"Hello, {|}"`; a body
	// that closes its block and writes "} else if y {" before the
	// document's "} else {"): it ends before its closer.
	if d.closersAfter != "" || d.blockBody {
		if i := closesOuter(body); i >= 0 {
			return body[:i]
		}
	}
	return text
}

// replaced returns how many bytes of the rest of the cursor's line text
// writes itself, when that rest holds only closers and separators (what
// an editor auto-inserts): `fmt.Println("|")` completed with
// `Hello, ", name)` writes `")`, and an editor given the item's range over
// them shows the model's line whole, as Copilot and Tabby do. The rest's
// characters are matched in order, each after the previous match: a
// closing bracket to the closer in text that closes a bracket open before
// it, a quote to the next quote on that line of text, a separator (";",
// ",", ">") to the next one outside text's own brackets. The first that
// text does not write ends the match ("foo(|);" completed with
// "x).then(f)" replaces ")" and keeps ";"). A text that ends at its first
// match replaces nothing: the trims of filterClosers settle such a text
// ("2))" before ")"), which may close more than the rest of the line does.
// So does a text that closes more brackets open before it than the rest
// of the line closes ("x;}return 0;}}" before "}}" would leave a "}" too
// many).
func (d *docInfo) replaced(text string) int {
	if d.closersAfter == "" || d.atLineStart {
		return 0
	}
	rest := d.restOfLine
	at, n := 0, 0 // text[at:] is unmatched; rest[:n] is matched
	for k := 0; k < len(rest); k++ {
		c := rest[k]
		if c == ' ' || c == '\t' {
			continue
		}
		var i int
		switch {
		case strings.IndexByte(")]}", c) >= 0:
			i = closesOuter(text[at:])
		case strings.IndexByte("\"'`", c) >= 0:
			line, _, _ := strings.Cut(text[at:], "\n")
			i = -1
			if q := quotes(line, c); len(q) > 0 {
				i = q[0]
			}
		default:
			i = separatorAt(text[at:], c)
		}
		if i < 0 {
			break
		}
		if n == 0 && strings.TrimSpace(text[at+i+1:]) == "" {
			return 0
		}
		at += i + 1
		n = k + 1
	}
	if n > 0 && closesOuter(text[at:]) >= 0 {
		return 0
	}
	return n
}

// separatorAt returns the index of the first c in s outside the brackets s
// opens, or -1, also where s closes a bracket opened before it first.
func separatorAt(s string, c byte) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		if s[i] == c && depth == 0 {
			return i
		}
		if k, d := bracket(s[i]); k >= 0 {
			if depth += d; depth < 0 {
				return -1
			}
		}
	}
	return -1
}

// quotes returns where s holds the quote q, unless a backslash escapes it.
func quotes(s string, q byte) (at []int) {
	for i := 0; i < len(s); i++ {
		if s[i] == q && (i == 0 || s[i-1] != '\\') {
			at = append(at, i)
		}
	}
	return at
}

// duplicated judges whether head, the start of the rest of the line with
// which body ends, was written twice. Brackets: see closedTwice. Quotes:
// the line up to the end of the completion has closed its string (an even
// count), so the suffix's quote would open a new one. Separators (";",
// ","): doubled is never meant.
func duplicated(d *docInfo, body, head string) bool {
	if strings.ContainsAny(head, ")]}") && !closedTwice(d, body, head) {
		return false
	}
	for _, q := range []string{`"`, "'", "`"} {
		if strings.Contains(head, q) && strings.Count(d.lineBefore+body, q)%2 != 0 {
			return false
		}
	}
	return true
}

// closedTwice reports whether head, closers that end body, closes
// brackets the closers after the cursor close already, so that trimming
// it is right. Two views, as the document may not be balanced:
//   - by nesting: the suffix's closers close the innermost brackets open
//     at the cursor; body closes one of those ("}" in "[]int{|}"), and
//     body without head does not;
//   - by count: with the brackets the prefix leaves open, body leaves the
//     suffix's closers too few to close ("x)" before "))" after "f(g("),
//     and body without head does not. Every closer the line has after
//     the cursor counts, not only those the completion repeats.
//     This view alone sees a prefix that opens more than the line closes
//     ("2))" before ")" after "print(add(1, "), and alone misses a
//     bracket the prefix opened earlier (the function around "[]int{|}").
func closedTwice(d *docInfo, body, head string) bool {
	rest := body[:len(body)-len(head)]
	if closesOuter(body) >= 0 && closesOuter(rest) < 0 {
		return true
	}
	need := closerRun(strings.TrimLeft(d.restOfLine, " \t"))
	if len(need) < len(head) {
		need = head // all of the rest of the line, words and all
	}
	pre := d.prefixOpen
	return !pre.plus(bracketsOf(body)).cover(need) && pre.plus(bracketsOf(rest)).cover(need)
}

// brackets tallies, per kind ("()", "[]", "{}"), how many brackets a text
// leaves open: negative where it closes more than it opens. Strings and
// comments are not parsed: the count is a guard, and the trims that use it
// also need the texts to match.
type brackets [3]int

// bracket says which kind c is (-1: none) and +1 for an opener, -1 for a
// closer.
func bracket(c byte) (kind, delta int) {
	if k := strings.IndexByte("([{", c); k >= 0 {
		return k, 1
	}
	return strings.IndexByte(")]}", c), -1
}

func bracketsOf(text string) (b brackets) {
	for i := 0; i < len(text); i++ {
		if k, d := bracket(text[i]); k >= 0 {
			b[k] += d
		}
	}
	return b
}

func (b brackets) plus(c brackets) brackets {
	for k := range b {
		b[k] += c[k]
	}
	return b
}

// cover reports whether b leaves at least as many brackets open as
// closers close (net of the brackets closers opens itself: "g(x))" closes
// one), for each kind closers holds: the suffix's closers then have
// something to close. A completion whose own closers leave the suffix's
// unmatched has written them twice.
func (b brackets) cover(closers string) bool {
	var need brackets
	var holds [3]bool
	for i := 0; i < len(closers); i++ {
		if k, d := bracket(closers[i]); k >= 0 {
			need[k] -= d
			holds[k] = true
		}
	}
	for k := range b {
		if holds[k] && b[k] < need[k] {
			return false
		}
	}
	return true
}

// closesOuter returns the index of the first closer in text that closes
// a bracket opened before text, or -1.
func closesOuter(text string) int { return closerOf(text, 1) }

// closerOf returns the index of the closer in text that closes the
// open-th innermost bracket left open before it (text's own brackets nest
// inside; kinds are not told apart), or -1. Like brackets, it does not
// skip strings.
func closerOf(text string, open int) int {
	depth := open
	for i := 0; i < len(text); i++ {
		if k, d := bracket(text[i]); k >= 0 {
			if depth += d; depth <= 0 {
				return i
			}
		}
	}
	return -1
}

// closerRun is the leading run of s made of closers and separators.
func closerRun(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return !strings.ContainsRune(closerChars+" \t", r) })
	if i < 0 {
		return s
	}
	return s[:i]
}

// filterIndentation rewrites the leading whitespace of the completion's
// lines (after the first, which continues the cursor's line) in the
// document's style: tabs for a tab-indented document, indentUnit spaces
// per level otherwise. Spaces after tabs stay where they align rather
// than indent: an odd number of them, or any in a document that aligns
// that way itself.
func filterIndentation(text string, d *docInfo) string {
	if !strings.Contains(text, "\n") || !d.indentKnown {
		return text
	}
	lines := strings.Split(text, "\n")
	for i := 1; i < len(lines); i++ {
		l := lines[i]
		ws := len(l) - len(strings.TrimLeft(l, " \t"))
		lead := l[:ws]
		if d.useTabs && strings.Contains(lead, " ") {
			// Spaces in a tab document: each tab is a level, and the
			// spaces are levels of the model's unit.
			tabs := strings.Count(lead, "\t")
			spaces := len(lead) - tabs
			if tabs > 0 && (spaces%2 != 0 || d.alignsWithSpaces) {
				continue
			}
			lines[i] = strings.Repeat("\t", tabs+spaces/spaceUnit(spaces)) + l[ws:]
		} else if !d.useTabs && strings.Contains(lead, "\t") {
			w := 0
			for _, c := range []byte(lead) {
				if c == '\t' {
					w += d.indentUnit
				} else {
					w++
				}
			}
			lines[i] = strings.Repeat(" ", w) + l[ws:]
		}
	}
	return strings.Join(lines, "\n")
}

// spaceUnit is the width of one level in n spaces of indentation the
// model wrote inside a tab document: 4 when n is a multiple of 4, else 2.
func spaceUnit(n int) int {
	if n%4 == 0 {
		return 4
	}
	return 2
}

// filterTrailingSpace drops trailing whitespace: blank lines at the end,
// and spaces at the end of every line (linters flag them; an editor's
// own newline never leaves them). One space stays where a single-line
// completion meets a word after the cursor: "a + " before "g(x)"; all of
// them inside a string the document closes after the cursor.
func filterTrailingSpace(text string, d *docInfo) string {
	if !strings.Contains(text, "\n") && d.stringQuote != 0 {
		return text // the spaces are the string's text: "Hello, " before `")`
	}
	space := strings.HasSuffix(text, " ") && startsWord(d.restOfLine)
	text = strings.TrimRight(text, " \t\r\n")
	if space && text != "" && !strings.Contains(text, "\n") {
		return text + " "
	}
	if !strings.Contains(text, " \n") && !strings.Contains(text, "\t\n") {
		return text
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.Join(lines, "\n")
}

// startsWord reports whether s starts with a letter, digit or underscore.
func startsWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// filterWhitespaceOnly drops a completion with nothing visible in it.
func filterWhitespaceOnly(text string, _ *docInfo) string {
	if strings.TrimSpace(text) == "" {
		return ""
	}
	return text
}
