package hfaxd

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// poolServer is a fake hfaxd for pool tests: every connection logs in
// and answers NOOP with 200, "JOB 666" with garbage (breaking the
// session) and QUIT; it counts connections and QUITs.
type poolServer struct {
	addr         string
	conns, quits atomic.Int32
	active, peak atomic.Int32
	noopReply    atomic.Value // string
}

func newPoolServer(t *testing.T) *poolServer {
	s := &poolServer{}
	s.noopReply.Store("200 NOOP command successful.\r\n")
	s.addr = fakeServer(t, 0, func(p *peer) {
		s.conns.Add(1)
		if !p.login(false) {
			return
		}
		for {
			l, ok := p.readLine()
			if !ok {
				return
			}
			switch l {
			case "NOOP":
				p.send(s.noopReply.Load().(string))
			case "JOB 1":
				n := s.active.Add(1)
				for {
					old := s.peak.Load()
					if n <= old || s.peak.CompareAndSwap(old, n) {
						break
					}
				}
				time.Sleep(20 * time.Millisecond)
				s.active.Add(-1)
				p.send("200 Current job: jobid: 1 groupid: 1.\r\n")
			case "JOB 666":
				p.send("garbage\r\n")
				return
			case "QUIT":
				s.quits.Add(1)
				p.send("221 Goodbye.\r\n")
				return
			default:
				p.send("500 unexpected.\r\n")
			}
		}
	})
	return s
}

func job(ctx context.Context, id string) func(*Conn) error {
	return func(c *Conn) error { return c.expect(ctx, command{"JOB", "JOB " + id}, 200) }
}

// TestPoolBounded: no more than size sessions, reused.
func TestPoolBounded(t *testing.T) {
	s := newPoolServer(t)
	p := NewPool(fakeConfig(s.addr), 2, time.Minute)
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make([]error, 12)
	for i := range errs {
		wg.Go(func() { errs[i] = p.Do(ctx, job(ctx, "1")) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Do %d: %v", i, err)
		}
	}
	if n := s.conns.Load(); n > 2 {
		t.Errorf("%d sessions opened, pool size 2", n)
	}
	if n := s.peak.Load(); n > 2 {
		t.Errorf("%d sessions busy at once, pool size 2", n)
	}
	p.Close()
	if q := s.quits.Load(); q != s.conns.Load() {
		t.Errorf("%d of %d sessions quit on Close", q, s.conns.Load())
	}
	if err := p.Do(ctx, job(ctx, "1")); !errors.Is(err, ErrClosed) {
		t.Errorf("Do after Close = %v", err)
	}
}

// TestPoolBroken: a session that broke is not used again.
func TestPoolBroken(t *testing.T) {
	s := newPoolServer(t)
	p := NewPool(fakeConfig(s.addr), 1, time.Minute)
	defer p.Close()
	ctx := testCtx(t)
	var first *Conn
	err := p.Do(ctx, func(c *Conn) error {
		first = c
		return job(ctx, "666")(c)
	})
	if !errors.Is(err, ErrProtocol) {
		t.Fatalf("Do = %v, want ErrProtocol", err)
	}
	if err := p.Do(ctx, func(c *Conn) error {
		if c == first {
			return errors.New("broken session handed out again")
		}
		return job(ctx, "1")(c)
	}); err != nil {
		t.Error(err)
	}
	if n := s.conns.Load(); n != 2 {
		t.Errorf("%d sessions, want 2", n)
	}
}

// TestPoolCheck: a session idle for a while is checked with NOOP, and
// replaced when hfaxd ended it meanwhile (421).
func TestPoolCheck(t *testing.T) {
	s := newPoolServer(t)
	p := NewPool(fakeConfig(s.addr), 1, time.Minute)
	p.checkAfter = 0
	defer p.Close()
	ctx := testCtx(t)
	if err := p.Do(ctx, job(ctx, "1")); err != nil {
		t.Fatal(err)
	}
	if err := p.Do(ctx, job(ctx, "1")); err != nil || s.conns.Load() != 1 {
		t.Fatalf("Do = %v with %d sessions, want the checked one reused", err, s.conns.Load())
	}
	s.noopReply.Store("421 Timeout (900 seconds): closing control connection.\r\n")
	if err := p.Do(ctx, job(ctx, "1")); err != nil {
		t.Fatal(err)
	}
	if n := s.conns.Load(); n != 2 {
		t.Errorf("%d sessions, want a second after the 421", n)
	}
}

// TestPoolIdle: idle sessions are closed after the idle timeout.
func TestPoolIdle(t *testing.T) {
	s := newPoolServer(t)
	p := NewPool(fakeConfig(s.addr), 2, 50*time.Millisecond)
	defer p.Close()
	ctx := testCtx(t)
	if err := p.Do(ctx, job(ctx, "1")); err != nil {
		t.Fatal(err)
	}
	for p.Idle() > 0 || s.quits.Load() == 0 {
		if ctx.Err() != nil {
			t.Fatalf("idle session not closed: %d idle, %d quits", p.Idle(), s.quits.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPoolWait: Do waits for a free session until its context ends; a
// session in use when the pool closes is closed when it comes back.
func TestPoolWait(t *testing.T) {
	s := newPoolServer(t)
	p := NewPool(fakeConfig(s.addr), 1, time.Minute)
	ctx := testCtx(t)
	inUse, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		done <- p.Do(ctx, func(*Conn) error {
			close(inUse)
			<-release
			return nil
		})
	}()
	<-inUse
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := p.Do(short, job(ctx, "1")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Do while full = %v", err)
	}
	p.Close()
	close(release)
	if err := <-done; err != nil {
		t.Error(err)
	}
	if q := s.quits.Load(); q != 1 {
		t.Errorf("%d quits, want the returned session closed", q)
	}
}
