package notifytest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// Harness is an Outbox under test with the means to fill and inspect it
// that the interface does not give.
type Harness struct {
	Outbox gofaxlib.Outbox
	// Target makes a new enabled endpoint of kind and returns it as
	// deliveries to it are claimed.
	Target func(kind gofaxlib.TargetKind) gofaxlib.DeliveryTarget
	// Add writes a new event of type typ with payload and a delivery to
	// each target, due at the harness's clock, and returns the event as
	// claims return it and the delivery ids, in the order of targets.
	Add func(typ gofaxlib.EventType, payload json.RawMessage, targets ...gofaxlib.DeliveryTarget) (gofaxlib.Event, []string)
	// Get returns the stored state of delivery id: Status, Attempts,
	// NextAttempt, LastError and Lease ("" when not leased).
	Get func(id string) gofaxlib.Delivery
	// Redeliver makes delivery id pending and due again, as the API's
	// POST /v1/events/{id}/redeliver does for its event.
	Redeliver func(id string)
}

// NewHarness returns a Harness of a new Outbox on clock now.
type NewHarness func(t *testing.T, now func() time.Time) Harness

// conformanceStart is the clock's start: whole seconds, so every time
// survives a database's microseconds.
var conformanceStart = time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)

// clock is a settable clock safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// RunConformance checks that the Outboxes newHarness makes behave as the
// in-memory Outbox of this package does: the semantics gofaxlib.Outbox
// documents and notify.Dispatcher relies on. Each case gets a new
// Harness. The PostgreSQL adapter's tests run it too, so that the two
// cannot drift apart.
func RunConformance(t *testing.T, newHarness NewHarness) {
	for _, c := range conformanceCases {
		t.Run(c.name, func(t *testing.T) {
			clk := &clock{t: conformanceStart}
			h := newHarness(t, clk.now)
			c.run(t, &conformance{h: h, clk: clk, ctx: context.Background()})
		})
	}
}

type conformance struct {
	h   Harness
	clk *clock
	ctx context.Context
}

const testLease = time.Minute

func (c *conformance) claim(t *testing.T, limit, perTarget int, busy map[string]int) []gofaxlib.Delivery {
	t.Helper()
	ds, err := c.h.Outbox.Claim(c.ctx, gofaxlib.ClaimRequest{Now: c.clk.now(), Limit: limit, Lease: testLease,
		PerTarget: perTarget, Busy: busy})
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	return ds
}

// claimIDs claims and returns the ids of what it got, in order.
func (c *conformance) claimIDs(t *testing.T, limit, perTarget int, busy map[string]int) []string {
	t.Helper()
	var ids []string
	for _, d := range c.claim(t, limit, perTarget, busy) {
		ids = append(ids, d.ID)
	}
	return ids
}

// one claims exactly delivery id.
func (c *conformance) one(t *testing.T, id string) gofaxlib.Delivery {
	t.Helper()
	ds := c.claim(t, 10, 0, nil)
	if len(ds) != 1 || ds[0].ID != id {
		t.Fatalf("claimed %v, want just %s", idsOf(ds), id)
	}
	return ds[0]
}

func idsOf(ds []gofaxlib.Delivery) []string {
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	return ids
}

func (c *conformance) add(t *testing.T, targets ...gofaxlib.DeliveryTarget) (gofaxlib.Event, []string) {
	t.Helper()
	return c.h.Add(gofaxlib.EventReceived, json.RawMessage(`{"id":"fax","status":"received","pages":{"total":2,"transferred":2}}`), targets...)
}

func wantState(t *testing.T, what string, d gofaxlib.Delivery, status gofaxlib.DeliveryStatus, attempts int, lastError string) {
	t.Helper()
	if d.Status != status || d.Attempts != attempts || d.LastError != lastError || d.Lease != "" {
		t.Errorf("%s: status %q attempts %d last error %q lease %q; want %q, %d, %q, not leased",
			what, d.Status, d.Attempts, d.LastError, d.Lease, status, attempts, lastError)
	}
}

func wantLost(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, gofaxlib.ErrLeaseLost) {
		t.Errorf("%s: %v, want ErrLeaseLost", what, err)
	}
}

