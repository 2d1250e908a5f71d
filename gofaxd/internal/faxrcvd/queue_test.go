package faxrcvd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/journal"
)

var errStopped = errors.New("stopped")

// blocking is a Run whose runs wait until released or killed.
type blocking struct {
	mu      sync.Mutex
	running int
	peak    int
	started []string
	acked   []string
	release chan struct{}
}

func (b *blocking) run(ctx context.Context, rec journal.Record) error {
	b.mu.Lock()
	b.running++
	b.peak = max(b.peak, b.running)
	b.started = append(b.started, rec.ID)
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.running--
		b.mu.Unlock()
	}()
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %v", errStopped, ctx.Err())
	}
}

func (b *blocking) ack(id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.acked = append(b.acked, id)
	return nil
}

func (b *blocking) snapshot() (started, acked []string, running int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.started), slices.Clone(b.acked), b.running
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// closeAtEnd closes q when the test ends; a failed test's blocked runs
// are killed instead of waited for.
func closeAtEnd(t *testing.T, q *Queue) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		q.Close(ctx)
	})
}

func record(id string) journal.Record {
	return journal.Record{ID: id, Kind: "recv.done", Data: []byte(`{}`)}
}

// TestQueueBounded: at most Workers runs at once, in the order queued,
// each once; finished runs are acknowledged.
func TestQueueBounded(t *testing.T) {
	b := &blocking{release: make(chan struct{})}
	q := New(Config{Workers: 2, Run: b.run, Interrupted: errStopped, Ack: b.ack})
	for i := range 5 {
		q.Enqueue(record(fmt.Sprint(i)))
	}
	q.Enqueue(record("0")) // already queued
	waitFor(t, "two runs", func() bool { _, _, n := b.snapshot(); return n == 2 })
	if w, r := q.Len(); w != 3 || r != 2 {
		t.Errorf("Len = %d waiting, %d running; want 3, 2", w, r)
	}
	close(b.release)
	waitFor(t, "all acknowledged", func() bool { _, a, _ := b.snapshot(); return len(a) == 5 })
	q.Close(context.Background())
	started, acked, _ := b.snapshot()
	slices.Sort(acked)
	// The first two are taken in order, but the two workers may start
	// them in either order.
	first := slices.Sorted(slices.Values(started[:min(2, len(started))]))
	if b.peak != 2 || !slices.Equal(first, []string{"0", "1"}) || len(started) != 5 ||
		!slices.Equal(acked, []string{"0", "1", "2", "3", "4"}) {
		t.Errorf("peak %d, started %q, acked %q", b.peak, started, acked)
	}
}

// TestQueueCloseKills: Close waits for running runs until its deadline,
// then kills them; killed and unstarted runs are not acknowledged (they
// run again at the next start), and nothing is taken after Close.
func TestQueueCloseKills(t *testing.T) {
	b := &blocking{release: make(chan struct{})}
	q := New(Config{Workers: 1, Run: b.run, Interrupted: errStopped, Ack: b.ack})
	q.Enqueue(record("hangs"))
	q.Enqueue(record("waits"))
	waitFor(t, "the first run", func() bool { _, _, n := b.snapshot(); return n == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	q.Close(ctx)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	q.Enqueue(record("late"))
	started, acked, running := b.snapshot()
	if running != 0 || !slices.Equal(started, []string{"hangs"}) || len(acked) != 0 {
		t.Errorf("after Close: running %d, started %q, acked %q", running, started, acked)
	}
}

// TestQueueDefersWhileBusy: while calls wait for the CPU, one run goes
// on and the others wait; when they no longer do, the others start.
func TestQueueDefersWhileBusy(t *testing.T) {
	b := &blocking{release: make(chan struct{})}
	var busy atomic.Bool // turned off below
	busy.Store(true)
	q := New(Config{Workers: 3, Run: b.run, Interrupted: errStopped, Ack: b.ack, Busy: busy.Load, Defer: time.Hour})
	closeAtEnd(t, q)
	for i := range 3 {
		q.Enqueue(record(fmt.Sprint(i)))
	}
	waitFor(t, "the first run", func() bool { _, _, n := b.snapshot(); return n == 1 })
	time.Sleep(10 * deferPoll) // the others look again, and wait on
	if started, _, n := b.snapshot(); n != 1 || len(started) != 1 {
		t.Fatalf("while busy: %d running, started %q; want only the first", n, started)
	}
	busy.Store(false)
	waitFor(t, "all three runs", func() bool { _, _, n := b.snapshot(); return n == 3 })
	close(b.release)
	waitFor(t, "all acknowledged", func() bool { _, a, _ := b.snapshot(); return len(a) == 3 })
}

// TestQueueDeferBounded: however long calls wait for the CPU, the n-th
// of Workers runs starts once the oldest queued run waited (n-1)/(Workers-1)
// of Defer, all of them after Defer.
func TestQueueDeferBounded(t *testing.T) {
	const wait = 300 * time.Millisecond
	b := &blocking{release: make(chan struct{})}
	q := New(Config{Workers: 3, Run: b.run, Interrupted: errStopped, Ack: b.ack, Busy: func() bool { return true }, Defer: wait})
	closeAtEnd(t, q)
	queued := time.Now()
	for i := range 3 {
		q.Enqueue(record(fmt.Sprint(i)))
	}
	waitFor(t, "the first run", func() bool { _, _, n := b.snapshot(); return n == 1 })
	waitFor(t, "a second run", func() bool { _, _, n := b.snapshot(); return n == 2 })
	if d := time.Since(queued); d < wait/2 {
		t.Errorf("second run after %v; want at least %v", d, wait/2)
	}
	waitFor(t, "the third run", func() bool { _, _, n := b.snapshot(); return n == 3 })
	if d := time.Since(queued); d < wait {
		t.Errorf("third run after %v; want at least %v", d, wait)
	}
	close(b.release)
	waitFor(t, "all acknowledged", func() bool { _, a, _ := b.snapshot(); return len(a) == 3 })
}

// TestQueueCloseWhileDeferring: Close does not start a deferred run; it
// stays pending (not acknowledged), as the killed one does.
func TestQueueCloseWhileDeferring(t *testing.T) {
	b := &blocking{release: make(chan struct{})}
	q := New(Config{Workers: 2, Run: b.run, Interrupted: errStopped, Ack: b.ack, Busy: func() bool { return true }, Defer: time.Hour})
	q.Enqueue(record("runs"))
	q.Enqueue(record("deferred"))
	waitFor(t, "the first run", func() bool { _, _, n := b.snapshot(); return n == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	q.Close(ctx)
	started, acked, running := b.snapshot()
	if running != 0 || !slices.Equal(started, []string{"runs"}) || len(acked) != 0 {
		t.Errorf("after Close: running %d, started %q, acked %q; want only the first, killed", running, started, acked)
	}
}
