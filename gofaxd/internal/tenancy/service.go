// Package tenancy is gofaxd's side of the tenant store ([database]): it
// keeps the routing (tenants, numbers, users, endpoints) in memory and in
// a snapshot file in the spool, routes inbound calls by their called
// number, ingests the spool journal's records of receptions, send
// attempts and faxq's job notices into PostgreSQL, watches HylaFAX's
// queues for jobs (rows for jobs sendfax submitted, their documents
// archived, their end when no notice tells it), reconciles unfinished
// rows with the queues, and purges archived documents after their
// tenant's retention.
//
// Nothing of it is on a call's critical path but Route, an in-memory
// lookup. PostgreSQL may be down or slow at any time: calls are routed
// with the last routing known (from the database, or the snapshot file
// when gofaxd started without it), records wait in the journal and are
// ingested, idempotently by record id, once it is back.
package tenancy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/receive"
	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
	"github.com/gofaxserver/gofaxserver/gofaxlib/journal"
	"github.com/gofaxserver/gofaxserver/gofaxlib/postgres"
)

// Journal record kinds and the consumer of this package.
const (
	// Consumer ingests records into PostgreSQL: receptions (recv.start,
	// recv.done), gofaxsend's attempts (send.attempt), faxq's job
	// notices (send.notice) and what gofaxd saw in the queues (send.job).
	Consumer = "db"
	// KindJob is written by gofaxd for a HylaFAX job it found in sendq
	// or doneq; its payload is a JobSeen.
	KindJob = "send.job"
)

// Kinds are the record kinds Consumer ingests.
var Kinds = []string{receive.KindRecvStart, receive.KindRecvDone, gofaxlib.RecordSendAttempt, gofaxlib.RecordJobNotice, KindJob}

// Consumers returns base with Consumer added, for journal.Open.
func Consumers(base map[string][]string) map[string][]string {
	m := maps.Clone(base)
	if m == nil {
		m = map[string][]string{}
	}
	m[Consumer] = Kinds
	return m
}

// SnapshotFile is where the routing snapshot lives, relative to the
// spool: JSON of gofaxlib.Routing, mode 0640, replaced atomically.
const SnapshotFile = "gofax/routing.json"

// Timing.
const (
	// doneGrace is how long a job in doneq waits for its notice from
	// faxq's NotifyCmd before gofaxd records its end from the qfile:
	// the notice knows more (killed, removed, timedout).
	doneGrace = 10 * time.Second
	// purgeEvery is how often archived documents past their tenant's
	// retention are removed; the first run is purgeFirst after start.
	purgeEvery = time.Hour
	purgeFirst = time.Minute
	// backoff bounds the waits between tries while PostgreSQL cannot be
	// reached.
	backoffMin = 250 * time.Millisecond
	backoffMax = 10 * time.Second
)

// Config is what the Service needs; paths are absolute.
type Config struct {
	Spool   string
	Store   *postgres.Store
	Journal *journal.Journal
	Plan    gofaxlib.NumberPlan
	// ReceiveUnknown receives calls to numbers no tenant has (without a
	// tenant) instead of refusing them.
	ReceiveUnknown bool
	// Host names this host in the rows it writes.
	Host string
	// Archive is the directory of archived documents.
	Archive string
	// Refresh is how often the routing is reloaded besides change
	// notifications, and how often rows are reconciled with the queues.
	Refresh time.Duration
	// Migrate applies the schema migrations; else an out-of-date schema
	// is waited for (and logged).
	Migrate bool
	// MaxCallTime is gofaxd's longest reception: a fax still receiving
	// much later than that was not recorded.
	MaxCallTime time.Duration
	// Owner, if set, owns the files and directories created (gofaxd
	// running as root in a spool that belongs to uucp).
	Owner *hylafax.FileOwner
	// Recorded, if set, is called after a fax state was written to the
	// database (and with it, perhaps, a receipt event): gofaxd wakes its
	// receipt dispatcher. It must not block.
	Recorded func()
	// OnReload, if set, runs after every routing load from the database
	// (a change notification, the periodic refresh): the REST API drops
	// its cached credentials then, so that a user or tenant suspended or
	// deleted on another host or with psql is refused at once.
	OnReload func()
	Log      *slog.Logger
}

// Service is the tenant store's side of gofaxd. Open it, Start it, Close
// it.
type Service struct {
	cfg     Config
	log     *slog.Logger
	store   *postgres.Store
	j       *journal.Journal
	spoolID string

	routing atomic.Pointer[gofaxlib.Routing]
	fromDB  atomic.Bool   // routing loaded from the database (not only the snapshot)
	schema  chan struct{} // closed once the schema is usable

	mu      sync.Mutex
	dbErr   error     // the last database error, nil after a success
	dbSince time.Time // when the database became unreachable

	foreign atomic.Uint64 // job records ignored: ErrForeignJob

	prepared map[string]*prepared // ingest loop's own
	jobs     jobs
	grace    time.Duration // doneGrace; shorter in tests

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	loops  atomic.Int32
}

// loopCount is how many loops Start runs.
const loopCount = 5

