package modem

import (
	"context"
	"sync"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

// Backoff for announcing to a faxq that is not reading: retry soon after a
// restart, but do not spin while faxq is stopped for hours.
const (
	minBackoff = 250 * time.Millisecond
	maxBackoff = 30 * time.Second
)

// fifoProbe bounds one attempt to reach a faxq that is away, and the last
// announcements when the pool closes: faxq reads its FIFO between
// scheduler runs, so a running one takes a message within this time; the
// backoff above does the waiting, and a stop does not wait for faxq.
const fifoProbe = 250 * time.Millisecond

// maxQueue bounds the records waiting for faxq. A burst of calls produces
// about eight records each; beyond this the queue is dropped and the whole
// state announced again, which loses only trigger records.
const maxQueue = 16384

// announcer owns all I/O towards faxq and the status files, in one
// goroutine, so records and status texts keep their order and no caller
// ever waits for faxq.
type announcer struct {
	pool    *Pool
	sender  Sender
	timeout time.Duration // Config.FIFOTimeout
	// ctx ends when the pool closes, cutting short a message that waits
	// for faxq.
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	queue    []hylafax.Message
	statuses map[string]string // modem → latest status text not yet written
	order    []string          // modems in statuses, in order of change
	absent   bool              // faxq did not read the last record
	resyncs  bool              // announce the whole state on the next flush
	backoff  time.Duration

	wake chan struct{}
	done chan struct{}
	exit chan struct{}
}

func startAnnouncer(p *Pool) *announcer {
	a := &announcer{
		pool:     p,
		sender:   p.cfg.Sender,
		timeout:  p.cfg.FIFOTimeout,
		statuses: make(map[string]string),
		backoff:  minBackoff,
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		exit:     make(chan struct{}),
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	go a.run()
	return a
}

func (a *announcer) poke() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// send queues a record for faxq. While faxq is away records are dropped:
// the state is announced as a whole once it reads again.
func (a *announcer) send(rec hylafax.Message) {
	a.mu.Lock()
	switch {
	case a.absent:
	case len(a.queue) >= maxQueue:
		a.queue = nil
		a.resyncs = true
	default:
		a.queue = append(a.queue, rec)
	}
	a.mu.Unlock()
	a.poke()
}

// status queues a new status text for a modem's status file.
func (a *announcer) status(name, text string) {
	a.mu.Lock()
	if _, ok := a.statuses[name]; !ok {
		a.order = append(a.order, name)
	}
	a.statuses[name] = text
	a.mu.Unlock()
	a.poke()
}

// resync is called when faxq greets a modem (HELLO): it is back, so stop
// dropping records.
func (a *announcer) resync() {
	a.mu.Lock()
	a.absent = false
	a.backoff = minBackoff
	a.mu.Unlock()
}

func (a *announcer) run() {
	defer close(a.exit)
	var retry *time.Timer
	var retryC <-chan time.Time
	for {
		select {
		case <-a.wake:
		case <-retryC:
			retryC = nil
		case <-a.done:
			a.flush()
			if retry != nil {
				retry.Stop()
			}
			return
		}
		if wait := a.flush(); wait > 0 && retryC == nil {
			retry = time.NewTimer(wait)
			retryC = retry.C
		}
	}
}

// flush writes pending status files and records. It returns how long to
// wait before trying faxq again, or 0 when nothing is left to retry.
func (a *announcer) flush() time.Duration {
	a.mu.Lock()
	queue, order, statuses := a.queue, a.order, a.statuses
	a.queue, a.order, a.statuses = nil, nil, make(map[string]string)
	full := a.resyncs || a.absent
	wasAbsent := a.absent
	// From here on, changes are queued again: they happen after the
	// snapshot below and are sent after it.
	a.resyncs, a.absent = false, false
	a.mu.Unlock()

	for _, name := range order {
		a.writeStatus(name, statuses[name])
	}
	if full {
		queue = a.pool.snapshot()
	}
	base, wait := a.ctx, a.timeout
	if wasAbsent {
		wait = fifoProbe
	}
	if a.ctx.Err() != nil { // the last flush
		base, wait = context.Background(), fifoProbe
	}
	for _, rec := range queue {
		ctx, cancel := context.WithTimeout(base, wait)
		err := a.sender.Send(ctx, rec)
		cancel()
		if err != nil {
			a.mu.Lock()
			defer a.mu.Unlock()
			if !wasAbsent {
				a.pool.log.Warn("faxq is not reading its FIFO; will announce the modems again when it does", "err", err)
			}
			a.absent = true
			a.queue = nil
			wait := a.backoff
			a.backoff = min(2*a.backoff, maxBackoff)
			return wait
		}
	}
	if wasAbsent {
		a.pool.log.Info("faxq reads its FIFO again; modems announced", "records", len(queue))
	}
	a.mu.Lock()
	a.backoff = minBackoff
	a.mu.Unlock()
	return 0
}

// writeStatus rewrites status/<modem> as faxgetty does.
func (a *announcer) writeStatus(name, text string) {
	ctx, cancel := context.WithTimeout(context.Background(), statusLockWait)
	defer cancel()
	if err := hylafax.WriteStatus(ctx, a.pool.cfg.Spool, name, text); err != nil {
		a.pool.log.Error("cannot write modem status file", "modem", name, "err", err)
	}
}

// statusLockWait bounds waiting for hfaxd's shared lock on a status file;
// hfaxd holds it for one read.
const statusLockWait = 5 * time.Second

// close stops the goroutine after a last attempt to flush.
func (a *announcer) close() error {
	a.cancel()
	close(a.done)
	<-a.exit
	return nil
}
