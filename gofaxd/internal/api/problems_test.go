package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/api"
	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/postgres"
)

// checkProblem fails t unless r is a problem document with status want.
func checkProblem(t testing.TB, what string, r response, want int) map[string]any {
	t.Helper()
	expect(t, what, r, want)
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
	p := r.object(t)
	if p["status"] != float64(want) || p["title"] != http.StatusText(want) || p["type"] != "about:blank" {
		t.Errorf("%s: problem %v", what, p)
	}
	if id := r.header.Get("X-Request-Id"); id == "" || p["request_id"] != id {
		t.Errorf("%s: request id %v, header %q", what, p["request_id"], id)
	}
	return p
}

// TestProblems produces every error status of the API and checks that
// each is an RFC 9457 problem document with the right status.
func TestProblems(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *api.Options) { o.MaxBody = 2048 })
	w := makeWorld(t, e)
	huge := map[string]any{"name": strings.Repeat("x", 4000)}

	checkProblem(t, "unknown field", e.do(t, "POST", "/v1/tenants", admin, []byte(`{"name":"x","colour":"red"}`)), 400)
	checkProblem(t, "malformed JSON", e.do(t, "POST", "/v1/tenants", admin, []byte(`{"name":`)), 400)
	checkProblem(t, "not an object", e.do(t, "POST", "/v1/tenants", admin, []byte(`["x"]`)), 400)
	checkProblem(t, "two values", e.do(t, "POST", "/v1/tenants", admin, []byte(`{"name":"x"} {}`)), 400)
	checkProblem(t, "empty body", e.do(t, "POST", "/v1/tenants", admin, []byte(``)), 400)
	checkProblem(t, "unknown nested field", e.do(t, "POST", "/v1/endpoints", admin,
		[]byte(`{"scope":"global","kind":"gateway","target":"gw","options":{"dial":"e164","colour":1}}`)), 400)
	checkProblem(t, "unknown query parameter", e.do(t, "GET", "/v1/tenants?sort=name", admin, nil), 400)
	checkProblem(t, "repeated query parameter", e.do(t, "GET", "/v1/faxes?status=queued&status=failed", admin, nil), 400)

	p := checkProblem(t, "no credentials", e.do(t, "GET", "/v1/tenants", anonymous, nil), 401)
	if !strings.Contains(p["detail"].(string), "credentials required") {
		t.Errorf("401 detail %v", p["detail"])
	}
	r := e.do(t, "GET", "/v1/tenants", bearer("wrong"), nil)
	checkProblem(t, "wrong token", r, 401)
	if !strings.Contains(r.header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
	}
	checkProblem(t, "unknown API key", e.do(t, "GET", "/v1/faxes", bearer("gofax_"+strings.Repeat("A", 43)), nil), 401)
	checkProblem(t, "other scheme", e.do(t, "GET", "/v1/faxes", anonymous, nil, "Authorization", "Digest x"), 401)

	checkProblem(t, "tenant creating a tenant", e.do(t, "POST", "/v1/tenants", w.a.adminCred, map[string]any{"name": "x"}), 403)
	checkProblem(t, "missing", e.do(t, "GET", "/v1/tenants/"+missingID, admin, nil), 404)
	checkProblem(t, "not a uuid", e.do(t, "GET", "/v1/faxes/42", admin, nil), 404)
	checkProblem(t, "method", e.do(t, "PUT", "/v1/faxes", admin, nil), 405)
	checkProblem(t, "taken", e.do(t, "POST", "/v1/tenants", admin, map[string]any{"name": w.a.tenant.Name}), 409)
	checkProblem(t, "body too large", e.do(t, "POST", "/v1/tenants", admin, huge), 413)
	checkProblem(t, "not JSON", e.do(t, "POST", "/v1/tenants", admin, nil, "Content-Type", "text/plain"), 415)
	r = e.do(t, "POST", "/v1/tenants", admin, []byte(`{"name":5}`))
	p = checkProblem(t, "wrong type", r, 422)
	if !strings.Contains(string(r.body), `"invalid_params":[{"name":"name"`) {
		t.Errorf("422 does not name the field: %s (%v)", r.body, p)
	}
	checkProblem(t, "bad limit", e.do(t, "GET", "/v1/tenants?limit=0", admin, nil), 422)
	checkProblem(t, "bad cursor", e.do(t, "GET", "/v1/tenants?cursor=nonsense", admin, nil), 422)
	checkProblem(t, "bad direction", e.do(t, "GET", "/v1/faxes?direction=sideways", admin, nil), 422)
	checkProblem(t, "bad time", e.do(t, "GET", "/v1/faxes?since=yesterday", admin, nil), 422)

	// 429 and 501 need servers configured for them.
	limited := newEnvStore(t, e.store, func(o *api.Options) { o.RateLimit, o.RateBurst = 0.5, 2 })
	for range 2 {
		expect(t, "within burst", limited.do(t, "GET", "/v1/tenants", admin, nil), 200)
	}
	r = limited.do(t, "GET", "/v1/tenants", admin, nil)
	checkProblem(t, "rate limited", r, 429)
	if n, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || n < 1 || n > 2 {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	noSubmit := newEnvStore(t, e.store, func(o *api.Options) { o.Submitter = nil })
	checkProblem(t, "no submitter", noSubmit.do(t, "POST", "/v1/faxes", w.a.userCrd,
		(&form{}).field("to", "+4989123456").file("a.pdf", "", makePDF(1))), 501)
}

