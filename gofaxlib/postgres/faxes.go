package postgres

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// Queries of tables faxes, fax_attempts and ingested_records.

const faxCols = `f.id, coalesce(f.tenant_id::text, ''), f.direction, f.status, f.from_number, f.to_number, f.caller_id_name,
	coalesce(f.user_id::text, ''), f.owner, f.pages_total, f.pages_transferred, f.result_code, f.result_text, f.hangup_cause,
	f.remote_station_id, f.host, coalesce(f.job_id, 0), f.commid, f.recvq_file, f.document_path, f.document_size,
	coalesce(encode(f.document_sha256, 'hex'), ''), coalesce(f.idempotency_key, ''), f.created_at, f.updated_at,
	coalesce(f.completed_at, 'epoch')`

func scanFax(r scanner) (gofaxlib.Fax, error) {
	var f gofaxlib.Fax
	err := r.Scan(&f.ID, &f.TenantID, &f.Direction, &f.Status, &f.From, &f.To, &f.CallerIDName, &f.UserID, &f.Owner,
		&f.PagesTotal, &f.PagesTransferred, &f.ResultCode, &f.ResultText, &f.HangupCause, &f.RemoteStationID, &f.Host,
		&f.JobID, &f.CommID, &f.RecvqFile, &f.DocumentPath, &f.DocumentSize, &f.DocumentSHA256, &f.IdempotencyKey,
		&f.Created, &f.Updated, &f.Completed)
	f.Completed = zeroEpoch(f.Completed)
	return f, err
}

// faxArgs checks f and returns the values of the insert columns
// (faxInsert), in order.
func (s *Store) faxArgs(f *gofaxlib.Fax) ([]any, error) {
	if f.ID != "" && !validID(f.ID) {
		return nil, &gofaxlib.FieldError{Field: "id", Err: errors.New("not a UUID")}
	}
	if f.TenantID != "" && !validID(f.TenantID) {
		return nil, &gofaxlib.FieldError{Field: "tenant_id", Err: errNoSuchTenant}
	}
	if f.UserID != "" && !validID(f.UserID) {
		return nil, &gofaxlib.FieldError{Field: "user_id", Err: errNoSuchUser}
	}
	if f.Direction != gofaxlib.Outbound && f.Direction != gofaxlib.Inbound {
		return nil, &gofaxlib.FieldError{Field: "direction", Err: fmt.Errorf("%q: outbound or inbound", f.Direction)}
	}
	if !f.Status.ValidFor(f.Direction) {
		return nil, &gofaxlib.FieldError{Field: "status", Err: fmt.Errorf("%q is not a status of %s faxes", f.Status, f.Direction)}
	}
	if f.PagesTotal < 0 || f.PagesTransferred < 0 || f.JobID < 0 || f.DocumentSize < 0 {
		return nil, &gofaxlib.FieldError{Field: "pages_total", Err: errors.New("counts are not negative")}
	}
	var sum []byte
	if f.DocumentSHA256 != "" {
		b, err := hex.DecodeString(f.DocumentSHA256)
		if err != nil || len(b) != 32 {
			return nil, &gofaxlib.FieldError{Field: "document_sha256", Err: errors.New("not a hex SHA-256")}
		}
		sum = b
	}
	if f.Host == "" {
		f.Host = s.host
	}
	if f.Host == "" {
		return nil, &gofaxlib.FieldError{Field: "host", Err: errors.New("required")}
	}
	var job sql.NullInt64
	if f.JobID > 0 {
		job = sql.NullInt64{Int64: int64(f.JobID), Valid: true}
	}
	return []any{nullString(f.ID), nullString(f.TenantID), f.Direction, f.Status, f.From, f.To, f.CallerIDName,
		nullString(f.UserID), f.Owner, f.PagesTotal, f.PagesTransferred, int(f.ResultCode), f.ResultText, f.HangupCause,
		f.RemoteStationID, f.Host, job, f.CommID, f.RecvqFile, f.DocumentPath, f.DocumentSize, sum,
		nullString(f.IdempotencyKey), nullTime(f.Created), nullTime(f.Completed)}, nil
}

