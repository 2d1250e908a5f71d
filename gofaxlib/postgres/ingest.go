package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// What gofaxd writes for its own host: calls and jobs reported by spool
// journal records, and the upkeep of archived documents. These are not
// tenant queries: gofaxd acts for every tenant of its host.

// RecordCall writes a fax and one of its calls, as one spool journal
// record reports them (a reception, or one attempt of a send job), in
// one transaction and once: a record already ingested changes nothing
// and RecordCall returns false. The fax is written as RecordFax writes
// it (with its receipt event), the attempt (a.FaxID is set to f.ID) as
// RecordAttempt adds it.
func (s *Store) RecordCall(ctx context.Context, recordID string, f *gofaxlib.Fax, a *gofaxlib.Attempt) (bool, error) {
	const op = "record call"
	if f.ID == "" {
		return false, mapErr(op, &gofaxlib.FieldError{Field: "id", Err: errors.New("required")})
	}
	args, err := s.faxArgs(f)
	if err != nil {
		return false, mapErr(op, err)
	}
	a.FaxID = f.ID
	if err := s.checkAttempt(a); err != nil {
		return false, mapErr(op, err)
	}
	applied := false
	err = s.inTx(ctx, op, func(tx *sql.Tx) error {
		if ok, err := s.ingest(ctx, tx, recordID, "call"); err != nil || !ok {
			return err
		}
		if err := checkOwner(ctx, tx, f.ID, f.Owner); err != nil {
			return err
		}
		before, err := faxStatus(ctx, tx, f.ID)
		if err != nil {
			return err
		}
		if err := upsertFax(ctx, tx, recordID, f, args); err != nil {
			return err
		}
		if err := insertAttempt(ctx, tx, recordID, a); err != nil {
			return err
		}
		// After the attempt, so that the event's payload holds it.
		if err := s.addEvent(ctx, tx, recordID, before, f); err != nil {
			return err
		}
		applied = true
		return nil
	})
	return applied, err
}

// RecordJob writes what gofaxd found out about a HylaFAX send job in its
// queue (a job submitted with sendfax or another hfaxd client, or through
// the REST API), once per record: the fax is inserted as f says when it
// does not exist yet; an existing one (the API's, or one an earlier
// record wrote) keeps its status and gets only what it lacks: job id,
// owner, user, numbers, page count, archived document. A fax of another
// tenant, direction or host is ErrConflict, one of another owner
// gofaxlib.ErrForeignJob. created reports an insert.
func (s *Store) RecordJob(ctx context.Context, recordID string, f *gofaxlib.Fax) (created bool, err error) {
	const op = "record job"
	if f.ID == "" {
		return false, mapErr(op, &gofaxlib.FieldError{Field: "id", Err: errors.New("required")})
	}
	if f.Direction != gofaxlib.Outbound {
		return false, mapErr(op, &gofaxlib.FieldError{Field: "direction", Err: errors.New("a job is outbound")})
	}
	args, err := s.faxArgs(f)
	if err != nil {
		return false, mapErr(op, err)
	}
	err = s.inTx(ctx, op, func(tx *sql.Tx) error {
		if ok, err := s.ingest(ctx, tx, recordID, "job"); err != nil || !ok {
			return err
		}
		if err := checkOwner(ctx, tx, f.ID, f.Owner); err != nil {
			return err
		}
		row := tx.QueryRowContext(ctx, faxInsert+` ON CONFLICT (id) DO UPDATE SET
			job_id = coalesce(f.job_id, EXCLUDED.job_id),
			owner = CASE WHEN f.owner = '' THEN EXCLUDED.owner ELSE f.owner END,
			user_id = coalesce(f.user_id, EXCLUDED.user_id),
			from_number = CASE WHEN f.from_number = '' THEN EXCLUDED.from_number ELSE f.from_number END,
			to_number = CASE WHEN f.to_number = '' THEN EXCLUDED.to_number ELSE f.to_number END,
			pages_total = CASE WHEN f.pages_total = 0 THEN EXCLUDED.pages_total ELSE f.pages_total END,
			document_path = CASE WHEN f.document_path = '' THEN EXCLUDED.document_path ELSE f.document_path END,
			document_size = CASE WHEN f.document_path = '' THEN EXCLUDED.document_size ELSE f.document_size END,
			document_sha256 = CASE WHEN f.document_path = '' THEN EXCLUDED.document_sha256 ELSE f.document_sha256 END
			WHERE f.tenant_id IS NOT DISTINCT FROM EXCLUDED.tenant_id AND f.direction = EXCLUDED.direction AND f.host = EXCLUDED.host
			RETURNING `+faxCols+`, (xmax = 0)`, args...)
		var nf gofaxlib.Fax
		err := row.Scan(&nf.ID, &nf.TenantID, &nf.Direction, &nf.Status, &nf.From, &nf.To, &nf.CallerIDName, &nf.UserID,
			&nf.Owner, &nf.PagesTotal, &nf.PagesTransferred, &nf.ResultCode, &nf.ResultText, &nf.HangupCause,
			&nf.RemoteStationID, &nf.Host, &nf.JobID, &nf.CommID, &nf.RecvqFile, &nf.DocumentPath, &nf.DocumentSize,
			&nf.DocumentSHA256, &nf.IdempotencyKey, &nf.Created, &nf.Updated, &nf.Completed, &created)
		if err == sql.ErrNoRows {
			return fmt.Errorf("%w: record %s does not match fax %s (tenant, direction or host differ)", gofaxlib.ErrConflict, recordID, f.ID)
		}
		if err != nil {
			return noTenant(err, "faxes_tenant_fkey")
		}
		nf.Completed = zeroEpoch(nf.Completed)
		*f = nf
		return nil
	})
	return created, err
}

