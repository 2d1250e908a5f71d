package tenancy

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/receive"
	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/journal"
)

// Bounds of the ingest loop.
const (
	// ackBatch is how many ingested records are acknowledged in one
	// journal write.
	ackBatch = 64
	// ingestSettle lets records that come in a burst (a busy minute's
	// receptions) gather into one pass: fewer passes, one sync of the
	// archive's directories for many documents.
	ingestSettle = 50 * time.Millisecond
	// maxPrepared bounds the records prepared (documents archived, rows
	// built) ahead of the database while it is down; the rest wait.
	maxPrepared = 20000
	// ingestRetry is how often the loop looks again without news (a
	// record it could not prepare, e.g. a document not readable yet).
	ingestRetry = time.Minute
)

// prepared is a record made ready for the database: its document is
// archived, its rows are built; write stores them (once, by record id).
// dir, if set, is the archive directory of its document, to be synced
// before the rows are written.
type prepared struct {
	write func(ctx context.Context) error
	dir   string
}

// ingestLoop writes the records pending for Consumer into PostgreSQL,
// oldest first, each in one transaction, idempotently by record id, and
// acknowledges them after the commit. While the database cannot be
// reached it retries with backoff; documents are archived meanwhile.
func (s *Service) ingestLoop(ctx context.Context) {
	if !s.schemaReady(ctx) {
		return
	}
	notify := s.j.Notify(Consumer)
	var wait time.Duration
	for {
		err := s.ingestPending(ctx)
		if ctx.Err() != nil {
			return
		}
		var t *time.Timer
		if err != nil {
			wait = backoff(wait)
			t = time.NewTimer(wait)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
		} else {
			wait = 0
			t = time.NewTimer(ingestRetry)
			select {
			case <-ctx.Done():
			case <-notify:
				sleep(ctx, ingestSettle)
			case <-t.C:
			}
		}
		t.Stop()
		if ctx.Err() != nil {
			return
		}
	}
}

// ingestPending prepares and writes the pending records; it returns the
// error that stopped it while the database cannot be reached.
func (s *Service) ingestPending(ctx context.Context) error {
	recs := s.j.Pending(Consumer)
	live := make(map[string]bool, len(recs))
	dirs := map[string]bool{}
	for i, rec := range recs {
		live[rec.ID] = true
		if s.prepared[rec.ID] == nil && i < maxPrepared {
			p := s.prepare(rec)
			s.prepared[rec.ID] = p
			if p.dir != "" {
				dirs[p.dir] = true
			}
		}
	}
	for id := range s.prepared {
		if !live[id] {
			delete(s.prepared, id)
		}
	}
	// The new archive entries are durable before a row names them: one
	// sync a directory for the whole pass.
	for dir := range dirs {
		if err := syncDir(dir); err != nil {
			s.log.Error("archive directory not synced", "dir", dir, "err", err)
		}
	}
	var done []string
	flush := func() {
		if len(done) == 0 {
			return
		}
		if err := s.j.Ack(Consumer, done...); err != nil {
			s.log.Error("ingested records not acknowledged: they are ingested again (no change) later", "err", err)
		}
		done = done[:0]
	}
	defer flush()
	for _, rec := range recs {
		p := s.prepared[rec.ID]
		if p == nil {
			break // beyond maxPrepared: the next pass
		}
		var err error
		if rec.Kind == receive.KindRecvStart && live[rec.ID+receive.DoneSuffix] {
			// Its reception is recorded already: the recv.done that
			// follows writes the fax; no receiving state in between.
		} else {
			err = p.write(ctx)
		}
		if ctx.Err() != nil {
			return nil
		}
		if err != nil && transient(err) {
			s.dbFailed(err)
			return err
		}
		s.dbOK()
		if err != nil {
			s.log.Error("journal record not ingested: the database refuses it", "record", rec.ID, "kind", rec.Kind, "err", err)
		}
		delete(s.prepared, rec.ID)
		done = append(done, rec.ID)
		if len(done) >= ackBatch {
			flush()
		}
	}
	return nil
}

// prepare turns a record into its database write; a record that cannot
// be used gets a write that logs why and ingests nothing.
func (s *Service) prepare(rec journal.Record) *prepared {
	var write func(context.Context) error
	var err error
	p := &prepared{}
	switch rec.Kind {
	case receive.KindRecvStart:
		write, err = s.prepareRecvStart(rec)
	case receive.KindRecvDone:
		write, p.dir, err = s.prepareRecvDone(rec)
	case gofaxlib.RecordSendAttempt:
		write, err = s.prepareAttempt(rec)
	case gofaxlib.RecordJobNotice:
		write, err = s.prepareNotice(rec)
	case KindJob:
		write, err = s.prepareJob(rec)
	default:
		err = fmt.Errorf("%w: kind %s", journal.ErrRecord, rec.Kind)
	}
	if err != nil {
		write = func(context.Context) error { return err }
	}
	p.write = write
	return p
}

func nop(context.Context) error { return nil }

