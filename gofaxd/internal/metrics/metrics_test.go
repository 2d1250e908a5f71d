package metrics

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/modem"
	"github.com/gofaxserver/gofaxserver/gofaxd/internal/receive"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServe(t *testing.T) {
	m := New()
	m.CallStarted()
	m.CallStarted()
	m.CallEnded(receive.Outcome{Class: receive.ClassReceived, Pages: 2})
	m.CallEnded(receive.Outcome{Class: receive.ClassPartial, Pages: 1, Lost: true, WithoutModem: true})
	m.CallStarted()
	m.FaxrcvdStarted(3 * time.Millisecond)
	m.FaxrcvdEnded(receive.FaxrcvdOK)
	m.FaxrcvdEnded(receive.FaxrcvdInterrupted)
	m.Recovered(receive.ClassPartial)
	m.WatchState(func() State { return State{FaxrcvdQueued: 4, Unfinished: 1, JournalFsyncs: 9} })
	m.JobEnded(hylafax.JobResult{JobID: "1", Outcome: hylafax.OutcomeDone, Pages: 3})
	m.JobEnded(hylafax.JobResult{JobID: "2", Outcome: hylafax.OutcomeRetry, Pages: 1})
	m.JobEnded(hylafax.JobResult{JobID: "2", Outcome: hylafax.OutcomeDone, Pages: 4})
	var down atomic.Bool
	s, err := Listen("127.0.0.1:0", m, func(context.Context) Health {
		h := Health{Checks: map[string]Check{"listener": {Status: StatusOK, Own: true}, "faxq": {Status: StatusFail, Detail: "away"}}}
		if down.Load() {
			h.Checks["listener"] = Check{Status: StatusFail, Own: true, Detail: "gofaxd is stopping"}
		}
		return h
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	base := "http://" + s.Addr().String()

	code, body := get(t, base+"/metrics")
	for _, want := range []string{
		`gofaxd_calls_total{result="received"} 1`,
		`gofaxd_calls_total{result="partial"} 1`,
		`gofaxd_calls_total{result="busy"} 0`,
		"gofaxd_active_calls 1",
		"gofaxd_pages_received_total 3",
		"gofaxd_esl_connections_lost_total 1",
		"gofaxd_calls_without_modem_total 1",
		"gofaxd_hangup_to_faxrcvd_seconds_count 1",
		`gofaxd_faxes_sent_total{result="done"} 2`,
		`gofaxd_faxes_sent_total{result="retry"} 1`,
		`gofaxd_faxes_sent_total{result="failed"} 0`,
		`gofaxd_faxes_sent_total{result="reformat"} 0`,
		"gofaxd_pages_sent_total 8",
		`gofaxd_faxrcvd_runs_total{result="ok"} 1`,
		`gofaxd_faxrcvd_runs_total{result="interrupted"} 1`,
		`gofaxd_faxrcvd_runs_total{result="failed"} 0`,
		`gofaxd_receptions_recovered_total{result="partial"} 1`,
		"gofaxd_faxrcvd_queued 4",
		"gofaxd_receptions_unfinished 1",
		"gofaxd_journal_fsyncs_total 9",
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics (%d) lacks %q", code, want)
		}
	}
	// A dependency down: 200, degraded, each check reported.
	code, body = get(t, base+"/healthz")
	var h Health
	if err := json.Unmarshal([]byte(body), &h); err != nil || code != 200 || h.Status != "degraded" ||
		h.Checks["faxq"].Status != StatusFail || h.Checks["faxq"].Detail != "away" || h.Checks["listener"].Status != StatusOK {
		t.Errorf("/healthz = %d %s (%v)", code, body, err)
	}
	// One of gofaxd's own checks down: 503.
	down.Store(true)
	code, body = get(t, base+"/healthz")
	if err := json.Unmarshal([]byte(body), &h); err != nil || code != 503 || h.Status != "fail" ||
		h.Checks["listener"].Detail != "gofaxd is stopping" {
		t.Errorf("/healthz = %d %s (%v)", code, body, err)
	}
}

func TestModemGauges(t *testing.T) {
	spool := t.TempDir()
	for _, d := range []string{"status", "etc"} {
		os.Mkdir(filepath.Join(spool, d), 0o755)
	}
	pool, err := modem.Open(modem.Config{Spool: spool, Prefix: "m", Count: 3, Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Acquire(); err != nil {
		t.Fatal(err)
	}
	m := New()
	m.WatchPool(pool)
	want := map[string]float64{"ready": 2, "receiving": 1, "sending": 0, "down": 0}
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, mf := range mfs {
		switch mf.GetName() {
		case "gofaxd_modems":
			for _, mt := range mf.GetMetric() {
				state := mt.GetLabel()[0].GetValue()
				if got := mt.GetGauge().GetValue(); got != want[state] {
					t.Errorf("gofaxd_modems{state=%q} = %v, want %v", state, got, want[state])
				}
				seen++
			}
		case "gofaxd_faxq_reading":
			seen++
		}
	}
	if seen != 5 {
		t.Errorf("saw %d modem metrics, want 5", seen)
	}
}
