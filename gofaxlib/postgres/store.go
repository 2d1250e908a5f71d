package postgres

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// Options say how to reach the database and how this host appears in it.
type Options struct {
	// DSN is a lib/pq connection string (key=value pairs or a
	// postgres:// URL), e.g. config.Database.ConnString().
	DSN              string
	MaxConns         int           // pool size (default 10)
	StatementTimeout time.Duration // every statement's deadline (default 10s)
	ConnectTimeout   time.Duration // when the DSN sets none (default 10s)
	// Host names this host in the rows it writes (faxes, attempts,
	// journal records); several hosts may share one database.
	Host string
	// Plan turns numbers into E.164 (CreateNumber, UpdateNumber).
	Plan gofaxlib.NumberPlan
	// ApplicationName is shown in pg_stat_activity (default "gofaxd").
	ApplicationName string
}

// Store is the tenant store on PostgreSQL. It is safe for concurrent use.
type Store struct {
	db *sql.DB
	// listenDSN is the DSN with a connect timeout, for WatchRouting's own
	// connection (lib/pq's listener holds its lock while dialling).
	listenDSN string
	host      string
	plan      gofaxlib.NumberPlan
	// hashing bounds concurrent password hashing (argon2id takes
	// passwordMemory KiB each): logins beyond it wait.
	hashing chan struct{}

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt // prepared, by query
}

// Open prepares the connection pool. It does not connect: the database
// may be down when gofaxd starts (see Ping).
func Open(o Options) (*Store, error) {
	cfg, err := pq.NewConfig(o.DSN)
	if err != nil {
		return nil, fmt.Errorf("postgres: connection string: %w", err)
	}
	if o.StatementTimeout <= 0 {
		o.StatementTimeout = 10 * time.Second
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 10
	}
	if o.ApplicationName == "" {
		o.ApplicationName = "gofaxd"
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = o.ConnectTimeout
	}
	if cfg.ApplicationName == "" {
		cfg.ApplicationName = o.ApplicationName
	}
	if cfg.Runtime == nil {
		cfg.Runtime = map[string]string{}
	}
	cfg.Runtime["statement_timeout"] = strconv.FormatInt(o.StatementTimeout.Milliseconds(), 10)
	// Timestamps come back in UTC whatever the server's setting.
	cfg.Runtime["timezone"] = "UTC"
	conn, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connection string: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(o.MaxConns)
	db.SetMaxIdleConns(o.MaxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return &Store{
		db:        db,
		listenDSN: withConnectTimeout(o.DSN, cfg.ConnectTimeout),
		host:      o.Host,
		plan:      o.Plan,
		hashing:   make(chan struct{}, max(2, runtime.GOMAXPROCS(0))),
		stmts:     map[string]*sql.Stmt{},
	}, nil
}

// prepared returns query as a prepared statement, preparing it on first
// use (and again after a failure: the database may have been down).
// database/sql prepares it on each connection when first used there; a
// prepared statement then takes one round trip instead of two.
func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st := s.stmts[query]; st != nil {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.stmts[query] = st
	return st, nil
}

// withConnectTimeout adds connect_timeout to dsn unless it has one.
func withConnectTimeout(dsn string, d time.Duration) string {
	if c, err := pq.NewConfig(dsn); err == nil && c.ConnectTimeout > 0 {
		return dsn
	}
	secs := strconv.Itoa(int((d + time.Second - 1) / time.Second))
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			q := u.Query()
			q.Set("connect_timeout", secs)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return strings.TrimSpace(dsn + " connect_timeout=" + secs)
}

// DB is the connection pool (for Migrate and CheckSchema).
func (s *Store) DB() *sql.DB { return s.db }

// Host is this host's name in the rows it writes.
func (s *Store) Host() string { return s.host }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return mapErr("ping", s.db.PingContext(ctx)) }

// Close closes the prepared statements and the pool.
func (s *Store) Close() error {
	s.stmtMu.Lock()
	for q, st := range s.stmts {
		st.Close()
		delete(s.stmts, q)
	}
	s.stmtMu.Unlock()
	return s.db.Close()
}

// inTx runs fn in a transaction, committing when it returns nil.
func (s *Store) inTx(ctx context.Context, op string, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(op, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return mapErr(op, err)
	}
	return mapErr(op, tx.Commit())
}

