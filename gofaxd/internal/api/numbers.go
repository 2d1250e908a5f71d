package api

import (
	"net/http"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// Numbers: managed by the operator; a tenant's users may read the
// tenant's numbers (the ones faxes can be sent from).

type numberInput struct {
	TenantID     string `json:"tenant_id"`
	Number       string `json:"number"`
	CallerIDName string `json:"caller_id_name"`
	Header       string `json:"header"`
	Ident        string `json:"ident"`
	Suspended    bool   `json:"suspended"`
}

type numberPatch struct {
	Number       *string `json:"number"`
	CallerIDName *string `json:"caller_id_name"`
	Header       *string `json:"header"`
	Ident        *string `json:"ident"`
	Suspended    *bool   `json:"suspended"`
}

func (s *Server) createNumber(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := adminOnly(p); err != nil {
		return err
	}
	var in numberInput
	if err := decodeJSON(r, s.o.MaxBody, &in, false); err != nil {
		return err
	}
	n := gofaxlib.Number{TenantID: in.TenantID, Number: in.Number, CallerIDName: in.CallerIDName, Header: in.Header,
		Ident: in.Ident, Suspended: in.Suspended}
	if n.TenantID == "" {
		return fieldErr("tenant_id", "required")
	}
	if err := s.store.CreateNumber(r.Context(), p.scope(), &n); err != nil {
		return err
	}
	s.audit(r, p, "number.create", "number", n.ID, n.TenantID, map[string]any{"number": n.Number})
	w.Header().Set("Location", "/v1/numbers/"+n.ID)
	s.reply(w, http.StatusCreated, n)
	return nil
}

func (s *Server) listNumbers(w http.ResponseWriter, r *http.Request, p *principal) error {
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
	l, next, err := s.store.ListNumbers(r.Context(), sc, pg)
	if err != nil {
		return err
	}
	s.reply(w, http.StatusOK, newList(l, next))
	return nil
}

// emptyList answers err, or an empty list when there is none.
func (s *Server) emptyList(w http.ResponseWriter, err error) error {
	if err != nil {
		return err
	}
	s.reply(w, http.StatusOK, newList[struct{}](nil, ""))
	return nil
}

func (s *Server) getNumber(w http.ResponseWriter, r *http.Request, p *principal) error {
	n, err := s.store.Number(r.Context(), p.scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	s.reply(w, http.StatusOK, n)
	return nil
}

func (s *Server) patchNumber(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := adminOnly(p); err != nil {
		return err
	}
	var in numberPatch
	if err := decodeJSON(r, s.o.MaxBody, &in, false); err != nil {
		return err
	}
	n, err := s.store.Number(r.Context(), p.scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	set(&n.Number, in.Number)
	set(&n.CallerIDName, in.CallerIDName)
	set(&n.Header, in.Header)
	set(&n.Ident, in.Ident)
	set(&n.Suspended, in.Suspended)
	if err := s.store.UpdateNumber(r.Context(), p.scope(), &n); err != nil {
		return err
	}
	s.audit(r, p, "number.update", "number", n.ID, n.TenantID, in)
	s.reply(w, http.StatusOK, n)
	return nil
}

func (s *Server) deleteNumber(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := adminOnly(p); err != nil {
		return err
	}
	n, err := s.store.Number(r.Context(), p.scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.store.DeleteNumber(r.Context(), p.scope(), n.ID); err != nil {
		return err
	}
	s.audit(r, p, "number.delete", "number", n.ID, n.TenantID, map[string]any{"number": n.Number})
	noContent(w)
	return nil
}
