// Package app assembles gofaxd from its parts: the virtual modem pool, the
// outbound event socket server running the receive handler, and the
// optional metrics listener. Open starts everything, Shutdown drains it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/metrics"
	"github.com/gofaxserver/gofaxserver/gofaxd/internal/modem"
	"github.com/gofaxserver/gofaxserver/gofaxd/internal/receive"
	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
	"github.com/gofaxserver/gofaxserver/gofaxlib/freeswitch"
)

// Options are what the configuration file does not say.
type Options struct {
	Logger *slog.Logger
	// Listener, if set, is a systemd-activated socket used instead of
	// [gofaxd] socket.
	Listener net.Listener
	// Observer, if set, is told about calls besides the metrics.
	Observer receive.Observer
}

// App is a running gofaxd.
type App struct {
	cfg     *config.Config
	log     *slog.Logger
	pool    *modem.Pool
	srv     *esl.Server
	metrics *metrics.Metrics
	msrv    *metrics.Server

	wg         sync.WaitGroup
	serveErr   chan error // Serve's result, buffered
	abort      context.Context
	abortNow   context.CancelFunc
	finishTime time.Duration // FinishTime; shorter in tests
	shutOnce   sync.Once
	shutErr    error
}

// spoolDirs must exist in the spool: faxgetty does not create them either,
// and a missing one means a wrong spooldir.
var spoolDirs = []string{"recvq", "log", "status", "etc"}

// metricsCloseWait bounds waiting for a scrape in progress at shutdown.
const metricsCloseWait = time.Second

// FinishTime is how long, after the shutdown grace, the calls still
// running have to be hung up and recorded and faxrcvd runs to end; what
// then still waits for FreeSWITCH or faxrcvd is cut short (the fax stays
// in recvq, the call is recorded). faxrcvd runs started during a stop get
// at most what is left of grace + FinishTime, whatever faxrcvdtimeout says.
// It leaves a killed call both of its tries to end (2 × receive.KillGrace)
// and finishMargin, so that a reachable FreeSWITCH confirms the end
// before gofaxd stops waiting: a reception whose end is not confirmed is
// kept as written, untagged.
const FinishTime = 15 * time.Second

// finishMargin is what FinishTime leaves after ending a killed call: for
// its records and the start of faxrcvd.
const finishMargin = 5 * time.Second

// StopOverhead bounds a stop beyond the shutdown grace: FinishTime plus
// the last local writes (xferfaxlog, status files, each waiting at most
// 5 s for a lock that HylaFAX holds for one read or write) and the
// metrics listener. systemd's TimeoutStopSec must exceed shutdowngrace +
// StopOverhead.
const StopOverhead = FinishTime + 5*time.Second

// connSlack is how many event socket connections maxConns allows beyond
// two per modem: calls being refused for want of a modem, and sessions
// still ending.
const connSlack = 16

// maxSharedConns bounds the connections served at once when calls beyond
// the modems are received too (allocateinbounddevices=false, GOfax.IP's
// way): far above FreeSWITCH's max-sessions of the sample configuration
// (1000), so no fax is turned away, and about 200 MiB at the ~50 KiB an
// active call takes.
const maxSharedConns = 4096

// maxConns bounds the event socket connections served at once. With
// allocateinbounddevices every call needs a modem, so 2 × modems + 16
// leaves room for the calls refused with rejectresponse; without it
// calls beyond the modems are received too, up to maxSharedConns. A flood
// beyond the bound (a dialplan loop, a misrouted trunk) has its
// connections closed at once: FreeSWITCH's socket application fails and
// its dialplan continues.
func maxConns(modems int, exclusive bool) int {
	if !exclusive {
		return maxSharedConns
	}
	return 2*modems + connSlack
}

