package astguard

// The lexical automaton: a byte-at-a-time state machine per language that
// tracks brackets, strings (including raw, template, verbatim and
// triple-quoted ones), comments and Python's indentation, so that the
// decoder can drop next tokens that can never lead to valid code — a closing
// bracket that does not match, a newline inside a one-line string, a Python
// line indented where no indent may start — for well under a microsecond a
// token (BenchmarkLexerAllows).
//
// The automaton is deliberately conservative: it must never reject code the
// language accepts, because a wrongly masked token silently bends the model
// away from a correct completion. Where the lexical shape is ambiguous
// (JavaScript regular expressions vs division, Rust lifetimes vs character
// literals, C++ digit separators) it takes the reading that real code uses,
// and the prefix is read leniently: a mismatch there is recovered from, never
// reported, since the prefix is the user's text, right or wrong.

// lexConfig describes one language's lexical shape.
type lexConfig struct {
	hashComment     bool // '#' starts a line comment (Python)
	slashComments   bool // '//' and '/* */'
	nestedComments  bool // '/* /* */ */' nests (Rust)
	singleQuoteStr  bool // '...' is a string (Python, JS, TS)
	charLiteral     bool // '...' is a character literal (C family, Go, Java, C#)
	rustQuote       bool // ' opens a char literal or a lifetime (Rust)
	digitSeparator  bool // 1'000 (C++14, C23)
	tripleDouble    bool // """...""" (Python, Java text blocks, C# raw strings)
	tripleSingle    bool // '''...''' (Python)
	multilineString bool // "..." may span lines (Rust)
	goRaw           bool // `...` raw string without escapes (Go)
	template        bool // `...${expr}...` (JavaScript, TypeScript)
	regex           bool // /re/ literals (JavaScript, TypeScript)
	rustRaw         bool // r#"..."#, br"..."
	cppRaw          bool // R"delim(...)delim"
	csVerbatim      bool // @"...""..."
	pyIndent        bool // indentation is syntax (Python)
	jsx             bool // JSX text may hold lone quotes (It's): a newline in a quoted string is not an error
	preprocessor    bool // '#' first on a line starts a directive, read like a comment (C, C++, C#)
}

var lexConfigs = map[Language]*lexConfig{
	Go:         {slashComments: true, charLiteral: true, goRaw: true},
	Python:     {hashComment: true, singleQuoteStr: true, tripleDouble: true, tripleSingle: true, pyIndent: true},
	JavaScript: {slashComments: true, singleQuoteStr: true, template: true, regex: true, jsx: true},
	TypeScript: {slashComments: true, singleQuoteStr: true, template: true, regex: true},
	TSX:        {slashComments: true, singleQuoteStr: true, template: true, regex: true, jsx: true},
	Java:       {slashComments: true, charLiteral: true, tripleDouble: true},
	C:          {slashComments: true, charLiteral: true, digitSeparator: true, preprocessor: true},
	Cpp:        {slashComments: true, charLiteral: true, digitSeparator: true, cppRaw: true, preprocessor: true},
	Rust:       {slashComments: true, nestedComments: true, rustQuote: true, multilineString: true, rustRaw: true},
	CSharp:     {slashComments: true, charLiteral: true, tripleDouble: true, csVerbatim: true, preprocessor: true},
}

// lexMode is where the automaton stands.
type lexMode uint8

