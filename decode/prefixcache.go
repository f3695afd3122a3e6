package decode

import (
	"fmt"
	"sync"
)

// PrefixCache remembers which token sequences the KV cache holds, in a
// radix tree (the RadixAttention idea of SGLang), so a request evaluates
// only the tokens after its longest cached prefix.
//
// Storage is the model's unified KV cache: one cell per token, each cell
// owned by a set of sequence ids. Every stored sequence (an entry) keeps a
// sequence id holding the cells of all its positions; entries that share a
// prefix share that prefix's cells (they were copied with SeqCp, which
// shares, not copies), so a cell is freed only when the last entry or
// request holding it lets go — reference counting by the cell's sequence
// set. Pages are one token (SGLang's default page size): a shared prefix
// never wastes a partly filled page.
//
// Entries sit only at leaves: an entry whose tokens are a prefix of
// another's is redundant (the longer one holds the same cells) and is
// dropped, which returns its sequence id. Eviction drops the least
// recently used entry; cells still held by another entry or by a running
// request stay, so eviction never disturbs a request.
//
// A PrefixCache is used by the engine's goroutine; Stats may be read from
// any goroutine.
type PrefixCache struct {
	lm      LM
	release func(SeqID) // returns a sequence id to the engine's pool
	root    *radixNode
	entries map[SeqID]*cacheEntry
	clock   uint64
	// budgetCells is the number of cells the cache may keep when idle.
	budgetCells int

	mu    sync.Mutex
	stats CacheStats
}

// CacheStats count the prefix cache's work since the engine started.
type CacheStats struct {
	Lookups       int   // requests that looked up their prompt
	Hits          int   // lookups that reused at least one token
	ReusedTokens  int64 // prompt tokens reused
	MovedTokens   int64 // of those, reused at a moved position (reuse.go)
	LookupTokens  int64 // prompt tokens looked up
	Inserts       int   // sequences stored
	Evictions     int   // entries evicted
	Entries       int   // entries now
	CellsUsed     int   // KV cells in use now (entries and running requests)
	BudgetCells   int   // cells the cache keeps at most when idle
	BytesPerCell  int
	EvictedTokens int64 // tokens of evicted entries
}

type radixNode struct {
	edge     []int32 // tokens from the parent to this node
	parent   *radixNode
	children map[int32]*radixNode
	entry    *cacheEntry // a stored sequence ends here
	depth    int         // tokens from the root to the end of edge
}

type cacheEntry struct {
	seq     SeqID
	node    *radixNode
	lastUse uint64
	doc     uint64 // documentID of the request that computed it (0: unknown)
}

// NewPrefixCache makes a cache over lm's KV cache that keeps at most
// budgetBytes of keys and values (0 or more than the KV cache holds: the
// whole KV cache). release gives evicted entries' sequence ids back.
func NewPrefixCache(lm LM, budgetBytes int64, release func(SeqID)) *PrefixCache {
	cells := lm.CacheCells()
	if budgetBytes > 0 && lm.CellBytes() > 0 {
		cells = int(min(int64(cells), budgetBytes/int64(lm.CellBytes())))
	}
	c := &PrefixCache{lm: lm, release: release, root: &radixNode{}, entries: map[SeqID]*cacheEntry{}, budgetCells: cells}
	c.stats.BudgetCells = cells
	c.stats.BytesPerCell = lm.CellBytes()
	return c
}

