package decode

import (
	"strings"

	"github.com/ghostline-dev/ghostline/astguard"
)

// docInfo is what the stop rules and the filters know of the document
// around the cursor, computed once per request.
type docInfo struct {
	prefix, suffix string
	// lineBefore is the cursor's line up to the cursor; restOfLine the
	// rest of it after the cursor.
	lineBefore, restOfLine string
	// indent is the cursor line's indentation width (tabs count tabWidth).
	indent int
	// opensBlock: the cursor line ends with a block opener (":", "{", "(",
	// "["), so the completion may fill the block below it.
	opensBlock bool
	// nextLines are the suffix's lines after the cursor's, non-blank ones
	// only, trimmed of surrounding whitespace; nextIndent their
	// indentation widths. A completion line repeats the suffix only when
	// both agree: an inner block's "\t}" is not the function's "}".
	nextLines  []string
	nextIndent []int
	// useTabs and indentUnit are the document's indentation style.
	useTabs     bool
	indentUnit  int
	indentKnown bool // the document has indented lines to learn from
	// alignsWithSpaces: a tab-indented document that aligns continuation
	// lines with spaces after the tabs (the Linux kernel's style), so
	// spaces after tabs in a completion are alignment, not levels.
	alignsWithSpaces bool
	multiline        bool
	// atLineStart: only indentation stands before the cursor on its line
	// and code after it, as when whole lines are inserted above existing
	// code (HumanEval's holes, or an editor's cursor at column 0). The
	// completion is then whole lines: the rest of the cursor's line is the
	// first line it must not repeat, and a completion that ends a line
	// keeps that line break (see lineBreak).
	atLineStart bool
	// fenced: the document itself holds a Markdown code fence, so a
	// completion line starting with one is not the chat-style ending an
	// instruction-tuned model may append (see stopCheck).
	fenced bool
	// crlf: the document ends its lines with "\r\n" (judged by the line
	// break nearest the cursor). Completions are filtered with "\n" breaks
	// and get the document's breaks back last (see lineEndings).
	crlf bool
	// closersAfter is the rest of the cursor's line, trimmed, when it holds
	// only closers and separators (what an editor auto-inserts after "(",
	// "{" or a quote); "" otherwise.
	closersAfter string
	// stringQuote is the quote of the string the cursor is in, where the
	// rest of its line starts by closing it (an editor's auto-inserted
	// quote) and the line before the cursor holds an odd number of that
	// quote; 0 otherwise.
	stringQuote byte
	// prefixOpen: the brackets the last 4 KB of the prefix leave open,
	// against which a completion's closers are weighed (closedTwice).
	prefixOpen brackets
	// blockBody: the cursor stands in an empty block body whose closer
	// the editor auto-inserted, with more code after it on the line
	// ("if x {|} else {"; astguard.BodyBeforeCloser). The body ends where
	// the completion closes that block: the document's "}" does.
	blockBody bool
	// replaceClosers: a completion that writes closersAfter itself and
	// goes on keeps its text, to replace them (replaced), instead of
	// being cut before them. job.shown sets it on a copy.
	replaceClosers bool
}

// tabWidth is how wide a tab counts when comparing indentation; only the
// order of widths matters, and 4 orders tabs against the common 2- and
// 4-space indents the way editors show them.
const tabWidth = 4

