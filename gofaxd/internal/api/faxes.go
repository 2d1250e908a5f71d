package api

import (
	"errors"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// Faxes: a tenant's users read the tenant's sent and received faxes, send
// and cancel; the operator reads every tenant's (and those received on
// numbers no tenant has) and may cancel any.

func (s *Server) listFaxes(w http.ResponseWriter, r *http.Request, p *principal) error {
	q, err := parseQuery(r, "tenant_id", "direction", "status", "from", "to", "since", "until")
	if err != nil {
		return err
	}
	fl := gofaxlib.FaxFilter{}
	if fl.Page, err = q.page(); err != nil {
		return err
	}
	if d := gofaxlib.Direction(q.get("direction")); d != "" {
		if d != gofaxlib.Outbound && d != gofaxlib.Inbound {
			return fieldErr("direction", "%q: outbound or inbound", clipText(string(d)))
		}
		fl.Direction = d
	}
	if st := gofaxlib.FaxStatus(q.get("status")); st != "" {
		if !st.ValidFor(gofaxlib.Outbound) && !st.ValidFor(gofaxlib.Inbound) {
			return fieldErr("status", "%q is not a fax status", clipText(string(st)))
		}
		fl.Status = st
	}
	for _, n := range []struct {
		name string
		dst  *string
	}{{"from", &fl.From}, {"to", &fl.To}} {
		v := q.get(n.name)
		if len(v) > maxFilterLen || !utf8.ValidString(v) || gofaxlib.HasControl(v) {
			return fieldErr(n.name, "at most %d characters without control characters", maxFilterLen)
		}
		*n.dst = s.filterNumber(v)
	}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"since", &fl.Since}, {"until", &fl.Until}} {
		if v := q.get(t.name); v != "" {
			if *t.dst, err = time.Parse(time.RFC3339Nano, v); err != nil {
				return fieldErr(t.name, "%q is not an RFC 3339 time such as 2025-03-01T10:00:00Z", clipText(v))
			}
		}
	}
	sc, ok, err := q.listScope(p)
	if err != nil || !ok {
		return s.emptyList(w, err)
	}
	l, next, err := s.store.ListFaxes(r.Context(), sc, fl)
	if err != nil {
		return err
	}
	views := make([]gofaxlib.FaxResource, len(l))
	for i := range l {
		views[i] = gofaxlib.NewFaxResource(&l[i], nil)
	}
	s.reply(w, http.StatusOK, newList(views, next))
	return nil
}

// maxFilterLen bounds the from and to filters: a number or caller ID as
// stored.
const maxFilterLen = 100

// filterNumber normalises a number to filter by; one that is not a
// telephone number (an anonymous caller ID) is matched as stored.
func (s *Server) filterNumber(v string) string {
	if v == "" {
		return ""
	}
	if e, err := s.o.Plan.E164(v); err == nil {
		return e
	}
	return v
}

func (s *Server) getFax(w http.ResponseWriter, r *http.Request, p *principal) error {
	f, attempts, err := s.store.FaxWithAttempts(r.Context(), p.scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	s.reply(w, http.StatusOK, gofaxlib.NewFaxResource(&f, attempts))
	return nil
}

// cancelFax kills the HylaFAX job of a sent fax that is not final:
// queued, waiting for a retry, or being sent (faxq then aborts the call,
// as for faxrm). It answers 202 with the fax as it is: faxq reports the
// kill (the NotifyCmd), and only then is the fax canceled.
func (s *Server) cancelFax(w http.ResponseWriter, r *http.Request, p *principal) error {
	f, err := s.store.Fax(r.Context(), p.scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	switch {
	case f.Direction != gofaxlib.Outbound:
		return fail(gofaxlib.ErrConflict, "a received fax cannot be canceled")
	case !p.isAdmin() && !p.tenantAdmin() && f.UserID != p.user.ID:
		return forbidden("a user may cancel only its own faxes")
	case f.Status.Terminal():
		return fail(gofaxlib.ErrConflict, "the fax is %s already", f.Status)
	case f.JobID == 0:
		return &reason{sentinel: gofaxlib.ErrConflict, msg: "the fax is not in HylaFAX's queue yet; try again in a moment"}
	case f.Host != s.store.Host():
		return fail(gofaxlib.ErrConflict, "the fax is queued on host %s; cancel it there", f.Host)
	case s.o.Submitter == nil:
		return fail(errNotImplemented, "this server cannot reach HylaFAX's queue (no hfaxd account configured)")
	}
	if err := s.o.Submitter.Kill(r.Context(), f.Host, f.JobID); err != nil {
		if errors.Is(err, gofaxlib.ErrNotFound) {
			return fail(gofaxlib.ErrConflict, "HylaFAX has no job %d any more; the fax is about to be finished", f.JobID)
		}
		if errors.Is(err, gofaxlib.ErrUnavailable) {
			return hfaxdUnavailable("the fax was not canceled; retry the request")
		}
		return err
	}
	s.audit(r, p, "fax.cancel", "fax", f.ID, f.TenantID, map[string]any{"host": f.Host, "job_id": f.JobID})
	s.reply(w, http.StatusAccepted, gofaxlib.NewFaxResource(&f, nil))
	return nil
}
