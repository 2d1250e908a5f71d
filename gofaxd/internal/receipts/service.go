// Package receipts runs gofaxd's receipt delivery when [database] is set:
// the notify.Dispatcher over the PostgreSQL outbox, with a webhook sender
// (always) and a mailer (with [smtp] host), and the documents receipts
// attach, made from the archive with faxdoc (Docs, Report).
//
// Nothing of it is on a call's path: a reception's record is ingested
// from the spool journal, the ingestion writes the receipt event with the
// fax row and wakes the dispatcher (Wake, which never blocks), and the
// dispatcher's goroutines deliver with bounded concurrency. A slow or
// dead mail server or webhook fills only the dispatcher's own slots.
package receipts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxlib/notify"
)

// Store is what receipts need of the tenant store (postgres.Store): the
// outbox, the fax rows (for the documents) and the outbox's counts.
type Store interface {
	gofaxlib.Outbox
	FaxStore
	OutboxCounts(ctx context.Context) (map[gofaxlib.TargetKind]gofaxlib.OutboxCount, error)
}

// Timing.
const (
	// DefaultGrace is how long receipt attempts running when gofaxd stops
	// may finish (at most [gofaxd] shutdowngrace); the rest are released
	// and sent again after the next start.
	DefaultGrace = 5 * time.Second
	// countsEvery is how often the pending and dead counts of the metrics
	// are read from the database (a scrape never waits for it).
	countsEvery = 15 * time.Second
	// countsRetry is the wait after a failed read of the counts (the
	// database not there yet).
	countsRetry = time.Second
	// countsTimeout bounds one read of the counts.
	countsTimeout = 10 * time.Second
	// minPoll bounds how often the outbox is asked without a wake-up.
	minPoll = 50 * time.Millisecond
)

// Config is what the Service needs.
type Config struct {
	Store Store
	// Host is this host's name ([database] hostname).
	Host string
	// Archive is the archive directory ([database] archive, absolute):
	// attached documents are read from below it only.
	Archive  string
	Receipts config.Receipts
	SMTP     config.SMTP
	Webhooks config.Webhooks
	Metrics  notify.Metrics // nil: not counted
	// Grace: see DefaultGrace (0 = DefaultGrace).
	Grace time.Duration
	// PollInterval is how often the outbox is asked without a wake-up
	// (0 = the shortest retry wait, at most notify.DefaultPollInterval).
	PollInterval time.Duration
	Log          *slog.Logger
}

// Service delivers receipts. Open it, Start it, Stop and Wait (or Close).
type Service struct {
	cfg     Config
	log     *slog.Logger
	disp    *notify.Dispatcher
	webhook *notify.Webhook
	outbox  *watchedOutbox
	mail    bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	live   atomic.Int32

	mu     sync.Mutex
	counts map[gofaxlib.TargetKind]gofaxlib.OutboxCount
}

// loops is how many goroutines Start runs.
const loops = 2

// Open builds the senders and the dispatcher from the configuration.
func Open(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("receipts: no store")
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	w := cfg.Webhooks
	webhook := notify.NewWebhook(notify.WebhookConfig{
		Policy:         notify.AddressPolicy{Allow: w.Allow, Deny: w.Deny},
		ConnectTimeout: w.ConnectTimeout,
		TLSTimeout:     w.TLSTimeout,
		HeaderTimeout:  w.HeaderTimeout,
		Timeout:        w.Timeout,
	})
	senders := map[gofaxlib.TargetKind]notify.Sender{gofaxlib.TargetWebhook: webhook}
	s := &Service{cfg: cfg, log: log, webhook: webhook, outbox: &watchedOutbox{Outbox: cfg.Store}}
	if m := cfg.SMTP; m.Host != "" {
		mailer, err := notify.NewMailer(notify.SMTPConfig{Host: m.Host, Port: m.Port, TLS: notify.TLSMode(m.TLS),
			Username: m.Username, Password: m.Password, From: m.From, HELO: m.HELO, Timeout: m.Timeout})
		if err != nil {
			return nil, fmt.Errorf("receipts: [smtp]: %w", err)
		}
		senders[gofaxlib.TargetEmail] = mailer
		s.mail = true
	}
	// Without a wake-up (retries, deliveries another host left) the
	// outbox is asked as often as the shortest retry wait, at most every
	// notify.DefaultPollInterval.
	poll := cfg.PollInterval
	if poll <= 0 {
		poll = notify.DefaultPollInterval
		for _, r := range cfg.Receipts.Retry {
			poll = max(min(poll, r), minPoll)
		}
	}
	// An attempt is bounded by its sender's own deadlines; the dispatcher's
	// bound covers them and the documents.
	attempt := max(w.Timeout, 2*cfg.SMTP.Timeout) + 30*time.Second
	d, err := notify.NewDispatcher(notify.DispatcherConfig{
		Outbox:         s.outbox,
		Senders:        senders,
		Docs:           &Docs{Store: cfg.Store, Host: cfg.Host, Archive: cfg.Archive, Log: log},
		Metrics:        cfg.Metrics,
		Logger:         log,
		Schedule:       cfg.Receipts.Retry,
		Workers:        cfg.Receipts.Workers,
		PerTarget:      cfg.Receipts.PerTarget,
		AttemptTimeout: attempt,
		PollInterval:   poll,
		ShutdownGrace:  cfg.Grace,
	})
	if err != nil {
		return nil, fmt.Errorf("receipts: %w", err)
	}
	s.disp = d
	return s, nil
}

