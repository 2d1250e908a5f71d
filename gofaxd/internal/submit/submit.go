// Package submit puts the REST API's faxes into HylaFAX's queue through
// hfaxd's client protocol (gofaxlib/hylafax/hfaxd): it is gofaxd's
// gofaxlib.Submitter. A small pool of hfaxd sessions, logged in with the
// administrator account of [web] (hfaxduser, hfaxdpassword,
// hfaxdadminpassword), uploads a fax's documents and creates one job per
// fax:
//
//	STOT (each document)   JNEW
//	JPARM DIALSTRING, EXTERNAL   the destination (E.164)
//	JPARM OWNER            the sending tenant user (needs ADMIN)
//	JPARM USRKEY           the fax id, by which the job is found again
//	JPARM FAXNUMBER        the sender, one of the tenant's numbers
//	JPARM NOTIFYADDR       the user's e-mail address, if it has one
//	JPARM SENDTIME, LASTTIME, MAXTRIES, TAGLINE   the send options
//	JPARM DOCUMENT (each)  JSUBM
//
// faxq converts the documents (PDF and TIFF, as for sendfax), schedules
// and retries the job and runs gofaxsend for it; the job is an ordinary
// HylaFAX job that faxstat, AvantFAX and YajHFC show.
//
// A job that is created but not submitted when its session ends is
// deleted by hfaxd, so an error before JSUBM leaves nothing behind. A
// JSUBM whose reply is lost (the connection broke) may or may not have
// queued the job: Submit looks for it by its user key before it reports
// the fax as not submitted, and reports the outcome as unknown
// (gofaxlib.ErrOutcomeUnknown) when hfaxd cannot be asked either. Lookup
// settles that later, as it does for a fax whose submission a crash
// interrupted.
package submit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax/hfaxd"
)

// Defaults of Config.
const (
	// DefaultPoolSize is how many hfaxd sessions submit at once: faxq
	// takes one submission at a time anyway, and each session is an
	// hfaxd process.
	DefaultPoolSize = 4
	// DefaultOutcomeWait is how long after a JSUBM whose reply was lost
	// Submit waits before it looks for the job: hfaxd decides whether
	// the job stays when it sees the session end.
	DefaultOutcomeWait = 2 * time.Second
	// DefaultKillAfter is how long faxq keeps trying a job whose
	// submission says nothing (hfaxd's own default is 3 hours).
	DefaultKillAfter = 24 * time.Hour
)

// A failed upload (no job exists yet) is tried uploadTries times in all,
// uploadPause, then twice that, apart: enough for sessions racing to
// create a fresh spool's sequence number file to find it made.
const (
	uploadTries = 3
	uploadPause = 50 * time.Millisecond
)

// Config configures a Submitter.
type Config struct {
	// Hfaxd is how to reach and log in to hfaxd; it needs administrator
	// rights (AdminPassword) to make the tenant user the job's owner.
	Hfaxd hfaxd.Config
	// Host is this host's name: the faxes it queues are "on" it.
	Host string
	// PoolSize bounds the sessions (DefaultPoolSize when 0).
	PoolSize int
	// OutcomeWait is DefaultOutcomeWait when 0.
	OutcomeWait time.Duration
	Log         *slog.Logger
}

// Submitter is gofaxd's gofaxlib.Submitter on hfaxd. It is safe for
// concurrent use.
type Submitter struct {
	pool *hfaxd.Pool
	user string
	host string
	wait time.Duration
	log  *slog.Logger
}

var _ gofaxlib.Submitter = (*Submitter)(nil)

// New returns a Submitter; it connects to hfaxd when it is first used.
// Close it.
func New(cfg Config) *Submitter {
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = DefaultPoolSize
	}
	if cfg.OutcomeWait <= 0 {
		cfg.OutcomeWait = DefaultOutcomeWait
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Submitter{pool: hfaxd.NewPool(cfg.Hfaxd, cfg.PoolSize, 0), user: cfg.Hfaxd.User, host: cfg.Host, wait: cfg.OutcomeWait, log: log}
}

// Close closes the sessions; a submission in progress finishes first.
func (s *Submitter) Close() error { return s.pool.Close() }

