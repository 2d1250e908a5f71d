package gofaxlib

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"
)

// EventType names a receipt event: one fact about one fax.
type EventType string

// The receipt events. A partial reception is EventReceived with fewer pages
// transferred than announced and the error in the payload. A send job has
// exactly one terminal event (delivered, failed or canceled), written when
// faxq has decided, not per attempt; EventRetrying is written per failed
// attempt that faxq retries and is sent only to endpoints that ask for it.
const (
	EventReceived      EventType = "fax.received"
	EventReceiveFailed EventType = "fax.receive_failed"
	EventDelivered     EventType = "fax.delivered"
	EventFailed        EventType = "fax.failed"
	EventCanceled      EventType = "fax.canceled"
	EventRetrying      EventType = "fax.retrying"
)

// EventTypes lists every event type, in the order above.
var EventTypes = []EventType{EventReceived, EventReceiveFailed, EventDelivered, EventFailed, EventCanceled, EventRetrying}

// Valid reports whether t is one of EventTypes.
func (t EventType) Valid() bool { return slices.Contains(EventTypes, t) }

// Event is one receipt fact, written in the same transaction as the fax row
// it describes and never changed afterwards.
type Event struct {
	// ID is stable and unique: receivers de-duplicate by it (it is the
	// webhook-id), so a retry or a repeated delivery after a crash carries
	// the same ID.
	ID       string
	Type     EventType
	TenantID string
	FaxID    string
	Time     time.Time // when the fact happened
	// TimeZone is the IANA name of the tenant's time zone ("" = UTC): the
	// zone of every date shown to people (e-mail bodies).
	TimeZone string
	// Payload is the fax resource as the REST API serves it (GET
	// /v1/faxes/{id}) at the time of the event.
	Payload json.RawMessage
}

// TargetKind is the kind of endpoint a delivery goes to.
type TargetKind string

// Receipt endpoint kinds.
const (
	TargetWebhook TargetKind = "webhook"
	TargetEmail   TargetKind = "email"
)

// DeliveryTarget is the endpoint a delivery goes to, as the outbox reads it
// with the delivery (the endpoint row may change or go away afterwards).
type DeliveryTarget struct {
	EndpointID string
	Kind       TargetKind
	// Address is the webhook URL, or the e-mail recipient(s), separated by
	// commas.
	Address string
	// Secret is the webhook signing secret ("whsec_" + base64); during a key
	// rotation several, separated by spaces, each giving a signature.
	Secret string
	// Attach is what the receipt carries of the fax (empty: nothing).
	Attach Attach
	// Multipart sends a webhook's attachment as a multipart/form-data part
	// instead of base64 inside the JSON body.
	Multipart bool
	// Report adds the transmission report PDF to an e-mail.
	Report bool
}

// DeliveryStatus is the state of one delivery.
type DeliveryStatus string

// Delivery states: pending until delivered or dead (no try left, or the
// failure cannot be fixed by trying again). A dead delivery is visible and
// can be made pending again through the API.
const (
	DeliveryPending   DeliveryStatus = "pending"
	DeliveryDelivered DeliveryStatus = "delivered"
	DeliveryDead      DeliveryStatus = "dead"
)

// Delivery is one event to one endpoint.
type Delivery struct {
	ID     string
	Event  Event
	Target DeliveryTarget
	Status DeliveryStatus
	// Attempts counts the attempts whose outcome was recorded before this
	// claim; an attempt cut short by a crash is not counted.
	Attempts    int
	NextAttempt time.Time // due time; a pending delivery is claimed from then on
	LastError   string    // the last failed attempt's reason
	// Lease identifies the claim that returned this delivery; the record
	// methods of Outbox only act while it is the current one.
	Lease      string
	LeaseUntil time.Time
}

// ClaimRequest bounds one Outbox.Claim.
type ClaimRequest struct {
	Now   time.Time
	Limit int           // at most this many deliveries
	Lease time.Duration // claimed deliveries are hidden from other claims this long
	// PerTarget caps the deliveries of one endpoint that the caller works on
	// at once, Busy included (0 = no cap).
	PerTarget int
	// Busy counts, per endpoint ID, the deliveries the caller is still
	// working on.
	Busy map[string]int
}

// Outbox is the durable queue of receipt deliveries the dispatcher works
// from. Claim returns due pending deliveries of enabled endpoints, oldest
// due first, and leases them; a lease that runs out (the process died
// mid-delivery) makes the delivery claimable again, so delivery is
// at-least-once. In PostgreSQL, Claim is one transaction: SELECT … FOR
// UPDATE SKIP LOCKED over due rows not leased, at most PerTarget − Busy per
// endpoint kept, their lease set. Every method is safe for concurrent use.
type Outbox interface {
	Claim(ctx context.Context, req ClaimRequest) ([]Delivery, error)
	// Delivered records a successful attempt: status delivered.
	Delivered(ctx context.Context, d Delivery) error
	// Retry records a failed attempt that is tried again at next.
	Retry(ctx context.Context, d Delivery, next time.Time, reason string) error
	// Dead records a failed last attempt, or one no retry can fix.
	Dead(ctx context.Context, d Delivery, reason string) error
	// Release gives a claimed delivery back unattempted (shutdown): it is
	// due again at once, its attempts unchanged.
	Release(ctx context.Context, d Delivery) error
	// DisableEndpoint stops deliveries to an endpoint that answered 410
	// Gone until the tenant enables it again.
	DisableEndpoint(ctx context.Context, endpointID, reason string) error
}

// ErrLeaseLost is returned by the record methods of Outbox when the
// delivery's lease ran out and another claim took it: the outcome is not
// recorded, the other claim's counts.
var ErrLeaseLost = errors.New("gofaxlib: delivery lease lost")