const (
	mCode           lexMode = iota
	mSlash                  // saw '/' in code: comment, division or regex
	mLineComment            // until newline
	mBlockComment           // inside /* */ (depth in blockDepth)
	mString                 // inside a quoted string or char literal (quote in q)
	mQuote1                 // saw one quote that may start a triple quote
	mQuote2                 // saw two quotes: an empty string or a triple quote
	mTriple                 // inside a triple-quoted string
	mGoRaw                  // inside a Go raw string
	mTemplate               // inside a JS template literal
	mTemplateDollar         // saw '$' inside a template literal
	mRustQuote              // saw ' in Rust: char literal or lifetime
	mRustQuoteOne           // saw ' and one character in Rust
	mRustRawHashes          // saw r# ...: counting hashes of a raw string
	mRustRaw                // inside a Rust raw string
	mRustRawClose           // saw '"' inside a Rust raw string: counting hashes
	mCppRawDelim            // reading the delimiter of a C++ raw string
	mCppRaw                 // inside a C++ raw string
	mVerbatim               // inside a C# verbatim string
	mVerbatimQuote          // saw '"' inside a C# verbatim string
	mRegex                  // inside a JS regular expression
	mRegexClass             // inside [...] of a regular expression
	mDirective              // a preprocessor line: brackets are not tracked
)

// templateMark on the bracket stack stands for the '${' of a template
// literal, closed by '}' back into the template.
const templateMark = '$'

// maxCppDelim is the C++ standard's limit on a raw string delimiter.
const maxCppDelim = 16

// lexState is the automaton's state; stack and indents are its only
// variable-size parts.
type lexState struct {
	mode       lexMode
	q          byte // the quote of the current string
	esc        bool // the previous character was an unconsumed backslash
	qrun       int  // closing quotes seen in a row (triple strings), hashes seen (Rust raw close), match progress (C++ raw)
	hashes     int  // hashes of a Rust raw string
	blockDepth int  // nesting of block comments
	cpp        [maxCppDelim]byte
	cppLen     int
	stack      []byte // open brackets: ( [ { and templateMark

	// Word tracking in code: the first bytes of the word being read (to
	// recognise string prefixes like r, R, u8R and keywords before a regex).
	word    [8]byte
	wordLen int
	prev    byte // previous code byte (for C#'s @" and $@")
	prev2   byte
	lastSig byte // last significant code byte; 'a' after a word or number, 'k' after a keyword a regex may follow

	// Python indentation.
	lineStart  bool  // at the start of a logical line, reading indentation
	col        int   // indentation column read so far
	needIndent bool  // the previous logical line ended with ':'
	indents    []int // indentation levels, bottom first (0 at the bottom)
	bsl        bool  // a backslash in code: the next newline continues the line

	// blankSoFar: only whitespace since the last newline (a '#' here starts
	// a preprocessor directive).
	blankSoFar bool
}

// Lexer is the lexical automaton for one language, primed with a prefix and
// advanced by pieces of text (token strings). It is not safe for concurrent
// use; Clone gives each beam its own.
type Lexer struct {
	cfg *lexConfig
	st  lexState
	tmp lexState // scratch state for Feed and Allows, reused to avoid allocation
}

// NewLexer returns a Lexer for lang at the start of a file.
func NewLexer(lang Language) (*Lexer, error) {
	cfg, ok := lexConfigs[lang]
	if !ok {
		return nil, &UnsupportedLanguageError{Name: string(lang)}
	}
	l := &Lexer{cfg: cfg}
	l.st.lineStart, l.st.blankSoFar = true, true
	l.st.indents = []int{0}
	return l, nil
}

// Prime reads text that is already in the document (the prefix), leniently:
// unmatched closers are skipped and broken strings recovered, never reported.
func (l *Lexer) Prime(text string) {
	for i := 0; i < len(text); i++ {
		l.st.step(l.cfg, text[i], false)
	}
}

// Feed advances the automaton by a piece of generated text and reports
// whether the piece was possible. An impossible piece leaves the Lexer as it
// was.
func (l *Lexer) Feed(piece string) bool {
	if !l.try(piece) {
		return false
	}
	l.st, l.tmp = l.tmp, l.st
	return true
}

// Allows reports whether piece could come next, without changing the Lexer.
func (l *Lexer) Allows(piece string) bool { return l.try(piece) }

