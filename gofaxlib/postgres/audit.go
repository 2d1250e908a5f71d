package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// Queries of table audit_log.

// Audit appends e to the audit log and fills in its id and time.
func (s *Store) Audit(ctx context.Context, e *gofaxlib.AuditEntry) error {
	const op = "audit"
	if e.Actor == "" || e.Action == "" {
		return mapErr(op, &gofaxlib.FieldError{Field: "action", Err: errors.New("actor and action are required")})
	}
	if e.TenantID != "" && !validID(e.TenantID) {
		return mapErr(op, &gofaxlib.FieldError{Field: "tenant_id", Err: errNoSuchTenant})
	}
	details := e.Details
	if len(details) == 0 {
		details = []byte("{}")
	}
	var obj map[string]any
	if err := json.Unmarshal(details, &obj); err != nil {
		return mapErr(op, &gofaxlib.FieldError{Field: "details", Err: errors.New("not a JSON object")})
	}
	if e.Host == "" {
		e.Host = s.host
	}
	err := s.db.QueryRowContext(ctx, `INSERT INTO audit_log (actor, tenant_id, action, object_type, object_id, remote_addr, host, details)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id, at`,
		e.Actor, nullString(e.TenantID), e.Action, e.ObjectType, e.ObjectID, e.RemoteAddr, e.Host, details).Scan(&e.ID, &e.At)
	return mapErr(op, err)
}

// ListAudit returns one page of the audit log entries scope may see (a
// tenant: those about itself), newest first. Its cursor is the last id.
func (s *Store) ListAudit(ctx context.Context, scope gofaxlib.Scope, p gofaxlib.Page) ([]gofaxlib.AuditEntry, string, error) {
	const op = "list audit log"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return nil, "", err
	}
	var before int64 = 1<<63 - 1
	if p.Cursor != "" {
		if before, err = strconv.ParseInt(p.Cursor, 10, 64); err != nil {
			return nil, "", mapErr(op, &gofaxlib.FieldError{Field: "cursor", Err: errors.New("not a cursor of this list")})
		}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, at, actor, coalesce(tenant_id::text, ''), action, object_type, object_id,
		remote_addr, host, details FROM audit_log WHERE ($1::uuid IS NULL OR tenant_id = $1) AND id < $2
		ORDER BY id DESC LIMIT $3`, sa, before, p.Size()+1)
	if err != nil {
		return nil, "", mapErr(op, err)
	}
	list, err := collect(rows, func(r scanner) (gofaxlib.AuditEntry, error) {
		var e gofaxlib.AuditEntry
		err := r.Scan(&e.ID, &e.At, &e.Actor, &e.TenantID, &e.Action, &e.ObjectType, &e.ObjectID, &e.RemoteAddr, &e.Host, &e.Details)
		return e, err
	})
	if err != nil {
		return nil, "", mapErr(op, err)
	}
	next := ""
	if len(list) > p.Size() {
		list = list[:p.Size()]
		next = fmt.Sprint(list[len(list)-1].ID)
	}
	return list, next, nil
}
