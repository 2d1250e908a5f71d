package api

import (
	"net/http"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// Tenants: created, listed, changed and deleted by the operator; a tenant
// user may read its own tenant.

type tenantInput struct {
	Name          string `json:"name"`
	TimeZone      string `json:"time_zone"`
	Suspended     bool   `json:"suspended"`
	RetentionDays int    `json:"retention_days"`
}

type tenantPatch struct {
	Name          *string `json:"name"`
	TimeZone      *string `json:"time_zone"`
	Suspended     *bool   `json:"suspended"`
	RetentionDays *int    `json:"retention_days"`
}

func (s *Server) createTenant(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := adminOnly(p); err != nil {
		return err
	}
	var in tenantInput
	if err := decodeJSON(r, s.o.MaxBody, &in, false); err != nil {
		return err
	}
	t := gofaxlib.Tenant{Name: in.Name, TimeZone: in.TimeZone, Suspended: in.Suspended, RetentionDays: in.RetentionDays}
	if err := s.store.CreateTenant(r.Context(), &t); err != nil {
		return err
	}
	s.audit(r, p, "tenant.create", "tenant", t.ID, t.ID, map[string]any{"name": t.Name})
	w.Header().Set("Location", "/v1/tenants/"+t.ID)
	s.reply(w, http.StatusCreated, t)
	return nil
}

func (s *Server) listTenants(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := adminOnly(p); err != nil {
		return err
	}
	q, err := parseQuery(r)
	if err != nil {
		return err
	}
	pg, err := q.page()
	if err != nil {
		return err
	}
	l, next, err := s.store.ListTenants(r.Context(), pg)
	if err != nil {
		return err
	}
	s.reply(w, http.StatusOK, newList(l, next))
	return nil
}

func (s *Server) getTenant(w http.ResponseWriter, r *http.Request, p *principal) error {
	t, err := s.store.Tenant(r.Context(), p.scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	s.reply(w, http.StatusOK, t)
	return nil
}

func (s *Server) patchTenant(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := adminOnly(p); err != nil {
		return err
	}
	var in tenantPatch
	if err := decodeJSON(r, s.o.MaxBody, &in, false); err != nil {
		return err
	}
	t, err := s.store.Tenant(r.Context(), p.scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	set(&t.Name, in.Name)
	set(&t.TimeZone, in.TimeZone)
	set(&t.Suspended, in.Suspended)
	set(&t.RetentionDays, in.RetentionDays)
	if err := s.store.UpdateTenant(r.Context(), &t); err != nil {
		return err
	}
	if t.Suspended {
		s.forgetTenant(t.ID)
	}
	s.audit(r, p, "tenant.update", "tenant", t.ID, t.ID, in)
	s.reply(w, http.StatusOK, t)
	return nil
}

func (s *Server) deleteTenant(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := adminOnly(p); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := s.store.DeleteTenant(r.Context(), id); err != nil {
		return err
	}
	s.forgetTenant(id)
	s.audit(r, p, "tenant.delete", "tenant", id, id, nil)
	noContent(w)
	return nil
}

// set copies a PATCH value that was given.
func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
