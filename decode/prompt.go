package decode

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Order is where the suffix goes in a FIM prompt.
type Order int

const (
	// SPM: suffix, then prefix, then the middle, in the FIM paper's
	// variant (<PRE><SUF>suffix<MID>prefix), and the default: typing
	// changes only the end of the prompt, so the cache keeps everything
	// before the cursor (24.8–326× fewer prompt tokens per keystroke), and
	// the default model passes more HumanEval single-line tasks in SPM
	// (0.80 against 0.55 pass@1 on 40). In the middle of a word the model
	// would continue the prefix's last token as plain text does
	// ("fmt.Pri" → "intln"); token healing (Template.Heal, on in the
	// engine) takes care of that (docs/benchmarks.md).
	SPM Order = iota
	// PSM: prefix, suffix, middle — the order every FIM model is trained
	// on. A keystroke in the prefix invalidates the cached suffix after it
	// (3.8× fewer prompt tokens than no cache).
	PSM
)

// DefaultOrder is the zero Order.
const DefaultOrder = SPM

func (o Order) String() string {
	if o == SPM {
		return "spm"
	}
	return "psm"
}

// ParseOrder reads "psm" or "spm"; "" is DefaultOrder.
func ParseOrder(s string) (Order, error) {
	switch strings.ToLower(s) {
	case "":
		return DefaultOrder, nil
	case "psm":
		return PSM, nil
	case "spm":
		return SPM, nil
	}
	return DefaultOrder, fmt.Errorf("unknown FIM order %q (want psm or spm)", s)
}

// Budget splits the prompt's tokens between context, prefix and suffix.
// The prefix matters most (the model continues it), so it gets what the
// others leave; the suffix and the context are capped at shares of the
// total and give back what they do not use.
type Budget struct {
	Total int // whole prompt, special tokens included
	// SuffixShare and ContextShare cap the suffix and the cross-file
	// context as fractions of Total.
	SuffixShare  float64
	ContextShare float64
}

// DefaultBudget suits a 0.5–1.5B model on a CPU: 1,536 tokens keep a
// keystroke's uncached prefill well under a second on two cores while
// holding ~150 lines around the cursor. A quarter for the suffix gives the
// model the code after the cursor (it ends a completion there), and up to
// 30% for other files leaves the prefix at least 45%.
var DefaultBudget = Budget{Total: 1536, SuffixShare: 0.25, ContextShare: 0.30}

// withDefaults fills the fields that are unset (or shares outside (0, 1])
// from DefaultBudget.
func (b Budget) withDefaults() Budget {
	if b.Total <= 0 {
		b.Total = DefaultBudget.Total
	}
	if b.SuffixShare <= 0 || b.SuffixShare > 1 {
		b.SuffixShare = DefaultBudget.SuffixShare
	}
	if b.ContextShare <= 0 || b.ContextShare > 1 {
		b.ContextShare = DefaultBudget.ContextShare
	}
	return b
}

// ContextTokens is the most tokens cross-file context gets in a prompt of
// total tokens (0: the budget's Total). A caller that gathers context can
// stop there: Build would cut anything more.
func (b Budget) ContextTokens(total int) int {
	b = b.withDefaults()
	if total <= 0 {
		total = b.Total
	}
	return int(float64(total) * b.ContextShare)
}

// Segment is one piece of a prompt: a special token, or text to tokenize.
type Segment struct {
	Special int32 // NoToken for text
	Text    string
	IDs     []int32 // Text's tokens when already known
}

// Prompt is a built prompt.
type Prompt struct {
	Tokens   []int32
	Segments []Segment // Tokens, before tokenization (for rendering)
	// Part sizes in tokens, after trimming.
	ContextTokens, PrefixTokens, SuffixTokens int
	// Trimmed reports that the budget cut something; ContextUsed is the
	// number of context blocks included.
	Trimmed     bool
	ContextUsed int
	// FIM is false for a prefix-only prompt.
	FIM bool
	// Heal is the text of the prefix's last tokens, taken off the
	// prompt's end (Template.Heal): the completion must begin with it, and
	// the engine lets the model choose how to tokenize it. A cursor in the
	// middle of a word ends the prefix with tokens the model rarely saw
	// there ("fmt.Pri" is "fmt" ".P" "ri" where code has ".Print"), and the
	// model then continues the odd tokens instead of the word ("intln").
	// Empty when nothing was taken off.
	Heal string
}

