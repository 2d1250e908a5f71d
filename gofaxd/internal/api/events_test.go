package api_test

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/api"
	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// recordSent records a sent fax of tenant f from its number that ends
// with status st (its terminal event), and returns the fax id.
func recordSent(t *testing.T, e *env, f *tenantFix, st gofaxlib.FaxStatus) string {
	t.Helper()
	n := next()
	fx := gofaxlib.Fax{ID: fmt.Sprintf("5e5e0000-1111-4222-8333-%012d", n), TenantID: f.tenant.ID, Direction: gofaxlib.Outbound,
		Status: st, From: f.number.Number, To: "+4989123456", PagesTotal: 1, Host: testHost, JobID: int(5000 + n),
		Completed: time.Now()}
	_, err := e.store.RecordFax(testCtx(t), fmt.Sprintf("rec-sent-%d", n), &fx)
	must(t, err)
	return fx.ID
}

type eventList struct {
	Data []struct {
		ID         string
		Type       string
		FaxID      string  `json:"fax_id"`
		Status     *string `json:"status"`
		Data       struct{ ID string }
		Deliveries []struct {
			EndpointID string  `json:"endpoint_id"`
			Status     string  `json:"status"`
			Attempts   int     `json:"attempts"`
			LastError  string  `json:"last_error"`
			Next       *string `json:"next_attempt_at"`
		}
	}
	NextCursor *string `json:"next_cursor"`
}

// TestEvents: the operator and a tenant-admin list receipt events with
// filters and cursors; the tenant sees its events and only the deliveries
// to its own endpoints, the operator also the copies to global
// endpoints; bad filters are 422.
func TestEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	global := gofaxlib.Endpoint{Scope: gofaxlib.ScopeGlobal, Kind: gofaxlib.KindWebhook, Target: "https://ops.example.com/all", Enabled: true}
	must(t, e.store.CreateEndpoint(ctx, gofaxlib.OperatorScope(), &global))
	w := makeWorld(t, e) // each tenant's received fax: one event, delivered to its webhook and the global one
	done := recordSent(t, e, &w.a, gofaxlib.StatusDelivered)
	failed := recordSent(t, e, &w.a, gofaxlib.StatusFailed)

	var l eventList
	r := e.do(t, "GET", "/v1/events", w.a.adminCred, nil)
	expect(t, "tenant list", r, 200)
	r.json(t, &l)
	var faxes []string
	for _, ev := range l.Data {
		faxes = append(faxes, ev.FaxID)
		for _, d := range ev.Deliveries {
			if d.EndpointID != w.a.endpoint.ID {
				t.Errorf("tenant sees a delivery to endpoint %s", d.EndpointID)
			}
		}
		if len(ev.Deliveries) != 1 || ev.Deliveries[0].Status != "pending" || ev.Deliveries[0].Next == nil {
			t.Errorf("event %s: deliveries %+v", ev.ID, ev.Deliveries)
		}
		if ev.Data.ID != ev.FaxID {
			t.Errorf("event %s carries fax %q", ev.ID, ev.Data.ID)
		}
	}
	if want := []string{failed, done, w.a.faxIn.ID}; !slices.Equal(faxes, want) {
		t.Errorf("tenant A's events are of faxes %v, want %v (newest first)", faxes, want)
	}
	if ids := pages(t, e, w.a.adminCred, "/v1/events", 2); len(ids) != 3 {
		t.Errorf("paged by 2: %v", ids)
	}

	r = e.do(t, "GET", "/v1/events?fax_id="+w.a.faxIn.ID, admin, nil)
	expect(t, "operator, by fax", r, 200)
	l = eventList{}
	r.json(t, &l)
	if len(l.Data) != 1 || len(l.Data[0].Deliveries) != 2 || l.Data[0].Type != "fax.received" {
		t.Errorf("the operator's view of the reception's event: %s", r.body)
	}
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"type=fax.failed", 1},
		{"type=fax.delivered", 1},
		{"type=fax.canceled", 0},
		{"status=pending", 3},
		{"status=dead", 0},
		{"fax_id=" + done, 1},
		{"fax_id=" + w.b.faxIn.ID, 0}, // another tenant's fax
	} {
		r := e.do(t, "GET", "/v1/events?"+tc.query, w.a.adminCred, nil)
		expect(t, tc.query, r, 200)
		l = eventList{}
		r.json(t, &l)
		if len(l.Data) != tc.want {
			t.Errorf("?%s: %d events, want %d", tc.query, len(l.Data), tc.want)
		}
	}
	for _, q := range []string{"type=fax.exploded", "status=lost", "fax_id=42", "limit=0"} {
		expect(t, q, e.do(t, "GET", "/v1/events?"+q, w.a.adminCred, nil), 422)
	}
	expect(t, "unknown parameter", e.do(t, "GET", "/v1/events?endpoint=x", w.a.adminCred, nil), 400)
	expect(t, "plain user", e.do(t, "GET", "/v1/events", w.a.userCrd, nil), 403)
}

