// Package faxrcvd runs faxrcvd for received faxes outside their calls:
// from a queue with its own bounded number of runs at once, fed by the
// calls and, at start, by the journal's pending recv.done records, so a
// run that did not happen (or was cut short by a stop) is not lost. A
// slow or hanging faxrcvd delays the runs behind it, never a call; while
// calls wait for the CPU, runs beyond the first wait a little too.
package faxrcvd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/journal"
)

// Config configures a Queue.
type Config struct {
	// Workers is how many runs may go on at once ([gofaxd]
	// faxrcvdconcurrency; at least 1).
	Workers int
	// Run runs faxrcvd for one record. An error wrapping Interrupted
	// leaves the record pending (it runs again at the next start); any
	// other return acknowledges it.
	Run func(ctx context.Context, rec journal.Record) error
	// Interrupted is the error Run returns when ctx ended the run.
	Interrupted error
	// Ack acknowledges a record that was dealt with (nil: nothing).
	Ack func(id string) error
	// Busy reports whether calls wait for the CPU now (nil: never).
	// While they do, one run goes on and the others wait for the oldest
	// queued run to age: all Workers run once it waited Defer. A caller
	// is on the line, faxrcvd's recipient is not.
	Busy func() bool
	// Defer is how long the oldest queued run waits at most while Busy
	// (0: runs never wait).
	Defer time.Duration
	Log   *slog.Logger
}

// deferPoll is how often a run waiting while Busy looks again.
const deferPoll = 20 * time.Millisecond

// queued is a record waiting to run.
type queued struct {
	rec journal.Record
	at  time.Time // when it was queued
}

// Queue runs faxrcvd for records in the order they come, Workers at a
// time. Create it with New and stop it with Close.
type Queue struct {
	cfg    Config
	ctx    context.Context // ends when running runs are to be killed
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	wake    *sync.Cond
	list    []queued
	known   map[string]bool // queued or running
	running int
	workers int
	closing bool
}

// New starts the queue's workers.
func New(cfg Config) *Queue {
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	q := &Queue{cfg: cfg, known: map[string]bool{}}
	q.wake = sync.NewCond(&q.mu)
	q.ctx, q.cancel = context.WithCancel(context.Background())
	q.workers = cfg.Workers
	for range cfg.Workers {
		q.wg.Go(q.work)
	}
	return q
}

// Enqueue adds a record to run. A record already queued or running is
// not added again; after Close nothing is added (the record stays
// pending in the journal for the next start).
func (q *Queue) Enqueue(rec journal.Record) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closing || q.known[rec.ID] {
		return
	}
	q.known[rec.ID] = true
	q.list = append(q.list, queued{rec: rec, at: time.Now()})
	q.wake.Signal()
}

// Alive reports whether every worker runs (nil until Close). It blocks
// while the queue's lock is held: a caller bounds it.
func (q *Queue) Alive() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if n := q.workers; n != q.cfg.Workers && !q.closing {
		return fmt.Errorf("faxrcvd: %d of %d workers run", n, q.cfg.Workers)
	}
	return nil
}

// Len returns how many runs are waiting and running.
func (q *Queue) Len() (waiting, running int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.list), q.running
}

func (q *Queue) work() {
	defer func() {
		q.mu.Lock()
		q.workers--
		q.mu.Unlock()
	}()
	for {
		q.mu.Lock()
		for len(q.list) == 0 && !q.closing {
			q.wake.Wait()
		}
		if q.closing {
			q.mu.Unlock()
			return
		}
		if wait := q.deferral(); wait > 0 {
			q.mu.Unlock()
			time.Sleep(wait)
			continue
		}
		rec := q.list[0].rec
		q.list[0] = queued{}
		q.list = q.list[1:]
		q.running++
		q.mu.Unlock()

		err := q.cfg.Run(q.ctx, rec)
		if q.cfg.Interrupted == nil || !errors.Is(err, q.cfg.Interrupted) {
			if q.cfg.Ack != nil {
				if aerr := q.cfg.Ack(rec.ID); aerr != nil {
					q.cfg.Log.Error("faxrcvd run not acknowledged in the journal: it runs again at the next start", "err", aerr, "record", rec.ID)
				}
			}
		}

		q.mu.Lock()
		q.running--
		delete(q.known, rec.ID)
		q.mu.Unlock()
	}
}

// deferral returns how long the first queued run is to wait before it
// looks again, 0 when it may start. While calls wait for the CPU, runs
// beyond the first start as the oldest queued one ages: all Workers may
// run once it waited Defer. One always may, so that runs never stop.
// q.mu is held.
func (q *Queue) deferral() time.Duration {
	if q.running == 0 || q.cfg.Busy == nil || q.cfg.Defer <= 0 {
		return 0
	}
	age := time.Since(q.list[0].at)
	allowed := 1 + int(int64(q.cfg.Workers-1)*int64(age)/int64(q.cfg.Defer))
	if q.running < allowed || !q.cfg.Busy() {
		return 0
	}
	return deferPoll
}

// Close stops starting runs and waits for the running ones until ctx
// ends; then they are killed (Run's ctx ends). Runs not started or
// killed stay pending in the journal and run again at the next start.
func (q *Queue) Close(ctx context.Context) {
	q.mu.Lock()
	q.closing = true
	left := len(q.list)
	q.list = nil
	q.wake.Broadcast()
	q.mu.Unlock()
	if left > 0 {
		q.cfg.Log.Warn("gofaxd is stopping: faxrcvd runs not started run at the next start", "runs", left)
	}
	done := make(chan struct{})
	go func() {
		q.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		q.cancel()
		<-done
	}
	q.cancel()
}