// prepareRecvStart: a reception started; its fax is receiving.
func (s *Service) prepareRecvStart(rec journal.Record) (func(context.Context) error, error) {
	var r receive.Reception
	if err := rec.Decode(&r); err != nil {
		return nil, err
	}
	if r.FaxID == "" {
		return nop, nil // received before tenants were on
	}
	f := s.receptionFax(r)
	f.Status = gofaxlib.StatusReceiving
	return func(ctx context.Context) error {
		return s.withoutGone(&f, func(f *gofaxlib.Fax) error {
			ok, err := s.store.RecordFax(ctx, rec.ID, f)
			s.recorded(ok)
			return err
		})
	}, nil
}

// prepareRecvDone: a reception is recorded; its document is archived,
// the fax and its call written.
func (s *Service) prepareRecvDone(rec journal.Record) (write func(context.Context) error, dir string, err error) {
	var r receive.Received
	if err := rec.Decode(&r); err != nil {
		return nil, "", err
	}
	if r.FaxID == "" {
		return nop, "", nil
	}
	f := s.receptionFax(r.Reception)
	f.Status = gofaxlib.StatusReceived
	if r.Pages == 0 {
		f.Status = gofaxlib.StatusFailed
	}
	f.PagesTotal, f.PagesTransferred = max(r.TotalPages, r.Pages), r.Pages
	f.ResultCode, f.ResultText = r.ResultCode, r.ResultText
	if r.Reason != "" {
		f.ResultText = r.Reason
	}
	f.HangupCause, f.RemoteStationID, f.Completed = r.HangupCause, r.RemoteID, r.End
	if r.Faxrcvd && r.File != "" {
		doc, err := s.archiveFile(r.FaxID, filepath.Join(s.cfg.Spool, r.File), ".tif", false)
		if err != nil {
			s.log.Error("received fax not archived", "fax_id", r.FaxID, "file", r.File, "err", err)
		} else {
			f.DocumentPath, f.DocumentSize, f.DocumentSHA256 = doc.Path, doc.Size, doc.SHA256
			dir = filepath.Dir(doc.Path)
		}
	}
	ended := r.Hangup
	if ended.IsZero() {
		ended = r.End
	}
	a := gofaxlib.Attempt{Host: s.cfg.Host, Modem: r.Modem, CallUUID: r.UUID, Gateway: r.Gateway, Number: r.CalledNumber,
		Started: r.Start, Answered: r.Answered, Ended: ended, HangupCause: r.HangupCause, ResultCode: r.ResultCode,
		ResultText: r.ResultText, Success: r.Class == receive.ClassReceived, PagesTotal: r.TotalPages,
		PagesTransferred: r.Pages, SignalRate: r.TransferRate, ECM: r.ECM, T38Status: r.T38, RemoteStationID: r.RemoteID}
	return func(ctx context.Context) error {
		return s.withoutGone(&f, func(f *gofaxlib.Fax) error {
			a := a
			ok, err := s.store.RecordCall(ctx, rec.ID, f, &a)
			s.recorded(ok)
			return err
		})
	}, dir, nil
}

// receptionFax is the fax of a reception as its start knows it.
func (s *Service) receptionFax(r receive.Reception) gofaxlib.Fax {
	return gofaxlib.Fax{ID: r.FaxID, TenantID: r.TenantID, Direction: gofaxlib.Inbound, From: s.number(r.CallerNumber),
		To: r.CalledNumber, CallerIDName: r.CallerName, Host: s.cfg.Host, CommID: r.CommID, RecvqFile: r.File, Created: r.Start}
}

// prepareAttempt: gofaxsend made a call for a job.
func (s *Service) prepareAttempt(rec journal.Record) (func(context.Context) error, error) {
	var sa gofaxlib.SendAttempt
	if err := rec.Decode(&sa); err != nil {
		return nil, err
	}
	if !uuidRe.MatchString(sa.Job.FaxID) {
		return nil, fmt.Errorf("%w: fax id %q", journal.ErrRecord, sa.Job.FaxID)
	}
	f := s.jobFax(sa.Job)
	f.Status = gofaxlib.StatusSending
	a := sa.Attempt
	a.Host = s.cfg.Host
	f.ResultCode, f.ResultText, f.HangupCause, f.RemoteStationID = a.ResultCode, a.ResultText, a.HangupCause, a.RemoteStationID
	s.pokeJob(sa.Job.JobID) // its document is prepared now
	return func(ctx context.Context) error {
		return s.foreignJob(rec, sa.Job, s.withoutGone(&f, func(f *gofaxlib.Fax) error {
			a := a
			ok, err := s.store.RecordCall(ctx, rec.ID, f, &a)
			s.recorded(ok)
			return err
		}))
	}, nil
}