// Open checks the spool, creates and announces the modems, binds the
// event socket listener and the metrics listener, and starts serving.
func Open(cfg *config.Config, opt Options) (*App, error) {
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	spool, err := filepath.Abs(cfg.HylaFAX.SpoolDir)
	if err != nil {
		return nil, fmt.Errorf("app: spooldir: %w", err)
	}
	for _, d := range spoolDirs {
		if fi, err := os.Stat(filepath.Join(spool, d)); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("app: [hylafax] spooldir %s is not a HylaFAX spool: no directory %s/", spool, d)
		}
	}
	m := metrics.New()
	pool, err := modem.Open(modem.Config{
		Spool:       spool,
		Prefix:      cfg.HylaFAX.ModemPrefix,
		Count:       cfg.HylaFAX.Modems,
		Number:      cfg.FreeSWITCH.Ident,
		Exclusive:   cfg.Gofaxd.AllocateInboundDevices,
		FIFOTimeout: cfg.HylaFAX.FIFOTimeout,
		JobResult:   m.JobEnded,
		Logger:      log,
	})
	if err != nil {
		return nil, err
	}
	m.WatchPool(pool)
	a := &App{cfg: cfg, log: log, pool: pool, metrics: m, serveErr: make(chan error, 1), finishTime: FinishTime}
	a.abort, a.abortNow = context.WithCancel(context.Background())
	xfer := ""
	if cfg.HylaFAX.XferFaxLog != "" {
		xfer = filepath.Join(spool, cfg.HylaFAX.XferFaxLog)
		if filepath.IsAbs(cfg.HylaFAX.XferFaxLog) {
			xfer = cfg.HylaFAX.XferFaxLog
		}
	}
	h := &receive.Handler{
		Settings: receive.Settings{
			Spool:                spool,
			RecipientFrom:        cfg.Gofaxd.RecipientFrom,
			Ident:                cfg.FreeSWITCH.Ident,
			EnableT38:            cfg.Gofaxd.EnableT38,
			RequestT38:           cfg.Gofaxd.RequestT38,
			AnswerAfter:          cfg.Gofaxd.AnswerAfter,
			WaitTime:             cfg.Gofaxd.WaitTime,
			DynamicConfig:        cfg.Gofaxd.DynamicConfig,
			DynamicConfigTimeout: cfg.Gofaxd.DynamicConfigTimeout,
			FaxRcvdCmd:           cfg.Gofaxd.FaxRcvdCmd,
			FaxRcvdTimeout:       cfg.Gofaxd.FaxRcvdTimeout,
			RejectResponse:       cfg.Gofaxd.RejectResponse,
			ScreenResponse:       cfg.Gofaxd.ScreenResponse,
			PageTimeout:          cfg.Gofaxd.PageTimeout,
			MaxCallTime:          cfg.Gofaxd.MaxCallTime,
			CommandTimeout:       cfg.FreeSWITCH.Timeout,
			XferFaxLog:           xfer,
			RecvFileMode:         cfg.HylaFAX.RecvFileMode,
			LogFileMode:          cfg.HylaFAX.LogFileMode,
			SoftmodemFallback:    cfg.FreeSWITCH.SoftmodemFallback,
			Numbering: freeswitch.Numbering{
				CountryCode:         cfg.FreeSWITCH.CountryCode,
				InternationalPrefix: cfg.FreeSWITCH.InternationalPrefix,
				NationalPrefix:      cfg.FreeSWITCH.NationalPrefix,
			},
			FallbackTTL: cfg.FreeSWITCH.FallbackTTL,
			FallbackMax: cfg.FreeSWITCH.FallbackMax,
			Dial: func(ctx context.Context) (receive.Control, error) {
				return esl.Dial(ctx, cfg.FreeSWITCH.Socket, cfg.FreeSWITCH.Password)
			},
		},
		Pool:     pool,
		Log:      log,
		Observer: a.metrics,
		Abort:    a.abort,
	}
	if opt.Observer != nil {
		h.Observer = observers{a.metrics, opt.Observer}
	}
	a.srv = &esl.Server{
		Addr:     cfg.Gofaxd.Socket,
		Listener: opt.Listener,
		Logger:   log,
		MaxConns: maxConns(cfg.HylaFAX.Modems, cfg.Gofaxd.AllocateInboundDevices),
		Handler:  func(ctx context.Context, c *esl.OutboundConn) { h.Serve(ctx, c) },
	}
	if err := a.srv.Open(); err != nil {
		a.abortNow()
		pool.Close()
		return nil, fmt.Errorf("app: [gofaxd] socket %s: %w", cfg.Gofaxd.Socket, err)
	}
	if cfg.Gofaxd.Metrics != "" {
		a.msrv, err = metrics.Listen(cfg.Gofaxd.Metrics, a.metrics, a.Healthy)
		if err != nil {
			a.srv.Shutdown(context.Background())
			a.abortNow()
			pool.Close()
			return nil, fmt.Errorf("app: [gofaxd] metrics %s: %w", cfg.Gofaxd.Metrics, err)
		}
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		err := a.srv.Serve()
		if errors.Is(err, esl.ErrServerClosed) {
			err = nil
		}
		a.serveErr <- err
	}()
	log.Info("gofaxd ready", "socket", a.srv.Address().String(), "modems", pool.Names(), "spool", spool)
	return a, nil
}

