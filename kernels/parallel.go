package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// spinFor is how long an idle worker polls for the next job before parking. Waking a parked goroutine's
// thread costs 5-20 µs on a virtual machine, as long as a whole 576×576 GEMV; a forward pass issues
// kernels back to back, so a short spin keeps the workers hot without burning a core between passes.
const spinFor = 100 * time.Microsecond

// job is one Parallel call: parts ranges claimed by whoever comes first (the caller or a worker).
type job struct {
	fn       func(lo, hi int)
	n, parts int
	next     atomic.Int64 // next part to claim
	done     atomic.Int64 // parts finished
}

// run claims and runs parts until none is left.
func (j *job) run() {
	for {
		i := int(j.next.Add(1)) - 1
		if i >= j.parts {
			return
		}
		j.fn(i*j.n/j.parts, (i+1)*j.n/j.parts)
		j.done.Add(1)
	}
}

// worker is one pool goroutine. A job is handed over in an atomic slot that the worker polls:
// on the 2-core KVM guest a channel send to a worker spinning on a non-blocking receive took
// 600-700 ns to be seen (median; a spinning channel round trip 2.8 µs, an atomic one 180 ns),
// so part 1 of a 2 µs product often started after the caller had run it itself.
// BenchmarkParallelDispatch, two parts of 2 µs: 3.42-3.46 µs with the channel, 3.03-3.04 with
// the slot.
type worker struct {
	slot   atomic.Pointer[job] // the latest job handed to this worker (nil: none pending)
	parked atomic.Bool         // the worker is blocked on wake, or about to be
	wake   chan struct{}       // capacity 1: a token unparks the worker
}

var (
	workersMu sync.Mutex
	workers   atomic.Pointer[[]*worker]
)

// ensureWorkers starts worker goroutines until there are at least k and returns them.
func ensureWorkers(k int) []*worker {
	if ws := workers.Load(); ws != nil && len(*ws) >= k {
		return *ws
	}
	workersMu.Lock()
	defer workersMu.Unlock()
	var ws []*worker
	if p := workers.Load(); p != nil {
		ws = *p
	}
	for len(ws) < k {
		w := &worker{wake: make(chan struct{}, 1)}
		go w.loop()
		ws = append(ws, w)
	}
	workers.Store(&ws)
	return ws
}

// hand gives j to w, replacing any job w has not taken yet (that job's caller runs the parts
// nobody claims), and unparks w if it sleeps.
func (w *worker) hand(j *job) {
	w.slot.Store(j)
	if w.parked.Load() {
		select {
		case w.wake <- struct{}{}:
		default: // a token is already pending
		}
	}
}

func (w *worker) loop() {
	start := time.Now()
	for spins := 0; ; spins++ {
		if j := w.slot.Swap(nil); j != nil {
			j.run()
			start, spins = time.Now(), 0
			continue
		}
		if spins%64 != 63 || time.Since(start) < spinFor {
			continue
		}
		// Park. Announce it before the last look at the slot: a hand that stores after that look
		// sees parked and sends a token (the atomics are sequentially consistent), so no job waits
		// on a sleeping worker. A stale token only costs one more round of polling.
		w.parked.Store(true)
		if j := w.slot.Swap(nil); j != nil {
			w.parked.Store(false)
			j.run()
		} else {
			<-w.wake
			w.parked.Store(false)
		}
		start, spins = time.Now(), 0
	}
}

// Parallel calls fn(lo, hi) on disjoint ranges covering [0, n), at most GOMAXPROCS of them at once, and
// returns when all calls have returned. Range i is [i·n/p, (i+1)·n/p) with p = min(GOMAXPROCS, n). The
// calling goroutine runs ranges too, and any range no worker has claimed yet, so nested calls cannot
// deadlock. With n < 2 or GOMAXPROCS 1 it calls fn(0, n) on the calling goroutine (nothing for n <= 0).
// fn must not panic.
func Parallel(n int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	p := min(runtime.GOMAXPROCS(0), n)
	if p <= 1 {
		fn(0, n)
		return
	}
	dispatch(&job{fn: fn, n: n, parts: p}, p)
}

// dispatch hands j to p−1 workers, runs parts on the calling goroutine too, and returns once
// every part has returned.
func dispatch(j *job, p int) {
	for _, w := range ensureWorkers(p - 1)[:p-1] {
		w.hand(j)
	}
	j.run()
	// The other parts are claimed and running: poll, yielding now and then (for a worker whose
	// thread the OS has descheduled, with GOMAXPROCS above the cores).
	for spins := 1; j.done.Load() < int64(j.parts); spins++ {
		if spins%(1<<14) == 0 {
			runtime.Gosched()
		}
	}
}

// ParallelEach calls fn(i) once for every i in [0, n), at most GOMAXPROCS calls at once, and returns
// when all have returned. Unlike Parallel's fixed ranges, each index is claimed by whichever
// goroutine is free next, so tasks of unequal cost balance when given longest first (the attention
// of a causal prompt cut into row chunks, sequences of different lengths). fn must not panic.
func ParallelEach(n int, fn func(i int)) {
	if n <= 0 {
		return
	}
	p := min(runtime.GOMAXPROCS(0), n)
	if p <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	dispatch(&job{fn: func(lo, _ int) { fn(lo) }, n: n, parts: n}, p)
}

// parallelRows splits [0, rows) into ranges whose starts are multiples of block and calls fn on each,
// on the calling goroutine alone when the work (multiply-adds) is under minParallelMACs.
func parallelRows(rows, block, work int, fn func(lo, hi int)) {
	if rows <= 0 {
		return
	}
	blocks := (rows + block - 1) / block
	if work < minParallelMACs || blocks < 2 {
		fn(0, rows)
		return
	}
	Parallel(blocks, func(lo, hi int) {
		fn(lo*block, min(hi*block, rows))
	})
}

// Warm keeps every worker of the pool busy for about d (GOMAXPROCS parts of 20 µs, back to back),
// so that each runs on a core of its own, up to speed, before a benchmark times anything. In 7 of
// 20 fresh processes on the 2-core VM, the first 0.2-0.4 s of back-to-back 576×576 f32 GEMVs took
// 8.5-9.7 µs each instead of 4.9-5.1 (one core's speed: the worker's half ran late); after
// Warm(300 ms), 0 of 20 did.
func Warm(d time.Duration) {
	p := runtime.GOMAXPROCS(0)
	for t0 := time.Now(); time.Since(t0) < d; {
		Parallel(p, func(lo, hi int) {
			for t1 := time.Now(); time.Since(t1) < 20*time.Microsecond; {
			}
		})
	}
}
