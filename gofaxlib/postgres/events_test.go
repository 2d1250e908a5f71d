package postgres

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

func newUUID(t testing.TB) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// storedEvent is an events row with its deliveries' endpoints.
type storedEvent struct {
	id, typ, recordID string
	at                time.Time
	payload           map[string]any
	endpoints         []string // in delivery order
}

// eventsOf returns the events of fax faxID, oldest first.
func eventsOf(t *testing.T, s *Store, faxID string) []storedEvent {
	t.Helper()
	ctx := testCtx(t)
	rows, err := s.DB().QueryContext(ctx, `SELECT id, type, coalesce(record_id, ''), created_at, payload FROM events
		WHERE fax_id = $1 ORDER BY created_at, id`, faxID)
	must(t, err)
	defer rows.Close()
	var out []storedEvent
	for rows.Next() {
		var e storedEvent
		var p []byte
		must(t, rows.Scan(&e.id, &e.typ, &e.recordID, &e.at, &p))
		must(t, json.Unmarshal(p, &e.payload))
		out = append(out, e)
	}
	must(t, rows.Err())
	for i := range out {
		out[i].endpoints = deliveryEndpoints(t, s, out[i].id)
	}
	return out
}

func deliveryEndpoints(t *testing.T, s *Store, eventID string) []string {
	t.Helper()
	rows, err := s.DB().QueryContext(testCtx(t), "SELECT endpoint_id FROM deliveries WHERE event_id = $1 ORDER BY seq", eventID)
	must(t, err)
	defer rows.Close()
	var eps []string
	for rows.Next() {
		var ep string
		must(t, rows.Scan(&ep))
		eps = append(eps, ep)
	}
	must(t, rows.Err())
	return eps
}

func count(t *testing.T, s *Store, query string, args ...any) int {
	t.Helper()
	var n int
	must(t, s.DB().QueryRowContext(testCtx(t), query, args...).Scan(&n))
	return n
}

// reception returns a received fax of tenant w.tenant[0] on its number.
func reception(t *testing.T, w *world) gofaxlib.Fax {
	return gofaxlib.Fax{ID: newUUID(t), TenantID: w.tenant[0].ID, Direction: gofaxlib.Inbound, Status: gofaxlib.StatusReceived,
		From: "+33123456789", To: w.number[0].Number, PagesTotal: 2, PagesTransferred: 2, ResultText: "OK",
		RemoteStationID: "+33 1 23 45 67 89", CommID: "000000042", RecvqFile: "recvq/fax000000042.tif",
		Completed: time.Date(2026, 3, 1, 10, 0, 40, 0, time.UTC)}
}