// Open prepares the Service: the spool's identity and the routing
// snapshot, if there is one. It does not touch the database.
func Open(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Journal == nil {
		return nil, errors.New("tenancy: store and journal required")
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 5 * time.Minute
	}
	if cfg.MaxCallTime <= 0 {
		cfg.MaxCallTime = receive.DefaultMaxCallTime
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{cfg: cfg, log: log, store: cfg.Store, j: cfg.Journal, schema: make(chan struct{}),
		prepared: map[string]*prepared{}, grace: doneGrace}
	s.jobs.init()
	id, err := gofaxlib.SpoolID(cfg.Spool)
	if err != nil {
		return nil, fmt.Errorf("tenancy: %w", err)
	}
	s.spoolID = id
	if err := s.makeDir(cfg.Archive, 0o750); err != nil {
		return nil, fmt.Errorf("tenancy: archive: %w", err)
	}
	r, err := readSnapshot(s.snapshotPath())
	switch {
	case errors.Is(err, os.ErrNotExist):
		log.Info("no routing snapshot yet: calls wait for the database's routing", "snapshot", s.snapshotPath())
	case err != nil:
		log.Error("routing snapshot unusable: calls wait for the database's routing", "err", err)
	default:
		s.routing.Store(r)
		log.Info("routing loaded from the snapshot", "snapshot", s.snapshotPath(), "loaded_at", r.Loaded,
			"tenants", len(r.Tenants), "numbers", len(r.Numbers))
	}
	return s, nil
}

// Start runs the Service's loops until Close.
func (s *Service) Start() {
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for _, loop := range []func(context.Context){s.routingLoop, s.ingestLoop, s.journalLoop, s.jobsLoop, s.maintainLoop} {
		s.loops.Add(1)
		s.wg.Go(func() {
			defer s.loops.Add(-1)
			loop(s.ctx)
		})
	}
}

// Close stops the loops and waits for them. What is not ingested yet
// stays in the journal for the next start.
func (s *Service) Close() {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
}

// Store returns the tenant store.
func (s *Service) Store() *postgres.Store { return s.store }

// Alive reports whether the loops run.
func (s *Service) Alive() error {
	if s.cancel == nil {
		return nil
	}
	if n := s.loops.Load(); n != loopCount && s.ctx.Err() == nil {
		return fmt.Errorf("tenancy: %d of %d loops run", n, loopCount)
	}
	return nil
}

// Health reports the database as a dependency: nil while it answers,
// else what gofaxd does meanwhile.
func (s *Service) Health() error {
	s.mu.Lock()
	err, since := s.dbErr, s.dbSince
	s.mu.Unlock()
	if err == nil && s.fromDB.Load() {
		return nil
	}
	src := "no routing yet: calls are refused with 503"
	if r := s.routing.Load(); r != nil {
		src = "routing of " + r.Loaded.UTC().Format(time.RFC3339)
		if !s.fromDB.Load() {
			src += " from the snapshot"
		}
	}
	wait := len(s.j.Pending(Consumer))
	if err == nil {
		return fmt.Errorf("database not loaded yet; %s; %d records wait", src, wait)
	}
	return fmt.Errorf("database unreachable since %s (%v); %s; %d records wait in the journal",
		since.UTC().Format(time.RFC3339), err, src, wait)
}

// dbFailed notes a database error that is retried; dbOK a success.
func (s *Service) dbFailed(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dbErr == nil {
		s.dbSince = time.Now()
		s.log.Warn("database unreachable: calls use the last routing, records wait in the journal", "err", err)
	}
	s.dbErr = err
}

func (s *Service) dbOK() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dbErr != nil {
		s.log.Info("database reachable again", "down_for", time.Since(s.dbSince).Round(time.Millisecond))
	}
	s.dbErr = nil
}

// SchemaReady reports, without waiting, whether the database schema is
// usable (migrated, or found current).
func (s *Service) SchemaReady() bool {
	select {
	case <-s.schema:
		return true
	default:
		return false
	}
}

// schemaReady reports whether the schema is usable, waiting until it is
// or ctx ends.
func (s *Service) schemaReady(ctx context.Context) bool {
	select {
	case <-s.schema:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Service) snapshotPath() string { return filepath.Join(s.cfg.Spool, SnapshotFile) }

// makeDir creates dir (and its parents) with mode, given to the spool's
// owner when gofaxd runs as root.
func (s *Service) makeDir(dir string, mode os.FileMode) error {
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := s.makeDir(parent, mode); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, mode); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	if o := s.cfg.Owner; o != nil {
		return os.Chown(dir, o.UID, o.GID)
	}
	return nil
}

// ForeignJobs counts the job records ignored because the fax their job's
// user key names has another owner than the job.
func (s *Service) ForeignJobs() uint64 { return s.foreign.Load() }

// recorded tells Config.Recorded that a fax state was written (ok).
func (s *Service) recorded(ok bool) {
	if ok && s.cfg.Recorded != nil {
		s.cfg.Recorded()
	}
}

// backoff returns the next wait after d.
func backoff(d time.Duration) time.Duration {
	if d <= 0 {
		return backoffMin
	}
	return min(2*d, backoffMax)
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// transient reports whether a database error may go away by itself
// (down, slow, restarting); other errors are about the data.
func transient(err error) bool {
	return !errors.Is(err, gofaxlib.ErrInvalid) && !errors.Is(err, gofaxlib.ErrConflict) &&
		!errors.Is(err, gofaxlib.ErrNotFound) && !errors.Is(err, journal.ErrRecord)
}
