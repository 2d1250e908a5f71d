package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/mail"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
	"github.com/gofaxserver/gofaxserver/gofaxlib/journal"
	"github.com/gofaxserver/gofaxserver/gofaxlib/notify/notifytest"
)

// hookRequest is one webhook request a hookServer took.
type hookRequest struct {
	path, id, ctype string
	body            []byte
	at              time.Time
}

// hookServer is a webhook receiver on 127.0.0.1:0 (a real HTTP server).
// On /hook/<name> it checks the Standard Webhooks signature with its own
// implementation (HMAC-SHA256 over "id.timestamp.body", keyed with the
// base64-decoded part of the endpoint's whsec_ secret), answers 500 to
// the first fails tries of each webhook-id and 200 after, and
// de-duplicates by webhook-id; /gone answers 410, /redirect 302 to
// /redirected, which only counts.
type hookServer struct {
	t     testing.TB
	url   string
	fails int
	hang  bool // /hook/* never answers (until the server closes); under mu

	mu       sync.Mutex
	secrets  map[string]string // path → secret
	tries    map[string]int    // path+id → requests
	accepted map[string][]hookRequest
	badSig   []string
	hits     map[string]int // path → requests
}

func newHookServer(t testing.TB, fails int) *hookServer {
	h := &hookServer{t: t, fails: fails, secrets: map[string]string{}, tries: map[string]int{},
		accepted: map[string][]hookRequest{}, hits: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	h.url = "http://" + ln.Addr().String()
	return h
}

// secret registers the secret of the endpoint posting to path.
func (h *hookServer) secret(path, secret string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.secrets[path] = secret
}

func (h *hookServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	h.mu.Lock()
	h.hits[r.URL.Path]++
	secret, hang := h.secrets[r.URL.Path], h.hang
	h.mu.Unlock()
	switch {
	case r.URL.Path == "/gone":
		w.WriteHeader(http.StatusGone)
		return
	case r.URL.Path == "/redirect":
		http.Redirect(w, r, "/redirected", http.StatusFound)
		return
	case !strings.HasPrefix(r.URL.Path, "/hook/"):
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if hang {
		<-r.Context().Done()
		return
	}
	id, ts, sig := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature")
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := verifyWebhook(secret, id, ts, sig, body, time.Now()); err != nil {
		h.badSig = append(h.badSig, fmt.Sprintf("%s %s: %v", r.URL.Path, id, err))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	key := r.URL.Path + " " + id
	if h.tries[key]++; h.tries[key] <= h.fails {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	h.accepted[key] = append(h.accepted[key], hookRequest{path: r.URL.Path, id: id, ctype: r.Header.Get("Content-Type"), body: body, at: time.Now()})
	w.WriteHeader(http.StatusNoContent)
}

// verifyWebhook is an implementation of the Standard Webhooks scheme of
// its own, independent of package notify: the signature is
// base64(HMAC-SHA256(key, id "." timestamp "." body)), key the base64
// after "whsec_", one of the space-separated "v1,<sig>" must match, and
// the timestamp must be within five minutes.
func verifyWebhook(secret, id, ts, header string, body []byte, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || !strings.HasPrefix(secret, "whsec_") || len(key) < 24 {
		return fmt.Errorf("secret %q unusable", secret)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return fmt.Errorf("timestamp %q", ts)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range strings.Fields(header) {
		v, b64, ok := strings.Cut(s, ",")
		got, err := base64.StdEncoding.DecodeString(b64)
		if ok && v == "v1" && err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("no matching signature in %q", header)
}

// events returns the events path accepted, in order, de-duplicated by id,
// and how many were accepted more than once.
func (h *hookServer) events(path string) (evs []hookRequest, dups int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for key, reqs := range h.accepted {
		if strings.HasPrefix(key, path+" ") {
			evs = append(evs, reqs[0])
			dups += len(reqs) - 1
		}
	}
	return evs, dups
}

func (h *hookServer) hitCount(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hits[path]
}

// envelope is a webhook's JSON body.
type envelope struct {
	ID          string
	Type        string
	Data        gofaxlib.FaxResource
	Attachments []struct{ Filename string }
}

func decodeEnvelope(t testing.TB, r hookRequest) envelope {
	t.Helper()
	body := r.body
	if mt, params, _ := mime.ParseMediaType(r.ctype); mt == "multipart/form-data" {
		mr := multipart.NewReader(strings.NewReader(string(r.body)), params["boundary"])
		p, err := mr.NextPart()
		if err != nil || p.FormName() != "payload" {
			t.Fatalf("multipart webhook without payload part: %v", err)
		}
		body, _ = io.ReadAll(p)
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("webhook body: %v: %.300s", err, body)
	}
	if env.ID != r.id {
		t.Errorf("body id %q, webhook-id %q", env.ID, r.id)
	}
	return env
}

// withReceipts configures receipts for the tests: retries in fractions of
// a second, webhooks to 127.0.0.1 allowed, mail through smtpPort.
func withReceipts(d *tenantDB, smtpPort int) func(*config.Config) {
	return func(c *config.Config) {
		withDatabase(d, config.UnknownReject)(c)
		c.Receipts.Retry = []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}
		c.Receipts.PerTarget = 8
		c.Webhooks.Allow = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		c.Webhooks.Timeout = 10 * time.Second
		if smtpPort > 0 {
			c.SMTP = config.SMTP{Host: "127.0.0.1", Port: smtpPort, TLS: config.TLSNone, From: "Fax Server <fax@gofax.test>",
				Timeout: 10 * time.Second}
		}
	}
}

// endpoint creates an enabled receipt endpoint and registers a webhook's
// secret with hs.
func (d *tenantDB) endpoint(t testing.TB, hs *hookServer, e gofaxlib.Endpoint) gofaxlib.Endpoint {
	t.Helper()
	e.Enabled = true
	if err := d.store.CreateEndpoint(context.Background(), gofaxlib.OperatorScope(), &e); err != nil {
		t.Fatal(err)
	}
	if e.Kind == gofaxlib.KindWebhook && hs != nil {
		if u := strings.TrimPrefix(e.Target, hs.url); u != e.Target {
			hs.secret(u, e.Secret)
		}
	}
	return e
}

// sendRecords writes, as gofaxsend and its NotifyCmd mode do (a journal
// writer of their own in gofaxd's journal directory), records of a job.
func sendRecords(t testing.TB, dir string, recs ...journal.Record) {
	t.Helper()
	w, err := journal.OpenWriter(dir, journal.WriterOptions{Name: "gofaxsend-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Append(context.Background(), recs...); err != nil {
		t.Fatal(err)
	}
}

func attemptRecord(t testing.TB, ref gofaxlib.JobRef, cause string, ok bool) journal.Record {
	start := time.Now().Add(-time.Minute).UTC()
	a := gofaxlib.Attempt{Modem: "freeswitch0", Gateway: "carrier", Number: ref.To, Started: start, Ended: start.Add(20 * time.Second),
		HangupCause: cause, PagesTotal: ref.PagesTotal}
	if ok {
		a.Answered, a.ResultText, a.Success, a.PagesTransferred, a.SignalRate = start.Add(time.Second), "OK", true, ref.PagesTotal, 14400
	}
	rec, err := journal.NewRecord(gofaxlib.RecordSendAttempt, gofaxlib.SendAttempt{Job: ref, Attempt: a})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func noticeRecord(t testing.TB, ref gofaxlib.JobRef, why string) journal.Record {
	n := gofaxlib.JobNotice{Job: ref, Why: why, Time: time.Now().UTC(), Status: "why " + why, Tries: 1}
	if why == "done" {
		n.PagesTransferred = ref.PagesTotal
	}
	if why == "requeued" {
		n.NextTry = time.Now().Add(time.Minute).UTC()
	}
	rec, err := journal.NewRecord(gofaxlib.RecordJobNotice, n)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// eventCounts counts the events of fax id by type.
func (d *tenantDB) eventCounts(t testing.TB, faxID string) map[string]int {
	t.Helper()
	rows, err := d.store.DB().Query("SELECT type, count(*) FROM events WHERE fax_id = $1 GROUP BY type", faxID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[string]int{}
	for rows.Next() {
		var typ string
		var n int
		rows.Scan(&typ, &n)
		m[typ] = n
	}
	return m
}

// deliveryOf returns the status and last error of the delivery of fax
// id's event of type typ to endpoint ep ("" when there is none).
func (d *tenantDB) deliveryOf(t testing.TB, faxID, typ, ep string) (status, lastErr string) {
	t.Helper()
	d.store.DB().QueryRow(`SELECT d.status, d.last_error FROM deliveries d JOIN events ev ON ev.id = d.event_id
		WHERE ev.fax_id = $1 AND ev.type = $2 AND d.endpoint_id = $3`, faxID, typ, ep).Scan(&status, &lastErr)
	return status, lastErr
}

// within polls cond until it holds or limit passes.
func within(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// mailPart is one part of a received mail.
type mailPart struct {
	ctype, filename string
	data            []byte
}

// parseMail reads a received message: its header and its parts, base64
// and quoted-printable decoded.
func parseMail(t testing.TB, raw []byte) (mail.Header, []mailPart) {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("mail: %v", err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		b, _ := io.ReadAll(m.Body)
		return m.Header, []mailPart{{ctype: mt, data: b}}
	}
	var parts []mailPart
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("mail part: %v", err)
		}
		data, _ := io.ReadAll(p)
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
			data, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(data)), ""))
			if err != nil {
				t.Fatalf("attachment base64: %v", err)
			}
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts = append(parts, mailPart{ctype: ct, filename: p.FileName(), data: data})
	}
	return m.Header, parts
}

// pdfPages opens pdf with poppler's pdfinfo and returns its page count.
func pdfPages(t testing.TB, pdf []byte) int {
	t.Helper()
	notifytest.Need(t, "pdfinfo (poppler-utils)", func() error { _, err := exec.LookPath("pdfinfo"); return err })
	f := filepath.Join(t.TempDir(), "a.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdfinfo", f).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo: %v: %s", err, out)
	}
	m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("pdfinfo printed no page count: %s", out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// TestReceiptsEndToEnd: gofaxd with [database], a real PostgreSQL, the
// simulated FreeSWITCH, a real webhook receiver and a real SMTP server.
// A received fax gives a signed webhook (checked with an independent
// implementation of the signature) and an e-mail whose PDF opens with
// pdfinfo and has the fax's pages, with the transmission report. A sent
// job retried once gives one fax.retrying, to the endpoint that asks for
// it only, and exactly one fax.delivered, written by faxq's decision, not
// by the successful attempt. A webhook answering 410 is disabled, a
// redirect is not followed, a loopback address not allowed is refused.
func TestReceiptsEndToEnd(t *testing.T) {
	d := newTenantDB(t)
	ctx := context.Background()
	d.acme.TimeZone = "Europe/Berlin"
	if err := d.store.UpdateTenant(ctx, &d.acme); err != nil {
		t.Fatal(err)
	}
	smtpd := notifytest.StartSMTPD(t, notifytest.SMTPDOptions{})
	hs := newHookServer(t, 1) // every first try of an event fails
	// A listener on another loopback address, which [webhooks] does not allow.
	denied, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2 here: %v", err)
	}
	defer denied.Close()

	tenant := func(kind gofaxlib.EndpointKind, target string, o gofaxlib.EndpointOptions) gofaxlib.Endpoint {
		return d.endpoint(t, hs, gofaxlib.Endpoint{Scope: gofaxlib.ScopeTenant, TenantID: d.acme.ID, Kind: kind, Target: target, Options: o})
	}
	global := func(target string) gofaxlib.Endpoint {
		return d.endpoint(t, hs, gofaxlib.Endpoint{Scope: gofaxlib.ScopeGlobal, Kind: gofaxlib.KindWebhook, Target: target})
	}
	tenant(gofaxlib.KindWebhook, hs.url+"/hook/plain", gofaxlib.EndpointOptions{})
	tenant(gofaxlib.KindWebhook, hs.url+"/hook/retrying", gofaxlib.EndpointOptions{Events: []string{"fax.retrying", "fax.delivered"}})
	tenant(gofaxlib.KindWebhook, hs.url+"/hook/page1", gofaxlib.EndpointOptions{Events: []string{"fax.received"},
		Attach: gofaxlib.AttachFirstPage, Multipart: true})
	tenant(gofaxlib.KindEmail, "fax@acme.example", gofaxlib.EndpointOptions{Events: []string{"fax.received"}, Report: true})
	gone := global(hs.url + "/gone")
	redirect := global(hs.url + "/redirect")
	blocked := global("http://" + denied.Addr().String() + "/hook/blocked")

	e := newEnvScale(t, 1, 0.05, withReceipts(d, smtpd.Port))
	e.waitRouting()

	// A reception.
	e.call(esltest.InboundCall{Destination: "030111111", CallerNumber: "+33123456789", CallerName: "Müller",
		Scenario: esltest.Scenario{T38: true, StationID: "+33 1 23 45 67 89"}})
	_, env := e.faxrcvd("000000001")
	faxIn := env["FAX_ID"]
	within(t, time.Minute, "the reception's webhooks and mail", func() bool {
		a, _ := hs.events("/hook/plain")
		b, _ := hs.events("/hook/page1")
		return len(a) == 1 && len(b) == 1 && len(smtpd.Messages(t)) == 1
	})
	evs, _ := hs.events("/hook/plain")
	got := decodeEnvelope(t, evs[0])
	if got.Type != "fax.received" || got.Data.ID != faxIn || got.Data.Pages.Transferred != 2 || got.Data.From != "+33123456789" ||
		got.Data.To != "+4930111111" || len(got.Attachments) != 0 || evs[0].ctype != "application/json" {
		t.Errorf("fax.received webhook: %+v (%s)", got, evs[0].ctype)
	}
	evs, _ = hs.events("/hook/page1")
	if !strings.HasPrefix(evs[0].ctype, "multipart/form-data") {
		t.Errorf("page1 webhook of type %s", evs[0].ctype)
	} else {
		_, params, _ := mime.ParseMediaType(evs[0].ctype)
		mr := multipart.NewReader(strings.NewReader(string(evs[0].body)), params["boundary"])
		mr.NextPart() // payload
		p, err := mr.NextPart()
		if err != nil || p.FormName() != "file" || !strings.HasSuffix(p.FileName(), " page 1.pdf") {
			t.Fatalf("page1 webhook's file part: %v %q", err, p.FileName())
		}
		pdf, _ := io.ReadAll(p)
		if n := pdfPages(t, pdf); n != 1 {
			t.Errorf("first page PDF of %d pages", n)
		}
	}

	msg := smtpd.Messages(t)[0]
	hdr, parts := parseMail(t, msg.Raw)
	if msg.RcptTos[0] != "fax@acme.example" || hdr.Get("Date") == "" || hdr.Get("Message-Id") == "" ||
		hdr.Get("Subject") != "Fax received from +33123456789 (2 pages)" {
		t.Errorf("mail to %v, header %v", msg.RcptTos, hdr)
	}
	var pdfs []mailPart
	for _, p := range parts {
		if p.ctype == "application/pdf" {
			pdfs = append(pdfs, p)
		}
	}
	if len(parts) == 0 || !strings.Contains(string(parts[0].data), "Pages:    2") || !strings.Contains(string(parts[0].data), "(Europe/Berlin)") {
		t.Errorf("mail body: %q", parts[0].data)
	}
	if len(pdfs) != 2 {
		t.Fatalf("mail has %d PDF attachments, want the fax and the report", len(pdfs))
	}
	if n := pdfPages(t, pdfs[0].data); n != 2 || !strings.HasPrefix(pdfs[0].filename, "Fax from Müller +33123456789 ") {
		t.Errorf("fax attachment %q of %d pages", pdfs[0].filename, n)
	}
	if n := pdfPages(t, pdfs[1].data); n != 1 || !strings.HasPrefix(pdfs[1].filename, "Fax report from Müller") {
		t.Errorf("report attachment %q of %d pages", pdfs[1].filename, n)
	}

	// The global endpoints: 410 disables, a redirect is not followed
	// (retried, then dead), a loopback address not allowed is refused.
	within(t, time.Minute, "the global endpoints' outcomes", func() bool {
		s1, _ := d.deliveryOf(t, faxIn, "fax.received", gone.ID)
		s2, _ := d.deliveryOf(t, faxIn, "fax.received", redirect.ID)
		s3, _ := d.deliveryOf(t, faxIn, "fax.received", blocked.ID)
		return s1 == "dead" && s2 == "dead" && s3 == "dead"
	})
	if ep, _ := d.store.Endpoint(ctx, gofaxlib.OperatorScope(), gone.ID); ep.Enabled {
		t.Error("the endpoint that answered 410 is still enabled")
	}
	if _, why := d.deliveryOf(t, faxIn, "fax.received", redirect.ID); !strings.Contains(why, "302") || !strings.Contains(why, "the last") {
		t.Errorf("redirect: %q", why)
	}
	if n := hs.hitCount("/redirected"); n != 0 || hs.hitCount("/redirect") != 4 {
		t.Errorf("redirect followed %d times; /redirect asked %d times, want 4 (3 retries)", n, hs.hitCount("/redirect"))
	}
	if _, why := d.deliveryOf(t, faxIn, "fax.received", blocked.ID); !strings.Contains(why, "address not allowed") {
		t.Errorf("loopback target not allowed: %q", why)
	}

	// A send job: busy, requeued, then sent; faxq says done.
	ref := gofaxlib.JobRef{FaxID: "0b0e0000-5e4d-4000-8000-000000000001", Host: "test-host", JobID: 42, TenantID: d.acme.ID,
		From: "+4930111111", To: "+4989123456", PagesTotal: 1}
	sendRecords(t, e.app.journal.Dir(), attemptRecord(t, ref, "USER_BUSY", false), noticeRecord(t, ref, "requeued"),
		attemptRecord(t, ref, "NORMAL_CLEARING", true))
	within(t, time.Minute, "the job's attempts ingested", func() bool {
		var n int
		d.store.DB().QueryRow("SELECT count(*) FROM fax_attempts WHERE fax_id = $1", ref.FaxID).Scan(&n)
		return n == 2
	})
	if c := d.eventCounts(t, ref.FaxID); c["fax.retrying"] != 1 || len(c) != 1 {
		t.Errorf("events after a successful attempt, before faxq's decision: %v (want fax.retrying only)", c)
	}
	sendRecords(t, e.app.journal.Dir(), noticeRecord(t, ref, "done"))
	within(t, time.Minute, "the job's receipts", func() bool {
		a, _ := hs.events("/hook/retrying")
		return len(a) == 2
	})
	within(t, time.Minute, "the plain endpoint's fax.delivered", func() bool {
		a, _ := hs.events("/hook/plain")
		return len(a) == 2
	})
	if c := d.eventCounts(t, ref.FaxID); c["fax.retrying"] != 1 || c["fax.delivered"] != 1 || len(c) != 2 {
		t.Errorf("events of the job: %v", c)
	}
	kinds := func(path string) map[string]int {
		evs, dups := hs.events(path)
		m := map[string]int{}
		for _, r := range evs {
			m[decodeEnvelope(t, r).Type]++
		}
		if dups > 0 {
			m["duplicates"] = dups
		}
		return m
	}
	if k := kinds("/hook/retrying"); k["fax.retrying"] != 1 || k["fax.delivered"] != 1 || len(k) != 2 {
		t.Errorf("the endpoint asking for fax.retrying got %v", k)
	}
	if k := kinds("/hook/plain"); k["fax.received"] != 1 || k["fax.delivered"] != 1 || len(k) != 2 {
		t.Errorf("the endpoint with the default events got %v", k)
	}
	if s, _ := d.deliveryOf(t, ref.FaxID, "fax.delivered", gone.ID); s != "" {
		t.Errorf("the disabled endpoint got a delivery (%s)", s)
	}
	hs.mu.Lock()
	if len(hs.badSig) > 0 {
		t.Errorf("signatures that do not verify: %v", hs.badSig)
	}
	hs.mu.Unlock()
	if n := len(smtpd.Messages(t)); n != 1 {
		t.Errorf("%d mails, want 1 (the mailbox asks for fax.received only)", n)
	}

	// Metrics and health.
	if h := e.app.health.report(ctx).Checks["receipts"]; h.Status != "ok" {
		t.Errorf("health: %+v", h)
	}
	// Counted once each outcome is recorded, just after the receiver had it.
	var m map[string]float64
	counted := func() bool {
		m = e.metricValues("gofaxd_receipts_total")
		return m[`kind="webhook",outcome="delivered"`] >= 5 && m[`kind="webhook",outcome="dead"`] >= 3 &&
			m[`kind="email",outcome="delivered"`] == 1 && m[`kind="webhook",outcome="retried"`] >= 5
	}
	for deadline := time.Now().Add(30 * time.Second); !counted() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if !counted() {
		t.Errorf("gofaxd_receipts_total %v", m)
	}
	for _, g := range []string{"gofaxd_receipts_pending", "gofaxd_receipts_dead"} {
		if m := e.metricValues(g); len(m) != 2 {
			t.Errorf("%s: %v, want a value for webhook and email", g, m)
		}
	}
}

// metricValues returns the values of a metric by its labels
// (`name="value",…`).
func (e *env) metricValues(name string) map[string]float64 {
	out := map[string]float64{}
	mfs, _ := e.app.Metrics().Registry.Gather()
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			out[strings.Join(ls, ",")] = v
		}
	}
	return out
}

// jobDone is the records of a job faxq reports done.
func jobDone(t testing.TB, tenantID string, i int) journal.Record {
	ref := gofaxlib.JobRef{FaxID: fmt.Sprintf("0b0e0000-5e4d-4000-8000-%012d", 1000+i), Host: "test-host", JobID: 1000 + i,
		TenantID: tenantID, From: "+4930111111", To: "+4989123456", PagesTotal: 1}
	return noticeRecord(t, ref, "done")
}

// restart stops gofaxd as SIGTERM would and starts it again on the same
// spool, journal and database.
func (e *env) restart() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.app.Shutdown(ctx); err != nil {
		e.t.Fatalf("Shutdown: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	a, err := Open(e.cfg, Options{Logger: testLogger(e.t), Listener: ln})
	if err != nil {
		e.t.Fatal(err)
	}
	e.app = a
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		a.Shutdown(ctx)
	})
}

// TestReceiptsThousandAcrossRestart measures reliability:
// 1,000 events (jobs faxq reports done), the receiver answers 500 to the
// first two tries of each and 200 after, and gofaxd is stopped and
// started again while they are delivered. Every event arrives, none is
// dead or left; a receiver that de-duplicates by webhook-id sees each
// exactly once.
func TestReceiptsThousandAcrossRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 receipts")
	}
	const events, fails = 1000, 2
	d := newTenantDB(t)
	hs := newHookServer(t, fails)
	d.endpoint(t, hs, gofaxlib.Endpoint{Scope: gofaxlib.ScopeTenant, TenantID: d.acme.ID, Kind: gofaxlib.KindWebhook,
		Target: hs.url + "/hook/erp"})
	e := newEnv(t, 1, withReceipts(d, 0))
	e.waitRouting()
	start := time.Now()
	var recs []journal.Record
	for i := range events {
		recs = append(recs, jobDone(t, d.acme.ID, i))
	}
	sendRecords(t, e.app.journal.Dir(), recs...)
	within(t, 3*time.Minute, "a third of the receipts", func() bool {
		evs, _ := hs.events("/hook/erp")
		return len(evs) >= events/3
	})
	before, _ := hs.events("/hook/erp")
	e.restart()
	restarted := time.Now()
	within(t, 5*time.Minute, "every receipt", func() bool {
		evs, _ := hs.events("/hook/erp")
		return len(evs) == events
	})
	took := time.Since(start)
	// The receiver has each; the last outcomes are being recorded.
	within(t, time.Minute, "every outcome recorded", func() bool {
		var n int
		d.store.DB().QueryRow("SELECT count(*) FROM deliveries WHERE status = 'pending'").Scan(&n)
		return n == 0
	})
	evs, dups := hs.events("/hook/erp")
	var pending, dead, delivered int
	d.store.DB().QueryRow(`SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'dead'),
		count(*) FILTER (WHERE status = 'delivered') FROM deliveries`).Scan(&pending, &dead, &delivered)
	hs.mu.Lock()
	requests := 0
	for _, n := range hs.tries {
		requests += n
	}
	bad := len(hs.badSig)
	hs.mu.Unlock()
	t.Logf("%d events, receiver failing the first %d tries of each: %d delivered (%d before the restart, the rest after it), "+
		"%d requests, %d accepted twice, %d dead, %d pending, %d bad signatures; %v in all, %v after the restart",
		events, fails, len(evs), len(before), requests, dups, dead, pending, bad, took.Round(time.Millisecond),
		time.Since(restarted).Round(time.Millisecond))
	if len(evs) != events || dead != 0 || pending != 0 || delivered != events || bad != 0 {
		t.Errorf("%d distinct receipts, %d delivered, %d dead, %d pending, %d bad signatures", len(evs), delivered, dead, pending, bad)
	}
	if dups != 0 {
		t.Errorf("%d receipts accepted twice across a clean restart", dups)
	}
	if len(before) >= events {
		t.Error("every receipt arrived before the restart: the restart tested nothing")
	}
}

