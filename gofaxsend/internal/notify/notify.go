// Package notify is gofaxsend's NotifyCmd mode. faxq runs its NotifyCmd
// for every decision about a job, as
//
//	sh -c '<NotifyCmd> "<qfile>" "<why>" "<jobtime>" ["<next try>"]'
//
// in the spool, as uucp, and waits for it. This mode records the decision
// for the tenant database (a send.notice record in the spool journal,
// only with [database] configured) and hands the same arguments on to
// HylaFAX's own notify program ([gofaxsend] notifycmd, bin/notify), which
// mails the submitter as before. It touches no network and needs no
// database: a configuration, a qfile and the routing snapshot are read,
// one record is written and fsynced, then the notify program replaces the
// process. Whatever goes wrong before, the notify program still runs.
package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
	"github.com/gofaxserver/gofaxserver/gofaxlib/journal"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/cli"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/record"
)

// DefaultProgram is HylaFAX's notify, relative to the spool (faxq's
// working directory), used when the configuration cannot be read.
const DefaultProgram = "bin/notify"

// WriterName names the segments this mode writes in the journal.
const WriterName = "notify"

// recordWait bounds writing the record (two fsyncs): faxq waits for us.
const recordWait = 5 * time.Second

// maxQfile bounds reading the qfile; real ones are a few kilobytes.
const maxQfile = 1 << 20

// Args is a NotifyCmd command line.
type Args struct {
	// ConfigFile is the configuration: "-c file" before the arguments,
	// else GOFAX_CONFIG, else /etc/gofax.conf.
	ConfigFile string
	// Pass are faxq's arguments, handed on to the notify program as
	// they are: qfile, why, jobtime and, for requeued jobs, the time of
	// the next try.
	Pass []string
}

// ErrUsage reports arguments that are not faxq's NotifyCmd arguments.
var ErrUsage = errors.New("notify: usage: gofaxsend-notify [-c config-file] qfile why jobtime [nexttry]")

// ParseArgs reads the arguments after the program name. Only a leading
// "-c file" is gofaxsend's; everything else is faxq's and is passed on
// unchanged, even when it is not what faxq gives (then err says so, and
// HylaFAX's notify reports its usage itself).
func ParseArgs(args []string, getenv func(string) string) (Args, error) {
	var a Args
	if len(args) >= 2 && args[0] == "-c" {
		a.ConfigFile, args = args[1], args[2:]
	}
	a.Pass = args
	if a.ConfigFile == "" {
		a.ConfigFile = getenv(cli.ConfigEnv)
	}
	if a.ConfigFile == "" {
		a.ConfigFile = cli.DefaultConfig
	}
	if n := len(args); n != 3 && n != 4 {
		return a, fmt.Errorf("%w: %d arguments", ErrUsage, n)
	}
	if args[0] == "" || args[1] == "" {
		return a, fmt.Errorf("%w: empty qfile or reason", ErrUsage)
	}
	return a, nil
}

// Qfile returns faxq's qfile argument.
func (a Args) Qfile() string { return a.Pass[0] }

// Why returns faxq's reason argument.
func (a Args) Why() string { return a.Pass[1] }

