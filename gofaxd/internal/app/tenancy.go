package app

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/tenancy"
	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxlib/journal"
	"github.com/gofaxserver/gofaxserver/gofaxlib/postgres"
)

// Hostname is this host's name in the database's rows: [database]
// hostname, else the system's host name.
func Hostname(d config.Database) string {
	if d.Hostname != "" {
		return d.Hostname
	}
	h, _ := os.Hostname()
	return h
}

// OpenStore prepares the tenant store of [database] (it does not connect).
func OpenStore(cfg *config.Config) (*postgres.Store, error) {
	d := cfg.Database
	s, err := postgres.Open(postgres.Options{DSN: d.ConnString(), MaxConns: d.MaxConns, StatementTimeout: d.StatementTimeout,
		ConnectTimeout: d.ConnectTimeout, Host: Hostname(d), Plan: cfg.NumberPlan()})
	if err != nil {
		return nil, fmt.Errorf("app: [database]: %w", err)
	}
	return s, nil
}

// openTenancy prepares the tenant store's side of gofaxd (with
// [database]): nothing of it waits for the database.
func openTenancy(cfg *config.Config, spool string, j *journal.Journal, onReload func(), log *slog.Logger) (*tenancy.Service, error) {
	store, err := OpenStore(cfg)
	if err != nil {
		return nil, err
	}
	d := cfg.Database
	archive := d.Archive
	if !filepath.IsAbs(archive) {
		archive = filepath.Join(spool, archive)
	}
	svc, err := tenancy.Open(tenancy.Config{
		Spool:          spool,
		Store:          store,
		Journal:        j,
		Plan:           cfg.NumberPlan(),
		ReceiveUnknown: d.UnknownNumber == config.UnknownReceive,
		Host:           store.Host(),
		Archive:        archive,
		Refresh:        d.Refresh,
		Migrate:        d.Migrate,
		MaxCallTime:    cfg.Gofaxd.MaxCallTime,
		Owner:          spoolOwner(spool),
		OnReload:       onReload,
		Log:            log.With("part", "tenancy"),
	})
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("app: %w", err)
	}
	return svc, nil
}
