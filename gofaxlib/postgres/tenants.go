package postgres

import (
	"context"
	"database/sql"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// Queries of table tenants.

const tenantCols = "t.id, t.name, t.time_zone, t.suspended, t.retention_days, t.created_at, t.updated_at"

func scanTenant(r scanner) (gofaxlib.Tenant, error) {
	var t gofaxlib.Tenant
	err := r.Scan(&t.ID, &t.Name, &t.TimeZone, &t.Suspended, &t.RetentionDays, &t.Created, &t.Updated)
	return t, err
}

// CreateTenant validates t, inserts it and fills in its id and times.
// Creating tenants is the operator's.
func (s *Store) CreateTenant(ctx context.Context, t *gofaxlib.Tenant) error {
	const op = "create tenant"
	if err := t.Validate(); err != nil {
		return mapErr(op, err)
	}
	row := s.db.QueryRowContext(ctx, `INSERT INTO tenants AS t (name, time_zone, suspended, retention_days)
		VALUES ($1, $2, $3, $4) RETURNING `+tenantCols, t.Name, t.TimeZone, t.Suspended, t.RetentionDays)
	nt, err := scanTenant(row)
	if err != nil {
		return mapErr(op, err)
	}
	*t = nt
	return nil
}

// Tenant returns tenant id, if scope may see it (a tenant sees itself).
func (s *Store) Tenant(ctx context.Context, scope gofaxlib.Scope, id string) (gofaxlib.Tenant, error) {
	const op = "get tenant"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return gofaxlib.Tenant{}, err
	}
	if !validID(id) {
		return gofaxlib.Tenant{}, notFound(op)
	}
	t, err := scanTenant(s.db.QueryRowContext(ctx, `SELECT `+tenantCols+` FROM tenants t
		WHERE t.id = $1 AND ($2::uuid IS NULL OR t.id = $2)`, id, sa))
	return t, mapErr(op, err)
}

// ListTenants returns one page of all tenants, oldest first.
func (s *Store) ListTenants(ctx context.Context, p gofaxlib.Page) ([]gofaxlib.Tenant, string, error) {
	const op = "list tenants"
	tail, args, err := page(p, op, "t", false, nil)
	if err != nil {
		return nil, "", mapErr(op, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+tenantCols+` FROM tenants t WHERE TRUE`+tail, args...)
	if err != nil {
		return nil, "", mapErr(op, err)
	}
	list, err := collect(rows, scanTenant)
	if err != nil {
		return nil, "", mapErr(op, err)
	}
	list, next := nextCursor(list, p, func(t gofaxlib.Tenant) (time.Time, string) { return t.Created, t.ID })
	return list, next, nil
}

// UpdateTenant writes t's name, time zone, suspension and retention.
func (s *Store) UpdateTenant(ctx context.Context, t *gofaxlib.Tenant) error {
	const op = "update tenant"
	if !validID(t.ID) {
		return notFound(op)
	}
	if err := t.Validate(); err != nil {
		return mapErr(op, err)
	}
	row := s.db.QueryRowContext(ctx, `UPDATE tenants AS t SET name = $2, time_zone = $3, suspended = $4, retention_days = $5
		WHERE t.id = $1 RETURNING `+tenantCols, t.ID, t.Name, t.TimeZone, t.Suspended, t.RetentionDays)
	nt, err := scanTenant(row)
	if err != nil {
		return mapErr(op, err)
	}
	*t = nt
	return nil
}

// DeleteTenant deletes tenant id with its users, API keys and endpoints. A
// tenant with numbers is refused with ErrTenantHasNumbers, one with fax
// history with ErrTenantHasFaxes (history is never deleted: suspend it).
func (s *Store) DeleteTenant(ctx context.Context, id string) error {
	const op = "delete tenant"
	if !validID(id) {
		return notFound(op)
	}
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		// The foreign keys refuse too; asking first gives the clear
		// error even when both apply, and locks the tenant row.
		var numbers, faxes bool
		err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM numbers WHERE tenant_id = t.id),
			EXISTS (SELECT 1 FROM faxes WHERE tenant_id = t.id) OR EXISTS (SELECT 1 FROM events WHERE tenant_id = t.id)
			FROM tenants t WHERE t.id = $1 FOR UPDATE`, id).Scan(&numbers, &faxes)
		switch {
		case err != nil:
			return err
		case numbers:
			return gofaxlib.ErrTenantHasNumbers
		case faxes:
			return gofaxlib.ErrTenantHasFaxes
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM tenants WHERE id = $1", id)
		return err
	})
}

// collect scans every row with scan.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
