// Package notifytest provides an in-memory gofaxlib.Outbox for tests of the
// receipt dispatcher and of the daemon that runs it.
package notifytest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// Outbox keeps deliveries in memory with the semantics the PostgreSQL
// adapter has: leases, per-target caps, lease tokens checked on every
// record. It is safe for concurrent use. Two dispatchers sharing one
// Outbox behave like two hosts sharing one database, and a dispatcher
// started again on the same Outbox like a restarted gofaxd.
type Outbox struct {
	// Now is the clock leases and due times are compared with (nil =
	// time.Now).
	Now func() time.Time
	// FailClaim, when set, is called before each Claim; an error it
	// returns is Claim's (the database is down).
	FailClaim func() error
	// FailRecord, when set, is called before each record method; an
	// error it returns is the method's.
	FailRecord func(op string, d gofaxlib.Delivery) error

	mu       sync.Mutex
	seq      int
	ids      []string
	rows     map[string]*gofaxlib.Delivery
	claims   map[string]int
	disabled map[string]string
}

// NewOutbox returns an empty Outbox.
func NewOutbox() *Outbox {
	return &Outbox{rows: map[string]*gofaxlib.Delivery{}, claims: map[string]int{}, disabled: map[string]string{}}
}

func (o *Outbox) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Add queues ev for each target, due at once, and returns the delivery IDs.
func (o *Outbox) Add(ev gofaxlib.Event, targets ...gofaxlib.DeliveryTarget) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var ids []string
	for _, t := range targets {
		o.seq++
		id := "dlv_" + strconv.Itoa(o.seq)
		o.rows[id] = &gofaxlib.Delivery{ID: id, Event: ev, Target: t, Status: gofaxlib.DeliveryPending, NextAttempt: o.now()}
		o.ids = append(o.ids, id)
		ids = append(ids, id)
	}
	return ids
}

// Get returns the delivery with id.
func (o *Outbox) Get(id string) (gofaxlib.Delivery, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	d, ok := o.rows[id]
	if !ok {
		return gofaxlib.Delivery{}, false
	}
	return *d, true
}

// All returns every delivery in the order added.
func (o *Outbox) All() []gofaxlib.Delivery {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]gofaxlib.Delivery, 0, len(o.ids))
	for _, id := range o.ids {
		out = append(out, *o.rows[id])
	}
	return out
}

// Count returns how many deliveries have status s.
func (o *Outbox) Count(s gofaxlib.DeliveryStatus) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, d := range o.rows {
		if d.Status == s {
			n++
		}
	}
	return n
}

// Claims returns how often the delivery id was claimed.
func (o *Outbox) Claims(id string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.claims[id]
}

// Disabled reports whether an endpoint was disabled, and why.
func (o *Outbox) Disabled(endpointID string) (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r, ok := o.disabled[endpointID]
	return r, ok
}

// Redeliver makes a delivery pending and due at once (the API's
// POST /v1/events/{id}/redeliver).
func (o *Outbox) Redeliver(id string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	d, ok := o.rows[id]
	if !ok {
		return fmt.Errorf("notifytest: no delivery %s", id)
	}
	d.Status, d.NextAttempt, d.Lease, d.LeaseUntil = gofaxlib.DeliveryPending, o.now(), "", time.Time{}
	return nil
}

// Claim implements gofaxlib.Outbox.
func (o *Outbox) Claim(ctx context.Context, req gofaxlib.ClaimRequest) ([]gofaxlib.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if o.FailClaim != nil {
		if err := o.FailClaim(); err != nil {
			return nil, err
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	var due []*gofaxlib.Delivery
	for _, id := range o.ids {
		d := o.rows[id]
		if d.Status != gofaxlib.DeliveryPending || d.NextAttempt.After(req.Now) || d.LeaseUntil.After(req.Now) {
			continue
		}
		if _, off := o.disabled[d.Target.EndpointID]; off {
			continue
		}
		due = append(due, d)
	}
	slices.SortStableFunc(due, func(a, b *gofaxlib.Delivery) int { return a.NextAttempt.Compare(b.NextAttempt) })
	taken := map[string]int{}
	var out []gofaxlib.Delivery
	for _, d := range due {
		if len(out) >= req.Limit {
			break
		}
		ep := d.Target.EndpointID
		if req.PerTarget > 0 && req.Busy[ep]+taken[ep] >= req.PerTarget {
			continue
		}
		taken[ep]++
		o.seq++
		d.Lease = "lease_" + strconv.Itoa(o.seq)
		d.LeaseUntil = req.Now.Add(req.Lease)
		o.claims[d.ID]++
		out = append(out, *d)
	}
	return out, nil
}

// held returns the stored row if d's lease is still the current one.
func (o *Outbox) held(ctx context.Context, op string, d gofaxlib.Delivery) (*gofaxlib.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if o.FailRecord != nil {
		if err := o.FailRecord(op, d); err != nil {
			return nil, err
		}
	}
	row, ok := o.rows[d.ID]
	if !ok || row.Lease == "" || row.Lease != d.Lease {
		return nil, gofaxlib.ErrLeaseLost
	}
	return row, nil
}

// Delivered implements gofaxlib.Outbox.
func (o *Outbox) Delivered(ctx context.Context, d gofaxlib.Delivery) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	row, err := o.held(ctx, "delivered", d)
	if err != nil {
		return err
	}
	row.Attempts++
	row.Status, row.Lease, row.LeaseUntil, row.LastError = gofaxlib.DeliveryDelivered, "", time.Time{}, ""
	return nil
}

// Retry implements gofaxlib.Outbox.
func (o *Outbox) Retry(ctx context.Context, d gofaxlib.Delivery, next time.Time, reason string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	row, err := o.held(ctx, "retry", d)
	if err != nil {
		return err
	}
	row.Attempts++
	row.NextAttempt, row.Lease, row.LeaseUntil, row.LastError = next, "", time.Time{}, reason
	return nil
}

// Dead implements gofaxlib.Outbox.
func (o *Outbox) Dead(ctx context.Context, d gofaxlib.Delivery, reason string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	row, err := o.held(ctx, "dead", d)
	if err != nil {
		return err
	}
	row.Attempts++
	row.Status, row.Lease, row.LeaseUntil, row.LastError = gofaxlib.DeliveryDead, "", time.Time{}, reason
	return nil
}

// Release implements gofaxlib.Outbox.
func (o *Outbox) Release(ctx context.Context, d gofaxlib.Delivery) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	row, err := o.held(ctx, "release", d)
	if err != nil {
		return err
	}
	row.Lease, row.LeaseUntil = "", time.Time{}
	return nil
}

// DisableEndpoint implements gofaxlib.Outbox.
func (o *Outbox) DisableEndpoint(ctx context.Context, endpointID, reason string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.disabled[endpointID] = reason
	return nil
}

var _ gofaxlib.Outbox = (*Outbox)(nil)
