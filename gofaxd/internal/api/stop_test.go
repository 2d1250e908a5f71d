package api_test

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/api"
	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// guessStore knows one user, "carol" with the password "right": every
// other login fails. It counts the password checks.
type guessStore struct {
	api.Store // nil: nothing else is used
	checks    atomic.Int64
}

func (s *guessStore) Host() string { return testHost }

func (s *guessStore) VerifyPassword(ctx context.Context, username, password string) (gofaxlib.User, error) {
	s.checks.Add(1)
	if username == "carol" && password == "right" {
		return gofaxlib.User{ID: "u1", TenantID: "t1", Username: "carol", Role: gofaxlib.RoleUser}, nil
	}
	return gofaxlib.User{}, gofaxlib.ErrUnauthenticated
}

func (s *guessStore) ListTenants(ctx context.Context, p gofaxlib.Page) ([]gofaxlib.Tenant, string, error) {
	return nil, "", nil
}

func newBareServer(t *testing.T, store api.Store) (*api.Server, string) {
	t.Helper()
	srv, err := api.New(api.Options{Store: store, Plan: planDE, Addr: "127.0.0.1:0",
		AdminTokens: []api.AdminToken{{Name: "ops", SHA256: sha256Of(adminToken)}},
		Logger:      slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	must(t, err)
	must(t, srv.Open(nil))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv, "http://" + srv.Addr().String()
}

// TestLoginFailureLimit: after ten failed Basic logins from one address
// the next ones are answered 429 with Retry-After before any password is
// checked (a check is costly, and guessing goes on otherwise), also for
// another user name; successful logins do not use the allowance up; the
// counts are what /metrics shows.
func TestLoginFailureLimit(t *testing.T) {
	t.Parallel()
	store := &guessStore{}
	srv, base := newBareServer(t, store)
	client := &http.Client{Timeout: time.Minute}
	login := func(user, pass string) *http.Response {
		req, err := http.NewRequestWithContext(testCtx(t), "GET", base+"/v1/faxes/"+missingID, nil)
		must(t, err)
		req.SetBasicAuth(user, pass)
		res, err := client.Do(req)
		must(t, err)
		res.Body.Close()
		return res
	}
	for i := range 30 {
		if res := login("carol", "right"); res.StatusCode == 429 || res.StatusCode == 401 {
			t.Fatalf("login %d with the right password: %d", i, res.StatusCode)
		}
	}
	for i := range 10 {
		if res := login("carol", "guess"+strconv.Itoa(i)); res.StatusCode != 401 {
			t.Fatalf("failed login %d: %d, want 401", i, res.StatusCode)
		}
	}
	checks := store.checks.Load()
	for _, user := range []string{"carol", "dave"} {
		res := login(user, "guess-more")
		if res.StatusCode != 429 {
			t.Fatalf("login of %s after ten failures: %d, want 429", user, res.StatusCode)
		}
		if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || ra < 1 {
			t.Errorf("Retry-After %q", res.Header.Get("Retry-After"))
		}
	}
	if n := store.checks.Load(); n != checks {
		t.Errorf("%d passwords checked after the limit", n-checks)
	}
	if failed, refused := srv.LoginStats(); failed != 10 || refused != 2 {
		t.Errorf("LoginStats %d failed, %d refused; want 10, 2", failed, refused)
	}
	// Bearer tokens are not affected.
	req, _ := http.NewRequestWithContext(testCtx(t), "GET", base+"/v1/tenants", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	res, err := client.Do(req)
	must(t, err)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("admin token after the limit: %d", res.StatusCode)
	}
}

// slowStore's ListTenants returns only a while after its context ended,
// recording that it did.
type slowStore struct {
	api.Store
	entered  chan struct{}
	returned atomic.Bool
}

func (s *slowStore) Host() string { return testHost }

func (s *slowStore) ListTenants(ctx context.Context, p gofaxlib.Page) ([]gofaxlib.Tenant, string, error) {
	s.entered <- struct{}{}
	<-ctx.Done()
	time.Sleep(300 * time.Millisecond) // the handler is slow to notice
	s.returned.Store(true)
	return nil, "", ctx.Err()
}

// TestShutdownWaitsForHandlers: when Shutdown's grace ends with a request
// still running, the request is cut short (its context ends) and
// Shutdown returns only once its handler did: the store is not used after
// it (gofaxd closes the store next).
func TestShutdownWaitsForHandlers(t *testing.T) {
	t.Parallel()
	store := &slowStore{entered: make(chan struct{}, 1)}
	srv, base := newBareServer(t, store)
	go func() {
		req, _ := http.NewRequest("GET", base+"/v1/tenants", nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	select {
	case <-store.entered:
	case <-time.After(time.Minute):
		t.Fatal("the request did not reach the handler within a minute")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	srv.Shutdown(ctx)
	if !store.returned.Load() {
		t.Error("Shutdown returned while a handler was still using the store")
	}
}
