package tenancy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/receive"
	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// reconcileBatch bounds the unfinished faxes one pass looks at.
const reconcileBatch = 1000

// receptionGrace is how long past MaxCallTime a fax may stay receiving
// before it counts as not recorded: the Recovery of a lost call waits for
// FreeSWITCH, a restart takes its time.
const receptionGrace = 15 * time.Minute

// maintainLoop reconciles this host's unfinished faxes with HylaFAX's
// queues once the records waiting in the journal are ingested, at start
// and every Refresh, and purges archived documents past their tenant's
// retention every purgeEvery.
func (s *Service) maintainLoop(ctx context.Context) {
	if !s.schemaReady(ctx) {
		return
	}
	suspects := map[string]bool{}
	reconcile := time.NewTimer(0)
	defer reconcile.Stop()
	purge := time.NewTimer(purgeFirst)
	defer purge.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-reconcile.C:
			next := s.cfg.Refresh
			if err := s.reconcile(ctx, suspects); err != nil && ctx.Err() == nil {
				s.log.Debug("reconciliation postponed", "err", err)
				next = min(next, backoffMax)
			}
			reconcile.Reset(next)
		case <-purge.C:
			s.purgeNow(ctx)
			purge.Reset(purgeEvery)
		}
	}
}

// reconcile looks at this host's faxes that are not final: a send job
// that is in neither sendq nor doneq at two passes in a row failed
// without anybody telling (its rows would wait forever), one in doneq is
// finished by the queue watcher; a reception still receiving long after
// the longest call, with no reception record waiting, was not recorded.
// It runs only when no record waits for the database, so that what the
// journal knows comes first.
func (s *Service) reconcile(ctx context.Context, suspects map[string]bool) error {
	if n := len(s.j.Pending(Consumer)); n > 0 {
		return fmt.Errorf("%d records wait for the database", n)
	}
	list, err := s.store.UnfinishedFaxes(ctx, s.cfg.Host, reconcileBatch)
	if err != nil {
		return err
	}
	receiving := map[string]bool{}
	for _, rec := range s.j.Pending(receive.ConsumerRecv) {
		var r receive.Reception
		if rec.Decode(&r) == nil && r.FaxID != "" {
			receiving[r.FaxID] = true
		}
	}
	seen := map[string]bool{}
	for _, f := range list {
		seen[f.ID] = true
		switch {
		case f.Direction == gofaxlib.Outbound && f.JobID > 0:
			q, err := s.findJob(f.ID, f.JobID)
			if err != nil {
				// Unknown is not missing: the qfile is looked at again
				// next time, the suspicion (if any) stays as it is.
				s.log.Warn("HylaFAX job not reconciled: its qfile cannot be read", "fax_id", f.ID, "job_id", f.JobID, "err", err)
				continue
			}
			switch q {
			case sendq:
				delete(suspects, f.ID)
			case doneq:
				delete(suspects, f.ID)
				s.pokeJob(f.JobID)
			default:
				if !suspects[f.ID] {
					suspects[f.ID] = true
					continue
				}
				delete(suspects, f.ID)
				s.finish(ctx, f, gofaxlib.StatusFailed, fmt.Sprintf("HylaFAX job %d left the queues without a notice", f.JobID))
			}
		case f.Direction == gofaxlib.Inbound && !receiving[f.ID] &&
			time.Since(f.Created) > s.cfg.MaxCallTime+receptionGrace:
			s.finish(ctx, f, gofaxlib.StatusFailed, "reception not recorded (gofaxd lost its record)")
		}
	}
	for id := range suspects {
		if !seen[id] {
			delete(suspects, id)
		}
	}
	return nil
}

// errTornQfile is a qfile read while faxq rewrote it in place: it has
// no job id (yet).
var errTornQfile = errors.New("tenancy: qfile without a job id (read while being written)")

// findJob returns the queue (sendq, doneq) where job id of fax faxID is,
// "" when it is in neither (or the job id names another job there: a
// spool set up anew). Only a qfile that does not exist counts as not
// there: any other error reading it (permissions, I/O, a qfile read
// while being rewritten) is returned, and the job is looked for again at
// the next pass.
func (s *Service) findJob(faxID string, id int) (string, error) {
	name := "q" + strconv.Itoa(id)
	var errs []error
	// sendq again after doneq: faxq may move it between the two looks.
	for _, q := range []string{sendq, doneq, sendq} {
		qf, _, err := readQfile(filepath.Join(s.cfg.Spool, q, name))
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			errs = append(errs, err)
		case qf.Int("jobid") == 0:
			errs = append(errs, fmt.Errorf("%w: %s", errTornQfile, filepath.Join(q, name)))
		case qf.Int("jobid") == id && s.jobRef(qf, id).FaxID == faxID:
			return q, nil
		}
	}
	return "", errors.Join(errs...)
}

// finish makes an unfinished fax final with status and reason.
func (s *Service) finish(ctx context.Context, f gofaxlib.Fax, st gofaxlib.FaxStatus, reason string) {
	nf := gofaxlib.Fax{ID: f.ID, TenantID: f.TenantID, Direction: f.Direction, Host: f.Host, Status: st,
		ResultText: reason, Completed: time.Now()}
	ok, err := s.store.RecordFax(ctx, "reconcile."+f.ID, &nf)
	s.recorded(ok)
	if err != nil {
		s.log.Warn("unfinished fax not reconciled", "fax_id", f.ID, "err", err)
		return
	}
	s.log.Warn("unfinished fax made final", "fax_id", f.ID, "direction", f.Direction, "job_id", f.JobID, "status", st, "reason", reason)
}