const faxInsert = `INSERT INTO faxes AS f (id, tenant_id, direction, status, from_number, to_number, caller_id_name,
	user_id, owner, pages_total, pages_transferred, result_code, result_text, hangup_cause, remote_station_id, host,
	job_id, commid, recvq_file, document_path, document_size, document_sha256, idempotency_key, created_at, completed_at)
	VALUES (coalesce($1::uuid, gen_random_uuid()), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
	$17, $18, $19, $20, $21, $22, $23, coalesce($24, now()),
	CASE WHEN $4 IN ('delivered', 'failed', 'canceled', 'received') THEN coalesce($25, now()) END)`

// CreateFax inserts f (for the API: a fax about to be submitted, with its
// idempotency key) and fills in its id and times. A key the tenant used
// before is ErrConflict; FaxByIdempotencyKey finds the first fax.
func (s *Store) CreateFax(ctx context.Context, scope gofaxlib.Scope, f *gofaxlib.Fax) error {
	const op = "create fax"
	if f.TenantID != "" && !scope.Allows(f.TenantID) || f.TenantID == "" && !scope.Valid() {
		return mapErr(op, &gofaxlib.FieldError{Field: "tenant_id", Err: errNoSuchTenant})
	}
	if _, limited := scope.Tenant(); limited && f.TenantID == "" {
		return mapErr(op, &gofaxlib.FieldError{Field: "tenant_id", Err: errNoSuchTenant})
	}
	args, err := s.faxArgs(f)
	if err != nil {
		return mapErr(op, err)
	}
	nf, err := scanFax(s.db.QueryRowContext(ctx, faxInsert+" RETURNING "+faxCols, args...))
	if err != nil {
		return mapErr(op, noTenant(err, "faxes_tenant_fkey"))
	}
	*f = nf
	return nil
}

