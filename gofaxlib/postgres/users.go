package postgres

import (
	"context"
	"database/sql"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// Queries of table users. Password hashes never leave this file.

const userCols = "u.id, u.tenant_id, u.username, u.email, u.role, coalesce(u.default_number_id::text, ''), u.suspended, u.created_at, u.updated_at"

func scanUser(r scanner) (gofaxlib.User, error) {
	var u gofaxlib.User
	err := r.Scan(&u.ID, &u.TenantID, &u.Username, &u.Email, &u.Role, &u.DefaultNumberID, &u.Suspended, &u.Created, &u.Updated)
	return u, err
}

// CreateUser validates u, inserts it for its tenant (which scope must
// allow) with password ("" = no password login) and fills in its id and
// times. A username taken in any tenant is ErrConflict.
func (s *Store) CreateUser(ctx context.Context, scope gofaxlib.Scope, u *gofaxlib.User, password string) error {
	const op = "create user"
	if !scope.Allows(u.TenantID) || !validID(u.TenantID) {
		return mapErr(op, &gofaxlib.FieldError{Field: "tenant_id", Err: errNoSuchTenant})
	}
	if err := u.Validate(); err != nil {
		return mapErr(op, err)
	}
	if u.DefaultNumberID != "" && !validID(u.DefaultNumberID) {
		return mapErr(op, &gofaxlib.FieldError{Field: "default_number_id", Err: errNoSuchNumber})
	}
	hash := ""
	if password != "" {
		var err error
		if hash, err = s.hash(ctx, password); err != nil {
			return mapErr(op, err)
		}
	}
	row := s.db.QueryRowContext(ctx, `INSERT INTO users AS u (tenant_id, username, email, role, password_hash, default_number_id, suspended)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+userCols,
		u.TenantID, u.Username, u.Email, u.Role, hash, nullString(u.DefaultNumberID), u.Suspended)
	nu, err := scanUser(row)
	if err != nil {
		return mapErr(op, noTenant(err, "users_tenant_fkey"))
	}
	*u = nu
	return nil
}

func (s *Store) hash(ctx context.Context, password string) (string, error) {
	if err := checkNewPassword(password); err != nil {
		return "", err
	}
	release, err := s.hashSlot(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return hashPassword(password)
}

// User returns user id, if scope may see it.
func (s *Store) User(ctx context.Context, scope gofaxlib.Scope, id string) (gofaxlib.User, error) {
	const op = "get user"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return gofaxlib.User{}, err
	}
	if !validID(id) {
		return gofaxlib.User{}, notFound(op)
	}
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u
		WHERE u.id = $1 AND ($2::uuid IS NULL OR u.tenant_id = $2)`, id, sa))
	return u, mapErr(op, err)
}

// ListUsers returns one page of the users scope may see, oldest first.
func (s *Store) ListUsers(ctx context.Context, scope gofaxlib.Scope, p gofaxlib.Page) ([]gofaxlib.User, string, error) {
	const op = "list users"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return nil, "", err
	}
	tail, args, err := page(p, op, "u", false, []any{sa})
	if err != nil {
		return nil, "", mapErr(op, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+userCols+` FROM users u
		WHERE ($1::uuid IS NULL OR u.tenant_id = $1)`+tail, args...)
	if err != nil {
		return nil, "", mapErr(op, err)
	}
	list, err := collect(rows, scanUser)
	if err != nil {
		return nil, "", mapErr(op, err)
	}
	list, next := nextCursor(list, p, func(u gofaxlib.User) (time.Time, string) { return u.Created, u.ID })
	return list, next, nil
}