func newDocInfo(prefix, suffix string, ml Multiline) *docInfo {
	d := &docInfo{prefix: prefix, suffix: suffix}
	if i := strings.LastIndexByte(prefix, '\n'); i >= 0 {
		d.lineBefore = prefix[i+1:]
		d.crlf = i > 0 && prefix[i-1] == '\r'
	} else {
		d.lineBefore = prefix
		if i := strings.IndexByte(suffix, '\n'); i > 0 {
			d.crlf = suffix[i-1] == '\r'
		}
	}
	rest, after, _ := strings.Cut(suffix, "\n")
	d.restOfLine = strings.TrimSuffix(rest, "\r")
	if onlyClosers(d.restOfLine) {
		d.closersAfter = strings.TrimSpace(d.restOfLine)
	}
	if r := strings.TrimLeft(d.restOfLine, " \t"); r != "" && strings.IndexByte("\"'`", r[0]) >= 0 && len(quotes(d.lineBefore, r[0]))%2 == 1 {
		d.stringQuote = r[0]
	}
	d.prefixOpen = bracketsOf(prefix[max(0, len(prefix)-4096):])
	d.blockBody = astguard.BodyBeforeCloser(d.lineBefore, d.restOfLine)
	d.indent = indentWidth(d.lineBefore)
	tb := strings.TrimRight(d.lineBefore, " \t")
	if tb != "" {
		switch tb[len(tb)-1] {
		case ':', '{', '(', '[':
			d.opensBlock = true
		}
	}
	if strings.TrimSpace(d.lineBefore) == "" && strings.TrimSpace(d.restOfLine) != "" {
		d.atLineStart = true
		d.nextLines = append(d.nextLines, strings.TrimSpace(d.restOfLine))
		d.nextIndent = append(d.nextIndent, indentWidth(d.lineBefore+d.restOfLine))
	}
	for _, l := range strings.Split(after, "\n") {
		if t := strings.TrimSpace(l); t != "" {
			d.nextLines = append(d.nextLines, t)
			d.nextIndent = append(d.nextIndent, indentWidth(l))
			if len(d.nextLines) == 8 {
				break
			}
		}
	}
	if strings.TrimSpace(d.lineBefore) == "" && len(d.nextIndent) > 0 {
		// At the start of a line the code around the cursor sets the
		// floor of the completion's indentation: the lesser of the lines
		// above and below. A line dedented below both leaves the block the
		// cursor is in; the line below alone is no floor, as the
		// completion may open the blocks it belongs to. (A cursor at
		// column 0 is common in benchmarks and after a paste.)
		d.indent = max(d.indent, min(d.nextIndent[0], prevIndent(prefix)))
	}
	d.fenced = strings.Contains(prefix, "```") || strings.Contains(suffix, "```")
	d.useTabs, d.indentUnit, d.indentKnown = indentStyle(prefix + suffix)
	d.alignsWithSpaces = d.useTabs && alignsWithSpaces(prefix+suffix)
	switch ml {
	case MultilineAlways:
		d.multiline = true
	case MultilineNever:
		d.multiline = false
	default:
		// Closers, perhaps followed by an empty call: a goroutine's or an
		// IIFE's body ("go func() {|}()", "(function () {|})();").
		// Or an empty block body before its auto-inserted closer and
		// more code ("if x {|} else {").
		d.multiline = d.atLineStart || onlyClosers(strings.ReplaceAll(d.restOfLine, "()", "")) || d.blockBody
	}
	return d
}

// lineBreak is what follows a completion so that the code after the
// cursor keeps a line of its own. Two cases:
//   - a completion that ends a line, inserted at the start of a line
//     holding code: a line break and the cursor line's indentation, so the
//     code stays indented as before;
//   - a block body written between a brace or a docstring's quotes and
//     their closer ("{|}", auto-closed): the completion starts by breaking
//     the line, and the closers after the cursor go on a line of their own
//     at the cursor line's indentation, where an editor puts them on Enter.
//     Before ")" and "]" only after a trailing comma (one item per line,
//     the closer below them): Lisp stacks its ")" on the last line, and in
//     Go a list broken before ")" needs that comma.
//
// Everywhere else it is "".
func (d *docInfo) lineBreak(text string, endsLine bool) string {
	if text == "" {
		return ""
	}
	if d.atLineStart {
		if endsLine {
			return "\n" + d.lineBefore
		}
		return ""
	}
	rest := strings.TrimLeft(d.restOfLine, " \t")
	block := strings.HasPrefix(rest, "}") || strings.HasPrefix(rest, `"""`) || strings.HasPrefix(rest, "'''") ||
		(strings.HasPrefix(rest, ")") || strings.HasPrefix(rest, "]")) && strings.HasSuffix(text, ",")
	if block && strings.HasPrefix(strings.TrimLeft(text, " \t"), "\n") {
		return "\n" + d.lineBefore[:len(d.lineBefore)-len(strings.TrimLeft(d.lineBefore, " \t"))]
	}
	return ""
}

