package call

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
	"github.com/gofaxserver/gofaxserver/gofaxlib/freeswitch"
)

// dial connects to a simulator and subscribes the connection.
func dial(t *testing.T, sim *esltest.Sim) *esl.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := esl.Dial(ctx, sim.Addr(), sim.Password())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := Subscribe(ctx, c); err != nil {
		t.Fatal(err)
	}
	return c
}

func params(t *testing.T, number string) Params {
	t.Helper()
	doc, err := filepath.Abs("../job/testdata/sent-2page-g3.tif")
	if err != nil {
		t.Fatal(err)
	}
	uuid := esl.NewUUID()
	cmd, err := freeswitch.Dial{Vars: freeswitch.Vars{{Name: "origination_uuid", Value: uuid}}, Gateways: []string{"gw1"}, Number: number}.TxFax(doc)
	if err != nil {
		t.Fatal(err)
	}
	return Params{UUID: uuid, Command: cmd, RingTimeout: 5 * time.Second, PageTimeout: 5 * time.Second,
		MaxCallTime: 20 * time.Second, HangupGrace: time.Second, KillGrace: time.Second}
}

func TestRunProgress(t *testing.T) {
	sim := esltest.New(t, esltest.Options{TimeScale: 0.01})
	sim.Route("5551234", esltest.Scenario{Outcome: esltest.Success, Renegotiate: true})
	var answered, negotiated int
	var pages []int
	prog := Progress{
		Answered:   func() { answered++ },
		Negotiated: func(*gofaxlib.Result) { negotiated++ },
		Page:       func(r *gofaxlib.Result) { pages = append(pages, r.TransferredPages) },
	}
	rep, err := Run(context.Background(), dial(t, sim), params(t, "5551234"), prog, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Complete || rep.Killed != "" || !rep.Result.Delivered() || !rep.Result.Connected() {
		t.Errorf("report %+v", rep)
	}
	if answered != 1 || negotiated != 2 || len(pages) != 2 || pages[1] != 2 {
		t.Errorf("progress: answered %d, negotiated %d, pages %v", answered, negotiated, pages)
	}
}

func TestRunDeadlines(t *testing.T) {
	tests := []struct {
		name   string
		sc     esltest.Scenario
		adjust func(*Params)
		cancel bool
		killed string
	}{
		{"ring timeout", esltest.Scenario{Outcome: esltest.NoAnswer}, func(p *Params) { p.RingTimeout = 200 * time.Millisecond }, false, KilledRing},
		{"page timeout", esltest.Scenario{Outcome: esltest.NoFax}, func(p *Params) { p.PageTimeout = 200 * time.Millisecond }, false, KilledPage},
		{"max call time", esltest.Scenario{Outcome: esltest.Success}, func(p *Params) { p.MaxCallTime = 500 * time.Millisecond }, false, KilledMaxCall},
		{"interrupted", esltest.Scenario{Outcome: esltest.Success}, nil, true, KilledInterrupted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := esltest.New(t, esltest.Options{TimeScale: 0.1}) // slow enough for every deadline to strike first
			sim.Route("5551234", tt.sc)
			p := params(t, "5551234")
			if tt.adjust != nil {
				tt.adjust(&p)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				time.AfterFunc(300*time.Millisecond, cancel)
			}
			start := time.Now()
			rep, err := Run(ctx, dial(t, sim), p, Progress{}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			if rep.Killed != tt.killed {
				t.Errorf("killed %q, want %q", rep.Killed, tt.killed)
			}
			// Before the answer the channel is known only by its
			// origination_uuid; a simulator that ignores it cannot
			// report the killed channel's end.
			if _, honoured := sim.Call(p.UUID); (honoured || rep.Result.Connected()) && !rep.Complete {
				t.Errorf("gave up waiting for the end of the killed call")
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v", d)
			}
			if len(sim.Kills()) != 1 {
				t.Errorf("uuid_kill sent %d times", len(sim.Kills()))
			}
		})
	}
}

// TestReplyTimeout: a FreeSWITCH that accepts the connection but answers
// no command does not hold the call up beyond ReplyTimeout.
func TestReplyTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		// Authenticate, then read commands and answer none.
		nc.Write([]byte("Content-Type: auth/request\n\n"))
		buf := make([]byte, 4096)
		if _, err := nc.Read(buf); err != nil {
			return
		}
		nc.Write([]byte("Content-Type: command/reply\nReply-Text: +OK accepted\n\n"))
		go io.Copy(io.Discard, nc)
		<-done
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := esl.Dial(ctx, ln.Addr().String(), "ClueCon")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	p := params(t, "5551234")
	p.ReplyTimeout = 100 * time.Millisecond
	_, err = Run(ctx, conn, p, Progress{}, slog.New(slog.DiscardHandler))
	if !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		t.Fatalf("Run = %v, want the reply timeout (test context: %v)", err, ctx.Err())
	}
}
