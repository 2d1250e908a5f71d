package app

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/metrics"
	"github.com/gofaxserver/gofaxserver/gofaxd/internal/receipts"
	"github.com/gofaxserver/gofaxserver/gofaxd/internal/tenancy"
	"github.com/gofaxserver/gofaxserver/gofaxlib"
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
// [database]) and the receipt delivery over it: nothing of it waits for
// the database.
func openTenancy(cfg *config.Config, spool string, j *journal.Journal, m *metrics.Metrics, onReload func(), log *slog.Logger) (*tenancy.Service, *receipts.Service, error) {
	store, err := OpenStore(cfg)
	if err != nil {
		return nil, nil, err
	}
	// The spool is absolute (Open): so is the archive.
	archive := cfg.SpoolPath(cfg.Database.Archive)
	rc, err := openReceipts(cfg, store, archive, m, log)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	d := cfg.Database
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
		Recorded:       rc.Wake,
		OnReload:       onReload,
		Log:            log.With("part", "tenancy"),
	})
	if err != nil {
		store.Close()
		return nil, nil, fmt.Errorf("app: %w", err)
	}
	return svc, rc, nil
}

// openReceipts prepares the receipt dispatcher over store's outbox
// ([receipts], [smtp], [webhooks]); it starts with the tenancy. Its
// attempts get at most the shutdown grace when gofaxd stops.
func openReceipts(cfg *config.Config, store *postgres.Store, archive string, m *metrics.Metrics, log *slog.Logger) (*receipts.Service, error) {
	var rc *receipts.Service
	counts := func() (map[gofaxlib.TargetKind]gofaxlib.OutboxCount, bool) {
		if rc == nil {
			return nil, false
		}
		return rc.Counts()
	}
	rc, err := receipts.Open(receipts.Config{
		Store:    store,
		Host:     store.Host(),
		Archive:  archive,
		Receipts: cfg.Receipts,
		SMTP:     cfg.SMTP,
		Webhooks: cfg.Webhooks,
		Metrics:  m.WatchReceipts(counts),
		Grace:    min(receipts.DefaultGrace, cfg.Gofaxd.ShutdownGrace),
		Log:      log.With("part", "receipts"),
	})
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	return rc, nil
}