// closedLine returns where the line ends (its line break) on which a
// completion before closers the editor auto-inserted ("fmt.Println(|)",
// "[]int{|}", "createServer(|);") closes a bracket that was open at the
// cursor: the document's closers close that bracket already, so the
// completion has finished the construct ("names)\n", "})\n" after a
// callback's body), and what follows the line break is more code, not
// more of it. Before closers without a bracket (";"), a first line that
// leaves nothing open ends the same way. ok is false until a line break
// follows such a line.
func (d *docInfo) closedLine(text string) (end int, ok bool) {
	if d.atLineStart || d.closersAfter == "" && !d.blockBody {
		return 0, false
	}
	at := -1
	if d.blockBody || strings.ContainsAny(closerRun(d.closersAfter), ")]}") {
		at = closesOuter(text)
	} else if first, _, _ := strings.Cut(text, "\n"); strings.TrimSpace(first) != "" {
		if opens(first) <= 0 {
			at = 0
		}
	}
	if at < 0 {
		return 0, false
	}
	if i := strings.IndexByte(text[at:], '\n'); i >= 0 {
		return at + i, true
	}
	return 0, false
}

// spanEnd lets a single-line completion (mid-line: "setTimeout(|, 1000)")
// whose first line leaves brackets of its own open ("() => {") go on over
// lines, as a callback or literal must, until it closes them: end is just
// after that closer (the rest of the document's line follows it), or -1
// while they are open. spans is false when the first line (ended by a
// line break in text) leaves nothing open: the completion is that line.
// (stopCheck does not span for MultilineNever.)
func spanEnd(text string) (end int, spans bool) {
	first := strings.IndexByte(text, '\n')
	if first < 0 {
		return -1, false
	}
	depth := opens(text[:first])
	if depth <= 0 {
		return -1, false
	}
	if i := closerOf(text[first:], depth); i >= 0 {
		return first + i + 1, true
	}
	return -1, true
}

// opens is how many brackets text leaves open, all kinds together.
func opens(text string) int {
	b := bracketsOf(text)
	return b[0] + b[1] + b[2]
}

// lineEndings gives a filtered completion (its line breaks "\n") the
// document's line breaks. Editors insert the text as it comes: Neovim
// would keep a stray "\r" as a visible ^M, and a "\n" in a CRLF file
// mixes line endings.
func (d *docInfo) lineEndings(text string) string {
	if d.crlf {
		return strings.ReplaceAll(text, "\n", "\r\n")
	}
	return text
}

// prevIndent is the least indentation a line after the last non-blank
// line of prefix (before the cursor's line) may have and stay in its
// block: that line's indentation, one more when it opens a block (0 when
// there is none).
func prevIndent(prefix string) int {
	end := strings.LastIndexByte(prefix, '\n')
	for end > 0 {
		start := strings.LastIndexByte(prefix[:end], '\n') + 1
		l := strings.TrimRight(prefix[start:end], " \t\r")
		if strings.TrimSpace(l) == "" {
			end = start - 1
			continue
		}
		w := indentWidth(l)
		switch l[len(l)-1] {
		case ':', '{':
			w++
		}
		return w
	}
	return 0
}

// onlyClosers reports whether s holds nothing but closing brackets,
// quotes, separators and spaces: text a completion may end before.
func onlyClosers(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune(closerChars+" \t\r", r) {
			return false
		}
	}
	return true
}

