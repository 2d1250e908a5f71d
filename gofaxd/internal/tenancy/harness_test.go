package tenancy

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/receive"
	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/journal"
	"github.com/gofaxserver/gofaxserver/gofaxlib/postgres"
	"github.com/gofaxserver/gofaxserver/gofaxlib/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// waitLimit bounds every wait of these tests: generous, the machine is
// shared and loaded; the waits end as soon as their condition holds.
const waitLimit = 60 * time.Second

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func testLog(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// migratedDB returns the DSN of a new database with the schema.
func migratedDB(t *testing.T) string {
	t.Helper()
	tmpl := pgtest.Template(t, "tenancy", func(ctx context.Context, dsn string) error {
		db, err := sql.Open("postgres", dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = postgres.Migrate(ctx, db, "template")
		return err
	})
	return pgtest.NewDatabase(t, tmpl)
}

func openStore(t *testing.T, dsn, host string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(postgres.Options{DSN: dsn, Host: host, Plan: planDE, MaxConns: 4,
		StatementTimeout: 10 * time.Second, ConnectTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newSpool makes a spool with the directories gofaxd and HylaFAX use.
func newSpool(t *testing.T) string {
	t.Helper()
	spool := t.TempDir()
	for _, d := range []string{"recvq", "sendq", "doneq", "docq", "gofax", "gofax/journal"} {
		if err := os.MkdirAll(filepath.Join(spool, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return spool
}

// harness is a Service on a spool of its own.
type harness struct {
	t     *testing.T
	spool string
	store *postgres.Store
	j     *journal.Journal
	svc   *Service
	cfg   Config
}

// newHarness opens (does not start) a Service for host on database dsn.
func newHarness(t *testing.T, dsn, host string, tweak func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, spool: newSpool(t)}
	h.store = openStore(t, dsn, host)
	h.cfg = Config{Spool: h.spool, Store: h.store, Plan: planDE, Host: host, Archive: filepath.Join(h.spool, "archive"),
		Refresh: time.Minute, Migrate: true, MaxCallTime: time.Minute, Log: testLog(t)}
	if tweak != nil {
		tweak(&h.cfg)
	}
	h.open()
	return h
}

// open opens the journal and the Service (again, after close).
func (h *harness) open() {
	h.t.Helper()
	j, err := journal.Open(filepath.Join(h.spool, "gofax", "journal"), journal.Options{
		Consumers: Consumers(receive.Consumers), Writer: journal.WriterOptions{Name: "gofaxd"}})
	if err != nil {
		h.t.Fatal(err)
	}
	h.j = j
	cfg := h.cfg
	cfg.Journal = j
	svc, err := Open(cfg)
	if err != nil {
		j.Close()
		h.t.Fatal(err)
	}
	svc.grace = 200 * time.Millisecond
	h.svc = svc
	h.t.Cleanup(h.close)
}

func (h *harness) start() { h.svc.Start() }

// close stops the Service and closes the journal.
func (h *harness) close() {
	if h.svc != nil {
		h.svc.Close()
		h.svc = nil
	}
	if h.j != nil {
		h.j.Close()
		h.j = nil
	}
}

// waitFor polls cond until it holds, failing the test after waitLimit.
func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > waitLimit {
			t.Fatalf("timed out after %v waiting for %s", waitLimit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// tenantWorld is tenant Acme with number +4930111111 and user alice,
// and tenant Bravo with +4940222222 and user bob.
type tenantWorld struct {
	acme, bravo   gofaxlib.Tenant
	acmeN, bravoN gofaxlib.Number
	alice, bob    gofaxlib.User
}

func makeTenants(t *testing.T, s *postgres.Store) *tenantWorld {
	t.Helper()
	ctx := testCtx(t)
	op := gofaxlib.OperatorScope()
	w := &tenantWorld{acme: gofaxlib.Tenant{Name: "Acme"}, bravo: gofaxlib.Tenant{Name: "Bravo"}}
	for _, tn := range []*gofaxlib.Tenant{&w.acme, &w.bravo} {
		if err := s.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
	}
	w.acmeN = gofaxlib.Number{TenantID: w.acme.ID, Number: "+4930111111", Ident: "ACME FAX"}
	w.bravoN = gofaxlib.Number{TenantID: w.bravo.ID, Number: "+4940222222", Ident: "BRAVO FAX"}
	for _, n := range []*gofaxlib.Number{&w.acmeN, &w.bravoN} {
		if err := s.CreateNumber(ctx, op, n); err != nil {
			t.Fatal(err)
		}
	}
	w.alice = gofaxlib.User{TenantID: w.acme.ID, Username: "alice", DefaultNumberID: w.acmeN.ID}
	w.bob = gofaxlib.User{TenantID: w.bravo.ID, Username: "bob", DefaultNumberID: w.bravoN.ID}
	for _, u := range []*gofaxlib.User{&w.alice, &w.bob} {
		if err := s.CreateUser(ctx, op, u, ""); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// copyFile copies testdata file name to dst.
func copyFile(t *testing.T, name, dst string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// writeQfile writes testdata qfile name as queue/q<id> (atomically, as
// hfaxd and faxq make qfiles appear) with fields replaced: tag → value,
// where the value "-" removes every line of the tag, and tags the file
// lacks are added.
func writeQfile(t *testing.T, spool, name, queue string, id int, set map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	done := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		tag, _, _ := strings.Cut(l, ":")
		v, ok := set[tag]
		switch {
		case ok && v == "-":
			done[tag] = true
			continue
		case ok && !done[tag]:
			l = tag + ":" + v
			done[tag] = true
		}
		lines = append(lines, l)
	}
	for tag, v := range set {
		if !done[tag] {
			lines = append(lines, tag+":"+v)
		}
	}
	path := filepath.Join(spool, queue, "q"+itoa(id))
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	return path
}