// Env is what Run needs from its surroundings.
type Env struct {
	Getenv func(string) string
	// Log receives what went wrong (and one line per notice recorded).
	// OpenLog, if set, is called once the configuration is known and
	// returns the logger to use from then on ([gofaxsend] logfile).
	Log     *slog.Logger
	OpenLog func(cfg *config.Config) *slog.Logger
	// Drop, if set, is called with the spool to give up root before
	// anything is written.
	Drop func(spool string) error
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Run records faxq's notice in args and returns the notify program and
// its argv (argv[0] is the program) for the caller to exec. Trouble is
// logged and never keeps the notify program from running.
func Run(ctx context.Context, args []string, env Env) (prog string, argv []string) {
	log := env.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	a, perr := ParseArgs(args, env.Getenv)
	prog = DefaultProgram
	pass := func() (string, []string) { return prog, append([]string{prog}, a.Pass...) }
	cfg, _, err := config.Load(a.ConfigFile)
	if err != nil {
		log.Error("notice not recorded: cannot load the configuration", "err", err, "args", args)
		return pass()
	}
	if env.OpenLog != nil {
		log = env.OpenLog(cfg)
	}
	prog = cfg.SpoolPath(cfg.Gofaxsend.NotifyCmd)
	if perr != nil {
		log.Error("notice not recorded", "err", perr, "args", args)
		return pass()
	}
	if !cfg.Database.Enabled {
		return pass()
	}
	if env.Drop != nil {
		if err := env.Drop(cfg.HylaFAX.SpoolDir); err != nil {
			log.Error("notice not recorded: cannot give up root", "err", err)
			return pass()
		}
	}
	rec := record.NewRecorder(cfg.HylaFAX.SpoolDir, WriterName)
	n, err := notice(cfg, rec, a, env.Now(), log)
	if err == nil {
		rctx, cancel := context.WithTimeout(ctx, recordWait)
		var jr journal.Record
		jr, err = rec.Append(rctx, gofaxlib.RecordJobNotice, n)
		cancel()
		if err == nil {
			log.Info("job notice recorded", "job_id", n.Job.JobID, "why", n.Why, "fax_id", n.Job.FaxID, "record_id", jr.ID)
		}
	}
	if cerr := rec.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		log.Error("notice not recorded", "qfile", a.Qfile(), "why", a.Why(), "err", err)
	}
	return pass()
}

// notice builds the send.notice record of faxq's decision from the qfile
// as faxq left it.
func notice(cfg *config.Config, rec *record.Recorder, a Args, now time.Time, log *slog.Logger) (gofaxlib.JobNotice, error) {
	path := a.Qfile()
	if !filepath.IsAbs(path) {
		path = cfg.SpoolPath(path)
	}
	q, err := readQfile(path)
	if err != nil {
		return gofaxlib.JobNotice{}, err
	}
	why := a.Why()
	if _, ok := gofaxlib.StatusFromNotify(why); !ok {
		log.Warn("notice with a reason faxq is not known to give; recorded as it is", "why", why)
	}
	owner := q.String("owner")
	number := q.String("external")
	if number == "" {
		number = q.String("number")
	}
	ref := gofaxlib.JobRef{
		Host:       record.Host(cfg),
		JobID:      record.JobID(q.String("jobid")),
		Owner:      owner,
		To:         record.E164OrRaw(cfg.NumberPlan(), number),
		PagesTotal: q.Int("totpages"),
	}
	if ref.JobID == 0 {
		return gofaxlib.JobNotice{}, fmt.Errorf("notify: %s: no job id", path)
	}
	// The owner's tenant, as gofaxsend files its attempts; gofaxd has
	// the same data, so a snapshot that cannot be read costs nothing.
	if rt, err := record.LoadRouting(cfg.SpoolPath(record.RoutingFile)); err != nil {
		log.Warn("notice recorded without the owner's tenant", "err", err)
	} else if _, t, ok := rt.User(owner); ok {
		ref.TenantID = t.ID
	}
	if ref.FaxID, err = rec.FaxID(q.String("jobtag"), ref.JobID); err != nil {
		return gofaxlib.JobNotice{}, err
	}
	n := gofaxlib.JobNotice{
		Job:              ref,
		Why:              why,
		Time:             now.UTC(),
		Status:           q.Status(),
		PagesTransferred: q.Int("npages"),
		Dials:            q.Int("totdials"),
		Tries:            q.Int("tottries"),
	}
	if why == "requeued" {
		if tts := q.Int("tts"); tts > 0 {
			n.NextTry = time.Unix(int64(tts), 0).UTC()
		}
	}
	return n, nil
}

// readQfile reads and parses a qfile without locking it: faxq wrote it
// before it started us, and waits for us.
func readQfile(path string) (*hylafax.Qfile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxQfile+1))
	if err != nil {
		return nil, fmt.Errorf("notify: %s: %w", path, err)
	}
	if len(b) > maxQfile {
		return nil, fmt.Errorf("notify: %s: larger than %d bytes", path, maxQfile)
	}
	return hylafax.ParseQfile(path, b)
}
