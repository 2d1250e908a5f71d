package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/api"
)

// Who calls, in the isolation matrix.
type who int

const (
	anon   who = iota
	oper       // the operator's admin token
	tadmin     // tenant A's tenant-admin (API key)
	tuser      // tenant A's plain user (API key)
)

var whoNames = [...]string{"anonymous", "admin", "tenant-admin", "user"}

// Whose object a request names: tenant A's (the caller's), tenant B's, or
// one that does not exist.
type target int

const (
	own target = iota
	other
	missing
)

var targetNames = [...]string{"own", "other", "missing"}

func (w *world) fix(tg target) *tenantFix {
	switch tg {
	case own:
		return &w.a
	case other:
		return &w.b
	}
	return nil
}

// pick returns id of A's, B's or no object.
func pick(w *world, tg target, id func(*tenantFix) string) string {
	if f := w.fix(tg); f != nil {
		return id(f)
	}
	return missingID
}

func (w *world) cred(c who) cred {
	switch c {
	case oper:
		return admin
	case tadmin:
		return w.a.adminCred
	case tuser:
		return w.a.userCrd
	}
	return anonymous
}

type statuses [3]int // for own, other, missing

func all(s int) statuses { return statuses{s, s, s} }

// isolationCase is one route of the matrix: how to call it on a target,
// and the status each caller gets for each target (anonymous callers
// always get 401).
type isolationCase struct {
	pattern string
	call    func(w *world, tg target) (method, path string, body any)
	// mutates: every cell gets a world of its own.
	mutates bool
	want    map[who]statuses
	// looseDetail: other and missing are compared by status and field
	// only, as the detail quotes the request's own value.
	looseDetail bool
	// list: tenant callers must not see tenant B in the answer.
	list bool
}

func idOf(f func(*tenantFix) string) func(*tenantFix) string { return f }

