package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hook"
)

// Store is what the API needs of the tenant store (gofaxlib/postgres.Store).
// Every method on tenant-owned data takes a Scope: the caller's tenant, or
// the operator's for admin tokens.
type Store interface {
	Host() string

	CreateTenant(ctx context.Context, t *gofaxlib.Tenant) error
	Tenant(ctx context.Context, scope gofaxlib.Scope, id string) (gofaxlib.Tenant, error)
	ListTenants(ctx context.Context, p gofaxlib.Page) ([]gofaxlib.Tenant, string, error)
	UpdateTenant(ctx context.Context, t *gofaxlib.Tenant) error
	DeleteTenant(ctx context.Context, id string) error

	CreateNumber(ctx context.Context, scope gofaxlib.Scope, n *gofaxlib.Number) error
	Number(ctx context.Context, scope gofaxlib.Scope, id string) (gofaxlib.Number, error)
	NumberByE164(ctx context.Context, scope gofaxlib.Scope, e164 string) (gofaxlib.Number, error)
	ListNumbers(ctx context.Context, scope gofaxlib.Scope, p gofaxlib.Page) ([]gofaxlib.Number, string, error)
	UpdateNumber(ctx context.Context, scope gofaxlib.Scope, n *gofaxlib.Number) error
	DeleteNumber(ctx context.Context, scope gofaxlib.Scope, id string) error

	CreateUser(ctx context.Context, scope gofaxlib.Scope, u *gofaxlib.User, password string) error
	User(ctx context.Context, scope gofaxlib.Scope, id string) (gofaxlib.User, error)
	ListUsers(ctx context.Context, scope gofaxlib.Scope, p gofaxlib.Page) ([]gofaxlib.User, string, error)
	UpdateUser(ctx context.Context, scope gofaxlib.Scope, u *gofaxlib.User) error
	SetPassword(ctx context.Context, scope gofaxlib.Scope, id, password string) error
	DeleteUser(ctx context.Context, scope gofaxlib.Scope, id string) error
	VerifyPassword(ctx context.Context, username, password string) (gofaxlib.User, error)

	CreateAPIKey(ctx context.Context, scope gofaxlib.Scope, userID, name string) (string, gofaxlib.APIKey, error)
	APIKey(ctx context.Context, scope gofaxlib.Scope, id string) (gofaxlib.APIKey, error)
	ListAPIKeys(ctx context.Context, scope gofaxlib.Scope, userID string, p gofaxlib.Page) ([]gofaxlib.APIKey, string, error)
	RevokeAPIKey(ctx context.Context, scope gofaxlib.Scope, id string) error
	VerifyAPIKey(ctx context.Context, key string) (gofaxlib.User, gofaxlib.APIKey, error)

	CreateEndpoint(ctx context.Context, scope gofaxlib.Scope, e *gofaxlib.Endpoint) error
	Endpoint(ctx context.Context, scope gofaxlib.Scope, id string) (gofaxlib.Endpoint, error)
	ListEndpoints(ctx context.Context, scope gofaxlib.Scope, p gofaxlib.Page) ([]gofaxlib.Endpoint, string, error)
	UpdateEndpoint(ctx context.Context, scope gofaxlib.Scope, e *gofaxlib.Endpoint) error
	DeleteEndpoint(ctx context.Context, scope gofaxlib.Scope, id string) error

	CreateFax(ctx context.Context, scope gofaxlib.Scope, f *gofaxlib.Fax) error
	Fax(ctx context.Context, scope gofaxlib.Scope, id string) (gofaxlib.Fax, error)
	FaxWithAttempts(ctx context.Context, scope gofaxlib.Scope, id string) (gofaxlib.Fax, []gofaxlib.Attempt, error)
	FaxByIdempotencyKey(ctx context.Context, scope gofaxlib.Scope, key string) (gofaxlib.Fax, error)
	ListFaxes(ctx context.Context, scope gofaxlib.Scope, fl gofaxlib.FaxFilter) ([]gofaxlib.Fax, string, error)
	SetFaxJob(ctx context.Context, scope gofaxlib.Scope, id, host string, jobID int) error
	AbandonFax(ctx context.Context, scope gofaxlib.Scope, id string) error
	// UnsubmittedFaxes and RecordFax are this host's: Recover finishes
	// submissions a crash interrupted.
	UnsubmittedFaxes(ctx context.Context, host string, limit int) ([]gofaxlib.Fax, error)
	RecordFax(ctx context.Context, recordID string, f *gofaxlib.Fax) (bool, error)

	ListEvents(ctx context.Context, scope gofaxlib.Scope, fl gofaxlib.EventFilter) ([]gofaxlib.EventInfo, string, error)
	Event(ctx context.Context, scope gofaxlib.Scope, id string) (gofaxlib.EventInfo, error)
	RedeliverEvent(ctx context.Context, scope gofaxlib.Scope, id string) (int, error)

	Audit(ctx context.Context, e *gofaxlib.AuditEntry) error
}