// TestEventWithFax: a reception's record writes the fax, its event and a
// delivery to the number's endpoint in one transaction; the payload is
// the fax resource with the attempts recorded before.
func TestEventWithFax(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := testCtx(t)
	w := makeWorld(t, s)

	tests := []struct {
		name     string
		edit     func(f *gofaxlib.Fax)
		wantType gofaxlib.EventType
		wantErr  any // payload "error", nil = JSON null
	}{
		{"received", func(f *gofaxlib.Fax) {}, gofaxlib.EventReceived, nil},
		{"partial", func(f *gofaxlib.Fax) {
			f.PagesTransferred, f.ResultCode, f.ResultText = 1, gofaxlib.T30CallDropped, "The call dropped prematurely"
		}, gofaxlib.EventReceived, map[string]any{"code": "CALLDROPPED", "text": "The call dropped prematurely"}},
		{"failed", func(f *gofaxlib.Fax) {
			f.Status, f.PagesTotal, f.PagesTransferred = gofaxlib.StatusFailed, 0, 0
			f.ResultCode, f.ResultText = gofaxlib.T30Code(2), "Unexpected DCS while receiving"
		}, gofaxlib.EventReceiveFailed, map[string]any{"code": gofaxlib.T30Code(2).Name(), "text": "Unexpected DCS while receiving"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := reception(t, w)
			tt.edit(&f)
			// The call's start and attempt come first, then its end.
			start := gofaxlib.Fax{ID: f.ID, TenantID: f.TenantID, Direction: gofaxlib.Inbound, Status: gofaxlib.StatusReceiving,
				From: f.From, To: f.To}
			_, err := s.RecordFax(ctx, fmt.Sprintf("start-%d", i), &start)
			must(t, err)
			if evs := eventsOf(t, s, f.ID); len(evs) != 0 {
				t.Fatalf("events of a reception still running: %+v", evs)
			}
			a := gofaxlib.Attempt{FaxID: f.ID, Modem: "freeswitch0", Started: f.Completed.Add(-40 * time.Second),
				Answered: f.Completed.Add(-39 * time.Second), Ended: f.Completed, PagesTotal: f.PagesTotal,
				PagesTransferred: f.PagesTransferred, ResultCode: f.ResultCode, ResultText: f.ResultText}
			_, err = s.RecordAttempt(ctx, fmt.Sprintf("attempt-%d", i), &a)
			must(t, err)
			rec := fmt.Sprintf("end-%d", i)
			if applied, err := s.RecordFax(ctx, rec, &f); err != nil || !applied {
				t.Fatalf("RecordFax: %v, %v", applied, err)
			}
			evs := eventsOf(t, s, f.ID)
			if len(evs) != 1 {
				t.Fatalf("%d events", len(evs))
			}
			ev := evs[0]
			if ev.typ != string(tt.wantType) || ev.id != EventID(f.ID, tt.wantType, rec) || ev.recordID != rec || !ev.at.Equal(f.Completed) {
				t.Errorf("event %s %s record %s at %v", ev.id, ev.typ, ev.recordID, ev.at)
			}
			if !slices.Equal(ev.endpoints, []string{w.endpoint[0].ID}) {
				t.Errorf("deliveries to %v, want the number's webhook %s", ev.endpoints, w.endpoint[0].ID)
			}
			p := ev.payload
			pages, _ := p["pages"].(map[string]any)
			hf, _ := p["hylafax"].(map[string]any)
			atts, _ := p["attempts"].([]any)
			if p["id"] != f.ID || p["direction"] != "inbound" || p["status"] != string(f.Status) || p["from"] != f.From ||
				p["to"] != f.To || p["tenant_id"] != f.TenantID || p["remote_station_id"] != f.RemoteStationID ||
				pages["total"] != float64(f.PagesTotal) || pages["transferred"] != float64(f.PagesTransferred) ||
				hf["recvq_file"] != f.RecvqFile || hf["host"] != "test-host" || len(atts) != 1 ||
				p["completed_at"] != "2026-03-01T10:00:40Z" || p["created_at"] == nil || p["updated_at"] == nil {
				t.Errorf("payload %v", p)
			}
			if fmt.Sprint(p["error"]) != fmt.Sprint(tt.wantErr) {
				t.Errorf("payload error %v, want %v", p["error"], tt.wantErr)
			}
		})
	}
}

// TestEventAtomic: when writing the event's deliveries fails, the fax
// row, the event and the journal record's mark are rolled back together;
// the same record ingested again then writes all of them.
func TestEventAtomic(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := testCtx(t)
	w := makeWorld(t, s)
	db := s.DB()
	_, err := db.ExecContext(ctx, `CREATE FUNCTION fail_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'injected failure'; END $$;
		CREATE TRIGGER fail_delivery BEFORE INSERT ON deliveries FOR EACH ROW EXECUTE FUNCTION fail_delivery()`)
	must(t, err)
	f := reception(t, w)
	in := f
	if applied, err := s.RecordFax(ctx, "rx-atomic", &in); err == nil || applied {
		t.Fatalf("RecordFax with failing deliveries: %v, %v", applied, err)
	}
	if n := count(t, s, "SELECT count(*) FROM faxes WHERE id = $1", f.ID); n != 0 {
		t.Errorf("fax written without its event: %d rows", n)
	}
	if n := count(t, s, "SELECT count(*) FROM events WHERE fax_id = $1", f.ID); n != 0 {
		t.Errorf("event written without its deliveries: %d", n)
	}
	if n := count(t, s, "SELECT count(*) FROM ingested_records WHERE record_id = 'rx-atomic'"); n != 0 {
		t.Errorf("record marked ingested though nothing was written")
	}
	_, err = db.ExecContext(ctx, "DROP TRIGGER fail_delivery ON deliveries")
	must(t, err)
	in = f
	if applied, err := s.RecordFax(ctx, "rx-atomic", &in); err != nil || !applied {
		t.Fatalf("RecordFax again: %v, %v", applied, err)
	}
	if evs := eventsOf(t, s, f.ID); len(evs) != 1 || len(evs[0].endpoints) != 1 {
		t.Errorf("after the retry: %+v", evs)
	}
}