// Addr returns the address of the event socket listener.
func (a *App) Addr() net.Addr { return a.srv.Address() }

// MetricsAddr returns the metrics listener's address, nil without one.
func (a *App) MetricsAddr() net.Addr {
	if a.msrv == nil {
		return nil
	}
	return a.msrv.Addr()
}

// Pool returns the modem pool.
func (a *App) Pool() *modem.Pool { return a.pool }

// Metrics returns the metrics collectors.
func (a *App) Metrics() *metrics.Metrics { return a.metrics }

// Done delivers the listener's end: an error if it failed, nil after
// Shutdown.
func (a *App) Done() <-chan error { return a.serveErr }

// Healthy reports why gofaxd cannot take calls, or nil.
func (a *App) Healthy() error {
	c := a.pool.Counts()
	if c[modem.Down] == len(a.pool.Names()) {
		return errors.New("every modem is down")
	}
	return nil
}

// Shutdown stops taking calls: idle modems go down at once, running
// receptions may finish until ctx ends (the grace), then they are killed
// and still recorded within FinishTime. It returns when every call and
// goroutine has ended: at most StopOverhead after ctx ended.
func (a *App) Shutdown(ctx context.Context) error {
	a.shutOnce.Do(func() {
		a.pool.Drain()
		drained := make(chan struct{})
		var timer sync.WaitGroup
		timer.Go(func() {
			select {
			case <-drained:
				return
			case <-ctx.Done():
			}
			t := time.NewTimer(a.finishTime)
			defer t.Stop()
			select {
			case <-drained:
			case <-t.C:
				a.log.Error("stop: calls still not recorded after the grace; cutting short what they wait for",
					"finish_time", a.finishTime)
				a.abortNow()
			}
		})
		err := a.srv.Shutdown(ctx)
		close(drained)
		timer.Wait()
		a.abortNow()
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			a.log.Warn("shutdown grace over: running calls were killed and recorded")
			err = nil
		}
		a.wg.Wait()
		if a.msrv != nil {
			mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), metricsCloseWait)
			if merr := a.msrv.Close(mctx); merr != nil && err == nil {
				err = merr
			}
			cancel()
		}
		if perr := a.pool.Close(); perr != nil && err == nil {
			err = perr
		}
		a.shutErr = err
	})
	return a.shutErr
}

// observers tells several Observers.
type observers []receive.Observer

func (os observers) CallStarted() {
	for _, o := range os {
		o.CallStarted()
	}
}

func (os observers) CallEnded(out receive.Outcome) {
	for _, o := range os {
		o.CallEnded(out)
	}
}