// TestDatabaseDown: with the database unreachable, requests answer 503
// with Retry-After, also those authenticating with an API key (whose
// check needs the database), never 401 or 500.
func TestDatabaseDown(t *testing.T) {
	t.Parallel()
	store, err := postgres.Open(postgres.Options{DSN: "host=" + t.TempDir() + " user=nobody dbname=nothing connect_timeout=5",
		Host: testHost, Plan: planDE})
	must(t, err)
	t.Cleanup(func() { store.Close() })
	e := newEnvStore(t, store)
	for _, c := range []struct {
		name string
		c    cred
		path string
	}{
		{"admin", admin, "/v1/tenants"},
		{"API key", bearer("gofax_" + strings.Repeat("B", 43)), "/v1/faxes"},
		{"Basic", cred{user: "alice", pass: "whatever1"}, "/v1/faxes"},
	} {
		r := e.do(t, "GET", c.path, c.c, nil)
		p := checkProblem(t, c.name, r, 503)
		if r.header.Get("Retry-After") == "" {
			t.Errorf("%s: no Retry-After", c.name)
		}
		if !strings.Contains(p["detail"].(string), "database is unavailable") {
			t.Errorf("%s: detail %v", c.name, p["detail"])
		}
	}
}

// failingStore answers ListTenants with an internal error and panics in
// Tenant; everything else is the real store.
type failingStore struct {
	*postgres.Store
}

func (failingStore) ListTenants(context.Context, gofaxlib.Page) ([]gofaxlib.Tenant, string, error) {
	return nil, "", errors.New("pq: secret internal detail at /var/lib/postgresql")
}

func (failingStore) Tenant(context.Context, gofaxlib.Scope, string) (gofaxlib.Tenant, error) {
	panic("boom: internal state")
}