// try runs piece strictly on a copy of the state in l.tmp.
func (l *Lexer) try(piece string) bool {
	l.tmp.copyFrom(&l.st)
	for i := 0; i < len(piece); i++ {
		if !l.tmp.step(l.cfg, piece[i], true) {
			return false
		}
	}
	return true
}

// Vocab is a tokenizer's vocabulary prepared for masking: for every piece
// it records which bytes that can make a piece impossible it contains, so
// that Mask runs the automaton only on pieces that could fail in the current
// state (in code, a piece without closers, quotes, slashes, hashes,
// backslashes or newlines never can).
type Vocab struct {
	pieces  []string
	classes []uint16
	// lead is the number of leading spaces of each piece (capped at 255),
	// and first the byte after them (0 if the piece is all spaces): at the
	// start of a Python line they settle the indentation.
	lead  []uint8
	first []byte
}

// Byte classes that matter to some lexer state.
const (
	clCloser    uint16 = 1 << iota // ) ] }
	clNewline                      // \n
	clDQuote                       // "
	clSQuote                       // '
	clBacktick                     // `
	clBackslash                    // \
	clSlash                        // /
	clHash                         // #
	clDollar                       // $
	clParen                        // ) alone, for C++ raw strings
	clOther                        // any other byte
)

func byteClass(c byte) uint16 {
	switch c {
	case ')':
		return clCloser | clParen
	case ']', '}':
		return clCloser
	case '\n':
		return clNewline
	case '"':
		return clDQuote
	case '\'':
		return clSQuote
	case '`':
		return clBacktick
	case '\\':
		return clBackslash
	case '/':
		return clSlash
	case '#':
		return clHash
	case '$':
		return clDollar
	}
	return clOther
}

// NewVocab prepares pieces (token id → text; "" for tokens without text,
// such as special tokens) for Mask.
func NewVocab(pieces []string) *Vocab {
	v := &Vocab{pieces: pieces, classes: make([]uint16, len(pieces)), lead: make([]uint8, len(pieces)), first: make([]byte, len(pieces))}
	for i, p := range pieces {
		var cl uint16
		for j := 0; j < len(p); j++ {
			cl |= byteClass(p[j])
		}
		v.classes[i] = cl
		k := 0
		for k < len(p) && p[k] == ' ' {
			k++
		}
		v.lead[i] = uint8(min(k, 255))
		if k < len(p) {
			v.first[i] = p[k]
		}
	}
	return v
}

// Len is the number of pieces.
func (v *Vocab) Len() int { return len(v.pieces) }

// quoteClass is the class of a quote character.
func quoteClass(q byte) uint16 {
	if q == '\'' {
		return clSQuote
	}
	return clDQuote
}

// danger returns the byte classes that may make a piece impossible in the
// current state; all ones means "run the automaton on every piece".
func (l *Lexer) danger() uint16 {
	s := &l.st
	const all = ^uint16(0)
	switch s.mode {
	case mCode:
		if l.cfg.pyIndent && s.lineStart && len(s.stack) == 0 {
			return all // the first byte decides the indentation
		}
		return clCloser | clNewline | clDQuote | clSQuote | clBacktick | clBackslash | clSlash | clHash
	case mString:
		if s.esc {
			return all
		}
		return quoteClass(s.q) | clBackslash | clNewline
	case mLineComment:
		return clNewline
	case mDirective:
		if s.esc {
			return ^uint16(0)
		}
		return clNewline | clBackslash
	case mBlockComment:
		return clSlash
	case mTriple:
		if s.esc || s.qrun > 0 {
			return all
		}
		return quoteClass(s.q) | clBackslash
	case mGoRaw:
		return clBacktick
	case mTemplate:
		if s.esc {
			return all
		}
		return clBacktick | clDollar | clBackslash
	case mRustRaw, mVerbatim:
		return clDQuote
	case mCppRaw:
		if s.qrun > 0 {
			return all
		}
		return clParen
	}
	return all
}

