package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/api"
	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// emptyDir fails t unless the upload directory holds nothing but empty
// directories: every submission leaves nothing behind.
func emptyDir(t testing.TB, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	must(t, err)
	if len(entries) != 0 {
		t.Errorf("upload directory not empty: %v", entries)
	}
}

func TestSubmit(t *testing.T) {
	t.Parallel()
	needPDFInfo(t)
	e := newEnv(t)
	w := makeWorld(t, e)
	ctx := testCtx(t)
	pdf := makePDF(2)
	tiff := readFile(t, "testdata/sent-2page-g3.tif")

	r := e.do(t, "POST", "/v1/faxes", w.a.userCrd, (&form{}).
		field("to", "089 123456").field("from", w.a.number.Number).field("header", "ACME fax").field("max_tries", "3").
		file("letter.txt", "text/plain", pdf).file("scan.pdf", "application/pdf", tiff))
	expect(t, "submit", r, http.StatusAccepted)
	var f gofaxlib.FaxResource
	r.json(t, &f)
	if f.Status != gofaxlib.StatusQueued || f.Direction != gofaxlib.Outbound || f.To != "+4989123456" || f.From != w.a.number.Number ||
		f.Pages.Total != 4 || f.HylaFAX.Host != testHost || f.HylaFAX.JobID != 1 || f.Owner != w.a.user.Username ||
		f.UserID == nil || *f.UserID != w.a.user.ID || f.Attempts == nil || f.CallerIDName != "Fax A" {
		t.Errorf("fax %s", r.body)
	}
	if r.header.Get("Location") != "/v1/faxes/"+f.ID {
		t.Errorf("Location %q", r.header.Get("Location"))
	}
	jobs := e.sub.submitted()
	if len(jobs) != 1 {
		t.Fatalf("%d jobs", len(jobs))
	}
	j := jobs[0]
	if j.FaxID != f.ID || j.Owner != w.a.user.Username || j.TenantID != w.a.tenant.ID || j.From != w.a.number.Number ||
		j.To != "+4989123456" || j.Header != "ACME fax" || j.MaxTries != 3 || !j.SendAt.IsZero() ||
		j.Expires.Before(time.Now().Add(23*time.Hour)) || j.Expires.After(time.Now().Add(25*time.Hour)) {
		t.Errorf("job %+v", j)
	}
	if len(j.Documents) != 2 || j.Documents[0].Format != gofaxlib.FormatPDF || j.Documents[0].Pages != 2 ||
		j.Documents[1].Format != gofaxlib.FormatTIFF || j.Documents[1].Pages != 2 || j.Documents[1].Size != int64(len(tiff)) {
		t.Errorf("documents %+v (recognised by content, not by name or type)", j.Documents)
	}
	if !bytes.Equal(e.sub.docs[0], pdf) || !bytes.Equal(e.sub.docs[1], tiff) {
		t.Error("the submitter got other documents than were uploaded")
	}
	emptyDir(t, e.upload)
	stored, err := e.store.Fax(ctx, gofaxlib.OperatorScope(), f.ID)
	must(t, err)
	if stored.JobID != 1 || stored.Host != testHost || stored.PagesTotal != 4 {
		t.Errorf("stored %+v", stored)
	}
	expect(t, "get", e.do(t, "GET", "/v1/faxes/"+f.ID, w.a.userCrd, nil), 200)

	// The user's default number when from is left out; a TIFF alone;
	// send_at and expires.
	at := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	r = e.do(t, "POST", "/v1/faxes", w.a.userCrd, (&form{}).field("to", "+33 1 23 45 67 89").
		field("send_at", at.Format(time.RFC3339)).field("expires", at.Add(time.Hour).Format(time.RFC3339)).
		file("", "", readFile(t, "testdata/one-page-g4.tif")))
	expect(t, "default number", r, http.StatusAccepted)
	j = e.sub.submitted()[1]
	if j.From != w.a.number.Number || j.To != "+33123456789" || !j.SendAt.Equal(at) || !j.Expires.Equal(at.Add(time.Hour)) ||
		j.Documents[0].Pages != 1 {
		t.Errorf("job %+v", j)
	}
	emptyDir(t, e.upload)

	entries, _, err := e.store.ListAudit(ctx, gofaxlib.TenantScope(w.a.tenant.ID), gofaxlib.Page{})
	must(t, err)
	if len(entries) != 2 || entries[0].Action != "fax.submit" || !strings.HasPrefix(entries[0].Actor, "api-key:gofax_") {
		t.Errorf("audit %+v", entries)
	}
}