// Render writes the prompt's segments as text with special tokens spelled
// as the vocabulary spells them (for golden tests and logs).
func (p *Prompt) Render(sp *Special) string {
	var b strings.Builder
	for _, s := range p.Segments {
		if s.Special != NoToken {
			b.WriteString(sp.Name(s.Special))
		} else {
			b.WriteString(s.Text)
		}
	}
	return b.String()
}

// Template lays out prompts for one vocabulary.
type Template struct {
	Special *Special
	Order   Order
	Budget  Budget
	// Heal takes the tokens of the word being typed off a prompt that
	// ends with the prefix (SPM and prefix-only prompts) and leaves them
	// to the model: token healing (see Prompt.Heal and healTokens).
	Heal bool
}

// PromptInput is what a prompt is made of.
type PromptInput struct {
	Prefix, Suffix string
	Path, Language string
	Repo           string
	Context        []ContextBlock
}

// maxHealTokens caps token healing: a word typed halfway is rarely more
// than three or four tokens, and every healed token is a decode step whose
// choice is constrained.
const maxHealTokens = 4

// healTokens chooses what token healing takes off the end of a prompt
// that ends with the prefix (ids, the tokens of text): the tokens that
// cover the word being typed, with the one mark before it (".Pri" of
// "fmt.Pri", which tokenizes as "fmt" ".P" "ri" where code has ".Print"
// "ln": healing only "ri" leaves the odd ".P", and the model continues it
// as "ri" "int"…), or the last token when the prefix does not end in a
// word (a space of indentation, which the model would join to the next
// word). It returns how many tokens and their text.
//
// A token ending a line is never taken: code tokenizers always cut after
// a line break, so the boundary is one the model knows, and re-choosing
// it lets the model open the completion with blank lines (HumanEval's
// holes after a docstring's "\n\n" came out empty). Neither is the
// prefix's first token: the prompt must end with text.
func healTokens(tok Tokenizer, ids []int32, text string) (int, string) {
	want := wordTail(text)
	k, n := 0, 0
	for k < min(maxHealTokens, len(ids)-1) {
		piece := tok.Piece(ids[len(ids)-1-k])
		if piece == "" || strings.HasSuffix(piece, "\n") || !strings.HasSuffix(text[:len(text)-n], piece) {
			break
		}
		k, n = k+1, n+len(piece)
		if n >= want {
			break
		}
	}
	return k, text[len(text)-n:]
}

// wordTail is the byte length of the letters and digits ending s, with
// the one mark before them other than a line break (the pre-tokenizers
// of code models keep such a mark with the word: ".Print", " return"); 0
// when s does not end with a letter or digit.
func wordTail(s string) int {
	i := len(s)
	for i > 0 {
		r, size := utf8.DecodeLastRuneInString(s[:i])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			break
		}
		i -= size
	}
	if i == len(s) {
		return 0
	}
	if r, size := utf8.DecodeLastRuneInString(s[:i]); i > 0 && r != '\n' && r != '\r' {
		i -= size
	}
	return len(s) - i
}

// prefixLineStep is how many whole lines the prefix drops at a time when
// it is over budget. Dropping lines in steps keeps the prompt's first
// token, and with it the whole cached prefix, the same across keystrokes:
// a cut that moved with every character typed would invalidate the cache
// at every keystroke.
const prefixLineStep = 32

