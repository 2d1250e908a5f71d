package hylafax_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax/hylafaxtest"
)

// TestFIFOModemState: the records WriteFIFO sends move a modem between
// ready, busy and down inside faxq, as seen in which modem faxq gives the
// next job to. Modem "pref" is announced with a better priority than
// "spare", so faxq takes it whenever it is ready.
func TestFIFOModemState(t *testing.T) {
	t.Parallel()
	srv := hylafaxtest.Start(t, hylafaxtest.Options{})
	pref, spare := srv.ModemName("ttyPref"), srv.ModemName("ttySpare")
	for _, m := range []string{pref, spare} {
		srv.AddModem(m, hylafaxtest.ModemOptions{})
	}
	fifo := filepath.Join(srv.Spool, hylafax.FaxqFIFO)
	send := func(kind hylafax.Kind, modem string, prio int) {
		t.Helper()
		m := hylafax.Message{Kind: kind, ID: modem}
		if kind == hylafax.ModemReady {
			m = hylafax.NewReadyMessage(modem, hylafax.Ready{CanPoll: false, Caps: hylafax.FreeSWITCHCapabilities, Priority: prio})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := hylafax.WriteFIFO(ctx, fifo, m); err != nil {
			t.Fatal(err)
		}
	}
	// sentBy submits a job and returns the modem faxq ran the stub with.
	number := 5553000
	sentBy := func() string {
		t.Helper()
		number++
		ids := srv.Submit(t, "-d", strconv.Itoa(number), srv.Document())
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		job, err := srv.WaitDone(ctx, ids[0])
		if err != nil {
			t.Fatal(err)
		}
		if job.State() != hylafaxtest.StateDone {
			t.Fatalf("job %s: state %d, status %q", ids[0], job.State(), job.Field("status"))
		}
		for _, c := range srv.StubCalls() {
			if f := strings.Fields(c); len(f) == 3 && f[0] == "-m" && f[2] == "sendq/q"+ids[0] {
				// faxq marks the modem ready again when it releases it,
				// which removes its UUCP lock: wait for that, so that the
				// next state change is not overridden.
				lock := "/var/lock/LCK.." + f[1]
				for _, err := os.Stat(lock); err == nil && ctx.Err() == nil; _, err = os.Stat(lock) {
					time.Sleep(20 * time.Millisecond)
				}
				return f[1]
			}
		}
		t.Fatalf("job %s: no stub call in %q", ids[0], srv.StubCalls())
		return ""
	}

	send(hylafax.ModemReady, spare, 0x80)
	send(hylafax.ModemReady, pref, 0x10)
	steps := []struct {
		name string
		kind hylafax.Kind
		want string
	}{
		{"ready", hylafax.ModemReady, pref},
		{"busy", hylafax.ModemBusy, spare},
		{"ready again", hylafax.ModemReady, pref},
		{"in use", hylafax.ModemInUse, spare},
		{"ready after in use", hylafax.ModemReady, pref},
		{"down", hylafax.ModemDown, spare},
		{"ready after down", hylafax.ModemReady, pref},
	}
	for _, st := range steps {
		send(st.kind, pref, 0x10)
		if got := sentBy(); got != st.want {
			t.Errorf("pref %s: job sent by %s, want %s", st.name, got, st.want)
		}
	}

	// With no modem ready the job waits (state 5) and is not dispatched,
	// however often the scheduler runs; a ready modem then takes it.
	send(hylafax.ModemBusy, pref, 0)
	send(hylafax.ModemDown, spare, 0)
	ids := srv.Submit(t, "-d", "5553999", srv.Document())
	calls := len(srv.StubCalls())
	for range 3 {
		time.Sleep(time.Second)
		if err := srv.WriteFIFO("S" + ids[0]); err != nil { // wake the scheduler
			t.Fatal(err)
		}
	}
	job, err := srv.Job(ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if job.State() != hylafaxtest.StateReady || len(srv.StubCalls()) != calls {
		t.Fatalf("no modem ready: job state %d, stub calls %q", job.State(), srv.StubCalls())
	}
	send(hylafax.ModemReady, spare, 0x80)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if job, err = srv.WaitDone(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(srv.StubCalls(), "-m "+spare+" sendq/q"+ids[0]) {
		t.Errorf("stub calls %q", srv.StubCalls())
	}
}