// RecordFax writes what a spool journal record says about a fax, once:
// a record already ingested changes nothing and RecordFax returns false.
// The fax is inserted, or updated where the record knows more: fields the
// record leaves empty (or 0) keep their value; a status once terminal
// stays, with its completion time (faxq decides once); tenant, direction
// and host never change (a record saying otherwise is ErrConflict), nor
// does the owner (a record of another job owner is
// gofaxlib.ErrForeignJob, and changes nothing).
//
// In the same transaction it writes the receipt event the record makes
// (gofaxlib.EventFor) with its deliveries: the fax's terminal event when
// the record ends it, fax.retrying for a record saying retrying (faxq
// requeued the job). The payload holds the attempts recorded before, so a
// journal records a call's attempt before the fax's final state. A caller
// that runs a dispatcher wakes it when RecordFax returns true.
func (s *Store) RecordFax(ctx context.Context, recordID string, f *gofaxlib.Fax) (bool, error) {
	const op = "record fax"
	if f.ID == "" {
		return false, mapErr(op, &gofaxlib.FieldError{Field: "id", Err: errors.New("required")})
	}
	args, err := s.faxArgs(f)
	if err != nil {
		return false, mapErr(op, err)
	}
	applied := false
	err = s.inTx(ctx, op, func(tx *sql.Tx) error {
		if ok, err := s.ingest(ctx, tx, recordID, "fax"); err != nil || !ok {
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
		if err := s.addEvent(ctx, tx, recordID, before, f); err != nil {
			return err
		}
		applied = true
		return nil
	})
	return applied, err
}

// checkOwner locks fax id's row within tx and refuses a record whose job
// owner is not the fax's owner (gofaxlib.ErrForeignJob): a HylaFAX user
// cannot attach a job to another user's fax by giving it that fax's id as
// user key. A fax not recorded yet, a fax without owner and a record
// without owner (what gofaxd itself concludes, e.g. reconciliation) pass.
func checkOwner(ctx context.Context, tx *sql.Tx, id, owner string) error {
	if owner == "" {
		return nil
	}
	var have string
	err := tx.QueryRowContext(ctx, "SELECT owner FROM faxes WHERE id = $1 FOR UPDATE", id).Scan(&have)
	switch {
	case err == sql.ErrNoRows:
		return nil
	case err != nil:
		return err
	case have != "" && have != owner:
		return fmt.Errorf("%w: fax %s is %q's, the job %q's", gofaxlib.ErrForeignJob, id, have, owner)
	}
	return nil
}

// upsertFax is RecordFax's write within tx: args are f's faxArgs.
func upsertFax(ctx context.Context, tx *sql.Tx, recordID string, f *gofaxlib.Fax, args []any) error {
	nf, err := scanFax(tx.QueryRowContext(ctx, faxInsert+` ON CONFLICT (id) DO UPDATE SET
		status = CASE WHEN f.completed_at IS NOT NULL THEN f.status ELSE EXCLUDED.status END,
		completed_at = coalesce(f.completed_at, EXCLUDED.completed_at),
		from_number = coalesce(nullif(EXCLUDED.from_number, ''), f.from_number),
		to_number = coalesce(nullif(EXCLUDED.to_number, ''), f.to_number),
		caller_id_name = coalesce(nullif(EXCLUDED.caller_id_name, ''), f.caller_id_name),
		user_id = coalesce(EXCLUDED.user_id, f.user_id),
		owner = coalesce(nullif(EXCLUDED.owner, ''), f.owner),
		pages_total = CASE WHEN EXCLUDED.pages_total > 0 THEN EXCLUDED.pages_total ELSE f.pages_total END,
		pages_transferred = CASE WHEN EXCLUDED.pages_transferred > 0 THEN EXCLUDED.pages_transferred ELSE f.pages_transferred END,
		result_code = CASE WHEN EXCLUDED.result_text <> '' THEN EXCLUDED.result_code ELSE f.result_code END,
		result_text = coalesce(nullif(EXCLUDED.result_text, ''), f.result_text),
		hangup_cause = coalesce(nullif(EXCLUDED.hangup_cause, ''), f.hangup_cause),
		remote_station_id = coalesce(nullif(EXCLUDED.remote_station_id, ''), f.remote_station_id),
		job_id = coalesce(EXCLUDED.job_id, f.job_id),
		commid = coalesce(nullif(EXCLUDED.commid, ''), f.commid),
		recvq_file = coalesce(nullif(EXCLUDED.recvq_file, ''), f.recvq_file),
		document_path = coalesce(nullif(EXCLUDED.document_path, ''), f.document_path),
		document_size = CASE WHEN EXCLUDED.document_path <> '' THEN EXCLUDED.document_size ELSE f.document_size END,
		document_sha256 = coalesce(EXCLUDED.document_sha256, f.document_sha256)
		WHERE f.tenant_id IS NOT DISTINCT FROM EXCLUDED.tenant_id AND f.direction = EXCLUDED.direction AND f.host = EXCLUDED.host
		RETURNING `+faxCols, args...))
	if err == sql.ErrNoRows {
		return fmt.Errorf("%w: record %s does not match fax %s (tenant, direction or host differ)", gofaxlib.ErrConflict, recordID, f.ID)
	}
	if err != nil {
		return noTenant(err, "faxes_tenant_fkey")
	}
	*f = nf
	return nil
}

// ingest marks recordID as ingested within tx; false when it was already.
func (s *Store) ingest(ctx context.Context, tx *sql.Tx, recordID, kind string) (bool, error) {
	if recordID == "" || len(recordID) > 200 {
		return false, &gofaxlib.FieldError{Field: "record_id", Err: errors.New("1 to 200 bytes")}
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO ingested_records (record_id, host, kind) VALUES ($1, $2, $3)
		ON CONFLICT (record_id) DO NOTHING`, recordID, s.host, kind)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SetFaxJob records the HylaFAX job a submitted fax became on host.
func (s *Store) SetFaxJob(ctx context.Context, scope gofaxlib.Scope, id, host string, jobID int) error {
	const op = "set fax job"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return err
	}
	if !validID(id) {
		return notFound(op)
	}
	if jobID <= 0 || host == "" {
		return mapErr(op, &gofaxlib.FieldError{Field: "job_id", Err: errors.New("a HylaFAX job id and host")})
	}
	res, err := s.db.ExecContext(ctx, `UPDATE faxes SET host = $2, job_id = $3
		WHERE id = $1 AND direction = 'outbound' AND ($4::uuid IS NULL OR tenant_id = $4)`, id, host, jobID, sa)
	return mapErr(op, affected(res, err))
}

// AbandonFax deletes a fax the API created but could not submit: an
// outbound fax still queued without a HylaFAX job, so its idempotency key
// is free for a retry. A fax with a job (or any other) is ErrNotFound.
func (s *Store) AbandonFax(ctx context.Context, scope gofaxlib.Scope, id string) error {
	const op = "abandon fax"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return err
	}
	if !validID(id) {
		return notFound(op)
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM faxes WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2)
		AND direction = 'outbound' AND status = 'queued' AND job_id IS NULL
		AND NOT EXISTS (SELECT 1 FROM fax_attempts a WHERE a.fax_id = faxes.id)`, id, sa)
	return mapErr(op, affected(res, err))
}

// Fax returns fax id, if scope may see it.
func (s *Store) Fax(ctx context.Context, scope gofaxlib.Scope, id string) (gofaxlib.Fax, error) {
	const op = "get fax"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return gofaxlib.Fax{}, err
	}
	if !validID(id) {
		return gofaxlib.Fax{}, notFound(op)
	}
	f, err := scanFax(s.db.QueryRowContext(ctx, `SELECT `+faxCols+` FROM faxes f
		WHERE f.id = $1 AND ($2::uuid IS NULL OR f.tenant_id = $2)`, id, sa))
	return f, mapErr(op, err)
}