func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func sameEvent(a, b gofaxlib.Event) bool {
	return a.ID == b.ID && a.Type == b.Type && a.TenantID == b.TenantID && a.FaxID == b.FaxID &&
		a.Time.Equal(b.Time) && a.TimeZone == b.TimeZone && sameJSON(a.Payload, b.Payload)
}

var conformanceCases = []struct {
	name string
	run  func(t *testing.T, c *conformance)
}{
	{"claim returns due deliveries oldest first, leased", func(t *testing.T, c *conformance) {
		a, b := c.h.Target(gofaxlib.TargetWebhook), c.h.Target(gofaxlib.TargetEmail)
		ev1, ids1 := c.add(t, a, b)
		c.clk.add(time.Second)
		ev2, ids2 := c.add(t, a)
		now := c.clk.add(time.Second)
		ds := c.claim(t, 10, 0, nil)
		want := []struct {
			id     string
			ev     gofaxlib.Event
			target gofaxlib.DeliveryTarget
			due    time.Time
		}{
			{ids1[0], ev1, a, conformanceStart},
			{ids1[1], ev1, b, conformanceStart},
			{ids2[0], ev2, a, conformanceStart.Add(time.Second)},
		}
		if len(ds) != len(want) {
			t.Fatalf("claimed %v, want %d", idsOf(ds), len(want))
		}
		for i, w := range want {
			d := ds[i]
			if d.ID != w.id {
				t.Errorf("claim %d is %s, want %s", i, d.ID, w.id)
				continue
			}
			if !sameEvent(d.Event, w.ev) {
				t.Errorf("claim %d: event %+v, want %+v", i, d.Event, w.ev)
			}
			if d.Target != w.target {
				t.Errorf("claim %d: target %+v, want %+v", i, d.Target, w.target)
			}
			if d.Status != gofaxlib.DeliveryPending || d.Attempts != 0 || d.LastError != "" || !d.NextAttempt.Equal(w.due) {
				t.Errorf("claim %d: status %q attempts %d error %q due %v", i, d.Status, d.Attempts, d.LastError, d.NextAttempt)
			}
			if d.Lease == "" || !d.LeaseUntil.Equal(now.Add(testLease)) {
				t.Errorf("claim %d: lease %q until %v, want until %v", i, d.Lease, d.LeaseUntil, now.Add(testLease))
			}
			if g := c.h.Get(d.ID); g.Lease != d.Lease {
				t.Errorf("claim %d: stored lease %q, claimed %q", i, g.Lease, d.Lease)
			}
		}
		if again := c.claim(t, 10, 0, nil); len(again) != 0 {
			t.Errorf("leased deliveries claimed again: %v", idsOf(again))
		}
	}},
	{"limit", func(t *testing.T, c *conformance) {
		a := c.h.Target(gofaxlib.TargetWebhook)
		var ids []string
		for range 5 {
			_, id := c.add(t, a)
			ids = append(ids, id...)
			c.clk.add(time.Second)
		}
		for _, want := range [][]string{ids[:2], ids[2:4], ids[4:]} {
			if got := c.claimIDs(t, 2, 0, nil); !reflect.DeepEqual(got, want) {
				t.Errorf("claimed %v, want %v", got, want)
			}
		}
		if got := c.claimIDs(t, 0, 0, nil); len(got) != 0 {
			t.Errorf("limit 0 claimed %v", got)
		}
	}},
	{"not due before its time", func(t *testing.T, c *conformance) {
		a := c.h.Target(gofaxlib.TargetWebhook)
		c.clk.add(time.Hour)
		_, ids := c.add(t, a) // due in an hour from the start
		c.clk.add(-time.Minute)
		if got := c.claimIDs(t, 10, 0, nil); len(got) != 0 {
			t.Errorf("claimed %v before it was due", got)
		}
		c.clk.add(time.Minute)
		c.one(t, ids[0])
	}},
	{"per target cap counts busy deliveries", func(t *testing.T, c *conformance) {
		a, b := c.h.Target(gofaxlib.TargetWebhook), c.h.Target(gofaxlib.TargetWebhook)
		var as, bs []string
		for range 4 {
			_, id := c.add(t, a)
			as = append(as, id...)
			c.clk.add(time.Second)
		}
		for range 2 {
			_, id := c.add(t, b)
			bs = append(bs, id...)
			c.clk.add(time.Second)
		}
		got := c.claimIDs(t, 10, 2, map[string]int{a.EndpointID: 1})
		if want := []string{as[0], bs[0], bs[1]}; !reflect.DeepEqual(got, want) {
			t.Errorf("claimed %v, want %v (one of a, two of b)", got, want)
		}
		if got := c.claimIDs(t, 10, 2, map[string]int{a.EndpointID: 2, b.EndpointID: 2}); len(got) != 0 {
			t.Errorf("claimed %v with both endpoints at their cap", got)
		}
		if got := c.claimIDs(t, 10, 2, map[string]int{a.EndpointID: 1, b.EndpointID: 2}); !reflect.DeepEqual(got, as[1:2]) {
			t.Errorf("claimed %v, want %v", got, as[1:2])
		}
		if got := c.claimIDs(t, 10, 0, map[string]int{a.EndpointID: 5}); !reflect.DeepEqual(got, as[2:]) {
			t.Errorf("without a cap claimed %v, want %v", got, as[2:])
		}
	}},
	{"delivered", func(t *testing.T, c *conformance) {
		_, ids := c.add(t, c.h.Target(gofaxlib.TargetWebhook))
		d := c.one(t, ids[0])
		if err := c.h.Outbox.Delivered(c.ctx, d); err != nil {
			t.Fatalf("Delivered: %v", err)
		}
		wantState(t, "delivered", c.h.Get(d.ID), gofaxlib.DeliveryDelivered, 1, "")
		c.clk.add(24 * time.Hour)
		if got := c.claimIDs(t, 10, 0, nil); len(got) != 0 {
			t.Errorf("delivered delivery claimed again: %v", got)
		}
		wantLost(t, "Delivered twice", c.h.Outbox.Delivered(c.ctx, d))
		wantLost(t, "Retry after Delivered", c.h.Outbox.Retry(c.ctx, d, c.clk.now(), "x"))
		wantLost(t, "Dead after Delivered", c.h.Outbox.Dead(c.ctx, d, "x"))
		wantLost(t, "Release after Delivered", c.h.Outbox.Release(c.ctx, d))
		wantState(t, "delivered after late records", c.h.Get(d.ID), gofaxlib.DeliveryDelivered, 1, "")
	}},
	{"retry", func(t *testing.T, c *conformance) {
		_, ids := c.add(t, c.h.Target(gofaxlib.TargetWebhook))
		d := c.one(t, ids[0])
		next := c.clk.now().Add(5 * time.Second)
		if err := c.h.Outbox.Retry(c.ctx, d, next, "webhook answered 500"); err != nil {
			t.Fatalf("Retry: %v", err)
		}
		g := c.h.Get(d.ID)
		wantState(t, "retried", g, gofaxlib.DeliveryPending, 1, "webhook answered 500")
		if !g.NextAttempt.Equal(next) {
			t.Errorf("next attempt %v, want %v", g.NextAttempt, next)
		}
		if got := c.claimIDs(t, 10, 0, nil); len(got) != 0 {
			t.Errorf("claimed %v before the retry was due", got)
		}
		wantLost(t, "Delivered after Retry", c.h.Outbox.Delivered(c.ctx, d))
		c.clk.add(5 * time.Second)
		d2 := c.one(t, d.ID)
		if d2.Attempts != 1 || d2.LastError != "webhook answered 500" || !d2.NextAttempt.Equal(next) || d2.Lease == d.Lease {
			t.Errorf("claimed again: attempts %d error %q due %v lease %q (before %q)", d2.Attempts, d2.LastError, d2.NextAttempt, d2.Lease, d.Lease)
		}
		if err := c.h.Outbox.Delivered(c.ctx, d2); err != nil {
			t.Fatalf("Delivered: %v", err)
		}
		wantState(t, "delivered on the second try", c.h.Get(d.ID), gofaxlib.DeliveryDelivered, 2, "")
	}},
	{"dead and redelivered", func(t *testing.T, c *conformance) {
		_, ids := c.add(t, c.h.Target(gofaxlib.TargetEmail))
		d := c.one(t, ids[0])
		if err := c.h.Outbox.Dead(c.ctx, d, "550 no such user"); err != nil {
			t.Fatalf("Dead: %v", err)
		}
		wantState(t, "dead", c.h.Get(d.ID), gofaxlib.DeliveryDead, 1, "550 no such user")
		c.clk.add(24 * time.Hour)
		if got := c.claimIDs(t, 10, 0, nil); len(got) != 0 {
			t.Errorf("dead delivery claimed: %v", got)
		}
		wantLost(t, "Dead twice", c.h.Outbox.Dead(c.ctx, d, "again"))
		c.h.Redeliver(d.ID)
		g := c.h.Get(d.ID)
		if g.Status != gofaxlib.DeliveryPending || g.Attempts != 1 || g.Lease != "" {
			t.Errorf("redelivered: status %q attempts %d lease %q", g.Status, g.Attempts, g.Lease)
		}
		d2 := c.one(t, d.ID)
		if d2.Attempts != 1 {
			t.Errorf("redelivered delivery claimed with attempts %d, want 1 (they keep counting)", d2.Attempts)
		}
		wantLost(t, "Dead with the lease before the redelivery", c.h.Outbox.Dead(c.ctx, d, "x"))
		if err := c.h.Outbox.Delivered(c.ctx, d2); err != nil {
			t.Fatalf("Delivered: %v", err)
		}
		wantState(t, "delivered after the redelivery", c.h.Get(d.ID), gofaxlib.DeliveryDelivered, 2, "")
	}},
	{"redelivering a delivered one sends it again", func(t *testing.T, c *conformance) {
		_, ids := c.add(t, c.h.Target(gofaxlib.TargetWebhook))
		d := c.one(t, ids[0])
		if err := c.h.Outbox.Delivered(c.ctx, d); err != nil {
			t.Fatal(err)
		}
		c.h.Redeliver(d.ID)
		if d2 := c.one(t, d.ID); d2.Attempts != 1 || d2.Status != gofaxlib.DeliveryPending {
			t.Errorf("claimed again: status %q attempts %d", d2.Status, d2.Attempts)
		}
	}},
	{"release", func(t *testing.T, c *conformance) {
		_, ids := c.add(t, c.h.Target(gofaxlib.TargetWebhook))
		d := c.one(t, ids[0])
		if err := c.h.Outbox.Release(c.ctx, d); err != nil {
			t.Fatalf("Release: %v", err)
		}
		wantState(t, "released", c.h.Get(d.ID), gofaxlib.DeliveryPending, 0, "")
		d2 := c.one(t, d.ID) // due again at once
		if d2.Attempts != 0 {
			t.Errorf("released delivery claimed with attempts %d", d2.Attempts)
		}
		wantLost(t, "Delivered with the released lease", c.h.Outbox.Delivered(c.ctx, d))
		wantLost(t, "Release twice", c.h.Outbox.Release(c.ctx, d))
	}},
	{"an expired lease is claimed again and the old one lost", func(t *testing.T, c *conformance) {
		_, ids := c.add(t, c.h.Target(gofaxlib.TargetWebhook))
		d := c.one(t, ids[0])
		c.clk.add(testLease / 2)
		if got := c.claimIDs(t, 10, 0, nil); len(got) != 0 {
			t.Errorf("claimed %v within the lease", got)
		}
		c.clk.add(testLease / 2)
		d2 := c.one(t, d.ID)
		if d2.Lease == d.Lease {
			t.Fatalf("second claim has the first one's lease %q", d.Lease)
		}
		wantLost(t, "Retry with the expired lease", c.h.Outbox.Retry(c.ctx, d, c.clk.now(), "late"))
		wantLost(t, "Delivered with the expired lease", c.h.Outbox.Delivered(c.ctx, d))
		wantLost(t, "Release with the expired lease", c.h.Outbox.Release(c.ctx, d))
		if err := c.h.Outbox.Delivered(c.ctx, d2); err != nil {
			t.Fatalf("Delivered with the current lease: %v", err)
		}
		wantState(t, "delivered by the second claim", c.h.Get(d.ID), gofaxlib.DeliveryDelivered, 1, "")
	}},
	{"a lease ran out but not taken still records", func(t *testing.T, c *conformance) {
		_, ids := c.add(t, c.h.Target(gofaxlib.TargetWebhook))
		d := c.one(t, ids[0])
		c.clk.add(2 * testLease)
		if err := c.h.Outbox.Delivered(c.ctx, d); err != nil {
			t.Fatalf("Delivered after the lease, nobody else claiming: %v", err)
		}
		wantState(t, "delivered late", c.h.Get(d.ID), gofaxlib.DeliveryDelivered, 1, "")
	}},
	{"unknown delivery", func(t *testing.T, c *conformance) {
		d := gofaxlib.Delivery{ID: "00000000-0000-4000-8000-000000000000", Lease: "no-such-lease"}
		wantLost(t, "Delivered", c.h.Outbox.Delivered(c.ctx, d))
		wantLost(t, "Retry", c.h.Outbox.Retry(c.ctx, d, c.clk.now(), "x"))
		wantLost(t, "Dead", c.h.Outbox.Dead(c.ctx, d, "x"))
		wantLost(t, "Release", c.h.Outbox.Release(c.ctx, d))
		_, ids := c.add(t, c.h.Target(gofaxlib.TargetWebhook))
		wantLost(t, "Delivered unclaimed", c.h.Outbox.Delivered(c.ctx, gofaxlib.Delivery{ID: ids[0]}))
		wantState(t, "unclaimed", c.h.Get(ids[0]), gofaxlib.DeliveryPending, 0, "")
	}},
	{"disabled endpoint", func(t *testing.T, c *conformance) {
		a, b := c.h.Target(gofaxlib.TargetWebhook), c.h.Target(gofaxlib.TargetWebhook)
		_, ids := c.add(t, a, b)
		if err := c.h.Outbox.DisableEndpoint(c.ctx, a.EndpointID, "410 Gone"); err != nil {
			t.Fatalf("DisableEndpoint: %v", err)
		}
		c.one(t, ids[1])
		wantState(t, "delivery to the disabled endpoint", c.h.Get(ids[0]), gofaxlib.DeliveryPending, 0, "")
		if err := c.h.Outbox.DisableEndpoint(c.ctx, a.EndpointID, "again"); err != nil {
			t.Errorf("DisableEndpoint twice: %v", err)
		}
	}},
	{"cancelled context", func(t *testing.T, c *conformance) {
		_, ids := c.add(t, c.h.Target(gofaxlib.TargetWebhook))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := c.h.Outbox.Claim(ctx, gofaxlib.ClaimRequest{Now: c.clk.now(), Limit: 1, Lease: testLease}); err == nil {
			t.Error("Claim with a cancelled context succeeded")
		}
		d := c.one(t, ids[0])
		if err := c.h.Outbox.Delivered(ctx, d); err == nil || errors.Is(err, gofaxlib.ErrLeaseLost) {
			t.Errorf("Delivered with a cancelled context: %v", err)
		}
		if g := c.h.Get(d.ID); g.Status != gofaxlib.DeliveryPending || g.Lease != d.Lease {
			t.Errorf("after a cancelled Delivered: status %q lease %q", g.Status, g.Lease)
		}
	}},
	{"concurrent claims never share a delivery", func(t *testing.T, c *conformance) {
		const events, claimers = 60, 6
		targets := []gofaxlib.DeliveryTarget{c.h.Target(gofaxlib.TargetWebhook), c.h.Target(gofaxlib.TargetWebhook),
			c.h.Target(gofaxlib.TargetEmail)}
		all := map[string]bool{}
		for i := range events {
			_, ids := c.add(t, targets[i%len(targets)])
			all[ids[0]] = true
		}
		var mu sync.Mutex
		got := map[string]int{}
		var wg sync.WaitGroup
		errs := make(chan error, claimers)
		for range claimers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					ds, err := c.h.Outbox.Claim(c.ctx, gofaxlib.ClaimRequest{Now: c.clk.now(), Limit: 7, Lease: testLease})
					if err != nil {
						errs <- err
						return
					}
					if len(ds) == 0 {
						return
					}
					for _, d := range ds {
						mu.Lock()
						got[d.ID]++
						mu.Unlock()
						if err := c.h.Outbox.Delivered(c.ctx, d); err != nil {
							errs <- fmt.Errorf("Delivered %s: %w", d.ID, err)
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		for id, n := range got {
			if n != 1 || !all[id] {
				t.Errorf("delivery %s claimed %d times (known %v)", id, n, all[id])
			}
		}
		if len(got) != events {
			t.Errorf("%d of %d deliveries claimed", len(got), events)
		}
		for id := range all {
			if g := c.h.Get(id); g.Status != gofaxlib.DeliveryDelivered {
				t.Errorf("%s: %q", id, g.Status)
			}
		}
	}},
}
