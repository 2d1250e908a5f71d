package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lib/pq"
)

// ErrNotInstalled is returned by Start when initdb or postgres cannot be
// found, or when the tests run as root and there is no user "postgres".
var ErrNotInstalled = errors.New("pgtest: PostgreSQL is not installed")

// Port is the port number in the socket name (.s.PGSQL.5432): the cluster
// listens on no TCP port, only on the unix socket in its own directory, so
// clusters of tests running at the same time cannot collide.
const Port = 5432

// Superuser is the cluster's superuser; authentication is "trust".
const Superuser = "postgres"

// Timeouts of one cluster's start and stop: generous, the machine is shared
// and may be loaded (initdb alone takes seconds under load).
const (
	startTimeout = 2 * time.Minute
	stopTimeout  = time.Minute
)

// serverSettings make the throw-away cluster fast: no fsync (a crash of
// the machine loses nothing anyone wants), no TCP. synchronous_commit stays
// on: a commit is written (not synced) before it is acknowledged, so an
// Immediate stop, like a crashed server, keeps every committed transaction.
var serverSettings = []string{
	"listen_addresses=",
	"fsync=off",
	"full_page_writes=off",
	"max_connections=200",
	"shared_buffers=32MB",
	"dynamic_shared_memory_type=mmap", // /dev/shm is small in containers
	"unix_socket_permissions=0777",
	"log_min_messages=warning",
	"log_line_prefix=%m [%p] %d ",
	"timezone=UTC",
}

// Cluster is one private PostgreSQL server: a data directory and a unix
// socket in Dir, run by the user "postgres" when the tests run as root
// (initdb refuses root), else by the current user.
type Cluster struct {
	// Dir holds data/, the server log server.log and the socket. It is
	// mode 0755 and belongs to the user running the server.
	Dir string

	bin  string // directory of initdb and postgres
	cred *syscall.Credential
	proc *exec.Cmd
	done chan struct{} // closed when proc has exited
	log  *os.File
}

// Start creates a cluster in a new directory below os.TempDir() and starts
// it. Close stops it and removes the directory.
func Start(ctx context.Context) (*Cluster, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin}
	uid, gid := -1, -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup(Superuser)
		if err != nil {
			return nil, fmt.Errorf("%w: running as root, but no user %q to run initdb as: %v", ErrNotInstalled, Superuser, err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	dir, err := os.MkdirTemp("", "gofax-pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	c.Dir = dir
	if err := os.Chmod(dir, 0o755); err != nil {
		c.remove()
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if uid >= 0 {
		if err := os.Chown(dir, uid, gid); err != nil {
			c.remove()
			return nil, fmt.Errorf("pgtest: %w", err)
		}
	}
	if err := c.initdb(ctx); err != nil {
		c.remove()
		return nil, err
	}
	if err := c.Start(ctx); err != nil {
		c.remove()
		return nil, err
	}
	return c, nil
}

// installGlob is where Debian installs each PostgreSQL version's programs.
var installGlob = "/usr/lib/postgresql/*/bin"

// findBinaries returns the directory holding initdb and postgres: the first
// on PATH, else Debian's /usr/lib/postgresql/<version>/bin, newest first.
func findBinaries() (string, error) {
	has := func(dir string) bool {
		for _, name := range []string{"initdb", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
				return false
			}
		}
		return true
	}
	if p, err := exec.LookPath("initdb"); err == nil && has(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob(installGlob)
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("%w: no initdb and postgres on PATH or in /usr/lib/postgresql/*/bin (apt-get install postgresql)", ErrNotInstalled)
}

func versionOf(bindir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(bindir)))
	return n
}

// command prepares one of the server programs, run as the cluster's user.
func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	cmd.Dir = c.Dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "TZ=UTC"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Setpgid: true}
	return cmd
}

func (c *Cluster) initdb(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	cmd := c.command(ctx, "initdb", "-D", c.dataDir(), "-U", Superuser, "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: initdb: %v: %s", err, lastLines(out, 20))
	}
	return nil
}

func (c *Cluster) dataDir() string { return filepath.Join(c.Dir, "data") }

// LogFile is the server's log.
func (c *Cluster) LogFile() string { return filepath.Join(c.Dir, "server.log") }

