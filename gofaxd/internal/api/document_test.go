package api_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/api"
	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/freeswitch"
)

// TestDocument: a fax's document comes from the archive, as PDF by
// default (each TIFF page a PDF page) and as the archived TIFF with
// Accept: image/tiff; a media type the document does not come in is 406;
// a document on another host is 409 naming it; a fax without document,
// or whose row names a file outside the archive, is not served. Every
// download is in the audit log.
func TestDocument(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := makeWorld(t, e)
	ctx := testCtx(t)
	path := "/v1/faxes/" + w.a.faxIn.ID + "/document"
	tiff := readFile(t, "testdata/one-page-g4.tif")

	r := e.do(t, "GET", path, w.a.userCrd, nil)
	expect(t, "default", r, 200)
	if ct := r.header.Get("Content-Type"); ct != "application/pdf" || !bytes.HasPrefix(r.body, []byte("%PDF-")) ||
		r.header.Get("X-Fax-Pages") != "1" {
		t.Errorf("default: %s, pages %q, %.20q", ct, r.header.Get("X-Fax-Pages"), r.body)
	}
	if pages := pdfPages(t, r.body); pages != 1 && pages != -1 {
		t.Errorf("the PDF has %d pages, want 1", pages)
	}
	for accept, want := range map[string]string{
		"image/tiff":                          "image/tiff",
		"application/pdf;q=0.5, image/tiff":   "image/tiff",
		"image/*":                             "image/tiff",
		"*/*":                                 "application/pdf",
		"text/html, application/pdf;q=0.9":    "application/pdf",
		"image/tiff;q=0.1, application/*":     "application/pdf",
		"nonsense":                            "application/pdf",
		"text/html":                           "",
		"application/pdf;q=0, image/tiff;q=0": "",
	} {
		r := e.do(t, "GET", path, w.a.userCrd, nil, "Accept", accept)
		switch {
		case want == "":
			expect(t, accept, r, http.StatusNotAcceptable)
		case r.status != 200 || r.header.Get("Content-Type") != want:
			t.Errorf("Accept %q: %d %s, want %s", accept, r.status, r.header.Get("Content-Type"), want)
		case want == "image/tiff" && !bytes.Equal(r.body, tiff):
			t.Errorf("Accept %q: not the archived file", accept)
		}
	}
	// Range requests on the archived file.
	r = e.do(t, "GET", path, w.a.userCrd, nil, "Accept", "image/tiff", "Range", "bytes=0-3")
	if r.status != http.StatusPartialContent || string(r.body) != string(tiff[:4]) {
		t.Errorf("range: %d %q", r.status, r.body)
	}
	var n int
	must(t, e.store.DB().QueryRowContext(ctx, `SELECT count(*) FROM audit_log WHERE action = 'fax.document'
		AND object_id = $1`, w.a.faxIn.ID).Scan(&n))
	if n < 9 {
		t.Errorf("%d downloads in the audit log", n)
	}

	// A sent fax HylaFAX has not prepared yet: no document.
	r = e.do(t, "GET", "/v1/faxes/"+w.a.faxOut.ID+"/document", w.a.userCrd, nil)
	expect(t, "no document yet", r, 404)
	if !strings.Contains(string(r.body), "no document yet") {
		t.Errorf("no document yet: %s", r.body)
	}

	// A fax received on another host.
	other := w.a.faxIn
	other.ID, other.Host, other.CommID = "0d2a1c4e-2222-4222-8333-000000000001", "fax2", "000000777"
	_, err := e.store.RecordFax(ctx, "other-host", &other)
	must(t, err)
	r = e.do(t, "GET", "/v1/faxes/"+other.ID+"/document", w.a.userCrd, nil)
	expect(t, "other host", r, 409)
	if !strings.Contains(string(r.body), "host fax2") {
		t.Errorf("409 does not name the host: %s", r.body)
	}

	// A row naming a file outside the archive (a recvq file, anything)
	// is never served.
	outside := w.a.faxIn
	outside.ID, outside.CommID = "0d2a1c4e-3333-4222-8333-000000000001", "000000778"
	outside.DocumentPath = filepath.Join(e.upload, "..", "secret.tif")
	must(t, os.WriteFile(outside.DocumentPath, tiff, 0o600))
	_, err = e.store.RecordFax(ctx, "outside", &outside)
	must(t, err)
	expect(t, "outside the archive", e.do(t, "GET", "/v1/faxes/"+outside.ID+"/document", admin, nil), 500)

	// The archived file gone (purged by hand): 404.
	gone := w.b.faxIn
	must(t, os.Remove(gone.DocumentPath))
	expect(t, "file gone", e.do(t, "GET", "/v1/faxes/"+gone.ID+"/document", admin, nil), 404)
}

// pdfPages counts the pages of a PDF with pdfinfo; -1 without pdfinfo.
func pdfPages(t testing.TB, pdf []byte) int {
	t.Helper()
	if _, err := exec.LookPath("pdfinfo"); err != nil {
		return -1
	}
	f := filepath.Join(t.TempDir(), "doc.pdf")
	must(t, os.WriteFile(f, pdf, 0o600))
	out, err := exec.Command("pdfinfo", f).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("pdfinfo: no page count\n%s", out)
	}
	var n int
	fmt.Sscan(string(m[1]), &n)
	return n
}