// AdminToken is an operator credential: a name for the audit log and the
// SHA-256 of the bearer token.
type AdminToken struct {
	Name   string
	SHA256 [sha256.Size]byte
}

// Options configure a Server. Store is required; zero values of the
// others take the defaults named.
type Options struct {
	Store Store
	// Submitter puts faxes into HylaFAX's queue; nil: POST /v1/faxes
	// and DELETE /v1/faxes/{id} answer 501.
	Submitter gofaxlib.Submitter
	// WakeReceipts, if set, is called after a redelivery made receipt
	// deliveries due (gofaxd wakes its receipt dispatcher). It must not
	// block.
	WakeReceipts func()
	// Plan normalises numbers given by callers to E.164 (and makes the
	// fallback list's keys, as gofaxd and gofaxsend do).
	Plan gofaxlib.NumberPlan
	// ArchiveDir is [database] archive: documents are served from there
	// only ("": GET /v1/faxes/{id}/document answers 501).
	ArchiveDir string
	// Fallbacks is this host's softmodem fallback list (FreeSWITCH's
	// mod_db); nil: /v1/fallbacks answers 501. FallbackTTL is [freeswitch]
	// fallbackttl, for the entries' expiry.
	Fallbacks   FallbackList
	FallbackTTL time.Duration
	AdminTokens []AdminToken
	// Addr is where Open listens when it is given no listener
	// (default 127.0.0.1:8417).
	Addr string
	// TLSCert and TLSKey are PEM files; both set = HTTPS.
	TLSCert, TLSKey string
	// TLSConfig, when set, is used instead of loading TLSCert/TLSKey.
	TLSConfig *tls.Config
	MaxBody   int64 // largest JSON body (default 1 MiB)
	MaxUpload int64 // largest fax submission (default 50 MiB)
	MaxPages  int   // most pages of a submitted fax (default 500)
	// RateLimit is requests per second per credential (0 = no limit),
	// RateBurst the bucket size (default 2 × RateLimit, at least 1).
	RateLimit float64
	RateBurst int
	// Ready, if set, tells whether the store can be used (gofaxd: the
	// schema is migrated); until it returns nil every request is answered
	// 503 with its error's text and Retry-After.
	Ready func() error
	// UploadDir holds submitted documents until Submit returns
	// (required for POST /v1/faxes).
	UploadDir string
	// PDFInfo is the pdfinfo program (default "pdfinfo").
	PDFInfo string
	// Spool is HylaFAX's spool: pdfinfo runs there, as the spool's owner
	// when the server runs as root (gofaxlib/hook), and uploaded
	// documents are given to that owner. "": the working directory.
	Spool string
	// User names that would make other HylaFAX users' jobs a tenant's
	// are refused (see checkUsername): the accounts of PasswdFile
	// (default /etc/passwd), the hfaxd logins HostsHfaxd names ("" =
	// none), and ReservedUsernames (gofaxd: [web] hfaxduser).
	PasswdFile        string
	HostsHfaxd        string
	ReservedUsernames []string
	// KeyCacheTTL is how long a verified API key is trusted without
	// asking the store (default 10s; negative = no cache). Keys revoked,
	// users and tenants suspended or deleted through this server are
	// dropped at once; through another host or psql within the TTL.
	KeyCacheTTL time.Duration
	// Timeouts of the http.Server (defaults: read header 10s, read 5m,
	// write 5m, idle 2m).
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	Logger                                                    *slog.Logger
}