// TestRedeliver: a dead delivery is made pending and due at once, the
// dispatcher woken, the action audited; a tenant re-delivers only to its
// own endpoints; an event without deliveries of the caller's is 409.
func TestRedeliver(t *testing.T) {
	t.Parallel()
	var wakes atomic.Int32
	e := newEnv(t, func(o *api.Options) { o.WakeReceipts = func() { wakes.Add(1) } })
	ctx := testCtx(t)
	global := gofaxlib.Endpoint{Scope: gofaxlib.ScopeGlobal, Kind: gofaxlib.KindWebhook, Target: "https://ops.example.com/all", Enabled: true}
	must(t, e.store.CreateEndpoint(ctx, gofaxlib.OperatorScope(), &global))
	w := makeWorld(t, e)
	db := e.store.DB()
	if _, err := db.ExecContext(ctx, `UPDATE deliveries SET status = 'dead', attempts = 8, last_error = 'answered 500',
		next_attempt_at = now() + interval '1 day' WHERE event_id = $1`, w.a.eventID); err != nil {
		t.Fatal(err)
	}
	r := e.do(t, "GET", "/v1/events?status=dead", w.a.adminCred, nil)
	expect(t, "dead letters", r, 200)
	if !strings.Contains(string(r.body), w.a.eventID) || !strings.Contains(string(r.body), "answered 500") {
		t.Errorf("dead letters: %s", r.body)
	}

	r = e.do(t, "POST", "/v1/events/"+w.a.eventID+"/redeliver", w.a.adminCred, nil)
	expect(t, "redeliver", r, 202)
	var ev struct {
		Status     string
		Deliveries []struct {
			EndpointID string `json:"endpoint_id"`
			Status     string
			Attempts   int
			Next       *time.Time `json:"next_attempt_at"`
		}
	}
	r.json(t, &ev)
	if ev.Status != "pending" || len(ev.Deliveries) != 1 || ev.Deliveries[0].Status != "pending" ||
		ev.Deliveries[0].Attempts != 8 || ev.Deliveries[0].Next == nil || time.Until(*ev.Deliveries[0].Next) > time.Minute {
		t.Errorf("after redelivery: %s", r.body)
	}
	if wakes.Load() != 1 {
		t.Errorf("dispatcher woken %d times, want 1", wakes.Load())
	}
	// The operator's copy stays dead: it is not the tenant's.
	var globalStatus string
	db.QueryRowContext(ctx, "SELECT status FROM deliveries WHERE event_id = $1 AND endpoint_id = $2", w.a.eventID, global.ID).Scan(&globalStatus)
	if globalStatus != "dead" {
		t.Errorf("the global endpoint's delivery is %q after the tenant's redelivery, want dead", globalStatus)
	}
	var audited int
	db.QueryRowContext(ctx, "SELECT count(*) FROM audit_log WHERE action = 'event.redeliver' AND object_id = $1", w.a.eventID).Scan(&audited)
	if audited != 1 {
		t.Errorf("%d audit entries", audited)
	}
	r = e.do(t, "POST", "/v1/events/"+w.a.eventID+"/redeliver", admin, nil)
	expect(t, "operator redelivers", r, 202)
	db.QueryRowContext(ctx, "SELECT status FROM deliveries WHERE event_id = $1 AND endpoint_id = $2", w.a.eventID, global.ID).Scan(&globalStatus)
	if globalStatus != "pending" {
		t.Errorf("the global endpoint's delivery is %q after the operator's redelivery", globalStatus)
	}

	// A tenant whose endpoints did not want the event: nothing to redeliver.
	must(t, e.store.DeleteEndpoint(ctx, gofaxlib.OperatorScope(), w.b.endpoint.ID))
	lone := recordSent(t, e, &w.b, gofaxlib.StatusCanceled)
	l := eventList{}
	r = e.do(t, "GET", "/v1/events?fax_id="+lone, w.b.adminCred, nil)
	r.json(t, &l)
	if len(l.Data) != 1 || l.Data[0].Status != nil || len(l.Data[0].Deliveries) != 0 {
		t.Fatalf("event without the tenant's deliveries: %s", r.body)
	}
	expect(t, "nothing to redeliver", e.do(t, "POST", "/v1/events/"+l.Data[0].ID+"/redeliver", w.b.adminCred, nil), 409)
}

