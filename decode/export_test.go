package decode

// Hooks for the external tests (package decode_test, which can import
// decodetest). Call them only while no request is in flight.

func CheckCache(e *Engine, holds func(SeqID) int) error { return e.cache.check(holds) }

func FreeSeqs(e *Engine) int { return len(e.free) }

func CheckPrefixCache(c *PrefixCache, holds func(SeqID) int) error { return c.check(holds) }