// Mask sets allowed[i] to whether piece i of v could come next. Pieces
// without text are allowed: the decoder decides about special tokens.
func (l *Lexer) Mask(v *Vocab, allowed []bool) {
	d := l.danger()
	if d == ^uint16(0) && l.st.mode == mCode {
		l.maskLineStart(v, allowed)
		return
	}
	for i, p := range v.pieces {
		allowed[i] = v.classes[i]&d == 0 || p == "" || l.try(p)
	}
}

// maskLineStart is Mask at the start of a Python line, where the first
// non-blank byte settles the indentation. For pieces made of spaces and then
// an ordinary byte, the indentation check depends only on the column the
// spaces reach, so it runs once per column; after it only code's dangerous
// bytes need the automaton.
func (l *Lexer) maskLineStart(v *Vocab, allowed []bool) {
	const codeDanger = clCloser | clNewline | clDQuote | clSQuote | clBacktick | clBackslash | clSlash | clHash
	var okAt [256]int8 // 0 unknown, 1 ok, -1 impossible; by leading spaces
	for i, p := range v.pieces {
		f := v.first[i]
		switch {
		case p == "":
			allowed[i] = true
		case int(v.lead[i]) == len(p):
			allowed[i] = true // only spaces: the line is still being indented
		case f == '\t' || f == '\f' || f == '\r' || f == '\n' || f == '#' || v.lead[i] == 255:
			allowed[i] = l.try(p)
		default:
			k := v.lead[i]
			if okAt[k] == 0 {
				l.tmp.copyFrom(&l.st)
				l.tmp.col += int(k)
				l.tmp.lineStart = false
				okAt[k] = -1
				if l.tmp.indent(true) {
					okAt[k] = 1
				}
			}
			allowed[i] = okAt[k] > 0 && (v.classes[i]&codeDanger == 0 || l.try(p))
		}
	}
}

// Clone returns an independent copy (for a beam that forks).
func (l *Lexer) Clone() *Lexer {
	c := &Lexer{cfg: l.cfg}
	c.st.copyFrom(&l.st)
	return c
}

// Depth is the number of open brackets (and template interpolations).
func (l *Lexer) Depth() int { return len(l.st.stack) }

// OpenBrackets returns the open brackets, outermost first ('$' stands for a
// template literal's '${').
func (l *Lexer) OpenBrackets() string { return string(l.st.stack) }

// InCode reports whether the automaton is in code, not inside a string,
// comment or other literal.
func (l *Lexer) InCode() bool { return l.st.mode == mCode }

// InComment reports whether the automaton is inside a comment.
func (l *Lexer) InComment() bool {
	return l.st.mode == mLineComment || l.st.mode == mBlockComment
}

// AtBlockOpen reports whether the last significant code character opens a
// block: '{' in brace languages, or a line-ending ':' in Python.
func (l *Lexer) AtBlockOpen() bool {
	if l.cfg.pyIndent {
		return l.st.lastSig == ':' && len(l.st.stack) == 0 || l.st.needIndent
	}
	return l.st.lastSig == '{'
}

