package api

import (
	"net/http"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// API keys: made for a user by the operator, a tenant-admin of its tenant,
// or the user itself; the key is in the answer to its creation only (the
// store keeps its SHA-256). Revoked the same way.

type apiKeyView struct {
	ID       string     `json:"id"`
	TenantID string     `json:"tenant_id"`
	UserID   string     `json:"user_id"`
	Name     string     `json:"name"`
	Prefix   string     `json:"prefix"`
	Created  time.Time  `json:"created_at"`
	LastUsed *time.Time `json:"last_used_at"`
	Revoked  *time.Time `json:"revoked_at"`
	// Key is the key itself, in the answer to its creation only.
	Key string `json:"key,omitempty"`
}

func newAPIKeyView(k gofaxlib.APIKey) apiKeyView {
	return apiKeyView{ID: k.ID, TenantID: k.TenantID, UserID: k.UserID, Name: k.Name, Prefix: k.Prefix,
		Created: k.Created.UTC(), LastUsed: timeOrNull(k.LastUsed), Revoked: timeOrNull(k.Revoked)}
}

func timeOrNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

type apiKeyInput struct {
	Name string `json:"name"`
}

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request, p *principal) error {
	var in apiKeyInput
	if err := decodeJSON(r, s.o.MaxBody, &in, true); err != nil {
		return err
	}
	u, err := s.userFor(r, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	key, k, err := s.store.CreateAPIKey(r.Context(), p.scope(), u.ID, in.Name)
	if err != nil {
		return err
	}
	s.audit(r, p, "api_key.create", "api_key", k.ID, k.TenantID, map[string]any{"user_id": u.ID, "prefix": k.Prefix, "name": k.Name})
	v := newAPIKeyView(k)
	v.Key = key
	s.reply(w, http.StatusCreated, v)
	return nil
}

func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request, p *principal) error {
	q, err := parseQuery(r)
	if err != nil {
		return err
	}
	pg, err := q.page()
	if err != nil {
		return err
	}
	u, err := s.userFor(r, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	l, next, err := s.store.ListAPIKeys(r.Context(), p.scope(), u.ID, pg)
	if err != nil {
		return err
	}
	views := make([]apiKeyView, len(l))
	for i, k := range l {
		views[i] = newAPIKeyView(k)
	}
	s.reply(w, http.StatusOK, newList(views, next))
	return nil
}

func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request, p *principal) error {
	k, err := s.store.APIKey(r.Context(), p.scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if !p.isAdmin() && !p.tenantAdmin() && k.UserID != p.user.ID {
		return forbidden("a user may revoke only its own keys")
	}
	if err := s.store.RevokeAPIKey(r.Context(), p.scope(), k.ID); err != nil {
		return err
	}
	s.forgetKey(k.ID)
	s.audit(r, p, "api_key.revoke", "api_key", k.ID, k.TenantID, map[string]any{"user_id": k.UserID, "prefix": k.Prefix})
	noContent(w)
	return nil
}