// Build lays out in's parts as a prompt within the budget.
func (t *Template) Build(tok Tokenizer, in PromptInput) (*Prompt, error) {
	sp := t.Special
	bud := t.Budget.withDefaults()
	total := bud.Total
	p := &Prompt{FIM: sp.HasFIM()}
	var fixed int // special tokens
	if sp.AddBOS {
		fixed++
	}
	if p.FIM {
		fixed += 3
	}
	useRepo := sp.FIMSep != NoToken && len(in.Context) > 0
	if useRepo {
		fixed++ // the current file's separator
		if sp.FIMRep != NoToken {
			fixed++
		}
	}
	avail := total - fixed
	if avail < 16 {
		return nil, fmt.Errorf("prompt budget of %d tokens is too small (need at least %d)", total, fixed+16)
	}

	// Tokenize parts at full size first (up to what a prompt of this
	// budget could ever hold); cut afterwards.
	in.Prefix = clipPrefix(in.Prefix, total*clipBytesPerToken)
	in.Suffix = clipSuffix(in.Suffix, total*clipBytesPerToken)
	prefixIDs := tok.Encode(in.Prefix)
	var suffixIDs []int32
	if p.FIM {
		suffixIDs = tok.Encode(in.Suffix)
	}
	suffixCap := int(float64(total) * bud.SuffixShare)
	ctxCap := bud.ContextTokens(total)

	// Header of the current file in the repository layout, or a path
	// comment for families without file separators.
	var fileHeader string
	if len(in.Context) > 0 {
		if useRepo {
			fileHeader = in.Path + "\n"
		} else if in.Path != "" {
			fileHeader = pathComment(in.Language, in.Path)
		}
	}
	headerTok := len(tok.Encode(fileHeader))

	suffixWant := min(len(suffixIDs), suffixCap)
	ctxBudget := min(ctxCap, max(0, avail-headerTok-suffixWant-min(len(prefixIDs), 64)))
	var ctxSegs []Segment
	if len(in.Context) > 0 {
		ctxSegs, p.ContextTokens, p.ContextUsed = t.context(tok, in, ctxBudget, useRepo)
		if p.ContextUsed < len(in.Context) {
			p.Trimmed = true
		}
		if p.ContextUsed == 0 {
			fileHeader, headerTok = "", 0
			if useRepo {
				// No context made it: drop the repository layout.
				useRepo = false
				fixed--
				if sp.FIMRep != NoToken {
					fixed--
				}
				avail = total - fixed
			}
		}
	}
	prefixAvail := avail - p.ContextTokens - headerTok - suffixWant
	prefixText := in.Prefix
	if len(prefixIDs) > prefixAvail {
		prefixText, prefixIDs = cutPrefix(tok, in.Prefix, prefixAvail)
		p.Trimmed = true
	}
	// The suffix keeps to its share even when the prefix leaves room: in
	// PSM order every suffix token is computed again at each keystroke
	// (it follows the cursor in the prompt), so a long suffix is paid for
	// on every request.
	suffixAvail := min(suffixCap, avail-p.ContextTokens-headerTok-len(prefixIDs))
	suffixText := in.Suffix
	if p.FIM && len(suffixIDs) > suffixAvail {
		suffixText, suffixIDs = cutSuffix(tok, in.Suffix, suffixAvail)
		p.Trimmed = true
	}
	p.PrefixTokens, p.SuffixTokens = len(prefixIDs), len(suffixIDs)

	// Assemble.
	var segs []Segment
	special := func(id int32) { segs = append(segs, Segment{Special: id}) }
	text := func(s string) {
		if s != "" {
			segs = append(segs, Segment{Special: NoToken, Text: s})
		}
	}
	prefixSeg := -1
	prefix := func() {
		if prefixText != "" {
			prefixSeg = len(segs)
			segs = append(segs, Segment{Special: NoToken, Text: prefixText, IDs: prefixIDs})
		}
	}
	suffix := func() {
		if suffixText != "" {
			segs = append(segs, Segment{Special: NoToken, Text: suffixText, IDs: suffixIDs})
		}
	}
	if sp.AddBOS {
		special(sp.BOS)
	}
	if useRepo {
		segs = append(segs, ctxSegs...)
		special(sp.FIMSep)
		text(fileHeader)
	}
	if !p.FIM {
		if !useRepo {
			segs = append(segs, ctxSegs...)
			text(fileHeader)
		}
		prefix()
	} else {
		inPrefix := func() { // context for families without a repository layout goes before the prefix
			if !useRepo {
				segs = append(segs, ctxSegs...)
				text(fileHeader)
			}
			prefix()
		}
		if t.Order == SPM {
			special(sp.FIMPre)
			special(sp.FIMSuf)
			suffix()
			special(sp.FIMMid)
			inPrefix()
		} else {
			special(sp.FIMPre)
			inPrefix()
			special(sp.FIMSuf)
			suffix()
			special(sp.FIMMid)
		}
	}
	count := 0
	for i := range segs {
		if segs[i].Special == NoToken && segs[i].IDs == nil {
			segs[i].IDs = tok.Encode(segs[i].Text)
		}
		count += max(1, len(segs[i].IDs))
	}
	// Context headers and bodies were counted apart and are tokenized
	// together, which can differ by a token at the seam; the budget is a
	// hard cap, so the front of the prefix pays for it.
	if over := count - total; over > 0 && prefixSeg >= 0 {
		s := &segs[prefixSeg]
		cut := min(over, len(s.IDs))
		s.IDs = s.IDs[cut:]
		s.Text = piecesText(tok, s.IDs)
		p.PrefixTokens = len(s.IDs)
		p.Trimmed = true
	}
	if t.Heal && prefixSeg == len(segs)-1 {
		s := &segs[prefixSeg]
		k, heal := healTokens(tok, s.IDs, s.Text)
		if k > 0 {
			s.IDs, s.Text = s.IDs[:len(s.IDs)-k], s.Text[:len(s.Text)-len(heal)]
			p.PrefixTokens -= k
			p.Heal = heal
		}
	}
	for _, s := range segs {
		if s.Special != NoToken {
			p.Tokens = append(p.Tokens, s.Special)
		} else {
			p.Tokens = append(p.Tokens, s.IDs...)
		}
	}
	if len(p.Tokens) > total {
		return nil, fmt.Errorf("prompt of %d tokens exceeds its budget of %d", len(p.Tokens), total)
	}
	p.Segments = segs
	return p, nil
}

