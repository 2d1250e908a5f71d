package postgres

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"time"

	"github.com/lib/pq"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// RoutingChannel is the NOTIFY channel on which the database announces
// changes of tenants, numbers, users and endpoints (triggers of migration
// 0001; the payload is the table name).
const RoutingChannel = "gofax_routing"

// LoadRouting reads tenants, numbers, users and endpoints in one
// consistent snapshot (a read-only repeatable-read transaction). Endpoints
// come without their webhook secrets.
func (s *Store) LoadRouting(ctx context.Context) (*gofaxlib.Routing, error) {
	const op = "load routing"
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer tx.Rollback()
	var loaded time.Time
	if err := tx.QueryRowContext(ctx, "SELECT now()").Scan(&loaded); err != nil {
		return nil, mapErr(op, err)
	}
	query := func(q string) (*sql.Rows, error) { return tx.QueryContext(ctx, q) }
	rows, err := query(`SELECT ` + tenantCols + ` FROM tenants t ORDER BY t.created_at, t.id`)
	if err != nil {
		return nil, mapErr(op, err)
	}
	tenants, err := collect(rows, scanTenant)
	if err != nil {
		return nil, mapErr(op, err)
	}
	if rows, err = query(`SELECT ` + numberCols + ` FROM numbers n ORDER BY n.created_at, n.id`); err != nil {
		return nil, mapErr(op, err)
	}
	numbers, err := collect(rows, scanNumber)
	if err != nil {
		return nil, mapErr(op, err)
	}
	if rows, err = query(`SELECT ` + userCols + ` FROM users u ORDER BY u.created_at, u.id`); err != nil {
		return nil, mapErr(op, err)
	}
	users, err := collect(rows, scanUser)
	if err != nil {
		return nil, mapErr(op, err)
	}
	if rows, err = query(`SELECT ` + endpointCols + ` FROM endpoints e`); err != nil {
		return nil, mapErr(op, err)
	}
	endpoints, err := collect(rows, scanEndpoint)
	if err != nil {
		return nil, mapErr(op, err)
	}
	for i := range endpoints {
		endpoints[i].Secret = ""
	}
	return gofaxlib.NewRouting(loaded, tenants, numbers, users, endpoints), nil
}

// Listener reconnect backoff: quick at first, at most a few seconds, so a
// restarted database is noticed soon.
const (
	watchMinReconnect = 100 * time.Millisecond
	watchMaxReconnect = 5 * time.Second
)

// Watcher signals on C whenever routing data may have changed: after each
// change notification, and when its connection was (re)established, since
// changes made meanwhile were not announced. Signals are coalesced (C has
// room for one): read C, then reload with LoadRouting.
type Watcher struct {
	C <-chan struct{}

	c      chan struct{}
	l      *pq.Listener
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// WatchRouting listens on RoutingChannel with a connection of its own,
// reconnecting after failures, until ctx ends or Close. It does not wait
// for the database: while it is down, the Watcher keeps trying.
func (s *Store) WatchRouting(ctx context.Context, log *slog.Logger) *Watcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &Watcher{c: make(chan struct{}, 1), cancel: cancel}
	w.C = w.c
	w.l = pq.NewListener(s.listenDSN, watchMinReconnect, watchMaxReconnect, func(ev pq.ListenerEventType, err error) {
		switch ev {
		case pq.ListenerEventConnected:
			// Signalled once Listen returns: the LISTEN may still be
			// on its way, and a change before it would be missed.
			log.Info("routing change notifications connected", "channel", RoutingChannel)
		case pq.ListenerEventReconnected:
			// A reconnection LISTENs again before it reports.
			log.Info("routing change notifications connected", "channel", RoutingChannel)
			w.signal()
		case pq.ListenerEventDisconnected:
			log.Warn("routing change notifications lost", "err", err)
		case pq.ListenerEventConnectionAttemptFailed:
			log.Debug("routing change notifications: connecting failed", "err", err)
		}
	})
	w.wg.Add(2)
	go func() {
		// Listen blocks until the first connection listens; Close ends
		// it.
		defer w.wg.Done()
		if err := w.l.Listen(RoutingChannel); err != nil {
			if ctx.Err() == nil {
				log.Error("routing change notifications: listen failed", "err", err)
			}
			return
		}
		w.signal()
	}()
	go func() {
		defer w.wg.Done()
		for {
			select {
			case <-ctx.Done():
				w.l.Close()
				return
			case _, ok := <-w.l.NotificationChannel():
				if !ok {
					return
				}
				w.signal() // a change, or nil after a reconnect
			}
		}
	}()
	return w
}

func (w *Watcher) signal() {
	select {
	case w.c <- struct{}{}:
	default:
	}
}

// Close stops listening and waits for the Watcher's goroutines.
func (w *Watcher) Close() error {
	w.cancel()
	w.wg.Wait()
	return nil
}