// TestSubmitRefused: bad submissions are refused with the right status,
// submit nothing and leave nothing in the upload directory.
func TestSubmitRefused(t *testing.T) {
	t.Parallel()
	needPDFInfo(t)
	e := newEnv(t, func(o *api.Options) { o.MaxPages = 3; o.MaxUpload = 60 << 10 })
	w := makeWorld(t, e)
	ctx := testCtx(t)
	suspended := gofaxlib.Number{TenantID: w.a.tenant.ID, Number: freshNumber(), Suspended: true}
	must(t, e.store.CreateNumber(ctx, gofaxlib.OperatorScope(), &suspended))
	pdf := makePDF(1)
	ok := func() *form { return (&form{}).field("to", "+4989123456") }
	brokenPDF := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("garbage "), 100)...)
	brokenTIFF := append([]byte("II*\x00\xff\xff\xff\x7f"), bytes.Repeat([]byte{0}, 100)...)
	cases := []struct {
		name   string
		c      cred
		body   any
		status int
		field  string // invalid_params name expected, "" = none
	}{
		{"admin token", admin, ok().file("a", "", pdf), 403, ""},
		{"JSON", w.a.userCrd, map[string]any{"to": "+4989123456"}, 415, ""},
		{"no to", w.a.userCrd, (&form{}).file("a", "", pdf), 422, "to"},
		{"bad to", w.a.userCrd, (&form{}).field("to", "12").file("a", "", pdf), 422, "to"},
		{"letters", w.a.userCrd, (&form{}).field("to", "+49 89 FAX").file("a", "", pdf), 422, "to"},
		{"another tenant's number", w.a.userCrd, ok().field("from", w.b.number.Number).file("a", "", pdf), 422, "from"},
		{"suspended number", w.a.userCrd, ok().field("from", suspended.Number).file("a", "", pdf), 422, "from"},
		{"no default number", w.a.adminCred, ok().file("a", "", pdf), 422, "from"},
		{"no document", w.a.userCrd, ok(), 422, "file"},
		{"empty document", w.a.userCrd, ok().file("a", "", nil), 422, "file"},
		{"text document", w.a.userCrd, ok().file("a.pdf", "application/pdf", []byte("Dear Sir,\n")), 415, ""},
		{"broken PDF", w.a.userCrd, ok().file("a", "", brokenPDF), 422, "file"},
		{"broken TIFF", w.a.userCrd, ok().file("a", "", brokenTIFF), 422, "file"},
		{"too many pages", w.a.userCrd, ok().file("a", "", makePDF(2)).file("b", "", makePDF(2)), 413, ""},
		{"too large", w.a.userCrd, ok().file("a", "", readFile(t, "testdata/sent-2page-g3.tif")), 413, ""},
		{"unknown field", w.a.userCrd, ok().field("colour", "red").file("a", "", pdf), 400, ""},
		{"field twice", w.a.userCrd, ok().field("to", "+4989123457").file("a", "", pdf), 400, ""},
		{"bad header", w.a.userCrd, ok().field("header", "a\x1bb").file("a", "", pdf), 422, "header"},
		{"header with C1 control", w.a.userCrd, ok().field("header", "a\u0085b").file("a", "", pdf), 422, "header"},
		{"bad send_at", w.a.userCrd, ok().field("send_at", "tomorrow").file("a", "", pdf), 422, "send_at"},
		{"send_at far", w.a.userCrd, ok().field("send_at", time.Now().AddDate(0, 2, 0).Format(time.RFC3339)).file("a", "", pdf), 422, "send_at"},
		{"expires past", w.a.userCrd, ok().field("expires", "2020-01-01T00:00:00Z").file("a", "", pdf), 422, "expires"},
		{"max_tries", w.a.userCrd, ok().field("max_tries", "0").file("a", "", pdf), 422, "max_tries"},
	}
	for _, c := range cases {
		r := e.do(t, "POST", "/v1/faxes", c.c, c.body)
		checkProblem(t, c.name, r, c.status)
		if c.field != "" && !strings.Contains(string(r.body), `"invalid_params":[{"name":"`+c.field+`"`) {
			t.Errorf("%s: does not name %s: %s", c.name, c.field, r.body)
		}
	}
	r := e.do(t, "POST", "/v1/faxes", w.a.userCrd, ok().file("a", "", pdf), "Idempotency-Key", strings.Repeat("k", 256))
	checkProblem(t, "long idempotency key", r, 400)
	if n := len(e.sub.submitted()); n != 0 {
		t.Errorf("%d jobs submitted", n)
	}
	emptyDir(t, e.upload)
	l, _, err := e.store.ListFaxes(ctx, gofaxlib.TenantScope(w.a.tenant.ID), gofaxlib.FaxFilter{Direction: gofaxlib.Outbound})
	must(t, err)
	if len(l) != 1 { // the world's own
		t.Errorf("%d outbound faxes", len(l))
	}
}

