package app

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/receive"
	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

// hangingFaxrcvd stands for an MTA that never answers.
const hangingFaxrcvd = "#!/bin/sh\nexec sleep 600\n"

// TestHangingFaxrcvd: faxrcvd hangs (an MTA that does not answer). With
// allocateinbounddevices and one modem, more calls than the connection
// bound (2 × modems + 16) come one after the other: every one is
// received, since faxrcvd runs outside the call, after its modem and
// connection are free. gofaxd then stops within the bound for a stop
// without calls, and the faxrcvd runs it could not do run at the next
// start.
func TestHangingFaxrcvd(t *testing.T) {
	const calls = 2*1 + connSlack + 4
	e := newEnv(t, 1, func(c *config.Config) {
		script := filepath.Join(c.HylaFAX.SpoolDir, "bin", "hang")
		if err := os.WriteFile(script, []byte(hangingFaxrcvd), 0o755); err != nil {
			t.Fatal(err)
		}
		c.Gofaxd.FaxRcvdCmd = "bin/hang"
		c.Gofaxd.AllocateInboundDevices = true
		c.Gofaxd.FaxRcvdConcurrency = 2
	})
	for i := range calls {
		rec := e.call(esltest.InboundCall{})
		if !slices.ContainsFunc(rec.Apps, func(a string) bool { return strings.HasPrefix(a, "rxfax ") }) {
			t.Fatalf("call %d: apps %q, want it received", i+1, rec.Apps)
		}
	}
	if got := e.classCount(receive.ClassReceived); got != calls {
		t.Errorf("%d calls received, want %d", got, calls)
	}
	if w, r := e.app.queue.Len(); w+r != calls || r != 2 {
		t.Errorf("faxrcvd queue: %d waiting, %d running; want %d in all, 2 running", w, r, calls)
	}

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.Gofaxd.ShutdownGrace)
	defer cancel()
	if err := e.app.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// No call runs: the stop waits faxrcvdStopWait for faxrcvd, no more.
	if d := time.Since(start); d > faxrcvdStopWait+closeWait {
		t.Errorf("stop took %v with a hanging faxrcvd, want at most %v", d, faxrcvdStopWait+closeWait)
	}

	// The next start runs them all; this time faxrcvd works.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := *e.cfg
	cfg.Gofaxd.FaxRcvdCmd = filepath.Join(e.outs, "faxrcvd")
	a, err := Open(&cfg, Options{Logger: testLogger(t), Listener: ln})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Shutdown(context.Background())
	e.app = a
	for i := 1; i <= calls; i++ {
		commid := hylafax.CommID(i)
		args, _ := e.faxrcvd(commid)
		if len(args) != 8 || args[2] != commid {
			t.Errorf("faxrcvd for %s: argv %q", commid, args)
		}
	}
	if n := len(a.Journal().Pending(receive.ConsumerFaxrcvd)); n != 0 {
		for deadline := time.Now().Add(10 * time.Second); n != 0 && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			n = len(a.Journal().Pending(receive.ConsumerFaxrcvd))
		}
		if n != 0 {
			t.Errorf("%d faxrcvd runs still pending", n)
		}
	}
}