// Stats returns a snapshot of the counters.
func (c *PrefixCache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

func (c *PrefixCache) update(f func(s *CacheStats)) {
	c.mu.Lock()
	f(&c.stats)
	c.stats.Entries = len(c.entries)
	c.stats.CellsUsed = c.lm.CacheUsed()
	c.mu.Unlock()
}

// Len is the number of stored sequences.
func (c *PrefixCache) Len() int { return len(c.entries) }

// Match finds the longest stored prefix of tokens. It returns the number
// of matching tokens and a sequence id holding their cells (meaningless
// when n is 0). The entry found counts as used.
func (c *PrefixCache) Match(tokens []int32) (seq SeqID, n int) {
	node, n := c.walk(tokens)
	if n > 0 {
		e := anyEntry(node)
		if e == nil {
			panic("decode: prefix cache node without an entry below it")
		}
		c.clock++
		e.lastUse = c.clock
		seq = e.seq
	}
	c.update(func(s *CacheStats) {
		s.Lookups++
		s.LookupTokens += int64(len(tokens))
		if n > 0 {
			s.Hits++
		}
	})
	return seq, n
}

// walk descends as far as tokens match; it returns the deepest node whose
// subtree holds the match, and the match length.
func (c *PrefixCache) walk(tokens []int32) (*radixNode, int) {
	node, n := c.root, 0
	for n < len(tokens) {
		child := node.children[tokens[n]]
		if child == nil {
			break
		}
		k := commonPrefix(child.edge, tokens[n:])
		n += k
		node = child
		if k < len(child.edge) {
			break
		}
	}
	return node, n
}

func commonPrefix(a, b []int32) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

func anyEntry(n *radixNode) *cacheEntry {
	for n != nil {
		if n.entry != nil {
			return n.entry
		}
		var next *radixNode
		for _, ch := range n.children {
			next = ch
			break
		}
		n = next
	}
	return nil
}

// Insert records that seq holds the cells of tokens (positions 0 to
// len-1, nothing else), computed for the document doc (documentID; 0:
// unknown). The cache takes seq over and returns true, or returns false
// after releasing seq's cells and id when an entry already covers tokens.
func (c *PrefixCache) Insert(seq SeqID, tokens []int32, doc uint64) bool {
	if len(tokens) == 0 {
		c.drop(seq)
		return false
	}
	c.clock++
	node, n := c.walk(tokens)
	if n == len(tokens) {
		// Already covered by a stored sequence (equal or longer).
		if e := anyEntry(node); e != nil {
			e.lastUse = c.clock
			if e.node.depth == len(tokens) {
				e.doc = doc
			}
		}
		c.drop(seq)
		return false
	}
	// Split node's edge where the match ends inside it.
	if node != c.root && node.depth > n {
		node = c.split(node, len(node.edge)-(node.depth-n))
	}
	leaf := &radixNode{edge: append([]int32(nil), tokens[n:]...), parent: node, depth: len(tokens)}
	if node.children == nil {
		node.children = map[int32]*radixNode{}
	}
	node.children[leaf.edge[0]] = leaf
	e := &cacheEntry{seq: seq, node: leaf, lastUse: c.clock, doc: doc}
	leaf.entry = e
	c.entries[seq] = e
	// Entries on the path are prefixes of the new one: redundant.
	for a := node; a != nil; a = a.parent {
		if a.entry != nil {
			old := a.entry
			a.entry = nil
			delete(c.entries, old.seq)
			c.drop(old.seq)
		}
	}
	c.update(func(s *CacheStats) { s.Inserts++ })
	return true
}

// split cuts node's edge after k tokens, returning the new upper node.
func (c *PrefixCache) split(node *radixNode, k int) *radixNode {
	up := &radixNode{
		edge:     node.edge[:k:k],
		parent:   node.parent,
		children: map[int32]*radixNode{},
		depth:    node.depth - len(node.edge) + k,
	}
	node.parent.children[up.edge[0]] = up
	node.edge = node.edge[k:]
	node.parent = up
	up.children[node.edge[0]] = node
	return up
}

func (c *PrefixCache) drop(seq SeqID) {
	c.lm.SeqRm(seq, -1, -1)
	c.release(seq)
}

// EvictLRU removes the least recently used entry, returning false when
// the cache is empty.
func (c *PrefixCache) EvictLRU() bool {
	var lru *cacheEntry
	for _, e := range c.entries {
		if lru == nil || e.lastUse < lru.lastUse {
			lru = e
		}
	}
	if lru == nil {
		return false
	}
	c.remove(lru)
	return true
}

func (c *PrefixCache) remove(e *cacheEntry) {
	n := e.node
	tokens := n.depth
	n.entry = nil
	delete(c.entries, e.seq)
	// Prune the branch up to the first node that still matters.
	for n != c.root && n.entry == nil && len(n.children) == 0 {
		p := n.parent
		delete(p.children, n.edge[0])
		n = p
	}
	// A node left with one child and no entry merges into it, keeping the
	// tree compressed.
	if n != c.root && n.entry == nil && len(n.children) == 1 {
		for _, ch := range n.children {
			ch.edge = append(append([]int32(nil), n.edge...), ch.edge...)
			ch.parent = n.parent
			n.parent.children[ch.edge[0]] = ch
		}
	}
	c.drop(e.seq)
	c.update(func(s *CacheStats) { s.Evictions++; s.EvictedTokens += int64(tokens) })
}

// Reserve evicts entries, least recently used first, until need more
// cells are free within the budget and the KV cache. It reports whether
// they are (running requests' cells cannot be evicted).
func (c *PrefixCache) Reserve(need int) bool {
	limit := min(c.budgetCells, c.lm.CacheCells())
	for c.lm.CacheUsed()+need > limit {
		if !c.EvictLRU() {
			break
		}
	}
	// Beyond the budget, running requests may still use the rest of the
	// KV cache: the budget bounds what the cache keeps, not what a request
	// needs.
	return c.lm.CacheUsed()+need <= c.lm.CacheCells()
}

// Trim evicts entries until the cells in use fit the budget.
func (c *PrefixCache) Trim() {
	for c.lm.CacheUsed() > c.budgetCells {
		if !c.EvictLRU() {
			return
		}
	}
}

// check verifies the tree's invariants (tests call it after every step):
// depths add up, every leaf holds an entry, entries sit only at leaves,
// and each entry's sequence holds exactly its positions.
func (c *PrefixCache) check(holds func(SeqID) int) error {
	var walk func(n *radixNode) error
	count := 0
	walk = func(n *radixNode) error {
		for k, ch := range n.children {
			if len(ch.edge) == 0 || ch.edge[0] != k || ch.parent != n || ch.depth != n.depth+len(ch.edge) {
				return fmt.Errorf("prefix cache: malformed node at depth %d", ch.depth)
			}
			if len(ch.children) == 0 && ch.entry == nil {
				return fmt.Errorf("prefix cache: leaf at depth %d without an entry", ch.depth)
			}
			if ch.entry != nil {
				if len(ch.children) != 0 {
					return fmt.Errorf("prefix cache: entry of seq %d is a prefix of another", ch.entry.seq)
				}
				count++
				if holds != nil {
					if h := holds(ch.entry.seq); h != ch.depth {
						return fmt.Errorf("prefix cache: seq %d holds %d cells, its entry %d tokens", ch.entry.seq, h, ch.depth)
					}
				}
			}
			if err := walk(ch); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(c.root); err != nil {
		return err
	}
	if count != len(c.entries) {
		return fmt.Errorf("prefix cache: %d entries in the tree, %d in the index", count, len(c.entries))
	}
	return nil
}