// faxWithAttempts reads a fax and its attempts in one statement: the
// attempts are LEFT JOINed, so a fax without any has one row of NULLs.
const faxWithAttempts = `SELECT ` + faxCols + `, a.id, a.host, a.modem, a.call_uuid, a.gateway, a.number, a.started_at,
	a.answered_at, a.ended_at, a.hangup_cause, a.result_code, a.result_text, a.success, a.pages_total, a.pages_transferred,
	a.signal_rate, a.ecm, a.t38_status, a.remote_station_id
	FROM faxes f LEFT JOIN fax_attempts a ON a.fax_id = f.id
	WHERE f.id = $1 AND ($2::uuid IS NULL OR f.tenant_id = $2) ORDER BY a.started_at, a.id`

// FaxWithAttempts returns fax id with its attempts in the order they
// started, if scope may see it: what Fax and Attempts return, in one round
// trip to the database (a prepared statement), for the API's hottest read.
func (s *Store) FaxWithAttempts(ctx context.Context, scope gofaxlib.Scope, id string) (gofaxlib.Fax, []gofaxlib.Attempt, error) {
	const op = "get fax"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return gofaxlib.Fax{}, nil, err
	}
	if !validID(id) {
		return gofaxlib.Fax{}, nil, notFound(op)
	}
	stmt, err := s.prepared(ctx, faxWithAttempts)
	if err != nil {
		return gofaxlib.Fax{}, nil, mapErr(op, err)
	}
	rows, err := stmt.QueryContext(ctx, id, sa)
	if err != nil {
		return gofaxlib.Fax{}, nil, mapErr(op, err)
	}
	defer rows.Close()
	var f gofaxlib.Fax
	attempts := []gofaxlib.Attempt{}
	found := false
	for rows.Next() {
		var (
			aid, host, modem, callUUID, gateway, number, cause, text, t38, remote sql.NullString
			started, answered, ended                                              sql.NullTime
			code, total, transferred, rate                                        sql.NullInt64
			success, ecm                                                          sql.NullBool
		)
		err := rows.Scan(&f.ID, &f.TenantID, &f.Direction, &f.Status, &f.From, &f.To, &f.CallerIDName, &f.UserID, &f.Owner,
			&f.PagesTotal, &f.PagesTransferred, &f.ResultCode, &f.ResultText, &f.HangupCause, &f.RemoteStationID, &f.Host,
			&f.JobID, &f.CommID, &f.RecvqFile, &f.DocumentPath, &f.DocumentSize, &f.DocumentSHA256, &f.IdempotencyKey,
			&f.Created, &f.Updated, &f.Completed,
			&aid, &host, &modem, &callUUID, &gateway, &number, &started, &answered, &ended, &cause, &code, &text, &success,
			&total, &transferred, &rate, &ecm, &t38, &remote)
		if err != nil {
			return gofaxlib.Fax{}, nil, mapErr(op, err)
		}
		found = true
		f.Completed = zeroEpoch(f.Completed)
		if !aid.Valid {
			continue
		}
		attempts = append(attempts, gofaxlib.Attempt{ID: aid.String, FaxID: f.ID, Host: host.String, Modem: modem.String,
			CallUUID: callUUID.String, Gateway: gateway.String, Number: number.String, Started: started.Time,
			Answered: answered.Time, Ended: ended.Time, HangupCause: cause.String, ResultCode: gofaxlib.T30Code(code.Int64),
			ResultText: text.String, Success: success.Bool, PagesTotal: int(total.Int64), PagesTransferred: int(transferred.Int64),
			SignalRate: int(rate.Int64), ECM: ecm.Bool, T38Status: t38.String, RemoteStationID: remote.String})
	}
	if err := rows.Err(); err != nil {
		return gofaxlib.Fax{}, nil, mapErr(op, err)
	}
	if !found {
		return gofaxlib.Fax{}, nil, notFound(op)
	}
	return f, attempts, nil
}

