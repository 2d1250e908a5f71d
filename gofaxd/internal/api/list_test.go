package api_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// pages follows a list's cursors to its end and returns the ids, checking
// each page's size.
func pages(t *testing.T, e *env, c cred, path string, limit int) []string {
	t.Helper()
	var ids []string
	cursor := ""
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	for n := 0; ; n++ {
		if n > 100 {
			t.Fatal("more than 100 pages")
		}
		p := fmt.Sprintf("%s%slimit=%d", path, sep, limit)
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		r := e.do(t, "GET", p, c, nil)
		expect(t, p, r, 200)
		var l struct {
			Data       []struct{ ID string }
			NextCursor *string `json:"next_cursor"`
		}
		r.json(t, &l)
		if len(l.Data) > limit || (l.NextCursor != nil && len(l.Data) != limit) {
			t.Fatalf("%s: %d items, next %v", p, len(l.Data), l.NextCursor)
		}
		for _, d := range l.Data {
			ids = append(ids, d.ID)
		}
		if l.NextCursor == nil {
			return ids
		}
		cursor = *l.NextCursor
	}
}

func TestPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var created []string
	for i := range 7 {
		r := e.do(t, "POST", "/v1/tenants", admin, map[string]any{"name": fmt.Sprintf("Paged %d", i)})
		expect(t, "create", r, 201)
		created = append(created, r.object(t)["id"].(string))
	}
	for _, limit := range []int{1, 3, 7, 50} {
		if got := pages(t, e, admin, "/v1/tenants", limit); !slices.Equal(got, created) {
			t.Errorf("limit %d: %v, want %v (oldest first, each once)", limit, got, created)
		}
	}
	expect(t, "limit too large", e.do(t, "GET", "/v1/tenants?limit=501", admin, nil), 422)
	// A cursor of another list is refused or harmless, never a 500.
	r := e.do(t, "GET", "/v1/tenants?limit=1", admin, nil)
	var l struct {
		NextCursor string `json:"next_cursor"`
	}
	r.json(t, &l)
	if r := e.do(t, "GET", "/v1/faxes?cursor="+url.QueryEscape(l.NextCursor), admin, nil); r.status != 200 {
		t.Errorf("tenant cursor on faxes: %d %s", r.status, r.body)
	}
}

// TestFaxList: filters and paging of GET /v1/faxes, newest first.
func TestFaxList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := makeWorld(t, e)
	ctx := testCtx(t)
	base := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	var sent []string // newest first
	for i := range 5 {
		f := gofaxlib.Fax{ID: fmt.Sprintf("0d2a1c4e-3333-4222-8333-%012d", next()), TenantID: w.a.tenant.ID,
			Direction: gofaxlib.Outbound, Status: gofaxlib.StatusFailed, From: w.a.number.Number, To: fmt.Sprintf("+4940%06d", i),
			Created: base.Add(time.Duration(i) * time.Minute), HangupCause: "USER_BUSY"}
		_, err := e.store.RecordFax(ctx, "rec-list-"+f.ID, &f)
		must(t, err)
		sent = append([]string{f.ID}, sent...)
	}
	ids := pages(t, e, w.a.userCrd, "/v1/faxes?direction=outbound&status=failed", 2)
	if !slices.Equal(ids, sent) {
		t.Errorf("failed outbound: %v, want %v", ids, sent)
	}
	if got := pages(t, e, w.a.userCrd, "/v1/faxes?to="+url.QueryEscape("040 000003"), 10); len(got) != 1 || got[0] != sent[1] {
		t.Errorf("to filter (written nationally): %v", got)
	}
	since := base.Add(90 * time.Second).Format(time.RFC3339)
	until := base.Add(210 * time.Second).Format(time.RFC3339)
	if got := pages(t, e, w.a.userCrd, "/v1/faxes?since="+since+"&until="+until, 10); !slices.Equal(got, sent[1:3]) {
		t.Errorf("time range: %v, want %v", got, sent[1:3])
	}
	if got := pages(t, e, w.a.userCrd, "/v1/faxes?direction=inbound", 10); len(got) != 1 || got[0] != w.a.faxIn.ID {
		t.Errorf("inbound: %v", got)
	}
	if got := pages(t, e, w.a.userCrd, "/v1/faxes?from=%2B33123456789", 10); len(got) != 1 || got[0] != w.a.faxIn.ID {
		t.Errorf("from: %v", got)
	}
	// The operator sees both tenants, or one.
	if got := pages(t, e, admin, "/v1/faxes", 3); len(got) != 9 {
		t.Errorf("operator: %d faxes, want 9", len(got))
	}
	if got := pages(t, e, admin, "/v1/faxes?tenant_id="+w.b.tenant.ID, 3); len(got) != 2 {
		t.Errorf("operator, tenant B: %d faxes, want 2", len(got))
	}
	// A single fax has its attempts; a list leaves them out.
	r := e.do(t, "GET", "/v1/faxes/"+w.a.faxIn.ID, w.a.userCrd, nil)
	expect(t, "get", r, 200)
	var f gofaxlib.FaxResource
	r.json(t, &f)
	if len(f.Attempts) != 1 || f.Attempts[0].SignalRate != 14400 || f.Status != gofaxlib.StatusReceived || f.HylaFAX.RecvqFile == "" {
		t.Errorf("fax %s", r.body)
	}
	r = e.do(t, "GET", "/v1/faxes?direction=inbound", w.a.userCrd, nil)
	if strings.Contains(string(r.body), "attempts") {
		t.Errorf("list with attempts: %s", r.body)
	}
}
