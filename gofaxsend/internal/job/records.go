package job

import (
	"context"
	"errors"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/call"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/record"
)

// recordWait bounds writing one record to the spool journal (an fsync of
// the segment and, for the first record, of the directory).
const recordWait = 10 * time.Second

// jobRef describes the job for the records gofaxd files in the tenant
// database.
func (a *attempt) jobRef(set settings) (gofaxlib.JobRef, error) {
	q := a.q
	ref := gofaxlib.JobRef{
		Host:       a.b.host,
		JobID:      record.JobID(a.jobid),
		Owner:      q.String("owner"),
		To:         set.to,
		PagesTotal: q.Int("totpages"),
	}
	if set.sender != nil {
		ref.TenantID, ref.From = set.sender.tenant.ID, set.sender.number.Number
	} else {
		ref.From = record.E164OrRaw(a.b.Config.NumberPlan(), set.cidNum)
	}
	id, err := a.b.rec.FaxID(q.String("jobtag"), ref.JobID)
	ref.FaxID = id
	return ref, err
}

// recordAttempt appends a send.attempt record for the call along rt that
// started at started, with [database] configured. A call that could not
// be placed at all (no dial string) is not an attempt. Trouble is logged:
// the job goes on as it would without a database.
func (a *attempt) recordAttempt(ctx context.Context, set settings, rt route, started time.Time, rep *call.Report, callErr error) {
	if a.b.rec == nil || errors.Is(callErr, errDial) {
		return
	}
	err := func() error {
		ref, err := a.jobRef(set)
		if err != nil {
			return err
		}
		at := gofaxlib.Attempt{
			FaxID:    ref.FaxID,
			Host:     a.b.host,
			Modem:    a.b.Modem,
			CallUUID: rep.UUID,
			Gateway:  rt.gateway,
			Number:   rt.number,
			Started:  started,
		}
		at.SetResult(&rep.Result)
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordWait)
		defer cancel()
		rec, err := a.b.rec.Append(rctx, gofaxlib.RecordSendAttempt, gofaxlib.SendAttempt{Job: ref, Attempt: at})
		if err == nil {
			a.log.Debug("attempt recorded", "record_id", rec.ID, "fax_id", ref.FaxID)
		}
		return err
	}()
	if err != nil {
		a.log.Error("attempt not recorded in the spool journal", "err", err)
		a.sess.Printf("Attempt not recorded for the tenant database: %v", err)
	}
}
