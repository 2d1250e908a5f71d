package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/notify/notifytest"
)

// counts is a Metrics that remembers.
type counts struct {
	mu sync.Mutex
	m  map[Outcome]int
}

func (c *counts) Count(_ gofaxlib.TargetKind, o Outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[Outcome]int{}
	}
	c.m[o]++
}

func (c *counts) get(o Outcome) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[o]
}

// quiet discards the dispatcher's logs (every retry is a warning).
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fastSchedule keeps retries in milliseconds.
var fastSchedule = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}

func fastConfig(ob gofaxlib.Outbox, s map[gofaxlib.TargetKind]Sender, m Metrics) DispatcherConfig {
	return DispatcherConfig{
		Outbox: ob, Senders: s, Metrics: m, Schedule: fastSchedule,
		PollInterval: 20 * time.Millisecond, AttemptTimeout: 10 * time.Second, ShutdownGrace: 100 * time.Millisecond,
		Logger: quiet,
	}
}

// running starts d.Run and returns a stop function that cancels it and
// waits for Run to return.
func running(t testing.TB, d *Dispatcher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan error, 1)
	go func() { ended <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-ended:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(60 * time.Second):
				t.Fatal("Run did not return after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func newDispatcher(t testing.TB, cfg DispatcherConfig) *Dispatcher {
	t.Helper()
	d, err := NewDispatcher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func webhookTarget(url, secret string) gofaxlib.DeliveryTarget {
	return gofaxlib.DeliveryTarget{EndpointID: "ep-" + url, Kind: gofaxlib.TargetWebhook, Address: url, Secret: secret}
}

// dedup is a webhook receiver that fails the first fails requests of each
// event id with 500 and then answers 200, counting per id how many
// requests it accepted.
type dedup struct {
	mu       sync.Mutex
	tries    map[string]int
	accepted map[string]int
	badSig   int
}

func newDedup(t testing.TB, secret string, fails int) (*dedup, *receiver) {
	dd := &dedup{tries: map[string]int{}, accepted: map[string]int{}}
	rc := newReceiver(t, secret, func(w http.ResponseWriter, r *http.Request, _ int) {
		id := r.Header.Get("webhook-id")
		dd.mu.Lock()
		defer dd.mu.Unlock()
		dd.tries[id]++
		if dd.tries[id] <= fails {
			w.WriteHeader(500)
			return
		}
		dd.accepted[id]++
	})
	return dd, rc
}

func (dd *dedup) distinct() int {
	dd.mu.Lock()
	defer dd.mu.Unlock()
	return len(dd.accepted)
}

// TestDispatcherThousandEventsAcrossRestart measures reliability:
// 1,000 events, the receiver answers 500 to the first two tries of
// each, the dispatcher is stopped in the middle and started again on the
// same outbox. Every event arrives, none is dead, none is lost; a receiver
// that de-duplicates by webhook-id sees each once.
func TestDispatcherThousandEventsAcrossRestart(t *testing.T) {
	const events, fails = 1000, 2
	secret := testSecret(t)
	dd, rc := newDedup(t, secret, fails)
	ob := notifytest.NewOutbox()
	target := webhookTarget(rc.URL, secret)
	for i := range events {
		ob.Add(testEvent(fmt.Sprintf("evt_%04d", i)), target)
	}
	wh := NewWebhook(WebhookConfig{Policy: loopback})
	defer wh.Close()
	m := &counts{}
	cfg := fastConfig(ob, map[gofaxlib.TargetKind]Sender{gofaxlib.TargetWebhook: wh}, m)
	cfg.PerTarget = 8

	stop := running(t, newDispatcher(t, cfg))
	waitFor(t, 2*time.Minute, "a third delivered", func() bool { return ob.Count(gofaxlib.DeliveryDelivered) >= events/3 })
	stop()
	mid := ob.Count(gofaxlib.DeliveryDelivered)
	for _, d := range ob.All() {
		if d.Lease != "" && d.Status == gofaxlib.DeliveryPending {
			t.Errorf("delivery %s still leased after the stop (it was not released)", d.ID)
			break
		}
	}

	running(t, newDispatcher(t, cfg))
	waitFor(t, 3*time.Minute, "all delivered", func() bool { return ob.Count(gofaxlib.DeliveryDelivered) == events })

	if n := dd.distinct(); n != events {
		t.Errorf("receiver accepted %d distinct events, want %d", n, events)
	}
	dd.mu.Lock()
	dups := 0
	for id, n := range dd.accepted {
		if n > 1 {
			dups++
		}
		if dd.tries[id] < fails+1 {
			t.Errorf("%s accepted after %d tries", id, dd.tries[id])
		}
	}
	dd.mu.Unlock()
	for _, h := range rc.hooks() {
		if h.err != nil {
			t.Fatalf("bad signature: %v", h.err)
		}
	}
	if ob.Count(gofaxlib.DeliveryDead) != 0 {
		t.Errorf("%d dead", ob.Count(gofaxlib.DeliveryDead))
	}
	t.Logf("delivered %d before the restart, %d after; %d requests; accepted twice (duplicates the stable id reveals): %d; counted delivered %d retried %d dropped %d",
		mid, events-mid, len(rc.hooks()), dups, m.get(OutcomeDelivered), m.get(OutcomeRetried), m.get(OutcomeDropped))
	// An attempt cut short by the stop is released, not counted as a
	// retry, though the receiver may have counted its try.
	if m.get(OutcomeDelivered) != events || m.get(OutcomeRetried)+m.get(OutcomeDropped) < events*fails {
		t.Errorf("metrics: delivered %d retried %d dropped %d", m.get(OutcomeDelivered), m.get(OutcomeRetried), m.get(OutcomeDropped))
	}
}

// TestDispatcherRestartMidDelivery stops the dispatcher while the
// receiver holds a request: the attempt is cut short after the grace,
// released, and delivered by the next dispatcher at once (not after the
// lease).
func TestDispatcherRestartMidDelivery(t *testing.T) {
	secret := testSecret(t)
	var calls atomic.Int32
	hold := make(chan struct{})
	rc := newReceiver(t, secret, func(w http.ResponseWriter, r *http.Request, n int) {
		if calls.Add(1) == 1 {
			select { // the first request hangs until the client gives up
			case <-hold:
			case <-r.Context().Done():
			}
			w.WriteHeader(500)
		}
	})
	defer close(hold)
	ob := notifytest.NewOutbox()
	id := ob.Add(testEvent("evt_mid"), webhookTarget(rc.URL, secret))[0]
	wh := NewWebhook(WebhookConfig{Policy: loopback})
	m := &counts{}
	cfg := fastConfig(ob, map[gofaxlib.TargetKind]Sender{gofaxlib.TargetWebhook: wh}, m)
	cfg.Lease = time.Hour // a released delivery must not wait for it

	stop := running(t, newDispatcher(t, cfg))
	waitFor(t, time.Minute, "the first request", func() bool { return calls.Load() == 1 })
	stop()
	d, _ := ob.Get(id)
	if d.Status != gofaxlib.DeliveryPending || d.Lease != "" || d.Attempts != 0 {
		t.Fatalf("after the stop: %+v, want pending, released, no attempt counted", d)
	}
	if m.get(OutcomeDropped) != 1 {
		t.Errorf("dropped %d", m.get(OutcomeDropped))
	}
	running(t, newDispatcher(t, cfg))
	waitFor(t, time.Minute, "delivered after restart", func() bool {
		d, _ := ob.Get(id)
		return d.Status == gofaxlib.DeliveryDelivered
	})
	if calls.Load() != 2 {
		t.Errorf("%d requests", calls.Load())
	}
}

// TestDispatcherCrashBetweenSendAndRecord: the receiver got the request
// but the outcome never reached the outbox (a crash, or the database
// down). After the lease the delivery is sent again: at-least-once, with
// the same webhook-id, so the receiver can tell.
func TestDispatcherCrashBetweenSendAndRecord(t *testing.T) {
	secret := testSecret(t)
	rc := newReceiver(t, secret, nil)
	ob := notifytest.NewOutbox()
	var failed atomic.Bool
	ob.FailRecord = func(op string, _ gofaxlib.Delivery) error {
		if op == "delivered" && failed.CompareAndSwap(false, true) {
			return errors.New("database down")
		}
		return nil
	}
	// One clock for outbox and dispatcher, moved past the lease below.
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	ob.Now = now
	id := ob.Add(testEvent("evt_crash"), webhookTarget(rc.URL, secret))[0]
	wh := NewWebhook(WebhookConfig{Policy: loopback})
	m := &counts{}
	cfg := fastConfig(ob, map[gofaxlib.TargetKind]Sender{gofaxlib.TargetWebhook: wh}, m)
	cfg.Now, cfg.Lease = now, time.Hour
	running(t, newDispatcher(t, cfg))
	waitFor(t, time.Minute, "the unrecorded delivery", func() bool { return m.get(OutcomeDropped) == 1 })
	if d, _ := ob.Get(id); d.Status != gofaxlib.DeliveryPending || d.Lease == "" {
		t.Fatalf("after the lost record: %+v, want pending and still leased", d)
	}
	offset.Store(int64(2 * time.Hour)) // the lease runs out
	waitFor(t, time.Minute, "delivered", func() bool {
		d, _ := ob.Get(id)
		return d.Status == gofaxlib.DeliveryDelivered
	})
	hooks := rc.hooks()
	if len(hooks) != 2 || hooks[0].header.Get("webhook-id") != hooks[1].header.Get("webhook-id") {
		t.Errorf("%d requests, want the same id twice", len(hooks))
	}
	if ob.Claims(id) != 2 || m.get(OutcomeDelivered) != 1 {
		t.Errorf("claims %d delivered %d", ob.Claims(id), m.get(OutcomeDelivered))
	}
}

func TestDispatcherDeadLetter(t *testing.T) {
	secret := testSecret(t)
	rc := newReceiver(t, secret, func(w http.ResponseWriter, r *http.Request, n int) { w.WriteHeader(503) })
	ob := notifytest.NewOutbox()
	id := ob.Add(testEvent("evt_dead"), webhookTarget(rc.URL, secret))[0]
	wh := NewWebhook(WebhookConfig{Policy: loopback})
	m := &counts{}
	running(t, newDispatcher(t, fastConfig(ob, map[gofaxlib.TargetKind]Sender{gofaxlib.TargetWebhook: wh}, m)))
	waitFor(t, time.Minute, "dead", func() bool { return ob.Count(gofaxlib.DeliveryDead) == 1 })
	d, _ := ob.Get(id)
	if d.Attempts != len(fastSchedule)+1 || !strings.Contains(d.LastError, "503") || !strings.Contains(d.LastError, "the last") {
		t.Errorf("dead delivery: attempts %d, error %q", d.Attempts, d.LastError)
	}
	if n := len(rc.hooks()); n != len(fastSchedule)+1 {
		t.Errorf("%d requests", n)
	}
	if m.get(OutcomeDead) != 1 || m.get(OutcomeRetried) != len(fastSchedule) {
		t.Errorf("metrics %v", m.m)
	}
	// Re-delivered through the API: pending again, tried again.
	if err := ob.Redeliver(id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "dead again", func() bool {
		d, _ := ob.Get(id)
		return d.Status == gofaxlib.DeliveryDead && d.Attempts > len(fastSchedule)+1
	})
}

func TestDispatcherGoneDisablesEndpoint(t *testing.T) {
	secret := testSecret(t)
	rc := newReceiver(t, secret, func(w http.ResponseWriter, r *http.Request, n int) { w.WriteHeader(410) })
	ob := notifytest.NewOutbox()
	target := webhookTarget(rc.URL, secret)
	first := ob.Add(testEvent("evt_g1"), target)[0]
	wh := NewWebhook(WebhookConfig{Policy: loopback})
	cfg := fastConfig(ob, map[gofaxlib.TargetKind]Sender{gofaxlib.TargetWebhook: wh}, nil)
	cfg.PerTarget = 1
	d := newDispatcher(t, cfg)
	running(t, d)
	waitFor(t, time.Minute, "dead", func() bool { return ob.Count(gofaxlib.DeliveryDead) == 1 })
	if r, off := ob.Disabled(target.EndpointID); !off || !strings.Contains(r, "410") {
		t.Errorf("endpoint disabled %v (%q)", off, r)
	}
	dl, _ := ob.Get(first)
	if dl.Attempts != 1 {
		t.Errorf("attempts %d", dl.Attempts)
	}
	// Later events for the disabled endpoint wait; nothing is sent.
	ob.Add(testEvent("evt_g2"), target)
	d.Wake()
	time.Sleep(100 * time.Millisecond)
	if n := len(rc.hooks()); n != 1 {
		t.Errorf("%d requests to a disabled endpoint", n)
	}
}

// slowSender records how many sends run at once, overall and per
// endpoint.
type slowSender struct {
	mu      sync.Mutex
	now     map[string]int
	total   int
	maxEP   int
	maxAll  int
	sent    int
	release chan struct{}
}

func (s *slowSender) Send(ctx context.Context, d gofaxlib.Delivery, _ []Attachment) error {
	ep := d.Target.EndpointID
	s.mu.Lock()
	s.now[ep]++
	s.total++
	s.maxEP = max(s.maxEP, s.now[ep])
	s.maxAll = max(s.maxAll, s.total)
	s.mu.Unlock()
	select {
	case <-s.release:
	case <-time.After(5 * time.Millisecond):
	case <-ctx.Done():
	}
	s.mu.Lock()
	s.now[ep]--
	s.total--
	s.sent++
	s.mu.Unlock()
	return nil
}

func TestDispatcherConcurrencyBounds(t *testing.T) {
	ob := notifytest.NewOutbox()
	for i := range 60 {
		ep := fmt.Sprintf("ep%d", i%3)
		ob.Add(testEvent(fmt.Sprintf("evt_c%d", i)), gofaxlib.DeliveryTarget{EndpointID: ep, Kind: gofaxlib.TargetWebhook})
	}
	s := &slowSender{now: map[string]int{}}
	cfg := fastConfig(ob, map[gofaxlib.TargetKind]Sender{gofaxlib.TargetWebhook: s}, nil)
	cfg.Workers, cfg.PerTarget = 5, 2
	running(t, newDispatcher(t, cfg))
	waitFor(t, time.Minute, "all delivered", func() bool { return ob.Count(gofaxlib.DeliveryDelivered) == 60 })
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.maxEP > 2 || s.maxAll > 5 || s.sent != 60 {
		t.Errorf("max per endpoint %d (bound 2), overall %d (bound 5), sent %d", s.maxEP, s.maxAll, s.sent)
	}
}

// TestDispatcherSlowTargetDoesNotHoldOthers: one endpoint never answers;
// the others' receipts go out meanwhile.
func TestDispatcherSlowTargetDoesNotHoldOthers(t *testing.T) {
	ob := notifytest.NewOutbox()
	stuck := &slowSender{now: map[string]int{}, release: make(chan struct{})}
	for i := range 20 {
		ob.Add(testEvent(fmt.Sprintf("evt_s%d", i)), gofaxlib.DeliveryTarget{EndpointID: "stuck", Kind: "stuck"})
	}
	ok := &slowSender{now: map[string]int{}}
	var ids []string
	for i := range 20 {
		ids = append(ids, ob.Add(testEvent(fmt.Sprintf("evt_o%d", i)), gofaxlib.DeliveryTarget{EndpointID: "fine", Kind: gofaxlib.TargetWebhook})...)
	}
	cfg := fastConfig(ob, map[gofaxlib.TargetKind]Sender{gofaxlib.TargetWebhook: ok, "stuck": senderFunc(func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})}, nil)
	cfg.Workers, cfg.PerTarget = 4, 2
	cfg.AttemptTimeout, cfg.Lease = time.Hour, 2*time.Hour
	running(t, newDispatcher(t, cfg))
	waitFor(t, time.Minute, "the other endpoint's receipts", func() bool { return ob.Count(gofaxlib.DeliveryDelivered) == 20 })
	for _, id := range ids {
		if d, _ := ob.Get(id); d.Status != gofaxlib.DeliveryDelivered {
			t.Errorf("%s %s", id, d.Status)
		}
	}
	close(stuck.release)
}

type senderFunc func(ctx context.Context) error

func (f senderFunc) Send(ctx context.Context, _ gofaxlib.Delivery, _ []Attachment) error {
	return f(ctx)
}

func TestDispatcherPermanentFailures(t *testing.T) {
	secret := testSecret(t)
	rc := newReceiver(t, secret, nil)
	ob := notifytest.NewOutbox()
	blocked := ob.Add(testEvent("evt_p1"), webhookTarget(rc.URL, secret))[0]
	noSender := ob.Add(testEvent("evt_p2"), gofaxlib.DeliveryTarget{EndpointID: "mail", Kind: gofaxlib.TargetEmail, Address: "a@example.com"})[0]
	noDocs := ob.Add(testEvent("evt_p3"), gofaxlib.DeliveryTarget{EndpointID: "x", Kind: gofaxlib.TargetWebhook, Address: rc.URL, Secret: secret, Attach: gofaxlib.AttachPDF})[0]
	wh := NewWebhook(WebhookConfig{}) // default policy: loopback refused
	running(t, newDispatcher(t, fastConfig(ob, map[gofaxlib.TargetKind]Sender{gofaxlib.TargetWebhook: wh}, nil)))
	waitFor(t, time.Minute, "three dead", func() bool { return ob.Count(gofaxlib.DeliveryDead) == 3 })
	for id, want := range map[string]string{blocked: "address not allowed", noSender: `no sender for "email"`, noDocs: "no document source"} {
		d, _ := ob.Get(id)
		if d.Attempts != 1 || !strings.Contains(d.LastError, want) {
			t.Errorf("%s: attempts %d, error %q, want %q", id, d.Attempts, d.LastError, want)
		}
	}
	if len(rc.hooks()) != 0 {
		t.Errorf("%d requests", len(rc.hooks()))
	}
}

func TestDispatcherAttachments(t *testing.T) {
	secret := testSecret(t)
	rc := newReceiver(t, secret, nil)
	ob := notifytest.NewOutbox()
	target := webhookTarget(rc.URL, secret)
	target.Attach = gofaxlib.AttachFirstPage
	ob.Add(testEvent("evt_att"), target)
	var asked []Document
	var mu sync.Mutex
	docs := DocumentsFunc(func(ctx context.Context, ev gofaxlib.Event, which Document) (Attachment, error) {
		mu.Lock()
		asked = append(asked, which)
		n := len(asked)
		mu.Unlock()
		if n == 1 {
			return Attachment{}, errors.New("archive not mounted")
		}
		return Attachment{Data: []byte("%PDF-page1")}, nil
	})
	cfg := fastConfig(ob, map[gofaxlib.TargetKind]Sender{gofaxlib.TargetWebhook: NewWebhook(WebhookConfig{Policy: loopback})}, nil)
	cfg.Docs = docs
	running(t, newDispatcher(t, cfg))
	waitFor(t, time.Minute, "delivered", func() bool { return ob.Count(gofaxlib.DeliveryDelivered) == 1 })
	h := rc.hooks()
	if len(h) != 1 || !strings.Contains(string(h[0].body), `"filename":"fax-fax-evt_att-page1.pdf"`) {
		t.Errorf("requests %d: %s", len(h), h[0].body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 2 || asked[0] != DocFirstPage {
		t.Errorf("documents asked %v (the first failure is retried)", asked)
	}
}

// TestDispatcherNoDocument: a fax without the document asked for (no page
// arrived, the archive entry is gone) is receipted without it, the other
// files still attached, and not retried.
func TestDispatcherNoDocument(t *testing.T) {
	secret := testSecret(t)
	rc := newReceiver(t, secret, nil)
	ob := notifytest.NewOutbox()
	target := webhookTarget(rc.URL, secret)
	target.Attach = gofaxlib.AttachPDF
	target.Report = true
	ob.Add(testEvent("evt_nodoc"), target)
	docs := DocumentsFunc(func(ctx context.Context, ev gofaxlib.Event, which Document) (Attachment, error) {
		if which == DocFax {
			return Attachment{}, fmt.Errorf("archive entry purged: %w", ErrNoDocument)
		}
		return Attachment{Name: "report.pdf", Data: []byte("%PDF-report")}, nil
	})
	m := &counts{}
	cfg := fastConfig(ob, map[gofaxlib.TargetKind]Sender{gofaxlib.TargetWebhook: NewWebhook(WebhookConfig{Policy: loopback})}, m)
	cfg.Docs = docs
	running(t, newDispatcher(t, cfg))
	waitFor(t, time.Minute, "delivered", func() bool { return ob.Count(gofaxlib.DeliveryDelivered) == 1 })
	h := rc.hooks()
	if len(h) != 1 || !strings.Contains(string(h[0].body), `"filename":"report.pdf"`) || strings.Count(string(h[0].body), `"filename"`) != 1 {
		t.Errorf("requests %d: %.300s", len(h), h[0].body)
	}
	if m.get(OutcomeRetried) != 0 || m.get(OutcomeDelivered) != 1 {
		t.Errorf("outcomes %v", m.m)
	}
}

func TestDispatcherOutboxDown(t *testing.T) {
	secret := testSecret(t)
	rc := newReceiver(t, secret, nil)
	ob := notifytest.NewOutbox()
	var down atomic.Bool
	down.Store(true)
	var tries atomic.Int32
	ob.FailClaim = func() error {
		tries.Add(1)
		if down.Load() {
			return errors.New("connection refused")
		}
		return nil
	}
	ob.Add(testEvent("evt_down"), webhookTarget(rc.URL, secret))
	running(t, newDispatcher(t, fastConfig(ob, map[gofaxlib.TargetKind]Sender{gofaxlib.TargetWebhook: NewWebhook(WebhookConfig{Policy: loopback})}, nil)))
	waitFor(t, time.Minute, "claims tried", func() bool { return tries.Load() >= 3 })
	down.Store(false)
	waitFor(t, time.Minute, "delivered", func() bool { return ob.Count(gofaxlib.DeliveryDelivered) == 1 })
}

func TestDispatcherWakeNeverBlocks(t *testing.T) {
	d := newDispatcher(t, DispatcherConfig{Outbox: notifytest.NewOutbox()})
	done := make(chan struct{})
	go func() {
		for range 10000 {
			d.Wake()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Wake blocked without Run")
	}
}

func TestBackoff(t *testing.T) {
	d := newDispatcher(t, DispatcherConfig{Outbox: notifytest.NewOutbox(), Rand: func() float64 { return 0.999 }})
	total := time.Duration(0)
	for n := 1; n <= len(DefaultSchedule); n++ {
		w := d.backoff(n, errors.New("x"))
		step := DefaultSchedule[n-1]
		if w < step || w > step+step/5 {
			t.Errorf("wait after attempt %d = %v, want %v..%v", n, w, step, step+step/5)
		}
		total += step
	}
	if total < 24*time.Hour {
		t.Errorf("default schedule spans %v, want at least 24 h", total)
	}
	for _, tt := range []struct{ ra, want time.Duration }{
		{30 * time.Second, 30 * time.Second},
		{time.Millisecond, time.Second},
		{48 * time.Hour, DefaultMaxRetryAfter},
	} {
		if got := d.backoff(1, &RetryAfterError{After: tt.ra, Err: errors.New("503")}); got != tt.want {
			t.Errorf("Retry-After %v: wait %v, want %v", tt.ra, got, tt.want)
		}
	}
}

func TestNewDispatcherChecks(t *testing.T) {
	ob := notifytest.NewOutbox()
	for name, cfg := range map[string]DispatcherConfig{
		"no outbox":   {},
		"zero step":   {Outbox: ob, Schedule: []time.Duration{time.Second, 0}},
		"jitter":      {Outbox: ob, Jitter: 1.5},
		"short lease": {Outbox: ob, AttemptTimeout: time.Minute, Lease: time.Minute},
	} {
		if _, err := NewDispatcher(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