// Defaults of Options.
const (
	DefaultAddr      = "127.0.0.1:8417"
	DefaultMaxBody   = 1 << 20
	DefaultMaxUpload = 50 << 20
	DefaultMaxPages  = 500
	defaultKeyTTL    = 10 * time.Second
	// The read and write timeouts bound a whole request, so they must
	// allow a 50 MiB upload on a slow line (5 min ≈ 1.4 Mbit/s) and the
	// PDF check and hfaxd submission after it.
	defaultReadHeaderTimeout = 10 * time.Second
	defaultReadTimeout       = 5 * time.Minute
	defaultWriteTimeout      = 5 * time.Minute
	defaultIdleTimeout       = 2 * time.Minute
	// maxHeaderBytes bounds request headers: a bearer token or Basic
	// credentials and a few standard headers fit many times over.
	maxHeaderBytes = 64 << 10
)

// Server is the REST API. Create it with New, start it with Open, stop it
// with Shutdown.
type Server struct {
	o       Options
	store   Store
	log     *slog.Logger
	mux     *http.ServeMux
	limiter *limiter
	// logins counts failed Basic logins per client address.
	logins        *limiter
	loginsFailed  atomic.Uint64
	loginsRefused atomic.Uint64
	keys          *keyCache
	reqSeq        atomic.Uint64
	reqPre        string
	started       time.Time
	// faxLocks serialise the submissions of one fax (lockFax).
	faxLocks [faxLocks]chan struct{}
	// stop ends when Shutdown's context ended: the requests still
	// running are cut short (their contexts derive from it, and a
	// submission's own context ends with it).
	stop     context.Context
	hardStop context.CancelFunc
	// handlers counts the requests being handled; Shutdown waits for
	// them. Once closed is set no request starts.
	hmu      sync.Mutex
	closed   bool
	handlers sync.WaitGroup

	mu   sync.Mutex
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// New checks o and builds the server's routes. It does not listen.
func New(o Options) (*Server, error) {
	if o.Store == nil {
		return nil, errors.New("api: no store")
	}
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.MaxUpload <= 0 {
		o.MaxUpload = DefaultMaxUpload
	}
	if o.MaxPages <= 0 {
		o.MaxPages = DefaultMaxPages
	}
	if o.PDFInfo == "" {
		o.PDFInfo = "pdfinfo"
	}
	if o.PasswdFile == "" {
		o.PasswdFile = defaultPasswdFile
	}
	if o.KeyCacheTTL == 0 {
		o.KeyCacheTTL = defaultKeyTTL
	}
	if o.RateLimit > 0 && o.RateBurst <= 0 {
		o.RateBurst = max(1, int(2*o.RateLimit))
	}
	orDefault := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	orDefault(&o.ReadHeaderTimeout, defaultReadHeaderTimeout)
	orDefault(&o.ReadTimeout, defaultReadTimeout)
	orDefault(&o.WriteTimeout, defaultWriteTimeout)
	orDefault(&o.IdleTimeout, defaultIdleTimeout)
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return nil, errors.New("api: give both a TLS certificate and key, or neither")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	pre := make([]byte, 4)
	rand.Read(pre)
	s := &Server{
		o:       o,
		store:   o.Store,
		log:     o.Logger,
		mux:     http.NewServeMux(),
		keys:    newKeyCache(o.KeyCacheTTL),
		reqPre:  hex.EncodeToString(pre),
		started: time.Now(),
	}
	for i := range s.faxLocks {
		s.faxLocks[i] = make(chan struct{}, 1)
	}
	s.stop, s.hardStop = context.WithCancel(context.Background())
	if o.RateLimit > 0 {
		s.limiter = newLimiter(o.RateLimit, o.RateBurst, maxBuckets)
	}
	s.logins = newLimiter(1/loginRefill.Seconds(), loginFailures, maxBuckets)
	for _, rt := range routes {
		h := rt.handle
		s.mux.HandleFunc(rt.pattern, func(w http.ResponseWriter, r *http.Request) {
			if err := h(s, w, r, principalOf(r)); err != nil {
				s.writeError(w, r, err)
			}
		})
	}
	s.mux.HandleFunc("/", s.noRoute)
	return s, nil
}

// Open starts serving on ln, or when ln is nil on a new listener on
// Options.Addr (bound before Open returns, so Addr reports the real
// address, also for port 0). With TLS configured, ln carries HTTPS.
func (s *Server) Open(ln net.Listener) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return errors.New("api: already open")
	}
	var tcfg *tls.Config
	switch {
	case s.o.TLSConfig != nil:
		tcfg = s.o.TLSConfig.Clone()
	case s.o.TLSCert != "":
		cert, err := tls.LoadX509KeyPair(s.o.TLSCert, s.o.TLSKey)
		if err != nil {
			return fmt.Errorf("api: TLS certificate: %w", err)
		}
		tcfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.o.Addr); err != nil {
			return fmt.Errorf("api: %w", err)
		}
	}
	if tcfg != nil {
		if len(tcfg.NextProtos) == 0 {
			tcfg.NextProtos = []string{"h2", "http/1.1"}
		}
		ln = tls.NewListener(ln, tcfg)
	}
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.o.ReadHeaderTimeout,
		ReadTimeout:       s.o.ReadTimeout,
		WriteTimeout:      s.o.WriteTimeout,
		IdleTimeout:       s.o.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return s.stop },
	}
	if tcfg != nil {
		s.srv.TLSConfig = tcfg
	}
	s.ln = ln
	s.done = make(chan struct{})
	go func(srv *http.Server, done chan struct{}) {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("api: serving stopped", "error", err)
		}
	}(s.srv, s.done)
	s.log.Info("api: listening", "addr", ln.Addr().String(), "tls", tcfg != nil)
	return nil
}

