package postgres

import (
	"context"
	"database/sql"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// Queries of table numbers.

const numberCols = "n.id, n.tenant_id, n.number, n.caller_id_name, n.header, n.ident, n.suspended, n.created_at, n.updated_at"

func scanNumber(r scanner) (gofaxlib.Number, error) {
	var n gofaxlib.Number
	err := r.Scan(&n.ID, &n.TenantID, &n.Number, &n.CallerIDName, &n.Header, &n.Ident, &n.Suspended, &n.Created, &n.Updated)
	return n, err
}

// CreateNumber normalises and validates n, inserts it for its tenant (which
// scope must allow) and fills in its id and times. A number another tenant
// has is ErrConflict.
func (s *Store) CreateNumber(ctx context.Context, scope gofaxlib.Scope, n *gofaxlib.Number) error {
	const op = "create number"
	if !scope.Allows(n.TenantID) || !validID(n.TenantID) {
		return mapErr(op, &gofaxlib.FieldError{Field: "tenant_id", Err: errNoSuchTenant})
	}
	if err := n.Validate(s.plan); err != nil {
		return mapErr(op, err)
	}
	row := s.db.QueryRowContext(ctx, `INSERT INTO numbers AS n (tenant_id, number, caller_id_name, header, ident, suspended)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+numberCols,
		n.TenantID, n.Number, n.CallerIDName, n.Header, n.Ident, n.Suspended)
	nn, err := scanNumber(row)
	if err != nil {
		return mapErr(op, noTenant(err, "numbers_tenant_fkey"))
	}
	*n = nn
	return nil
}

// noTenant turns the foreign key error of an insert naming a tenant that
// does not exist into a field error (the same constraint on delete means
// something else).
func noTenant(err error, constraint string) error {
	if isConstraint(err, constraint) {
		return &gofaxlib.FieldError{Field: "tenant_id", Err: errNoSuchTenant}
	}
	return err
}

// Number returns number id, if scope may see it.
func (s *Store) Number(ctx context.Context, scope gofaxlib.Scope, id string) (gofaxlib.Number, error) {
	const op = "get number"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return gofaxlib.Number{}, err
	}
	if !validID(id) {
		return gofaxlib.Number{}, notFound(op)
	}
	n, err := scanNumber(s.db.QueryRowContext(ctx, `SELECT `+numberCols+` FROM numbers n
		WHERE n.id = $1 AND ($2::uuid IS NULL OR n.tenant_id = $2)`, id, sa))
	return n, mapErr(op, err)
}

// NumberByE164 returns the number e164 (as NumberPlan.E164 writes it), if
// scope may see it.
func (s *Store) NumberByE164(ctx context.Context, scope gofaxlib.Scope, e164 string) (gofaxlib.Number, error) {
	const op = "get number"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return gofaxlib.Number{}, err
	}
	n, err := scanNumber(s.db.QueryRowContext(ctx, `SELECT `+numberCols+` FROM numbers n
		WHERE n.number = $1 AND ($2::uuid IS NULL OR n.tenant_id = $2)`, e164, sa))
	return n, mapErr(op, err)
}

// ListNumbers returns one page of the numbers scope may see, oldest first.
func (s *Store) ListNumbers(ctx context.Context, scope gofaxlib.Scope, p gofaxlib.Page) ([]gofaxlib.Number, string, error) {
	const op = "list numbers"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return nil, "", err
	}
	tail, args, err := page(p, op, "n", false, []any{sa})
	if err != nil {
		return nil, "", mapErr(op, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+numberCols+` FROM numbers n
		WHERE ($1::uuid IS NULL OR n.tenant_id = $1)`+tail, args...)
	if err != nil {
		return nil, "", mapErr(op, err)
	}
	list, err := collect(rows, scanNumber)
	if err != nil {
		return nil, "", mapErr(op, err)
	}
	list, next := nextCursor(list, p, func(n gofaxlib.Number) (time.Time, string) { return n.Created, n.ID })
	return list, next, nil
}

// UpdateNumber writes n's number, caller-ID name, header, ident and
// suspension. The tenant cannot change (delete the number and create it
// for the other tenant).
func (s *Store) UpdateNumber(ctx context.Context, scope gofaxlib.Scope, n *gofaxlib.Number) error {
	const op = "update number"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return err
	}
	if !validID(n.ID) || !validID(n.TenantID) {
		return notFound(op)
	}
	if err := n.Validate(s.plan); err != nil {
		return mapErr(op, err)
	}
	row := s.db.QueryRowContext(ctx, `UPDATE numbers AS n SET number = $3, caller_id_name = $4, header = $5, ident = $6, suspended = $7
		WHERE n.id = $1 AND n.tenant_id = $2 AND ($8::uuid IS NULL OR n.tenant_id = $8) RETURNING `+numberCols,
		n.ID, n.TenantID, n.Number, n.CallerIDName, n.Header, n.Ident, n.Suspended, sa)
	nn, err := scanNumber(row)
	if err != nil {
		return mapErr(op, err)
	}
	*n = nn
	return nil
}

// DeleteNumber deletes number id with its number-scoped endpoints; users
// who had it as their default number have none afterwards. Fax history
// keeps the number as text.
func (s *Store) DeleteNumber(ctx context.Context, scope gofaxlib.Scope, id string) error {
	const op = "delete number"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return err
	}
	if !validID(id) {
		return notFound(op)
	}
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		var tenant string
		if err := tx.QueryRowContext(ctx, `SELECT tenant_id FROM numbers
			WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2) FOR UPDATE`, id, sa).Scan(&tenant); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET default_number_id = NULL
			WHERE tenant_id = $1 AND default_number_id = $2`, tenant, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM numbers WHERE id = $1 AND tenant_id = $2", id, tenant)
		return err
	})
}