// Start runs the dispatcher and the counting of the outbox until Stop.
func (s *Service) Start() {
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if !s.mail {
		s.log.Info("receipts: e-mail receipts are not sent ([smtp] host is empty); webhooks are")
	}
	s.live.Add(loops)
	s.wg.Go(func() {
		defer s.live.Add(-1)
		s.disp.Run(s.ctx)
	})
	s.wg.Go(func() {
		defer s.live.Add(-1)
		s.countLoop(s.ctx)
	})
}

// Wake makes the dispatcher look for new deliveries at once; it never
// blocks. The ingestion calls it after writing a fax state (and so,
// perhaps, its receipt event), the API after a redelivery.
func (s *Service) Wake() { s.disp.Wake() }

// Stop stops taking deliveries; running attempts get the grace, then
// they are released. It does not wait: Wait does.
func (s *Service) Stop() {
	if s.cancel != nil {
		s.cancel()
	}
}

// Wait returns when the goroutines Start started have ended: at most the
// grace and 15 s (the releases) after Stop.
func (s *Service) Wait() {
	s.wg.Wait()
	s.webhook.Close()
}

// Close is Stop and Wait.
func (s *Service) Close() {
	s.Stop()
	s.Wait()
}

// Alive reports whether the Service's goroutines run.
func (s *Service) Alive() error {
	if s.cancel == nil || s.ctx.Err() != nil {
		return nil
	}
	if n := s.live.Load(); n != loops {
		return fmt.Errorf("receipts: %d of %d loops run", n, loops)
	}
	return nil
}

// Health reports the outbox as a dependency: an error while the
// dispatcher cannot claim deliveries (the database), nil otherwise.
func (s *Service) Health() error {
	err, since := s.outbox.state()
	if err != nil {
		return fmt.Errorf("receipts wait: the outbox cannot be read since %s: %v", since.UTC().Format(time.RFC3339), err)
	}
	return nil
}

// Counts returns the outbox's pending and dead deliveries as last read
// (every countsEvery), and false before the first read succeeded.
func (s *Service) Counts() (map[gofaxlib.TargetKind]gofaxlib.OutboxCount, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts, s.counts != nil
}

func (s *Service) countLoop(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, countsTimeout)
		c, err := s.cfg.Store.OutboxCounts(cctx)
		cancel()
		wait := countsEvery
		if err == nil {
			s.mu.Lock()
			s.counts = c
			s.mu.Unlock()
		} else if ctx.Err() == nil {
			s.log.Debug("receipts: outbox counts not read", "error", err)
			wait = countsRetry
		}
		t.Reset(wait)
	}
}

// watchedOutbox remembers whether the last Claim failed, for Health.
type watchedOutbox struct {
	gofaxlib.Outbox
	mu    sync.Mutex
	err   error
	since time.Time
}

func (o *watchedOutbox) Claim(ctx context.Context, req gofaxlib.ClaimRequest) ([]gofaxlib.Delivery, error) {
	ds, err := o.Outbox.Claim(ctx, req)
	if ctx.Err() != nil {
		return ds, err // a stop, not the database
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case err == nil:
		o.err = nil
	case o.err == nil:
		o.err, o.since = err, time.Now()
	default:
		o.err = err
	}
	return ds, err
}

func (o *watchedOutbox) state() (error, time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err, o.since
}
