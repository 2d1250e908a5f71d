package tenancy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/postgres"
)

// maxSnapshot bounds reading the routing snapshot: about 500 bytes a
// number or user, so room for far more than 100,000 of each.
const maxSnapshot = 256 << 20

// snapshotMode lets gofaxsend, its NotifyCmd mode and hook scripts (the
// spool's owner and group) read the snapshot; it holds no secrets, but
// tenants' names and numbers are nobody else's business.
const snapshotMode = 0o640

// Routing returns the routing in use, nil before any was loaded.
func (s *Service) Routing() *gofaxlib.Routing { return s.routing.Load() }

// routingLoop prepares the schema (migrating it or waiting until it is
// current), then keeps the routing fresh: reloaded on every change
// notification, every Refresh, and retried with backoff while the
// database cannot be reached.
func (s *Service) routingLoop(ctx context.Context) {
	if !s.prepareSchema(ctx) {
		return
	}
	w := s.store.WatchRouting(ctx, s.log)
	defer w.Close()
	tick := time.NewTicker(s.cfg.Refresh)
	defer tick.Stop()
	var wait time.Duration
	for {
		var retry <-chan time.Time
		var t *time.Timer
		if err := s.reload(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			wait = backoff(wait)
			t = time.NewTimer(wait)
			retry = t.C
		} else {
			wait = 0
		}
		select {
		case <-ctx.Done():
		case <-w.C:
		case <-tick.C:
		case <-retry:
		}
		if t != nil {
			t.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// prepareSchema migrates the database (Config.Migrate) or checks that its
// schema is current, retrying until it succeeds; then the schema channel
// is closed. False when ctx ended first.
func (s *Service) prepareSchema(ctx context.Context) bool {
	var wait time.Duration
	logged := ""
	for {
		err := s.checkSchema(ctx)
		if err == nil {
			s.dbOK()
			close(s.schema)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if errors.Is(err, errSchemaOld) || errors.Is(err, postgres.ErrMigrationChanged) {
			if err.Error() != logged {
				s.log.Error("database schema not usable: nothing is recorded until it is; calls use the snapshot's routing", "err", err)
				logged = err.Error()
			}
			wait = backoffMax
		} else {
			s.dbFailed(err)
			wait = backoff(wait)
		}
		if !sleep(ctx, wait) {
			return false
		}
	}
}

var errSchemaOld = errors.New("the database schema is older than gofaxd's: run gofaxd migrate (or set [database] migrate = true)")

func (s *Service) checkSchema(ctx context.Context) error {
	if s.cfg.Migrate {
		applied, err := postgres.Migrate(ctx, s.store.DB(), s.cfg.Host)
		if len(applied) > 0 {
			s.log.Info("database schema migrated", "versions", applied)
		}
		return err
	}
	st, err := postgres.CheckSchema(ctx, s.store.DB())
	if err != nil {
		return err
	}
	if !st.UpToDate() {
		return fmt.Errorf("%w (at version %d, gofaxd needs %d)", errSchemaOld, st.Current, st.Latest)
	}
	return nil
}

// reload loads the routing from the database and writes the snapshot.
func (s *Service) reload(ctx context.Context) error {
	r, err := s.store.LoadRouting(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.dbFailed(err)
		}
		return err
	}
	s.dbOK()
	first := !s.fromDB.Load()
	s.routing.Store(r)
	s.fromDB.Store(true)
	if s.cfg.OnReload != nil {
		s.cfg.OnReload()
	}
	if first {
		s.log.Info("routing loaded from the database", "tenants", len(r.Tenants), "numbers", len(r.Numbers),
			"users", len(r.Users), "endpoints", len(r.Endpoints))
	} else {
		s.log.Debug("routing reloaded", "tenants", len(r.Tenants), "numbers", len(r.Numbers))
	}
	if err := s.writeSnapshot(r); err != nil {
		s.log.Error("routing snapshot not written: gofaxsend uses the previous one", "err", err, "snapshot", s.snapshotPath())
	}
	return nil
}

// writeSnapshot replaces the snapshot file atomically: a new file in the
// same directory, written, synced, renamed over the old one, the
// directory synced. Readers see the old or the new file, never a part.
func (s *Service) writeSnapshot(r *gofaxlib.Routing) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	path := s.snapshotPath()
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".routing-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Chmod(snapshotMode)
	}
	if err == nil && s.cfg.Owner != nil {
		err = f.Chown(s.cfg.Owner.UID, s.cfg.Owner.GID)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// readSnapshot reads a routing snapshot.
func readSnapshot(path string) (*gofaxlib.Routing, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSnapshot+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSnapshot {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxSnapshot)
	}
	var r gofaxlib.Routing
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// syncDir makes a directory's entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
