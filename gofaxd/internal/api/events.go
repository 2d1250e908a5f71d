package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// Receipt events: the facts receipts tell (fax.received, fax.delivered,
// …) with the state of their deliveries to webhooks and mailboxes. They
// belong with the endpoints: the operator sees every event and delivery
// (also those to global endpoints); a tenant-admin its tenant's events and
// their deliveries to its own endpoints, and may re-deliver them. Plain
// users follow their faxes through /v1/faxes.

// eventView is an event as the API shows it.
type eventView struct {
	ID       string             `json:"id"`
	Type     gofaxlib.EventType `json:"type"`
	TenantID *string            `json:"tenant_id"` // null: a fax no tenant has
	FaxID    string             `json:"fax_id"`
	Created  time.Time          `json:"created_at"`
	// Status sums up the deliveries (dead, else pending, else delivered);
	// null when no endpoint wanted the event.
	Status     *gofaxlib.DeliveryStatus `json:"status"`
	Data       json.RawMessage          `json:"data"` // the fax resource the receipts carry
	Deliveries []deliveryView           `json:"deliveries"`
}

// deliveryView is one delivery of an event.
type deliveryView struct {
	ID          string                  `json:"id"`
	EndpointID  string                  `json:"endpoint_id"`
	Kind        gofaxlib.TargetKind     `json:"kind"`
	Target      string                  `json:"target"`
	Status      gofaxlib.DeliveryStatus `json:"status"`
	Attempts    int                     `json:"attempts"`
	NextAttempt *time.Time              `json:"next_attempt_at"` // pending only
	LastAttempt *time.Time              `json:"last_attempt_at"`
	LastError   string                  `json:"last_error"`
	Delivered   *time.Time              `json:"delivered_at"`
}

func newEventView(e gofaxlib.EventInfo) eventView {
	v := eventView{ID: e.ID, Type: e.Type, FaxID: e.FaxID, Created: e.Time.UTC(), Data: e.Payload,
		Deliveries: make([]deliveryView, len(e.Deliveries))}
	if e.TenantID != "" {
		v.TenantID = &e.TenantID
	}
	if e.Status != "" {
		v.Status = &e.Status
	}
	if len(v.Data) == 0 {
		v.Data = json.RawMessage("null")
	}
	for i, d := range e.Deliveries {
		dv := deliveryView{ID: d.ID, EndpointID: d.EndpointID, Kind: d.Kind, Target: d.Target, Status: d.Status,
			Attempts: d.Attempts, LastAttempt: optTime(d.LastAttempt), LastError: d.LastError, Delivered: optTime(d.Delivered)}
		if d.Status == gofaxlib.DeliveryPending {
			dv.NextAttempt = optTime(d.NextAttempt)
		}
		v.Deliveries[i] = dv
	}
	return v
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// readsEvents refuses plain users: events show the endpoints' targets.
func readsEvents(p *principal) error {
	if p.isAdmin() || p.tenantAdmin() {
		return nil
	}
	return forbidden("receipt events need an admin token or a tenant-admin")
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := readsEvents(p); err != nil {
		return err
	}
	q, err := parseQuery(r, "tenant_id", "type", "status", "fax_id")
	if err != nil {
		return err
	}
	fl := gofaxlib.EventFilter{}
	if fl.Page, err = q.page(); err != nil {
		return err
	}
	if t := gofaxlib.EventType(q.get("type")); t != "" {
		if !t.Valid() {
			return fieldErr("type", "%q is not an event type", clipText(string(t)))
		}
		fl.Type = t
	}
	switch st := gofaxlib.DeliveryStatus(q.get("status")); st {
	case "", gofaxlib.DeliveryPending, gofaxlib.DeliveryDelivered, gofaxlib.DeliveryDead:
		fl.Status = st
	default:
		return fieldErr("status", "%q: pending, delivered or dead", clipText(string(st)))
	}
	if id := q.get("fax_id"); id != "" {
		if !uuidOK(id) {
			return fieldErr("fax_id", "%q is not a fax id", clipText(id))
		}
		fl.FaxID = id
	}
	sc, ok, err := q.listScope(p)
	if err != nil || !ok {
		return s.emptyList(w, err)
	}
	l, next, err := s.store.ListEvents(r.Context(), sc, fl)
	if err != nil {
		return err
	}
	views := make([]eventView, len(l))
	for i, e := range l {
		views[i] = newEventView(e)
	}
	s.reply(w, http.StatusOK, newList(views, next))
	return nil
}

func (s *Server) getEvent(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := readsEvents(p); err != nil {
		return err
	}
	e, err := s.store.Event(r.Context(), p.scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	s.reply(w, http.StatusOK, newEventView(e))
	return nil
}

// redeliverEvent makes the event's deliveries the caller may see due at
// once: dead ones get one more try, delivered ones are sent again (with
// the same webhook-id), those being tried are left to their attempt. It
// answers 202 with the event; the dispatcher is woken.
func (s *Server) redeliverEvent(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := readsEvents(p); err != nil {
		return err
	}
	e, err := s.store.Event(r.Context(), p.scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if len(e.Deliveries) == 0 {
		return fail(gofaxlib.ErrConflict, "the event has no deliveries: no endpoint of yours wanted it")
	}
	n, err := s.store.RedeliverEvent(r.Context(), p.scope(), e.ID)
	if err != nil {
		return err
	}
	if n > 0 && s.o.WakeReceipts != nil {
		s.o.WakeReceipts()
	}
	s.audit(r, p, "event.redeliver", "event", e.ID, e.TenantID, map[string]any{"deliveries": n, "type": e.Type, "fax_id": e.FaxID})
	if e, err = s.store.Event(r.Context(), p.scope(), e.ID); err != nil {
		return err
	}
	s.reply(w, http.StatusAccepted, newEventView(e))
	return nil
}
