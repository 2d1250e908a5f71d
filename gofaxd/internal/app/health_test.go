package app

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/metrics"
	"github.com/gofaxserver/gofaxserver/gofaxd/internal/receive"
	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
	"github.com/gofaxserver/gofaxserver/gofaxlib/journal"
)

func healthz(t *testing.T, a *App) (int, metrics.Health) {
	t.Helper()
	resp, err := http.Get("http://" + a.MetricsAddr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var h metrics.Health
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("/healthz %d: %q: %v", resp.StatusCode, b, err)
	}
	return resp.StatusCode, h
}

// failing returns the names of the checks that fail.
func failing(h metrics.Health) []string {
	var out []string
	for name, c := range h.Checks {
		if c.Status != metrics.StatusOK {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// closedAddr is an address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestHealthDependencies: with everything up /healthz says ok. faxq not
// reading its FIFO and FreeSWITCH's event socket unreachable are each
// reported, with 200 ("degraded"): they are not gofaxd's faults, and the
// watchdog (Alive) stays fed, so systemd does not restart gofaxd and kill
// receptions for them.
func TestHealthDependencies(t *testing.T) {
	e := newEnv(t, 1, func(c *config.Config) { c.Gofaxd.Metrics = "127.0.0.1:0" })
	code, h := healthz(t, e.app)
	if code != 200 || h.Status != "ok" || len(failing(h)) != 0 {
		t.Fatalf("/healthz %d %+v, want ok", code, h)
	}
	for _, name := range []string{"listener", "loops", "spool", "journal", "faxq", "freeswitch", "receptions"} {
		if _, ok := h.Checks[name]; !ok {
			t.Errorf("/healthz has no check %q", name)
		}
	}

	e2 := newEnv(t, 1, func(c *config.Config) {
		c.Gofaxd.Metrics = "127.0.0.1:0"
		c.FreeSWITCH.Socket = closedAddr(t)
		c.HylaFAX.FIFOTimeout = 50 * time.Millisecond
	})
	e2.faxq.r.Close() // faxq stops
	e2.faxq.wg.Wait()
	// Modem news for faxq: it finds nobody reading.
	e2.call(esltest.InboundCall{})
	for deadline := time.Now().Add(10 * time.Second); e2.app.Pool().FaxqReading(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("faxq still taken as reading")
		}
	}
	code, h = healthz(t, e2.app)
	if code != 200 || h.Status != "degraded" || !slices.Equal(failing(h), []string{"faxq", "freeswitch"}) ||
		h.Checks["faxq"].Own || h.Checks["freeswitch"].Detail == "" {
		t.Errorf("/healthz %d %+v, want 200 degraded with faxq and freeswitch failing", code, h)
	}
	if err := e2.app.Alive(context.Background()); err != nil {
		t.Errorf("Alive = %v while only faxq and FreeSWITCH are away", err)
	}
}

// TestRecvqUnwritable: when recvq cannot be written, a call is refused
// with 503 (the caller tries again later) before it is answered, nothing
// is left behind, the session log says why, and /healthz fails with 503
// naming the spool.
func TestRecvqUnwritable(t *testing.T) {
	e := newEnv(t, 1, func(c *config.Config) { c.Gofaxd.Metrics = "127.0.0.1:0" })
	recvq := filepath.Join(e.spool, "recvq")
	// recvq is taken away (a file in its place): root may write into any
	// directory, so a mode alone would not stop this test's gofaxd.
	if err := os.Rename(recvq, recvq+".away"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(recvq, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	rec := e.call(esltest.InboundCall{})
	if !slices.Equal(rec.Apps, []string{"respond 503"}) || rec.Answered {
		t.Errorf("apps %q (answered %v), want only respond 503", rec.Apps, rec.Answered)
	}
	if e.classCount(receive.ClassError) != 1 {
		t.Errorf("error count %d, want 1", e.classCount(receive.ClassError))
	}
	if log := e.sessionLog("000000001"); !strings.Contains(log, "Cannot create file in recvq") {
		t.Errorf("session log:\n%s", log)
	}
	e.faxq.waitFor(t, "+freeswitch0:B", "+freeswitch0:R") // the modem is free again
	if p := e.app.Journal().Pending(receive.ConsumerRecv); len(p) != 0 {
		t.Errorf("refused call left a reception in the journal: %v", p)
	}
	code, h := healthz(t, e.app)
	if code != 503 || h.Status != "fail" || !slices.Equal(failing(h), []string{"spool"}) || !h.Checks["spool"].Own {
		t.Errorf("/healthz %d %+v, want 503 with the spool failing", code, h)
	}
}

// TestUnfinishedReported: a reception an earlier run left, while
// FreeSWITCH cannot be asked whether its call ended, stays in recvq
// untouched and is reported (log, /metrics, /healthz with 200); an
// unfinished recvq file no record tells about is reported too.
func TestUnfinishedReported(t *testing.T) {
	fax, err := os.ReadFile("../receive/testdata/received-t38-2page.tif")
	if err != nil {
		t.Fatal(err)
	}
	var spool string
	e := newEnv(t, 1, func(c *config.Config) {
		spool = c.HylaFAX.SpoolDir
		c.Gofaxd.Metrics = "127.0.0.1:0"
		c.FreeSWITCH.Socket = closedAddr(t)
		// What the run that died left: a journaled reception, and a file
		// nothing tells about.
		j, err := journal.Open(filepath.Join(spool, "gofax", "journal"), journal.Options{Consumers: receive.Consumers})
		if err != nil {
			t.Fatal(err)
		}
		r, _ := journal.NewRecord(receive.KindRecvStart, receive.Reception{UUID: "0f314832-a46f-4293-85fb-140acc5cadeb",
			CommID: "000000001", File: "recvq/fax000000001.tif", Modem: "freeswitch0", Start: time.Now(), Recipient: "5551236",
			FileMode: 0o600})
		if err := j.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		j.Close()
		for _, n := range []string{"fax000000001.tif", "fax000000007.tif"} {
			if err := os.WriteFile(filepath.Join(spool, "recvq", n), fax, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	})
	var h metrics.Health
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var code int
		code, h = healthz(t, e.app)
		if h.Checks["receptions"].Status == metrics.StatusFail {
			if code != 200 || h.Checks["receptions"].Own {
				t.Errorf("/healthz %d %+v: want 200, a dependency's trouble", code, h)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz %+v: the unfinished reception is not reported", h)
		}
	}
	if d := h.Checks["receptions"].Detail; !strings.Contains(d, "1 receptions") || !strings.Contains(d, "cannot reach FreeSWITCH") {
		t.Errorf("receptions check: %q", d)
	}
	body := scrape(t, "http://"+e.app.MetricsAddr().String()+"/metrics")
	for _, want := range []string{"gofaxd_receptions_unfinished 1", "gofaxd_recvq_unfinished_files 1"} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(spool, "recvq", "fax000000001.tif")); string(b) != string(fax) {
		t.Error("the file of an unfinished reception was changed while FreeSWITCH could not be asked")
	}
	if _, err := os.Stat(filepath.Join(spool, "log", "xferfaxlog")); err == nil {
		t.Error("an unfinished reception was recorded while FreeSWITCH could not be asked")
	}
}