// FaxByIdempotencyKey returns the tenant's fax created with key.
func (s *Store) FaxByIdempotencyKey(ctx context.Context, scope gofaxlib.Scope, key string) (gofaxlib.Fax, error) {
	const op = "get fax by idempotency key"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return gofaxlib.Fax{}, err
	}
	if sa == nil {
		return gofaxlib.Fax{}, mapErr(op, fmt.Errorf("%w: idempotency keys are per tenant", gofaxlib.ErrInvalid))
	}
	f, err := scanFax(s.db.QueryRowContext(ctx, `SELECT `+faxCols+` FROM faxes f
		WHERE f.tenant_id = $1 AND f.idempotency_key = $2`, sa, key))
	return f, mapErr(op, err)
}

// ListFaxes returns one page of the faxes scope may see that match fl,
// newest first.
func (s *Store) ListFaxes(ctx context.Context, scope gofaxlib.Scope, fl gofaxlib.FaxFilter) ([]gofaxlib.Fax, string, error) {
	const op = "list faxes"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return nil, "", err
	}
	tail, args, err := page(fl.Page, op, "f", true, []any{sa, string(fl.Direction), string(fl.Status), fl.From, fl.To,
		nullTime(fl.Since), nullTime(fl.Until)})
	if err != nil {
		return nil, "", mapErr(op, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+faxCols+` FROM faxes f
		WHERE ($1::uuid IS NULL OR f.tenant_id = $1) AND ($2 = '' OR f.direction = $2) AND ($3 = '' OR f.status = $3)
		AND ($4 = '' OR f.from_number = $4) AND ($5 = '' OR f.to_number = $5)
		AND ($6::timestamptz IS NULL OR f.created_at >= $6) AND ($7::timestamptz IS NULL OR f.created_at < $7)`+tail, args...)
	if err != nil {
		return nil, "", mapErr(op, err)
	}
	list, err := collect(rows, scanFax)
	if err != nil {
		return nil, "", mapErr(op, err)
	}
	list, next := nextCursor(list, fl.Page, func(f gofaxlib.Fax) (time.Time, string) { return f.Created, f.ID })
	return list, next, nil
}

// UnfinishedFaxes returns host's faxes that are not terminal yet, oldest
// first, for reconciliation with HylaFAX's queues (at most limit).
func (s *Store) UnfinishedFaxes(ctx context.Context, host string, limit int) ([]gofaxlib.Fax, error) {
	const op = "list unfinished faxes"
	rows, err := s.db.QueryContext(ctx, `SELECT `+faxCols+` FROM faxes f
		WHERE f.host = $1 AND f.completed_at IS NULL ORDER BY f.created_at, f.id LIMIT $2`, host, limit)
	if err != nil {
		return nil, mapErr(op, err)
	}
	list, err := collect(rows, scanFax)
	return list, mapErr(op, err)
}

// UnsubmittedFaxes returns up to limit of host's sent faxes that the
// REST API created but whose HylaFAX job is not recorded (queued, no job
// id), oldest first: the submissions a crash or a lost reply interrupted.
func (s *Store) UnsubmittedFaxes(ctx context.Context, host string, limit int) ([]gofaxlib.Fax, error) {
	const op = "list unsubmitted faxes"
	rows, err := s.db.QueryContext(ctx, `SELECT `+faxCols+` FROM faxes f
		WHERE f.host = $1 AND f.direction = 'outbound' AND f.status = 'queued' AND f.job_id IS NULL
		AND f.completed_at IS NULL ORDER BY f.created_at, f.id LIMIT $2`, host, limit)
	if err != nil {
		return nil, mapErr(op, err)
	}
	list, err := collect(rows, scanFax)
	return list, mapErr(op, err)
}

