package postgres

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// Queries of table endpoints.

const endpointCols = "e.id, e.scope, coalesce(e.tenant_id::text, ''), coalesce(e.number_id::text, ''), e.kind, e.target, e.priority, e.enabled, e.options, e.secret, e.created_at, e.updated_at"

func scanEndpoint(r scanner) (gofaxlib.Endpoint, error) {
	var e gofaxlib.Endpoint
	var opts []byte
	err := r.Scan(&e.ID, &e.Scope, &e.TenantID, &e.NumberID, &e.Kind, &e.Target, &e.Priority, &e.Enabled, &opts, &e.Secret, &e.Created, &e.Updated)
	if err == nil {
		err = json.Unmarshal(opts, &e.Options)
	}
	return e, err
}

// webhookSecret makes a Standard Webhooks signing secret: "whsec_" and the
// base64 of 32 random bytes.
func webhookSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b), nil
}

// CreateEndpoint validates e and inserts it; a tenant's or number's
// endpoint needs a scope allowing its tenant, a global one the operator's.
// A webhook gets a new signing secret in e.Secret unless it has one: show
// it to the caller once.
func (s *Store) CreateEndpoint(ctx context.Context, scope gofaxlib.Scope, e *gofaxlib.Endpoint) error {
	const op = "create endpoint"
	if _, limited := scope.Tenant(); !scope.Valid() || (e.Scope == gofaxlib.ScopeGlobal && limited) ||
		(e.Scope != gofaxlib.ScopeGlobal && !scope.Allows(e.TenantID)) {
		return mapErr(op, &gofaxlib.FieldError{Field: "tenant_id", Err: errNoSuchTenant})
	}
	if e.Kind == gofaxlib.KindWebhook && e.Secret == "" {
		sec, err := webhookSecret()
		if err != nil {
			return mapErr(op, err)
		}
		e.Secret = sec
	}
	if err := e.Validate(); err != nil {
		return mapErr(op, err)
	}
	if e.TenantID != "" && !validID(e.TenantID) {
		return mapErr(op, &gofaxlib.FieldError{Field: "tenant_id", Err: errNoSuchTenant})
	}
	if e.NumberID != "" && !validID(e.NumberID) {
		return mapErr(op, &gofaxlib.FieldError{Field: "number_id", Err: errNoSuchNumber})
	}
	opts, err := json.Marshal(e.Options)
	if err != nil {
		return mapErr(op, err)
	}
	row := s.db.QueryRowContext(ctx, `INSERT INTO endpoints AS e (scope, tenant_id, number_id, kind, target, priority, enabled, options, secret)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING `+endpointCols,
		e.Scope, nullString(e.TenantID), nullString(e.NumberID), e.Kind, e.Target, e.Priority, e.Enabled, opts, e.Secret)
	ne, err := scanEndpoint(row)
	if err != nil {
		return mapErr(op, noTenant(err, "endpoints_tenant_fkey"))
	}
	*e = ne
	return nil
}

// Endpoint returns endpoint id (with its secret), if scope may see it: a
// tenant sees its own tenant and number endpoints, not the global ones.
func (s *Store) Endpoint(ctx context.Context, scope gofaxlib.Scope, id string) (gofaxlib.Endpoint, error) {
	const op = "get endpoint"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return gofaxlib.Endpoint{}, err
	}
	if !validID(id) {
		return gofaxlib.Endpoint{}, notFound(op)
	}
	e, err := scanEndpoint(s.db.QueryRowContext(ctx, `SELECT `+endpointCols+` FROM endpoints e
		WHERE e.id = $1 AND ($2::uuid IS NULL OR e.tenant_id = $2)`, id, sa))
	return e, mapErr(op, err)
}

// ListEndpoints returns one page of the endpoints scope may see, oldest
// first.
func (s *Store) ListEndpoints(ctx context.Context, scope gofaxlib.Scope, p gofaxlib.Page) ([]gofaxlib.Endpoint, string, error) {
	const op = "list endpoints"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return nil, "", err
	}
	tail, args, err := page(p, op, "e", false, []any{sa})
	if err != nil {
		return nil, "", mapErr(op, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+endpointCols+` FROM endpoints e
		WHERE ($1::uuid IS NULL OR e.tenant_id = $1)`+tail, args...)
	if err != nil {
		return nil, "", mapErr(op, err)
	}
	list, err := collect(rows, scanEndpoint)
	if err != nil {
		return nil, "", mapErr(op, err)
	}
	list, next := nextCursor(list, p, func(e gofaxlib.Endpoint) (time.Time, string) { return e.Created, e.ID })
	return list, next, nil
}

// UpdateEndpoint writes e's target, priority, enabled flag, options and
// secret. Scope, kind, tenant and number cannot change.
func (s *Store) UpdateEndpoint(ctx context.Context, scope gofaxlib.Scope, e *gofaxlib.Endpoint) error {
	const op = "update endpoint"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return err
	}
	if !validID(e.ID) {
		return notFound(op)
	}
	if err := e.Validate(); err != nil {
		return mapErr(op, err)
	}
	opts, err := json.Marshal(e.Options)
	if err != nil {
		return mapErr(op, err)
	}
	row := s.db.QueryRowContext(ctx, `UPDATE endpoints AS e SET target = $2, priority = $3, enabled = $4, options = $5, secret = $6
		WHERE e.id = $1 AND e.scope = $7 AND e.kind = $8 AND e.tenant_id IS NOT DISTINCT FROM $9::uuid
		AND e.number_id IS NOT DISTINCT FROM $10::uuid AND ($11::uuid IS NULL OR e.tenant_id = $11) RETURNING `+endpointCols,
		e.ID, e.Target, e.Priority, e.Enabled, opts, e.Secret, e.Scope, e.Kind, nullString(e.TenantID), nullString(e.NumberID), sa)
	ne, err := scanEndpoint(row)
	if err != nil {
		return mapErr(op, err)
	}
	*e = ne
	return nil
}

// DeleteEndpoint deletes endpoint id with its pending receipt deliveries.
func (s *Store) DeleteEndpoint(ctx context.Context, scope gofaxlib.Scope, id string) error {
	const op = "delete endpoint"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return err
	}
	if !validID(id) {
		return notFound(op)
	}
	res, err := s.db.ExecContext(ctx, "DELETE FROM endpoints WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2)", id, sa)
	return mapErr(op, affected(res, err))
}
