package main

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// loadSpec is the shape of one run's load.
type loadSpec struct {
	calls int
	// concurrency bounds the calls in progress (closed loop: a call
	// starts when one ends). 0 with burst: all at once.
	concurrency int
	// burst starts every call at the same instant.
	burst bool
	// hold keeps every call at its first page until all calls are set
	// up (or failed); then all go on together.
	hold bool
	// setupConcurrency bounds the calls between connect and rxfax at once
	// (0: no bound).
	setupConcurrency int
	pageTime         time.Duration
	// checkpoints pause a closed loop after these many calls until they
	// have ended, and call onCheckpoint.
	checkpoints []int
}

// loadHooks are told about the run's moments; each may be nil.
type loadHooks struct {
	start        func()          // just before the first call starts
	allSetUp     func(held int)  // every call is set up (hold: before release)
	allClosed    func()          // the last call ended
	onCheckpoint func(calls int) // see loadSpec.checkpoints
}

// loadResult is what a run's calls measured.
type loadResult struct {
	stats             []callStat
	start             time.Time
	lastSetup         time.Time
	release           time.Time // hold: when the calls went on
	end               time.Time
	failed            int
	firstErr          error
	setupLat, tearLat []time.Duration // sorted
}

// runLoad places the calls of spec on gofaxd at addr.
func (s *script) runLoad(ctx context.Context, spec loadSpec, base callOptions, h loadHooks) *loadResult {
	res := &loadResult{stats: make([]callStat, spec.calls)}
	var (
		setups, ends atomic.Int64
		holdCh       chan struct{}
		setupSem     chan struct{}
		mu           sync.Mutex
	)
	if spec.hold {
		holdCh = make(chan struct{})
	}
	if spec.setupConcurrency > 0 {
		setupSem = make(chan struct{}, spec.setupConcurrency)
	}
	release := func() {
		mu.Lock()
		res.lastSetup = time.Now()
		mu.Unlock()
		if h.allSetUp != nil {
			h.allSetUp(spec.calls)
		}
		if holdCh != nil {
			mu.Lock()
			res.release = time.Now()
			mu.Unlock()
			close(holdCh)
		}
	}
	one := func(i int) {
		o := base
		o.hold = holdCh
		o.pageTime = spec.pageTime
		if setupSem != nil {
			select {
			case setupSem <- struct{}{}:
			case <-ctx.Done():
			}
		}
		o.setupDone = func() {
			if setupSem != nil {
				<-setupSem
			}
			if setups.Add(1) == int64(spec.calls) {
				// Not in this call's goroutine: it goes on answering
				// gofaxd while the others are looked at.
				go release()
			}
		}
		st := s.call(ctx, o)
		res.stats[i] = st
		if ends.Add(1) == int64(spec.calls) {
			mu.Lock()
			res.end = time.Now()
			mu.Unlock()
			if h.allClosed != nil {
				h.allClosed()
			}
		}
	}
	if h.start != nil {
		h.start()
	}
	res.start = time.Now()
	var wg sync.WaitGroup
	if spec.burst {
		gate := make(chan struct{})
		for i := range spec.calls {
			wg.Go(func() {
				<-gate
				one(i)
			})
		}
		res.start = time.Now()
		close(gate)
		wg.Wait()
	} else {
		next := 0
		segments := append(slices.Clone(spec.checkpoints), spec.calls)
		for _, upTo := range segments {
			upTo = min(upTo, spec.calls)
			work := make(chan int)
			var seg sync.WaitGroup
			for range max(spec.concurrency, 1) {
				seg.Go(func() {
					for i := range work {
						one(i)
					}
				})
			}
		feed:
			for ; next < upTo; next++ {
				select {
				case work <- next:
				case <-ctx.Done():
					break feed
				}
			}
			close(work)
			seg.Wait()
			if ctx.Err() != nil {
				break
			}
			if upTo < spec.calls && h.onCheckpoint != nil {
				h.onCheckpoint(upTo)
			}
		}
		// Calls never placed (cancelled) count as failed.
		for i := next; i < spec.calls; i++ {
			res.stats[i].err = ctx.Err()
		}
	}
	if res.end.IsZero() {
		res.end = time.Now()
	}
	for _, st := range res.stats {
		if st.err != nil || !st.teardownOK {
			res.failed++
			if res.firstErr == nil {
				res.firstErr = st.err
			}
		}
		if st.setupOK {
			res.setupLat = append(res.setupLat, st.setup.Sub(st.start))
		}
		if st.teardownOK {
			res.tearLat = append(res.tearLat, st.closed.Sub(st.result))
		}
	}
	slices.Sort(res.setupLat)
	slices.Sort(res.tearLat)
	return res
}

// pct returns the p-quantile (0..1) of sorted latencies, by the nearest
// rank; 0 without any.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