// TestEventIdempotent: ingesting a record again, another record of the
// same end, records of one end racing each other, and a record replayed
// after its mark was purged all leave one event with one set of
// deliveries.
func TestEventIdempotent(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := testCtx(t)
	w := makeWorld(t, s)

	f := reception(t, w)
	for i := range 3 {
		in := f
		applied, err := s.RecordFax(ctx, "rx-1", &in)
		if err != nil || applied != (i == 0) {
			t.Fatalf("RecordFax #%d: %v, %v", i, applied, err)
		}
	}
	in := f
	in.PagesTransferred = 1 // a later record of the same reception
	_, err := s.RecordFax(ctx, "rx-2", &in)
	must(t, err)
	must(t, func() error { _, err := s.PurgeIngested(ctx, time.Now().Add(time.Hour)); return err }())
	in = f
	if applied, err := s.RecordFax(ctx, "rx-1", &in); err != nil || !applied {
		t.Fatalf("replay after the purge: %v, %v", applied, err)
	}
	if evs := eventsOf(t, s, f.ID); len(evs) != 1 || len(evs[0].endpoints) != 1 || evs[0].recordID != "rx-1" {
		t.Errorf("events %+v", evs)
	}

	// Several records of one new fax's end at once (two hosts replaying
	// journals): one event.
	for round := range 5 {
		g := reception(t, w)
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				in := g
				if i%2 == 1 {
					in.Status = gofaxlib.StatusFailed // records disagreeing: the first to commit decides
				}
				if _, err := s.RecordFax(ctx, fmt.Sprintf("race-%d-%d", round, i), &in); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent RecordFax: %v", err)
		}
		evs := eventsOf(t, s, g.ID)
		got, err := s.Fax(ctx, gofaxlib.OperatorScope(), g.ID)
		must(t, err)
		want, _ := gofaxlib.EventFor(gofaxlib.Inbound, "", got.Status)
		if len(evs) != 1 || evs[0].typ != string(want) || len(evs[0].endpoints) != 1 {
			t.Errorf("round %d: fax %s, events %+v", round, got.Status, evs)
		}
	}
}

// TestOneTerminalEventPerJob follows a send job through faxq's decisions:
// each requeue is a fax.retrying event, the end one terminal event, and
// any later record none.
func TestOneTerminalEventPerJob(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := testCtx(t)
	w := makeWorld(t, s)
	op := gofaxlib.OperatorScope()
	// The number's webhook wants every event, retrying included.
	ep := w.endpoint[0]
	ep.Options.Events = gofaxlib.ReceiptEventNames
	must(t, s.UpdateEndpoint(ctx, op, &ep))

	job := w.fax[0]
	must(t, s.SetFaxJob(ctx, op, job.ID, "test-host", 17))
	notify := func(rec, why string) {
		t.Helper()
		st, ok := gofaxlib.StatusFromNotify(why)
		if !ok {
			t.Fatalf("why %q", why)
		}
		f := gofaxlib.Fax{ID: job.ID, TenantID: job.TenantID, Direction: gofaxlib.Outbound, Status: st}
		_, err := s.RecordFax(ctx, rec, &f)
		must(t, err)
	}
	notify("n-1", "requeued")
	notify("n-1", "requeued") // the same record again
	notify("n-2", "requeued")
	notify("n-3", "done")
	notify("n-4", "failed") // faxq decided before; a late or wrong record
	notify("n-5", "killed")
	notify("n-6", "requeued")
	evs := eventsOf(t, s, job.ID)
	var types []string
	for _, e := range evs {
		types = append(types, e.typ)
	}
	sort.Strings(types)
	want := []string{"fax.delivered", "fax.retrying", "fax.retrying"}
	if !slices.Equal(types, want) {
		t.Fatalf("events %v, want %v", types, want)
	}
	ids := map[string]bool{}
	for _, e := range evs {
		ids[e.id] = true
		if len(e.endpoints) != 1 || e.endpoints[0] != ep.ID {
			t.Errorf("%s: deliveries to %v", e.typ, e.endpoints)
		}
		if e.id != EventID(job.ID, gofaxlib.EventType(e.typ), e.recordID) {
			t.Errorf("%s: id %s is not derived from the fax and record", e.typ, e.id)
		}
		if e.typ == "fax.delivered" && e.payload["status"] != "delivered" {
			t.Errorf("delivered event's payload says %v", e.payload["status"])
		}
	}
	if !ids[EventID(job.ID, gofaxlib.EventDelivered, "")] || !ids[EventID("", gofaxlib.EventRetrying, "n-2")] {
		t.Errorf("event ids %v", ids)
	}
}