// TestInternalErrorsHidden: an internal error or a panic is a 500 that
// names the request id and nothing else, and the server keeps serving.
func TestInternalErrorsHidden(t *testing.T) {
	t.Parallel()
	e := newEnvStore(t, failingStore{newStore(t)})
	for _, path := range []string{"/v1/tenants", "/v1/tenants/" + missingID} {
		req, _ := http.NewRequest("GET", e.base+path, nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		res, err := e.client.Do(req)
		must(t, err)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		r := response{status: res.StatusCode, header: res.Header, body: body}
		p := checkProblem(t, path, r, 500)
		if bytes.Contains(body, []byte("secret")) || bytes.Contains(body, []byte("boom")) || bytes.Contains(body, []byte("postgresql")) {
			t.Errorf("%s: the 500 leaks: %s", path, body)
		}
		if !strings.Contains(p["detail"].(string), r.header.Get("X-Request-Id")) {
			t.Errorf("%s: detail %v does not name the request id", path, p["detail"])
		}
	}
	expect(t, "still serving", e.do(t, "GET", "/v1/numbers", admin, nil), 200)
}

// TestBasicSameAnswer: an unknown user and a wrong password get the same
// answer; the right password works; a suspended user is 403.
func TestBasicSameAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := makeWorld(t, e)
	ctx := testCtx(t)
	must(t, e.store.SetPassword(ctx, gofaxlib.OperatorScope(), w.a.user.ID, "correct horse"))
	norm := func(r response) string {
		p := r.object(t)
		delete(p, "request_id")
		h := r.header.Clone()
		h.Del("X-Request-Id")
		h.Del("Date")
		b, _ := json.Marshal(p)
		return strconv.Itoa(r.status) + " " + string(b) + " " + h.Get("WWW-Authenticate") + " " + h.Get("Content-Length")
	}
	unknown := e.do(t, "GET", "/v1/faxes", cred{user: "nobody-at-all", pass: "correct horse"}, nil)
	wrong := e.do(t, "GET", "/v1/faxes", cred{user: w.a.user.Username, pass: "wrong horse"}, nil)
	noPassword := e.do(t, "GET", "/v1/faxes", cred{user: w.a.admin.Username, pass: "correct horse"}, nil)
	checkProblem(t, "unknown user", unknown, 401)
	if a, b, c := norm(unknown), norm(wrong), norm(noPassword); a != b || a != c {
		t.Errorf("answers differ:\n unknown user:     %s\n wrong password:   %s\n user without one: %s", a, b, c)
	}
	expect(t, "right password", e.do(t, "GET", "/v1/faxes", cred{user: w.a.user.Username, pass: "correct horse"}, nil), 200)
	checkProblem(t, "malformed Basic", e.do(t, "GET", "/v1/faxes", anonymous, nil, "Authorization", "Basic !!!"), 401)

	u := w.a.user
	u.Suspended = true
	must(t, e.store.UpdateUser(ctx, gofaxlib.OperatorScope(), &u))
	checkProblem(t, "suspended", e.do(t, "GET", "/v1/faxes", cred{user: u.Username, pass: "correct horse"}, nil), 403)
}

// TestRateLimitPerCredential: each credential has its own bucket; a
// password guesser is slowed per username.
func TestRateLimitPerCredential(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *api.Options) { o.RateLimit, o.RateBurst = 0.2, 3 })
	w := makeWorld(t, e)
	for i := range 3 {
		expect(t, "admin within burst", e.do(t, "GET", "/v1/tenants", admin, nil), 200)
		expect(t, "guess within burst", e.do(t, "GET", "/v1/faxes", cred{user: w.a.user.Username, pass: "guess" + strconv.Itoa(i)}, nil), 401)
	}
	checkProblem(t, "admin over", e.do(t, "GET", "/v1/tenants", admin, nil), 429)
	checkProblem(t, "guesser over", e.do(t, "GET", "/v1/faxes", cred{user: w.a.user.Username, pass: "guess9"}, nil), 429)
	expect(t, "another credential", e.do(t, "GET", "/v1/faxes", w.a.userCrd, nil), 200)
}

// TestCredentialChanges: revoking a key, suspending a user or tenant or
// deleting a user through the API takes effect at once, although
// verified keys are cached; a revocation made elsewhere (another host,
// psql) within the cache's TTL.
func TestCredentialChanges(t *testing.T) {
	t.Parallel()
	const ttl = 300 * time.Millisecond
	e := newEnv(t, func(o *api.Options) { o.KeyCacheTTL = ttl })
	w := makeWorld(t, e)
	ctx := testCtx(t)

	expect(t, "key", e.do(t, "GET", "/v1/faxes", w.a.userCrd, nil), 200)
	expect(t, "revoke", e.do(t, "DELETE", "/v1/api-keys/"+w.a.userKeyID, admin, nil), 204)
	expect(t, "revoked key", e.do(t, "GET", "/v1/faxes", w.a.userCrd, nil), 401)

	expect(t, "tenant-admin key", e.do(t, "GET", "/v1/faxes", w.a.adminCred, nil), 200)
	expect(t, "suspend tenant", e.do(t, "PATCH", "/v1/tenants/"+w.a.tenant.ID, admin, map[string]any{"suspended": true}), 200)
	expect(t, "suspended tenant's key", e.do(t, "GET", "/v1/faxes", w.a.adminCred, nil), 403)

	expect(t, "B's key", e.do(t, "GET", "/v1/faxes", w.b.adminCred, nil), 200)
	expect(t, "suspend user", e.do(t, "PATCH", "/v1/users/"+w.b.admin.ID, admin, map[string]any{"suspended": true}), 200)
	expect(t, "suspended user's key", e.do(t, "GET", "/v1/faxes", w.b.adminCred, nil), 403)

	expect(t, "B's user key", e.do(t, "GET", "/v1/faxes", w.b.userCrd, nil), 200)
	expect(t, "delete user", e.do(t, "DELETE", "/v1/users/"+w.b.user.ID, admin, nil), 204)
	expect(t, "deleted user's key", e.do(t, "GET", "/v1/faxes", w.b.userCrd, nil), 401)

	// Revoked in the database directly: honoured once the cache entry
	// expires.
	f := makeTenant(t, e, "C")
	expect(t, "C's key", e.do(t, "GET", "/v1/faxes", f.userCrd, nil), 200)
	must(t, e.store.RevokeAPIKey(ctx, gofaxlib.OperatorScope(), f.userKeyID))
	deadline := time.Now().Add(30 * time.Second)
	for e.do(t, "GET", "/v1/faxes", f.userCrd, nil).status != 401 {
		if time.Now().After(deadline) {
			t.Fatal("a key revoked in the database still works after 30s")
		}
		time.Sleep(ttl / 3)
	}
}

