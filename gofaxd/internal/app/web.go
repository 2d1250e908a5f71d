package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/api"
	"github.com/gofaxserver/gofaxserver/gofaxd/internal/submit"
	"github.com/gofaxserver/gofaxserver/gofaxd/internal/tenancy"
	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
	"github.com/gofaxserver/gofaxserver/gofaxlib/freeswitch"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax/hfaxd"
)

// web is the REST API of [web]: the server, and the hfaxd sessions it
// submits faxes through.
type web struct {
	srv *api.Server
	sub *submit.Submitter
}

// errSchemaPending answers API requests until the tenant database's
// schema is ready (gofaxd migrates it in the background at start).
var errSchemaPending = errors.New("the tenant database is not ready yet (gofaxd is connecting to it or migrating its schema); try again later")

// recoverEvery is how often the API's Recover runs once it succeeded: a
// submission hfaxd did not confirm (or whose documents a request kept
// when it failed midway) is settled within it, without a restart.
// recoverRetry bounds the waits between tries while the database or
// hfaxd cannot be reached.
const (
	recoverEvery    = time.Minute
	recoverRetryMin = time.Second
	recoverRetryMax = time.Minute
)

// openWeb builds the REST API of [web] on the tenant store of ten and
// starts serving it (on opt.WebListener, else [web] listen); a redelivery
// through it calls wake.
func openWeb(cfg *config.Config, ten *tenancy.Service, opt Options, wake func(), log *slog.Logger) (*web, error) {
	w := cfg.Web
	store := ten.Store()
	hc := hfaxd.Config{
		Addr:          net.JoinHostPort(w.HfaxdHost, strconv.Itoa(w.HfaxdPort)),
		User:          w.HfaxdUser,
		Password:      w.HfaxdPassword,
		AdminPassword: w.HfaxdAdminPassword,
	}
	sub := submit.New(submit.Config{Hfaxd: hc, Host: store.Host(), Log: log.With("part", "submit")})
	o := api.ConfigOptions(cfg)
	o.Store = store
	o.Submitter = sub
	o.Fallbacks = fallbackList{cfg: cfg}
	o.WakeReceipts = wake
	o.Logger = log.With("part", "api")
	o.Ready = func() error {
		if !ten.SchemaReady() {
			return errSchemaPending
		}
		return nil
	}
	srv, err := api.New(o)
	if err != nil {
		sub.Close()
		return nil, fmt.Errorf("app: [web]: %w", err)
	}
	if err := srv.Open(opt.WebListener); err != nil {
		sub.Close()
		return nil, fmt.Errorf("app: [web] listen %s: %w", w.Listen, err)
	}
	return &web{srv: srv, sub: sub}, nil
}

// recoverSubmissions runs the API's Recover until ctx ends (see
// recoverLoop).
func (a *App) recoverSubmissions(ctx context.Context) {
	recoverLoop(ctx, a.web.srv.Recover, recoverEvery, a.log)
}

// recoverLoop runs run at once and then every interval, after an
// error sooner (recoverRetryMin, doubling up to recoverRetryMax), until
// ctx ends.
func recoverLoop(ctx context.Context, run func(context.Context) error, every time.Duration, log *slog.Logger) {
	retry := recoverRetryMin
	for {
		wait := every
		if err := run(ctx); err == nil {
			retry = recoverRetryMin
		} else if ctx.Err() == nil {
			log.Warn("api: unfinished submissions not recovered yet; trying again", "err", err, "in", retry)
			wait = min(retry, every)
			retry = min(2*retry, recoverRetryMax)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// shutdown stops the API: running requests may end until ctx ends (the
// daemon's grace), then their connections are closed; then the hfaxd
// sessions are closed.
func (w *web) shutdown(ctx context.Context) error {
	err := w.srv.Shutdown(ctx)
	w.sub.Close()
	return err
}

// fallbackList is the softmodem fallback list of [freeswitch], read and
// changed over a connection to FreeSWITCH's inbound event socket made
// for each request.
type fallbackList struct {
	cfg *config.Config
}

func (l fallbackList) with(ctx context.Context, fn func(context.Context, freeswitch.Fallback) error) error {
	fs := l.cfg.FreeSWITCH
	ctx, cancel := context.WithTimeout(ctx, fallbackTimeout(fs.Timeout))
	defer cancel()
	c, err := esl.Dial(ctx, fs.Socket, fs.Password)
	if err != nil {
		return fmt.Errorf("%w: FreeSWITCH event socket %s: %v", gofaxlib.ErrUnavailable, fs.Socket, err)
	}
	defer c.Close()
	err = fn(ctx, freeswitch.Fallback{DB: freeswitch.DB{API: c}, TTL: fs.FallbackTTL, Max: fs.FallbackMax, Shared: fs.FallbackShared})
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w: FreeSWITCH event socket %s: %v", gofaxlib.ErrUnavailable, fs.Socket, err)
	}
	return err
}

// fallbackTimeout bounds one request's work with FreeSWITCH: a few
// commands per entry of a list of at most fallbackmax entries.
func fallbackTimeout(command time.Duration) time.Duration {
	return max(command, time.Second) * 6
}

func (l fallbackList) Entries(ctx context.Context) ([]freeswitch.FallbackEntry, error) {
	var es []freeswitch.FallbackEntry
	err := l.with(ctx, func(ctx context.Context, f freeswitch.Fallback) error {
		var err error
		es, err = f.Entries(ctx)
		return err
	})
	return es, err
}

func (l fallbackList) Remove(ctx context.Context, key string) error {
	return l.with(ctx, func(ctx context.Context, f freeswitch.Fallback) error { return f.Remove(ctx, key) })
}