const closerChars = ")]}>;,'\"`"

// linesPastBlockEnd counts the line breaks in text from its first line
// (after the one the cursor is on) indented less than the cursor's line:
// how far the completion has gone past where the block-end rule stops it.
// It is -1 when no line is.
func (d *docInfo) linesPastBlockEnd(text string) int {
	lines := strings.Split(text, "\n")
	for i := 1; i < len(lines); i++ {
		if l := lines[i]; strings.TrimSpace(l) != "" && indentWidth(l) < d.indent {
			return len(lines) - 1 - i
		}
	}
	return -1
}

// indentWidth is the width of s's leading whitespace.
func indentWidth(s string) int {
	w := 0
	for _, c := range []byte(s) {
		switch c {
		case ' ':
			w++
		case '\t':
			w += tabWidth
		default:
			return w
		}
	}
	return w
}

// indentStyle guesses a document's indentation: tabs when more indented
// lines start with a tab than with a space; otherwise the unit is the
// most common positive difference between consecutive indentations
// (2 or 4 in practice; 4 when unknown). Lines starting with "*" are no
// evidence: in a block comment they are aligned under its "/*".
func indentStyle(text string) (tabs bool, unit int, known bool) {
	var nTab, nSpace int
	diffs := map[int]int{}
	prev := 0
	for _, l := range strings.Split(text, "\n") {
		if l == "" {
			continue
		}
		if strings.HasPrefix(strings.TrimLeft(l, " \t"), "*") {
			// A block comment's " * " lines (licence headers, doc
			// comments) are aligned, not indented: one space is no level.
			continue
		}
		blank := strings.TrimSpace(l) == ""
		switch l[0] {
		case '\t':
			nTab++
		case ' ':
			nSpace++
			if blank {
				continue // the cursor's line: evidence of style, not of width
			}
			w := len(l) - len(strings.TrimLeft(l, " "))
			if w > prev {
				diffs[w-prev]++
			}
			prev = w
			continue
		}
		if !blank {
			prev = 0
		}
	}
	unit, best := 4, 0
	for d, n := range diffs {
		if d <= 8 && (n > best || n == best && d < unit) {
			unit, best = d, n
		}
	}
	return nTab > nSpace, unit, nTab+nSpace > 0
}

// alignsWithSpaces reports whether text has a line indented with tabs and
// then spaces before its code (a block comment's " * " does not count).
func alignsWithSpaces(text string) bool {
	for l := range strings.Lines(text) {
		t := strings.TrimLeft(l, "\t")
		if len(t) == len(l) || !strings.HasPrefix(t, " ") {
			continue
		}
		if c := strings.TrimLeft(t, " "); c != "" && !strings.ContainsAny(c[:1], "*\r\n\t") {
			return true
		}
	}
	return false
}

