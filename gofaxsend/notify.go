package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/logging"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/notify"
)

// NotifyName is the program name that selects the NotifyCmd mode: the
// Debian package installs /usr/bin/gofaxsend-notify as a link to
// gofaxsend.
const NotifyName = "gofaxsend-notify"

// notifyMode reports whether argv asks for the NotifyCmd mode, and the
// arguments after the program name (and after -notify) if so.
func notifyMode(argv []string) ([]string, bool) {
	if len(argv) == 0 {
		return nil, false
	}
	if filepath.Base(argv[0]) == NotifyName {
		return argv[1:], true
	}
	if len(argv) > 1 && (argv[1] == "-notify" || argv[1] == "--notify") {
		return argv[2:], true
	}
	return nil, false
}

// notifyArgs reports whether args are what faxq passes NotifyCmd: a
// qfile, a reason it names and the job time, perhaps the next try.
func notifyArgs(args []string) bool {
	a, err := notify.ParseArgs(args, func(string) string { return "" })
	if err != nil {
		return false
	}
	_, ok := gofaxlib.StatusFromNotify(a.Why())
	return ok && (strings.HasPrefix(a.Qfile(), "doneq/q") || strings.HasPrefix(a.Qfile(), "sendq/q"))
}

// notifyMain records faxq's notice and replaces the process with
// HylaFAX's notify program, so that its exit status is faxq's answer.
func notifyMain(args []string) {
	rootErr := leaveRealRoot()
	logging.GuardStdio()
	log, closeLog, err := logging.Open("gofaxsend-notify", "", slog.LevelInfo, os.Stderr)
	if err != nil {
		log, closeLog = slog.New(slog.NewTextHandler(os.Stderr, nil)), func() error { return nil }
	}
	if rootErr != nil {
		log.Warn("cannot leave the real uid 0", "err", rootErr)
	}
	env := notify.Env{
		Getenv: os.Getenv,
		Log:    log,
		OpenLog: func(cfg *config.Config) *slog.Logger {
			f := cfg.Gofaxsend.LogFile
			if f == "" {
				return log
			}
			fl, closeFile, err := logging.Open("gofaxsend-notify", cfg.SpoolPath(f), slog.LevelInfo, os.Stderr)
			if err != nil {
				log.Warn("cannot open the log file, logging to the system log", "err", err)
				return log
			}
			closeLog()
			log, closeLog = fl, closeFile
			return fl
		},
		Drop: becomeSpoolOwner,
	}
	prog, argv := notify.Run(context.Background(), args, env)
	closeLog()
	err = syscall.Exec(prog, argv, os.Environ())
	// Only reached when the program cannot be executed.
	fmt.Fprintf(os.Stderr, "gofaxsend-notify: exec %s: %v\n", prog, err)
	if l, c, lerr := logging.Open("gofaxsend-notify", "", slog.LevelError, os.Stderr); lerr == nil {
		l.Error("cannot run the notify program", "program", prog, "err", err)
		c()
	}
	os.Exit(127)
}
