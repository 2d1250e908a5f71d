package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/notify/notifytest"
)

// TestOutboxConformance runs the cases every Outbox passes (those of the
// in-memory reference in notifytest) against the Store.
func TestOutboxConformance(t *testing.T) {
	t.Parallel()
	notifytest.RunConformance(t, func(t *testing.T, now func() time.Time) notifytest.Harness {
		s, _ := newStore(t)
		ctx := testCtx(t)
		op := gofaxlib.OperatorScope()
		tenant := gofaxlib.Tenant{Name: "Conformance", TimeZone: "Europe/Berlin"}
		must(t, s.CreateTenant(ctx, &tenant))
		fax := gofaxlib.Fax{TenantID: tenant.ID, Direction: gofaxlib.Outbound, Status: gofaxlib.StatusQueued, To: "+4930123456"}
		must(t, s.CreateFax(ctx, op, &fax))
		n := 0
		return notifytest.Harness{
			Outbox: s,
			Target: func(kind gofaxlib.TargetKind) gofaxlib.DeliveryTarget {
				n++
				e := gofaxlib.Endpoint{Scope: gofaxlib.ScopeTenant, TenantID: tenant.ID, Kind: gofaxlib.EndpointKind(kind), Enabled: true,
					Target: fmt.Sprintf("https://example.com/hook/%d", n)}
				if kind == gofaxlib.TargetEmail {
					e.Target = fmt.Sprintf("fax%d@example.com", n)
				}
				must(t, s.CreateEndpoint(ctx, op, &e))
				return gofaxlib.DeliveryTarget{EndpointID: e.ID, Kind: kind, Address: e.Target, Secret: e.Secret,
					Attach: e.Options.Attach}
			},
			Add: func(typ gofaxlib.EventType, payload json.RawMessage, targets ...gofaxlib.DeliveryTarget) (gofaxlib.Event, []string) {
				ev := gofaxlib.Event{Type: typ, TenantID: tenant.ID, FaxID: fax.ID, Time: now(), TimeZone: tenant.TimeZone, Payload: payload}
				must(t, s.DB().QueryRowContext(ctx, `INSERT INTO events (tenant_id, fax_id, type, payload, created_at)
					VALUES ($1, $2, $3, $4, $5) RETURNING id`, ev.TenantID, ev.FaxID, ev.Type, []byte(payload), ev.Time).Scan(&ev.ID))
				var ids []string
				for _, tg := range targets {
					var id string
					must(t, s.DB().QueryRowContext(ctx, `INSERT INTO deliveries (event_id, endpoint_id, next_attempt_at)
						VALUES ($1, $2, $3) RETURNING id`, ev.ID, tg.EndpointID, ev.Time).Scan(&id))
					ids = append(ids, id)
				}
				return ev, ids
			},
			Get: func(id string) gofaxlib.Delivery { return getDelivery(t, s, id) },
			Redeliver: func(id string) {
				var ev string
				must(t, s.DB().QueryRowContext(ctx, "SELECT event_id FROM deliveries WHERE id = $1", id).Scan(&ev))
				if _, err := s.RedeliverEvent(ctx, op, ev); err != nil {
					t.Fatal(err)
				}
			},
		}
	})
}

// getDelivery reads the state of delivery id.
func getDelivery(t *testing.T, s *Store, id string) gofaxlib.Delivery {
	t.Helper()
	d := gofaxlib.Delivery{ID: id}
	must(t, s.DB().QueryRowContext(testCtx(t), `SELECT status, attempts, next_attempt_at, last_error, coalesce(lease, ''),
		coalesce(lease_until, 'epoch') FROM deliveries WHERE id = $1`, id).Scan(&d.Status, &d.Attempts, &d.NextAttempt,
		&d.LastError, &d.Lease, &d.LeaseUntil))
	d.LeaseUntil = zeroEpoch(d.LeaseUntil)
	return d
}

