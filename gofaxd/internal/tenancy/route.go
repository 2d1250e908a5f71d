package tenancy

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/receive"
)

// Route routes an inbound call by its called number (receive.Router):
// the number, as E.164 by the one NumberPlan, must be a tenant's, and
// neither the number nor its tenant suspended; else the call is refused
// (with [gofaxd] screenresponse), or, for a number no tenant has and
// [database] unknownnumber = receive, taken without a tenant. A called
// number that is not a valid number counts as unknown. Before any
// routing is known (no snapshot, database not answered yet) calls are
// refused as a temporary failure. It is an in-memory lookup.
func (s *Service) Route(recipient string) receive.Route {
	r := s.routing.Load()
	if r == nil {
		return receive.Route{Refuse: "no routing loaded yet (no snapshot, database not answered)", Temporary: true}
	}
	e164, err := s.cfg.Plan.E164(recipient)
	if err != nil {
		return s.unknown(recipient, fmt.Sprintf("called number %q is not a valid number", recipient))
	}
	n, t, ok := r.Number(e164)
	switch {
	case !ok:
		return s.unknown(e164, "no tenant has the called number")
	case t.Suspended:
		return receive.Route{Refuse: fmt.Sprintf("tenant %q is suspended", t.Name), CalledNumber: e164}
	case n.Suspended:
		return receive.Route{Refuse: "the called number is suspended", CalledNumber: e164}
	}
	return receive.Route{FaxID: newUUID(), CalledNumber: e164, TenantID: t.ID, TenantName: t.Name, NumberID: n.ID, Ident: n.Ident}
}

// unknown is the route of a call to a number no tenant has.
func (s *Service) unknown(called, why string) receive.Route {
	if !s.cfg.ReceiveUnknown {
		return receive.Route{Refuse: why, CalledNumber: called}
	}
	return receive.Route{FaxID: newUUID(), CalledNumber: called}
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var h [32]byte
	hex.Encode(h[:], b[:])
	return string(h[0:8]) + "-" + string(h[8:12]) + "-" + string(h[12:16]) + "-" + string(h[16:20]) + "-" + string(h[20:32])
}

// number returns a number as E.164 where it is one by the plan,
// else as given (a caller ID is stored as received).
func (s *Service) number(n string) string {
	if e, err := s.cfg.Plan.E164(n); err == nil {
		return e
	}
	return n
}

var _ receive.Router = (*Service)(nil)