// UpdateUser writes u's username, email, role, default number and
// suspension (not its password: SetPassword). The tenant cannot change.
func (s *Store) UpdateUser(ctx context.Context, scope gofaxlib.Scope, u *gofaxlib.User) error {
	const op = "update user"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return err
	}
	if !validID(u.ID) || !validID(u.TenantID) {
		return notFound(op)
	}
	if err := u.Validate(); err != nil {
		return mapErr(op, err)
	}
	if u.DefaultNumberID != "" && !validID(u.DefaultNumberID) {
		return mapErr(op, &gofaxlib.FieldError{Field: "default_number_id", Err: errNoSuchNumber})
	}
	row := s.db.QueryRowContext(ctx, `UPDATE users AS u SET username = $3, email = $4, role = $5, default_number_id = $6, suspended = $7
		WHERE u.id = $1 AND u.tenant_id = $2 AND ($8::uuid IS NULL OR u.tenant_id = $8) RETURNING `+userCols,
		u.ID, u.TenantID, u.Username, u.Email, u.Role, nullString(u.DefaultNumberID), u.Suspended, sa)
	nu, err := scanUser(row)
	if err != nil {
		return mapErr(op, err)
	}
	*u = nu
	return nil
}

// SetPassword replaces the password of user id ("" = no password login).
func (s *Store) SetPassword(ctx context.Context, scope gofaxlib.Scope, id, password string) error {
	const op = "set password"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return err
	}
	if !validID(id) {
		return notFound(op)
	}
	hash := ""
	if password != "" {
		if hash, err = s.hash(ctx, password); err != nil {
			return mapErr(op, err)
		}
	}
	res, err := s.db.ExecContext(ctx, `UPDATE users SET password_hash = $2
		WHERE id = $1 AND ($3::uuid IS NULL OR tenant_id = $3)`, id, hash, sa)
	return mapErr(op, affected(res, err))
}

// DeleteUser deletes user id with its API keys; its faxes keep the owner
// name.
func (s *Store) DeleteUser(ctx context.Context, scope gofaxlib.Scope, id string) error {
	const op = "delete user"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return err
	}
	if !validID(id) {
		return notFound(op)
	}
	res, err := s.db.ExecContext(ctx, "DELETE FROM users WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2)", id, sa)
	return mapErr(op, affected(res, err))
}

// VerifyPassword returns the user with username if password is theirs.
// An unknown user, a user without a password and a wrong password give the
// same ErrUnauthenticated after the same work; a suspended user or tenant
// (with the right password) gives ErrSuspended.
func (s *Store) VerifyPassword(ctx context.Context, username, password string) (gofaxlib.User, error) {
	const op = "verify password"
	var u gofaxlib.User
	var hash string
	var tenantSuspended bool
	err := sql.ErrNoRows // a name no user can have (PostgreSQL refuses NUL and invalid UTF-8)
	if len(username) <= gofaxlib.MaxUsernameLen && utf8.ValidString(username) && !strings.ContainsRune(username, 0) {
		err = s.db.QueryRowContext(ctx, `SELECT `+userCols+`, u.password_hash, t.suspended
		FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.username = $1`, username).Scan(
			&u.ID, &u.TenantID, &u.Username, &u.Email, &u.Role, &u.DefaultNumberID, &u.Suspended, &u.Created, &u.Updated,
			&hash, &tenantSuspended)
	}
	if err != nil && err != sql.ErrNoRows {
		return gofaxlib.User{}, mapErr(op, err)
	}
	release, serr := s.hashSlot(ctx)
	if serr != nil {
		return gofaxlib.User{}, mapErr(op, serr)
	}
	defer release()
	if err == sql.ErrNoRows || hash == "" || len(password) > MaxPasswordLen {
		burn(password)
		return gofaxlib.User{}, mapErr(op, gofaxlib.ErrUnauthenticated)
	}
	ok, herr := checkPassword(hash, password)
	if herr != nil {
		burn(password)
	}
	if !ok {
		return gofaxlib.User{}, mapErr(op, gofaxlib.ErrUnauthenticated)
	}
	if u.Suspended || tenantSuspended {
		return gofaxlib.User{}, mapErr(op, gofaxlib.ErrSuspended)
	}
	return u, nil
}

// affected turns "no row changed" into sql.ErrNoRows.
func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return sql.ErrNoRows
	}
	return nil
}
