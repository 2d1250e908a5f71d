// Command gofaxsend sends HylaFAX jobs through FreeSWITCH. faxq executes it
// as SendFaxCmd for every attempt: "gofaxsend -m <modem> sendq/q<jobid>...".
// It reports the result in each qfile and exits with the HylaFAX send
// status of the first job (0 retry, 1 failed, 2 done, 3 reformat).
//
// Run as gofaxsend-notify (a link to gofaxsend) or as "gofaxsend -notify",
// it is faxq's NotifyCmd: it records faxq's decision about a job for the
// tenant database and execs HylaFAX's notify with the same arguments (see
// package internal/notify).
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/cli"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/job"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/logging"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/outcome"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	if args, ok := notifyMode(os.Args); ok {
		notifyMain(args)
		return
	}
	// Root first: faxq starts gofaxsend with real uid 0.
	rootErr := leaveRealRoot()
	guardErr := logging.GuardStdio()
	// SIGTERM comes from faxq (faxrm, faxalter): hang up and report.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	drop := func(spool string) error {
		if rootErr != nil {
			return rootErr
		}
		return becomeSpoolOwner(spool)
	}
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, drop)
	stop()
	if guardErr != nil {
		fmt.Fprintln(os.Stderr, "gofaxsend:", guardErr)
	}
	os.Exit(code)
}

// run is gofaxsend without the process around it; the result is the exit
// status. drop, if not nil, is called with the spool directory once the
// configuration is known, to give up root; when it fails no job is sent.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, drop func(spool string) error) int {
	opts, err := cli.Parse(args, getenv, cli.IsFile)
	if opts.Version {
		fmt.Fprintln(stdout, "gofaxsend", version)
		return 0
	}
	early, closeLog, lerr := logging.Open("gofaxsend", "", slog.LevelInfo, stderr)
	if lerr != nil {
		early = slog.New(slog.NewTextHandler(stderr, nil))
		closeLog = func() error { return nil }
	}
	if err != nil {
		// Without a usable command line no call is made. faxq always
		// passes -m: only then are the qfiles its jobs, which learn why
		// and are retried. Without -m they are left alone; they may be
		// another program's arguments (a NotifyCmd that lost its -notify).
		early.Error("bad command line", "args", args, "err", err)
		if notifyArgs(args) {
			early.Error("these are faxq's NotifyCmd arguments: set NotifyCmd to " + NotifyName +
				" (faxq passes no arguments written in NotifyCmd, such as -notify)")
		}
		if opts.Modem != "" {
			markAll(ctx, early, opts.Qfiles, outcome.Local(outcome.CodeUnknown, "gofaxsend: %v", err))
		}
		closeLog()
		return int(outcome.Retry)
	}
	cfg, warns, err := config.Load(opts.ConfigFile)
	if err != nil {
		early.Error("cannot load the configuration", "err", err)
		markAll(ctx, early, opts.Qfiles, outcome.Local(outcome.CodeUnknown, "gofaxsend: %v", err))
		closeLog()
		return int(outcome.Retry)
	}
	if drop != nil {
		if err := drop(cfg.HylaFAX.SpoolDir); err != nil {
			early.Error("cannot give up root", "err", err)
			markAll(ctx, early, opts.Qfiles, outcome.Local(outcome.CodeUnknown, "gofaxsend: %v", err))
			closeLog()
			return int(outcome.Retry)
		}
	}
	log := early
	if f := cfg.Gofaxsend.LogFile; f != "" {
		fl, closeFile, err := logging.Open("gofaxsend", cfg.SpoolPath(f), slog.LevelInfo, stderr)
		if err != nil {
			early.Warn("cannot open the log file, logging to the system log", "err", err)
		} else {
			closeLog()
			log, closeLog = fl, closeFile
		}
	}
	defer closeLog()
	for _, w := range warns {
		log.Warn(w)
	}
	log = log.With("modem", opts.Modem)
	status := job.Batch(ctx, job.Env{Config: cfg, Modem: opts.Modem, Controls: opts.Controls, Log: log}, opts.Qfiles)
	return int(status)
}

// markAll writes res into every qfile. Without a configuration the spool
// is not known: relative names are taken from the working directory, which
// faxq sets to the spool.
func markAll(ctx context.Context, log *slog.Logger, qfiles []string, res outcome.Result) {
	for _, qf := range qfiles {
		if err := job.Mark(ctx, qf, res); err != nil {
			log.Error("cannot record the result", "qfile", qf, "err", err)
		}
	}
}
