// Package pgtest runs a private PostgreSQL cluster for the tests of one
// test binary: initdb into a new directory below os.TempDir() (as the user
// "postgres" when the tests run as root, since initdb refuses root and
// t.TempDir() is root's and mode 0700), the server on a unix socket in that
// directory only (no TCP port, so clusters of parallel test binaries never
// collide), stopped and removed when the tests end. Each test gets its own
// database, copied from a template, so tests run in parallel.
//
// The cluster starts on the first test that asks for a database. When
// PostgreSQL is not installed, those tests are skipped with a message,
// unless GOFAX_TEST_POSTGRES=1 (make test and .ci/run set it): then they
// fail. Debian's package is postgresql (contrib/install-deps.sh installs
// it).
//
// # Usage
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		t.Parallel()
//		dsn := pgtest.NewDatabase(t, "")
//		db, err := sql.Open("postgres", dsn)
//		...
//	}
//
// A template prepared once per test binary (e.g. migrated) makes each test's
// database cheap:
//
//	tmpl := pgtest.Template(t, "migrated", func(ctx context.Context, dsn string) error {
//		return migrate(ctx, dsn) // must close its connections
//	})
//	dsn := pgtest.NewDatabase(t, tmpl)
//
// Shared returns the cluster itself, e.g. to Stop and Start it under a
// running test. GOFAX_TEST_POSTGRES_KEEP=1 keeps the directory (data and
// server.log) after the tests.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lib/pq"
)

// EnvVar set to 1 makes a missing PostgreSQL a test failure instead of a
// skip.
const EnvVar = "GOFAX_TEST_POSTGRES"

// KeepEnvVar set to 1 keeps the cluster's directory after the tests.
const KeepEnvVar = "GOFAX_TEST_POSTGRES_KEEP"

// SkipMessage is the reason given when a test is skipped.
const SkipMessage = "PostgreSQL not installed (apt-get install postgresql, or make test); set GOFAX_TEST_POSTGRES=1 to fail instead of skipping"

// dbTimeout bounds creating or dropping one test database.
const dbTimeout = time.Minute

var (
	mainRunning atomic.Bool

	sharedOnce sync.Once
	shared     *Cluster
	sharedErr  error

	templatesMu sync.Mutex
	templates   = map[string]*template{}

	dbSeq atomic.Int64
)

type template struct {
	once sync.Once
	err  error
}

// Main runs the tests and then stops and removes the shared cluster, if a
// test started it. Call it from TestMain: os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	mainRunning.Store(true)
	code := m.Run()
	mainRunning.Store(false)
	if shared != nil {
		if err := shared.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// Shared returns the test binary's cluster, starting it on first use. It
// skips t when PostgreSQL is not installed and GOFAX_TEST_POSTGRES is not
// 1, and fails it when the cluster cannot start.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	if !mainRunning.Load() {
		t.Fatal("pgtest: call os.Exit(pgtest.Main(m)) from TestMain, so the cluster is stopped after the tests")
	}
	sharedOnce.Do(func() {
		shared, sharedErr = Start(context.Background())
	})
	if sharedErr != nil {
		if errors.Is(sharedErr, ErrNotInstalled) && os.Getenv(EnvVar) != "1" {
			t.Skipf("%s: %v", SkipMessage, sharedErr)
		}
		t.Fatal(sharedErr)
	}
	return shared
}

// Template creates database name on the shared cluster once per test
// binary, runs setup on it and returns its name for NewDatabase. setup must
// close every connection it opened. A failed setup fails every test asking
// for the template.
func Template(t testing.TB, name string, setup func(ctx context.Context, dsn string) error) string {
	t.Helper()
	c := Shared(t)
	name = "template_" + name
	templatesMu.Lock()
	tp := templates[name]
	if tp == nil {
		tp = &template{}
		templates[name] = tp
	}
	templatesMu.Unlock()
	tp.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if tp.err = c.CreateDatabase(ctx, name, ""); tp.err != nil {
			return
		}
		if err := setup(ctx, c.DSN(name)); err != nil {
			tp.err = fmt.Errorf("pgtest: template %s: %w", name, err)
			return
		}
		// No connections from now on: CREATE DATABASE ... TEMPLATE needs
		// the template idle.
		tp.err = c.exec(ctx, "ALTER DATABASE "+pq.QuoteIdentifier(name)+" WITH ALLOW_CONNECTIONS false")
	})
	if tp.err != nil {
		t.Fatal(tp.err)
	}
	return name
}

// NewDatabase creates a database for t on the shared cluster (a copy of
// template, "" = empty), drops it when t ends, and returns its DSN.
func NewDatabase(t testing.TB, template string) string {
	t.Helper()
	c := Shared(t)
	name := fmt.Sprintf("t%d_%s", dbSeq.Add(1), sanitize(t.Name()))
	ctx, cancel := context.WithTimeout(context.Background(), dbTimeout)
	defer cancel()
	if err := c.CreateDatabase(ctx, name, template); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), dbTimeout)
		defer cancel()
		if err := c.DropDatabase(ctx, name); err != nil {
			t.Error(err)
		}
	})
	return c.DSN(name)
}

// sanitize makes a test name part of a database name: lower-case letters,
// digits and '_', at most 40 characters (PostgreSQL names end at 63 bytes).
func sanitize(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '_'
	}, s)
	if len(s) > 40 {
		s = s[:40]
	}
	return s
}