// Addr is the address Open listens on (nil before Open).
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// handlerStopWait bounds how long Shutdown waits for requests after its
// context ended and they were cut short: their work (store queries, hfaxd
// sessions) ends with their contexts, so this is time to return.
const handlerStopWait = 10 * time.Second

// Shutdown stops accepting connections and waits for running requests
// until ctx ends; then it cuts short those still running (their contexts
// end) and closes the remaining connections. It returns when the
// serving goroutine and every request's handler have ended (the store
// may be closed then), or with an error handlerStopWait after ctx ended
// when some have not.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	srv, done := s.srv, s.done
	s.mu.Unlock()
	var err error
	if srv != nil {
		if err = srv.Shutdown(ctx); err != nil {
			s.hardStop()
			srv.Close()
		}
		<-done
	}
	s.hardStop()
	s.hmu.Lock()
	s.closed = true
	s.hmu.Unlock()
	finished := make(chan struct{})
	go func() {
		s.handlers.Wait()
		close(finished)
	}()
	t := time.NewTimer(handlerStopWait)
	defer t.Stop()
	select {
	case <-finished:
	case <-t.C:
		return fmt.Errorf("api: requests still running %v after the stop", handlerStopWait)
	}
	return err
}

// enter counts a request in; false once Shutdown no longer waits for
// requests.
func (s *Server) enter() bool {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	if s.closed {
		return false
	}
	s.handlers.Add(1)
	return true
}

// Handler returns the API's handler (for unit tests with httptest).
func (s *Server) Handler() http.Handler { return s }

type ctxKey int

const (
	ctxPrincipal ctxKey = iota
	ctxRequestID
)