// Submit uploads the documents of job and submits it as one HylaFAX job
// (see the package comment); it returns this host and the job id. When
// it fails, HylaFAX has no job of the fax: one created and refused is
// deleted again, and after a lost JSUBM reply the job is looked for and
// returned if it exists. Only when that look-up fails too (or ctx ends
// first) is the outcome unknown: gofaxlib.ErrOutcomeUnknown, and the
// caller keeps the fax until Lookup can tell.
func (s *Submitter) Submit(ctx context.Context, job gofaxlib.SubmitJob) (string, int, error) {
	spec := hfaxd.JobSpec{
		Number:     job.To,
		External:   job.To,
		Owner:      job.Owner,
		UserKey:    job.FaxID,
		FaxNumber:  job.From,
		NotifyAddr: job.NotifyAddr,
		SendAt:     job.SendAt,
		KillAfter:  killAfter(job, time.Now()),
		MaxTries:   job.MaxTries,
		TagLine:    job.Header,
	}
	var id string
	var uploadErr error
	try := func(c *hfaxd.Conn) error {
		if !c.Admin() {
			return fmt.Errorf("submit: hfaxd account %s has no administrator rights ([web] hfaxdadminpassword): it cannot submit faxes for tenant users", s.user)
		}
		spec.Documents = spec.Documents[:0]
		for _, d := range job.Documents {
			name, err := upload(ctx, c, d.Path)
			if err != nil {
				uploadErr = err
				return err
			}
			spec.Documents = append(spec.Documents, name)
		}
		var err error
		id, err = c.Submit(ctx, spec)
		if err != nil && id != "" && !errors.Is(err, hfaxd.ErrOutcomeUnknown) && c.Broken() == nil {
			// faxq refused the job (it is in doneq): remove it, so that
			// nothing of the fax stays in HylaFAX.
			if derr := c.DeleteJob(ctx, id); derr != nil {
				s.log.Warn("submit: a refused job could not be removed", "job_id", id, "fax_id", job.FaxID, "err", derr)
			}
		}
		return err
	}
	err := s.pool.Do(ctx, try)
	for n := 1; err != nil && uploadErr != nil && n < uploadTries && ctx.Err() == nil; n++ {
		// No job exists yet: an upload refused on a fresh spool (hfaxd's
		// race for its sequence number file) or a session hfaxd ended
		// meanwhile is tried again on another session.
		s.log.Info("submit: uploading a document failed; trying again", "fax_id", job.FaxID, "err", err)
		time.Sleep(time.Duration(n) * uploadPause)
		uploadErr = nil
		err = s.pool.Do(ctx, try)
	}
	switch {
	case err == nil:
		n, _ := strconv.Atoi(id)
		return s.host, n, nil
	case id != "" && errors.Is(err, hfaxd.ErrOutcomeUnknown):
		// The session broke after JSUBM was sent: hfaxd keeps the job if
		// faxq took it, else deletes it when it sees the session end.
		s.log.Warn("submit: the reply to JSUBM was lost; looking for the job", "job_id", id, "fax_id", job.FaxID, "err", err)
		host, n, lerr := s.settle(ctx, job.FaxID)
		switch {
		case lerr == nil:
			s.log.Info("submit: the job was queued after all", "job_id", n, "fax_id", job.FaxID)
			return host, n, nil
		case errors.Is(lerr, gofaxlib.ErrNotFound):
			return "", 0, fmt.Errorf("%w: hfaxd: the fax was not queued (%v)", gofaxlib.ErrUnavailable, err)
		}
		return "", 0, fmt.Errorf("%w: hfaxd: the reply to JSUBM was lost and the job could not be looked up: %v; %v",
			gofaxlib.ErrOutcomeUnknown, err, lerr)
	}
	return "", 0, mapErr(err)
}

// settle looks for the job of fax faxID after a lost JSUBM reply, once
// hfaxd had the time to see the session end (the wait). ctx ending
// first is an error like HylaFAX not answering: the outcome stays
// unknown.
func (s *Submitter) settle(ctx context.Context, faxID string) (string, int, error) {
	t := time.NewTimer(s.wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return "", 0, ctx.Err()
	case <-t.C:
	}
	return s.Lookup(ctx, faxID)
}

// upload sends the file at path to hfaxd.
func upload(ctx context.Context, c *hfaxd.Conn, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("submit: %w", err)
	}
	defer f.Close()
	return c.Upload(ctx, f)
}

// killAfter is how long after the job's start faxq may try: until
// job.Expires (DefaultKillAfter when not given), at least a minute.
func killAfter(job gofaxlib.SubmitJob, now time.Time) time.Duration {
	if job.Expires.IsZero() {
		return DefaultKillAfter
	}
	start := now
	if job.SendAt.After(now) {
		start = job.SendAt
	}
	return max(job.Expires.Sub(start), time.Minute)
}

// Kill kills job jobID (JKILL); faxq then reports it killed.
func (s *Submitter) Kill(ctx context.Context, host string, jobID int) error {
	if host != s.host {
		return fmt.Errorf("%w: the job is queued on host %s", gofaxlib.ErrConflict, host)
	}
	err := s.pool.Do(ctx, func(c *hfaxd.Conn) error {
		return c.KillJob(ctx, strconv.Itoa(jobID))
	})
	if errors.Is(err, hfaxd.ErrNoJob) || errors.Is(err, hfaxd.ErrJobDone) {
		return fmt.Errorf("%w: job %d: %v", gofaxlib.ErrNotFound, jobID, err)
	}
	return mapErr(err)
}

// Lookup finds the job of fax faxID by its user key (JPARM USRKEY), in
// sendq or doneq; ErrNotFound when HylaFAX has none. Of several (which
// Submit never makes) it returns the first and logs the others.
func (s *Submitter) Lookup(ctx context.Context, faxID string) (string, int, error) {
	var refs []hfaxd.JobRef
	err := s.pool.Do(ctx, func(c *hfaxd.Conn) error {
		var err error
		refs, err = c.JobsByUserKey(ctx, faxID)
		return err
	})
	if err != nil {
		return "", 0, mapErr(err)
	}
	if len(refs) == 0 {
		return "", 0, fmt.Errorf("%w: no HylaFAX job of fax %s", gofaxlib.ErrNotFound, faxID)
	}
	if len(refs) > 1 {
		s.log.Error("submit: several HylaFAX jobs carry one fax id", "fax_id", faxID, "jobs", refs)
	}
	n, _ := strconv.Atoi(refs[0].ID)
	return s.host, n, nil
}

// mapErr makes hfaxd's errors the domain's: hfaxd or faxq unreachable is
// ErrUnavailable (503 for the API's caller); the rest stays as it is (a
// refused login or parameter is the operator's to fix: 500, logged).
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, hfaxd.ErrUnavailable), errors.Is(err, hfaxd.ErrOutcomeUnknown), errors.Is(err, hfaxd.ErrClosed):
		return fmt.Errorf("%w: %w", gofaxlib.ErrUnavailable, err)
	}
	var re *hfaxd.ReplyError
	if errors.As(err, &re) && re.Temporary() {
		return fmt.Errorf("%w: %w", gofaxlib.ErrUnavailable, err)
	}
	return err
}
