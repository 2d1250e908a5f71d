package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/notify"
)

// hookReceiver is a webhook receiver that checks every signature, fails
// the first fails tries of each event with 500 and then accepts it,
// counting per webhook-id.
type hookReceiver struct {
	secret string
	fails  int

	mu       sync.Mutex
	tries    map[string]int
	accepted map[string]int
	requests int
	badSig   []string
	types    map[string]string // webhook-id → envelope type
	gate     chan struct{}     // non-nil: requests wait until it is closed
	held     atomic.Int32      // requests that waited at a gate
}

// hold makes requests from now on wait until release.
func (h *hookReceiver) hold() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gate = make(chan struct{})
}

func (h *hookReceiver) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	close(h.gate)
	h.gate = nil
}

const maxHookBody = 1 << 20 // a receipt without attachments is a few KiB

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxHookBody))
	id := r.Header.Get("webhook-id")
	h.mu.Lock()
	if g := h.gate; g != nil {
		h.mu.Unlock()
		h.held.Add(1)
		select {
		case <-g:
		case <-r.Context().Done():
		}
		h.mu.Lock()
	}
	defer h.mu.Unlock()
	h.requests++
	if err == nil {
		err = notify.Verify(h.secret, id, r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), body, time.Now())
	}
	if err != nil {
		h.badSig = append(h.badSig, fmt.Sprintf("%s: %v", id, err))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var env struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	if json.Unmarshal(body, &env) != nil || env.ID != id {
		h.badSig = append(h.badSig, fmt.Sprintf("%s: envelope id %q", id, env.ID))
	}
	h.types[id] = env.Type
	h.tries[id]++
	if h.tries[id] <= h.fails {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	h.accepted[id]++
}

// crashable passes calls to an Outbox until crashed; then every call fails
// as if the process had died (nothing more recorded, leases left behind).
type crashable struct {
	gofaxlib.Outbox
	crashed atomic.Bool
}

var errCrashed = errors.New("crashed")

func (c *crashable) Claim(ctx context.Context, r gofaxlib.ClaimRequest) ([]gofaxlib.Delivery, error) {
	if c.crashed.Load() {
		return nil, errCrashed
	}
	return c.Outbox.Claim(ctx, r)
}

func (c *crashable) Delivered(ctx context.Context, d gofaxlib.Delivery) error {
	if c.crashed.Load() {
		return errCrashed
	}
	return c.Outbox.Delivered(ctx, d)
}

func (c *crashable) Retry(ctx context.Context, d gofaxlib.Delivery, next time.Time, reason string) error {
	if c.crashed.Load() {
		return errCrashed
	}
	return c.Outbox.Retry(ctx, d, next, reason)
}

func (c *crashable) Dead(ctx context.Context, d gofaxlib.Delivery, reason string) error {
	if c.crashed.Load() {
		return errCrashed
	}
	return c.Outbox.Dead(ctx, d, reason)
}

func (c *crashable) Release(ctx context.Context, d gofaxlib.Delivery) error {
	if c.crashed.Load() {
		return errCrashed
	}
	return c.Outbox.Release(ctx, d)
}

// TestDispatcherThousandReceipts measures reliability on the real
// outbox: 1,000 receptions recorded with RecordFax, each a fax.received
// event for a webhook whose receiver answers 500 to the first two tries of
// every event. The real notify.Dispatcher delivers them from PostgreSQL,
// stopped in the middle and started again, then killed (its outbox calls
// failing from one moment on, leases left behind) and started again. A
// receiver de-duplicating by webhook-id sees every event, none dead.
func TestDispatcherThousandReceipts(t *testing.T) {
	t.Parallel()
	const events, fails = 1000, 2
	s, _ := newStore(t)
	ctx := testCtx(t)
	w := makeWorld(t, s)
	op := gofaxlib.OperatorScope()

	rc := &hookReceiver{fails: fails, tries: map[string]int{}, accepted: map[string]int{}, types: map[string]string{}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	hook := gofaxlib.Endpoint{Scope: gofaxlib.ScopeTenant, TenantID: w.tenant[0].ID, Kind: gofaxlib.KindWebhook,
		Target: srv.URL + "/hook", Enabled: true}
	must(t, s.CreateEndpoint(ctx, op, &hook))
	rc.secret = hook.Secret
	must(t, s.DeleteEndpoint(ctx, op, w.endpoint[0].ID)) // the number's own endpoint would win over the tenant's

	// The receptions, recorded by 8 writers at once.
	start := time.Now()
	var wg sync.WaitGroup
	recErrs := make(chan error, events)
	for wr := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := wr; i < events; i += 8 {
				f := reception(t, w)
				if _, err := s.RecordFax(ctx, fmt.Sprintf("rx-%04d", i), &f); err != nil {
					recErrs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(recErrs)
	for err := range recErrs {
		t.Fatal(err)
	}
	recorded := time.Since(start)
	if n := count(t, s, "SELECT count(*) FROM deliveries WHERE endpoint_id = $1", hook.ID); n != events {
		t.Fatalf("%d deliveries written, want %d", n, events)
	}

	wh := notify.NewWebhook(notify.WebhookConfig{Policy: notify.AddressPolicy{
		Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}})
	defer wh.Close()
	var outcomes sync.Map // notify.Outcome → *atomic.Int64
	metrics := metricsFunc(func(_ gofaxlib.TargetKind, o notify.Outcome) {
		v, _ := outcomes.LoadOrStore(o, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	})
	const lease = 6 * time.Second
	run := func(ob gofaxlib.Outbox) (stop func()) {
		d, err := notify.NewDispatcher(notify.DispatcherConfig{
			Outbox:  ob,
			Senders: map[gofaxlib.TargetKind]notify.Sender{gofaxlib.TargetWebhook: wh},
			Metrics: metrics,
			Logger:  slog.New(slog.DiscardHandler),
			// Seconds, not hours: delivered on the third try about 3 s
			// after the first.
			Schedule:       []time.Duration{time.Second, 2 * time.Second, 2 * time.Second, 5 * time.Second},
			Workers:        16,
			PerTarget:      16,
			AttemptTimeout: 5 * time.Second,
			Lease:          lease,
			PollInterval:   100 * time.Millisecond,
			ShutdownGrace:  time.Second,
		})
		must(t, err)
		rctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := d.Run(rctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		}()
		return func() {
			cancel()
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Fatal("dispatcher did not stop")
			}
		}
	}
	delivered := func() int {
		return count(t, s, "SELECT count(*) FROM deliveries WHERE status = 'delivered'")
	}
	leased := func() int {
		return count(t, s, "SELECT count(*) FROM deliveries WHERE status = 'pending' AND lease IS NOT NULL")
	}
	waitUntil := func(limit time.Duration, what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out after %v waiting for %s (%d delivered)", limit, what, delivered())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// 1: a third, then a clean stop: what was being tried is released.
	start = time.Now()
	stop := run(s)
	waitUntil(3*time.Minute, "a third delivered", func() bool { return delivered() >= events/3 })
	stop()
	phase1 := delivered()
	if n := leased(); n != 0 {
		t.Errorf("%d deliveries still leased after a clean stop", n)
	}
	// 2: started again on the same database; at two thirds it dies while
	// the receiver holds some of its requests: they are answered after
	// the death, so their outcomes are never recorded.
	crash := &crashable{Outbox: s}
	stop = run(crash)
	waitUntil(3*time.Minute, "two thirds delivered", func() bool { return delivered() >= 2*events/3 })
	rc.hold()
	waitUntil(time.Minute, "requests in flight", func() bool { return rc.held.Load() >= 4 })
	crash.crashed.Store(true)
	rc.release()
	stop()
	phase2 := delivered()
	orphans := leased()
	if orphans < 4 {
		t.Errorf("%d leases left by the dead dispatcher, want at least the 4 held requests'", orphans)
	}
	// 3: started again: the dead one's leases run out, and all arrive.
	stop = run(s)
	waitUntil(5*time.Minute, "all delivered", func() bool { return delivered() == events })
	stop()
	took := time.Since(start)

	if n := count(t, s, "SELECT count(*) FROM deliveries WHERE status <> 'delivered' OR lease IS NOT NULL"); n != 0 {
		t.Errorf("%d deliveries not delivered or still leased", n)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, b := range rc.badSig {
		t.Errorf("bad request: %s", b)
	}
	dups := 0
	for id, n := range rc.accepted {
		if n > 1 {
			dups++
		}
		if rc.tries[id] < fails+1 || rc.types[id] != string(gofaxlib.EventReceived) {
			t.Errorf("%s accepted after %d tries, type %q", id, rc.tries[id], rc.types[id])
		}
	}
	if len(rc.accepted) != events {
		t.Errorf("receiver accepted %d distinct events, want %d", len(rc.accepted), events)
	}
	var ids []string
	rows, err := s.DB().QueryContext(ctx, "SELECT id FROM events")
	must(t, err)
	ids, err = collect(rows, func(r scanner) (string, error) { var id string; return id, r.Scan(&id) })
	must(t, err)
	for _, id := range ids {
		if rc.accepted[id] == 0 {
			t.Errorf("event %s never accepted", id)
		}
	}
	get := func(o notify.Outcome) int64 {
		if v, ok := outcomes.Load(o); ok {
			return v.(*atomic.Int64).Load()
		}
		return 0
	}
	var attempts int
	must(t, s.DB().QueryRowContext(ctx, "SELECT sum(attempts) FROM deliveries").Scan(&attempts))
	t.Logf("%d receptions recorded in %v; delivered in %v: %d before the stop, %d before the crash (%d leases orphaned), %d after; "+
		"%d requests, %d attempts recorded; accepted more than once (duplicates the stable id reveals): %d; "+
		"outcomes delivered %d retried %d dropped %d dead %d",
		events, recorded.Round(time.Millisecond), took.Round(time.Millisecond), phase1, phase2-phase1, orphans, events-phase2,
		rc.requests, attempts, dups, get(notify.OutcomeDelivered), get(notify.OutcomeRetried), get(notify.OutcomeDropped),
		get(notify.OutcomeDead))
	if get(notify.OutcomeDead) != 0 {
		t.Errorf("%d dead", get(notify.OutcomeDead))
	}
}

type metricsFunc func(gofaxlib.TargetKind, notify.Outcome)

func (f metricsFunc) Count(k gofaxlib.TargetKind, o notify.Outcome) { f(k, o) }
