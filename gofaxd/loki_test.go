package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

// lokiReceiver is a stand-in for Loki's push API: it checks each push's
// format and keeps the lines with their labels.
type lokiReceiver struct {
	t     *testing.T
	mu    sync.Mutex
	lines []lokiLine
}

type lokiLine struct {
	labels map[string]string
	line   string
}

func (l *lokiReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/loki/api/v1/push" || r.Header.Get("Content-Type") != "application/json" {
		l.t.Errorf("push %s %s %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		w.WriteHeader(400)
		return
	}
	var push struct {
		Streams []struct {
			Stream map[string]string `json:"stream"`
			Values [][2]string       `json:"values"`
		} `json:"streams"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err := json.Unmarshal(body, &push); err != nil {
		l.t.Errorf("push body: %v: %.200s", err, body)
		w.WriteHeader(400)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range push.Streams {
		for _, v := range s.Values {
			l.lines = append(l.lines, lokiLine{labels: s.Stream, line: v[1]})
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (l *lokiReceiver) find(msg string) (lokiLine, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ln := range l.lines {
		if strings.Contains(ln.line, `"msg":"`+msg+`"`) {
			return ln, true
		}
	}
	return lokiLine{}, false
}

// TestLokiShipsTheLog: with [loki], gofaxd's log reaches Loki's push API
// (labels job, host, level and the configured ones) besides stderr, and
// what is logged while stopping is flushed before run returns.
func TestLokiShipsTheLog(t *testing.T) {
	rcv := &lokiReceiver{t: t}
	srv := httptest.NewServer(rcv)
	defer srv.Close()

	spool := t.TempDir()
	for _, d := range []string{"recvq", "log", "status", "etc"} {
		os.Mkdir(filepath.Join(spool, d), 0o755)
	}
	if err := hylafax.MakeFIFO(filepath.Join(spool, "FIFO"), 0o600); err != nil {
		t.Fatal(err)
	}
	faxq, err := hylafax.OpenFIFO(filepath.Join(spool, "FIFO"))
	if err != nil {
		t.Fatal(err)
	}
	defer faxq.Close()
	go func() {
		for {
			if _, err := faxq.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	conf := filepath.Join(t.TempDir(), "gofax.conf")
	os.WriteFile(conf, []byte(`[freeswitch]
socket = 127.0.0.1:1
[hylafax]
spooldir = `+spool+`
modems = 1
[gofaxd]
socket = 127.0.0.1:0
[loki]
url = `+srv.URL+`/loki/api/v1/push
host = fax-test
label = env=test
batchwait = 50ms
`), 0o600)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-c", conf}, &bytes.Buffer{}, &stderr) }()

	deadline := time.Now().Add(30 * time.Second)
	var ready lokiLine
	for ok := false; !ok; ready, ok = rcv.find("gofaxd ready") {
		if time.Now().After(deadline) {
			t.Fatalf("no \"gofaxd ready\" line in Loki; stderr:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if ready.labels["job"] != "gofaxd" || ready.labels["host"] != "fax-test" || ready.labels["level"] != "info" ||
		ready.labels["env"] != "test" {
		t.Errorf("labels %v", ready.labels)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("run did not return after SIGTERM")
	}
	// Logged while stopping, shipped before run returned.
	if _, ok := rcv.find("stopping: receptions in progress may finish"); !ok {
		t.Errorf("the stop's log line was not flushed to Loki")
	}
	// stderr is written from a goroutine of its own; run flushed it.
	if !strings.Contains(stderr.String(), "gofaxd ready") {
		t.Errorf("the log no longer goes to stderr:\n%s", stderr.String())
	}
}

// TestLokiDownNeverBlocks: Loki that never answers makes gofaxd neither
// slow to start nor to stop: lines are dropped (counted) and the flush at
// stop is bounded.
func TestLokiDownNeverBlocks(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer func() { close(hang); srv.Close() }()
	spool := t.TempDir()
	for _, d := range []string{"recvq", "log", "status", "etc"} {
		os.Mkdir(filepath.Join(spool, d), 0o755)
	}
	conf := filepath.Join(t.TempDir(), "gofax.conf")
	os.WriteFile(conf, []byte(`[freeswitch]
socket = 127.0.0.1:1
[hylafax]
spooldir = `+spool+`
modems = 1
fifotimeout = 100ms
[gofaxd]
socket = 127.0.0.1:0
[loki]
url = `+srv.URL+`/loki/api/v1/push
batchwait = 10ms
timeout = 1h
`), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-c", conf}, &bytes.Buffer{}, &stderr) }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), "gofaxd ready") {
		if time.Now().After(deadline) {
			t.Fatalf("gofaxd not ready:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("run did not return with Loki hanging")
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("stop took %v with Loki hanging", d)
	}
	if !strings.Contains(stderr.String(), "log lines not shipped at stop") {
		t.Errorf("the unshipped lines are not reported:\n%s", stderr.String())
	}
}
