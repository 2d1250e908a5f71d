package faxrcvd

import (
	"runtime/metrics"
	"sync"
	"time"
)

// SchedWatch tells whether this process's goroutines wait for the CPU:
// whether more than a tenth of those made runnable since the last look
// waited schedSlow or longer before they ran (the Go runtime's
// /sched/latencies:seconds). It looks at most every schedLook.
type SchedWatch struct {
	mu     sync.Mutex
	sample []metrics.Sample
	prev   []uint64
	last   time.Time
	busy   bool
}

const (
	schedSlow = time.Millisecond
	schedLook = 10 * time.Millisecond
)

// Busy reports whether goroutines waited for the CPU lately.
func (w *SchedWatch) Busy() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if now := time.Now(); now.Sub(w.last) >= schedLook {
		w.last = now
		w.busy = w.look()
	}
	return w.busy
}

// look reads the histogram and compares it with the previous reading.
func (w *SchedWatch) look() bool {
	if w.sample == nil {
		w.sample = []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	}
	metrics.Read(w.sample)
	if w.sample[0].Value.Kind() != metrics.KindFloat64Histogram {
		return false
	}
	h := w.sample[0].Value.Float64Histogram()
	var all, slow uint64
	for i, n := range h.Counts {
		if i < len(w.prev) {
			n -= w.prev[i]
		}
		all += n
		if h.Buckets[i] >= schedSlow.Seconds() {
			slow += n
		}
	}
	w.prev = append(w.prev[:0], h.Counts...)
	return slow*10 > all
}
