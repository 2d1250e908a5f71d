// Package app assembles gofaxd from its parts: the virtual modem pool, the
// outbound event socket server running the receive handler, and the
// optional metrics listener. Open starts everything, Shutdown drains it.
package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/faxrcvd"
	"github.com/gofaxserver/gofaxserver/gofaxd/internal/metrics"
	"github.com/gofaxserver/gofaxserver/gofaxd/internal/modem"
	"github.com/gofaxserver/gofaxserver/gofaxd/internal/receipts"
	"github.com/gofaxserver/gofaxserver/gofaxd/internal/receive"
	"github.com/gofaxserver/gofaxserver/gofaxd/internal/tenancy"
	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
	"github.com/gofaxserver/gofaxserver/gofaxlib/freeswitch"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hook"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
	"github.com/gofaxserver/gofaxserver/gofaxlib/journal"
)

// Options are what the configuration file does not say.
type Options struct {
	Logger *slog.Logger
	// Listener, if set, is a systemd-activated socket used instead of
	// [gofaxd] socket.
	Listener net.Listener
	// Observer, if set, is told about calls besides the metrics.
	Observer receive.Observer
	// JournalDir is the spool journal's directory ("": <spool>/gofax/journal).
	JournalDir string
	// Syncer, if set, makes receptions durable instead of fsync and
	// fdatasync (tests record what is synced when).
	Syncer hylafax.Syncer
	// LogStats, if set, counts the lines the log shipper ([loki]) sent
	// and dropped, for /metrics.
	LogStats metrics.LogStats
	// WebListener, if set, is where the REST API of [web] listens instead
	// of [web] listen (a systemd-activated socket, a test's :0).
	WebListener net.Listener
}

