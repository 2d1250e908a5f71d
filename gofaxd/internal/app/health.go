package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/metrics"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

// probeEvery is how long the result of a check that touches the world
// (FreeSWITCH's event socket, a file written in the spool) is reused: a
// busy scraper does not turn into load.
const probeEvery = 5 * time.Second

// probeTimeout bounds one such check.
const probeTimeout = 3 * time.Second

// health answers /healthz.
type health struct {
	a     *App
	spool string

	serving atomic.Bool // the listener's Serve runs
	bgLive  atomic.Int32

	mu       sync.Mutex
	probes   map[string]*probe
	stopping atomic.Bool
}

// probe is a cached check.
type probe struct {
	at  time.Time
	err error
}

func newHealth(a *App, spool string) *health {
	return &health{a: a, spool: spool, probes: map[string]*probe{}}
}

// cached runs check at most every probeEvery.
func (h *health) cached(ctx context.Context, name string, check func(context.Context) error) error {
	h.mu.Lock()
	p := h.probes[name]
	if p != nil && time.Since(p.at) < probeEvery {
		h.mu.Unlock()
		return p.err
	}
	h.mu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, probeTimeout)
	err := check(cctx)
	cancel()
	h.mu.Lock()
	h.probes[name] = &probe{at: time.Now(), err: err}
	h.mu.Unlock()
	return err
}

func check(own bool, err error) metrics.Check {
	if err != nil {
		return metrics.Check{Status: metrics.StatusFail, Own: own, Detail: err.Error()}
	}
	return metrics.Check{Status: metrics.StatusOK, Own: own}
}

// report checks gofaxd's own parts (each fails /healthz with 503) and its
// dependencies (reported, 200).
func (h *health) report(ctx context.Context) metrics.Health {
	a := h.a
	cs := map[string]metrics.Check{}
	// Own: taking calls.
	var listener error
	switch {
	case h.stopping.Load():
		listener = errors.New("gofaxd is stopping")
	case !h.serving.Load():
		listener = errors.New("the event socket listener is not serving")
	}
	cs["listener"] = check(true, listener)
	cs["loops"] = check(true, a.Alive(ctx))
	cs["spool"] = check(true, h.cached(ctx, "spool", h.spoolWritable))
	cs["journal"] = check(true, a.journal.Err())
	// Dependencies.
	var faxq error
	if !a.pool.FaxqReading() {
		faxq = errors.New("faxq does not read its FIFO: jobs are not sent, modem states reach it when it is back")
	}
	cs["faxq"] = check(false, faxq)
	cs["freeswitch"] = check(false, h.cached(ctx, "freeswitch", h.freeswitch))
	var recv error
	if n, why, _ := a.handler.Unfinished(); n > 0 {
		recv = fmt.Errorf("%d receptions wait until FreeSWITCH confirms that their call ended: %s", n, why)
	}
	cs["receptions"] = check(false, recv)
	if a.tenancy != nil {
		cs["database"] = check(false, a.tenancy.Health())
		cs["receipts"] = check(false, a.receipts.Health())
	}
	return metrics.Health{Checks: cs}
}

// spoolWritable creates and removes a file in recvq/ and log/, where
// every reception writes. hfaxd lists only recvq files named fax*.
func (h *health) spoolWritable(context.Context) error {
	for _, d := range []string{"recvq", "log"} {
		path := filepath.Join(h.spool, d, ".gofaxd-health-"+strconv.Itoa(os.Getpid()))
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return fmt.Errorf("%s/ is not writable: %w", d, err)
		}
		f.Close()
		os.Remove(path)
	}
	return nil
}

// freeswitch connects and authenticates to FreeSWITCH's inbound event
// socket, which gofaxsend and gofaxd's recovery use.
func (h *health) freeswitch(ctx context.Context) error {
	c, err := esl.Dial(ctx, h.a.cfg.FreeSWITCH.Socket, h.a.cfg.FreeSWITCH.Password)
	if err != nil {
		return fmt.Errorf("event socket %s: %w", h.a.cfg.FreeSWITCH.Socket, err)
	}
	c.Close()
	return nil
}

// aliveWait bounds Alive when its caller gives no deadline.
const aliveWait = 5 * time.Second

// Alive reports whether gofaxd's own loops run and answer: the event
// socket listener, the modem pool's FIFO readers and faxq announcer, the
// Recovery and journal upkeep, the faxrcvd queue and the journal. It says
// nothing about faxq or FreeSWITCH: the systemd watchdog follows it, and
// restarting gofaxd would not bring them back but kill receptions.
func (a *App) Alive(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, aliveWait)
		defer cancel()
	}
	done := make(chan error, 1)
	go func() {
		var errs []error
		if !a.health.serving.Load() && !a.health.stopping.Load() {
			errs = append(errs, errors.New("the event socket listener ended"))
		}
		if n := a.health.bgLive.Load(); n != 2 && !a.health.stopping.Load() {
			errs = append(errs, fmt.Errorf("%d of 2 background loops run", n))
		}
		errs = append(errs, a.pool.Alive(), a.queue.Alive())
		if a.tenancy != nil {
			errs = append(errs, a.tenancy.Alive(), a.receipts.Alive())
		}
		a.journal.Stats() // its lock is not stuck
		done <- errors.Join(errs...)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("gofaxd's loops do not answer: %w", ctx.Err())
	}
}