// TestReceiptsSMTPDown: the mail server is down while receipts are due;
// they are retried and all arrive, once each, when it is back.
func TestReceiptsSMTPDown(t *testing.T) {
	const events = 20
	notifytest.NeedAiosmtpd(t)
	d := newTenantDB(t)
	d.endpoint(t, nil, gofaxlib.Endpoint{Scope: gofaxlib.ScopeTenant, TenantID: d.acme.ID, Kind: gofaxlib.KindEmail,
		Target: "fax@acme.example", Options: gofaxlib.EndpointOptions{Attach: gofaxlib.AttachNone}})
	// A port nothing listens on until the server starts there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	e := newEnv(t, 1, func(c *config.Config) {
		withReceipts(d, port)(c)
		c.Receipts.Retry = []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond,
			time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second}
	})
	e.waitRouting()
	var recs []journal.Record
	for i := range events {
		recs = append(recs, jobDone(t, d.acme.ID, i))
	}
	sendRecords(t, e.app.journal.Dir(), recs...)
	within(t, time.Minute, "every receipt tried", func() bool {
		var n int
		d.store.DB().QueryRow("SELECT count(*) FROM deliveries WHERE attempts >= 2 AND status = 'pending'").Scan(&n)
		return n == events
	})
	down := time.Now()
	smtpd := notifytest.StartSMTPD(t, notifytest.SMTPDOptions{Port: port})
	within(t, time.Minute, "every mail", func() bool { return len(smtpd.Messages(t)) >= events })
	within(t, time.Minute, "every outcome recorded", func() bool {
		var n int
		d.store.DB().QueryRow("SELECT count(*) FROM deliveries WHERE status = 'pending'").Scan(&n)
		return n == 0
	})
	ids := map[string]bool{}
	for _, m := range smtpd.Messages(t) {
		h, _ := parseMail(t, m.Raw)
		ids[h.Get("Message-Id")] = true
	}
	var delivered, attempts int
	d.store.DB().QueryRow("SELECT count(*), sum(attempts) FROM deliveries WHERE status = 'delivered'").Scan(&delivered, &attempts)
	t.Logf("SMTP down: %d receipts retried while it was, all %d delivered %v after it came back; %d attempts in all",
		events, delivered, time.Since(down).Round(time.Millisecond), attempts)
	if len(ids) != events || len(smtpd.Messages(t)) != events || delivered != events {
		t.Errorf("%d mails with %d distinct Message-IDs, %d delivered; want %d", len(smtpd.Messages(t)), len(ids), delivered, events)
	}
}

