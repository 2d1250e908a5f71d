// Command gofaxd receives faxes from FreeSWITCH for HylaFAX and runs
// HylaFAX's virtual modems (it replaces faxgetty):
//
//	gofaxd [-c /etc/gofax.conf] [-version]
//	gofaxd [-c /etc/gofax.conf] migrate
//
// "migrate" applies the tenant store's schema migrations to [database]
// and exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/app"
	"github.com/gofaxserver/gofaxserver/gofaxd/internal/logging"
	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
)

// version is set at build time: -ldflags "-X main.version=1.0".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "gofaxd:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// run is gofaxd: it returns when ctx is cancelled (SIGTERM) and every
// call has been recorded, or when the daemon cannot run.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gofaxd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("c", config.DefaultPath, "configuration `file`")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if *showVersion {
		fmt.Fprintln(stdout, "gofaxd", version)
		return nil
	}
	switch {
	case fs.NArg() == 1 && fs.Arg(0) == "migrate":
		return migrate(ctx, *cfgPath, stdout)
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "gofaxd: unexpected argument %q (the only command is migrate)\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	log, flush := logging.New(stderr, slog.LevelInfo)
	defer flush()
	cfg, warns, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	for _, w := range warns {
		log.Warn(w)
	}
	opts := app.Options{}
	if cfg.Loki.URL != "" {
		// The log goes to the journal as always, and also to Loki, which
		// never makes a call wait (lines are dropped and counted when its
		// buffer is full); the buffer is flushed when gofaxd stops.
		base := log
		shipper, err := openLoki(cfg.Loki, base)
		if err != nil {
			return fmt.Errorf("[loki]: %w", err)
		}
		defer closeLoki(shipper, base)
		log = slog.New(logging.Tee(base.Handler(), shipper))
		opts.LogStats = func() (uint64, uint64) { return shipper.Sent(), shipper.Dropped() }
	}
	ln, err := activatedListener()
	if err != nil {
		return err
	}
	opts.Logger, opts.Listener = log, ln
	a, err := app.Open(cfg, opts)
	if err != nil {
		return err
	}
	log.Info("gofaxd started", "version", version, "config", *cfgPath)
	daemon.SdNotify(false, daemon.SdNotifyReady)

	var wg sync.WaitGroup
	// The watchdog stays fed until the calls have drained, as long as
	// gofaxd's own loops run.
	wctx, stopWatchdog := context.WithCancel(context.WithoutCancel(ctx))
	wg.Go(func() { watchdog(wctx, a.Alive, log) })

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("stopping: receptions in progress may finish", "grace", cfg.Gofaxd.ShutdownGrace,
			"at_most", cfg.Gofaxd.ShutdownGrace+app.StopOverhead)
	case serveErr = <-a.Done():
		log.Error("event socket listener failed", "err", serveErr)
	}
	daemon.SdNotify(false, daemon.SdNotifyStopping)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Gofaxd.ShutdownGrace)
	defer cancel()
	err = a.Shutdown(sctx)
	stopWatchdog()
	wg.Wait()
	if serveErr != nil {
		return serveErr
	}
	return err
}

// activatedListener returns the socket systemd passed (socket activation),
// or nil to listen on [gofaxd] socket.
func activatedListener() (net.Listener, error) {
	lns, err := activation.Listeners()
	if err != nil {
		return nil, fmt.Errorf("systemd socket activation: %w", err)
	}
	switch len(lns) {
	case 0:
		return nil, nil
	case 1:
		return lns[0], nil
	}
	for _, l := range lns[1:] {
		l.Close()
	}
	return nil, fmt.Errorf("systemd passed %d sockets, gofaxd uses one", len(lns))
}

// watchdog tells systemd every half WatchdogSec that gofaxd is alive,
// when alive says that gofaxd's own loops run and answer within that
// time. faxq or FreeSWITCH being away does not stop it: restarting
// gofaxd would not bring them back, and would kill receptions.
func watchdog(ctx context.Context, alive func(context.Context) error, log *slog.Logger) {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil || interval <= 0 {
		return
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		actx, cancel := context.WithTimeout(ctx, interval/2)
		err := alive(actx)
		cancel()
		switch {
		case err == nil:
			if failing {
				log.Info("gofaxd's loops answer again: watchdog fed")
			}
			failing = false
			daemon.SdNotify(false, daemon.SdNotifyWatchdog)
		case ctx.Err() != nil:
			return
		case !failing:
			failing = true
			log.Error("watchdog not fed: one of gofaxd's own loops is stuck or ended; systemd will restart gofaxd", "err", err)
		}
	}
}