// isolationCases covers every route (TestIsolationMatrix checks that).
func isolationCases(tiffDoc []byte) []isolationCase {
	tenantID := idOf(func(f *tenantFix) string { return f.tenant.ID })
	numberID := idOf(func(f *tenantFix) string { return f.number.ID })
	userID := idOf(func(f *tenantFix) string { return f.user.ID })
	keyID := idOf(func(f *tenantFix) string { return f.userKeyID })
	endpointID := idOf(func(f *tenantFix) string { return f.endpoint.ID })
	faxID := idOf(func(f *tenantFix) string { return f.faxOut.ID })
	eventID := idOf(func(f *tenantFix) string { return f.eventID })
	faxInID := idOf(func(f *tenantFix) string { return f.faxIn.ID })
	get := func(prefix string, id func(*tenantFix) string) func(*world, target) (string, string, any) {
		return func(w *world, tg target) (string, string, any) { return "GET", prefix + pick(w, tg, id), nil }
	}
	path := func(method, p string, body any) func(*world, target) (string, string, any) {
		return func(*world, target) (string, string, any) { return method, p, body }
	}
	byID := statuses{200, 200, 404}
	scoped := statuses{200, 404, 404}
	forbidden := all(403)
	return []isolationCase{
		{pattern: "GET /v1/openapi.json", call: path("GET", "/v1/openapi.json", nil),
			want: map[who]statuses{oper: all(200), tadmin: all(200), tuser: all(200)}},

		{pattern: "POST /v1/tenants", mutates: true, call: func(*world, target) (string, string, any) {
			return "POST", "/v1/tenants", map[string]any{"name": fmt.Sprintf("New %d", next())}
		}, want: map[who]statuses{oper: all(201), tadmin: forbidden, tuser: forbidden}},
		{pattern: "GET /v1/tenants", call: path("GET", "/v1/tenants", nil),
			want: map[who]statuses{oper: all(200), tadmin: forbidden, tuser: forbidden}},
		{pattern: "GET /v1/tenants/{id}", call: get("/v1/tenants/", tenantID),
			want: map[who]statuses{oper: byID, tadmin: scoped, tuser: scoped}},
		{pattern: "PATCH /v1/tenants/{id}", mutates: true, call: func(w *world, tg target) (string, string, any) {
			return "PATCH", "/v1/tenants/" + pick(w, tg, tenantID), map[string]any{"time_zone": "Europe/Paris"}
		}, want: map[who]statuses{oper: byID, tadmin: forbidden, tuser: forbidden}},
		{pattern: "DELETE /v1/tenants/{id}", mutates: true, call: func(w *world, tg target) (string, string, any) {
			return "DELETE", "/v1/tenants/" + pick(w, tg, tenantID), nil
		}, want: map[who]statuses{oper: {409, 409, 404}, tadmin: forbidden, tuser: forbidden}},

		{pattern: "POST /v1/numbers", mutates: true, call: func(w *world, tg target) (string, string, any) {
			return "POST", "/v1/numbers", map[string]any{"tenant_id": pick(w, tg, tenantID), "number": freshNumber()}
		}, want: map[who]statuses{oper: {201, 201, 422}, tadmin: forbidden, tuser: forbidden}},
		{pattern: "GET /v1/numbers", list: true, call: path("GET", "/v1/numbers", nil),
			want: map[who]statuses{oper: all(200), tadmin: all(200), tuser: all(200)}},
		{pattern: "GET /v1/numbers/{id}", call: get("/v1/numbers/", numberID),
			want: map[who]statuses{oper: byID, tadmin: scoped, tuser: scoped}},
		{pattern: "PATCH /v1/numbers/{id}", mutates: true, call: func(w *world, tg target) (string, string, any) {
			return "PATCH", "/v1/numbers/" + pick(w, tg, numberID), map[string]any{"header": "changed"}
		}, want: map[who]statuses{oper: byID, tadmin: forbidden, tuser: forbidden}},
		{pattern: "DELETE /v1/numbers/{id}", mutates: true, call: func(w *world, tg target) (string, string, any) {
			return "DELETE", "/v1/numbers/" + pick(w, tg, numberID), nil
		}, want: map[who]statuses{oper: {204, 204, 404}, tadmin: forbidden, tuser: forbidden}},

		{pattern: "POST /v1/users", mutates: true, call: func(w *world, tg target) (string, string, any) {
			return "POST", "/v1/users", map[string]any{"tenant_id": pick(w, tg, tenantID), "username": fmt.Sprintf("new%d", next())}
		}, want: map[who]statuses{oper: {201, 201, 422}, tadmin: {201, 422, 422}, tuser: forbidden}},
		{pattern: "GET /v1/users", list: true, call: path("GET", "/v1/users", nil),
			want: map[who]statuses{oper: all(200), tadmin: all(200), tuser: forbidden}},
		{pattern: "GET /v1/users/{id}", call: get("/v1/users/", userID),
			want: map[who]statuses{oper: byID, tadmin: scoped, tuser: scoped}},
		{pattern: "PATCH /v1/users/{id}", mutates: true, call: func(w *world, tg target) (string, string, any) {
			return "PATCH", "/v1/users/" + pick(w, tg, userID), map[string]any{"email": "new@example.com"}
		}, want: map[who]statuses{oper: byID, tadmin: scoped, tuser: scoped}},
		{pattern: "DELETE /v1/users/{id}", mutates: true, call: func(w *world, tg target) (string, string, any) {
			return "DELETE", "/v1/users/" + pick(w, tg, userID), nil
		}, want: map[who]statuses{oper: {204, 204, 404}, tadmin: {204, 404, 404}, tuser: forbidden}},
		{pattern: "POST /v1/users/{id}/api-keys", mutates: true, call: func(w *world, tg target) (string, string, any) {
			return "POST", "/v1/users/" + pick(w, tg, userID) + "/api-keys", map[string]any{"name": "new"}
		}, want: map[who]statuses{oper: {201, 201, 404}, tadmin: {201, 404, 404}, tuser: {201, 404, 404}}},
		{pattern: "GET /v1/users/{id}/api-keys", call: func(w *world, tg target) (string, string, any) {
			return "GET", "/v1/users/" + pick(w, tg, userID) + "/api-keys", nil
		}, want: map[who]statuses{oper: byID, tadmin: scoped, tuser: scoped}},
		{pattern: "DELETE /v1/api-keys/{id}", mutates: true, call: func(w *world, tg target) (string, string, any) {
			return "DELETE", "/v1/api-keys/" + pick(w, tg, keyID), nil
		}, want: map[who]statuses{oper: {204, 204, 404}, tadmin: {204, 404, 404}, tuser: {204, 404, 404}}},

		{pattern: "POST /v1/endpoints", mutates: true, call: func(w *world, tg target) (string, string, any) {
			return "POST", "/v1/endpoints", map[string]any{"scope": "tenant", "tenant_id": pick(w, tg, tenantID), "kind": "webhook",
				"target": "https://example.com/new"}
		}, want: map[who]statuses{oper: {201, 201, 422}, tadmin: {201, 422, 422}, tuser: forbidden}},
		{pattern: "GET /v1/endpoints", list: true, call: path("GET", "/v1/endpoints", nil),
			want: map[who]statuses{oper: all(200), tadmin: all(200), tuser: forbidden}},
		{pattern: "GET /v1/endpoints/{id}", call: get("/v1/endpoints/", endpointID),
			want: map[who]statuses{oper: byID, tadmin: scoped, tuser: forbidden}},
		{pattern: "PATCH /v1/endpoints/{id}", mutates: true, call: func(w *world, tg target) (string, string, any) {
			return "PATCH", "/v1/endpoints/" + pick(w, tg, endpointID), map[string]any{"priority": 5}
		}, want: map[who]statuses{oper: byID, tadmin: scoped, tuser: forbidden}},
		{pattern: "DELETE /v1/endpoints/{id}", mutates: true, call: func(w *world, tg target) (string, string, any) {
			return "DELETE", "/v1/endpoints/" + pick(w, tg, endpointID), nil
		}, want: map[who]statuses{oper: {204, 204, 404}, tadmin: {204, 404, 404}, tuser: forbidden}},

		{pattern: "POST /v1/faxes", mutates: true, looseDetail: true, call: func(w *world, tg target) (string, string, any) {
			from := freshNumber()
			if f := w.fix(tg); f != nil {
				from = f.number.Number
			}
			return "POST", "/v1/faxes", (&form{}).field("to", "+4989123456").field("from", from).file("a.tif", "", tiffDoc)
		}, want: map[who]statuses{oper: forbidden, tadmin: {202, 422, 422}, tuser: {202, 422, 422}}},
		{pattern: "GET /v1/faxes", list: true, call: path("GET", "/v1/faxes", nil),
			want: map[who]statuses{oper: all(200), tadmin: all(200), tuser: all(200)}},
		{pattern: "GET /v1/faxes/{id}", call: get("/v1/faxes/", faxID),
			want: map[who]statuses{oper: byID, tadmin: scoped, tuser: scoped}},
		{pattern: "DELETE /v1/faxes/{id}", call: func(w *world, tg target) (string, string, any) {
			return "DELETE", "/v1/faxes/" + pick(w, tg, faxID), nil
		}, want: map[who]statuses{oper: {202, 202, 404}, tadmin: {202, 404, 404}, tuser: {202, 404, 404}}},
		{pattern: "GET /v1/faxes/{id}/document", call: func(w *world, tg target) (string, string, any) {
			return "GET", "/v1/faxes/" + pick(w, tg, faxInID) + "/document", nil
		}, want: map[who]statuses{oper: byID, tadmin: scoped, tuser: scoped}},

		{pattern: "GET /v1/fallbacks", call: path("GET", "/v1/fallbacks", nil),
			want: map[who]statuses{oper: all(200), tadmin: forbidden, tuser: forbidden}},
		{pattern: "DELETE /v1/fallbacks/{number}", call: path("DELETE", "/v1/fallbacks/+4930123456", nil),
			want: map[who]statuses{oper: all(204), tadmin: forbidden, tuser: forbidden}},

		{pattern: "GET /v1/events", list: true, call: path("GET", "/v1/events", nil),
			want: map[who]statuses{oper: all(200), tadmin: all(200), tuser: forbidden}},
		{pattern: "GET /v1/events/{id}", call: get("/v1/events/", eventID),
			want: map[who]statuses{oper: byID, tadmin: scoped, tuser: forbidden}},
		{pattern: "POST /v1/events/{id}/redeliver", call: func(w *world, tg target) (string, string, any) {
			return "POST", "/v1/events/" + pick(w, tg, eventID) + "/redeliver", nil
		}, want: map[who]statuses{oper: {202, 202, 404}, tadmin: {202, 404, 404}, tuser: forbidden}},
	}
}

