package app

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/receive"
	"github.com/gofaxserver/gofaxserver/gofaxd/internal/tenancy"
	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
	"github.com/gofaxserver/gofaxserver/gofaxlib/postgres"
	"github.com/gofaxserver/gofaxserver/gofaxlib/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// tenantDB is a migrated database with tenant Acme (+4930111111, CSI
// "ACME FAX"; +4930555555, CSI "ACME 2"; the suspended +4930666666) and
// the suspended tenant Bravo (+4940222222), and a store on it.
type tenantDB struct {
	dsn         string
	store       *postgres.Store
	acme, bravo gofaxlib.Tenant
}

func newTenantDB(t testing.TB) *tenantDB {
	t.Helper()
	tmpl := pgtest.Template(t, "app", func(ctx context.Context, dsn string) error {
		db, err := sql.Open("postgres", dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = postgres.Migrate(ctx, db, "template")
		return err
	})
	d := &tenantDB{dsn: pgtest.NewDatabase(t, tmpl)}
	plan := gofaxlib.NumberPlan{CountryCode: "49", NationalPrefix: "0", InternationalPrefix: "00"}
	s, err := postgres.Open(postgres.Options{DSN: d.dsn, Host: "test-host", Plan: plan, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	d.store = s
	ctx := context.Background()
	op := gofaxlib.OperatorScope()
	d.acme, d.bravo = gofaxlib.Tenant{Name: "Acme"}, gofaxlib.Tenant{Name: "Bravo"}
	for _, tn := range []*gofaxlib.Tenant{&d.acme, &d.bravo} {
		if err := s.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []gofaxlib.Number{
		{TenantID: d.acme.ID, Number: "+4930111111", Ident: "ACME FAX"},
		{TenantID: d.acme.ID, Number: "+4930555555", Ident: "ACME 2"},
		{TenantID: d.acme.ID, Number: "+4930666666", Suspended: true},
		{TenantID: d.bravo.ID, Number: "+4940222222", Ident: "BRAVO"},
	} {
		if err := s.CreateNumber(ctx, op, &n); err != nil {
			t.Fatal(err)
		}
	}
	d.bravo.Suspended = true
	if err := s.UpdateTenant(ctx, &d.bravo); err != nil {
		t.Fatal(err)
	}
	return d
}

// withDatabase configures [database] for d.
func withDatabase(d *tenantDB, unknown string) func(*config.Config) {
	return func(c *config.Config) {
		c.FreeSWITCH.CountryCode = "49"
		c.Database.Enabled = true
		c.Database.DSN = d.dsn
		c.Database.Hostname = "test-host"
		c.Database.UnknownNumber = unknown
	}
}

// waitRouting waits until gofaxd routes with the database's routing.
func (e *env) waitRouting() {
	e.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for e.app.tenancy.Health() != nil {
		if time.Now().After(deadline) {
			e.t.Fatalf("no routing from the database: %v", e.app.tenancy.Health())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitFax waits for fax id's row to be final.
func waitFax(t *testing.T, s *postgres.Store, id string) gofaxlib.Fax {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		f, err := s.Fax(context.Background(), gofaxlib.OperatorScope(), id)
		if err == nil && f.Status.Terminal() {
			return f
		}
		if time.Now().After(deadline) {
			t.Fatalf("fax %s: %+v, %v", id, f, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTenantRouting: with [database], a call is routed by its called
// number before it is answered: a tenant's number is answered with its
// CSI (DynamicConfig's LocalIdentifier still wins), faxrcvd learns the
// tenant, the fax is recorded against it; an unknown number is refused
// (unknownnumber = reject) or received without a tenant (receive); a
// suspended tenant or number is refused either way.
func TestTenantRouting(t *testing.T) {
	d := newTenantDB(t)
	dynconf := func(c *config.Config) {
		script := filepath.Join(c.HylaFAX.SpoolDir, "bin", "DynamicConfig")
		// The recipient is the fourth argument.
		if err := os.WriteFile(script, []byte("#!/bin/sh\ncase \"$4\" in *555555) echo 'LocalIdentifier: DYNAMIC';; esac\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		c.Gofaxd.DynamicConfig = "bin/DynamicConfig"
	}
	type want struct {
		apps   []string // in order; "respond" ends the call
		class  string
		tenant string // TENANT_NAME for faxrcvd and the row's tenant ("" for none)
		called string // CALLED_NUMBER
	}
	for _, mode := range []string{config.UnknownReject, config.UnknownReceive} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, 1, func(c *config.Config) {
				withDatabase(d, mode)(c)
				dynconf(c)
			})
			e.waitRouting()
			refused := func(class string) want { return want{apps: []string{"respond 404"}, class: class} }
			cases := []struct {
				name, called string
				want         want
			}{
				{"tenant's number, national", "030111111", want{apps: []string{"answer", "set fax_ident=ACME FAX", "rxfax"},
					class: receive.ClassReceived, tenant: "Acme", called: "+4930111111"}},
				{"DynamicConfig's CSI wins", "+4930555555", want{apps: []string{"answer", "set fax_ident=DYNAMIC", "rxfax"},
					class: receive.ClassReceived, tenant: "Acme", called: "+4930555555"}},
				{"suspended tenant", "+4940222222", refused(receive.ClassUnknownNumber)},
				{"suspended number", "+4930666666", refused(receive.ClassUnknownNumber)},
			}
			if mode == config.UnknownReject {
				cases = append(cases, struct {
					name, called string
					want         want
				}{"unknown number", "+4930999999", refused(receive.ClassUnknownNumber)})
			} else {
				cases = append(cases, struct {
					name, called string
					want         want
				}{"unknown number", "+4930999999", want{apps: []string{"answer", "set fax_ident=4711", "rxfax"},
					class: receive.ClassReceived, called: "+4930999999"}})
			}
			commid := 0
			for _, tc := range cases {
				before := e.classCount(tc.want.class)
				rec := e.call(esltest.InboundCall{Destination: tc.called, CallerNumber: "+33123456789"})
				var apps []string
				for _, a := range rec.Apps {
					apps = append(apps, strings.TrimSpace(strings.SplitN(a, " /", 2)[0]))
				}
				if !containsInOrder(apps, tc.want.apps) || tc.want.class != receive.ClassReceived && len(apps) != 1 {
					t.Errorf("%s: apps %q, want %q", tc.name, apps, tc.want.apps)
				}
				if got := e.classCount(tc.want.class); got != before+1 {
					t.Errorf("%s: %s count %d, want %d", tc.name, tc.want.class, got, before+1)
				}
				if tc.want.class != receive.ClassReceived {
					continue
				}
				commid++
				_, env := e.faxrcvd(fmt.Sprintf("%09d", commid))
				if env["TENANT_NAME"] != tc.want.tenant || env["CALLED_NUMBER"] != tc.want.called || env["FAX_ID"] == "" {
					t.Errorf("%s: faxrcvd environment %v", tc.name, env)
				}
				f := waitFax(t, d.store, env["FAX_ID"])
				wantTenant := ""
				if tc.want.tenant != "" {
					wantTenant = d.acme.ID
				}
				if f.TenantID != wantTenant || env["TENANT_ID"] != wantTenant || f.Status != gofaxlib.StatusReceived ||
					f.To != tc.want.called || f.From != "+33123456789" || f.PagesTransferred != 2 || f.Host != "test-host" ||
					f.DocumentPath == "" || !strings.HasPrefix(f.DocumentPath, filepath.Join(e.spool, "archive")) {
					t.Errorf("%s: fax row %+v", tc.name, f)
				}
			}
			if files, _ := filepath.Glob(filepath.Join(e.spool, "recvq", "fax*")); len(files) != commid {
				t.Errorf("recvq holds %d faxes, want %d (refused calls leave none)", len(files), commid)
			}
		})
	}
	t.Run("without database", func(t *testing.T) {
		e := newEnv(t, 1, nil)
		e.call(esltest.InboundCall{Destination: "+4940222222"})
		if _, env := e.faxrcvd("000000001"); slices.ContainsFunc([]string{"TENANT_ID", "TENANT_NAME", "CALLED_NUMBER", "FAX_ID"},
			func(k string) bool { _, ok := env[k]; return ok }) {
			t.Errorf("faxrcvd environment without [database]: %v", env)
		}
		if _, err := os.Stat(filepath.Join(e.spool, tenancy.SnapshotFile)); err == nil {
			t.Error("a routing snapshot without [database]")
		}
	})
}

// TestTenantDatabaseKilled: PostgreSQL dies (immediate stop) while
// calls go on: they are received with the cached routing, and recorded
// exactly once after it is back. It stops the shared cluster: not
// parallel.
func TestTenantDatabaseKilled(t *testing.T) {
	d := newTenantDB(t)
	e := newEnvScale(t, 4, 0.05, withDatabase(d, config.UnknownReject))
	e.waitRouting()
	cluster := pgtest.Shared(t)
	if err := cluster.Stop(pgtest.Immediate); err != nil {
		t.Fatal(err)
	}
	up := false
	t.Cleanup(func() {
		if !up {
			cluster.Start(context.Background())
		}
	})
	const calls = 20
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := e.sim.PlaceCall(ctx, esltest.InboundCall{Destination: "030111111", CallerNumber: fmt.Sprint(5550000 + i)}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	e.waitEnded(calls)
	if n := e.classCount(receive.ClassReceived); n != calls {
		t.Fatalf("%d calls received while the database was down, want %d", n, calls)
	}
	if err := cluster.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	up = true
	deadline := time.Now().Add(time.Minute)
	for len(e.app.journal.Pending(tenancy.Consumer)) > 0 || e.app.tenancy.Health() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("records not ingested: %d pending, %v", len(e.app.journal.Pending(tenancy.Consumer)), e.app.tenancy.Health())
		}
		time.Sleep(10 * time.Millisecond)
	}
	var faxes, attempts, final int
	db := d.store.DB()
	db.QueryRow("SELECT count(*) FROM faxes").Scan(&faxes)
	db.QueryRow("SELECT count(*) FROM fax_attempts").Scan(&attempts)
	db.QueryRow("SELECT count(*) FROM faxes WHERE status = 'received' AND tenant_id = $1 AND document_path <> ''", d.acme.ID).Scan(&final)
	if faxes != calls || attempts != calls || final != calls {
		t.Errorf("%d faxes, %d attempts, %d received with document; want %d of each", faxes, attempts, final, calls)
	}
}
