package loki

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// push is one request the test receiver got.
type push struct {
	header http.Header
	req    pushRequest
}

// lokiServer is a local stand-in for Loki's push endpoint that checks the
// format strictly and answers with reply.
type lokiServer struct {
	*httptest.Server
	t     testing.TB
	mu    sync.Mutex
	got   []push
	reply func(n int) int // status for request n (1-based)
}

func newLoki(t testing.TB, reply func(n int) int) *lokiServer {
	s := &lokiServer{t: t, reply: reply}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/loki/api/v1/push" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %s %s %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		body, _ := io.ReadAll(r.Body)
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		var req pushRequest
		if err := dec.Decode(&req); err != nil {
			t.Errorf("push body: %v: %s", err, body)
		}
		for _, st := range req.Streams {
			prev := int64(0)
			for _, v := range st.Values {
				ns, err := strconv.ParseInt(v[0], 10, 64)
				if err != nil || ns < prev {
					t.Errorf("timestamp %q after %d", v[0], prev)
				}
				prev = ns
				var line map[string]any
				if err := json.Unmarshal([]byte(v[1]), &line); err != nil {
					t.Errorf("line %q is not JSON: %v", v[1], err)
				}
			}
		}
		s.mu.Lock()
		s.got = append(s.got, push{r.Header.Clone(), req})
		n := len(s.got)
		s.mu.Unlock()
		code := http.StatusNoContent
		if s.reply != nil {
			code = s.reply(n)
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *lokiServer) pushes() []push {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]push(nil), s.got...)
}

// lines returns every line of accepted pushes (status 2xx) in order, per
// level.
func (s *lokiServer) lines(ok func(n int) bool) map[string][]string {
	out := map[string][]string{}
	for i, p := range s.pushes() {
		if ok != nil && !ok(i+1) {
			continue
		}
		for _, st := range p.req.Streams {
			for _, v := range st.Values {
				out[st.Stream["level"]] = append(out[st.Stream["level"]], v[1])
			}
		}
	}
	return out
}

func newHandler(t testing.TB, cfg Config) *Handler {
	t.Helper()
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		h.Close(ctx)
	})
	return h
}

func closeNow(t testing.TB, h *Handler) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestPushFormat(t *testing.T) {
	srv := newLoki(t, nil)
	h := newHandler(t, Config{URL: srv.URL + "/loki/api/v1/push", Host: "fax1", Labels: map[string]string{"env": "test"},
		Username: "user", Password: "pw", TenantID: "tenant-1", Level: slog.LevelDebug})
	log := slog.New(h)
	t0 := time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.UTC)
	r := slog.NewRecord(t0, slog.LevelInfo, "call received", 0)
	r.AddAttrs(slog.String("call_uuid", "u1"))
	if err := h.WithAttrs([]slog.Attr{slog.String("modem", "freeswitch0")}).WithGroup("fax").Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	log.Warn("page timeout", "commid", "000000042")
	log.Debug("detail")
	log.Error("failed", "error", errors.New("boom"))
	closeNow(t, h)

	ps := srv.pushes()
	if len(ps) != 1 {
		t.Fatalf("%d pushes, want one batch", len(ps))
	}
	if u, p, ok := (&http.Request{Header: ps[0].header}).BasicAuth(); !ok || u != "user" || p != "pw" || ps[0].header.Get("X-Scope-OrgID") != "tenant-1" {
		t.Errorf("headers %v", ps[0].header)
	}
	levels := map[string]stream{}
	for _, st := range ps[0].req.Streams {
		if st.Stream["job"] != "gofaxd" || st.Stream["host"] != "fax1" || st.Stream["env"] != "test" || len(st.Stream) != 4 {
			t.Errorf("labels %v", st.Stream)
		}
		levels[st.Stream["level"]] = st
	}
	if len(levels) != 4 {
		t.Fatalf("streams %v", levels)
	}
	info := levels["info"].Values
	if len(info) != 1 || info[0][0] != strconv.FormatInt(t0.UnixNano(), 10) {
		t.Fatalf("info values %v", info)
	}
	if want := `{"level":"INFO","msg":"call received","modem":"freeswitch0","fax":{"call_uuid":"u1"}}`; info[0][1] != want {
		t.Errorf("line\n got %s\nwant %s", info[0][1], want)
	}
	if got := levels["error"].Values[0][1]; got != `{"level":"ERROR","msg":"failed","error":"boom"}` {
		t.Errorf("error line %s", got)
	}
	if h.Sent() != 4 || h.Dropped() != 0 {
		t.Errorf("sent %d dropped %d", h.Sent(), h.Dropped())
	}
}

func TestBearerAndLevel(t *testing.T) {
	srv := newLoki(t, nil)
	h := newHandler(t, Config{URL: srv.URL + "/loki/api/v1/push", BearerToken: "tok"})
	log := slog.New(h)
	log.Debug("not sent at the default level")
	log.Info("sent")
	closeNow(t, h)
	ps := srv.pushes()
	if len(ps) != 1 || ps[0].header.Get("Authorization") != "Bearer tok" || len(ps[0].req.Streams) != 1 || ps[0].req.Streams[0].Stream["level"] != "info" {
		t.Errorf("pushes %+v", ps)
	}
}

