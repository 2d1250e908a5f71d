package postgres

import (
	"context"
	"crypto/sha1"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lib/pq"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// Queries of tables events and deliveries that are not the Outbox's:
// writing an event with its fax, and the views of the API and the metrics.

// eventNamespace is the namespace of event ids: an event's id is the
// name-based UUID (version 5, RFC 9562) of what makes the fact unique, so
// that recording the same fact again yields the same id.
var eventNamespace = [16]byte{0xfe, 0x5e, 0xfd, 0xcf, 0xa8, 0xbc, 0x44, 0x5b, 0x93, 0xf4, 0xec, 0x35, 0xe6, 0xb4, 0x25, 0x8a}

// nameUUID returns the version 5 UUID of name in eventNamespace.
func nameUUID(name string) string {
	h := sha1.New()
	h.Write(eventNamespace[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// EventID returns the id of the event of type t that recording fax faxID
// with journal record recordID writes: a terminal event's id follows from
// the fax and its type (a fax has one), a fax.retrying event's from the
// record (each requeue is a fact of its own).
func EventID(faxID string, t gofaxlib.EventType, recordID string) string {
	if t == gofaxlib.EventRetrying {
		return nameUUID("record/" + recordID + "/" + string(t))
	}
	return nameUUID("fax/" + faxID + "/" + string(t))
}

// faxStatus returns the status of fax id, locking its row for the rest of
// tx; "" when there is no such fax yet.
func faxStatus(ctx context.Context, tx *sql.Tx, id string) (gofaxlib.FaxStatus, error) {
	var st gofaxlib.FaxStatus
	err := tx.QueryRowContext(ctx, "SELECT status FROM faxes WHERE id = $1 FOR UPDATE", id).Scan(&st)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return st, err
}

// addEvent writes, within tx, the receipt event that recording fax f
// (whose status was before) is, if any, with one pending delivery per
// endpoint that wants it. The payload is the fax resource with the
// attempts recorded so far. An event that exists already (the same fact,
// recorded through another journal record at the same time) is left
// alone, deliveries and all.
func (s *Store) addEvent(ctx context.Context, tx *sql.Tx, recordID string, before gofaxlib.FaxStatus, f *gofaxlib.Fax) error {
	typ, ok := gofaxlib.EventFor(f.Direction, before, f.Status)
	if !ok {
		return nil
	}
	at := f.Completed
	if typ == gofaxlib.EventRetrying {
		at = time.Time{} // now
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+attemptCols+` FROM fax_attempts a WHERE a.fax_id = $1 ORDER BY a.started_at, a.id`, f.ID)
	if err != nil {
		return err
	}
	attempts, err := collect(rows, scanAttempt)
	if err != nil {
		return err
	}
	if attempts == nil {
		attempts = []gofaxlib.Attempt{} // an event lists its attempts, none or more
	}
	payload, err := json.Marshal(gofaxlib.NewFaxResource(f, attempts))
	if err != nil {
		return err
	}
	var id string
	err = tx.QueryRowContext(ctx, `INSERT INTO events (id, tenant_id, fax_id, type, payload, host, record_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, coalesce($8, now())) ON CONFLICT DO NOTHING RETURNING id`,
		EventID(f.ID, typ, recordID), nullString(f.TenantID), f.ID, typ, payload, f.Host, recordID, nullTime(at)).Scan(&id)
	if err == sql.ErrNoRows {
		return nil
	}
	if err != nil {
		return err
	}
	eps, err := receiptEndpoints(ctx, tx, f)
	if err != nil {
		return err
	}
	var want []string
	for _, e := range eps {
		if e.WantsEvent(string(typ)) {
			want = append(want, e.ID)
		}
	}
	if len(want) == 0 {
		return nil
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO deliveries (event_id, endpoint_id)
		SELECT $1, ep FROM unnest($2::uuid[]) WITH ORDINALITY AS u(ep, n) ORDER BY n`, id, pq.Array(want))
	return err
}

// receiptEndpoints returns the enabled webhook and email endpoints for
// fax f as gofaxlib.Routing.Receipts chooses them: those of the fax's
// number (the number called for a received fax, the number sent from for
// a sent one) if it has any, else its tenant's, and the global ones.
func receiptEndpoints(ctx context.Context, tx *sql.Tx, f *gofaxlib.Fax) ([]gofaxlib.Endpoint, error) {
	number := f.From
	if f.Direction == gofaxlib.Inbound {
		number = f.To
	}
	var numberID string
	if f.TenantID != "" && number != "" {
		err := tx.QueryRowContext(ctx, "SELECT id FROM numbers WHERE number = $1 AND tenant_id = $2", number, f.TenantID).Scan(&numberID)
		if err != nil && err != sql.ErrNoRows {
			return nil, err
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+endpointCols+` FROM endpoints e
		WHERE e.kind IN ('webhook', 'email') AND e.enabled AND (e.scope = 'global' OR e.tenant_id = $1)`, nullString(f.TenantID))
	if err != nil {
		return nil, err
	}
	eps, err := collect(rows, scanEndpoint)
	if err != nil {
		return nil, err
	}
	return gofaxlib.NewRouting(time.Time{}, nil, nil, nil, eps).Receipts(f.TenantID, numberID), nil
}

// eventSummary sums up the deliveries of event ev visible in scope $1 (a
// tenant sees its own endpoints' deliveries, not the operator's copies).
const eventSummary = `CROSS JOIN LATERAL (
		SELECT CASE WHEN bool_or(d.status = 'dead') THEN 'dead' WHEN bool_or(d.status = 'pending') THEN 'pending'
			WHEN count(*) > 0 THEN 'delivered' ELSE '' END AS status
		FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id
		WHERE d.event_id = ev.id AND ($1::uuid IS NULL OR e.tenant_id = $1)) dsum`

const eventCols = `ev.id, coalesce(ev.tenant_id::text, ''), coalesce(ev.fax_id::text, ''), ev.type, ev.created_at, dsum.status, ev.payload`

func scanEvent(r scanner) (gofaxlib.EventInfo, error) {
	var e gofaxlib.EventInfo
	var payload []byte
	err := r.Scan(&e.ID, &e.TenantID, &e.FaxID, &e.Type, &e.Time, &e.Status, &payload)
	e.Payload = payload
	return e, err
}

// ListEvents returns one page of the receipt events scope may see that
// match fl, newest first, each with its deliveries: a tenant sees its
// events and their deliveries to its own endpoints, the operator every
// event and delivery (also those to global endpoints).
func (s *Store) ListEvents(ctx context.Context, scope gofaxlib.Scope, fl gofaxlib.EventFilter) ([]gofaxlib.EventInfo, string, error) {
	const op = "list events"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return nil, "", err
	}
	if fl.Type != "" && !fl.Type.Valid() {
		return nil, "", mapErr(op, &gofaxlib.FieldError{Field: "type", Err: fmt.Errorf("%q is not an event type", fl.Type)})
	}
	switch fl.Status {
	case "", gofaxlib.DeliveryPending, gofaxlib.DeliveryDelivered, gofaxlib.DeliveryDead:
	default:
		return nil, "", mapErr(op, &gofaxlib.FieldError{Field: "status", Err: fmt.Errorf("%q: pending, delivered or dead", fl.Status)})
	}
	if fl.FaxID != "" && !validID(fl.FaxID) {
		return nil, "", nil // names no fax
	}
	tail, args, err := page(fl.Page, op, "ev", true, []any{sa, string(fl.Type), string(fl.Status), nullString(fl.FaxID)})
	if err != nil {
		return nil, "", mapErr(op, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+eventCols+` FROM events ev `+eventSummary+`
		WHERE ($1::uuid IS NULL OR ev.tenant_id = $1) AND ($2 = '' OR ev.type = $2) AND ($3 = '' OR dsum.status = $3)
		AND ($4::uuid IS NULL OR ev.fax_id = $4)`+tail, args...)
	if err != nil {
		return nil, "", mapErr(op, err)
	}
	list, err := collect(rows, scanEvent)
	if err != nil {
		return nil, "", mapErr(op, err)
	}
	list, next := nextCursor(list, fl.Page, func(e gofaxlib.EventInfo) (time.Time, string) { return e.Time, e.ID })
	if err := s.addDeliveries(ctx, sa, list); err != nil {
		return nil, "", mapErr(op, err)
	}
	return list, next, nil
}

// Event returns event id with its deliveries, if scope may see it (see
// ListEvents).
func (s *Store) Event(ctx context.Context, scope gofaxlib.Scope, id string) (gofaxlib.EventInfo, error) {
	const op = "get event"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return gofaxlib.EventInfo{}, err
	}
	if !validID(id) {
		return gofaxlib.EventInfo{}, notFound(op)
	}
	e, err := scanEvent(s.db.QueryRowContext(ctx, `SELECT `+eventCols+` FROM events ev `+eventSummary+`
		WHERE ev.id = $2 AND ($1::uuid IS NULL OR ev.tenant_id = $1)`, sa, id))
	if err != nil {
		return gofaxlib.EventInfo{}, mapErr(op, err)
	}
	list := []gofaxlib.EventInfo{e}
	if err := s.addDeliveries(ctx, sa, list); err != nil {
		return gofaxlib.EventInfo{}, mapErr(op, err)
	}
	return list[0], nil
}

// addDeliveries fills in the deliveries of events visible in scope sa.
func (s *Store) addDeliveries(ctx context.Context, sa any, events []gofaxlib.EventInfo) error {
	if len(events) == 0 {
		return nil
	}
	ids := make([]string, len(events))
	at := make(map[string]int, len(events))
	for i, e := range events {
		ids[i], at[e.ID] = e.ID, i
		events[i].Deliveries = []gofaxlib.DeliveryInfo{}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT d.event_id, d.id, d.endpoint_id, e.kind, e.target, d.status, d.attempts,
		d.next_attempt_at, coalesce(d.last_attempt_at, 'epoch'), d.last_error, coalesce(d.delivered_at, 'epoch')
		FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id
		WHERE d.event_id = ANY($1::uuid[]) AND ($2::uuid IS NULL OR e.tenant_id = $2) ORDER BY d.seq`, pq.Array(ids), sa)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var ev string
		var d gofaxlib.DeliveryInfo
		if err := rows.Scan(&ev, &d.ID, &d.EndpointID, &d.Kind, &d.Target, &d.Status, &d.Attempts, &d.NextAttempt,
			&d.LastAttempt, &d.LastError, &d.Delivered); err != nil {
			return err
		}
		d.LastAttempt, d.Delivered = zeroEpoch(d.LastAttempt), zeroEpoch(d.Delivered)
		i := at[ev]
		events[i].Deliveries = append(events[i].Deliveries, d)
	}
	return rows.Err()
}

// RedeliverEvent makes the deliveries of event id that scope may see (a
// tenant's to its own endpoints) due again at once and returns how many.
// A dead delivery becomes pending and is tried again; its attempts keep
// counting, so a failure that would have been the last try is the last
// again: one more try, then dead, unless the endpoint takes it. A
// delivered one becomes pending and is sent again, with the same event id
// (webhook-id) and payload: a receiver that de-duplicates by id discards
// it, so re-delivering a delivered event helps a receiver that lost it,
// or one that does not keep ids. A pending one waiting for its next retry
// is tried at once; one being tried right now (leased) is left to its
// attempt. Deliveries to a disabled endpoint wait until it is enabled.
// An event scope may not see is ErrNotFound.
func (s *Store) RedeliverEvent(ctx context.Context, scope gofaxlib.Scope, id string) (int, error) {
	const op = "redeliver event"
	sa, err := scopeArg(op, scope)
	if err != nil {
		return 0, err
	}
	if !validID(id) {
		return 0, notFound(op)
	}
	var n int
	err = s.inTx(ctx, op, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, "SELECT 1 FROM events WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2)",
			id, sa).Scan(&one); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE deliveries d SET status = 'pending', next_attempt_at = now(),
			delivered_at = NULL, lease = NULL, lease_until = NULL
			FROM endpoints e WHERE d.event_id = $1 AND e.id = d.endpoint_id AND ($2::uuid IS NULL OR e.tenant_id = $2)
			AND (d.lease_until IS NULL OR d.lease_until <= now())`, id, sa)
		if err != nil {
			return err
		}
		c, err := res.RowsAffected()
		n = int(c)
		return err
	})
	return n, err
}

// OutboxCounts counts pending and dead deliveries per kind of endpoint,
// over every tenant (for the metrics). Both kinds are always present.
func (s *Store) OutboxCounts(ctx context.Context) (map[gofaxlib.TargetKind]gofaxlib.OutboxCount, error) {
	const op = "count deliveries"
	out := map[gofaxlib.TargetKind]gofaxlib.OutboxCount{gofaxlib.TargetWebhook: {}, gofaxlib.TargetEmail: {}}
	rows, err := s.db.QueryContext(ctx, `SELECT e.kind, count(*) FILTER (WHERE d.status = 'pending'),
		count(*) FILTER (WHERE d.status = 'dead')
		FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id WHERE d.status IN ('pending', 'dead') GROUP BY e.kind`)
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind gofaxlib.TargetKind
		var c gofaxlib.OutboxCount
		if err := rows.Scan(&kind, &c.Pending, &c.Dead); err != nil {
			return nil, mapErr(op, err)
		}
		out[kind] = c
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(op, err)
	}
	return out, nil
}
