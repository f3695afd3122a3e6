// Package astguard keeps completions syntactically sound. It owns three
// concerns that the decoding engine (decode/) and the language server (lsp/)
// call into, and it imports neither of them:
//
//   - Parsing: a tree-sitter tree per open document, kept current from edits
//     by editing the old tree and reparsing with it (Document), and a listing
//     of its syntax errors (ERROR and MISSING nodes) with 1-based lines and
//     1-based Unicode code point columns (SyntaxErrors).
//   - Constraints for beam search: a Lexer, a per-language lexical automaton
//     (brackets, strings, comments, Python indentation) that answers in well
//     under a microsecond whether a next token piece is impossible, and a
//     Checker that judges a whole candidate completion between a prefix and a
//     suffix by the tree-sitter errors it adds relative to a neutral fill of
//     the hole. The Checker keeps its parse trees between calls and edits them
//     incrementally, so judging one beam step costs a small reparse, not a
//     full one.
//   - Shaping: DecideMode chooses single-line or block completion from the
//     syntax around the cursor, and Truncate cuts an over-long completion at a
//     syntactic boundary (expression, statement or block, SAFIM's kinds) so
//     that the completed file parses.
//
// Why tree-sitter errors are counted relative to a baseline: tree-sitter
// always recovers, and a half-written file nearly always holds ERROR or
// MISSING nodes already. What matters for a candidate is whether it makes
// things worse than the hole filled with something neutral.
//
// # Wiring into a decoder
//
// Per completion request (the hole is prefix|suffix):
//
//	c, err := astguard.NewCheckerAt(doc, cursor) // or NewChecker(lang, prefix, suffix)
//	defer c.Close()
//	unit, _ := astguard.DecideMode(lang, prefix, suffix) // single line or block
//	vocab := astguard.NewVocab(pieces)                    // once per model, not per request
//
// Per beam: lex := c.Lexer() at the start, lex.Clone() when a beam forks.
// Per decode step and beam: lex.Mask(vocab, allowed) gives the tokens that
// can come next (about 4–5 ns a token, ~150 µs for a 32K vocabulary), and
// lex.Feed(piece) advances the beam. When a piece ends a line,
// c.Partial(text) prunes beams with errors no continuation can fix; when a
// beam finishes, c.Final(text) adds Judgement.Penalty to its score. At the
// end, c.Truncate(best, unit) cuts an over-long completion at a syntactic
// boundary so that the file still parses.
//
// Nothing here is safe for concurrent use unless its doc says so: a decoder
// that judges beams on several goroutines makes one Checker per goroutine.
package astguard
