package notifytest

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// TestConformance runs the shared Outbox cases against the in-memory
// Outbox, the reference the PostgreSQL adapter is held to.
func TestConformance(t *testing.T) {
	RunConformance(t, func(t *testing.T, now func() time.Time) Harness {
		o := NewOutbox()
		o.Now = now
		n := 0
		return Harness{
			Outbox: o,
			Target: func(kind gofaxlib.TargetKind) gofaxlib.DeliveryTarget {
				n++
				tg := gofaxlib.DeliveryTarget{EndpointID: "ep_" + strconv.Itoa(n), Kind: kind, Attach: gofaxlib.AttachNone}
				if kind == gofaxlib.TargetEmail {
					tg.Address, tg.Attach = "fax"+strconv.Itoa(n)+"@example.com", gofaxlib.AttachPDF
				} else {
					tg.Address, tg.Secret = "https://example.com/hook/"+strconv.Itoa(n), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
				}
				return tg
			},
			Add: func(typ gofaxlib.EventType, payload json.RawMessage, targets ...gofaxlib.DeliveryTarget) (gofaxlib.Event, []string) {
				n++
				ev := gofaxlib.Event{ID: "evt_" + strconv.Itoa(n), Type: typ, TenantID: "tenant", FaxID: "fax_" + strconv.Itoa(n),
					Time: now(), TimeZone: "Europe/Berlin", Payload: payload}
				return ev, o.Add(ev, targets...)
			},
			Get: func(id string) gofaxlib.Delivery {
				d, ok := o.Get(id)
				if !ok {
					t.Fatalf("no delivery %s", id)
				}
				return d
			},
			Redeliver: func(id string) {
				if err := o.Redeliver(id); err != nil {
					t.Fatal(err)
				}
			},
		}
	})
}
