package tenancy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// TestRoutingAcrossHosts: two gofaxd (hosts) share one database; a
// number created and a tenant suspended through one host's connection
// reach the other's routing through the change notifications.
func TestRoutingAcrossHosts(t *testing.T) {
	t.Parallel()
	dsn := migratedDB(t)
	h1 := newHarness(t, dsn, "host-1", nil)
	h2 := newHarness(t, dsn, "host-2", nil)
	w := makeTenants(t, h1.store)
	h1.start()
	h2.start()
	for _, h := range []*harness{h1, h2} {
		waitFor(t, "the routing", func() bool { r := h.svc.Routing(); return r != nil && len(r.Numbers) == 2 })
	}
	// The full reload every Refresh (a minute here) plays no part.
	ctx := testCtx(t)
	n := gofaxlib.Number{TenantID: w.acme.ID, Number: "+4930555555", Ident: "NEW"}
	start := time.Now()
	if err := h1.store.CreateNumber(ctx, gofaxlib.OperatorScope(), &n); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, "host 2 routing the new number", func() bool { return h2.svc.Route("+4930555555").TenantID == w.acme.ID })
	t.Logf("a new number reached the other host's routing %v after the commit", took)
	if r := h2.svc.Route("+4930555555"); r.Ident != "NEW" {
		t.Errorf("route %+v", r)
	}
	w.acme.Suspended = true
	start = time.Now()
	if err := h1.store.UpdateTenant(ctx, &w.acme); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "host 2 refusing the suspended tenant", func() bool { return h2.svc.Route("+4930111111").Refuse != "" })
	t.Logf("a suspension reached the other host's routing %v after the commit", time.Since(start))
	// The snapshot follows.
	waitFor(t, "the snapshot", func() bool {
		r, err := readSnapshot(filepath.Join(h2.spool, SnapshotFile))
		if err != nil {
			return false
		}
		tn, ok := r.Tenant(w.acme.ID)
		return ok && tn.Suspended
	})
}

// TestSnapshot: the routing is written to the spool for gofaxsend (JSON
// of gofaxlib.Routing, no secrets, mode 0640), and a gofaxd starting
// while PostgreSQL cannot be reached routes calls with it.
func TestSnapshot(t *testing.T) {
	t.Parallel()
	dsn := migratedDB(t)
	h := newHarness(t, dsn, "host-a", nil)
	w := makeTenants(t, h.store)
	ctx := testCtx(t)
	hook := gofaxlib.Endpoint{Scope: gofaxlib.ScopeTenant, TenantID: w.acme.ID, Kind: gofaxlib.KindWebhook,
		Target: "https://example.com/hook", Enabled: true}
	if err := h.store.CreateEndpoint(ctx, gofaxlib.OperatorScope(), &hook); err != nil {
		t.Fatal(err)
	}
	h.start()
	path := filepath.Join(h.spool, SnapshotFile)
	waitFor(t, "the snapshot", func() bool { _, err := os.Stat(path); return err == nil })
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != snapshotMode {
		t.Errorf("snapshot mode %v, want %v", fi.Mode().Perm(), os.FileMode(snapshotMode))
	}
	b, _ := os.ReadFile(path)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"loaded_at", "tenants", "numbers", "users", "endpoints"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("snapshot has no %q", k)
		}
	}
	var r gofaxlib.Routing
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if u, tn, ok := r.User("alice"); !ok || tn.ID != w.acme.ID || u.DefaultNumberID != w.acmeN.ID {
		t.Errorf("snapshot's alice: %+v %+v %v", u, tn, ok)
	}
	if len(r.Endpoints) != 1 || r.Endpoints[0].Secret != "" {
		t.Errorf("snapshot endpoints %+v", r.Endpoints)
	}
	h.close()

	// The database is unreachable (wrong socket directory): the new
	// gofaxd routes with the snapshot.
	down := t.TempDir()
	h.store = openStore(t, "host="+down+" port=5432 user=postgres dbname=x sslmode=disable connect_timeout=1", "host-a")
	h.cfg.Store = h.store
	h.open()
	if r := h.svc.Route("030 111111"); r.TenantID != w.acme.ID || r.Ident != "ACME FAX" {
		t.Errorf("route from the snapshot: %+v", r)
	}
	h.start()
	waitFor(t, "the outage noticed", func() bool { return h.svc.Health() != nil })
	if err := h.svc.Health(); err == nil || !strings.Contains(err.Error(), "from the snapshot") {
		t.Errorf("health: %v", err)
	}
	// Without a snapshot and without the database, calls are refused as
	// a temporary failure.
	os.Remove(path)
	h.close()
	h.open()
	if r := h.svc.Route("030 111111"); !r.Temporary {
		t.Errorf("no routing at all: %+v", r)
	}
}