const attemptCols = `a.id, a.fax_id, a.host, a.modem, a.call_uuid, a.gateway, a.number, a.started_at,
	coalesce(a.answered_at, 'epoch'), coalesce(a.ended_at, 'epoch'), a.hangup_cause, a.result_code, a.result_text,
	a.success, a.pages_total, a.pages_transferred, a.signal_rate, a.ecm, a.t38_status, a.remote_station_id`

func scanAttempt(r scanner) (gofaxlib.Attempt, error) {
	var a gofaxlib.Attempt
	err := r.Scan(&a.ID, &a.FaxID, &a.Host, &a.Modem, &a.CallUUID, &a.Gateway, &a.Number, &a.Started, &a.Answered, &a.Ended,
		&a.HangupCause, &a.ResultCode, &a.ResultText, &a.Success, &a.PagesTotal, &a.PagesTransferred, &a.SignalRate,
		&a.ECM, &a.T38Status, &a.RemoteStationID)
	a.Answered, a.Ended = zeroEpoch(a.Answered), zeroEpoch(a.Ended)
	return a, err
}

// RecordAttempt adds the attempt a spool journal record reports, once: a
// record already ingested adds nothing and RecordAttempt returns false.
// The fax must exist (record it first).
func (s *Store) RecordAttempt(ctx context.Context, recordID string, a *gofaxlib.Attempt) (bool, error) {
	const op = "record attempt"
	if err := s.checkAttempt(a); err != nil {
		return false, mapErr(op, err)
	}
	applied := false
	err := s.inTx(ctx, op, func(tx *sql.Tx) error {
		if ok, err := s.ingest(ctx, tx, recordID, "attempt"); err != nil || !ok {
			return err
		}
		if err := insertAttempt(ctx, tx, recordID, a); err != nil {
			return err
		}
		applied = true
		return nil
	})
	return applied, err
}

// checkAttempt checks a and fills in its host.
func (s *Store) checkAttempt(a *gofaxlib.Attempt) error {
	if !validID(a.FaxID) {
		return &gofaxlib.FieldError{Field: "fax_id", Err: errors.New("no such fax")}
	}
	if a.Host == "" {
		a.Host = s.host
	}
	if a.Started.IsZero() {
		return &gofaxlib.FieldError{Field: "started_at", Err: errors.New("required")}
	}
	return nil
}

// insertAttempt is RecordAttempt's write within tx.
func insertAttempt(ctx context.Context, tx *sql.Tx, recordID string, a *gofaxlib.Attempt) error {
	na, err := scanAttempt(tx.QueryRowContext(ctx, `INSERT INTO fax_attempts AS a (fax_id, record_id, host, modem,
		call_uuid, gateway, number, started_at, answered_at, ended_at, duration_ms, hangup_cause, result_code, result_text,
		success, pages_total, pages_transferred, signal_rate, ecm, t38_status, remote_station_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
		RETURNING `+attemptCols, a.FaxID, recordID, a.Host, a.Modem, a.CallUUID, a.Gateway, a.Number, a.Started,
		nullTime(a.Answered), nullTime(a.Ended), a.Duration().Milliseconds(), a.HangupCause, int(a.ResultCode),
		a.ResultText, a.Success, a.PagesTotal, a.PagesTransferred, a.SignalRate, a.ECM, a.T38Status, a.RemoteStationID))
	if err != nil {
		return err
	}
	na.RecordID = recordID
	*a = na
	return nil
}

// Attempts returns the attempts of fax faxID in the order they started,
// if scope may see the fax.
func (s *Store) Attempts(ctx context.Context, scope gofaxlib.Scope, faxID string) ([]gofaxlib.Attempt, error) {
	const op = "list attempts"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return nil, err
	}
	if !validID(faxID) {
		return nil, notFound(op)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+attemptCols+` FROM fax_attempts a JOIN faxes f ON f.id = a.fax_id
		WHERE a.fax_id = $1 AND ($2::uuid IS NULL OR f.tenant_id = $2) ORDER BY a.started_at, a.id`, faxID, sa)
	if err != nil {
		return nil, mapErr(op, err)
	}
	list, err := collect(rows, scanAttempt)
	return list, mapErr(op, err)
}

// PurgeIngested forgets ingested journal record ids older than before
// (records the journal can no longer replay).
func (s *Store) PurgeIngested(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, "DELETE FROM ingested_records WHERE ingested_at < $1", before)
	if err != nil {
		return 0, mapErr("purge ingested records", err)
	}
	return res.RowsAffected()
}
