package app

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
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
		c.Gofaxd.FaxRcvdDefer = 0 // both runs at once even on a loaded machine
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

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestFaxrcvdBurst: when many receptions end at once, every faxrcvd run
// is reported with its own exit status and output: none that exited 0
// counts as failed, every one that failed says so.
func TestFaxrcvdBurst(t *testing.T) {
	var logs syncBuffer
	dir := t.TempDir()
	script := filepath.Join(dir, "faxrcvd")
	// Odd commids fail with exit status 3.
	body := "#!/bin/sh\necho \"out $3\"\necho \"err $3\" >&2\nn=$(echo \"$3\" | sed 's/^0*//')\nexit $(( n % 2 * 3 ))\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, envOptions{modems: 1, tweak: func(c *config.Config) { c.Gofaxd.FaxRcvdCmd = script },
		opts: Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}})
	const calls = 40
	var wg sync.WaitGroup
	for range calls {
		wg.Go(func() {
			if _, err := e.sim.PlaceCall(t.Context(), esltest.InboundCall{CallerNumber: "5551000"}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	e.waitEnded(calls)
	deadline := time.Now().Add(60 * time.Second)
	for e.runs("ok")+e.runs("failed") < calls {
		if time.Now().After(deadline) {
			t.Fatalf("faxrcvd: %d ok, %d failed of %d", e.runs("ok"), e.runs("failed"), calls)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if ok, failed := e.runs("ok"), e.runs("failed"); ok != calls/2 || failed != calls/2 {
		t.Errorf("faxrcvd runs: %d ok, %d failed; want %d each", ok, failed, calls/2)
	}
	out := logs.String()
	for i := 1; i <= calls; i++ {
		commid := fmt.Sprintf("%09d", i)
		var want string
		if i%2 == 1 {
			want = `msg="faxrcvd failed".*commid=` + commid + `.*exit_code=3 .*stdout="out ` + commid + `" stderr="err ` + commid + `"`
		} else {
			want = `msg="faxrcvd done".*commid=` + commid + `.*exit_code=0 .*stdout="out ` + commid + `" stderr="err ` + commid + `"`
		}
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("commid %s: no log line matching %s", commid, want)
		}
	}
	if strings.Contains(out, "WaitDelay") {
		t.Error("a run was reported as a WaitDelay failure")
	}
}

// runs reads gofaxd_faxrcvd_runs_total{result}.
func (e *env) runs(result string) int {
	mfs, _ := e.app.Metrics().Registry.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "gofaxd_faxrcvd_runs_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return int(m.GetCounter().GetValue())
				}
			}
		}
	}
	return 0
}