// App is a running gofaxd.
type App struct {
	cfg     *config.Config
	log     *slog.Logger
	pool    *modem.Pool
	srv     *esl.Server
	metrics *metrics.Metrics
	msrv    *metrics.Server

	handler *receive.Handler
	journal *journal.Journal
	tenancy *tenancy.Service // nil without [database]
	// receipts delivers receipt events (with [database]; nil without).
	receipts *receipts.Service
	web      *web // nil without [web]
	queue    *faxrcvd.Queue
	health   *health
	// spoolSync makes receptions durable by syncfs (nil: fsync, or the
	// Options' Syncer).
	spoolSync *hylafax.SpoolSyncer

	wg         sync.WaitGroup // the listener's Serve
	bg         sync.WaitGroup // the Recovery and the journal's upkeep
	bgCtx      context.Context
	bgStop     context.CancelFunc
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
// running have to be hung up and recorded; what then still waits for
// FreeSWITCH is cut short. It leaves a killed call both of its tries to
// end (2 × receive.KillGrace) and 5 s for its records, so that a
// reachable FreeSWITCH confirms the end before gofaxd stops waiting: a
// reception whose end is not confirmed is kept as written and recorded
// at the next start (see receive.Handler.Recover).
const FinishTime = 15 * time.Second

// faxrcvdStopWait is how long faxrcvd runs still going when the calls
// are recorded may finish before they are killed; killed and unstarted
// runs run again at the next start.
const faxrcvdStopWait = 5 * time.Second

// closeWait bounds the rest of a stop: the journal's last fsync, the
// modems' status files and faxq messages, the metrics listener.
const closeWait = 5 * time.Second

// StopOverhead bounds a stop beyond the shutdown grace: FinishTime, then
// faxrcvdStopWait, then closeWait. systemd's TimeoutStopSec must exceed
// shutdowngrace + StopOverhead.
const StopOverhead = FinishTime + faxrcvdStopWait + closeWait

// journalUpkeep is how often gofaxd reads the journal segments of other
// writers and removes segments that are done.
const journalUpkeep = 30 * time.Second

// connSlack is how many event socket connections maxConns allows beyond
// two per modem: calls being refused for want of a modem, and sessions
// still ending.
const connSlack = 16

// DefaultSharedConns bounds the connections served at once when calls
// beyond the modems are received too (allocateinbounddevices=false,
// GOfax.IP's way) and [gofaxd] maxconnections is not set: ten times
// FreeSWITCH's max-sessions of the sample configuration (1000), so no
// fax is turned away; a held call takes two descriptors (its socket and
// its locked recvq file) and about 20 KiB.
const DefaultSharedConns = 10000

// maxConns bounds the event socket connections served at once:
// [gofaxd] maxconnections, else with allocateinbounddevices (every call
// needs a modem) 2 × modems + 16, room for the calls refused with
// rejectresponse, and without it DefaultSharedConns. A flood beyond the
// bound (a dialplan loop, a misrouted trunk) has its connections closed
// at once, counted in gofaxd_connections_refused_total: FreeSWITCH's
// socket application fails and its dialplan continues.
func maxConns(g config.Gofaxd, modems int) int {
	switch {
	case g.MaxConnections > 0:
		return g.MaxConnections
	case g.AllocateInboundDevices:
		return 2*modems + connSlack
	}
	return DefaultSharedConns
}

// callEventQueue is how many events may wait for a call's goroutine.
const callEventQueue = 64

// fdsPerConn and fdReserve size the descriptors maxConns needs: a held
// call's socket and locked recvq file, and what gofaxd keeps besides
// (listeners, FIFOs, journal, faxrcvd's pipes, files being written).
const (
	fdsPerConn = 2
	fdReserve  = 1024
)

// fitFDLimit returns the bound conns, lowered to what RLIMIT_NOFILE holds
// when the bound is automatic: calls beyond it are then refused and
// counted, instead of failing for want of a descriptor. A configured bound
// is kept, with a warning. (The Go runtime has already raised the soft
// limit to the hard one.)
func fitFDLimit(log *slog.Logger, conns int, automatic bool) int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return conns
	}
	need := uint64(fdsPerConn*conns + fdReserve)
	if need <= rl.Cur {
		return conns
	}
	if automatic && rl.Cur > fdReserve+fdsPerConn {
		fit := int((rl.Cur - fdReserve) / fdsPerConn)
		log.Info("[gofaxd] maxconnections (automatic) lowered to what the descriptor limit holds; raise LimitNOFILE for more",
			"max_connections", fit, "limit", rl.Cur)
		return fit
	}
	log.Warn("the descriptor limit is too low for [gofaxd] maxconnections: calls beyond it fail; raise LimitNOFILE",
		"limit", rl.Cur, "needed", need, "max_connections", conns)
	return conns
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
	if spool != cfg.HylaFAX.SpoolDir {
		// Every path relative to the spool (cfg.SpoolPath) is absolute
		// from here on, whatever the working directory later.
		abs := *cfg
		abs.HylaFAX.SpoolDir = spool
		cfg = &abs
	}
	for _, d := range spoolDirs {
		if fi, err := os.Stat(filepath.Join(spool, d)); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("app: [hylafax] spooldir %s is not a HylaFAX spool: no directory %s/", spool, d)
		}
	}
	jdir := opt.JournalDir
	if jdir == "" {
		jdir = filepath.Join(spool, "gofax", "journal")
	}
	if err := makePrivateDir(jdir, spool); err != nil {
		return nil, fmt.Errorf("app: journal: %w", err)
	}
	consumers := receive.Consumers
	if cfg.Database.Enabled {
		consumers = tenancy.Consumers(consumers)
	}
	j, err := journal.Open(jdir, journal.Options{Consumers: consumers, Logger: log,
		Writer: journal.WriterOptions{Name: "gofaxd"}})
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	m := metrics.New()
	if opt.LogStats != nil {
		m.WatchLoki(opt.LogStats)
	}
	var ten *tenancy.Service
	var rc *receipts.Service
	// The REST API drops its cached credentials whenever the routing is
	// reloaded (a change on any host): set once the API exists.
	var onReload atomic.Pointer[func()]
	if cfg.Database.Enabled {
		reloaded := func() {
			if f := onReload.Load(); f != nil {
				(*f)()
			}
		}
		if ten, rc, err = openTenancy(cfg, spool, j, m, reloaded, log); err != nil {
			j.Close()
			return nil, err
		}
	}
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
		if ten != nil {
			ten.Close()
		}
		j.Close()
		return nil, err
	}
	m.WatchPool(pool)
	a := &App{cfg: cfg, log: log, pool: pool, metrics: m, journal: j, tenancy: ten, receipts: rc, serveErr: make(chan error, 1), finishTime: FinishTime}
	a.abort, a.abortNow = context.WithCancel(context.Background())
	a.bgCtx, a.bgStop = context.WithCancel(context.Background())
	xfer := ""
	if cfg.HylaFAX.XferFaxLog != "" {
		xfer = filepath.Join(spool, cfg.HylaFAX.XferFaxLog)
		if filepath.IsAbs(cfg.HylaFAX.XferFaxLog) {
			xfer = cfg.HylaFAX.XferFaxLog
		}
	}
	syncer := opt.Syncer
	if syncer == nil && cfg.Gofaxd.SyncFS {
		if a.spoolSync, err = hylafax.OpenSpoolSyncer(spool); err != nil {
			log.Warn("[gofaxd] syncfs: fsyncing file by file", "err", err)
		} else {
			syncer = a.spoolSync
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
			ReceivingMode:        cfg.HylaFAX.ReceivingMode,
			Owner:                spoolOwner(spool),
			LogFileMode:          cfg.HylaFAX.LogFileMode,
			SoftmodemFallback:    cfg.FreeSWITCH.SoftmodemFallback,
			Numbering:            freeswitch.Numbering(cfg.NumberPlan()),
			FallbackTTL:          cfg.FreeSWITCH.FallbackTTL,
			FallbackMax:          cfg.FreeSWITCH.FallbackMax,
			Dial: func(ctx context.Context) (receive.Control, error) {
				return esl.Dial(ctx, cfg.FreeSWITCH.Socket, cfg.FreeSWITCH.Password)
			},
		},
		Pool:     pool,
		Log:      log,
		Observer: a.metrics,
		Abort:    a.abort,
		Journal:  j,
		Syncer:   syncer,
	}
	if opt.Observer != nil {
		h.Observer = observers{a.metrics, opt.Observer}
	}
	if ten != nil {
		h.Router = ten
	}
	a.handler = h
	conns := fitFDLimit(log, maxConns(cfg.Gofaxd, cfg.HylaFAX.Modems), cfg.Gofaxd.MaxConnections == 0)
	a.srv = &esl.Server{
		Addr:     cfg.Gofaxd.Socket,
		Listener: opt.Listener,
		Logger:   log,
		MaxConns: conns,
		// Calls in their setup phase at once (0: no bound): under CPU
		// saturation the running calls' teardown is not queued behind
		// every newcomer.
		MaxSetups: cfg.Gofaxd.MaxSetups,
		// A call's filtered subscription yields a few dozen events, read
		// as they come: a short queue is plenty, and 10,000 held calls
		// do not keep 8 KiB of queue each.
		Options: []esl.Option{esl.WithEventQueue(callEventQueue)},
		Handler: func(ctx context.Context, c *esl.OutboundConn) { h.Serve(ctx, c) },
	}
	var sched faxrcvd.SchedWatch
	a.queue = faxrcvd.New(faxrcvd.Config{
		Workers:     cfg.Gofaxd.FaxRcvdConcurrency,
		Run:         h.RunFaxrcvd,
		Interrupted: receive.ErrInterrupted,
		Ack:         func(id string) error { return j.Ack(receive.ConsumerFaxrcvd, id) },
		Busy:        func() bool { return a.srv.Active() > 0 && sched.Busy() },
		Defer:       cfg.Gofaxd.FaxRcvdDefer,
		Log:         log,
	})
	h.Faxrcvd = a.queue
	if left := j.Pending(receive.ConsumerFaxrcvd); len(left) > 0 {
		log.Warn("faxrcvd runs an earlier run did not finish: running them now", "runs", len(left))
		for _, rec := range left {
			a.queue.Enqueue(rec)
		}
	}
	if n := len(j.Pending(receive.ConsumerRecv)); n > 0 {
		log.Warn("receptions an earlier run did not record: asking FreeSWITCH whether their calls ended", "receptions", n)
	}
	a.health = newHealth(a, spool)
	m.WatchState(a.state)
	if err := a.srv.Open(); err != nil {
		a.closeParts()
		return nil, fmt.Errorf("app: [gofaxd] socket %s: %w", cfg.Gofaxd.Socket, err)
	}
	if cfg.Web.Enabled && ten != nil {
		if a.web, err = openWeb(cfg, ten, opt, a.WakeReceipts, log); err != nil {
			a.srv.Shutdown(context.Background())
			a.closeParts()
			return nil, err
		}
		invalidate := a.web.srv.InvalidateCredentials
		onReload.Store(&invalidate)
		a.metrics.WatchAPI(a.web.srv.LoginStats)
	}
	// Counted as running from here: /healthz may be asked at once.
	a.health.serving.Store(true)
	a.health.bgLive.Add(2)
	if cfg.Gofaxd.Metrics != "" {
		a.msrv, err = metrics.Listen(cfg.Gofaxd.Metrics, a.metrics, a.health.report)
		if err != nil {
			a.srv.Shutdown(context.Background())
			a.closeWeb(context.Background())
			a.closeParts()
			return nil, fmt.Errorf("app: [gofaxd] metrics %s: %w", cfg.Gofaxd.Metrics, err)
		}
	}
	a.bg.Go(func() {
		defer a.health.bgLive.Add(-1)
		h.Recover(a.bgCtx)
	})
	a.bg.Go(func() {
		defer a.health.bgLive.Add(-1)
		a.upkeep()
	})
	if ten != nil {
		ten.Start()
		rc.Start()
	}
	if a.web != nil {
		a.bg.Go(func() { a.recoverSubmissions(a.bgCtx) })
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		err := a.srv.Serve()
		a.health.serving.Store(false)
		if errors.Is(err, esl.ErrServerClosed) {
			err = nil
		}
		a.serveErr <- err
	}()
	log.Info("gofaxd ready", "socket", a.srv.Address().String(), "modems", pool.Names(), "spool", spool)
	return a, nil
}

