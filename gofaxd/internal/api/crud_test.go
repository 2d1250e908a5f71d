package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// TestCRUD walks every resource through create, get, list, change and
// delete with the admin token, checking what comes back and what the
// audit log says.
func TestCRUD(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)

	// Tenant.
	r := e.do(t, "POST", "/v1/tenants", admin, map[string]any{"name": "Acme", "time_zone": "Europe/Berlin"})
	expect(t, "create tenant", r, http.StatusCreated)
	var tenant gofaxlib.Tenant
	r.json(t, &tenant)
	if tenant.ID == "" || tenant.Name != "Acme" || tenant.TimeZone != "Europe/Berlin" || r.header.Get("Location") != "/v1/tenants/"+tenant.ID {
		t.Fatalf("created %+v, Location %q", tenant, r.header.Get("Location"))
	}
	expect(t, "same name", e.do(t, "POST", "/v1/tenants", admin, map[string]any{"name": "ACME"}), http.StatusConflict)
	expect(t, "get tenant", e.do(t, "GET", "/v1/tenants/"+tenant.ID, admin, nil), http.StatusOK)
	r = e.do(t, "PATCH", "/v1/tenants/"+tenant.ID, admin, map[string]any{"retention_days": 90})
	expect(t, "patch tenant", r, http.StatusOK)
	var patched gofaxlib.Tenant
	r.json(t, &patched)
	if patched.RetentionDays != 90 || patched.Name != "Acme" || patched.TimeZone != "Europe/Berlin" {
		t.Errorf("patched %+v: fields not given changed", patched)
	}
	expect(t, "bad time zone", e.do(t, "PATCH", "/v1/tenants/"+tenant.ID, admin, map[string]any{"time_zone": "Mars/Olympus"}), http.StatusUnprocessableEntity)

	// Number, written nationally: stored as E.164.
	r = e.do(t, "POST", "/v1/numbers", admin, map[string]any{"tenant_id": tenant.ID, "number": "030 123456", "ident": "ACME"})
	expect(t, "create number", r, http.StatusCreated)
	var number gofaxlib.Number
	r.json(t, &number)
	if number.Number != "+4930123456" {
		t.Errorf("number stored as %q", number.Number)
	}
	r = e.do(t, "POST", "/v1/numbers", admin, map[string]any{"tenant_id": tenant.ID, "number": "+49 30 123456"})
	expect(t, "same number", r, http.StatusConflict)
	if p := r.object(t); !strings.Contains(fmt.Sprint(p["invalid_params"]), "number") {
		t.Errorf("conflict does not name the field: %s", r.body)
	}
	expect(t, "letters", e.do(t, "POST", "/v1/numbers", admin, map[string]any{"tenant_id": tenant.ID, "number": "0800-FAX"}), http.StatusUnprocessableEntity)
	expect(t, "no tenant", e.do(t, "POST", "/v1/numbers", admin, map[string]any{"tenant_id": missingID, "number": "+4930999999"}), http.StatusUnprocessableEntity)
	r = e.do(t, "PATCH", "/v1/numbers/"+number.ID, admin, map[string]any{"header": "ACME Corp"})
	expect(t, "patch number", r, http.StatusOK)
	if !strings.Contains(string(r.body), `"header":"ACME Corp"`) {
		t.Errorf("patched number %s", r.body)
	}

	// User with a password: the login works.
	r = e.do(t, "POST", "/v1/users", admin, map[string]any{"tenant_id": tenant.ID, "username": "alice", "password": "correct horse",
		"role": "tenant-admin", "default_number_id": number.ID, "email": "alice@example.com"})
	expect(t, "create user", r, http.StatusCreated)
	var user gofaxlib.User
	r.json(t, &user)
	if strings.Contains(string(r.body), "correct horse") || strings.Contains(string(r.body), "password") {
		t.Errorf("the user's answer shows the password: %s", r.body)
	}
	alice := cred{user: "alice", pass: "correct horse"}
	expect(t, "Basic login", e.do(t, "GET", "/v1/faxes", alice, nil), http.StatusOK)
	expect(t, "taken username", e.do(t, "POST", "/v1/users", admin, map[string]any{"tenant_id": tenant.ID, "username": "alice"}), http.StatusConflict)
	expect(t, "short password", e.do(t, "POST", "/v1/users", admin, map[string]any{"tenant_id": tenant.ID, "username": "bob", "password": "short"}), http.StatusUnprocessableEntity)
	r = e.do(t, "PATCH", "/v1/users/"+user.ID, admin, map[string]any{"password": "battery staple", "email": "a@example.com"})
	expect(t, "patch user", r, http.StatusOK)
	expect(t, "old password", e.do(t, "GET", "/v1/faxes", alice, nil), http.StatusUnauthorized)
	expect(t, "new password", e.do(t, "GET", "/v1/faxes", cred{user: "alice", pass: "battery staple"}, nil), http.StatusOK)

	// API key: shown once, works, listed without the key, revoked.
	r = e.do(t, "POST", "/v1/users/"+user.ID+"/api-keys", admin, map[string]any{"name": "ci"})
	expect(t, "create key", r, http.StatusCreated)
	key := r.object(t)
	token, _ := key["key"].(string)
	if !strings.HasPrefix(token, "gofax_") || !strings.HasPrefix(token, key["prefix"].(string)) {
		t.Fatalf("key %v", key)
	}
	expect(t, "key works", e.do(t, "GET", "/v1/faxes", bearer(token), nil), http.StatusOK)
	r = e.do(t, "GET", "/v1/users/"+user.ID+"/api-keys", admin, nil)
	expect(t, "list keys", r, http.StatusOK)
	if strings.Contains(string(r.body), token) || !strings.Contains(string(r.body), key["id"].(string)) {
		t.Errorf("key list %s", r.body)
	}
	expect(t, "key without body", e.do(t, "POST", "/v1/users/"+user.ID+"/api-keys", admin, nil), http.StatusCreated)
	expect(t, "revoke key", e.do(t, "DELETE", "/v1/api-keys/"+key["id"].(string), admin, nil), http.StatusNoContent)
	expect(t, "revoked key", e.do(t, "GET", "/v1/faxes", bearer(token), nil), http.StatusUnauthorized)

	// Endpoints: a webhook's secret is shown once; a gateway has none.
	r = e.do(t, "POST", "/v1/endpoints", admin, map[string]any{"scope": "number", "tenant_id": tenant.ID, "number_id": number.ID,
		"kind": "webhook", "target": "https://example.com/fax", "options": map[string]any{"events": []string{"fax.received"}}})
	expect(t, "create webhook", r, http.StatusCreated)
	hook := r.object(t)
	secret, _ := hook["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") || len(secret) < len("whsec_")+32 {
		t.Errorf("webhook secret %q", secret)
	}
	r = e.do(t, "GET", "/v1/endpoints/"+hook["id"].(string), admin, nil)
	expect(t, "get webhook", r, http.StatusOK)
	if strings.Contains(string(r.body), "secret") {
		t.Errorf("the secret is shown again: %s", r.body)
	}
	r = e.do(t, "PATCH", "/v1/endpoints/"+hook["id"].(string), admin, map[string]any{"rotate_secret": true, "priority": 3})
	expect(t, "rotate secret", r, http.StatusOK)
	if s, _ := r.object(t)["secret"].(string); s == secret || !strings.HasPrefix(s, "whsec_") {
		t.Errorf("rotated secret %q", s)
	}
	r = e.do(t, "POST", "/v1/endpoints", admin, map[string]any{"scope": "global", "kind": "gateway", "target": "carrier1", "priority": 1})
	expect(t, "create global gateway", r, http.StatusCreated)
	gw := r.object(t)
	if _, ok := gw["secret"]; ok {
		t.Errorf("a gateway with a secret: %s", r.body)
	}
	expect(t, "gateway secret", e.do(t, "PATCH", "/v1/endpoints/"+gw["id"].(string), admin, map[string]any{"rotate_secret": true}), http.StatusUnprocessableEntity)
	expect(t, "bad dial", e.do(t, "POST", "/v1/endpoints", admin, map[string]any{"scope": "global", "kind": "gateway", "target": "x", "options": map[string]any{"dial": "smoke"}}), http.StatusUnprocessableEntity)
	r = e.do(t, "GET", "/v1/endpoints?tenant_id="+tenant.ID, admin, nil)
	expect(t, "list tenant endpoints", r, http.StatusOK)
	if strings.Contains(string(r.body), gw["id"].(string)) || !strings.Contains(string(r.body), hook["id"].(string)) {
		t.Errorf("tenant filter: %s", r.body)
	}

	// Deleting: the tenant is refused while it has numbers.
	r = e.do(t, "DELETE", "/v1/tenants/"+tenant.ID, admin, nil)
	expect(t, "delete tenant with numbers", r, http.StatusConflict)
	if !strings.Contains(string(r.body), "still has numbers") {
		t.Errorf("conflict detail: %s", r.body)
	}
	expect(t, "delete webhook", e.do(t, "DELETE", "/v1/endpoints/"+hook["id"].(string), admin, nil), http.StatusNoContent)
	expect(t, "delete user", e.do(t, "DELETE", "/v1/users/"+user.ID, admin, nil), http.StatusNoContent)
	expect(t, "deleted user's login", e.do(t, "GET", "/v1/faxes", cred{user: "alice", pass: "battery staple"}, nil), http.StatusUnauthorized)
	expect(t, "delete number", e.do(t, "DELETE", "/v1/numbers/"+number.ID, admin, nil), http.StatusNoContent)
	expect(t, "delete tenant", e.do(t, "DELETE", "/v1/tenants/"+tenant.ID, admin, nil), http.StatusNoContent)
	expect(t, "deleted tenant", e.do(t, "GET", "/v1/tenants/"+tenant.ID, admin, nil), http.StatusNotFound)
	expect(t, "delete again", e.do(t, "DELETE", "/v1/tenants/"+tenant.ID, admin, nil), http.StatusNotFound)

	// Every change is in the audit log, by the admin token's name.
	entries, _, err := e.store.ListAudit(ctx, gofaxlib.OperatorScope(), gofaxlib.Page{Limit: 100})
	must(t, err)
	actions := map[string]int{}
	for _, a := range entries {
		if a.Actor != "admin:ops" || a.RemoteAddr != "127.0.0.1" {
			t.Errorf("audit entry %+v", a)
		}
		if strings.Contains(string(a.Details), "horse") || strings.Contains(string(a.Details), "staple") || strings.Contains(string(a.Details), "whsec_") {
			t.Errorf("audit entry with a secret: %s", a.Details)
		}
		actions[a.Action]++
	}
	for _, want := range []string{"tenant.create", "tenant.update", "tenant.delete", "number.create", "number.update", "number.delete",
		"user.create", "user.update", "user.delete", "api_key.create", "api_key.revoke", "endpoint.create", "endpoint.update", "endpoint.delete"} {
		if actions[want] == 0 {
			t.Errorf("no audit entry %s (have %v)", want, actions)
		}
	}
}
