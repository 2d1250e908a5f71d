package gofaxlib

import (
	"encoding/json"
	"time"
)

// EventFor returns the receipt event that recording a fax's status means:
// before is its status until then ("" for a fax not recorded yet), after
// the status the record left it in. A fax reaching a final status yields
// its one terminal event: fax.received (also a partial reception) or
// fax.receive_failed for a received fax, fax.delivered, fax.failed or
// fax.canceled for a sent one; a fax final before yields nothing (faxq
// decides once, and a final status never changes). A sent fax recorded as
// retrying (faxq requeued it after a failed attempt) yields fax.retrying,
// once per such record.
func EventFor(d Direction, before, after FaxStatus) (EventType, bool) {
	if before.Terminal() || !after.ValidFor(d) {
		return "", false
	}
	switch d {
	case Inbound:
		switch after {
		case StatusReceived:
			return EventReceived, true
		case StatusFailed:
			return EventReceiveFailed, true
		}
	case Outbound:
		switch after {
		case StatusDelivered:
			return EventDelivered, true
		case StatusFailed:
			return EventFailed, true
		case StatusCanceled:
			return EventCanceled, true
		case StatusRetrying:
			return EventRetrying, true
		}
	}
	return "", false
}

// EventInfo is a receipt event with the state of its deliveries, as the
// API lists events (GET /v1/events) to tenants and the operator.
type EventInfo struct {
	ID       string    `json:"id"`
	Type     EventType `json:"type"`
	TenantID string    `json:"tenant_id,omitempty"`
	FaxID    string    `json:"fax_id,omitempty"`
	Time     time.Time `json:"created_at"`
	// Status sums up the deliveries: dead when one is dead, else pending
	// when one is pending, else delivered; "" when no endpoint wanted the
	// event.
	Status DeliveryStatus `json:"status"`
	// Payload is the fax resource as the receipts carry it.
	Payload    json.RawMessage `json:"data"`
	Deliveries []DeliveryInfo  `json:"deliveries"`
}

// DeliveryInfo is the state of one delivery of an event.
type DeliveryInfo struct {
	ID         string         `json:"id"`
	EndpointID string         `json:"endpoint_id"`
	Kind       TargetKind     `json:"kind"`
	Target     string         `json:"target"` // the endpoint's URL or address
	Status     DeliveryStatus `json:"status"`
	// Attempts counts the recorded attempts, those before a redelivery
	// included.
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt_at"`
	LastAttempt time.Time `json:"last_attempt_at"` // zero: never tried
	LastError   string    `json:"last_error,omitempty"`
	Delivered   time.Time `json:"delivered_at"` // zero: not delivered
}

// EventFilter selects events of a list; zero fields select everything.
type EventFilter struct {
	Type   EventType
	Status DeliveryStatus // EventInfo.Status
	FaxID  string
	Page   Page
}

// OutboxCount counts the deliveries of one kind of endpoint, for metrics.
type OutboxCount struct {
	Pending int // waiting for their first or next attempt, or being tried
	Dead    int // given up (dead-letter), until re-delivered
}
