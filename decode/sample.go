package decode

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/ghostline-dev/ghostline/model/kernels"
)

// samplingPool caps how many of the most likely tokens sampling considers
// when top-k is off. The tokens past the 1,024th of a code model's
// distribution hold a negligible share of the probability at the
// temperatures an editor uses (≤ 1), and selecting 1,024 from 150K costs
// far less than sorting the vocabulary at every step.
const samplingPool = 1024

// logSumExp is log Σ exp(x) over logits, computed stably. It runs over
// the whole vocabulary at every step of every beam (151,936 logits for
// Qwen2.5-Coder): the CPU's vector kernel takes ~0.1 ms there; without one,
// the loop below, where math.Exp cost ~1.5 ms a step; expNeg is an
// approximation (relative error below 1e-6) that costs a fraction of it,
// and terms more than 80 nats below the maximum (under 1e-34 of it) are
// skipped.
func logSumExp(logits []float32) float64 {
	if v, ok := kernels.LogSumExp(logits); ok {
		return v
	}
	mx := float32(math.Inf(-1))
	for _, v := range logits {
		mx = max(mx, v)
	}
	if math.IsInf(float64(mx), -1) {
		return math.Inf(-1)
	}
	var s float32
	for _, v := range logits {
		if d := v - mx; d > -80 {
			s += expNeg(d)
		}
	}
	return float64(mx) + math.Log(float64(s))
}

// expNeg is e^x for x in (-87, 0]: x·log2(e) split into an integer
// exponent and a fraction f in [0, 1), 2^f by a degree-9 polynomial (the
// Taylor series of 2^f, whose truncation error at f = 1 is 7e-9), scaled by
// the exponent through the float's bits.
func expNeg(x float32) float32 {
	t := float64(x) * 1.4426950408889634
	i := int32(t) // truncates toward zero: up, for t ≤ 0
	if float64(i) > t {
		i--
	}
	f := float32(t - float64(i))
	p := 1 + f*(0.6931471805599453+f*(0.2402265069591007+f*(0.05550410866482158+
		f*(0.009618129107628477+f*(0.0013333558146428441+f*(0.00015403530393381606+
			f*(1.5252733804059838e-05+f*(1.3215486790144305e-06+f*1.0178086009239696e-07))))))))
	return p * math.Float32frombits(uint32(i+127)<<23)
}

// topK returns the indices of the k largest logits, largest first (ties by
// lower id first, so results are deterministic).
func topK(logits []float32, k int) []int32 {
	k = min(k, len(logits))
	if k <= 0 {
		return nil
	}
	// A min-heap of the k best seen so far.
	h := make([]int32, 0, k)
	less := func(a, b int32) bool { // a is worse than b
		if logits[a] != logits[b] {
			return logits[a] < logits[b]
		}
		return a > b
	}
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(h) {
				return
			}
			m := l
			if r := l + 1; r < len(h) && less(h[r], h[l]) {
				m = r
			}
			if !less(h[m], h[i]) {
				return
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
	}
	for i := range logits {
		id := int32(i)
		if len(h) < k {
			h = append(h, id)
			for j := len(h) - 1; j > 0; {
				p := (j - 1) / 2
				if !less(h[j], h[p]) {
					break
				}
				h[j], h[p] = h[p], h[j]
				j = p
			}
			continue
		}
		// Most of a vocabulary is below the k-th best so far, and one
		// compare rejects it: ids come in rising order, so a tie with the
		// worst kept loses, as less would have it.
		if logits[i] <= logits[h[0]] {
			continue
		}
		h[0] = id
		down(0)
	}
	slices.SortFunc(h, func(a, b int32) int {
		if less(a, b) {
			return 1
		}
		if less(b, a) {
			return -1
		}
		return 0
	})
	return h
}

// sampleOrder returns candidate next tokens in the order the search should
// try them: for greedy decoding the n most likely; for sampling, the
// sampled token first, then the rest of the filtered pool by likelihood
// (fallbacks when a constraint rejects the first choice).
func sampleOrder(logits []float32, s Sampling, rng *rand.Rand, n int) []int32 {
	if s.Greedy() {
		return topK(logits, n)
	}
	pool := samplingPool
	if s.TopK > 0 {
		pool = min(pool, s.TopK)
	}
	cand := topK(logits, pool)
	// Probabilities at the temperature, over the pool.
	t := float32(s.Temperature)
	p := make([]float64, len(cand))
	mx := logits[cand[0]]
	var sum float64
	for i, id := range cand {
		p[i] = math.Exp(float64((logits[id] - mx) / t))
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	keep := len(cand)
	if s.MinP > 0 {
		for i := range p {
			if p[i] < s.MinP*p[0] {
				keep = i
				break
			}
		}
	}
	if s.TopP > 0 && s.TopP < 1 {
		var c float64
		for i := 0; i < keep; i++ {
			c += p[i]
			if c >= s.TopP {
				keep = i + 1
				break
			}
		}
	}
	keep = max(keep, 1)
	var tot float64
	for i := 0; i < keep; i++ {
		tot += p[i]
	}
	r := rng.Float64() * tot
	pick := keep - 1
	for i := 0; i < keep; i++ {
		r -= p[i]
		if r < 0 {
			pick = i
			break
		}
	}
	out := make([]int32, 0, min(n, keep))
	out = append(out, cand[pick])
	for i := 0; i < keep && len(out) < n; i++ {
		if i != pick {
			out = append(out, cand[i])
		}
	}
	return out
}