// stopCheck decides whether text (a beam's completion so far) must end.
// It returns the text to keep and a finish reason, or ok=false to go on.
// The line rules look at the newest line; stop strings are searched in
// the whole text. A completion is a few hundred bytes (its token limit),
// so a check costs microseconds against a decode step's milliseconds.
func (d *docInfo) stopCheck(text string, req *Request) (keep string, reason string, stop bool) {
	for _, s := range req.Stop.Strings {
		if s == "" {
			continue
		}
		if i := strings.Index(text, s); i >= 0 {
			return text[:i], FinishString, true
		}
	}
	nl := strings.LastIndexByte(text, '\n')
	if nl < 0 {
		return "", "", false
	}
	if !d.multiline {
		end, spans := spanEnd(text)
		if !spans || req.Stop.Multiline == MultilineNever {
			return text[:strings.IndexByte(text, '\n')], FinishLines, true
		}
		if end >= 0 {
			return text[:end], FinishLines, true
		}
	}
	if end, ok := d.closedLine(text); ok {
		return text[:end], FinishLines, true
	}
	if max := req.Limits.MaxLines; max > 0 && strings.Count(text, "\n") >= max {
		i := nthIndex(text, '\n', max)
		return text[:i], FinishLines, true
	}
	// The newest line, possibly still being written: its indentation is
	// known from its first visible character, so a block end is caught
	// without generating the whole next line.
	if !req.Stop.NoBlockEnd {
		if keep, ok := d.endsBlock(text[nl+1:], text[:nl]); ok {
			return keep, FinishBlock, true
		}
	}
	// Rules on the newest complete line: it ends at nl and starts after
	// the newline before it (or at the start of the completion, whose
	// first line continues the cursor's line).
	start := strings.LastIndexByte(text[:nl], '\n') + 1
	line := strings.TrimSuffix(text[start:nl], "\r")
	// The block-end rule again, for a line whose break came in the same
	// token as its text (Qwen2's pre-tokenizer keeps "}\n" together), so
	// that the rule never saw it unfinished: the stop must not depend on
	// how the text was cut into tokens.
	if start > 0 && !req.Stop.NoBlockEnd {
		if keep, ok := d.endsBlock(line, text[:start-1]); ok {
			return keep, FinishBlock, true
		}
	}
	if start == 0 {
		if !d.atLineStart {
			return "", "", false
		}
		// At a line start the first line is a whole line too.
		line = d.lineBefore + line
	}
	t := strings.TrimSpace(line)
	if t == "" {
		return "", "", false
	}
	if !d.fenced && strings.HasPrefix(t, "```") {
		// Instruction-tuned models (the default model is one) sometimes
		// close the code as if answering in a chat: a fence line, then
		// prose. Code without fences never continues that way.
		return strings.TrimRight(text[:start], " \t\r\n"), FinishString, true
	}
	if !req.Stop.NoSuffixStop && d.isNextLine(line, 0) {
		// The completion has reached code that is already there.
		return strings.TrimRight(text[:start], " \t\r\n"), FinishSuffix, true
	}
	if !req.Stop.NoBlockEnd && d.opensBlock && indentWidth(line) == d.indent && strings.ContainsRune(")]}", rune(t[0])) && d.wentDeeper(text[:start]) {
		// The line closes the block the cursor opened: keep it, end there.
		return text[:nl], FinishBlock, true
	}
	return "", "", false
}

// endsBlock reports whether line, which follows before in the completion,
// lies past the end of the cursor's block: indented less than the cursor's
// line, or back at its indentation after the completion went deeper into
// the block the cursor opened (and not its closer, which belongs to the
// block). keep is before without the line. Only the line's first visible
// character is needed, so the rule fires while the line is being written.
func (d *docInfo) endsBlock(line, before string) (keep string, ok bool) {
	t := strings.TrimSpace(line)
	if t == "" {
		return "", false
	}
	w := indentWidth(line)
	if w < d.indent || w == d.indent && d.opensBlock && d.wentDeeper(before) && !strings.ContainsRune(")]}", rune(t[0])) {
		return strings.TrimRight(before, " \t\r\n"), true
	}
	return "", false
}

// isNextLine reports whether a whole line of the completion is the j-th
// non-blank line of the suffix: the same text at the same indentation.
func (d *docInfo) isNextLine(line string, j int) bool {
	return j < len(d.nextLines) && strings.TrimSpace(line) == d.nextLines[j] && indentWidth(line) == d.nextIndent[j]
}

// wentDeeper reports whether some line of text after its first is
// indented deeper than the cursor's line: the completion is inside the
// block the cursor opened.
func (d *docInfo) wentDeeper(text string) bool {
	lines := strings.Split(text, "\n")
	for _, l := range lines[1:] {
		if strings.TrimSpace(l) != "" && indentWidth(l) > d.indent {
			return true
		}
	}
	return false
}

func nthIndex(s string, c byte, n int) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			n--
			if n == 0 {
				return i
			}
		}
	}
	return len(s)
}
