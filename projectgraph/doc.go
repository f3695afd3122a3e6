// Package projectgraph indexes a workspace so the completion engine can show
// the model the cross-file code a completion needs.
//
// The package has four layers, each in its own files, imports flowing down:
//
//	context.go   Context: identifiers at the cursor → their definitions,
//	             then graph neighbours and recent files, packed into a
//	             token budget as Blocks{Path, Text, Reason}
//	gotypes.go   for Go, the types of the values around the cursor,
//	             inferred from the index's signatures: the members their
//	             selectors name and compact cards of the types in play
//	index.go     Index: files, the import graph (forward and reverse maps;
//	             Graph exports it as a github.com/dominikbraun/graph graph),
//	             the symbol index and identifier references; incremental
//	             updates; cache.go persists it, watch.go keeps it current
//	resolve.go   import specs → workspace files, per language
//	extract.go   one file → imports (tree-sitter queries), definitions
//	             (a bounded tree-sitter walk) and identifiers (a lexer)
//	scan.go      the workspace walk: ignore files, limits, secrets
//
// Design choices and their trade-offs:
//
//   - Structure before similarity. The import graph says which files can
//     define the identifiers at the cursor; definitions found through it are
//     ranked first, similarity-free neighbours next (see context.go).
//   - Types before names, for Go. Half the cross-file definitions a line of
//     Go needs are fields and methods reached through a value (c.config.
//     Certificates); their names recur across hundreds of types, so the
//     context follows the values' types (parameters, bindings, call
//     results, field types) with go/parser on the enclosing function and
//     the index's signatures — a syntactic approximation of go/types that
//     leaves out what it cannot type (see gotypes.go).
//   - A request never parses the whole file at the cursor when the index
//     knows it: an edit inside one function body leaves the declarations
//     as indexed, shifted (patchedFile), since a full parse of a large
//     file costs more than the rest of the request.
//   - Definitions are found by a tree-sitter walk that never enters function
//     bodies, so the cost is proportional to the number of top-level
//     declarations, not to the size of the file. Identifier references come
//     from a small lexer rather than the syntax tree: it is an order of
//     magnitude cheaper than visiting every tree node through cgo, at the
//     price of counting words inside strings the lexer cannot see as such.
//   - A Go import resolves to a package (a directory), not to each of its
//     files: the graph holds package vertices with "contains" edges, so the
//     standard library's ~1M file-to-file pairs are never materialised.
//     Stats().Edges still reports file-to-file pairs, computed.
//   - Secrets never reach a prompt: secret-looking files are never read, and
//     every Block's text passes MaskSecrets. (Signatures and docs in
//     Result.Defs, Definitions and File are the index's own, unmasked: they
//     are for tools, not prompts.)
//   - Watcher events are hints. After an fsnotify overflow or a burst the
//     index re-scans, comparing mtimes and hashes, which is the source of
//     truth (the approach of zoekt's watcher).
package projectgraph
