package hfaxd

import (
	"context"
	"sync"
	"time"
)

// Pool defaults.
const (
	// DefaultPoolSize bounds the sessions of a Pool: each is an hfaxd
	// process, and faxq serialises the submissions anyway.
	DefaultPoolSize = 4
	// DefaultIdleTimeout closes sessions unused this long, well before
	// hfaxd's own idle timeout (IdleTimeout, 900 s by default) ends them.
	DefaultIdleTimeout = time.Minute
	// checkAfter is how long a session may have been idle before it is
	// checked with NOOP when taken from the pool: hfaxd may have ended
	// it meanwhile (its idle timeout, a restart).
	checkAfter = 5 * time.Second
)

// Pool keeps up to Size logged-in sessions for concurrent use. A session
// that breaks (see Conn) is closed and replaced; idle sessions are closed
// after IdleTimeout.
type Pool struct {
	cfg        Config
	size       int
	idle       time.Duration
	checkAfter time.Duration

	slots  chan struct{} // one token per session in use
	mu     sync.Mutex
	free   []*pooled // idle sessions, the most recently used last
	done   chan struct{}
	wg     sync.WaitGroup
	closed bool
}

type pooled struct {
	c     *Conn
	since time.Time
}

// NewPool returns a pool of at most size sessions (DefaultPoolSize when
// 0) logged in with cfg, closing sessions idle for idle
// (DefaultIdleTimeout when 0). Close stops it.
func NewPool(cfg Config, size int, idle time.Duration) *Pool {
	if size <= 0 {
		size = DefaultPoolSize
	}
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	p := &Pool{cfg: cfg, size: size, idle: idle, checkAfter: checkAfter,
		slots: make(chan struct{}, size), done: make(chan struct{})}
	p.wg.Add(1)
	go p.reap()
	return p
}

// Do runs fn with a session, waiting while all sessions are in use. The
// session goes back to the pool unless it broke. fn must not keep it.
func (p *Pool) Do(ctx context.Context, fn func(*Conn) error) error {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-p.done:
		return ErrClosed
	}
	defer func() { <-p.slots }()
	c, err := p.get(ctx)
	if err != nil {
		return err
	}
	err = fn(c)
	p.put(c)
	return err
}

// get returns an idle session that still works, or a new one.
func (p *Pool) get(ctx context.Context) (*Conn, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, ErrClosed
		}
		var pc *pooled
		if n := len(p.free); n > 0 {
			pc = p.free[n-1]
			p.free = p.free[:n-1]
		}
		p.mu.Unlock()
		if pc == nil {
			return Dial(ctx, p.cfg)
		}
		if time.Since(pc.since) < p.checkAfter {
			return pc.c, nil
		}
		if err := pc.c.expect(ctx, command{"NOOP", "NOOP"}, 200); err == nil {
			return pc.c, nil
		}
		pc.c.Close()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// put returns c to the pool, or closes it when it broke or the pool is
// closed.
func (p *Pool) put(c *Conn) {
	p.mu.Lock()
	if c.broken == nil && !p.closed {
		p.free = append(p.free, &pooled{c: c, since: time.Now()})
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	c.Close()
}

// reap closes idle sessions older than the idle timeout until Close.
func (p *Pool) reap() {
	defer p.wg.Done()
	tick := time.NewTicker(p.idle / 2)
	defer tick.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-tick.C:
		}
		var old []*pooled
		p.mu.Lock()
		keep := p.free[:0]
		for _, pc := range p.free {
			if time.Since(pc.since) >= p.idle {
				old = append(old, pc)
			} else {
				keep = append(keep, pc)
			}
		}
		clear(p.free[len(keep):])
		p.free = keep
		p.mu.Unlock()
		for _, pc := range old {
			pc.c.Close()
		}
	}
}

// Idle returns the number of idle sessions.
func (p *Pool) Idle() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.free)
}

// Close closes the idle sessions and stops the pool; sessions in use are
// closed when their Do returns. Later calls of Do return ErrClosed.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	free := p.free
	p.free = nil
	close(p.done)
	p.mu.Unlock()
	p.wg.Wait()
	for _, pc := range free {
		pc.c.Close()
	}
	return nil
}