// TestOutboxStoresAnyReason: an error text PostgreSQL's text type would
// refuse (invalid UTF-8, NUL) or a huge one is stored cleaned, so that the
// outcome is recorded instead of the delivery being retried forever.
func TestOutboxStoresAnyReason(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := testCtx(t)
	w := makeWorld(t, s)
	f := reception(t, w)
	_, err := s.RecordFax(ctx, "rx", &f)
	must(t, err)
	for i, reason := range []string{"bad \xff\xfe utf-8", "nul \x00 byte", strings.Repeat("ü", 3000)} {
		ds, err := s.Claim(ctx, gofaxlib.ClaimRequest{Now: time.Now().Add(time.Duration(i) * time.Hour), Limit: 1, Lease: time.Minute})
		if err != nil || len(ds) != 1 {
			t.Fatalf("claim: %d, %v", len(ds), err)
		}
		if err := s.Retry(ctx, ds[0], time.Now().Add(time.Duration(i)*time.Hour), reason); err != nil {
			t.Fatalf("Retry with reason %.20q: %v", reason, err)
		}
		got := getDelivery(t, s, ds[0].ID).LastError
		if !utf8.ValidString(got) || strings.ContainsRune(got, 0) || len(got) > maxLastError+len("…") || got == "" {
			t.Errorf("stored %.40q (%d bytes)", got, len(got))
		}
	}
}