// Start starts the server on its existing data directory (again, after
// Stop) and waits until it accepts connections.
func (c *Cluster) Start(ctx context.Context) error {
	if c.proc != nil {
		return errors.New("pgtest: server already running")
	}
	log, err := os.OpenFile(c.LogFile(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	args := []string{"-D", c.dataDir(), "-k", c.Dir, "-p", strconv.Itoa(Port)}
	for _, s := range serverSettings {
		args = append(args, "-c", s)
	}
	// Not CommandContext: the server outlives the ctx of the caller that
	// started it; Stop ends it.
	cmd := c.command(context.Background(), "postgres", args...)
	cmd.Stdout, cmd.Stderr = log, log
	// The test binary may die without running Close (a panic, a -timeout);
	// then the kernel tells the postmaster, which shuts down at once.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("pgtest: postgres: %w", err)
	}
	c.proc, c.log, c.done = cmd, log, make(chan struct{})
	go func() {
		cmd.Wait()
		close(c.done)
	}()
	if err := c.waitReady(ctx); err != nil {
		c.Stop(Immediate)
		return err
	}
	return nil
}

// waitReady polls until the server answers a query, it exits, or the
// start timeout passes.
func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	db, err := sql.Open("postgres", c.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer db.Close()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := db.PingContext(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-c.done:
			return fmt.Errorf("pgtest: postgres exited while starting: %s", c.logTail())
		case <-ctx.Done():
			return fmt.Errorf("pgtest: postgres not ready after %v (%v): %s", startTimeout, err, c.logTail())
		case <-tick.C:
		}
	}
}

func (c *Cluster) logTail() string {
	b, _ := os.ReadFile(c.LogFile())
	return lastLines(b, 20)
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// StopMode is how Stop ends the server (PostgreSQL's shutdown modes).
type StopMode int

const (
	// Fast disconnects the clients and shuts down cleanly (SIGINT,
	// pg_ctl -m fast).
	Fast StopMode = iota
	// Immediate kills the server like a crash (SIGQUIT, pg_ctl -m
	// immediate): the next Start recovers from the WAL.
	Immediate
)

// Stop ends the server and waits for it; Start runs it again on the same
// data. Stopping a stopped cluster does nothing.
func (c *Cluster) Stop(mode StopMode) error {
	if c.proc == nil {
		return nil
	}
	sig := syscall.SIGINT
	if mode == Immediate {
		sig = syscall.SIGQUIT
	}
	c.proc.Process.Signal(sig)
	var err error
	select {
	case <-c.done:
	case <-time.After(stopTimeout):
		// Only the postmaster is ours to kill: its children exit when it
		// is gone.
		c.proc.Process.Kill()
		<-c.done
		err = fmt.Errorf("pgtest: postgres did not stop within %v, killed", stopTimeout)
	}
	c.log.Close()
	c.proc, c.log = nil, nil
	return err
}

// Close stops the server and removes Dir, unless GOFAX_TEST_POSTGRES_KEEP=1.
func (c *Cluster) Close() error {
	err := c.Stop(Fast)
	if os.Getenv(KeepEnvVar) == "1" {
		fmt.Fprintf(os.Stderr, "pgtest: kept %s (log %s)\n", c.Dir, c.LogFile())
		return err
	}
	c.remove()
	return err
}

func (c *Cluster) remove() {
	if c.Dir != "" {
		os.RemoveAll(c.Dir)
	}
}

// DSN is the connection string for database dbname as the superuser, over
// the cluster's unix socket.
func (c *Cluster) DSN(dbname string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", c.Dir, Port, Superuser, dbname)
}

// exec runs one statement in the maintenance database "postgres".
func (c *Cluster) exec(ctx context.Context, query string) error {
	db, err := sql.Open("postgres", c.DSN("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, query)
	return err
}

// CreateDatabase creates database name, a copy of template ("" = an empty
// database). A template must have no open connections.
func (c *Cluster) CreateDatabase(ctx context.Context, name, template string) error {
	q := "CREATE DATABASE " + pq.QuoteIdentifier(name)
	if template != "" {
		q += " TEMPLATE " + pq.QuoteIdentifier(template)
	}
	if err := c.exec(ctx, q); err != nil {
		return fmt.Errorf("pgtest: %s: %w", q, err)
	}
	return nil
}

// DropDatabase removes database name, ending its connections.
func (c *Cluster) DropDatabase(ctx context.Context, name string) error {
	q := "DROP DATABASE IF EXISTS " + pq.QuoteIdentifier(name) + " WITH (FORCE)"
	if err := c.exec(ctx, q); err != nil {
		return fmt.Errorf("pgtest: %s: %w", q, err)
	}
	return nil
}