// TestHostileInput: control characters, invalid UTF-8 and overlong values
// in every place a client controls are the client's mistake (4xx),
// never a server error.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := makeWorld(t, e)
	nasty := []string{"\x00", "a\x00b", "\xff\xfe", "%", strings.Repeat("9", 5000), "' OR 1=1 --", "\u202e", "\r\nX-Evil: 1"}
	for _, v := range nasty {
		q := url.QueryEscape(v)
		for _, c := range []struct {
			method, path string
			c            cred
			body         any
		}{
			{"GET", "/v1/faxes?from=" + q, w.a.userCrd, nil},
			{"GET", "/v1/faxes?to=" + q, admin, nil},
			{"GET", "/v1/faxes?status=" + q, admin, nil},
			{"GET", "/v1/faxes?since=" + q, admin, nil},
			{"GET", "/v1/numbers?tenant_id=" + q, admin, nil},
			{"GET", "/v1/tenants?cursor=" + q, admin, nil},
			{"GET", "/v1/tenants?limit=" + q, admin, nil},
			{"GET", "/v1/faxes/" + url.PathEscape(v), w.a.userCrd, nil},
			{"GET", "/v1/faxes", cred{user: v, pass: "whatever1"}, nil},
			{"GET", "/v1/faxes", cred{user: w.a.user.Username, pass: v}, nil},
			{"POST", "/v1/tenants", admin, map[string]any{"name": v, "time_zone": v}},
			{"POST", "/v1/numbers", admin, map[string]any{"tenant_id": w.a.tenant.ID, "number": v, "header": v}},
			{"POST", "/v1/numbers", admin, map[string]any{"tenant_id": v, "number": "+4930999999"}},
			{"POST", "/v1/users", admin, map[string]any{"tenant_id": w.a.tenant.ID, "username": v, "email": v}},
			{"POST", "/v1/users", admin, map[string]any{"tenant_id": w.a.tenant.ID, "username": "u" + fmt.Sprint(next()), "email": "a" + v + "@example.com"}},
			{"POST", "/v1/users/" + w.a.user.ID + "/api-keys", admin, map[string]any{"name": v}},
			{"POST", "/v1/endpoints", admin, map[string]any{"scope": "tenant", "tenant_id": w.a.tenant.ID, "kind": "webhook", "target": "https://x/" + v}},
			{"POST", "/v1/endpoints", admin, map[string]any{"scope": "tenant", "tenant_id": w.a.tenant.ID, "kind": "email", "target": v}},
			{"PATCH", "/v1/tenants/" + w.a.tenant.ID, admin, map[string]any{"name": v}},
			{"POST", "/v1/faxes", w.a.userCrd, (&form{}).field("to", v).field("from", v).field("header", v).file("a.tif", "", readFile(t, "testdata/one-page-g4.tif"))},
			{"POST", "/v1/faxes", w.a.userCrd, (&form{}).field("to", "+4989123456").field("send_at", v).file("a.tif", "", readFile(t, "testdata/one-page-g4.tif"))},
		} {
			if _, err := http.NewRequest(c.method, e.base+c.path, nil); err != nil {
				continue // not even a URL
			}
			r := e.do(t, c.method, c.path, c.c, c.body)
			if r.status >= 500 {
				t.Errorf("%s %s with %q: %d %s", c.method, c.path, v, r.status, r.body)
			}
		}
	}
}