// constraintErrors says what a violated constraint means for the caller.
var constraintErrors = map[string]error{
	"tenants_name_key":              &gofaxlib.FieldError{Field: "name", Err: fmt.Errorf("%w: a tenant of that name exists", gofaxlib.ErrConflict)},
	"numbers_number_key":            &gofaxlib.FieldError{Field: "number", Err: fmt.Errorf("%w: the number exists", gofaxlib.ErrConflict)},
	"users_username_key":            &gofaxlib.FieldError{Field: "username", Err: fmt.Errorf("%w: the username is taken", gofaxlib.ErrConflict)},
	"faxes_idempotency_key":         fmt.Errorf("%w: the idempotency key was used", gofaxlib.ErrConflict),
	"numbers_tenant_fkey":           gofaxlib.ErrTenantHasNumbers,
	"faxes_tenant_fkey":             gofaxlib.ErrTenantHasFaxes,
	"events_tenant_fkey":            gofaxlib.ErrTenantHasFaxes,
	"users_default_number_fkey":     &gofaxlib.FieldError{Field: "default_number_id", Err: errors.New("not a number of the user's tenant")},
	"endpoints_number_fkey":         &gofaxlib.FieldError{Field: "number_id", Err: errors.New("not a number of the endpoint's tenant")},
	"endpoints_tenant_fkey":         &gofaxlib.FieldError{Field: "tenant_id", Err: errNoSuchTenant},
	"users_tenant_fkey":             &gofaxlib.FieldError{Field: "tenant_id", Err: errNoSuchTenant},
	"api_keys_user_fkey":            &gofaxlib.FieldError{Field: "user_id", Err: errNoSuchUser},
	"fax_attempts_fax_fkey":         &gofaxlib.FieldError{Field: "fax_id", Err: errors.New("no such fax")},
	"faxes_user_fkey":               &gofaxlib.FieldError{Field: "user_id", Err: errors.New("no such user")},
	"fax_attempts_record_id_key":    fmt.Errorf("%w: the record was ingested", gofaxlib.ErrConflict),
	"deliveries_event_fkey":         &gofaxlib.FieldError{Field: "event_id", Err: errors.New("no such event")},
	"api_keys_key_hash_key":         fmt.Errorf("%w: the API key exists", gofaxlib.ErrConflict),
	"deliveries_endpoint_fkey":      &gofaxlib.FieldError{Field: "endpoint_id", Err: errors.New("no such endpoint")},
	"events_fax_fkey":               &gofaxlib.FieldError{Field: "fax_id", Err: errors.New("no such fax")},
	"endpoints_scope_fit_check":     &gofaxlib.FieldError{Field: "scope", Err: errors.New("tenant_id and number_id do not fit the scope")},
	"faxes_status_check":            &gofaxlib.FieldError{Field: "status", Err: errors.New("not a status of the fax's direction")},
	"deliveries_event_endpoint_key": fmt.Errorf("%w: the event is already delivered to the endpoint", gofaxlib.ErrConflict),
}

var (
	errNoSuchTenant = errors.New("no such tenant")
	errNoSuchUser   = errors.New("no such user of the tenant")
	errNoSuchNumber = errors.New("no such number of the tenant")
	errBadName      = errors.New("at most 200 bytes without control characters")
)