// TestEventEndpoints is the table of which endpoints an event goes to.
func TestEventEndpoints(t *testing.T) {
	t.Parallel()
	type ep struct {
		name   string
		scope  gofaxlib.EndpointScope
		tenant int // index into the world's tenants
		number int // index into the tenant's numbers: 0, or 1 = the second number
		kind   gofaxlib.EndpointKind
		events []string
		off    bool
	}
	tests := []struct {
		name   string
		eps    []ep
		typ    gofaxlib.EventType // of a reception on tenant 0's first number, or of a send from it
		noTen  bool               // the fax has no tenant (unknown number)
		want   []string           // endpoint names, in delivery order
		events int                // events written (default 1)
	}{
		{"number scope beats tenant scope", []ep{
			{name: "tenant", scope: gofaxlib.ScopeTenant, kind: gofaxlib.KindEmail},
			{name: "number", scope: gofaxlib.ScopeNumber, kind: gofaxlib.KindWebhook},
			{name: "global", scope: gofaxlib.ScopeGlobal, kind: gofaxlib.KindWebhook},
		}, gofaxlib.EventReceived, false, []string{"number", "global"}, 1},
		{"tenant scope when the number has none", []ep{
			{name: "other number", scope: gofaxlib.ScopeNumber, number: 1, kind: gofaxlib.KindWebhook},
			{name: "tenant mail", scope: gofaxlib.ScopeTenant, kind: gofaxlib.KindEmail},
			{name: "tenant hook", scope: gofaxlib.ScopeTenant, kind: gofaxlib.KindWebhook},
		}, gofaxlib.EventReceived, false, []string{"tenant mail", "tenant hook"}, 1},
		{"a disabled number endpoint does not hide the tenant's", []ep{
			{name: "number", scope: gofaxlib.ScopeNumber, kind: gofaxlib.KindWebhook, off: true},
			{name: "tenant", scope: gofaxlib.ScopeTenant, kind: gofaxlib.KindEmail},
		}, gofaxlib.EventReceived, false, []string{"tenant"}, 1},
		{"disabled global skipped", []ep{
			{name: "global on", scope: gofaxlib.ScopeGlobal, kind: gofaxlib.KindEmail},
			{name: "global off", scope: gofaxlib.ScopeGlobal, kind: gofaxlib.KindWebhook, off: true},
		}, gofaxlib.EventReceived, false, []string{"global on"}, 1},
		{"another tenant's endpoints never", []ep{
			{name: "theirs", scope: gofaxlib.ScopeTenant, tenant: 1, kind: gofaxlib.KindWebhook},
			{name: "their number", scope: gofaxlib.ScopeNumber, tenant: 1, kind: gofaxlib.KindWebhook},
		}, gofaxlib.EventReceived, false, nil, 1},
		{"gateways are no receipt endpoints", []ep{
			{name: "gateway", scope: gofaxlib.ScopeTenant, kind: gofaxlib.KindGateway},
			{name: "global gateway", scope: gofaxlib.ScopeGlobal, kind: gofaxlib.KindGateway},
		}, gofaxlib.EventReceived, false, nil, 1},
		{"event filter", []ep{
			{name: "all", scope: gofaxlib.ScopeTenant, kind: gofaxlib.KindWebhook},
			{name: "failures", scope: gofaxlib.ScopeTenant, kind: gofaxlib.KindEmail, events: []string{"fax.failed", "fax.receive_failed"}},
			{name: "global received", scope: gofaxlib.ScopeGlobal, kind: gofaxlib.KindWebhook, events: []string{"fax.received"}},
		}, gofaxlib.EventReceived, false, []string{"all", "global received"}, 1},
		{"a number endpoint not wanting the event still hides the tenant's", []ep{
			{name: "number", scope: gofaxlib.ScopeNumber, kind: gofaxlib.KindWebhook, events: []string{"fax.delivered"}},
			{name: "tenant", scope: gofaxlib.ScopeTenant, kind: gofaxlib.KindEmail},
		}, gofaxlib.EventReceived, false, nil, 1},
		{"retrying only where asked for", []ep{
			{name: "default", scope: gofaxlib.ScopeTenant, kind: gofaxlib.KindWebhook},
			{name: "asked", scope: gofaxlib.ScopeTenant, kind: gofaxlib.KindEmail, events: []string{"fax.retrying"}},
			{name: "global", scope: gofaxlib.ScopeGlobal, kind: gofaxlib.KindWebhook},
		}, gofaxlib.EventRetrying, false, []string{"asked"}, 1},
		{"sent fax: the sending number's endpoints", []ep{
			{name: "number", scope: gofaxlib.ScopeNumber, kind: gofaxlib.KindWebhook},
			{name: "tenant", scope: gofaxlib.ScopeTenant, kind: gofaxlib.KindWebhook},
		}, gofaxlib.EventDelivered, false, []string{"number"}, 1},
		{"fax of no tenant: global only", []ep{
			{name: "tenant", scope: gofaxlib.ScopeTenant, kind: gofaxlib.KindWebhook},
			{name: "global", scope: gofaxlib.ScopeGlobal, kind: gofaxlib.KindEmail},
		}, gofaxlib.EventReceived, true, []string{"global"}, 1},
		{"no endpoint: the event is kept without deliveries", nil, gofaxlib.EventReceived, false, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newStore(t)
			ctx := testCtx(t)
			w := makeWorld(t, s)
			op := gofaxlib.OperatorScope()
			// The world's number endpoints are not part of the table.
			for _, e := range w.endpoint {
				must(t, s.DeleteEndpoint(ctx, op, e.ID))
			}
			second := gofaxlib.Number{TenantID: w.tenant[0].ID, Number: "+4930333333"}
			must(t, s.CreateNumber(ctx, op, &second))
			names := map[string]string{}
			for i, e := range tt.eps {
				x := gofaxlib.Endpoint{Scope: e.scope, Kind: e.kind, Enabled: !e.off, Options: gofaxlib.EndpointOptions{Events: e.events}}
				if e.scope != gofaxlib.ScopeGlobal {
					x.TenantID = w.tenant[e.tenant].ID
				}
				if e.scope == gofaxlib.ScopeNumber {
					x.NumberID = w.number[e.tenant].ID
					if e.number == 1 {
						x.NumberID = second.ID
					}
				}
				switch e.kind {
				case gofaxlib.KindWebhook:
					x.Target = fmt.Sprintf("https://example.com/%d", i)
				case gofaxlib.KindEmail:
					x.Target = fmt.Sprintf("fax%d@example.com", i)
				default:
					x.Target = fmt.Sprintf("carrier%d", i)
				}
				must(t, s.CreateEndpoint(ctx, op, &x))
				names[x.ID] = e.name
			}
			f := reception(t, w)
			switch tt.typ {
			case gofaxlib.EventRetrying, gofaxlib.EventDelivered:
				f = gofaxlib.Fax{ID: newUUID(t), TenantID: w.tenant[0].ID, Direction: gofaxlib.Outbound, From: w.number[0].Number,
					To: "+33123456789", Status: gofaxlib.StatusRetrying}
				if tt.typ == gofaxlib.EventDelivered {
					f.Status = gofaxlib.StatusDelivered
				}
			}
			if tt.noTen {
				f.TenantID, f.To = "", "+4930999999"
			}
			_, err := s.RecordFax(ctx, "rec", &f)
			must(t, err)
			evs := eventsOf(t, s, f.ID)
			if len(evs) != tt.events || evs[0].typ != string(tt.typ) {
				t.Fatalf("events %+v", evs)
			}
			var got []string
			for _, id := range evs[0].endpoints {
				got = append(got, names[id])
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("delivered to %q, want %q", got, tt.want)
			}
		})
	}
}

