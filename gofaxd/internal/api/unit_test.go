package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

func TestStatusTable(t *testing.T) {
	taken := &gofaxlib.FieldError{Field: "username", Err: fmt.Errorf("%w: the username is taken", gofaxlib.ErrConflict)}
	for _, c := range []struct {
		err  error
		want int
	}{
		{gofaxlib.ErrNotFound, 404},
		{fmt.Errorf("postgres: get fax: %w", gofaxlib.ErrNotFound), 404},
		{fmt.Errorf("postgres: op: %w", taken), 409}, // a FieldError wrapping ErrConflict
		{gofaxlib.ErrTenantHasNumbers, 409},
		{&gofaxlib.FieldError{Field: "number", Err: gofaxlib.ErrInvalidNumber}, 422},
		{gofaxlib.ErrUnauthenticated, 401},
		{gofaxlib.ErrSuspended, 403},
		{fail(errForbidden, "x"), 403},
		{fail(errTooLarge, "x"), 413},
		{&http.MaxBytesError{Limit: 1}, 413},
		{fail(errUnsupported, "x"), 415},
		{fail(errBadRequest, "x"), 400},
		{fail(errRateLimited, "x"), 429},
		{fmt.Errorf("postgres: x: %w (dial)", gofaxlib.ErrUnavailable), 503},
		{context.DeadlineExceeded, 503},
		{fail(errNotImplemented, "x"), 501},
		{fail(errMethod, "x"), 405},
		{errors.New("anything else"), 500},
	} {
		if got := statusOf(c.err); got != c.want {
			t.Errorf("statusOf(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestProblemDetail(t *testing.T) {
	r := httptest.NewRequest("GET", "/v1/x", nil)
	taken := fmt.Errorf("postgres: create user: %w (pq: duplicate key)",
		&gofaxlib.FieldError{Field: "username", Err: fmt.Errorf("%w: the username is taken", gofaxlib.ErrConflict)})
	p := newProblem(taken, 409, r, "id1")
	if p.Detail != "username: the username is taken" || len(p.InvalidParams) != 1 || p.InvalidParams[0].Name != "username" {
		t.Errorf("conflict problem %+v", p)
	}
	if strings.Contains(fmt.Sprint(p), "pq") {
		t.Errorf("problem leaks the driver's message: %+v", p)
	}
	p = newProblem(errors.New("pq: password authentication failed for user gofax"), 500, r, "id2")
	if strings.Contains(p.Detail, "pq") || !strings.Contains(p.Detail, "id2") {
		t.Errorf("500 problem %+v", p)
	}
	p = newProblem(fmt.Errorf("postgres: delete tenant: %w", gofaxlib.ErrTenantHasFaxes), 409, r, "id3")
	if !strings.Contains(p.Detail, "suspend") {
		t.Errorf("tenant with faxes: %+v", p)
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLimiter(2, 3, 100)
	for i := range 3 {
		if ok, _ := l.allow("k", now); !ok {
			t.Fatalf("request %d within the burst refused", i)
		}
	}
	ok, wait := l.allow("k", now)
	if ok || wait != 500*time.Millisecond {
		t.Errorf("over the burst: %v, wait %v", ok, wait)
	}
	if ok, _ := l.allow("other", now); !ok {
		t.Error("another key shares the bucket")
	}
	if ok, _ := l.allow("k", now.Add(500*time.Millisecond)); !ok {
		t.Error("no token after refilling")
	}
	if ok, _ := l.allow("k", now.Add(500*time.Millisecond)); ok {
		t.Error("two tokens after refilling one")
	}
	// The bucket never holds more than the burst.
	later := now.Add(time.Hour)
	for i := range 4 {
		if ok, _ := l.allow("k", later); ok != (i < 3) {
			t.Errorf("after an hour, request %d: %v", i, ok)
		}
	}
}

// TestLimiterPeekCharge: the failed-login limit looks before a login
// (peek takes nothing) and charges failures only, also beyond empty
// (concurrent failures), but not without bound.
func TestLimiterPeekCharge(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLimiter(1, 2, 100)
	for range 5 {
		if ok, _ := l.peek("a", now); !ok {
			t.Fatal("peek took a token")
		}
	}
	l.charge("a", now)
	l.charge("a", now)
	if ok, wait := l.peek("a", now); ok || wait != time.Second {
		t.Errorf("after two failures: %v, wait %v", ok, wait)
	}
	for range 10 {
		l.charge("a", now)
	}
	if ok, wait := l.peek("a", now); ok || wait != 3*time.Second {
		t.Errorf("after many failures: %v, wait %v (at most burst beyond empty)", ok, wait)
	}
	if ok, _ := l.peek("a", now.Add(3*time.Second)); !ok {
		t.Error("no token after the wait")
	}
}

func TestLimiterBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLimiter(1, 5, 50)
	for i := range 10000 {
		now = now.Add(time.Millisecond)
		l.allow(fmt.Sprint("key", i), now)
		if len(l.buckets) > 50 {
			t.Fatalf("%d buckets", len(l.buckets))
		}
	}
	// A busy key keeps its (empty) bucket while idle keys come and go.
	for range 5 {
		l.allow("busy", now)
	}
	for i := range 30 {
		now = now.Add(time.Millisecond)
		l.allow(fmt.Sprint("idle", i), now)
	}
	if ok, _ := l.allow("busy", now); ok {
		t.Error("the busy key got a fresh bucket")
	}
}

func TestKeyCache(t *testing.T) {
	c := newKeyCache(time.Minute)
	now := time.Unix(1000, 0)
	sum := sha256.Sum256([]byte("k1"))
	p := &principal{user: gofaxlib.User{ID: "u1", TenantID: "t1"}, keyID: "key1"}
	c.put(&sum, p, c.generation(), now)
	if c.get(&sum, now.Add(59*time.Second)) != p {
		t.Error("not cached")
	}
	if c.get(&sum, now.Add(61*time.Second)) != nil {
		t.Error("cached beyond the TTL")
	}
	for _, drop := range []func(*principal) bool{
		func(p *principal) bool { return p.keyID == "key1" },
		func(p *principal) bool { return p.user.ID == "u1" },
		func(p *principal) bool { return p.user.TenantID == "t1" },
	} {
		c.put(&sum, p, c.generation(), now)
		c.drop(drop)
		if c.get(&sum, now) != nil {
			t.Error("dropped entry still cached")
		}
	}
	// A verification that started before a revocation does not cache its
	// stale answer.
	gen := c.generation()
	c.drop(func(*principal) bool { return false })
	c.put(&sum, p, gen, now)
	if c.get(&sum, now) != nil {
		t.Error("a verification older than a revocation was cached")
	}
	off := newKeyCache(-1)
	off.put(&sum, p, off.generation(), now)
	if off.get(&sum, now) != nil {
		t.Error("a disabled cache caches")
	}
	// Bounded.
	for i := range maxCachedKeys + 10 {
		s := sha256.Sum256([]byte(fmt.Sprint(i)))
		c.put(&s, p, c.generation(), now)
	}
	if len(c.m) > maxCachedKeys {
		t.Errorf("%d cached keys", len(c.m))
	}
}

func TestSniff(t *testing.T) {
	for _, c := range []struct {
		head string
		want gofaxlib.DocumentFormat
	}{
		{"%PDF-1.7\n", gofaxlib.FormatPDF},
		{"\xef\xbb\xbfjunk %PDF-1.4", gofaxlib.FormatPDF},
		{"II*\x00\x08\x00", gofaxlib.FormatTIFF},
		{"MM\x00*\x00\x00", gofaxlib.FormatTIFF},
		{"II+\x00", ""}, // BigTIFF
		{"GIF89a", ""},
		{"%PDF", ""},
		{"", ""},
	} {
		if got := sniff([]byte(c.head)); got != c.want {
			t.Errorf("sniff(%q) = %q, want %q", c.head, got, c.want)
		}
	}
}

func TestParsePDFInfo(t *testing.T) {
	out := "Title:           x\nProducer:        y\nPages:           12\nEncrypted:       no\n"
	if n, err := parsePDFInfo([]byte(out)); n != 12 || err != nil {
		t.Errorf("%d, %v", n, err)
	}
	for _, bad := range []string{"", "Pages: many\n", "Title: Pages: 3\n", "Pages: -1\n"} {
		if _, err := parsePDFInfo([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestIdempotencyKeyHeader(t *testing.T) {
	for _, c := range []struct {
		vals []string
		ok   bool
	}{
		{nil, true}, {[]string{"a"}, true}, {[]string{strings.Repeat("x", 255)}, true},
		{[]string{""}, false}, {[]string{strings.Repeat("x", 256)}, false}, {[]string{"a\tb"}, false},
		{[]string{"ä"}, false}, {[]string{"a", "b"}, false},
	} {
		r := httptest.NewRequest("POST", "/v1/faxes", nil)
		for _, v := range c.vals {
			r.Header.Add("Idempotency-Key", v)
		}
		if _, err := idempotencyKey(r); (err == nil) != c.ok {
			t.Errorf("%q: %v", c.vals, err)
		}
	}
}