func TestNegotiate(t *testing.T) {
	both := []string{"application/pdf", "image/tiff"}
	for _, c := range []struct {
		accept string
		offer  []string
		want   string
	}{
		{"", both, "application/pdf"},
		{"image/tiff", both, "image/tiff"},
		{"IMAGE/TIFF", both, "image/tiff"},
		{"image/tiff", both[:1], ""},
		{"application/pdf;q=0.4, image/tiff;q=0.5", both, "image/tiff"},
		{"*/*;q=0.8, image/tiff;q=0.1", both, "application/pdf"},
		{"image/*, */*;q=0", both, "image/tiff"},
		{"*/*", both, "application/pdf"},
		{"image/tiff;q=2", both, "application/pdf"}, // a bad q: the range is ignored
		{"text/plain", both, ""},
		{",,;", both, "application/pdf"},
		{"*/tiff", both, "application/pdf"},
	} {
		got, ok := api.Negotiate(c.accept, c.offer)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("negotiate(%q, %v) = %q, %v; want %q", c.accept, c.offer, got, ok, c.want)
		}
	}
}

func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"", "image/tiff", "application/pdf;q=0.5, image/*;q=0.7", "*/*;q=0", "a/b;q=x;q=1,", "image/tiff;level=1;q=0.001"} {
		f.Add(s)
	}
	offer := []string{"application/pdf", "image/tiff"}
	f.Fuzz(func(t *testing.T, accept string) {
		got, ok := api.Negotiate(accept, offer)
		if ok != (got != "") || got != "" && got != offer[0] && got != offer[1] {
			t.Fatalf("negotiate(%q) = %q, %v", accept, got, ok)
		}
		if strings.TrimSpace(accept) == "" && got != offer[0] {
			t.Fatalf("negotiate(%q) = %q: no preference must give the first offer", accept, got)
		}
	})
}

// TestFallbacks: the operator lists this host's softmodem fallback list
// and takes numbers off it, written as the number plan allows; the
// entries are keyed by the plan's E.164 (the key gofaxd and gofaxsend
// use); FreeSWITCH unreachable is 503 with Retry-After.
func TestFallbacks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := makeWorld(t, e)
	now := time.Now().Truncate(time.Second)
	e.fb.add(freeswitch.FallbackRealm, "4930123456", now.Add(-time.Hour))
	e.fb.add(freeswitch.FallbackRealm, "4940999", now.Add(-40*24*time.Hour))
	e.fb.add(freeswitch.FallbackInboundRealm, "4930123456", now)
	e.fb.add(freeswitch.FallbackRealm, "0301234", time.Time{}) // GOfax.IP's, by hand

	r := e.do(t, "GET", "/v1/fallbacks", admin, nil)
	expect(t, "list", r, 200)
	var l struct {
		Data []struct {
			Number    *string    `json:"number"`
			Key       string     `json:"key"`
			Realm     string     `json:"realm"`
			CountsFor string     `json:"counts_for"`
			Added     *time.Time `json:"added_at"`
			Expires   *time.Time `json:"expires_at"`
			Expired   bool       `json:"expired"`
			Host      string     `json:"host"`
		} `json:"data"`
	}
	r.json(t, &l)
	if len(l.Data) != 4 {
		t.Fatalf("%d entries: %s", len(l.Data), r.body)
	}
	got := map[string]string{}
	for _, d := range l.Data {
		num := "null"
		if d.Number != nil {
			num = *d.Number
		}
		exp := "never"
		if d.Expires != nil {
			exp = fmt.Sprint(d.Expired)
		}
		got[d.Realm+"/"+d.Key] = fmt.Sprintf("%s %s %s %s", num, d.CountsFor, exp, d.Host)
	}
	want := map[string]string{
		"fallback/4930123456":         "+4930123456 both false " + testHost,
		"fallback-inbound/4930123456": "+4930123456 inbound false " + testHost,
		"fallback/4940999":            "+4940999 both true " + testHost,
		"fallback/0301234":            "null both never " + testHost,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}

	// A national number: its E.164 key, and the digits as written.
	expect(t, "delete", e.do(t, "DELETE", "/v1/fallbacks/030%20123456", admin, nil), 204)
	expect(t, "delete GOfax.IP's", e.do(t, "DELETE", "/v1/fallbacks/0301234", admin, nil), 204)
	e.fb.mu.Lock()
	removed := e.fb.removed
	left := len(e.fb.m[freeswitch.FallbackRealm]) + len(e.fb.m[freeswitch.FallbackInboundRealm])
	e.fb.mu.Unlock()
	if strings.Join(removed, " ") != "4930123456 030123456 49301234 0301234" || left != 1 {
		t.Errorf("removed %q, %d left", removed, left)
	}
	expect(t, "not a number", e.do(t, "DELETE", "/v1/fallbacks/anonymous", admin, nil), 422)
	expect(t, "tenant user", e.do(t, "GET", "/v1/fallbacks", w.a.adminCred, nil), 403)

	e.fb.setErr(fmt.Errorf("%w: connection refused", gofaxlib.ErrUnavailable))
	r = e.do(t, "GET", "/v1/fallbacks", admin, nil)
	expect(t, "FreeSWITCH down", r, 503)
	if r.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	e.fb.setErr(errors.New("-ERR something"))
	expect(t, "FreeSWITCH refuses", e.do(t, "DELETE", "/v1/fallbacks/+4930123456", admin, nil), 500)
	var audits int
	must(t, e.store.DB().QueryRowContext(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'fallback.delete'`).Scan(&audits))
	if audits < 2 {
		t.Errorf("%d deletions in the audit log", audits)
	}
}
