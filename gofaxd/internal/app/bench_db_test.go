package app

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/tenancy"
	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxlib/postgres/pgtest"
)

// BenchmarkConcurrentCallsDatabase is BenchmarkConcurrentCalls with
// [database]: every call is routed by its called number (a tenant's) and
// recorded in PostgreSQL (2 records a call) while the calls go on. It
// also reports how long after the last call the last record was in the
// database.
func BenchmarkConcurrentCallsDatabase(b *testing.B) { benchDatabase(b, false) }

// BenchmarkConcurrentCallsDatabaseDown is BenchmarkConcurrentCallsDatabase
// with PostgreSQL stopped (immediate) before the calls: they are routed
// with the cached routing and received exactly as fast, their records
// wait in the journal; then PostgreSQL is started again and the
// benchmark reports how long the backlog took to arrive.
func BenchmarkConcurrentCallsDatabaseDown(b *testing.B) { benchDatabase(b, true) }

func benchDatabase(b *testing.B, down bool) {
	d := newTenantDB(b)
	cluster := pgtest.Shared(b)
	concurrentCalls(b, benchOptions{
		dest:  "+4930111111",
		tweak: withDatabase(d, config.UnknownReject),
		opened: func(a *App) func() {
			deadline := time.Now().Add(time.Minute)
			for a.tenancy.Health() != nil {
				if time.Now().After(deadline) {
					b.Fatalf("no routing: %v", a.tenancy.Health())
				}
				time.Sleep(5 * time.Millisecond)
			}
			restart := func() {}
			if down {
				if err := cluster.Stop(pgtest.Immediate); err != nil {
					b.Fatal(err)
				}
				var once sync.Once
				restart = func() {
					once.Do(func() {
						if err := cluster.Start(context.Background()); err != nil {
							b.Error(err)
						}
					})
				}
				// Also when the benchmark fails before: the cluster is shared.
				b.Cleanup(restart)
			}
			return func() {
				restart()
				start := time.Now()
				deadline := time.Now().Add(5 * time.Minute)
				for len(a.journal.Pending(tenancy.Consumer)) > 0 || a.tenancy.Health() != nil {
					if time.Now().After(deadline) {
						b.Fatalf("records not ingested: %d pending", len(a.journal.Pending(tenancy.Consumer)))
					}
					time.Sleep(10 * time.Millisecond)
				}
				var faxes int
				d.store.DB().QueryRow("SELECT count(*) FROM faxes WHERE status = 'received'").Scan(&faxes)
				if faxes != b.N*benchCalls {
					b.Errorf("%d faxes recorded, want %d", faxes, b.N*benchCalls)
				}
				b.ReportMetric(time.Since(start).Seconds(), "s-to-last-record")
			}
		},
	})
}