// spoolOwner returns the owner of recvq/ when gofaxd runs as root and
// recvq belongs to another user (uucp): received files are then given to
// that user, as faxgetty's belong to uucp. Otherwise nil: the files
// belong to gofaxd's own user.
func spoolOwner(spool string) *hylafax.FileOwner {
	if os.Geteuid() != 0 {
		return nil
	}
	uid, gid, err := hook.OwnerIDs(filepath.Join(spool, "recvq"))
	if err != nil || uid == 0 {
		return nil
	}
	return &hylafax.FileOwner{UID: int(uid), GID: int(gid)}
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

// closeParts undoes a failed Open.
func (a *App) closeParts() {
	a.abortNow()
	a.bgStop()
	a.queue.Close(context.Background())
	a.pool.Close()
	a.closeTenancy()
	a.journal.Close()
	a.closeSpoolSync()
}

// closeSpoolSync closes the SpoolSyncer, if there is one, once no
// reception is being made durable any more.
func (a *App) closeSpoolSync() {
	if a.spoolSync != nil {
		a.spoolSync.Close()
	}
}

// closeWeb stops the REST API, if there is one: its requests may finish
// until ctx ends.
func (a *App) closeWeb(ctx context.Context) error {
	if a.web == nil {
		return nil
	}
	return a.web.shutdown(ctx)
}

// APIAddr returns the REST API's address, nil without [web].
func (a *App) APIAddr() net.Addr {
	if a.web == nil {
		return nil
	}
	return a.web.srv.Addr()
}

// closeTenancy stops the tenant store's loops and the receipt
// dispatcher, and closes the store.
func (a *App) closeTenancy() {
	if a.tenancy != nil {
		a.receipts.Close()
		a.tenancy.Close()
		a.tenancy.Store().Close()
	}
}

// WakeReceipts makes the receipt dispatcher look for due deliveries at
// once (the API calls it after a redelivery). It never blocks; without
// [database] it does nothing.
func (a *App) WakeReceipts() {
	if a.receipts != nil {
		a.receipts.Wake()
	}
}

// upkeep reads other writers' journal segments and removes segments that
// are done, every journalUpkeep, until the background context ends.
func (a *App) upkeep() {
	t := time.NewTicker(journalUpkeep)
	defer t.Stop()
	for {
		select {
		case <-a.bgCtx.Done():
			return
		case <-t.C:
		}
		if err := a.journal.Refresh(); err != nil {
			a.log.Error("journal", "err", err)
		}
		if _, err := a.journal.Compact(a.bgCtx); err != nil && a.bgCtx.Err() == nil {
			a.log.Error("journal", "err", err)
		}
	}
}

// state is what /metrics reads at scrape time.
func (a *App) state() metrics.State {
	waiting, running := a.queue.Len()
	unfinished, _, orphans := a.handler.Unfinished()
	js := a.journal.Stats()
	var foreign uint64
	if a.tenancy != nil {
		foreign = a.tenancy.ForeignJobs()
	}
	return metrics.State{
		ForeignJobs:    foreign,
		FaxrcvdQueued:  waiting + running,
		Unfinished:     unfinished,
		OrphanFiles:    orphans,
		JournalFsyncs:  js.Syncs + js.DirSyncs,
		Connections:    a.srv.Active(),
		MaxConnections: a.srv.MaxConns,
		Refused:        a.srv.Refused(),
		JournalSkipped: js.Skipped,
	}
}

// Journal returns the spool journal.
func (a *App) Journal() *journal.Journal { return a.journal }

// Shutdown stops taking calls: idle modems go down at once, running
// receptions may finish until ctx ends (the grace), then they are killed
// and still recorded within FinishTime. It returns when every call and
// goroutine has ended: at most StopOverhead after ctx ended.
func (a *App) Shutdown(ctx context.Context) error {
	a.shutOnce.Do(func() {
		a.health.stopping.Store(true)
		// The API takes no new requests; those running may finish within
		// the grace, as calls do.
		webDone := make(chan error, 1)
		go func() { webDone <- a.closeWeb(ctx) }()
		a.pool.Drain()
		// Receipts stop with the calls: attempts running get their grace
		// meanwhile, the rest wait in the outbox for the next start.
		if a.receipts != nil {
			a.receipts.Stop()
		}
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
		// The calls are recorded: the Recovery and the upkeep stop, and
		// faxrcvd runs get faxrcvdStopWait more.
		a.bgStop()
		a.bg.Wait()
		if werr := <-webDone; werr != nil && !errors.Is(werr, context.DeadlineExceeded) && !errors.Is(werr, context.Canceled) {
			a.log.Error("stop: the REST API", "err", werr)
		}
		a.closeTenancy()
		qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), faxrcvdStopWait)
		a.queue.Close(qctx)
		cancel()
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
		if jerr := a.journal.Close(); jerr != nil && err == nil {
			err = jerr
		}
		a.closeSpoolSync()
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

func (os observers) FaxrcvdStarted(d time.Duration) {
	for _, o := range os {
		if fo, ok := o.(receive.FaxrcvdObserver); ok {
			fo.FaxrcvdStarted(d)
		}
	}
}

func (os observers) FaxrcvdEnded(result string) {
	for _, o := range os {
		if fo, ok := o.(receive.FaxrcvdObserver); ok {
			fo.FaxrcvdEnded(result)
		}
	}
}

func (os observers) Recovered(class string) {
	for _, o := range os {
		if fo, ok := o.(receive.FaxrcvdObserver); ok {
			fo.Recovered(class)
		}
	}
}

// makePrivateDir creates dir and its parent with mode 0700 where they
// are missing; run as root, it gives them to the owner of the spool.
func makePrivateDir(dir, spool string) error {
	owner := spoolOwner(spool)
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			if errors.Is(err, fs.ErrExist) {
				continue
			}
			return err
		}
		if owner != nil {
			if err := os.Chown(d, owner.UID, owner.GID); err != nil {
				return err
			}
		}
	}
	return nil
}
