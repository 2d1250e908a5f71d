package app

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
)

// TestLogStatsMetrics: the log shipper's counts ([loki]) are in /metrics.
func TestLogStatsMetrics(t *testing.T) {
	spool := t.TempDir()
	for _, d := range []string{"recvq", "log", "status", "etc"} {
		if err := os.Mkdir(filepath.Join(spool, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := config.Default()
	cfg.HylaFAX.SpoolDir = spool
	cfg.HylaFAX.FIFOTimeout = 100 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a, err := Open(cfg, Options{Logger: testLogger(t), Listener: ln, LogStats: func() (uint64, uint64) { return 42, 7 }})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		a.Shutdown(ctx)
	}()
	e := &env{t: t, app: a}
	if m := e.metricValues("gofaxd_loki_lines_sent_total"); m[""] != 42 {
		t.Errorf("sent %v", m)
	}
	if m := e.metricValues("gofaxd_loki_lines_dropped_total"); m[""] != 7 {
		t.Errorf("dropped %v", m)
	}
	if m := e.metricValues("gofaxd_receipts_total"); len(m) != 0 {
		t.Errorf("receipt metrics without [database]: %v", m)
	}
}