// TestReceiptsStopWithHangingWebhook: a webhook that never answers does
// not hold up gofaxd's stop beyond the receipts' grace; the receipt cut
// short is given back unattempted and sent after the next start.
func TestReceiptsStopWithHangingWebhook(t *testing.T) {
	d := newTenantDB(t)
	hs := newHookServer(t, 0)
	hs.mu.Lock()
	hs.hang = true
	hs.mu.Unlock()
	ep := d.endpoint(t, hs, gofaxlib.Endpoint{Scope: gofaxlib.ScopeTenant, TenantID: d.acme.ID, Kind: gofaxlib.KindWebhook,
		Target: hs.url + "/hook/never"})
	e := newEnv(t, 1, func(c *config.Config) {
		withReceipts(d, 0)(c)
		c.Webhooks.Timeout, c.Webhooks.HeaderTimeout = time.Hour, time.Hour
	})
	e.waitRouting()
	sendRecords(t, e.app.journal.Dir(), jobDone(t, d.acme.ID, 1))
	within(t, time.Minute, "the webhook asked", func() bool { return hs.hitCount("/hook/never") == 1 })
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.app.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if took > 20*time.Second {
		t.Errorf("stop took %v with a webhook hanging", took)
	}
	var status string
	var attempts int
	d.store.DB().QueryRow("SELECT status, attempts FROM deliveries WHERE endpoint_id = $1", ep.ID).Scan(&status, &attempts)
	if status != "pending" || attempts != 0 {
		t.Errorf("after the stop the receipt is %s with %d attempts, want pending with 0", status, attempts)
	}
	// The receiver answers now; started again, gofaxd sends it.
	hs.mu.Lock()
	hs.hang = false
	hs.mu.Unlock()
	e.restart()
	within(t, time.Minute, "the receipt after the restart", func() bool {
		evs, _ := hs.events("/hook/never")
		return len(evs) == 1
	})
	t.Logf("stop with a webhook hanging took %v", took.Round(time.Millisecond))
}
