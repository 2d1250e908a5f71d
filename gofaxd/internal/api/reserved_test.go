package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/api"
)

// TestReservedUsernames: a tenant user may not be named like a local
// account, an hfaxd login or a name HylaFAX itself uses (its jobs would
// become the tenant's), in any case; the answer is the same as for a
// name another tenant's user has, so it tells nothing about other
// tenants; renaming is checked alike.
func TestReservedUsernames(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *api.Options) {
		o.PasswdFile = "testdata/passwd"
		o.HostsHfaxd = "testdata/hosts.hfaxd"
		o.ReservedUsernames = []string{"gofaxapi"}
	})
	w := makeWorld(t, e)
	create := func(c cred, name string) response {
		return e.do(t, "POST", "/v1/users", c, map[string]any{"username": name, "tenant_id": w.a.tenant.ID})
	}
	var detail string
	for _, name := range []string{
		"root", "ROOT", "uucp", "svc-backup", // local accounts
		"gofax", "scanner.office", // hfaxd logins
		"gofaxapi",                                       // the API's own hfaxd account
		"faxmaster", "FaxMaster", "nobody", "postmaster", // HylaFAX's and the system's
		w.b.user.Username, // another tenant's user
	} {
		for _, c := range []cred{w.a.adminCred, admin} {
			p := checkProblem(t, name, create(c, name), http.StatusConflict)
			d, _ := p["detail"].(string)
			if detail == "" {
				detail = d
			}
			if d != detail || strings.Contains(d, name) {
				t.Errorf("%s: detail %q, want the same for every unavailable name (%q), without the name", name, d, detail)
			}
		}
	}
	expect(t, "a free name", create(w.a.adminCred, "scanner2.office"), http.StatusCreated)
	r := e.do(t, "PATCH", "/v1/users/"+w.a.user.ID, w.a.adminCred, map[string]any{"username": "uucp"})
	checkProblem(t, "rename to uucp", r, http.StatusConflict)
	r = e.do(t, "PATCH", "/v1/users/"+w.a.user.ID, w.a.adminCred, map[string]any{"username": w.b.admin.Username})
	if p := checkProblem(t, "rename to B's", r, http.StatusConflict); p["detail"] != detail {
		t.Errorf("rename to another tenant's name: %v", p["detail"])
	}
	expect(t, "the same name again", e.do(t, "PATCH", "/v1/users/"+w.a.user.ID, w.a.adminCred,
		map[string]any{"username": w.a.user.Username}), http.StatusOK)
}
