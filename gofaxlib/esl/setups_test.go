package esl

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// setupServer serves with MaxSetups places; each handler reports its
// connection's Unique-ID on started, then calls SetupDone when told on
// its channel in ctl and returns when that channel closes.
func setupServer(t *testing.T, places int, hold time.Duration, started chan<- string, ctl map[string]chan struct{}) *Server {
	t.Helper()
	s := &Server{Addr: "127.0.0.1:0", MaxSetups: places, SetupHold: hold,
		Handler: func(ctx context.Context, c *OutboundConn) {
			started <- c.UUID()
			ch := ctl[c.UUID()]
			for range ch {
				c.SetupDone()
			}
		}}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return s
}

// call connects a fake FreeSWITCH channel with Unique-ID uuid that stays
// until the server closes the connection.
func call(t *testing.T, s *Server, uuid string) <-chan struct{} {
	t.Helper()
	return dialPeer(t, s.Address().String(), func(p *peerConn) {
		p.expect("connect")
		p.send(fmt.Sprintf("Unique-ID: %s\nContent-Type: command/reply\nReply-Text: %%2BOK%%0A\n\n", uuid))
		p.command() // until the server closes
	})
}

// waitFor polls cond; the bound is generous for loaded machines.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func expectStart(t *testing.T, started <-chan string, want string) {
	t.Helper()
	select {
	case got := <-started:
		if got != want {
			t.Fatalf("handler of %s started, want %s", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("handler of %s did not start", want)
	}
}

func expectNoStart(t *testing.T, started <-chan string) {
	t.Helper()
	select {
	case got := <-started:
		t.Fatalf("handler of %s started while every place was taken", got)
	case <-time.After(50 * time.Millisecond):
	}
}

// TestServerMaxSetups: with every place taken, connections wait and are
// let in first come, first served, as places are given back by
// SetupDone or by the handler's return.
func TestServerMaxSetups(t *testing.T) {
	checkNoLeak(t)
	started := make(chan string, 4)
	ctl := map[string]chan struct{}{"a": make(chan struct{}), "b": make(chan struct{}), "c": make(chan struct{}), "d": make(chan struct{})}
	s := setupServer(t, 1, time.Hour, started, ctl)
	done := map[string]<-chan struct{}{}
	done["a"] = call(t, s, "a")
	expectStart(t, started, "a")
	// b, c and d come in this order and wait.
	for i, id := range []string{"b", "c", "d"} {
		done[id] = call(t, s, id)
		waitFor(t, id+" waits", func() bool { return s.waiting.Load() == int32(i+1) })
	}
	expectNoStart(t, started)
	ctl["a"] <- struct{}{} // a's setup is over: b, the first waiting, goes on
	expectStart(t, started, "b")
	ctl["a"] <- struct{}{} // again: nothing more
	expectNoStart(t, started)
	close(ctl["b"]) // b ends without SetupDone: its place goes to c
	<-done["b"]
	expectStart(t, started, "c")
	expectNoStart(t, started)
	close(ctl["a"])
	<-done["a"]
	expectNoStart(t, started) // a had given its place back already
	close(ctl["c"])
	expectStart(t, started, "d")
	close(ctl["d"])
	for _, d := range done {
		<-d
	}
}

// TestServerSetupHold: a connection that keeps its place longer than
// SetupHold lets the next one in.
func TestServerSetupHold(t *testing.T) {
	checkNoLeak(t)
	started := make(chan string, 2)
	ctl := map[string]chan struct{}{"a": make(chan struct{}), "b": make(chan struct{})}
	s := setupServer(t, 1, 20*time.Millisecond, started, ctl)
	da := call(t, s, "a")
	expectStart(t, started, "a")
	db := call(t, s, "b")
	expectStart(t, started, "b") // a never said SetupDone
	close(ctl["a"])
	close(ctl["b"])
	<-da
	<-db
}

// TestServerSetupsShutdown: Shutdown closes the connections still
// waiting for a place; their handlers never run.
func TestServerSetupsShutdown(t *testing.T) {
	checkNoLeak(t)
	started := make(chan string, 2)
	s := &Server{Addr: "127.0.0.1:0", MaxSetups: 1, SetupHold: time.Hour,
		Handler: func(ctx context.Context, c *OutboundConn) {
			started <- c.UUID()
			<-ctx.Done()
		}}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	da := call(t, s, "a")
	expectStart(t, started, "a")
	db := call(t, s, "b")
	waitFor(t, "b waits", func() bool { return s.waiting.Load() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v, want the deadline (a's handler runs until cancelled)", err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
	<-da
	<-db
	expectNoStart(t, started)
}
