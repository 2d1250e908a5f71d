package api

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// Endpoints: the operator manages all (gateways, webhooks and mailboxes at
// any scope); a tenant-admin its tenant's webhooks and mailboxes (tenant
// or number scope). Gateways decide which carrier a tenant's faxes leave
// through, so they stay the operator's. A webhook's signing secret is in
// the answer to its creation (and to a rotation) only.

type endpointInput struct {
	Scope    gofaxlib.EndpointScope   `json:"scope"`
	TenantID string                   `json:"tenant_id"`
	NumberID string                   `json:"number_id"`
	Kind     gofaxlib.EndpointKind    `json:"kind"`
	Target   string                   `json:"target"`
	Priority int                      `json:"priority"`
	Enabled  *bool                    `json:"enabled"` // default true
	Options  gofaxlib.EndpointOptions `json:"options"`
}

type endpointPatch struct {
	Target   *string                   `json:"target"`
	Priority *int                      `json:"priority"`
	Enabled  *bool                     `json:"enabled"`
	Options  *gofaxlib.EndpointOptions `json:"options"` // replaces all options
	// RotateSecret gives a webhook a new signing secret (in the answer).
	RotateSecret bool `json:"rotate_secret"`
}

// endpointView is an endpoint as the API shows it; Secret only in the
// answer to a webhook's creation or secret rotation.
type endpointView struct {
	gofaxlib.Endpoint
	Secret string `json:"secret,omitempty"`
}

// managesEndpoints refuses plain users, and tenant-admins gateways and
// global endpoints.
func managesEndpoints(p *principal, e *gofaxlib.Endpoint) error {
	switch {
	case p.isAdmin():
		return nil
	case !p.tenantAdmin():
		return forbidden("managing endpoints needs an admin token or a tenant-admin")
	case e != nil && (e.Kind == gofaxlib.KindGateway || e.Scope == gofaxlib.ScopeGlobal):
		return forbidden("gateways and global endpoints are the operator's")
	}
	return nil
}

func (s *Server) createEndpoint(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := managesEndpoints(p, nil); err != nil {
		return err
	}
	var in endpointInput
	if err := decodeJSON(r, s.o.MaxBody, &in, false); err != nil {
		return err
	}
	e := gofaxlib.Endpoint{Scope: in.Scope, TenantID: in.TenantID, NumberID: in.NumberID, Kind: in.Kind,
		Target: in.Target, Priority: in.Priority, Enabled: in.Enabled == nil || *in.Enabled, Options: in.Options}
	if !p.isAdmin() && e.TenantID == "" && e.Scope != gofaxlib.ScopeGlobal {
		e.TenantID = p.user.TenantID
	}
	if err := managesEndpoints(p, &e); err != nil {
		return err
	}
	if err := s.store.CreateEndpoint(r.Context(), p.scope(), &e); err != nil {
		return err
	}
	s.audit(r, p, "endpoint.create", "endpoint", e.ID, e.TenantID, map[string]any{"scope": e.Scope, "kind": e.Kind,
		"target": e.Target, "number_id": e.NumberID})
	w.Header().Set("Location", "/v1/endpoints/"+e.ID)
	s.reply(w, http.StatusCreated, endpointView{Endpoint: e, Secret: e.Secret})
	return nil
}

func (s *Server) listEndpoints(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := managesEndpoints(p, nil); err != nil {
		return err
	}
	q, err := parseQuery(r, "tenant_id")
	if err != nil {
		return err
	}
	pg, err := q.page()
	if err != nil {
		return err
	}
	sc, ok, err := q.listScope(p)
	if err != nil || !ok {
		return s.emptyList(w, err)
	}
	l, next, err := s.store.ListEndpoints(r.Context(), sc, pg)
	if err != nil {
		return err
	}
	views := make([]endpointView, len(l))
	for i, e := range l {
		views[i] = endpointView{Endpoint: e}
	}
	s.reply(w, http.StatusOK, newList(views, next))
	return nil
}

func (s *Server) getEndpoint(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := managesEndpoints(p, nil); err != nil {
		return err
	}
	e, err := s.store.Endpoint(r.Context(), p.scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	s.reply(w, http.StatusOK, endpointView{Endpoint: e})
	return nil
}

func (s *Server) patchEndpoint(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := managesEndpoints(p, nil); err != nil {
		return err
	}
	var in endpointPatch
	if err := decodeJSON(r, s.o.MaxBody, &in, false); err != nil {
		return err
	}
	e, err := s.store.Endpoint(r.Context(), p.scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := managesEndpoints(p, &e); err != nil {
		return err
	}
	set(&e.Target, in.Target)
	set(&e.Priority, in.Priority)
	set(&e.Enabled, in.Enabled)
	set(&e.Options, in.Options)
	shown := ""
	if in.RotateSecret {
		if e.Kind != gofaxlib.KindWebhook {
			return fieldErr("rotate_secret", "only webhooks have a signing secret")
		}
		if e.Secret, err = newWebhookSecret(); err != nil {
			return err
		}
		shown = e.Secret
	}
	if err := s.store.UpdateEndpoint(r.Context(), p.scope(), &e); err != nil {
		return err
	}
	s.audit(r, p, "endpoint.update", "endpoint", e.ID, e.TenantID, map[string]any{"target": in.Target,
		"priority": in.Priority, "enabled": in.Enabled, "options": in.Options, "secret_rotated": in.RotateSecret})
	s.reply(w, http.StatusOK, endpointView{Endpoint: e, Secret: shown})
	return nil
}

func (s *Server) deleteEndpoint(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := managesEndpoints(p, nil); err != nil {
		return err
	}
	e, err := s.store.Endpoint(r.Context(), p.scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := managesEndpoints(p, &e); err != nil {
		return err
	}
	if err := s.store.DeleteEndpoint(r.Context(), p.scope(), e.ID); err != nil {
		return err
	}
	s.audit(r, p, "endpoint.delete", "endpoint", e.ID, e.TenantID, map[string]any{"kind": e.Kind, "target": e.Target})
	noContent(w)
	return nil
}

// newWebhookSecret makes a Standard Webhooks signing secret: "whsec_" and
// the base64 of 32 random bytes.
func newWebhookSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b), nil
}
