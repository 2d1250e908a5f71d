package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"time"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrateLockKey is the advisory lock that serialises migrations of one
// database ("gofaxmig" as a number): several hosts starting at once take
// turns, each waiting in pg_advisory_lock for as long as the one before
// it needs.
const migrateLockKey int64 = 0x676f6661786d6967

// unlockTimeout bounds releasing the lock after the migrations (the
// connection is discarded when it fails, which releases it too).
const unlockTimeout = 10 * time.Second

// ErrMigrationChanged means a migration already applied to the database
// differs from the one built into this binary: released migrations are
// never edited.
var ErrMigrationChanged = errors.New("postgres: an applied migration was changed")

// Migration is one numbered SQL file of migrations/.
type Migration struct {
	Version int
	Name    string // file name, e.g. 0001_tenants.sql
	SQL     string
	Sum     [sha256.Size]byte
}

var migrationName = regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+\.sql$`)

// Migrations returns the migrations built into the binary, in order. Their
// versions are 1, 2, 3, … without gaps.
func Migrations() ([]Migration, error) {
	return readMigrations(migrationFiles, "migrations")
}

func readMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("postgres: migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries { // ReadDir sorts by name
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("postgres: migration file %q is not named NNNN_name.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		if v != len(ms)+1 {
			return nil, fmt.Errorf("postgres: migration %s: expected version %d", e.Name(), len(ms)+1)
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("postgres: migrations: %w", err)
		}
		ms = append(ms, Migration{Version: v, Name: e.Name(), SQL: string(b), Sum: sha256.Sum256(b)})
	}
	return ms, nil
}

// SchemaStatus compares a database's schema with the binary's migrations.
type SchemaStatus struct {
	Current int // highest version applied (0 = none)
	Latest  int // highest version this binary knows
}

// UpToDate reports whether the binary may use the database as it is: every
// migration it knows is applied (a newer schema, from a newer gofaxd on
// another host, is fine: migrations only add).
func (s SchemaStatus) UpToDate() bool { return s.Current >= s.Latest }

// Newer reports whether a newer gofaxserver migrated the database.
func (s SchemaStatus) Newer() bool { return s.Current > s.Latest }

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    integer PRIMARY KEY,
	name       text NOT NULL,
	sha256     bytea NOT NULL,
	host       text NOT NULL DEFAULT '',
	applied_at timestamptz NOT NULL DEFAULT now()
)`

// Migrate applies the migrations the database lacks, each in a
// transaction of its own, under a session advisory lock, and returns the
// versions it applied. host is recorded with each. It refuses (with
// ErrMigrationChanged) a database where an applied migration differs from
// the binary's. Cancelling ctx stops waiting for the lock.
func Migrate(ctx context.Context, db *sql.DB, host string) (applied []int, err error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	return migrate(ctx, db, host, ms)
}

func migrate(ctx context.Context, db *sql.DB, host string, ms []Migration) (applied []int, err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, mapErr("migrate: connect", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrateLockKey); err != nil {
		return nil, mapErr("migrate: lock", err)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
		defer cancel()
		if _, uerr := conn.ExecContext(uctx, "SELECT pg_advisory_unlock($1)", migrateLockKey); uerr != nil {
			// A session lock lives as long as the session: drop the
			// connection instead of returning it to the pool.
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	if _, err := conn.ExecContext(ctx, createMigrationsTable); err != nil {
		return nil, mapErr("migrate: create schema_migrations", err)
	}
	done, err := appliedMigrations(ctx, conn)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if sum, ok := done[m.Version]; ok {
			if !bytes.Equal(sum, m.Sum[:]) {
				return applied, fmt.Errorf("%w: %s differs from the version applied to the database", ErrMigrationChanged, m.Name)
			}
			continue
		}
		if err := apply(ctx, conn, host, m); err != nil {
			return applied, err
		}
		applied = append(applied, m.Version)
	}
	return applied, nil
}

func appliedMigrations(ctx context.Context, conn *sql.Conn) (map[int][]byte, error) {
	rows, err := conn.QueryContext(ctx, "SELECT version, sha256 FROM schema_migrations")
	if err != nil {
		return nil, mapErr("migrate: read schema_migrations", err)
	}
	defer rows.Close()
	done := map[int][]byte{}
	for rows.Next() {
		var v int
		var sum []byte
		if err := rows.Scan(&v, &sum); err != nil {
			return nil, mapErr("migrate: read schema_migrations", err)
		}
		done[v] = sum
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr("migrate: read schema_migrations", err)
	}
	return done, nil
}

// apply runs one migration file and records it, in one transaction and
// without the pool's statement timeout (a migration may take long).
func apply(ctx context.Context, conn *sql.Conn, host string, m Migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return mapErr("migrate: begin", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SET LOCAL statement_timeout = 0"); err != nil {
		return mapErr("migrate: "+m.Name, err)
	}
	// No arguments: lib/pq sends the file as one simple query, so it may
	// hold many statements and function bodies.
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return mapErr("migrate: "+m.Name, err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, sha256, host) VALUES ($1, $2, $3, $4)",
		m.Version, m.Name, m.Sum[:], host); err != nil {
		return mapErr("migrate: record "+m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return mapErr("migrate: commit "+m.Name, err)
	}
	return nil
}

// CheckSchema reports the database's schema version against the binary's,
// without changing anything (for gofaxd with migrate = false).
func CheckSchema(ctx context.Context, db *sql.DB) (SchemaStatus, error) {
	ms, err := Migrations()
	if err != nil {
		return SchemaStatus{}, err
	}
	st := SchemaStatus{Latest: len(ms)}
	var exists bool
	if err := db.QueryRowContext(ctx, "SELECT to_regclass('schema_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return st, mapErr("schema status", err)
	}
	if !exists {
		return st, nil
	}
	if err := db.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&st.Current); err != nil {
		return st, mapErr("schema status", err)
	}
	return st, nil
}
