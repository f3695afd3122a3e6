// Package decode is Ghostline's completion engine: it turns a cursor in a
// document (prefix, suffix, cross-file context) into a fill-in-the-middle
// prompt for the model family, reuses the longest cached prefix of earlier
// prompts, and searches for a completion — greedy, sampling or beam search
// with a syntax constraint hook — that stops where an editor wants it to stop
// and is cleaned by post-filters before an editor shows it.
//
// The pieces, bottom-up:
//
//   - LM (lm.go) is the narrow view of the forward pass the engine drives: a
//     batched Forward over a KV cache addressed by sequence ids and
//     positions, as model.Model and model.KVCache provide. Tests drive the
//     engine with a pure-Go fake whose logits are a deterministic function
//     of the token history it reads back from its own cache, so a cache
//     bug changes the output.
//   - Special and Template (special.go, prompt.go) read the FIM and stop
//     tokens from GGUF metadata (falling back to token text) and lay out
//     PSM, SPM, repository-level and prefix-only prompts within a token
//     budget.
//   - PrefixCache (prefixcache.go) is a radix tree over the token sequences
//     whose keys and values the KV cache holds, with LRU eviction under a
//     memory budget: a request evaluates only the tokens after its longest
//     cached prefix. With Options.ReuseRun set, reuse.go also copies long
//     runs of a recent cached prompt that an edit moved to their new
//     positions, keys rotated (llama.cpp's cache reuse: an approximation,
//     off by default).
//   - Engine (engine.go) owns the model in one goroutine and batches the
//     decode steps of every active request — and every beam of each — into
//     one Forward call per step, admitting and retiring requests between
//     steps (continuous batching).
//   - Stop rules (stop.go) and post-filters (filter.go) decide where a
//     completion ends and what of it an editor should see.
//
// Cancellation and deadlines are kept apart, as gopls keeps its completion
// budget apart from the request context: a cancelled context makes Complete
// return the context's error within one engine step, while Limits.Deadline
// returns the best completion found so far with finish reason "deadline".
package decode