// TestIdempotency: a request repeated with the same Idempotency-Key gets
// the first fax and submits nothing; also when both run at once. Another
// fax under the same key is refused.
func TestIdempotency(t *testing.T) {
	t.Parallel()
	needPDFInfo(t)
	e := newEnv(t)
	w := makeWorld(t, e)
	send := func(to, key string) response {
		return e.do(t, "POST", "/v1/faxes", w.a.userCrd, (&form{}).field("to", to).file("a", "", makePDF(1)), "Idempotency-Key", key)
	}
	first := send("+4989123456", "order-1")
	expect(t, "first", first, 202)
	again := send("089 123456", "order-1")
	expect(t, "again", again, 202)
	if again.header.Get("Idempotent-Replayed") != "true" || first.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("Idempotent-Replayed: %q, %q", first.header.Get("Idempotent-Replayed"), again.header.Get("Idempotent-Replayed"))
	}
	if a, b := first.object(t)["id"], again.object(t)["id"]; a != b {
		t.Errorf("ids %v, %v", a, b)
	}
	checkProblem(t, "another fax, same key", send("+4940123456", "order-1"), 422)
	// The key is per tenant.
	expect(t, "B's key", e.do(t, "POST", "/v1/faxes", w.b.userCrd, (&form{}).field("to", "+4989123456").
		file("a", "", makePDF(1)), "Idempotency-Key", "order-1"), 202)

	var wg sync.WaitGroup
	ids := make([]any, 4)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := send("+4989123456", "order-2")
			if r.status != 202 {
				t.Errorf("concurrent %d: %d %s", i, r.status, r.body)
				return
			}
			ids[i] = r.object(t)["id"]
		}()
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Errorf("concurrent requests made faxes %v", ids)
		}
	}
	if n := len(e.sub.submitted()); n != 3 {
		t.Errorf("%d jobs submitted, want 3", n)
	}
	emptyDir(t, e.upload)
}

// TestSubmitUnavailable: when HylaFAX cannot be reached the answer is 503
// with Retry-After, the fax row is gone, and a retry with the same key
// submits.
func TestSubmitUnavailable(t *testing.T) {
	t.Parallel()
	needPDFInfo(t)
	e := newEnv(t)
	w := makeWorld(t, e)
	e.sub.setErr(fmt.Errorf("hfaxd: dial tcp 127.0.0.1:4559: connection refused: %w", gofaxlib.ErrUnavailable))
	send := func() response {
		return e.do(t, "POST", "/v1/faxes", w.a.userCrd, (&form{}).field("to", "+4989123456").file("a", "", makePDF(1)),
			"Idempotency-Key", "retry-me")
	}
	r := send()
	p := checkProblem(t, "hfaxd down", r, 503)
	if r.header.Get("Retry-After") == "" || strings.Contains(string(r.body), "4559") {
		t.Errorf("503: %v %s", r.header, r.body)
	}
	// The answer names the part that is down and what to do.
	if d, _ := p["detail"].(string); !strings.Contains(d, "HylaFAX's hfaxd") || !strings.Contains(d, "retry") {
		t.Errorf("503 detail %q does not name hfaxd or say to retry", d)
	}
	l, _, err := e.store.ListFaxes(testCtx(t), gofaxlib.TenantScope(w.a.tenant.ID), gofaxlib.FaxFilter{Direction: gofaxlib.Outbound})
	must(t, err)
	if len(l) != 1 {
		t.Errorf("%d outbound faxes after a failed submission, want the world's 1", len(l))
	}
	e.sub.setErr(nil)
	r = send()
	expect(t, "retry", r, 202)
	if r.header.Get("Idempotent-Replayed") != "" {
		t.Error("a retry after a failed submission was answered from the failed one")
	}
	emptyDir(t, e.upload)
}

func TestCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := makeWorld(t, e)
	ctx := testCtx(t)
	op := gofaxlib.OperatorScope()

	r := e.do(t, "DELETE", "/v1/faxes/"+w.a.faxOut.ID, w.a.userCrd, nil)
	expect(t, "cancel", r, 202)
	if st := r.object(t)["status"]; st != "queued" {
		t.Errorf("status %v: canceled only when faxq reports the kill", st)
	}
	if len(e.sub.killed) != 1 || e.sub.killed[0] != w.a.faxOut.JobID {
		t.Errorf("killed %v, want job %d", e.sub.killed, w.a.faxOut.JobID)
	}

	// A fax being sent is canceled too: faxq aborts the call, as for
	// faxrm.
	sending := gofaxlib.Fax{ID: "0d2a1c4e-2222-4222-8333-000000000002", TenantID: w.a.tenant.ID, Direction: gofaxlib.Outbound,
		Status: gofaxlib.StatusSending, From: w.a.number.Number, To: "+4989123456", UserID: w.a.user.ID, Host: testHost, JobID: 79}
	_, err := e.store.RecordFax(ctx, "rec-sending", &sending)
	must(t, err)
	if f, err := e.store.Fax(ctx, op, sending.ID); err != nil || f.Status != gofaxlib.StatusSending || f.JobID != 79 {
		t.Fatalf("the fax being sent: %+v %v", f, err)
	}
	expect(t, "cancel while sending", e.do(t, "DELETE", "/v1/faxes/"+sending.ID, w.a.userCrd, nil), 202)
	if n := len(e.sub.killed); n != 2 || e.sub.killed[1] != 79 {
		t.Errorf("killed %v, want job 79 too", e.sub.killed)
	}

	elsewhere := gofaxlib.Fax{TenantID: w.a.tenant.ID, Direction: gofaxlib.Outbound, Status: gofaxlib.StatusRetrying,
		From: w.a.number.Number, To: "+4989123456", UserID: w.a.user.ID, Host: "fax-2"}
	must(t, e.store.CreateFax(ctx, op, &elsewhere))
	must(t, e.store.SetFaxJob(ctx, op, elsewhere.ID, "fax-2", 77))
	p := checkProblem(t, "other host", e.do(t, "DELETE", "/v1/faxes/"+elsewhere.ID, w.a.userCrd, nil), 409)
	if !strings.Contains(p["detail"].(string), "fax-2") {
		t.Errorf("409 does not name the host: %v", p["detail"])
	}
	checkProblem(t, "received", e.do(t, "DELETE", "/v1/faxes/"+w.a.faxIn.ID, w.a.userCrd, nil), 409)
	notYet := gofaxlib.Fax{TenantID: w.a.tenant.ID, Direction: gofaxlib.Outbound, Status: gofaxlib.StatusQueued,
		From: w.a.number.Number, To: "+4989123456", UserID: w.a.user.ID}
	must(t, e.store.CreateFax(ctx, op, &notYet))
	checkProblem(t, "no job yet", e.do(t, "DELETE", "/v1/faxes/"+notYet.ID, w.a.userCrd, nil), 409)
	done := gofaxlib.Fax{ID: "0d2a1c4e-2222-4222-8333-000000000001", TenantID: w.a.tenant.ID, Direction: gofaxlib.Outbound,
		Status: gofaxlib.StatusDelivered, From: w.a.number.Number, To: "+4989123456", JobID: 5, UserID: w.a.user.ID}
	_, err = e.store.RecordFax(ctx, "rec-done", &done)
	must(t, err)
	checkProblem(t, "delivered", e.do(t, "DELETE", "/v1/faxes/"+done.ID, w.a.userCrd, nil), 409)
	// A plain user may cancel only its own faxes; a tenant-admin any of
	// the tenant's.
	mine := gofaxlib.Fax{TenantID: w.a.tenant.ID, Direction: gofaxlib.Outbound, Status: gofaxlib.StatusQueued,
		From: w.a.number.Number, To: "+4989123456", UserID: w.a.admin.ID}
	must(t, e.store.CreateFax(ctx, op, &mine))
	must(t, e.store.SetFaxJob(ctx, op, mine.ID, testHost, 78))
	checkProblem(t, "someone else's", e.do(t, "DELETE", "/v1/faxes/"+mine.ID, w.a.userCrd, nil), 403)
	expect(t, "tenant-admin", e.do(t, "DELETE", "/v1/faxes/"+mine.ID, w.a.adminCred, nil), 202)
	// The job is gone from HylaFAX meanwhile.
	e.sub.mu.Lock()
	e.sub.killEr = fmt.Errorf("hfaxd: no such job: %w", gofaxlib.ErrNotFound)
	e.sub.mu.Unlock()
	checkProblem(t, "job gone", e.do(t, "DELETE", "/v1/faxes/"+mine.ID, w.a.adminCred, nil), 409)
	// hfaxd down: the answer says so, not "the database".
	e.sub.mu.Lock()
	e.sub.killEr = fmt.Errorf("hfaxd: connection refused: %w", gofaxlib.ErrUnavailable)
	e.sub.mu.Unlock()
	p = checkProblem(t, "hfaxd down", e.do(t, "DELETE", "/v1/faxes/"+mine.ID, w.a.adminCred, nil), 503)
	if d, _ := p["detail"].(string); !strings.Contains(d, "HylaFAX's hfaxd") || !strings.Contains(d, "retry") {
		t.Errorf("503 detail %q does not name hfaxd or say to retry", d)
	}
}
