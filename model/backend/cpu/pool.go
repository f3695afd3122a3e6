package cpu

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// pool is a set of persistent workers, one per thread beyond the caller's,
// each locked to its own OS thread, that share ops split into chunks.
//
// An op is published as one atomic ticket: generation (32 bits), chunk
// count (16) and next unclaimed chunk (16). Caller and workers claim chunks
// by compare-and-swap on the ticket, so a claim succeeds only for the op it
// was meant for, and the caller, which claims too, finishes an op alone
// when a worker is not running. That matters on a shared machine: with
// more runnable threads than cores, an op split in fixed halves waits for
// whichever thread the OS has descheduled (hundreds of µs measured with a
// load average of 12 on 2 cores); with claimed chunks the caller does that
// half itself.
//
// Workers spin for spinFor after each op, so the next op (a few µs later:
// a norm, a rope) finds them awake; past that they park on a channel, so an
// idle engine burns no CPU. BenchmarkDispatch compares this with a
// goroutine per op and a sync.WaitGroup.
type pool struct {
	ticket  atomic.Uint64
	done    atomic.Int32 // chunks of the current op finished
	closed  atomic.Bool
	job     *job
	workers []*worker
}

type worker struct {
	sleeping atomic.Bool
	wake     chan struct{} // buffered 1
}

// spinFor is how long a worker (or the caller waiting for the workers)
// polls before parking. Between two ops of one decode step the caller runs
// only cheap serial work (norms, rope, adds: a few µs); parking and a futex
// wake cost ~5–20 µs. 50 µs covers the gaps within a step with margin and
// bounds the CPU burnt when the engine goes idle.
const spinFor = 50 * time.Microsecond

func ticketGen(t uint64) uint32 { return uint32(t >> 32) }

func newPool(threads int, j *job) *pool {
	p := &pool{job: j}
	for i := 1; i < threads; i++ {
		w := &worker{wake: make(chan struct{}, 1)}
		p.workers = append(p.workers, w)
		go p.loop(i, w)
	}
	return p
}

// close stops the workers; run must not be called afterwards.
func (p *pool) close() {
	p.closed.Store(true)
	t := p.ticket.Load()
	p.ticket.Store(uint64(ticketGen(t)+1) << 32)
	p.wakeAll()
}

func (p *pool) wakeAll() {
	for _, w := range p.workers {
		if w.sleeping.Swap(false) {
			w.wake <- struct{}{}
		}
	}
}

func (p *pool) loop(id int, w *worker) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var last uint32
	for {
		last = p.await(last, w)
		if p.closed.Load() {
			return
		}
		p.work(id, last)
	}
}

// work claims and runs chunks of generation gen until none are left.
func (p *pool) work(id int, gen uint32) {
	for {
		t := p.ticket.Load()
		chunks, next := int(t>>16&0xffff), int(t&0xffff)
		if ticketGen(t) != gen || next >= chunks {
			return
		}
		if !p.ticket.CompareAndSwap(t, t+1) {
			continue
		}
		p.job.chunk(id, next, chunks)
		p.done.Add(1)
	}
}

// await returns the generation once it differs from last: spinning first,
// then parked.
func (p *pool) await(last uint32, w *worker) uint32 {
	if spinUntil(func() bool { return ticketGen(p.ticket.Load()) != last }) {
		return ticketGen(p.ticket.Load())
	}
	for {
		w.sleeping.Store(true)
		if g := ticketGen(p.ticket.Load()); g != last {
			// Published meanwhile: take back the sleeping flag; if the
			// publisher took it first, it sends a wake that must be
			// consumed.
			if !w.sleeping.Swap(false) {
				<-w.wake
			}
			return g
		}
		<-w.wake
		if g := ticketGen(p.ticket.Load()); g != last {
			return g
		}
	}
}

// spinUntil polls cond for up to spinFor (reading the clock every 256
// polls) and reports whether it became true.
func spinUntil(cond func() bool) bool {
	var start time.Time
	for i := 0; ; i++ {
		if cond() {
			return true
		}
		if i&255 == 255 {
			if start.IsZero() {
				start = time.Now()
			} else if time.Since(start) > spinFor {
				return false
			}
		}
	}
}

// maxChunks is what the ticket's 16-bit fields hold.
const maxChunks = 1<<16 - 1

// run executes p.job in chunks (≤ maxChunks) shared by the caller (id 0)
// and the workers, and returns when all chunks are done.
func (p *pool) run(chunks int) {
	p.done.Store(0)
	gen := ticketGen(p.ticket.Load()) + 1
	p.ticket.Store(uint64(gen)<<32 | uint64(chunks)<<16)
	p.wakeAll()
	p.work(0, gen)
	if spinUntil(func() bool { return int(p.done.Load()) == chunks }) {
		return
	}
	for int(p.done.Load()) != chunks {
		runtime.Gosched()
	}
}

// runSpawn is the plain alternative kept for BenchmarkDispatch: one
// goroutine per extra thread per op, each taking a fixed share of the
// chunks, and a sync.WaitGroup.
func runSpawn(j *job, threads, chunks int) {
	var wg sync.WaitGroup
	for id := 1; id < threads; id++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := id; c < chunks; c += threads {
				j.chunk(id, c, chunks)
			}
		}()
	}
	for c := 0; c < chunks; c += threads {
		j.chunk(0, c, chunks)
	}
	wg.Wait()
}
