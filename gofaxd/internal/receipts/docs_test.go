package receipts

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/notify"
)

// faxes is a FaxStore in memory.
type faxes map[string]gofaxlib.Fax

func (m faxes) Fax(_ context.Context, scope gofaxlib.Scope, id string) (gofaxlib.Fax, error) {
	f, ok := m[id]
	if !ok || !scope.Allows(f.TenantID) {
		return gofaxlib.Fax{}, gofaxlib.ErrNotFound
	}
	return f, nil
}

// need skips a test whose tool is missing, except under CI, which
// installs everything (contrib/install-deps.sh): there it fails.
func need(t *testing.T, tool string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s missing: contrib/install-deps.sh installs it", tool)
		}
		t.Skipf("%s missing (poppler-utils): contrib/install-deps.sh installs it", tool)
	}
}

// poppler runs a poppler tool on pdf and returns its output.
func poppler(t *testing.T, tool string, pdf []byte, args ...string) string {
	t.Helper()
	need(t, tool)
	f := filepath.Join(t.TempDir(), "a.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, append(args, f, "-")...).CombinedOutput()
	if tool == "pdfinfo" || tool == "pdfimages" {
		out, err = exec.Command(tool, append(args, f)...).CombinedOutput()
	}
	if err != nil {
		t.Fatalf("%s: %v: %s", tool, err, out)
	}
	return string(out)
}

func pdfPages(t *testing.T, pdf []byte) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)`).FindStringSubmatch(poppler(t, "pdfinfo", pdf))
	if m == nil {
		t.Fatal("pdfinfo printed no page count")
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// world is an archive with a received 2-page fax (its caller's name not
// ASCII), a received fax without pages, a sent fax without document yet,
// one archived on another host, a broken TIFF and a sent PDF.
type world struct {
	docs *Docs
	now  time.Time
	evs  map[string]gofaxlib.Event
}

func newWorld(t *testing.T) *world {
	archive := filepath.Join(t.TempDir(), "archive")
	tif, err := os.ReadFile("testdata/fax-2page.tif")
	if err != nil {
		t.Fatal(err)
	}
	put := func(name string, data []byte) string {
		p := filepath.Join(archive, name[:2], name)
		os.MkdirAll(filepath.Dir(p), 0o750)
		if err := os.WriteFile(p, data, 0o640); err != nil {
			t.Fatal(err)
		}
		return p
	}
	now := time.Date(2025, 3, 1, 9, 4, 5, 0, time.UTC)
	const tenant = "7f000000-0000-4000-8000-000000000001"
	fx := faxes{
		"in": {ID: "a1000000-0000-4000-8000-000000000001", TenantID: tenant, Direction: gofaxlib.Inbound, Status: gofaxlib.StatusReceived,
			From: "+4930123456", To: "+4940999999", CallerIDName: "Müller & Söhne", RemoteStationID: "+49 30 123456",
			PagesTotal: 2, PagesTransferred: 2, Host: "here", DocumentPath: put("a1000000-0000-4000-8000-000000000001.tif", tif)},
		"empty": {ID: "a2000000-0000-4000-8000-000000000002", TenantID: tenant, Direction: gofaxlib.Inbound, Status: gofaxlib.StatusFailed,
			From: "anonymous", To: "+4940999999", PagesTotal: 1, Host: "here"},
		"sent": {ID: "a3000000-0000-4000-8000-000000000003", TenantID: tenant, Direction: gofaxlib.Outbound, Status: gofaxlib.StatusDelivered,
			From: "+4940999999", To: "+4989777777", PagesTotal: 2, PagesTransferred: 2, Host: "here"},
		"elsewhere": {ID: "a4000000-0000-4000-8000-000000000004", TenantID: tenant, Direction: gofaxlib.Inbound, Status: gofaxlib.StatusReceived,
			From: "+4930123456", To: "+4940999999", PagesTotal: 2, PagesTransferred: 2, Host: "there",
			DocumentPath: filepath.Join(archive, "a4", "a4000000-0000-4000-8000-000000000004.tif")},
		"broken": {ID: "a5000000-0000-4000-8000-000000000005", TenantID: tenant, Direction: gofaxlib.Inbound, Status: gofaxlib.StatusReceived,
			From: "+4930123456", To: "+4940999999", PagesTotal: 1, PagesTransferred: 1, Host: "here",
			DocumentPath: put("a5000000-0000-4000-8000-000000000005.tif", tif[:300])},
		"pdf": {ID: "a6000000-0000-4000-8000-000000000006", TenantID: tenant, Direction: gofaxlib.Outbound, Status: gofaxlib.StatusDelivered,
			From: "+4940999999", To: "+4989777777", PagesTotal: 1, PagesTransferred: 1, Host: "here",
			DocumentPath: put("a6000000-0000-4000-8000-000000000006.pdf", []byte("%PDF-1.4 as submitted"))},
		// A row naming a file outside the archive (a readable fax, even):
		// never attached.
		"outside": {ID: "a7000000-0000-4000-8000-000000000007", TenantID: tenant, Direction: gofaxlib.Inbound, Status: gofaxlib.StatusReceived,
			From: "+4930123456", To: "+4940999999", PagesTotal: 2, PagesTransferred: 2, Host: "here",
			DocumentPath: filepath.Join(archive, "..", "outside", "a7000000-0000-4000-8000-000000000007.tif")},
	}
	if err := os.MkdirAll(filepath.Join(archive, "..", "outside"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fx["outside"].DocumentPath, tif, 0o640); err != nil {
		t.Fatal(err)
	}
	w := &world{now: now, evs: map[string]gofaxlib.Event{}}
	byID := faxes{}
	for name, f := range fx {
		byID[f.ID] = f
		typ, _ := gofaxlib.EventFor(f.Direction, "", f.Status)
		payload, err := json.Marshal(gofaxlib.NewFaxResource(&f, []gofaxlib.Attempt{}))
		if err != nil {
			t.Fatal(err)
		}
		w.evs[name] = gofaxlib.Event{ID: "e" + f.ID[1:], Type: typ, TenantID: tenant, FaxID: f.ID, Time: now,
			TimeZone: "Europe/Berlin", Payload: payload}
	}
	w.docs = &Docs{Store: byID, Host: "here", Archive: archive, Now: func() time.Time { return w.now }}
	return w
}

func TestDocuments(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	type want struct {
		pages int    // of the PDF; 0: none made
		name  string // the attachment's name
		err   string // "nodoc": ErrNoDocument; "retry": another error
	}
	for _, tc := range []struct {
		fax   string
		which notify.Document
		want  want
	}{
		{"in", notify.DocFax, want{pages: 2, name: "Fax from Müller & Söhne +4930123456 2025-03-01 10.04.pdf"}},
		{"in", notify.DocFirstPage, want{pages: 1, name: "Fax from Müller & Söhne +4930123456 2025-03-01 10.04 page 1.pdf"}},
		{"in", notify.DocReport, want{pages: 1, name: "Fax report from Müller & Söhne +4930123456 2025-03-01 10.04.pdf"}},
		{"empty", notify.DocFax, want{err: "nodoc"}},
		{"empty", notify.DocReport, want{pages: 1, name: "Fax report from anonymous 2025-03-01 10.04.pdf"}},
		{"sent", notify.DocFax, want{err: "retry"}}, // archived just after its notice, perhaps
		{"elsewhere", notify.DocFax, want{err: "retry"}},
		{"broken", notify.DocFax, want{err: "nodoc"}},
		{"broken", notify.DocReport, want{pages: 1, name: "Fax report from +4930123456 2025-03-01 10.04.pdf"}},
		{"pdf", notify.DocFax, want{name: "Fax to +4989777777 2025-03-01 10.04.pdf"}},
		{"outside", notify.DocFax, want{err: "nodoc"}},
		{"outside", notify.DocFirstPage, want{err: "nodoc"}},
		{"outside", notify.DocReport, want{pages: 1, name: "Fax report from +4930123456 2025-03-01 10.04.pdf"}},
	} {
		t.Run(tc.fax+"/"+tc.which.String(), func(t *testing.T) {
			a, err := w.docs.Document(ctx, w.evs[tc.fax], tc.which)
			switch tc.want.err {
			case "nodoc":
				if !errors.Is(err, notify.ErrNoDocument) {
					t.Fatalf("err %v, want ErrNoDocument", err)
				}
				return
			case "retry":
				if err == nil || errors.Is(err, notify.ErrNoDocument) || errors.Is(err, notify.ErrPermanent) {
					t.Fatalf("err %v, want one that is retried", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Name != tc.want.name || a.ContentType != "application/pdf" {
				t.Errorf("name %q (%s), want %q", a.Name, a.ContentType, tc.want.name)
			}
			if tc.want.pages > 0 {
				if n := pdfPages(t, a.Data); n != tc.want.pages {
					t.Errorf("%d pages, want %d", n, tc.want.pages)
				}
			}
		})
	}
	t.Run("sent, later", func(t *testing.T) {
		w.now = w.now.Add(docWait + time.Second)
		if _, err := w.docs.Document(ctx, w.evs["sent"], notify.DocFax); !errors.Is(err, notify.ErrNoDocument) {
			t.Errorf("a sent fax still without document after %v: %v, want ErrNoDocument", docWait, err)
		}
	})
	t.Run("pdf as archived", func(t *testing.T) {
		a, err := w.docs.Document(ctx, w.evs["pdf"], notify.DocFax)
		if err != nil || string(a.Data) != "%PDF-1.4 as submitted" {
			t.Errorf("%q, %v", a.Data, err)
		}
	})
	t.Run("gone", func(t *testing.T) {
		ev := w.evs["in"]
		ev.FaxID = "ffffffff-0000-4000-8000-000000000000"
		if _, err := w.docs.Document(ctx, ev, notify.DocFax); !errors.Is(err, notify.ErrNoDocument) {
			t.Errorf("a fax gone: %v", err)
		}
	})
}

// TestReport: the transmission report says what a fax machine's
// confirmation page says, the time in the tenant's zone, and carries page
// 1 as the fax's own CCITT image, scaled down (not decoded).
func TestReport(t *testing.T) {
	w := newWorld(t)
	a, err := w.docs.Document(context.Background(), w.evs["in"], notify.DocReport)
	if err != nil {
		t.Fatal(err)
	}
	text := poppler(t, "pdftotext", a.Data, "-layout")
	for _, want := range []string{"Fax reception report", "Received", "+4930123456 (Müller & Söhne)", "+4940999999",
		"+49 30 123456", "Pages:", "Result:", "OK", "Sat, 01 Mar 2025 10:04:05 CET (Europe/Berlin)",
		"a1000000-0000-4000-8000-000000000001", "Page 1 (reduced)"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	images := poppler(t, "pdfimages", a.Data, "-list")
	// page num type width height color comp bpc enc ...
	if !regexp.MustCompile(`(?m)^\s+1\s+0\s+image\s+1728\s+2156\s+gray\s+1\s+1\s+ccitt\s`).MatchString(images) {
		t.Errorf("page 1 is not placed as its CCITT image:\n%s", images)
	}
	if n := pdfPages(t, a.Data); n != 1 {
		t.Errorf("report of %d pages", n)
	}
}