// context packs blocks, most relevant first, into budget tokens. A block
// that does not fit whole is cut after its last fitting line when at
// least a quarter of it fits (a cut function signature is still useful);
// otherwise it is skipped for a smaller one further down.
func (t *Template) context(tok Tokenizer, in PromptInput, budget int, repo bool) ([]Segment, int, int) {
	sp := t.Special
	var segs []Segment
	used, n := 0, 0
	if repo && sp.FIMRep != NoToken {
		name := in.Repo
		if name == "" {
			name = "repo"
		}
		h := name + "\n"
		c := len(tok.Encode(h))
		if c >= budget {
			return nil, 0, 0
		}
		segs = append(segs, Segment{Special: sp.FIMRep}, Segment{Special: NoToken, Text: h})
		used += c
	}
	for _, b := range in.Context {
		var header string
		extra := 0
		if repo {
			header = b.Path + "\n"
			extra = 1 // the file separator
		} else {
			header = pathComment(in.Language, b.Path)
		}
		body := b.Text
		if !strings.HasSuffix(body, "\n") {
			body += "\n"
		}
		if !repo {
			body += "\n"
		}
		hc := len(tok.Encode(header)) + extra
		bc := len(tok.Encode(body))
		left := budget - used - hc
		if left <= 0 {
			continue
		}
		if bc > left {
			if left*4 < bc {
				continue
			}
			body = cutLinesToFit(tok, body, left)
			if body == "" {
				continue
			}
			bc = len(tok.Encode(body))
		}
		if repo {
			segs = append(segs, Segment{Special: sp.FIMSep})
		}
		segs = append(segs, Segment{Special: NoToken, Text: header + body})
		used += hc + bc
		n++
	}
	if n == 0 {
		return nil, 0, 0
	}
	return segs, used, n
}

// clipBytesPerToken bounds the text Build tokenizes: a prompt of n tokens
// never needs more than n×16 bytes of prefix or suffix (code averages 3–4
// bytes a token; only long runs of one character come near 16). Without
// it, every keystroke in a 5 MB file would tokenize the whole file several
// times, about a second of CPU at the tokenizers' 7–18 MB/s.
const clipBytesPerToken = 16

// clipLines is the grid clipPrefix cuts on: a multiple of clipLines lines
// from the document's start, so the clip moves once per clipLines lines
// typed, not with every line, and the prefix cache keeps the prompt.
const clipLines = 256