// TestEventViews: listing events and their deliveries, filters, paging,
// redelivery and counts, each seen by tenants and the operator.
func TestEventViews(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := testCtx(t)
	w := makeWorld(t, s)
	op := gofaxlib.OperatorScope()
	ta, tb := gofaxlib.TenantScope(w.tenant[0].ID), gofaxlib.TenantScope(w.tenant[1].ID)
	global := gofaxlib.Endpoint{Scope: gofaxlib.ScopeGlobal, Kind: gofaxlib.KindEmail, Target: "operator@example.com", Enabled: true}
	must(t, s.CreateEndpoint(ctx, op, &global))

	// Tenant A: 5 receptions; tenant B: 1.
	var aFaxes []gofaxlib.Fax
	for i := range 5 {
		f := reception(t, w)
		f.Completed = f.Completed.Add(time.Duration(i) * time.Minute)
		_, err := s.RecordFax(ctx, fmt.Sprintf("a-%d", i), &f)
		must(t, err)
		aFaxes = append(aFaxes, f)
	}
	fb := gofaxlib.Fax{ID: newUUID(t), TenantID: w.tenant[1].ID, Direction: gofaxlib.Inbound, Status: gofaxlib.StatusFailed,
		To: w.number[1].Number}
	_, err := s.RecordFax(ctx, "b-0", &fb)
	must(t, err)

	// Work A's deliveries: the newest event's webhook dead, the one
	// before delivered.
	now := time.Now()
	ds, err := s.Claim(ctx, gofaxlib.ClaimRequest{Now: now, Limit: 100, Lease: time.Minute})
	must(t, err)
	byEvent := map[string]map[string]gofaxlib.Delivery{} // fax → endpoint → delivery
	for _, d := range ds {
		if byEvent[d.Event.FaxID] == nil {
			byEvent[d.Event.FaxID] = map[string]gofaxlib.Delivery{}
		}
		byEvent[d.Event.FaxID][d.Target.EndpointID] = d
	}
	if len(ds) != 12 {
		t.Fatalf("claimed %d deliveries, want 12 (6 events × own + global)", len(ds))
	}
	must(t, s.Dead(ctx, byEvent[aFaxes[4].ID][w.endpoint[0].ID], "410 Gone"))
	must(t, s.Delivered(ctx, byEvent[aFaxes[3].ID][w.endpoint[0].ID]))
	must(t, s.Delivered(ctx, byEvent[aFaxes[3].ID][global.ID]))
	must(t, s.Dead(ctx, byEvent[aFaxes[2].ID][global.ID], "550 mailbox full"))
	for _, d := range ds {
		s.Release(ctx, d) // the rest back to pending
	}

	list := func(sc gofaxlib.Scope, fl gofaxlib.EventFilter) []gofaxlib.EventInfo {
		t.Helper()
		var all []gofaxlib.EventInfo
		for range 20 {
			l, next, err := s.ListEvents(ctx, sc, fl)
			must(t, err)
			all = append(all, l...)
			if next == "" {
				return all
			}
			fl.Page.Cursor = next
		}
		t.Fatal("paging does not end")
		return nil
	}
	faxIDs := func(l []gofaxlib.EventInfo) []string {
		var ids []string
		for _, e := range l {
			ids = append(ids, e.FaxID)
		}
		return ids
	}
	aNewestFirst := []string{aFaxes[4].ID, aFaxes[3].ID, aFaxes[2].ID, aFaxes[1].ID, aFaxes[0].ID}

	// Tenant A sees its 5 events, newest first, page by page, each with
	// its own webhook's delivery only (not the operator's copy).
	la := list(ta, gofaxlib.EventFilter{Page: gofaxlib.Page{Limit: 2}})
	if !slices.Equal(faxIDs(la), aNewestFirst) {
		t.Fatalf("tenant A lists %v, want %v", faxIDs(la), aNewestFirst)
	}
	wantStatus := []gofaxlib.DeliveryStatus{gofaxlib.DeliveryDead, gofaxlib.DeliveryDelivered, gofaxlib.DeliveryPending,
		gofaxlib.DeliveryPending, gofaxlib.DeliveryPending}
	for i, e := range la {
		if e.TenantID != w.tenant[0].ID || e.Type != gofaxlib.EventReceived || len(e.Deliveries) != 1 ||
			e.Deliveries[0].EndpointID != w.endpoint[0].ID || e.Status != wantStatus[i] || len(e.Payload) == 0 {
			t.Errorf("tenant A event %d: %+v", i, e)
		}
	}
	if d := la[0].Deliveries[0]; d.Attempts != 1 || d.LastError != "410 Gone" || d.Kind != gofaxlib.TargetWebhook ||
		d.Target != w.endpoint[0].Target || d.LastAttempt.IsZero() || !d.Delivered.IsZero() {
		t.Errorf("dead delivery %+v", d)
	}
	if d := la[1].Deliveries[0]; d.Delivered.IsZero() || d.Attempts != 1 {
		t.Errorf("delivered delivery %+v", d)
	}
	// The operator sees every event, with both deliveries; A's event 2 is
	// dead for the operator (the global copy), pending for A.
	lo := list(op, gofaxlib.EventFilter{})
	if len(lo) != 6 {
		t.Fatalf("operator lists %d events", len(lo))
	}
	for _, e := range lo {
		if len(e.Deliveries) != 2 {
			t.Errorf("operator sees %d deliveries of %s", len(e.Deliveries), e.ID)
		}
	}
	if got := faxIDs(list(op, gofaxlib.EventFilter{Status: gofaxlib.DeliveryDead})); !slices.Equal(got, []string{aFaxes[4].ID, aFaxes[2].ID}) {
		t.Errorf("operator's dead events %v", got)
	}
	// Filters.
	for _, c := range []struct {
		name string
		sc   gofaxlib.Scope
		fl   gofaxlib.EventFilter
		want []string
	}{
		{"A dead", ta, gofaxlib.EventFilter{Status: gofaxlib.DeliveryDead}, []string{aFaxes[4].ID}},
		{"A delivered", ta, gofaxlib.EventFilter{Status: gofaxlib.DeliveryDelivered}, []string{aFaxes[3].ID}},
		{"A pending", ta, gofaxlib.EventFilter{Status: gofaxlib.DeliveryPending}, aNewestFirst[2:]},
		{"A by fax", ta, gofaxlib.EventFilter{FaxID: aFaxes[1].ID}, []string{aFaxes[1].ID}},
		{"A by B's fax", ta, gofaxlib.EventFilter{FaxID: fb.ID}, nil},
		{"A by type", ta, gofaxlib.EventFilter{Type: gofaxlib.EventReceiveFailed}, nil},
		{"B by type", tb, gofaxlib.EventFilter{Type: gofaxlib.EventReceiveFailed}, []string{fb.ID}},
		{"B", tb, gofaxlib.EventFilter{}, []string{fb.ID}},
		{"operator by type", op, gofaxlib.EventFilter{Type: gofaxlib.EventReceived, Page: gofaxlib.Page{Limit: 1}}, aNewestFirst},
		{"not a fax id", op, gofaxlib.EventFilter{FaxID: "x"}, nil},
	} {
		if got := faxIDs(list(c.sc, c.fl)); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	var fe *gofaxlib.FieldError
	if _, _, err := s.ListEvents(ctx, ta, gofaxlib.EventFilter{Type: "fax.sent"}); !errors.As(err, &fe) || fe.Field != "type" {
		t.Errorf("unknown type: %v", err)
	}
	if _, _, err := s.ListEvents(ctx, ta, gofaxlib.EventFilter{Status: "lost"}); !errors.As(err, &fe) || fe.Field != "status" {
		t.Errorf("unknown status: %v", err)
	}
	if _, _, err := s.ListEvents(ctx, gofaxlib.Scope{}, gofaxlib.EventFilter{}); !errors.Is(err, gofaxlib.ErrInvalid) {
		t.Errorf("zero scope: %v", err)
	}

	// One event: own, another tenant's, missing.
	deadEv := la[0]
	if e, err := s.Event(ctx, ta, deadEv.ID); err != nil || e.ID != deadEv.ID || len(e.Deliveries) != 1 || e.Status != gofaxlib.DeliveryDead {
		t.Errorf("Event: %+v, %v", e, err)
	}
	for _, sc := range []gofaxlib.Scope{tb} {
		_, err := s.Event(ctx, sc, deadEv.ID)
		wantErr(t, "B reads A's event", err, gofaxlib.ErrNotFound)
		_, err = s.RedeliverEvent(ctx, sc, deadEv.ID)
		wantErr(t, "B redelivers A's event", err, gofaxlib.ErrNotFound)
	}
	_, err = s.Event(ctx, op, newUUID(t))
	wantErr(t, "missing event", err, gofaxlib.ErrNotFound)
	_, err = s.RedeliverEvent(ctx, op, "x")
	wantErr(t, "not an id", err, gofaxlib.ErrNotFound)

	// Counts: A's dead webhook and the operator's dead copy.
	counts, err := s.OutboxCounts(ctx)
	must(t, err)
	if counts[gofaxlib.TargetWebhook] != (gofaxlib.OutboxCount{Pending: 4, Dead: 1}) ||
		counts[gofaxlib.TargetEmail] != (gofaxlib.OutboxCount{Pending: 4, Dead: 1}) {
		t.Errorf("counts %+v", counts)
	}

	// A redelivers its dead event: its webhook's delivery only.
	if n, err := s.RedeliverEvent(ctx, ta, deadEv.ID); err != nil || n != 1 {
		t.Errorf("RedeliverEvent: %d, %v", n, err)
	}
	// A redelivers the event whose global copy is dead: the copy stays
	// dead (the operator's business), its own pending one is due now.
	ev2 := la[2]
	if n, err := s.RedeliverEvent(ctx, ta, ev2.ID); err != nil || n != 1 {
		t.Errorf("RedeliverEvent of an event with a dead global copy: %d, %v", n, err)
	}
	if e, _ := s.Event(ctx, op, ev2.ID); e.Status != gofaxlib.DeliveryDead {
		t.Errorf("the operator's copy was redelivered by the tenant: %+v", e)
	}
	// The operator redelivers the delivered event: both deliveries.
	if n, err := s.RedeliverEvent(ctx, op, la[1].ID); err != nil || n != 2 {
		t.Errorf("operator RedeliverEvent: %d, %v", n, err)
	}
	counts, err = s.OutboxCounts(ctx)
	must(t, err)
	if counts[gofaxlib.TargetWebhook] != (gofaxlib.OutboxCount{Pending: 6, Dead: 0}) ||
		counts[gofaxlib.TargetEmail] != (gofaxlib.OutboxCount{Pending: 5, Dead: 1}) {
		t.Errorf("counts after redelivery %+v", counts)
	}
	// Redelivered deliveries are claimed at once, attempts counting on.
	ds, err = s.Claim(ctx, gofaxlib.ClaimRequest{Now: time.Now(), Limit: 100, Lease: time.Minute})
	must(t, err)
	for _, d := range ds {
		if d.Event.ID == deadEv.ID && d.Target.EndpointID == w.endpoint[0].ID && (d.Attempts != 1 || d.LastError != "410 Gone") {
			t.Errorf("redelivered dead delivery claimed with attempts %d, error %q", d.Attempts, d.LastError)
		}
	}
	if len(ds) != 11 {
		t.Errorf("claimed %d after redelivery, want 11 (all but the dead global copy)", len(ds))
	}
	// A delivery being tried is not touched by a redelivery.
	if n, err := s.RedeliverEvent(ctx, op, deadEv.ID); err != nil || n != 0 {
		t.Errorf("redelivery of leased deliveries: %d, %v", n, err)
	}
}