// RecordSending records, once per record, that attempt n (1 = the first
// call) of a send job of this host has started: the fax becomes sending
// unless it is final or already has n attempts recorded (a start reported
// after its call's own record, or after faxq requeued the job, changes
// nothing). A fax that does not exist yet is left alone: the queue
// watcher records the job first. A fax of another owner than the job's
// is gofaxlib.ErrForeignJob. applied reports a change.
func (s *Store) RecordSending(ctx context.Context, recordID, id, owner string, n int) (applied bool, err error) {
	const op = "record sending"
	if !validID(id) {
		return false, mapErr(op, &gofaxlib.FieldError{Field: "id", Err: errors.New("not a UUID")})
	}
	if n < 1 {
		return false, mapErr(op, &gofaxlib.FieldError{Field: "attempt", Err: errors.New("at least 1")})
	}
	err = s.inTx(ctx, op, func(tx *sql.Tx) error {
		if ok, err := s.ingest(ctx, tx, recordID, "sending"); err != nil || !ok {
			return err
		}
		if err := checkOwner(ctx, tx, id, owner); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE faxes f SET status = 'sending'
			WHERE f.id = $1 AND f.host = $2 AND f.direction = 'outbound' AND f.completed_at IS NULL
			AND f.status IN ('queued', 'retrying')
			AND (SELECT count(*) FROM fax_attempts a WHERE a.fax_id = f.id) < $3`, id, s.host, n)
		if err != nil {
			return err
		}
		rows, err := res.RowsAffected()
		applied = rows > 0
		return err
	})
	return applied, err
}

// ExpiredDocuments returns up to limit faxes of host whose archived
// document is older than their tenant's retention (tenants.retention_days,
// counted from the fax's completion, else its creation). Faxes without a
// tenant, and tenants with retention 0, keep their documents.
func (s *Store) ExpiredDocuments(ctx context.Context, host string, limit int) ([]gofaxlib.Fax, error) {
	const op = "list expired documents"
	rows, err := s.db.QueryContext(ctx, `SELECT `+faxCols+` FROM faxes f JOIN tenants t ON t.id = f.tenant_id
		WHERE f.host = $1 AND f.document_path <> '' AND t.retention_days > 0
		AND coalesce(f.completed_at, f.created_at) < now() - make_interval(days => t.retention_days)
		ORDER BY coalesce(f.completed_at, f.created_at), f.id LIMIT $2`, host, limit)
	if err != nil {
		return nil, mapErr(op, err)
	}
	list, err := collect(rows, scanFax)
	return list, mapErr(op, err)
}

// ClearDocument forgets the archived document of fax id once its file
// at path is removed (the fax row stays). A fax whose document is not
// path any more is left alone (ErrNotFound).
func (s *Store) ClearDocument(ctx context.Context, id, path string) error {
	const op = "clear document"
	if !validID(id) {
		return notFound(op)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE faxes SET document_path = '', document_size = 0, document_sha256 = NULL
		WHERE id = $1 AND document_path = $2 AND document_path <> ''`, id, path)
	return mapErr(op, affected(res, err))
}