// mapErr turns database errors into the domain's sentinels, prefixed with
// the operation; nil stays nil and errors already mapped pass unchanged.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var sentinel error
	var pe *pq.Error
	switch {
	case strings.HasPrefix(err.Error(), "postgres: "):
		return err // mapped below already
	case errors.Is(err, sql.ErrNoRows):
		sentinel = gofaxlib.ErrNotFound
	case errors.As(err, &pe):
		if e, ok := constraintErrors[pe.Constraint]; ok {
			sentinel = e
			break
		}
		switch {
		case pe.Code == pqerror.UniqueViolation:
			sentinel = gofaxlib.ErrConflict
		case pe.Code == pqerror.ForeignKeyViolation:
			sentinel = gofaxlib.ErrConflict
		case pe.Code == pqerror.CheckViolation, pe.Code == pqerror.NotNullViolation,
			pe.Code == pqerror.InvalidTextRepresentation, pe.Code == pqerror.StringDataRightTruncation,
			pe.Code == pqerror.CharacterNotInRepertoire, pe.Code == pqerror.UntranslatableCharacter:
			sentinel = gofaxlib.ErrInvalid
		case pe.Code == pqerror.QueryCanceled, pe.Code == pqerror.AdminShutdown, pe.Code == pqerror.CrashShutdown,
			pe.Code == pqerror.CannotConnectNow, pe.Code == pqerror.TooManyConnections,
			strings.HasPrefix(string(pe.Code), "08"), strings.HasPrefix(string(pe.Code), "53"):
			sentinel = gofaxlib.ErrUnavailable
		}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
	default:
		var ne net.Error
		if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
			errors.Is(err, sql.ErrConnDone) || errors.Is(err, net.ErrClosed) {
			sentinel = gofaxlib.ErrUnavailable
		}
	}
	if sentinel == nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	if errors.Is(sentinel, gofaxlib.ErrNotFound) {
		return fmt.Errorf("postgres: %s: %w", op, sentinel)
	}
	return fmt.Errorf("postgres: %s: %w (%w)", op, sentinel, err)
}

var uuidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// validID reports whether id is a UUID; ids that are not cannot name
// anything, and are answered with ErrNotFound without asking the database.
func validID(id string) bool { return uuidRe.MatchString(id) }

func notFound(op string) error { return fmt.Errorf("postgres: %s: %w", op, gofaxlib.ErrNotFound) }

// scopeArg turns a scope into the query argument of
// "($1::uuid IS NULL OR tenant_id = $1)": nil for the operator.
func scopeArg(op string, s gofaxlib.Scope) (any, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("postgres: %s: %w: no scope", op, gofaxlib.ErrInvalid)
	}
	id, limited := s.Tenant()
	if !limited {
		return nil, nil
	}
	if !validID(id) {
		return nil, fmt.Errorf("postgres: %s: %w: scope tenant %q is not a UUID", op, gofaxlib.ErrInvalid, id)
	}
	return id, nil
}

// A cursor names the last item of a page: its creation time and id, in
// the order lists are sorted by.
type cursor struct {
	at time.Time
	id string
}

func encodeCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixMicro(), 10) + "/" + id))
}

func decodeCursor(op, s string) (*cursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		at, id, ok := strings.Cut(string(b), "/")
		if us, perr := strconv.ParseInt(at, 10, 64); ok && perr == nil && validID(id) {
			return &cursor{at: time.UnixMicro(us).UTC(), id: id}, nil
		}
	}
	return nil, &gofaxlib.FieldError{Field: "cursor", Err: fmt.Errorf("%s: not a cursor of this list", op)}
}

// page adds keyset paging to a query ordered by (created_at, id):
// ascending lists continue after the cursor, descending ones before it.
// It returns the query's tail (condition, order, limit) and its arguments.
func page(p gofaxlib.Page, op, col string, desc bool, args []any) (string, []any, error) {
	c, err := decodeCursor(op, p.Cursor)
	if err != nil {
		return "", nil, err
	}
	cond, order := "TRUE", "ASC"
	cmp := ">"
	if desc {
		order, cmp = "DESC", "<"
	}
	if c != nil {
		args = append(args, c.at, c.id)
		cond = fmt.Sprintf("(%s.created_at, %s.id) %s ($%d, $%d)", col, col, cmp, len(args)-1, len(args))
	}
	args = append(args, p.Size()+1)
	tail := fmt.Sprintf(" AND %s ORDER BY %s.created_at %s, %s.id %s LIMIT $%d", cond, col, order, col, order, len(args))
	return tail, args, nil
}

// nextCursor trims the extra row page asked for and returns the cursor of
// the next page ("" when there is none).
func nextCursor[T any](items []T, p gofaxlib.Page, key func(T) (time.Time, string)) ([]T, string) {
	if len(items) <= p.Size() {
		return items, ""
	}
	items = items[:p.Size()]
	at, id := key(items[len(items)-1])
	return items, encodeCursor(at, id)
}

// nullString stores "" as NULL.
func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) sql.NullTime { return sql.NullTime{Time: t, Valid: !t.IsZero()} }

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// isConstraint reports whether err violates the named constraint.
func isConstraint(err error, name string) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && pe.Constraint == name
}
