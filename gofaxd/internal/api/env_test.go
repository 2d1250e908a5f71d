package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/api"
	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/freeswitch"
	"github.com/gofaxserver/gofaxserver/gofaxlib/postgres"
	"github.com/gofaxserver/gofaxserver/gofaxlib/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var _ api.Store = (*postgres.Store)(nil)

// planDE is the number plan of the tests: Germany.
var planDE = gofaxlib.NumberPlan{CountryCode: "49", NationalPrefix: "0", InternationalPrefix: "00"}

// testHost is the store's host name: faxes queued here can be canceled.
const testHost = "api-test-host"

// adminToken is the operator's token in every test server.
const adminToken = "test-admin-token-0123456789abcdef"

// testTimeout bounds each test's work; generous, the machine is shared.
const testTimeout = 3 * time.Minute

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// migratedTemplate is a database with every migration, copied per test.
func migratedTemplate(t testing.TB) string {
	return pgtest.Template(t, "api_migrated", func(ctx context.Context, dsn string) error {
		db, err := sql.Open("postgres", dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = postgres.Migrate(ctx, db, "template")
		return err
	})
}

// newStore opens a store on a fresh migrated database.
func newStore(t testing.TB) *postgres.Store {
	t.Helper()
	dsn := pgtest.NewDatabase(t, migratedTemplate(t))
	s, err := postgres.Open(postgres.Options{DSN: dsn, Host: testHost, Plan: planDE, MaxConns: 16})
	must(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// env is a running API server on 127.0.0.1:0 with a real store.
type env struct {
	store   *postgres.Store
	srv     *api.Server
	base    string
	client  *http.Client
	sub     *fakeSubmitter
	upload  string
	archive string
	fb      *fakeFallbacks
}

// newEnv starts a server on a new database; opts change its options.
func newEnv(t testing.TB, opts ...func(*api.Options)) *env {
	t.Helper()
	return newEnvStore(t, newStore(t), opts...)
}

func newEnvStore(t testing.TB, store api.Store, opts ...func(*api.Options)) *env {
	t.Helper()
	e := &env{sub: &fakeSubmitter{host: testHost}, upload: t.TempDir(), archive: t.TempDir(), fb: newFakeFallbacks()}
	if ps, ok := store.(*postgres.Store); ok {
		e.store = ps
	}
	o := api.Options{
		Store:       store,
		Submitter:   e.sub,
		Plan:        planDE,
		AdminTokens: []api.AdminToken{{Name: "ops", SHA256: sha256.Sum256([]byte(adminToken))}},
		Addr:        "127.0.0.1:0",
		UploadDir:   e.upload,
		ArchiveDir:  e.archive,
		Fallbacks:   e.fb,
		FallbackTTL: 30 * 24 * time.Hour,
		Logger:      slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	for _, f := range opts {
		f(&o)
	}
	srv, err := api.New(o)
	must(t, err)
	must(t, srv.Open(nil))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	e.srv = srv
	e.base = "http://" + srv.Addr().String()
	e.client = &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	t.Cleanup(e.client.CloseIdleConnections)
	return e
}

// testWriter sends the server's log to the test's log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// cred is how a request authenticates: a bearer token, a Basic login, or
// nothing.
type cred struct {
	bearer     string
	user, pass string
}

var (
	anonymous = cred{}
	admin     = cred{bearer: adminToken}
)

func bearer(token string) cred { return cred{bearer: token} }

// response is a response read in full.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response %d %s: %v", r.status, r.body, err)
	}
}

// object decodes the body as a JSON object.
func (r response) object(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.json(t, &m)
	return m
}

// form is a multipart/form-data body: fields and files, in order.
type form struct {
	parts []formPart
}

type formPart struct {
	name, filename, ctype string
	data                  []byte
}

func (f *form) field(name, value string) *form {
	f.parts = append(f.parts, formPart{name: name, data: []byte(value)})
	return f
}

func (f *form) file(filename, ctype string, data []byte) *form {
	f.parts = append(f.parts, formPart{name: "file", filename: filename, ctype: ctype, data: data})
	return f
}

func (f *form) encode() ([]byte, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range f.parts {
		h := textproto.MIMEHeader{}
		if p.filename != "" || p.name == "file" {
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, p.name, p.filename))
			if p.ctype != "" {
				h.Set("Content-Type", p.ctype)
			}
		} else {
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q`, p.name))
		}
		pw, _ := w.CreatePart(h)
		pw.Write(p.data)
	}
	w.Close()
	return b.Bytes(), w.FormDataContentType()
}

// do sends a request and checks the response against the OpenAPI
// document. body is nil, a []byte of JSON, a *form, or a value to encode
// as JSON; hdr are header name/value pairs.
func (e *env) do(t testing.TB, method, path string, c cred, body any, hdr ...string) response {
	t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, ctype = bytes.NewReader(b), "application/json"
	case *form:
		data, ct := b.encode()
		rd, ctype = bytes.NewReader(data), ct
	default:
		data, err := json.Marshal(b)
		must(t, err)
		rd, ctype = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequestWithContext(testCtx(t), method, e.base+path, rd)
	must(t, err)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	switch {
	case c.bearer != "":
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	case c.user != "" || c.pass != "":
		req.SetBasicAuth(c.user, c.pass)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.client.Do(req)
	must(t, err)
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	must(t, err)
	r := response{status: res.StatusCode, header: res.Header, body: data}
	checkSpec(t, method, path, r)
	return r
}

// expect fails t unless r has status want.
func expect(t testing.TB, what string, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s: status %d, want %d: %s", what, r.status, want, r.body)
	}
}

// fakeSubmitter stands in for the hfaxd client: it records jobs, copies
// their documents (they are removed after Submit returns) and answers
// with increasing job ids, or with err.
type fakeSubmitter struct {
	host string

	mu     sync.Mutex
	err    error
	lookEr error // Lookup's error for faxes it has no job of (nil: ErrNotFound)
	jobs   []gofaxlib.SubmitJob
	docs   [][]byte
	killed []int
	killEr error
	seq    atomic.Int64
	// unknown makes Submit answer ErrOutcomeUnknown, having queued the
	// job when queues is set.
	unknown, queues bool
}

func (f *fakeSubmitter) Submit(ctx context.Context, job gofaxlib.SubmitJob) (string, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return "", 0, f.err
	}
	for _, d := range job.Documents {
		b, err := os.ReadFile(d.Path)
		if err != nil {
			return "", 0, err
		}
		f.docs = append(f.docs, b)
	}
	f.jobs = append(f.jobs, job)
	id := int(f.seq.Add(1))
	if f.unknown {
		if !f.queues {
			f.jobs = f.jobs[:len(f.jobs)-1]
			f.seq.Add(-1)
		}
		return "", 0, fmt.Errorf("hfaxd: the reply to JSUBM was lost: %w", gofaxlib.ErrOutcomeUnknown)
	}
	return f.host, id, nil
}

func (f *fakeSubmitter) Kill(ctx context.Context, host string, jobID int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.killEr != nil {
		return f.killEr
	}
	f.killed = append(f.killed, jobID)
	return nil
}

func (f *fakeSubmitter) Lookup(ctx context.Context, faxID string) (string, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, j := range f.jobs {
		if j.FaxID == faxID {
			return f.host, i + 1, nil
		}
	}
	if f.lookEr != nil {
		return "", 0, f.lookEr
	}
	return "", 0, gofaxlib.ErrNotFound
}

func (f *fakeSubmitter) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeSubmitter) submitted() []gofaxlib.SubmitJob {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]gofaxlib.SubmitJob(nil), f.jobs...)
}

// fakeFallbacks is a softmodem fallback list in memory: realm → key →
// when added (zero: by hand).
type fakeFallbacks struct {
	mu      sync.Mutex
	m       map[string]map[string]time.Time
	removed []string
	err     error
}

func newFakeFallbacks() *fakeFallbacks {
	return &fakeFallbacks{m: map[string]map[string]time.Time{freeswitch.FallbackRealm: {}, freeswitch.FallbackInboundRealm: {}}}
}

func (f *fakeFallbacks) add(realm, key string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[realm][key] = at
}

func (f *fakeFallbacks) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeFallbacks) Entries(ctx context.Context) ([]freeswitch.FallbackEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	var out []freeswitch.FallbackEntry
	for realm, keys := range f.m {
		for k, at := range keys {
			out = append(out, freeswitch.FallbackEntry{Realm: realm, Key: k, Added: at})
		}
	}
	return out, nil
}

func (f *fakeFallbacks) Remove(ctx context.Context, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.removed = append(f.removed, key)
	for _, keys := range f.m {
		delete(keys, key)
	}
	return nil
}

// makePDF builds a valid PDF of empty A4 pages.
func makePDF(pages int) []byte {
	var b bytes.Buffer
	var offsets []int
	obj := func(s string) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets), s)
	}
	b.WriteString("%PDF-1.4\n")
	kids := make([]string, pages)
	for i := range kids {
		kids[i] = fmt.Sprintf("%d 0 R", 3+i)
	}
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), pages))
	for range pages {
		obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>")
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return b.Bytes()
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	must(t, err)
	return b
}

func sha256Of(s string) [sha256.Size]byte { return sha256.Sum256([]byte(s)) }

// needPDFInfo skips t without poppler's pdfinfo (contrib/install-deps.sh
// installs it), unless GOFAX_TEST_POSTGRES=1 (make test, CI): then the
// missing program fails the test.
func needPDFInfo(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("pdfinfo"); err != nil {
		if os.Getenv(pgtest.EnvVar) == "1" {
			t.Fatal("pdfinfo not found (apt-get install poppler-utils)")
		}
		t.Skip("pdfinfo not found (apt-get install poppler-utils)")
	}
}
