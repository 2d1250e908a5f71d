package postgres

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lib/pq"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// The Store is the receipt dispatcher's gofaxlib.Outbox: the queries of
// table deliveries that claim and record.

var _ gofaxlib.Outbox = (*Store)(nil)

// maxLastError bounds the reason kept with a failed attempt: enough for
// any error the senders make (they quote at most 200 bytes of a peer's
// answer).
const maxLastError = 2000

// Claim implements gofaxlib.Outbox in one transaction: it walks due,
// unleased pending deliveries of enabled endpoints, oldest due first, with
// SELECT … FOR UPDATE SKIP LOCKED (rows another host is claiming are
// skipped, not waited for), keeps at most PerTarget − Busy per endpoint
// and leases them with a new random token until req.Now + req.Lease.
// Times are compared with req.Now, the caller's clock: hosts sharing a
// database keep their clocks synchronised, as leases need anyway.
func (s *Store) Claim(ctx context.Context, req gofaxlib.ClaimRequest) ([]gofaxlib.Delivery, error) {
	const op = "claim deliveries"
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if req.Limit <= 0 {
		return nil, nil
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	token, err := leaseToken()
	if err != nil {
		return nil, mapErr(op, err)
	}
	var out []gofaxlib.Delivery
	err = s.inTx(ctx, op, func(tx *sql.Tx) error {
		ids, err := pickDue(ctx, tx, now, req)
		if err != nil || len(ids) == 0 {
			return err
		}
		rows, err := tx.QueryContext(ctx, `UPDATE deliveries d SET lease = $2, lease_until = $3, claimed_by = $4, last_attempt_at = $5
			FROM events ev LEFT JOIN tenants t ON t.id = ev.tenant_id, endpoints e
			WHERE d.id = ANY($1::uuid[]) AND ev.id = d.event_id AND e.id = d.endpoint_id
			RETURNING d.id, d.status, d.attempts, d.next_attempt_at, d.last_error, d.seq, ev.id, ev.type,
				coalesce(ev.tenant_id::text, ''), coalesce(ev.fax_id::text, ''), ev.created_at, coalesce(t.time_zone, ''),
				ev.payload, e.id, e.kind, e.target, e.secret, e.options`,
			pq.Array(ids), token, now.Add(req.Lease), s.host, now)
		if err != nil {
			return err
		}
		defer rows.Close()
		seqs := map[string]int64{}
		for rows.Next() {
			var d gofaxlib.Delivery
			var seq int64
			var payload, opts []byte
			if err := rows.Scan(&d.ID, &d.Status, &d.Attempts, &d.NextAttempt, &d.LastError, &seq, &d.Event.ID, &d.Event.Type,
				&d.Event.TenantID, &d.Event.FaxID, &d.Event.Time, &d.Event.TimeZone, &payload, &d.Target.EndpointID,
				&d.Target.Kind, &d.Target.Address, &d.Target.Secret, &opts); err != nil {
				return err
			}
			d.Event.Payload = payload
			d.Target.Attach, d.Target.Multipart, d.Target.Report = receiptOptions(d.Target.Kind, opts)
			d.Lease, d.LeaseUntil = token, now.Add(req.Lease)
			seqs[d.ID] = seq
			out = append(out, d)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		slices.SortFunc(out, func(a, b gofaxlib.Delivery) int {
			if c := a.NextAttempt.Compare(b.NextAttempt); c != 0 {
				return c
			}
			return int(seqs[a.ID] - seqs[b.ID])
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// pickDue locks and returns the ids of the deliveries a claim takes. Each
// step locks as many of the next due rows (after those seen, of endpoints
// not at their cap) as the claim still lacks; a row of an endpoint that
// has reached its cap is passed over (locked until the claim commits) and
// its endpoint left out of the next steps.
func pickDue(ctx context.Context, tx *sql.Tx, now time.Time, req gofaxlib.ClaimRequest) ([]string, error) {
	full := []string{} // not nil: pq.Array(nil) is NULL, and "= ANY(NULL)" no match
	taken := map[string]int{}
	capped := func(ep string) bool { return req.PerTarget > 0 && req.Busy[ep]+taken[ep] >= req.PerTarget }
	if req.PerTarget > 0 {
		for ep := range req.Busy {
			if capped(ep) && validID(ep) {
				full = append(full, ep)
			}
		}
	}
	var ids []string
	var afterAt sql.NullTime
	var afterSeq int64
	for len(ids) < req.Limit {
		want := req.Limit - len(ids)
		rows, err := tx.QueryContext(ctx, `SELECT d.id, d.endpoint_id, d.next_attempt_at, d.seq
			FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id AND e.enabled
			WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR d.lease_until <= $1)
			AND NOT (d.endpoint_id = ANY($2::uuid[]))
			AND ($3::timestamptz IS NULL OR (d.next_attempt_at, d.seq) > ($3, $4))
			ORDER BY d.next_attempt_at, d.seq LIMIT $5 FOR UPDATE OF d SKIP LOCKED`,
			now, pq.Array(full), afterAt, afterSeq, want)
		if err != nil {
			return nil, err
		}
		n := 0
		for rows.Next() {
			var id, ep string
			if err := rows.Scan(&id, &ep, &afterAt.Time, &afterSeq); err != nil {
				rows.Close()
				return nil, err
			}
			afterAt.Valid = true
			n++
			if capped(ep) {
				if !slices.Contains(full, ep) {
					full = append(full, ep)
				}
				continue
			}
			taken[ep]++
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if n < want {
			break // no more due rows
		}
	}
	return ids, nil
}

// receiptOptions reads what a receipt carries from an endpoint's options;
// what is missing or unreadable (options edited by hand) takes the kind's
// default: nothing for webhooks, the PDF for e-mail.
func receiptOptions(kind gofaxlib.TargetKind, opts []byte) (gofaxlib.Attach, bool, bool) {
	var o struct {
		Attach    gofaxlib.Attach `json:"attach"`
		Multipart bool            `json:"multipart"`
		Report    bool            `json:"report"`
	}
	if json.Unmarshal(opts, &o) != nil {
		o.Attach, o.Multipart, o.Report = "", false, false
	}
	if o.Attach == "" {
		o.Attach = gofaxlib.AttachNone
		if kind == gofaxlib.TargetEmail {
			o.Attach = gofaxlib.AttachPDF
		}
	}
	return o.Attach, o.Multipart, o.Report
}

// leaseToken returns a new random claim token.
func leaseToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// record changes delivery d with set (assignments using $3, …) and ends
// its lease, if d's lease is still the row's: otherwise (another claim
// took the row, or the row is gone with its endpoint) ErrLeaseLost.
func (s *Store) record(ctx context.Context, op string, d gofaxlib.Delivery, set string, args ...any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !validID(d.ID) || d.Lease == "" {
		return fmt.Errorf("postgres: %s: %w", op, gofaxlib.ErrLeaseLost)
	}
	q := "UPDATE deliveries SET lease = NULL, lease_until = NULL"
	if set != "" {
		q += ", " + set
	}
	res, err := s.db.ExecContext(ctx, q+" WHERE id = $1 AND lease = $2", append([]any{d.ID, d.Lease}, args...)...)
	if err != nil {
		return mapErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return mapErr(op, err)
	} else if n == 0 {
		return fmt.Errorf("postgres: %s: %w", op, gofaxlib.ErrLeaseLost)
	}
	return nil
}

// Delivered implements gofaxlib.Outbox.
func (s *Store) Delivered(ctx context.Context, d gofaxlib.Delivery) error {
	return s.record(ctx, "record delivery", d,
		"status = 'delivered', attempts = attempts + 1, delivered_at = now(), last_error = ''")
}

// Retry implements gofaxlib.Outbox.
func (s *Store) Retry(ctx context.Context, d gofaxlib.Delivery, next time.Time, reason string) error {
	return s.record(ctx, "record retry", d, "attempts = attempts + 1, next_attempt_at = $3, last_error = $4",
		next, cleanReason(reason))
}

// Dead implements gofaxlib.Outbox.
func (s *Store) Dead(ctx context.Context, d gofaxlib.Delivery, reason string) error {
	return s.record(ctx, "record dead delivery", d, "status = 'dead', attempts = attempts + 1, last_error = $3",
		cleanReason(reason))
}

// Release implements gofaxlib.Outbox: the delivery keeps its due time
// (reached, as it was claimed), so it is due again at once.
func (s *Store) Release(ctx context.Context, d gofaxlib.Delivery) error {
	return s.record(ctx, "release delivery", d, "")
}

// DisableEndpoint implements gofaxlib.Outbox: the webhook or email
// endpoint is disabled (its deliveries wait, pending, until a tenant
// admin enables it again) and the audit log says why. An endpoint that is
// gone, or disabled already, is left alone.
func (s *Store) DisableEndpoint(ctx context.Context, endpointID, reason string) error {
	const op = "disable endpoint"
	if err := ctx.Err(); err != nil {
		return err
	}
	if !validID(endpointID) {
		return nil
	}
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		var tenant sql.NullString
		err := tx.QueryRowContext(ctx, `UPDATE endpoints SET enabled = false
			WHERE id = $1 AND enabled AND kind IN ('webhook', 'email') RETURNING tenant_id`, endpointID).Scan(&tenant)
		if err == sql.ErrNoRows {
			return nil
		}
		if err != nil {
			return err
		}
		details, err := json.Marshal(map[string]string{"reason": cleanReason(reason)})
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO audit_log (actor, tenant_id, action, object_type, object_id, host, details)
			VALUES ('gofaxd', $1, 'endpoint.disable', 'endpoint', $2, $3, $4)`, tenant, endpointID, s.host, details)
		return err
	})
}

// cleanReason makes an error text storable: valid UTF-8 without NUL
// (PostgreSQL's text refuses both), at most maxLastError bytes.
func cleanReason(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "")
	if len(s) <= maxLastError {
		return s
	}
	cut := maxLastError
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
