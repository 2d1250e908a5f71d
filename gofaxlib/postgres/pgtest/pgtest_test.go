package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func query(t *testing.T, dsn, q string) string {
	t.Helper()
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var s string
	if err := db.QueryRowContext(ctx, q).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s
}

func TestDatabasesAreSeparate(t *testing.T) {
	tmpl := Template(t, "seeded", func(ctx context.Context, dsn string) error {
		db, err := sql.Open("postgres", dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = db.ExecContext(ctx, "CREATE TABLE seed (v text); INSERT INTO seed VALUES ('from template')")
		return err
	})
	a, b := NewDatabase(t, tmpl), NewDatabase(t, "")
	if got := query(t, a, "SELECT v FROM seed"); got != "from template" {
		t.Errorf("template row = %q", got)
	}
	if got := query(t, b, "SELECT count(*)::text FROM pg_tables WHERE tablename = 'seed'"); got != "0" {
		t.Errorf("empty database has the template's table")
	}
	if got := query(t, a, "SHOW server_encoding"); got != "UTF8" {
		t.Errorf("server_encoding = %q, want UTF8", got)
	}
}

// TestRestart stops the server like a crash and starts it again: data
// committed before is still there (the harness for "database down" tests).
func TestRestart(t *testing.T) {
	c := Shared(t)
	dsn := NewDatabase(t, "")
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(Immediate); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(); err == nil {
		t.Error("ping succeeded while the server is stopped")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if got := query(t, dsn, "SELECT v::text FROM kept"); got != "42" {
		t.Errorf("after restart: %q", got)
	}
}

func TestNotInstalled(t *testing.T) {
	old := installGlob
	t.Cleanup(func() { installGlob = old })
	installGlob = t.TempDir() + "/*/bin"
	t.Setenv("PATH", t.TempDir())
	if _, err := findBinaries(); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("findBinaries without PostgreSQL: %v, want ErrNotInstalled", err)
	}
}
