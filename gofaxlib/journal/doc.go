// Package journal is gofaxserver's one durable local queue: an fsynced,
// append-only journal in the spool for everything that must survive a
// crash until a consumer has dealt with it (received faxes waiting for
// faxrcvd, receptions to finish after a restart, later the records on
// their way to PostgreSQL and receipt events). It uses only the standard
// library.
//
// # Records
//
// A Record has a stable ID (NewID makes a time-ordered random one; a
// caller may choose its own, e.g. to make a record idempotent), a Kind
// ("recv.start") and a JSON payload. Consumers read records by kind and
// acknowledge them by ID: a record is pending for a consumer until that
// consumer acknowledged it, and pending records are replayed when the
// journal is opened again. Whoever ingests records elsewhere (a database)
// does so idempotently by ID: a record may be delivered again after a
// crash.
//
// # Files
//
// The journal is a directory (gofaxd uses <spool>/gofax/journal, mode
// 0700, owned by the spool's owner). Every writer process owns its own
// segment files and never touches another's, so several processes
// (gofaxd, and per-job programs) write at once without cross-process
// locking:
//
//	LOCK                                   held (flock) by the one reader
//	<16 hex unix nanoseconds>-<name>-<pid>.jnl   a segment, mode 0600
//
// A writer creates a segment exclusively and holds an exclusive flock on
// it while it may still append; a new process always starts a new
// segment. The reader (Open, gofaxd) holds LOCK, reads every segment,
// keeps an index of pending records in memory, writes its own
// acknowledgements as records into its own segments, and removes
// segments whose records are all acknowledged (Compact). A segment still
// locked by its writer is never removed.
//
// # Format
//
// A segment is a sequence of lines, one record a line:
//
//	J1 <crc> <json>\n
//
// where <json> is the record as one JSON object without a newline,
//
//	{"id":"0190a3b2c4d5e6f708192a3b4c5d6e7f","kind":"recv.start","time":"2026-01-02T15:04:05.123456789Z","data":{...}}
//
// and <crc> is the CRC-32C (Castagnoli) of those JSON bytes as eight
// lower-case hex digits. A line is at most MaxRecordSize bytes with its
// newline. Acknowledgements are records of kind "journal.ack" with the
// payload {"consumer":"faxrcvd","ids":["..."]}; kinds starting with
// "journal." are reserved.
//
// A line that does not end in a newline at the end of a segment whose
// writer is gone (a torn write: crash, kill -9, power loss), a line whose
// CRC does not match, or one longer than MaxRecordSize is skipped and
// counted (Stats.Skipped), never fatal: reading resumes after the next
// newline. A writer whose write failed half-way truncates the segment
// back, or starts a new segment, so that its later records are not glued
// to a torn one.
//
// # Durability
//
//   - Append returns once the records are written and fsynced, and, when
//     the write created the segment file, once the directory is fsynced
//     too. Concurrent Appends in one process share their fsyncs (group
//     commit): while one fsync runs, the records written meanwhile wait
//     for the next one, which covers them all.
//   - Write returns once the records are written to the file (they
//     survive the process being killed, not a power loss); they become
//     durable with the next fsync: the next Append, Sync, Close or at the
//     latest after SyncInterval.
//   - Ack writes its acknowledgement like Write: an acknowledgement lost
//     to a power loss only makes the record pending again (delivered
//     twice, never lost).
//   - A segment is fsynced before it is closed at rotation.
//   - An fsync that fails is not retried on the same data: the records it
//     covered are reported as failed (ErrSync) to every Append waiting for
//     them, and the writer continues in a new segment.
package journal