// TestIsolationMatrix calls every route as anonymous, admin, tenant A's
// tenant-admin and tenant A's user on A's object, B's object and a
// missing one. Every status is as expected, and for a tenant's callers
// B's object is answered exactly like a missing one.
func TestIsolationMatrix(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	shared := makeWorld(t, e)
	cases := isolationCases(readFile(t, "testdata/one-page-g4.tif"))
	var covered []string
	for _, c := range cases {
		covered = append(covered, c.pattern)
	}
	for _, p := range api.Patterns() {
		if !slices.Contains(covered, p) {
			t.Errorf("route %s is not in the isolation matrix", p)
		}
	}
	for _, c := range cases {
		t.Run(c.pattern, func(t *testing.T) {
			t.Parallel()
			for _, caller := range []who{anon, oper, tadmin, tuser} {
				var got [3]response
				for _, tg := range []target{own, other, missing} {
					w := shared
					if c.mutates {
						w = makeWorld(t, e)
					}
					method, p, body := c.call(w, tg)
					r := e.do(t, method, p, w.cred(caller), body)
					got[tg] = r
					want := 401
					if caller != anon {
						want = c.want[caller][tg]
					}
					if r.status != want {
						t.Errorf("%s on %s's: %s %s: status %d, want %d: %s", whoNames[caller], targetNames[tg], method, p,
							r.status, want, r.body)
					}
					if c.list && (caller == tadmin || caller == tuser) && r.status == 200 {
						if strings.Contains(string(r.body), w.b.tenant.ID) {
							t.Errorf("%s lists tenant B's objects: %s", whoNames[caller], r.body)
						}
						if r2 := e.do(t, method, p+"?tenant_id="+w.b.tenant.ID, w.cred(caller), nil); r2.status != 200 ||
							!strings.Contains(string(r2.body), `"data":[]`) {
							t.Errorf("%s asking for tenant B's list: %d %s", whoNames[caller], r2.status, r2.body)
						}
					}
				}
				if caller == tadmin || caller == tuser || caller == anon {
					if a, b := comparable(got[other], c.looseDetail), comparable(got[missing], c.looseDetail); a != b {
						t.Errorf("%s: another tenant's object is answered unlike a missing one:\n other:   %s\n missing: %s",
							whoNames[caller], a, b)
					}
				}
			}
		})
	}
	t.Run("no such route", func(t *testing.T) {
		t.Parallel()
		expect(t, "anonymous", e.do(t, "GET", "/v1/nothing", anonymous, nil), http.StatusUnauthorized)
		expect(t, "admin", e.do(t, "GET", "/v1/nothing", admin, nil), http.StatusNotFound)
		r := e.do(t, "PUT", "/v1/tenants/"+missingID, admin, nil)
		expect(t, "PUT", r, http.StatusMethodNotAllowed)
		if got := r.header.Get("Allow"); got != "GET, PATCH, DELETE" {
			t.Errorf("Allow: %q", got)
		}
	})
}

// comparable is what of a response must not differ between another
// tenant's object and a missing one: status, title, detail and the
// fields at fault (not the request id or path).
func comparable(r response, loose bool) string {
	var p struct {
		Title, Detail string
		Invalid       []struct{ Name string } `json:"invalid_params"`
	}
	if json.Unmarshal(r.body, &p) != nil || p.Title == "" {
		return fmt.Sprintf("%d %s", r.status, r.body)
	}
	if loose {
		p.Detail = ""
	}
	return fmt.Sprintf("%d %s %q %v", r.status, p.Title, p.Detail, p.Invalid)
}