// TestOrderAndBatches logs 1,000 lines from one goroutine: they arrive
// complete, in order, in batches of at most BatchSize.
func TestOrderAndBatches(t *testing.T) {
	srv := newLoki(t, nil)
	h := newHandler(t, Config{URL: srv.URL + "/loki/api/v1/push", BatchSize: 64, BatchWait: time.Hour})
	log := slog.New(h)
	const n = 1000
	for i := range n {
		log.Info("line", "i", i)
	}
	closeNow(t, h)
	for _, p := range srv.pushes() {
		total := 0
		for _, st := range p.req.Streams {
			total += len(st.Values)
		}
		if total > 64 {
			t.Errorf("push of %d lines", total)
		}
	}
	lines := srv.lines(nil)["info"]
	if len(lines) != n {
		t.Fatalf("%d lines", len(lines))
	}
	for i, l := range lines {
		if want := fmt.Sprintf(`{"level":"INFO","msg":"line","i":%d}`, i); l != want {
			t.Fatalf("line %d = %s, want %s", i, l, want)
		}
	}
}

// TestBatchWait: a line does not wait for a full batch longer than
// BatchWait.
func TestBatchWait(t *testing.T) {
	srv := newLoki(t, nil)
	h := newHandler(t, Config{URL: srv.URL + "/loki/api/v1/push", BatchSize: 1000, BatchWait: 50 * time.Millisecond})
	slog.New(h).Info("alone")
	deadline := time.Now().Add(30 * time.Second)
	for len(srv.pushes()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a lone line was not pushed")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStuckReceiverNeverBlocks: Loki accepts the connection and never
// answers. Logging goes on at full speed, dropping what the buffer cannot
// hold, and Close gives up when its context ends.
func TestStuckReceiverNeverBlocks(t *testing.T) {
	release := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer stuck.Close()
	defer close(release)
	h := newHandler(t, Config{URL: stuck.URL + "/loki/api/v1/push", BatchSize: 10, BatchWait: time.Millisecond, Buffer: 100, Timeout: time.Hour})
	log := slog.New(h)
	const n = 20000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			log.Info("line", "i", i)
		}
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("logging blocked on a stuck Loki")
	}
	if d := h.Dropped(); d < n-200 {
		t.Errorf("dropped %d of %d with a buffer of 100", d, n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := h.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("Close took %v", d)
	}
	if h.Sent() != 0 || h.Dropped() != n {
		t.Errorf("sent %d dropped %d, want 0 and %d", h.Sent(), h.Dropped(), n)
	}
	if err := h.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelInfo, "late", 0)); !errors.Is(err, ErrClosed) || h.Dropped() != n+1 {
		t.Errorf("Handle after Close = %v, dropped %d", err, h.Dropped())
	}
}

// TestRetry: Loki fails twice with 503 and 429, then accepts: every line
// arrives once; a 400 drops its batch for good.
func TestRetry(t *testing.T) {
	srv := newLoki(t, func(n int) int {
		switch n {
		case 1:
			return 503
		case 2:
			return 429
		}
		return 204
	})
	var errs atomic.Int32
	h := newHandler(t, Config{URL: srv.URL + "/loki/api/v1/push", BatchWait: time.Millisecond, OnError: func(error) { errs.Add(1) }})
	slog.New(h).Info("once")
	closeNow(t, h)
	if lines := srv.lines(func(n int) bool { return n > 2 }); len(lines["info"]) != 1 || len(srv.pushes()) != 3 || errs.Load() != 2 {
		t.Errorf("pushes %d, accepted lines %v, errors %d", len(srv.pushes()), lines, errs.Load())
	}

	bad := newLoki(t, func(int) int { return 400 })
	h2 := newHandler(t, Config{URL: bad.URL + "/loki/api/v1/push"})
	slog.New(h2).Info("refused")
	closeNow(t, h2)
	if len(bad.pushes()) != 1 || h2.Dropped() != 1 || h2.Sent() != 0 {
		t.Errorf("400: %d pushes, dropped %d", len(bad.pushes()), h2.Dropped())
	}
}

// TestConcurrentLoggers: many goroutines, one handler: nothing lost with
// room in the buffer, each goroutine's lines in order.
func TestConcurrentLoggers(t *testing.T) {
	srv := newLoki(t, nil)
	h := newHandler(t, Config{URL: srv.URL + "/loki/api/v1/push", BatchSize: 50, Buffer: 100000})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			log := slog.New(h).With("g", g)
			for i := range 500 {
				log.Warn("x", "i", i)
			}
		}()
	}
	wg.Wait()
	closeNow(t, h)
	last := map[float64]float64{}
	lines := srv.lines(nil)["warn"]
	if len(lines) != 8*500 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, l := range lines {
		var v struct{ G, I float64 }
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatal(err)
		}
		if p, ok := last[v.G]; ok && v.I != p+1 {
			t.Fatalf("goroutine %v: line %v after %v", v.G, v.I, p)
		}
		last[v.G] = v.I
	}
}

func TestNewChecks(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no url":          {},
		"ftp":             {URL: "ftp://x/push"},
		"basic and token": {URL: "http://x/push", Username: "u", BearerToken: "t"},
		"bad label":       {URL: "http://x/push", Labels: map[string]string{"a-b": "x"}},
		"reserved label":  {URL: "http://x/push", Labels: map[string]string{"level": "x"}},
		"internal label":  {URL: "http://x/push", Labels: map[string]string{"__name__": "x"}},
	} {
		if h, err := New(cfg); err == nil {
			h.Close(context.Background())
			t.Errorf("%s accepted", name)
		}
	}
}
