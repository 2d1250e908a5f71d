package postgres

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var planDE = gofaxlib.NumberPlan{CountryCode: "49", NationalPrefix: "0", InternationalPrefix: "00"}

// testTimeout bounds each test's database work; generous, the machine is
// shared.
const testTimeout = 2 * time.Minute

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// migratedTemplate is a database with every migration applied, copied for
// each test.
func migratedTemplate(t *testing.T) string {
	return pgtest.Template(t, "migrated", func(ctx context.Context, dsn string) error {
		db, err := sql.Open("postgres", dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = Migrate(ctx, db, "template")
		return err
	})
}

func openStore(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(Options{DSN: dsn, Host: "test-host", Plan: planDE, MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newStore returns a store on a fresh migrated database.
func newStore(t *testing.T) (*Store, string) {
	t.Helper()
	dsn := pgtest.NewDatabase(t, migratedTemplate(t))
	return openStore(t, dsn), dsn
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

// world is two tenants with one of everything each.
type world struct {
	tenant   [2]gofaxlib.Tenant
	number   [2]gofaxlib.Number
	user     [2]gofaxlib.User
	key      [2]string
	apiKey   [2]gofaxlib.APIKey
	endpoint [2]gofaxlib.Endpoint
	fax      [2]gofaxlib.Fax
	attempt  [2]gofaxlib.Attempt
}

func makeWorld(t *testing.T, s *Store) *world {
	t.Helper()
	ctx := testCtx(t)
	op := gofaxlib.OperatorScope()
	w := &world{}
	for i, name := range []string{"Acme", "Bravo"} {
		w.tenant[i] = gofaxlib.Tenant{Name: name, TimeZone: "Europe/Berlin"}
		must(t, s.CreateTenant(ctx, &w.tenant[i]))
		tid := w.tenant[i].ID
		w.number[i] = gofaxlib.Number{TenantID: tid, Number: []string{"030 111111", "+49 40 222222"}[i], Ident: name}
		must(t, s.CreateNumber(ctx, op, &w.number[i]))
		w.user[i] = gofaxlib.User{TenantID: tid, Username: []string{"alice", "bob"}[i], Role: gofaxlib.RoleTenantAdmin,
			DefaultNumberID: w.number[i].ID}
		must(t, s.CreateUser(ctx, op, &w.user[i], "correct horse "+name))
		var err error
		w.key[i], w.apiKey[i], err = s.CreateAPIKey(ctx, op, w.user[i].ID, "ci")
		must(t, err)
		w.endpoint[i] = gofaxlib.Endpoint{Scope: gofaxlib.ScopeNumber, TenantID: tid, NumberID: w.number[i].ID,
			Kind: gofaxlib.KindWebhook, Target: "https://example.com/" + name, Enabled: true}
		must(t, s.CreateEndpoint(ctx, op, &w.endpoint[i]))
		w.fax[i] = gofaxlib.Fax{TenantID: tid, Direction: gofaxlib.Outbound, Status: gofaxlib.StatusQueued,
			From: w.number[i].Number, To: "+33123456789", UserID: w.user[i].ID, Owner: w.user[i].Username,
			IdempotencyKey: "key-1"}
		must(t, s.CreateFax(ctx, gofaxlib.TenantScope(tid), &w.fax[i]))
		w.attempt[i] = gofaxlib.Attempt{FaxID: w.fax[i].ID, Gateway: "carrier", Started: time.Now()}
		_, err = s.RecordAttempt(ctx, "rec-"+name, &w.attempt[i])
		must(t, err)
	}
	return w
}