// TestDisableEndpoint: a 410 disables the endpoint (its deliveries wait),
// says why in the audit log, and announces the change like any edit.
func TestDisableEndpoint(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := testCtx(t)
	w := makeWorld(t, s)
	op := gofaxlib.OperatorScope()
	ep := w.endpoint[0].ID
	must(t, s.DisableEndpoint(ctx, ep, "webhook answered 410 Gone"))
	must(t, s.DisableEndpoint(ctx, ep, "again"))
	must(t, s.DisableEndpoint(ctx, newUUID(t), "no such endpoint"))
	must(t, s.DisableEndpoint(ctx, "not-an-id", "x"))
	if e, err := s.Endpoint(ctx, op, ep); err != nil || e.Enabled {
		t.Errorf("endpoint after DisableEndpoint: %+v, %v", e, err)
	}
	log, _, err := s.ListAudit(ctx, gofaxlib.TenantScope(w.tenant[0].ID), gofaxlib.Page{})
	must(t, err)
	n := 0
	for _, e := range log {
		if e.Action == "endpoint.disable" && e.ObjectID == ep {
			n++
			if !strings.Contains(string(e.Details), "410 Gone") || e.Actor != "gofaxd" || e.Host != "test-host" {
				t.Errorf("audit entry %+v (%s)", e, e.Details)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d audit entries for the endpoint, want 1", n)
	}
	// A gateway is not a receipt endpoint: left alone.
	gw := gofaxlib.Endpoint{Scope: gofaxlib.ScopeGlobal, Kind: gofaxlib.KindGateway, Target: "carrier", Enabled: true}
	must(t, s.CreateEndpoint(ctx, op, &gw))
	must(t, s.DisableEndpoint(ctx, gw.ID, "x"))
	if e, _ := s.Endpoint(ctx, op, gw.ID); !e.Enabled {
		t.Error("gateway disabled")
	}
}

// TestClaimTwoHosts: two stores (two hosts) claim from one database at
// once until nothing is left: no delivery is given to both, none is left
// over, and each row names the host that claimed it.
func TestClaimTwoHosts(t *testing.T) {
	t.Parallel()
	s1, dsn := newStore(t)
	s2, err := Open(Options{DSN: dsn, Host: "other-host", Plan: planDE, MaxConns: 8})
	must(t, err)
	defer s2.Close()
	ctx := testCtx(t)
	w := makeWorld(t, s1)
	const events = 300
	for i := range events {
		f := reception(t, w)
		_, err := s1.RecordFax(ctx, fmt.Sprintf("rx-%d", i), &f)
		must(t, err)
	}
	type got struct {
		host string
		ids  []string
		err  error
	}
	results := make(chan got)
	for _, s := range []*Store{s1, s2} {
		go func() {
			var ids []string
			for {
				ds, err := s.Claim(ctx, gofaxlib.ClaimRequest{Now: time.Now(), Limit: 9, Lease: time.Hour})
				if err != nil || len(ds) == 0 {
					results <- got{s.Host(), ids, err}
					return
				}
				for _, d := range ds {
					ids = append(ids, d.ID)
				}
			}
		}()
	}
	seen := map[string]string{}
	perHost := map[string]int{}
	for range 2 {
		r := <-results
		if r.err != nil {
			t.Errorf("%s: %v", r.host, r.err)
		}
		perHost[r.host] = len(r.ids)
		for _, id := range r.ids {
			if h, dup := seen[id]; dup {
				t.Errorf("delivery %s claimed by %s and %s", id, h, r.host)
			}
			seen[id] = r.host
		}
	}
	if len(seen) != events {
		t.Errorf("%d of %d deliveries claimed", len(seen), events)
	}
	if n := count(t, s1, "SELECT count(*) FROM deliveries WHERE claimed_by = 'other-host'"); n != perHost["other-host"] {
		t.Errorf("claimed_by other-host on %d rows, it claimed %d", n, perHost["other-host"])
	}
	t.Logf("claims per host: %v", perHost)
}

// TestClaimPassesOverFullEndpoints: when the oldest due rows all belong
// to an endpoint at its cap, the claim still fills up from other
// endpoints behind them.
func TestClaimPassesOverFullEndpoints(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := testCtx(t)
	w := makeWorld(t, s)
	for i := range 30 {
		f := reception(t, w)
		_, err := s.RecordFax(ctx, fmt.Sprintf("a-%d", i), &f)
		must(t, err)
	}
	for i := range 5 {
		f := gofaxlib.Fax{ID: newUUID(t), TenantID: w.tenant[1].ID, Direction: gofaxlib.Inbound, Status: gofaxlib.StatusReceived,
			To: w.number[1].Number}
		_, err := s.RecordFax(ctx, fmt.Sprintf("b-%d", i), &f)
		must(t, err)
	}
	a, b := w.endpoint[0].ID, w.endpoint[1].ID
	ds, err := s.Claim(ctx, gofaxlib.ClaimRequest{Now: time.Now(), Limit: 5, Lease: time.Hour, PerTarget: 2, Busy: map[string]int{a: 1}})
	must(t, err)
	per := map[string]int{}
	for _, d := range ds {
		per[d.Target.EndpointID]++
	}
	if len(ds) != 3 || per[a] != 1 || per[b] != 2 {
		t.Errorf("claimed %v", per)
	}
	// Nothing of a's is locked or leased beyond what was taken.
	ds, err = s.Claim(ctx, gofaxlib.ClaimRequest{Now: time.Now(), Limit: 100, Lease: time.Hour})
	must(t, err)
	if len(ds) != 32 {
		t.Errorf("second claim got %d, want 32", len(ds))
	}
}

// TestClaimDisabledAndDeleted: deliveries to a disabled endpoint wait and
// are claimed once it is enabled again; deleting an endpoint deletes its
// deliveries, so a running attempt's lease is lost.
func TestClaimDisabledAndDeleted(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := testCtx(t)
	w := makeWorld(t, s)
	op := gofaxlib.OperatorScope()
	f := reception(t, w)
	_, err := s.RecordFax(ctx, "rx", &f)
	must(t, err)
	must(t, s.DisableEndpoint(ctx, w.endpoint[0].ID, "410"))
	claim := func() []gofaxlib.Delivery {
		ds, err := s.Claim(ctx, gofaxlib.ClaimRequest{Now: time.Now(), Limit: 10, Lease: time.Hour})
		must(t, err)
		return ds
	}
	if ds := claim(); len(ds) != 0 {
		t.Fatalf("claimed %d for a disabled endpoint", len(ds))
	}
	ep := w.endpoint[0]
	ep.Enabled = true
	must(t, s.UpdateEndpoint(ctx, gofaxlib.TenantScope(ep.TenantID), &ep))
	ds := claim()
	if len(ds) != 1 {
		t.Fatalf("claimed %d after enabling", len(ds))
	}
	must(t, s.DeleteEndpoint(ctx, op, ep.ID))
	if err := s.Delivered(ctx, ds[0]); !errors.Is(err, gofaxlib.ErrLeaseLost) {
		t.Errorf("Delivered after the endpoint was deleted: %v", err)
	}
}

// TestOutboxDown: the outbox reports a database that is gone as
// ErrUnavailable (the dispatcher logs it and polls again).
func TestOutboxDown(t *testing.T) {
	t.Parallel()
	s, err := Open(Options{DSN: "host=/nonexistent/gofax port=1 user=x dbname=x sslmode=disable"})
	must(t, err)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = s.Claim(ctx, gofaxlib.ClaimRequest{Now: time.Now(), Limit: 1, Lease: time.Minute})
	wantErr(t, "Claim", err, gofaxlib.ErrUnavailable)
	err = s.Delivered(ctx, gofaxlib.Delivery{ID: newUUID(t), Lease: "x"})
	wantErr(t, "Delivered", err, gofaxlib.ErrUnavailable)
}