// Closers returns text that would close everything the automaton has open:
// the current string, comment or literal, then the open brackets, innermost
// first. The Checker appends it to an unfinished candidate so that
// tree-sitter sees a closed file and keeps its errors local, instead of
// wrapping everything up to the end of an unclosed function in one ERROR.
// Constructs the automaton does not track (JSX tags, Python blocks) stay
// open.
func (l *Lexer) Closers() string {
	s := &l.st
	var b []byte
	switch s.mode {
	case mString:
		if s.esc {
			b = append(b, ' ')
		}
		b = append(b, s.q)
	case mQuote1:
		b = append(b, s.q)
	case mTriple:
		if s.esc {
			b = append(b, ' ')
		}
		for i := s.qrun; i < 3; i++ {
			b = append(b, s.q)
		}
	case mLineComment, mDirective:
		if s.esc {
			b = append(b, ' ')
		}
		b = append(b, '\n')
	case mBlockComment:
		for i := 0; i < s.blockDepth; i++ {
			b = append(b, " */"...)
		}
	case mGoRaw:
		b = append(b, '`')
	case mTemplate, mTemplateDollar:
		if s.esc {
			b = append(b, ' ')
		}
		b = append(b, '`')
	case mSlash:
		if l.cfg.regex && s.regexAllowed() {
			b = append(b, "x/"...) // the '/' opened a regular expression
		}
	case mRustQuote:
		b = append(b, "x'"...)
	case mRustQuoteOne:
		b = append(b, '\'')
	case mRustRawHashes:
		b = append(b, '"', '"')
		for i := 0; i < s.hashes; i++ {
			b = append(b, '#')
		}
	case mCppRawDelim:
		b = append(b, '(', ')')
		b = append(b, s.cpp[:s.cppLen]...)
		b = append(b, '"')
	case mRustRaw, mRustRawClose:
		b = append(b, '"')
		for i := 0; i < s.hashes; i++ {
			b = append(b, '#')
		}
	case mCppRaw:
		b = append(b, ')')
		b = append(b, s.cpp[:s.cppLen]...)
		b = append(b, '"')
	case mVerbatim:
		b = append(b, '"')
	case mRegex, mRegexClass:
		if s.mode == mRegexClass {
			b = append(b, ']')
		}
		b = append(b, '/')
	}
	for i := len(s.stack) - 1; i >= 0; i-- {
		switch s.stack[i] {
		case '(':
			b = append(b, ')')
		case '[':
			b = append(b, ']')
		case '{':
			b = append(b, '}')
		case templateMark:
			b = append(b, "}`"...)
		}
	}
	return string(b)
}