// prepareNotice: faxq decided about a job (its NotifyCmd).
func (s *Service) prepareNotice(rec journal.Record) (func(context.Context) error, error) {
	var n gofaxlib.JobNotice
	if err := rec.Decode(&n); err != nil {
		return nil, err
	}
	st, ok := gofaxlib.StatusFromNotify(n.Why)
	if !ok {
		return nil, fmt.Errorf("%w: notice reason %q", journal.ErrRecord, n.Why)
	}
	if !uuidRe.MatchString(n.Job.FaxID) {
		return nil, fmt.Errorf("%w: fax id %q", journal.ErrRecord, n.Job.FaxID)
	}
	f := s.jobFax(n.Job)
	f.Status, f.PagesTransferred = st, n.PagesTransferred
	if st.Terminal() {
		f.Completed = n.Time
		if st != gofaxlib.StatusDelivered {
			f.ResultText = n.Status
		}
	}
	return func(ctx context.Context) error {
		return s.foreignJob(rec, n.Job, s.withoutGone(&f, func(f *gofaxlib.Fax) error {
			ok, err := s.store.RecordFax(ctx, rec.ID, f)
			s.recorded(ok)
			return err
		}))
	}, nil
}

// prepareJob: gofaxd found a job in sendq or doneq.
func (s *Service) prepareJob(rec journal.Record) (func(context.Context) error, error) {
	var js JobSeen
	if err := rec.Decode(&js); err != nil {
		return nil, err
	}
	if !uuidRe.MatchString(js.Job.FaxID) || !js.Status.ValidFor(gofaxlib.Outbound) {
		return nil, fmt.Errorf("%w: fax id %q, status %q", journal.ErrRecord, js.Job.FaxID, js.Status)
	}
	if js.Status == gofaxlib.StatusSending {
		if js.Attempt < 1 {
			return nil, fmt.Errorf("%w: sending without attempt", journal.ErrRecord)
		}
		return func(ctx context.Context) error {
			_, err := s.store.RecordSending(ctx, rec.ID, js.Job.FaxID, js.Job.Owner, js.Attempt)
			return s.foreignJob(rec, js.Job, err)
		}, nil
	}
	f := s.jobFax(js.Job)
	f.Status = js.Status
	if d := js.Document; d != nil {
		f.DocumentPath, f.DocumentSize, f.DocumentSHA256 = d.Path, d.Size, d.SHA256
	}
	terminal := js.Status.Terminal()
	if terminal {
		f.Completed, f.ResultText, f.PagesTransferred = js.Done, js.Reason, js.PagesSent
	}
	return func(ctx context.Context) error {
		return s.foreignJob(rec, js.Job, s.withoutGone(&f, func(f *gofaxlib.Fax) error {
			var err error
			if terminal {
				var ok bool
				ok, err = s.store.RecordFax(ctx, rec.ID, f)
				s.recorded(ok)
			} else {
				_, err = s.store.RecordJob(ctx, rec.ID, f)
			}
			return err
		}))
	}, nil
}

// foreignJob returns err, or nil after logging and counting it when it
// is gofaxlib.ErrForeignJob: the job's user key names a fax of another
// owner (set with sendfax or any hfaxd client by a user who is not the
// fax's); the record is ignored.
func (s *Service) foreignJob(rec journal.Record, job gofaxlib.JobRef, err error) error {
	if !errors.Is(err, gofaxlib.ErrForeignJob) {
		return err
	}
	s.foreign.Add(1)
	s.log.Warn("job record ignored: the fax its user key names has another owner", "record", rec.ID, "kind", rec.Kind,
		"job_id", job.JobID, "fax_id", job.FaxID, "owner", job.Owner, "err", err)
	return nil
}

// jobFax is the fax of a send job: the JobRef's tenant, else the one of
// the owner in the routing; the owner's user id when the user belongs to
// that tenant; this host.
func (s *Service) jobFax(ref gofaxlib.JobRef) gofaxlib.Fax {
	f := gofaxlib.Fax{ID: ref.FaxID, TenantID: ref.TenantID, Direction: gofaxlib.Outbound, From: ref.From, To: ref.To,
		Owner: ref.Owner, JobID: ref.JobID, PagesTotal: ref.PagesTotal, Host: s.cfg.Host}
	if r := s.routing.Load(); r != nil && ref.Owner != "" {
		if u, t, ok := r.User(ref.Owner); ok && (f.TenantID == "" || f.TenantID == t.ID) {
			f.TenantID, f.UserID = t.ID, u.ID
		}
	}
	return f
}

// withoutGone runs write, and once more without the user or tenant when
// the database no longer has them (deleted since the routing was read):
// the fax is kept, visible to the operator.
func (s *Service) withoutGone(f *gofaxlib.Fax, write func(*gofaxlib.Fax) error) error {
	err := write(f)
	var fe *gofaxlib.FieldError
	if err == nil || !errors.As(err, &fe) {
		return err
	}
	switch {
	case fe.Field == "user_id" && f.UserID != "":
		s.log.Warn("fax recorded without its user: the user is gone", "fax_id", f.ID, "user_id", f.UserID)
		f.UserID = ""
	case fe.Field == "tenant_id" && f.TenantID != "":
		s.log.Warn("fax recorded without its tenant: the tenant is gone", "fax_id", f.ID, "tenant_id", f.TenantID)
		f.TenantID, f.UserID = "", ""
	default:
		return err
	}
	return s.withoutGone(f, write)
}
