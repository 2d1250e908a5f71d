package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"strings"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// Queries of table api_keys. A key is "gofax_" and 43 characters of
// base64url (256 random bits); the table keeps its SHA-256 (a key that
// long needs no slow hash) and its first characters.
const (
	apiKeyMarker    = "gofax_"
	apiKeyRandBytes = 32
	apiKeyLen       = len(apiKeyMarker) + 43
	apiKeyPrefixLen = len(apiKeyMarker) + 8
	// lastUsedEvery bounds the writes of VerifyAPIKey: last_used_at is
	// updated at most this often per key.
	lastUsedEvery = time.Minute
)

const apiKeyCols = "k.id, k.tenant_id, k.user_id, k.name, k.prefix, k.created_at, coalesce(k.last_used_at, 'epoch'), coalesce(k.revoked_at, 'epoch')"

func scanAPIKey(r scanner) (gofaxlib.APIKey, error) {
	var k gofaxlib.APIKey
	err := r.Scan(&k.ID, &k.TenantID, &k.UserID, &k.Name, &k.Prefix, &k.Created, &k.LastUsed, &k.Revoked)
	k.LastUsed, k.Revoked = zeroEpoch(k.LastUsed), zeroEpoch(k.Revoked)
	return k, err
}

// zeroEpoch maps the epoch (NULL in the table) to the zero time.
func zeroEpoch(t time.Time) time.Time {
	if t.Unix() == 0 {
		return time.Time{}
	}
	return t
}

// CreateAPIKey makes a new key for user userID (whose tenant scope must
// allow) and returns it: the key itself is in the return value only, the
// table keeps its hash.
func (s *Store) CreateAPIKey(ctx context.Context, scope gofaxlib.Scope, userID, name string) (key string, k gofaxlib.APIKey, err error) {
	const op = "create API key"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return "", k, err
	}
	name = strings.TrimSpace(name)
	if len(name) > gofaxlib.MaxNameLen || gofaxlib.HasControl(name) {
		return "", k, mapErr(op, &gofaxlib.FieldError{Field: "name", Err: errBadName})
	}
	if !validID(userID) {
		return "", k, mapErr(op, &gofaxlib.FieldError{Field: "user_id", Err: errNoSuchUser})
	}
	b := make([]byte, apiKeyRandBytes)
	if _, err := rand.Read(b); err != nil {
		return "", k, mapErr(op, err)
	}
	key = apiKeyMarker + base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(key))
	row := s.db.QueryRowContext(ctx, `INSERT INTO api_keys AS k (tenant_id, user_id, name, prefix, key_hash)
		SELECT u.tenant_id, u.id, $2, $3, $4 FROM users u WHERE u.id = $1 AND ($5::uuid IS NULL OR u.tenant_id = $5)
		RETURNING `+apiKeyCols, userID, name, key[:apiKeyPrefixLen], sum[:], sa)
	k, err = scanAPIKey(row)
	if err == sql.ErrNoRows {
		return "", k, mapErr(op, &gofaxlib.FieldError{Field: "user_id", Err: errNoSuchUser})
	}
	if err != nil {
		return "", k, mapErr(op, err)
	}
	return key, k, nil
}

// APIKey returns key id (revoked or not), if scope may see it.
func (s *Store) APIKey(ctx context.Context, scope gofaxlib.Scope, id string) (gofaxlib.APIKey, error) {
	const op = "get API key"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return gofaxlib.APIKey{}, err
	}
	if !validID(id) {
		return gofaxlib.APIKey{}, notFound(op)
	}
	k, err := scanAPIKey(s.db.QueryRowContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys k
		WHERE k.id = $1 AND ($2::uuid IS NULL OR k.tenant_id = $2)`, id, sa))
	return k, mapErr(op, err)
}

// ListAPIKeys returns one page of user userID's keys (revoked ones too),
// oldest first.
func (s *Store) ListAPIKeys(ctx context.Context, scope gofaxlib.Scope, userID string, p gofaxlib.Page) ([]gofaxlib.APIKey, string, error) {
	const op = "list API keys"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return nil, "", err
	}
	if !validID(userID) {
		return nil, "", notFound(op)
	}
	tail, args, err := page(p, op, "k", false, []any{sa, userID})
	if err != nil {
		return nil, "", mapErr(op, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys k
		WHERE ($1::uuid IS NULL OR k.tenant_id = $1) AND k.user_id = $2`+tail, args...)
	if err != nil {
		return nil, "", mapErr(op, err)
	}
	list, err := collect(rows, scanAPIKey)
	if err != nil {
		return nil, "", mapErr(op, err)
	}
	list, next := nextCursor(list, p, func(k gofaxlib.APIKey) (time.Time, string) { return k.Created, k.ID })
	return list, next, nil
}

// RevokeAPIKey makes key id unusable (it stays listed, with its time of
// revocation). Revoking it again changes nothing.
func (s *Store) RevokeAPIKey(ctx context.Context, scope gofaxlib.Scope, id string) error {
	const op = "revoke API key"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return err
	}
	if !validID(id) {
		return notFound(op)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
		WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2)`, id, sa)
	return mapErr(op, affected(res, err))
}

// VerifyAPIKey returns the user and key a presented key belongs to. An
// unknown, malformed or revoked key gives ErrUnauthenticated; the key of a
// suspended user or tenant gives ErrSuspended.
func (s *Store) VerifyAPIKey(ctx context.Context, key string) (gofaxlib.User, gofaxlib.APIKey, error) {
	const op = "verify API key"
	if len(key) != apiKeyLen || !strings.HasPrefix(key, apiKeyMarker) {
		return gofaxlib.User{}, gofaxlib.APIKey{}, mapErr(op, gofaxlib.ErrUnauthenticated)
	}
	sum := sha256.Sum256([]byte(key))
	var u gofaxlib.User
	var k gofaxlib.APIKey
	var tenantSuspended bool
	err := s.db.QueryRowContext(ctx, `SELECT `+apiKeyCols+`, `+userCols+`, t.suspended
		FROM api_keys k JOIN users u ON u.id = k.user_id AND u.tenant_id = k.tenant_id JOIN tenants t ON t.id = k.tenant_id
		WHERE k.key_hash = $1 AND k.revoked_at IS NULL`, sum[:]).Scan(
		&k.ID, &k.TenantID, &k.UserID, &k.Name, &k.Prefix, &k.Created, &k.LastUsed, &k.Revoked,
		&u.ID, &u.TenantID, &u.Username, &u.Email, &u.Role, &u.DefaultNumberID, &u.Suspended, &u.Created, &u.Updated,
		&tenantSuspended)
	if err == sql.ErrNoRows {
		return gofaxlib.User{}, gofaxlib.APIKey{}, mapErr(op, gofaxlib.ErrUnauthenticated)
	}
	if err != nil {
		return gofaxlib.User{}, gofaxlib.APIKey{}, mapErr(op, err)
	}
	k.LastUsed, k.Revoked = zeroEpoch(k.LastUsed), zeroEpoch(k.Revoked)
	if u.Suspended || tenantSuspended {
		return gofaxlib.User{}, gofaxlib.APIKey{}, mapErr(op, gofaxlib.ErrSuspended)
	}
	if k.LastUsed.IsZero() || time.Since(k.LastUsed) > lastUsedEvery {
		if _, err := s.db.ExecContext(ctx, `UPDATE api_keys SET last_used_at = now()
			WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2))`,
			k.ID, lastUsedEvery.Seconds()); err != nil {
			return gofaxlib.User{}, gofaxlib.APIKey{}, mapErr(op, err)
		}
	}
	return u, k, nil
}
