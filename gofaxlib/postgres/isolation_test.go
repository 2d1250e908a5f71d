package postgres

import (
	"context"
	"errors"
	"testing"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// TestTenantIsolation calls every tenant-owned query with tenant A's scope
// on tenant B's rows: each must answer as if they did not exist (not
// found, an empty list, a field error) and change nothing. The operator's
// scope reaches them, and the zero Scope nothing.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	w := makeWorld(t, s)
	ctx := testCtx(t)
	a := gofaxlib.TenantScope(w.tenant[0].ID)
	b := 1 // index of the victim

	type result struct {
		n   int // items a list returned
		err error
	}
	queries := []struct {
		name string
		call func(ctx context.Context, sc gofaxlib.Scope) result
	}{
		{"Tenant", func(ctx context.Context, sc gofaxlib.Scope) result {
			_, err := s.Tenant(ctx, sc, w.tenant[b].ID)
			return result{err: err}
		}},
		{"Number", func(ctx context.Context, sc gofaxlib.Scope) result {
			_, err := s.Number(ctx, sc, w.number[b].ID)
			return result{err: err}
		}},
		{"NumberByE164", func(ctx context.Context, sc gofaxlib.Scope) result {
			_, err := s.NumberByE164(ctx, sc, w.number[b].Number)
			return result{err: err}
		}},
		{"ListNumbers", func(ctx context.Context, sc gofaxlib.Scope) result {
			l, _, err := s.ListNumbers(ctx, sc, gofaxlib.Page{})
			return result{countNumber(l, w.number[b].ID), err}
		}},
		{"CreateNumber", func(ctx context.Context, sc gofaxlib.Scope) result {
			n := gofaxlib.Number{TenantID: w.tenant[b].ID, Number: "+4989999999"}
			return result{err: s.CreateNumber(ctx, sc, &n)}
		}},
		{"UpdateNumber", func(ctx context.Context, sc gofaxlib.Scope) result {
			n := w.number[b]
			n.Header = "changed"
			return result{err: s.UpdateNumber(ctx, sc, &n)}
		}},
		{"User", func(ctx context.Context, sc gofaxlib.Scope) result {
			_, err := s.User(ctx, sc, w.user[b].ID)
			return result{err: err}
		}},
		{"ListUsers", func(ctx context.Context, sc gofaxlib.Scope) result {
			l, _, err := s.ListUsers(ctx, sc, gofaxlib.Page{})
			n := 0
			for _, u := range l {
				if u.ID == w.user[b].ID {
					n++
				}
			}
			return result{n, err}
		}},
		{"CreateUser", func(ctx context.Context, sc gofaxlib.Scope) result {
			u := gofaxlib.User{TenantID: w.tenant[b].ID, Username: "intruder"}
			return result{err: s.CreateUser(ctx, sc, &u, "")}
		}},
		{"UpdateUser", func(ctx context.Context, sc gofaxlib.Scope) result {
			u := w.user[b]
			u.Email = "changed@example.com"
			return result{err: s.UpdateUser(ctx, sc, &u)}
		}},
		{"SetPassword", func(ctx context.Context, sc gofaxlib.Scope) result {
			return result{err: s.SetPassword(ctx, sc, w.user[b].ID, "hijacked password")}
		}},
		{"CreateAPIKey", func(ctx context.Context, sc gofaxlib.Scope) result {
			_, _, err := s.CreateAPIKey(ctx, sc, w.user[b].ID, "stolen")
			return result{err: err}
		}},
		{"ListAPIKeys", func(ctx context.Context, sc gofaxlib.Scope) result {
			l, _, err := s.ListAPIKeys(ctx, sc, w.user[b].ID, gofaxlib.Page{})
			return result{len(l), err}
		}},
		{"APIKey", func(ctx context.Context, sc gofaxlib.Scope) result {
			_, err := s.APIKey(ctx, sc, w.apiKey[b].ID)
			return result{err: err}
		}},
		{"RevokeAPIKey", func(ctx context.Context, sc gofaxlib.Scope) result {
			return result{err: s.RevokeAPIKey(ctx, sc, w.apiKey[b].ID)}
		}},
		{"Endpoint", func(ctx context.Context, sc gofaxlib.Scope) result {
			_, err := s.Endpoint(ctx, sc, w.endpoint[b].ID)
			return result{err: err}
		}},
		{"ListEndpoints", func(ctx context.Context, sc gofaxlib.Scope) result {
			l, _, err := s.ListEndpoints(ctx, sc, gofaxlib.Page{})
			n := 0
			for _, e := range l {
				if e.ID == w.endpoint[b].ID {
					n++
				}
			}
			return result{n, err}
		}},
		{"CreateEndpoint", func(ctx context.Context, sc gofaxlib.Scope) result {
			e := gofaxlib.Endpoint{Scope: gofaxlib.ScopeTenant, TenantID: w.tenant[b].ID, Kind: gofaxlib.KindEmail, Target: "spy@example.com"}
			return result{err: s.CreateEndpoint(ctx, sc, &e)}
		}},
		{"CreateEndpoint on another tenant's number", func(ctx context.Context, sc gofaxlib.Scope) result {
			id, _ := sc.Tenant()
			if id == "" {
				id = w.tenant[0].ID
			}
			e := gofaxlib.Endpoint{Scope: gofaxlib.ScopeNumber, TenantID: id, NumberID: w.number[b].ID, Kind: gofaxlib.KindEmail, Target: "spy@example.com"}
			err := s.CreateEndpoint(ctx, sc, &e)
			if err == nil {
				err = errors.New("created") // never allowed, not even for the operator
			}
			return result{err: err}
		}},
		{"UpdateEndpoint", func(ctx context.Context, sc gofaxlib.Scope) result {
			e := w.endpoint[b]
			e.Target = "https://evil.example.com/"
			return result{err: s.UpdateEndpoint(ctx, sc, &e)}
		}},
		{"Fax", func(ctx context.Context, sc gofaxlib.Scope) result {
			_, err := s.Fax(ctx, sc, w.fax[b].ID)
			return result{err: err}
		}},
		{"FaxWithAttempts", func(ctx context.Context, sc gofaxlib.Scope) result {
			_, l, err := s.FaxWithAttempts(ctx, sc, w.fax[b].ID)
			return result{len(l), err}
		}},
		{"FaxByIdempotencyKey", func(ctx context.Context, sc gofaxlib.Scope) result {
			f, err := s.FaxByIdempotencyKey(ctx, sc, "key-1")
			if err == nil && f.ID == w.fax[b].ID {
				return result{n: 1}
			}
			return result{err: errors.Join(err, gofaxlib.ErrNotFound)}
		}},
		{"ListFaxes", func(ctx context.Context, sc gofaxlib.Scope) result {
			l, _, err := s.ListFaxes(ctx, sc, gofaxlib.FaxFilter{})
			n := 0
			for _, f := range l {
				if f.ID == w.fax[b].ID {
					n++
				}
			}
			return result{n, err}
		}},
		{"CreateFax", func(ctx context.Context, sc gofaxlib.Scope) result {
			f := gofaxlib.Fax{TenantID: w.tenant[b].ID, Direction: gofaxlib.Outbound, Status: gofaxlib.StatusQueued, To: "+4930123456"}
			return result{err: s.CreateFax(ctx, sc, &f)}
		}},
		{"SetFaxJob", func(ctx context.Context, sc gofaxlib.Scope) result {
			return result{err: s.SetFaxJob(ctx, sc, w.fax[b].ID, "other-host", 42)}
		}},
		{"AbandonFax", func(ctx context.Context, sc gofaxlib.Scope) result {
			return result{err: s.AbandonFax(ctx, sc, w.fax[b].ID)}
		}},
		{"Attempts", func(ctx context.Context, sc gofaxlib.Scope) result {
			l, err := s.Attempts(ctx, sc, w.fax[b].ID)
			return result{len(l), err}
		}},
		{"ListAudit", func(ctx context.Context, sc gofaxlib.Scope) result {
			l, _, err := s.ListAudit(ctx, sc, gofaxlib.Page{})
			n := 0
			for _, e := range l {
				if e.TenantID == w.tenant[b].ID {
					n++
				}
			}
			return result{n, err}
		}},
		{"DeleteEndpoint", func(ctx context.Context, sc gofaxlib.Scope) result {
			return result{err: s.DeleteEndpoint(ctx, sc, w.endpoint[b].ID)}
		}},
		{"DeleteUser", func(ctx context.Context, sc gofaxlib.Scope) result {
			return result{err: s.DeleteUser(ctx, sc, w.user[b].ID)}
		}},
		{"DeleteNumber", func(ctx context.Context, sc gofaxlib.Scope) result {
			return result{err: s.DeleteNumber(ctx, sc, w.number[b].ID)}
		}},
	}
	must(t, s.Audit(ctx, &gofaxlib.AuditEntry{Actor: "admin:test", TenantID: w.tenant[b].ID, Action: "tenant.update"}))

	for _, q := range queries {
		t.Run(q.name, func(t *testing.T) {
			r := q.call(ctx, a)
			var fe *gofaxlib.FieldError
			if r.n != 0 || !(r.err == nil || errors.Is(r.err, gofaxlib.ErrNotFound) || errors.As(r.err, &fe)) {
				t.Errorf("tenant A reached tenant B's row: %d items, error %v", r.n, r.err)
			}
			if r.n == 0 && r.err == nil && !isList(q.name) {
				t.Errorf("no error for a single row of another tenant")
			}
			if readOnly(q.name) {
				// Control: the operator reaches the same row.
				if r := q.call(ctx, gofaxlib.OperatorScope()); r.err != nil || isList(q.name) && r.n == 0 {
					t.Errorf("operator: %d items, error %v", r.n, r.err)
				}
			}
			if r := q.call(ctx, gofaxlib.Scope{}); r.err == nil || !errors.Is(r.err, gofaxlib.ErrInvalid) && !errors.As(r.err, &fe) {
				t.Errorf("zero scope: %d items, error %v", r.n, r.err)
			}
		})
	}

	// Nothing of B's changed.
	op := gofaxlib.OperatorScope()
	n, err := s.Number(ctx, op, w.number[b].ID)
	if err != nil || n.Header != "" {
		t.Errorf("B's number: %+v, %v", n, err)
	}
	u, err := s.User(ctx, op, w.user[b].ID)
	if err != nil || u.Email != "" {
		t.Errorf("B's user: %+v, %v", u, err)
	}
	if _, err := s.VerifyPassword(ctx, "bob", "correct horse Bravo"); err != nil {
		t.Errorf("B's password changed: %v", err)
	}
	if _, _, err := s.VerifyAPIKey(ctx, w.key[b]); err != nil {
		t.Errorf("B's key revoked: %v", err)
	}
	e, err := s.Endpoint(ctx, op, w.endpoint[b].ID)
	if err != nil || e.Target != w.endpoint[b].Target {
		t.Errorf("B's endpoint: %+v, %v", e, err)
	}
	f, err := s.Fax(ctx, op, w.fax[b].ID)
	if err != nil || f.JobID != 0 {
		t.Errorf("B's fax: %+v, %v", f, err)
	}
	if l, _, _ := s.ListAPIKeys(ctx, op, w.user[b].ID, gofaxlib.Page{}); len(l) != 1 {
		t.Errorf("B has %d API keys", len(l))
	}

	// The operator sees both tenants' rows.
	if l, _, err := s.ListFaxes(ctx, op, gofaxlib.FaxFilter{}); err != nil || len(l) != 2 {
		t.Errorf("operator lists %d faxes, %v", len(l), err)
	}
	if l, err := s.Attempts(ctx, op, w.fax[b].ID); err != nil || len(l) != 1 {
		t.Errorf("operator: %d attempts, %v", len(l), err)
	}
	// And a tenant its own.
	if _, err := s.Fax(ctx, a, w.fax[0].ID); err != nil {
		t.Errorf("A's own fax: %v", err)
	}
	if f, err := s.FaxByIdempotencyKey(ctx, a, "key-1"); err != nil || f.ID != w.fax[0].ID {
		t.Errorf("A's idempotency key: %v", err)
	}
}

func readOnly(name string) bool {
	switch name {
	case "Tenant", "Number", "NumberByE164", "User", "APIKey", "Endpoint", "Fax", "FaxWithAttempts":
		return true
	}
	return isList(name)
}

func isList(name string) bool {
	switch name {
	case "ListNumbers", "ListUsers", "ListAPIKeys", "ListEndpoints", "ListFaxes", "Attempts", "ListAudit":
		return true
	}
	return false
}

func countNumber(l []gofaxlib.Number, id string) int {
	n := 0
	for _, x := range l {
		if x.ID == id {
			n++
		}
	}
	return n
}
