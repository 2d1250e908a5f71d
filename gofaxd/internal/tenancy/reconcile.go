package tenancy

import (
	"context"
	"fmt"
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
			switch s.findJob(f.ID, f.JobID) {
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

// findJob returns the queue (sendq, doneq) where job id of fax faxID is,
// "" when it is in neither (or the job id names another job there: a
// spool set up anew).
func (s *Service) findJob(faxID string, id int) string {
	name := "q" + strconv.Itoa(id)
	// sendq again after doneq: faxq may move it between the two looks.
	for _, q := range []string{sendq, doneq, sendq} {
		qf, _, err := readQfile(filepath.Join(s.cfg.Spool, q, name))
		if err == nil && qf.Int("jobid") == id && s.jobRef(qf, id).FaxID == faxID {
			return q
		}
	}
	return ""
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