// TestEndpointReceiptOptions: the options of webhook and e-mail endpoints
// (events, attach, multipart, report) are taken, shown and checked.
func TestEndpointReceiptOptions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := makeWorld(t, e)
	r := e.do(t, "POST", "/v1/endpoints", w.a.adminCred, map[string]any{"scope": "number", "number_id": w.a.number.ID,
		"kind": "webhook", "target": "https://erp.example.com/fax",
		"options": map[string]any{"events": []string{"fax.received", "fax.retrying"}, "attach": "first_page", "multipart": true}})
	expect(t, "webhook", r, 201)
	o := r.object(t)["options"].(map[string]any)
	if o["attach"] != "first_page" || o["multipart"] != true || fmt.Sprint(o["events"]) != "[fax.received fax.retrying]" {
		t.Errorf("webhook options %v", o)
	}
	if s, _ := r.object(t)["secret"].(string); !strings.HasPrefix(s, "whsec_") {
		t.Errorf("webhook secret %q", s)
	}
	r = e.do(t, "POST", "/v1/endpoints", w.a.adminCred, map[string]any{"scope": "tenant", "kind": "email",
		"target": "fax@acme.example", "options": map[string]any{"report": true}})
	expect(t, "email", r, 201)
	o = r.object(t)["options"].(map[string]any)
	if o["attach"] != "pdf" || o["report"] != true {
		t.Errorf("email options %v (attach pdf by default)", o)
	}
	id := r.object(t)["id"].(string)
	r = e.do(t, "PATCH", "/v1/endpoints/"+id, w.a.adminCred, map[string]any{"options": map[string]any{"attach": "none", "events": []string{"fax.delivered"}}})
	expect(t, "patch", r, 200)
	if o = r.object(t)["options"].(map[string]any); o["attach"] != "none" || o["report"] != nil {
		t.Errorf("patched options %v (they replace all)", o)
	}
	for name, opts := range map[string]map[string]any{
		"report on a webhook":    {"report": true},
		"unknown event":          {"events": []string{"fax.lost"}},
		"unknown attachment":     {"attach": "tiff"},
		"an event twice":         {"events": []string{"fax.failed", "fax.failed"}},
		"multipart on an e-mail": {"multipart": true},
	} {
		kind, target := "webhook", "https://erp.example.com/fax"
		if strings.Contains(name, "e-mail") {
			kind, target = "email", "fax@acme.example"
		}
		r := e.do(t, "POST", "/v1/endpoints", w.a.adminCred, map[string]any{"scope": "tenant", "kind": kind, "target": target, "options": opts})
		expect(t, name, r, 422)
	}
}