// clipPrefix drops whole lines from the start of a prefix longer than
// maxBytes, keeping at least maxBytes. It cuts on the clipLines grid when
// that keeps at most 2×maxBytes (lines of ordinary length), else at the
// first line start that leaves maxBytes, else at a character boundary.
func clipPrefix(s string, maxBytes int) string {
	if len(s) <= maxBytes {
		return s
	}
	cut, line := 0, 0
	for i := 0; ; {
		j := strings.IndexByte(s[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
		if len(s)-i < maxBytes {
			break
		}
		if line++; line%clipLines == 0 {
			cut = i
		}
	}
	if len(s)-cut <= 2*maxBytes {
		return s[cut:]
	}
	cut = len(s) - maxBytes
	if j := strings.LastIndexByte(s[:cut], '\n'); j >= 0 && len(s)-(j+1) <= 2*maxBytes {
		return s[j+1:]
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[cut:]
}

// clipSuffix keeps the first maxBytes bytes of s, ending at a line end
// when one is there, else at a character boundary.
func clipSuffix(s string, maxBytes int) string {
	if len(s) <= maxBytes {
		return s
	}
	if j := strings.LastIndexByte(s[:maxBytes], '\n'); j >= 0 {
		return s[:j+1]
	}
	cut := maxBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// cutLinesToFit keeps s's leading lines that fit in n tokens.
func cutLinesToFit(tok Tokenizer, s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	lo, hi := 0, len(lines) // the answer keeps lines[:k]; binary search the largest k that fits
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if len(tok.Encode(strings.Join(lines[:mid], ""))) <= n {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return strings.Join(lines[:lo], "")
}

// cutPrefix keeps the end of prefix (nearest the cursor) within n tokens,
// dropping whole lines from the start in steps of prefixLineStep so the cut
// stays put while the user types; if even the cursor's own line is too
// long, it keeps the last n tokens.
func cutPrefix(tok Tokenizer, prefix string, n int) (string, []int32) {
	if n <= 0 {
		return "", nil
	}
	lines := strings.SplitAfter(prefix, "\n")
	// The step is at most prefixLineStep lines and at most about a quarter
	// of the allowance, so a small budget is not wasted; it depends only on
	// n and the document's average line, so it does not move per keystroke.
	perLine := max(1, len(tok.Encode(prefix))/len(lines))
	step := max(1, min(prefixLineStep, n/(4*perLine)))
	// Find the smallest multiple of the step to drop. Token counts of a
	// suffix of lines shrink as more lines go, so search the step count.
	steps := (len(lines) + step - 1) / step
	lo, hi := 1, steps // dropping hi*step lines leaves at most the last partial line group
	for lo < hi {
		mid := (lo + hi) / 2
		if len(tok.Encode(strings.Join(lines[min(len(lines)-1, mid*step):], ""))) <= n {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	text := strings.Join(lines[min(len(lines)-1, lo*step):], "")
	ids := tok.Encode(text)
	if len(ids) <= n {
		return text, ids
	}
	// The last line group alone is too long: keep whole lines from the end.
	text = strings.Join(lines[len(lines)-1:], "")
	for k := len(lines) - 2; k >= 0; k-- {
		cand := lines[k] + text
		if len(tok.Encode(cand)) > n {
			break
		}
		text = cand
	}
	ids = tok.Encode(text)
	if len(ids) <= n {
		return text, ids
	}
	// One line longer than the budget (minified code): keep its end.
	ids = ids[len(ids)-n:]
	return piecesText(tok, ids), ids
}

// cutSuffix keeps the start of suffix (nearest the cursor) within n tokens,
// at a line end when one fits.
func cutSuffix(tok Tokenizer, suffix string, n int) (string, []int32) {
	if n <= 0 {
		return "", nil
	}
	text := cutLinesToFit(tok, suffix, n)
	if text == "" {
		ids := tok.Encode(suffix)[:n]
		return piecesText(tok, ids), ids
	}
	return text, tok.Encode(text)
}

func piecesText(tok Tokenizer, ids []int32) string {
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(tok.Piece(id))
	}
	return b.String()
}

// lineComments are the line-comment markers used to name a file's path
// for families without a file-separator token.
var lineComments = map[string]string{
	"python": "#", "ruby": "#", "shellscript": "#", "r": "#", "perl": "#", "yaml": "#", "toml": "#",
	"dockerfile": "#", "makefile": "#", "elixir": "#",
	"lua": "--", "sql": "--", "haskell": "--",
}

// pathComment names path in a line comment of the language ("// path" by
// default: the C family, Go, Java, JavaScript, Rust, C#…).
func pathComment(lang, path string) string {
	c, ok := lineComments[lang]
	if !ok {
		c = "//"
	}
	return c + " " + path + "\n"
}