// copyFrom makes s a deep copy of o, reusing s's slices.
func (s *lexState) copyFrom(o *lexState) {
	stack, indents := s.stack, s.indents
	*s = *o
	s.stack = append(stack[:0], o.stack...)
	s.indents = append(indents[:0], o.indents...)
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// regexKeywords are words after which '/' starts a regular expression.
var regexKeywords = map[string]bool{
	"return": true, "typeof": true, "case": true, "do": true, "else": true, "in": true, "of": true,
	"new": true, "delete": true, "void": true, "throw": true, "yield": true, "await": true, "instanceof": true,
}

// regexAllowed reports whether a '/' here starts a regular expression: after
// an operator, an opening bracket or a keyword, not after a value.
func (s *lexState) regexAllowed() bool {
	switch s.lastSig {
	case 0, '(', ',', '=', ':', '[', '!', '&', '|', '?', '{', ';', '+', '-', '*', '%', '<', '>', '~', '^', 'k':
		return true
	}
	return false
}

// step advances the state by one byte; strict reports impossible input by
// returning false, lenient (priming) recovers instead.
func (s *lexState) step(cfg *lexConfig, c byte, strict bool) bool {
	for {
		switch s.mode {
		case mCode:
			return s.code(cfg, c, strict)

		case mSlash:
			switch c {
			case '/':
				s.mode = mLineComment
				return true
			case '*':
				s.mode, s.blockDepth, s.prev = mBlockComment, 1, 0
				return true
			}
			if cfg.regex && s.regexAllowed() {
				s.mode = mRegex
				continue
			}
			s.mode, s.lastSig = mCode, '/'
			continue

		case mLineComment:
			if c == '\n' {
				s.mode = mCode
				continue // the newline ends a logical line too
			}
			return true

		case mBlockComment:
			switch {
			case s.prev == '*' && c == '/':
				s.blockDepth--
				c = 0
				if s.blockDepth == 0 {
					s.mode = mCode
					s.prev = 0
					return true
				}
			case cfg.nestedComments && s.prev == '/' && c == '*':
				s.blockDepth++
				c = 0
			}
			s.prev = c
			return true

		case mString:
			switch {
			case s.esc:
				s.esc = false
			case c == '\\':
				s.esc = true
			case c == s.q:
				s.mode, s.lastSig = mCode, 'a'
			case c == '\n' && !(cfg.multilineString && s.q == '"'):
				if strict && !cfg.jsx {
					return false // a newline cannot stand in a one-line string
				}
				s.mode = mCode
				continue
			}
			return true

		case mQuote1:
			if c == s.q {
				s.mode = mQuote2
				return true
			}
			s.mode = mString
			continue

		case mQuote2:
			if c == s.q {
				s.mode, s.qrun = mTriple, 0
				return true
			}
			s.mode, s.lastSig = mCode, 'a' // it was an empty string
			continue

		case mTriple:
			switch {
			case s.esc:
				s.esc = false
				s.qrun = 0
			case c == '\\':
				s.esc = true
				s.qrun = 0
			case c == s.q:
				s.qrun++
				if s.qrun == 3 {
					s.mode, s.lastSig = mCode, 'a'
				}
			default:
				s.qrun = 0
			}
			return true

		case mGoRaw:
			if c == '`' {
				s.mode, s.lastSig = mCode, 'a'
			}
			return true

		case mTemplate:
			switch {
			case s.esc:
				s.esc = false
			case c == '\\':
				s.esc = true
			case c == '`':
				s.mode, s.lastSig = mCode, 'a'
			case c == '$':
				s.mode = mTemplateDollar
			}
			return true

		case mTemplateDollar:
			if c == '{' {
				s.stack = append(s.stack, templateMark)
				s.mode, s.lastSig = mCode, '{'
				return true
			}
			s.mode = mTemplate
			continue

		case mRustQuote:
			if c == '\\' {
				s.mode, s.q, s.esc = mString, '\'', true
				return true
			}
			if c == '\'' || c == '\n' { // '' is not Rust; recover as code
				if strict {
					return false
				}
				s.mode = mCode
				return true
			}
			s.mode = mRustQuoteOne
			return true

		case mRustQuoteOne:
			if c >= 0x80 && c < 0xC0 { // rest of a multi-byte character
				return true
			}
			if c == '\'' {
				s.mode, s.lastSig = mCode, 'a' // a character literal
				return true
			}
			s.mode, s.lastSig = mCode, 'a' // it was a lifetime or a label
			continue

		case mRustRawHashes:
			switch c {
			case '#':
				s.hashes++
				return true
			case '"':
				s.mode = mRustRaw
				return true
			}
			s.mode = mCode // r#ident, a raw identifier
			continue

		case mRustRaw:
			if c == '"' {
				if s.hashes == 0 {
					s.mode, s.lastSig = mCode, 'a'
				} else {
					s.mode, s.qrun = mRustRawClose, 0
				}
			}
			return true

		case mRustRawClose:
			switch c {
			case '#':
				s.qrun++
				if s.qrun == s.hashes {
					s.mode, s.lastSig = mCode, 'a'
				}
			case '"':
				s.qrun = 0
			default:
				s.mode = mRustRaw
			}
			return true

		case mCppRawDelim:
			if c == '(' {
				s.mode, s.qrun = mCppRaw, 0
				return true
			}
			if s.cppLen == maxCppDelim || c == ' ' || c == ')' || c == '\\' || c == '\t' || c == '\n' || c == '"' {
				if strict {
					return false // not a valid raw string delimiter
				}
				s.mode = mCode
				return true
			}
			s.cpp[s.cppLen] = c
			s.cppLen++
			return true

		case mCppRaw:
			// qrun counts matched bytes of ")delim\"".
			switch {
			case s.qrun == 0:
				if c == ')' {
					s.qrun = 1
				}
			case s.qrun <= s.cppLen && c == s.cpp[s.qrun-1]:
				s.qrun++
			case s.qrun == s.cppLen+1 && c == '"':
				s.mode, s.lastSig = mCode, 'a'
			case c == ')':
				s.qrun = 1
			default:
				s.qrun = 0
			}
			return true

		case mVerbatim:
			if c == '"' {
				s.mode = mVerbatimQuote
			}
			return true

		case mVerbatimQuote:
			if c == '"' { // "" is an escaped quote
				s.mode = mVerbatim
				return true
			}
			s.mode, s.lastSig = mCode, 'a'
			continue

		case mDirective:
			switch {
			case s.esc:
				s.esc = false
			case c == '\\':
				s.esc = true
			case c == '\n':
				s.mode = mCode
				continue
			}
			return true

		case mRegex:
			switch {
			case s.esc:
				s.esc = false
			case c == '\\':
				s.esc = true
			case c == '[':
				s.mode = mRegexClass
			case c == '/':
				s.mode, s.lastSig = mCode, 'a'
			case c == '\n': // regexes cannot span lines: it was no regex
				s.mode = mCode
				continue
			}
			return true

		case mRegexClass:
			switch {
			case s.esc:
				s.esc = false
			case c == '\\':
				s.esc = true
			case c == ']':
				s.mode = mRegex
			case c == '\n':
				s.mode = mCode
				continue
			}
			return true
		}
		return true
	}
}

// code handles one byte in code.
func (s *lexState) code(cfg *lexConfig, c byte, strict bool) bool {
	if cfg.pyIndent && s.lineStart && len(s.stack) == 0 {
		switch c {
		case ' ':
			s.col++
			return true
		case '\t':
			s.col = (s.col/8 + 1) * 8
			return true
		case '\f':
			s.col = 0
			return true
		case '\r', '\n':
			s.col = 0 // a blank line says nothing about indentation
			return true
		case '#':
			s.mode = mLineComment // a comment line neither
			return true
		}
		s.lineStart = false
		if !s.indent(strict) {
			return false
		}
	}
	bsl := s.bsl
	s.bsl = false
	blank := s.blankSoFar
	if c == '\n' {
		s.blankSoFar = true
	} else if c != ' ' && c != '\t' && c != '\r' && c != '\f' && c != '\v' {
		s.blankSoFar = false
	}
	if c == '#' && blank && cfg.preprocessor {
		s.mode = mDirective
		return true
	}

	// Words: track the current one for string prefixes and keywords.
	if isWordByte(c) {
		if s.wordLen < len(s.word) {
			s.word[s.wordLen] = c
		}
		s.wordLen++
		s.prev2, s.prev = s.prev, c
		return true
	}
	wordLen := s.wordLen
	if wordLen > 0 {
		s.lastSig = 'a'
		if cfg.regex && wordLen <= len(s.word) && wordLen >= 2 && regexKeywords[string(s.word[:wordLen])] {
			s.lastSig = 'k'
		}
	}
	s.wordLen = 0
	prev, prev2 := s.prev, s.prev2
	s.prev2, s.prev = s.prev, c

	switch c {
	case '\r':
		s.bsl = bsl // a backslash before CR LF still continues the line
		return true
	case ' ', '\t', '\f', '\v':
		return true
	case '\n':
		if cfg.pyIndent && len(s.stack) == 0 && !bsl {
			s.needIndent = s.lastSig == ':'
			s.lineStart, s.col = true, 0
		}
		return true
	case '\\':
		s.bsl = true
		return true
	case '(', '[', '{':
		s.stack = append(s.stack, c)
		s.lastSig = c
		return true
	case ')', ']', '}':
		s.lastSig = c
		return s.close(c, strict)
	case '/':
		if cfg.slashComments {
			s.mode = mSlash
			return true
		}
	case '#':
		if cfg.hashComment {
			s.mode = mLineComment
			return true
		}
		if cfg.rustRaw && wordLen > 0 && (s.wordIsN(wordLen, "r") || s.wordIsN(wordLen, "br") || s.wordIsN(wordLen, "cr")) {
			s.mode, s.hashes = mRustRawHashes, 1
			return true
		}
	case '`':
		if cfg.goRaw {
			s.mode = mGoRaw
			return true
		}
		if cfg.template {
			s.mode = mTemplate
			return true
		}
	case '"', '\'':
		return s.quote(cfg, c, wordLen, prev, prev2, strict)
	}
	s.lastSig = c
	return true
}

// wordIsN reports whether the word of length n that has just ended is w.
func (s *lexState) wordIsN(n int, w string) bool {
	return n == len(w) && string(s.word[:n]) == w
}

// quote handles a quote character in code; wordLen is the length of the word
// that stands right before it (a string prefix such as r, b, R or u8R).
func (s *lexState) quote(cfg *lexConfig, c byte, wordLen int, prev, prev2 byte, strict bool) bool {
	if c == '\'' {
		switch {
		case cfg.rustQuote:
			s.mode = mRustQuote
			return true
		case cfg.digitSeparator && wordLen > 0 && s.word[0] >= '0' && s.word[0] <= '9':
			s.wordLen = wordLen // 1'000: the number goes on
			return true
		case cfg.singleQuoteStr:
			if cfg.tripleSingle {
				s.mode, s.q = mQuote1, c
			} else {
				s.mode, s.q = mString, c
			}
			return true
		case cfg.charLiteral:
			s.mode, s.q = mString, c
			return true
		}
		s.lastSig = c
		return true
	}
	// c == '"'
	switch {
	case cfg.rustRaw && (s.wordIsN(wordLen, "r") || s.wordIsN(wordLen, "br") || s.wordIsN(wordLen, "cr")):
		s.mode, s.hashes = mRustRaw, 0
		return true
	case cfg.cppRaw && (s.wordIsN(wordLen, "R") || s.wordIsN(wordLen, "u8R") || s.wordIsN(wordLen, "uR") || s.wordIsN(wordLen, "UR") || s.wordIsN(wordLen, "LR")):
		s.mode, s.cppLen = mCppRawDelim, 0
		return true
	case cfg.csVerbatim && (prev == '@' || prev == '$' && prev2 == '@'): // @"  $@"  @$"
		s.mode = mVerbatim
		return true
	case cfg.tripleDouble:
		s.mode, s.q = mQuote1, c
		return true
	}
	s.mode, s.q = mString, c
	return true
}

// close handles a closing bracket.
func (s *lexState) close(c byte, strict bool) bool {
	open := byte('(')
	switch c {
	case ']':
		open = '['
	case '}':
		open = '{'
	}
	n := len(s.stack)
	if n > 0 && s.stack[n-1] == open {
		s.stack = s.stack[:n-1]
		return true
	}
	if n > 0 && c == '}' && s.stack[n-1] == templateMark {
		s.stack = s.stack[:n-1]
		s.mode = mTemplate
		return true
	}
	if strict {
		return false
	}
	// Lenient: close up to the matching opener if there is one, else skip.
	for i := n - 1; i >= 0; i-- {
		if s.stack[i] == open {
			s.stack = s.stack[:i]
			break
		}
	}
	return true
}

// indent checks the indentation s.col of a new logical Python line.
func (s *lexState) indent(strict bool) bool {
	top := s.indents[len(s.indents)-1]
	need := s.needIndent
	s.needIndent = false
	switch {
	case need:
		if s.col <= top {
			if strict {
				return false // a block must be indented
			}
		} else {
			s.indents = append(s.indents, s.col)
		}
	case s.col > top:
		if strict {
			return false // unexpected indent
		}
		s.indents = append(s.indents, s.col)
	case s.col < top:
		for len(s.indents) > 1 && s.indents[len(s.indents)-1] > s.col {
			s.indents = s.indents[:len(s.indents)-1]
		}
		if s.indents[len(s.indents)-1] != s.col {
			if strict {
				return false // dedent to a level that was never opened
			}
			s.indents = append(s.indents, s.col)
		}
	}
	return true
}
