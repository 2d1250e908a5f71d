// Package postgres is the tenant store on PostgreSQL (github.com/lib/pq
// with database/sql): tenants, numbers, users with their password hashes
// and API keys, endpoints, faxes with their attempts, the receipt outbox
// tables, the audit log and the ingested spool-journal records.
//
// Every query on tenant-owned rows takes a gofaxlib.Scope (one tenant's,
// or the operator's), so tenant isolation is visible in each signature;
// the SQL of each table lives in one file (tenants.go, numbers.go, …).
// Database errors come back as gofaxlib's sentinels: ErrNotFound,
// ErrConflict (unique keys; ErrTenantHasNumbers and ErrTenantHasFaxes for
// refused tenant deletions), FieldError/ErrInvalid, ErrUnauthenticated,
// ErrSuspended, ErrUnavailable (the database is down or too slow).
//
// # Migrations
//
// The schema is built by numbered SQL files in migrations/, embedded in
// the binary and applied by Migrate, each in one transaction, recorded
// with its SHA-256 in schema_migrations. Migrate holds the session
// advisory lock pg_advisory_lock(0x676f6661786d6967) while it works, so
// hosts starting at once take turns: the second waits exactly as long as
// the first needs (cancellable through its context) and then finds
// nothing to do. A migration already applied whose file changed is refused
// (ErrMigrationChanged); a database migrated by a newer gofaxd is accepted
// (CheckSchema reports it), since migrations only add.
//
// This small runner was chosen over pressly/goose v3.30.1 (tried with its
// Provider and lock.NewPostgresSessionLocker): goose's session locker
// polls pg_try_advisory_lock (every 5 s by default, at best every second,
// giving up after a fixed number of tries) instead of waiting on the lock;
// it applies nothing and reports no error when the database is ahead of
// the binary, and keeps no checksum, so an edited migration goes
// unnoticed; and it brings four more modules (and newer versions of two
// we have) for what is here about 150 lines. Down migrations are not
// offered: restore a backup instead.
//
// # Change notifications
//
// Triggers on tenants, numbers, users and endpoints NOTIFY channel
// gofax_routing at commit, also for edits made with psql. WatchRouting
// listens (pq.Listener, reconnecting) and signals, and LoadRouting reads
// a consistent gofaxlib.Routing snapshot for gofaxd's cache.
//
// # Receipt outbox
//
// RecordFax writes the receipt event a recorded fax state is
// (gofaxlib.EventFor) in the fax's own transaction: its id a name-based
// UUID of the fax and type (of the journal record, for fax.retrying), its
// payload the fax resource (gofaxlib.NewFaxResource) with the attempts so
// far, and one pending delivery per receipt endpoint that takes it
// (gofaxlib.Routing.Receipts, then Endpoint.WantsEvent). The Store is the
// dispatcher's gofaxlib.Outbox: Claim locks due rows with FOR UPDATE SKIP
// LOCKED and leases them with a random token; Delivered, Retry, Dead and
// Release change a row only while its lease is the caller's, else
// gofaxlib.ErrLeaseLost. The in-memory Outbox of notify/notifytest is the
// reference: both pass notifytest.RunConformance. ListEvents, Event,
// RedeliverEvent and OutboxCounts serve the API and the metrics.
//
// Tests use the private clusters of package pgtest.
package postgres