func principalOf(r *http.Request) *principal {
	p, _ := r.Context().Value(ctxPrincipal).(*principal)
	return p
}

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(ctxRequestID).(string)
	return id
}

// clientIDRe is what a client's X-Request-Id may look like to be taken
// over (it ends up in logs).
var clientIDRe = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ServeHTTP gives the request an id, authenticates it (every route needs
// credentials; without them even an unknown path is a 401), applies the
// rate limit of the credential and dispatches it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("X-Request-Id")
	if !clientIDRe.MatchString(id) {
		id = s.reqPre + "-" + strconv.FormatUint(s.reqSeq.Add(1), 36)
	}
	w.Header().Set("X-Request-Id", id)
	ctx := context.WithValue(r.Context(), ctxRequestID, id)
	r = r.WithContext(ctx)
	if !s.enter() {
		s.writeError(w, r, &reason{sentinel: gofaxlib.ErrUnavailable, msg: "the server is stopping; retry the request"})
		return
	}
	defer s.handlers.Done()
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("api: handler panicked", "request_id", id, "method", r.Method, "path", r.URL.Path, "panic", v)
			s.writeError(w, r, fmt.Errorf("panic: %v", v))
		}
	}()
	if s.o.Ready != nil {
		if err := s.o.Ready(); err != nil {
			s.writeError(w, r, &reason{sentinel: gofaxlib.ErrUnavailable, msg: err.Error()})
			return
		}
	}
	p, err := s.authenticate(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	r = r.WithContext(context.WithValue(ctx, ctxPrincipal, p))
	s.mux.ServeHTTP(w, r)
}

// methods are those the API's routes use.
var methods = []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete}

// noRoute answers requests no route matches: 405 with Allow when the path
// exists with other methods, else 404.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range methods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		s.writeError(w, r, fail(gofaxlib.ErrNotFound, "no such resource"))
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	s.writeError(w, r, fail(errMethod, "%s is not allowed here; allowed: %s", r.Method, strings.Join(allow, ", ")))
}

// encode writes v as JSON with status: the one place responses are
// encoded.
func (s *Server) encode(w http.ResponseWriter, contentType string, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own types are encoded; this is a bug.
		s.log.Error("api: encoding a response", "error", err)
		http.Error(w, `{"title":"Internal Server Error","status":500}`, http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// reply answers with a JSON document.
func (s *Server) reply(w http.ResponseWriter, status int, v any) {
	s.encode(w, "application/json", status, v)
}

// noContent answers 204.
func noContent(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// uploadDir returns the directory for submitted documents, creating it
// (the spool owner's, see giveToSpool).
func (s *Server) uploadDir() (string, error) {
	if s.o.UploadDir == "" {
		return "", fail(errNotImplemented, "fax submission is not configured on this server ([web] uploaddir)")
	}
	if _, err := os.Stat(s.o.UploadDir); err == nil {
		return s.o.UploadDir, nil
	}
	if err := os.MkdirAll(s.o.UploadDir, 0o750); err != nil {
		return "", fmt.Errorf("api: upload directory: %w", err)
	}
	if err := s.giveToSpool(s.o.UploadDir); err != nil {
		return "", fmt.Errorf("api: upload directory: %w", err)
	}
	return s.o.UploadDir, nil
}

// giveToSpool makes paths, which the server created, belong to the
// owner of the spool when the server runs as root: pdfinfo runs as that
// owner (gofaxlib/hook) and must read the documents, and gofaxd started
// by its unit (as that owner) must read what a run as root kept.
func (s *Server) giveToSpool(paths ...string) error {
	if s.o.Spool == "" || os.Geteuid() != 0 {
		return nil
	}
	uid, gid, err := hook.OwnerIDs(s.o.Spool)
	if err != nil || uid == 0 {
		return err
	}
	for _, path := range paths {
		if err := os.Lchown(path, int(uid), int(gid)); err != nil {
			return err
		}
	}
	return nil
}
