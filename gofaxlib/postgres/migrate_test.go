package postgres

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/postgres/pgtest"
)

func openDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestMigrationsEmbedded(t *testing.T) {
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].Version != 1 || ms[0].Name != "0001_tenants.sql" {
		t.Errorf("migrations %+v", ms)
	}
}

func TestMigrateFromEmptyAndAgain(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	db := openDB(t, pgtest.NewDatabase(t, ""))
	st, err := CheckSchema(ctx, db)
	if err != nil || st.Current != 0 || st.UpToDate() {
		t.Fatalf("empty database: %+v, %v", st, err)
	}
	applied, err := Migrate(ctx, db, "host-a")
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := Migrations()
	if len(applied) != len(ms) {
		t.Errorf("applied %v, want all %d", applied, len(ms))
	}
	again, err := Migrate(ctx, db, "host-a")
	if err != nil || len(again) != 0 {
		t.Errorf("second run applied %v, %v", again, err)
	}
	st, err = CheckSchema(ctx, db)
	if err != nil || !st.UpToDate() || st.Newer() || st.Current != len(ms) {
		t.Errorf("after migrating: %+v, %v", st, err)
	}
	var host string
	if err := db.QueryRowContext(ctx, "SELECT host FROM schema_migrations WHERE version = 1").Scan(&host); err != nil || host != "host-a" {
		t.Errorf("recorded host %q, %v", host, err)
	}
	for _, table := range []string{"tenants", "numbers", "users", "api_keys", "endpoints", "faxes", "fax_attempts",
		"events", "deliveries", "audit_log", "ingested_records"} {
		var ok bool
		if err := db.QueryRowContext(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&ok); err != nil || !ok {
			t.Errorf("table %s missing", table)
		}
	}
}

// TestMigrateTwoAtOnce starts two migrators on one empty database at the
// same time: one applies everything, the other waits on the advisory lock
// and finds nothing to do.
func TestMigrateTwoAtOnce(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	dsn := pgtest.NewDatabase(t, "")
	ms, _ := Migrations()
	var wg sync.WaitGroup
	results := make([][]int, 4)
	errs := make([]error, len(results))
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := sql.Open("postgres", dsn)
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close()
			results[i], errs[i] = Migrate(ctx, db, "host")
		}()
	}
	wg.Wait()
	total := 0
	for i := range results {
		if errs[i] != nil {
			t.Errorf("migrator %d: %v", i, errs[i])
		}
		total += len(results[i])
	}
	if total != len(ms) {
		t.Errorf("migrations applied %d times in all (%v), want %d", total, results, len(ms))
	}
}

// TestMigrateWaitsForLock holds the advisory lock elsewhere: Migrate waits
// until its context ends, and runs once the lock is free.
func TestMigrateWaitsForLock(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	dsn := pgtest.NewDatabase(t, "")
	holder := openDB(t, dsn)
	conn, err := holder.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrateLockKey); err != nil {
		t.Fatal(err)
	}
	db := openDB(t, dsn)
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if applied, err := Migrate(short, db, "host"); err == nil {
		t.Fatalf("Migrate ran while another session held the lock: %v", applied)
	}
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", migrateLockKey); err != nil {
		t.Fatal(err)
	}
	if applied, err := Migrate(ctx, db, "host"); err != nil || len(applied) == 0 {
		t.Errorf("after unlock: %v, %v", applied, err)
	}
}

func TestMigrationChanged(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	db := openDB(t, pgtest.NewDatabase(t, migratedTemplate(t)))
	ms, _ := Migrations()
	ms[0].Sum[0] ^= 1
	if _, err := migrate(ctx, db, "host", ms); !errors.Is(err, ErrMigrationChanged) {
		t.Errorf("edited migration: %v, want ErrMigrationChanged", err)
	}
}

func TestNewerSchema(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	db := openDB(t, pgtest.NewDatabase(t, migratedTemplate(t)))
	if _, err := db.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, sha256) VALUES (999, '0999_future.sql', '\\x00')"); err != nil {
		t.Fatal(err)
	}
	st, err := CheckSchema(ctx, db)
	if err != nil || !st.Newer() || !st.UpToDate() {
		t.Errorf("newer schema: %+v, %v", st, err)
	}
	if applied, err := Migrate(ctx, db, "host"); err != nil || len(applied) != 0 {
		t.Errorf("Migrate on a newer schema: %v, %v", applied, err)
	}
}

func TestReadMigrationsRefusesGaps(t *testing.T) {
	// The embedded directory is checked by Migrations; here the rules.
	for name, ok := range map[string]bool{"0001_a.sql": true, "1_a.sql": false, "0001_A.sql": false, "0001-a.sql": false} {
		if migrationName.MatchString(name) != ok {
			t.Errorf("%s: match = %v", name, !ok)
		}
	}
}
