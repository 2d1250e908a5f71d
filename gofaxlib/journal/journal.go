package journal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// lockName is the file the reader holds an flock on.
const lockName = "LOCK"

// ErrLocked reports a journal another reader has open.
var ErrLocked = errors.New("journal: in use by another process")

// Options configure the reader.
type Options struct {
	// Writer configures the reader's own Writer (Name default "gofaxd").
	Writer WriterOptions
	// Consumers maps each consumer name to the record kinds it
	// consumes. A record is pending for every consumer of its kind until
	// acknowledged; a record no consumer takes is done when written.
	Consumers map[string][]string
	// Logger receives warnings about skipped lines; nil discards them.
	Logger *slog.Logger
}

// Journal is the reader of a journal directory: it replays the segments
// of every writer, tracks which records each consumer has acknowledged,
// writes records and acknowledgements of its own and removes segments
// that are done. Only one process at a time opens a directory with Open
// (others write with OpenWriter). It is safe for concurrent use.
type Journal struct {
	dir  string
	log  *slog.Logger
	lock *os.File
	w    *Writer
	// kinds maps a kind to its consumers.
	kinds map[string][]string

	compactMu sync.Mutex // one Compact at a time

	mu       sync.Mutex
	segs     map[string]*segment
	index    map[string]*entry
	pending  map[string]map[string]*entry // consumer → id → entry
	notify   map[string]chan struct{}
	order    uint64
	closed   bool
	replay   []pendingAck // acks read during Open, applied after every record
	skipped  atomic.Uint64
	removedN atomic.Uint64
}

// segment is one segment file as the reader knows it.
type segment struct {
	name  string
	own   bool  // written by this process's Writer
	final bool  // its writer is gone: nothing more will be appended
	off   int64 // bytes read so far (foreign segments)
	live  int   // records still pending for some consumer
	ids   []string
	acks  []ackRef // acknowledgements written in this segment
}

type ackRef struct{ consumer, id string }

type pendingAck struct {
	seg *segment
	ackRef
}

// entry is a record in a segment that has not been removed.
type entry struct {
	seg     *segment
	rec     Record   // Data is dropped once no consumer waits for it
	waiting []string // consumers that have not acknowledged it
	order   uint64
}

// Open opens (creating it, mode 0700, if missing) the journal directory
// dir as its reader: it takes the directory's lock, replays every
// segment and prepares its own Writer. It fails with ErrLocked while
// another process has it open.
func Open(dir string, opt Options) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	j := &Journal{dir: dir, log: opt.Logger, kinds: map[string][]string{},
		segs: map[string]*segment{}, index: map[string]*entry{},
		pending: map[string]map[string]*entry{}, notify: map[string]chan struct{}{}}
	if j.log == nil {
		j.log = slog.New(slog.DiscardHandler)
	}
	for c, kinds := range opt.Consumers {
		if !ValidKind(c) {
			return nil, fmt.Errorf("journal: consumer name %q", c)
		}
		j.pending[c] = map[string]*entry{}
		j.notify[c] = make(chan struct{}, 1)
		for _, k := range kinds {
			if !ValidKind(k) || strings.HasPrefix(k, reservedPrefix) {
				return nil, fmt.Errorf("journal: consumer %s: kind %q", c, k)
			}
			j.kinds[k] = append(j.kinds[k], c)
		}
	}
	for _, cs := range j.kinds {
		slices.Sort(cs)
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		return nil, fmt.Errorf("journal: lock %s: %w", dir, err)
	}
	j.lock = lock
	j.mu.Lock()
	j.replay = []pendingAck{}
	err = j.refreshLocked()
	for _, a := range j.replay {
		j.ackLocked(a.seg, a.consumer, a.id)
	}
	j.replay = nil
	j.mu.Unlock()
	if err != nil {
		lock.Close()
		return nil, err
	}
	wopt := opt.Writer
	if wopt.Name == "" {
		wopt.Name = "gofaxd"
	}
	w, err := OpenWriter(dir, wopt)
	if err != nil {
		lock.Close()
		return nil, err
	}
	w.claim, w.index = j.claimOwn, j.indexOwn
	j.w = w
	return j, nil
}

// Dir returns the journal directory.
func (j *Journal) Dir() string { return j.dir }

// Writer returns the reader's own Writer.
func (j *Journal) Writer() *Writer { return j.w }

// Append writes recs durably (Writer.Append) and makes them pending for
// their consumers.
func (j *Journal) Append(ctx context.Context, recs ...Record) error {
	return j.w.Append(ctx, recs...)
}

// Write writes recs without waiting for their fsync (Writer.Write) and
// makes them pending for their consumers.
func (j *Journal) Write(recs ...Record) error { return j.w.Write(recs...) }

// Sync makes everything written so far durable.
func (j *Journal) Sync(ctx context.Context) error { return j.w.Sync(ctx) }

// Err returns the writer's last fsync error, nil once an fsync
// succeeded after it.
func (j *Journal) Err() error { return j.w.Err() }

// Ack acknowledges records for consumer: they are no longer pending for
// it, now and after a restart. The acknowledgement is written like
// Write (durable within SyncInterval). IDs that are not pending for the
// consumer are ignored.
func (j *Journal) Ack(consumer string, ids ...string) error {
	j.mu.Lock()
	p, ok := j.pending[consumer]
	if !ok {
		j.mu.Unlock()
		return fmt.Errorf("journal: unknown consumer %q", consumer)
	}
	var todo []string
	for _, id := range ids {
		if _, ok := p[id]; ok && !slices.Contains(todo, id) {
			todo = append(todo, id)
		}
	}
	j.mu.Unlock()
	if len(todo) == 0 {
		return nil
	}
	recs, err := ackRecords(consumer, todo)
	if err != nil {
		return err
	}
	return j.w.Write(recs...)
}

// Pending returns the records pending for consumer, oldest first. The
// payloads are shared: do not modify them.
func (j *Journal) Pending(consumer string) []Record {
	j.mu.Lock()
	defer j.mu.Unlock()
	es := make([]*entry, 0, len(j.pending[consumer]))
	for _, e := range j.pending[consumer] {
		es = append(es, e)
	}
	slices.SortFunc(es, func(a, b *entry) int {
		switch {
		case a.order < b.order:
			return -1
		case a.order > b.order:
			return 1
		}
		return 0
	})
	recs := make([]Record, len(es))
	for i, e := range es {
		recs[i] = e.rec
	}
	return recs
}

// IsPending reports whether record id is pending for consumer.
func (j *Journal) IsPending(consumer, id string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	_, ok := j.pending[consumer][id]
	return ok
}

// Has reports whether a record with this ID is in the journal (in a
// segment not yet removed), pending or not.
func (j *Journal) Has(id string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	_, ok := j.index[id]
	return ok
}

// Notify returns a channel that receives a value when records become
// pending for consumer (written by this process, or found by Refresh).
// Nil for an unknown consumer.
func (j *Journal) Notify(consumer string) <-chan struct{} {
	return j.notify[consumer]
}

// Stats describe the journal.
type Stats struct {
	Segments int            // segment files
	Records  int            // records in them
	Pending  map[string]int // records pending, by consumer
	Skipped  uint64         // torn or corrupt lines skipped since Open
	Removed  uint64         // segments removed since Open
	Syncs    uint64         // fsyncs of segment files by this process
	DirSyncs uint64         // fsyncs of the directory by this process
}

// Stats returns the journal's figures.
func (j *Journal) Stats() Stats {
	j.mu.Lock()
	s := Stats{Segments: len(j.segs), Records: len(j.index), Pending: map[string]int{},
		Skipped: j.skipped.Load(), Removed: j.removedN.Load()}
	for c, p := range j.pending {
		s.Pending[c] = len(p)
	}
	j.mu.Unlock()
	s.Syncs, s.DirSyncs = j.w.Syncs()
	return s
}

// Refresh reads what other writers appended since the last Refresh
// (new segments, and the rest of those still being written).
func (j *Journal) Refresh() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return ErrClosed
	}
	return j.refreshLocked()
}

func (j *Journal) refreshLocked() error {
	des, err := os.ReadDir(j.dir)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	for _, de := range des {
		name := de.Name()
		if !de.Type().IsRegular() || !strings.HasSuffix(name, segSuffix) {
			continue
		}
		if strings.HasPrefix(name, tmpPrefix) {
			j.removeStale(name)
			continue
		}
		seg := j.segs[name]
		if seg == nil {
			seg = &segment{name: name}
			j.segs[name] = seg
		}
		if seg.own || seg.final {
			continue
		}
		if err := j.readSegment(seg); err != nil {
			j.log.Warn("journal: cannot read segment", "segment", name, "err", err)
		}
	}
	return nil
}

// staleAge is how old a segment still under its temporary name must be
// to be removed: a writer renames it within microseconds.
const staleAge = time.Minute

// removeStale removes a segment that a writer created but did not get to
// rename (it died in between): it has no records.
func (j *Journal) removeStale(name string) {
	path := filepath.Join(j.dir, name)
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || time.Since(fi.ModTime()) < staleAge {
		return
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
		os.Remove(path)
	}
}

// readSegment reads a foreign segment from where the last read ended.
func (j *Journal) readSegment(seg *segment) error {
	f, err := os.Open(filepath.Join(j.dir, seg.name))
	if errors.Is(err, os.ErrNotExist) {
		delete(j.segs, seg.name)
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	// The writer holds an exclusive lock while it may append: if we get
	// a shared one, it is gone and the segment is complete.
	final := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB) == nil
	if _, err := f.Seek(seg.off, io.SeekStart); err != nil {
		return err
	}
	res, err := scan(f, final, func(rec Record, _ int64) { j.applyLocked(seg, rec) })
	seg.off += res.consumed
	if res.skipped > 0 {
		j.skipped.Add(uint64(res.skipped))
		j.log.Warn("journal: torn or corrupt records skipped", "segment", seg.name, "skipped", res.skipped)
	}
	if err != nil {
		return err
	}
	seg.final = final
	return nil
}

// claimOwn is the Writer's hook before it creates a segment: Refresh
// must not read it as another writer's.
func (j *Journal) claimOwn(name string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	// The previous own segment is closed now: it may be removed.
	for _, s := range j.segs {
		if s.own {
			s.final = true
		}
	}
	j.segs[name] = &segment{name: name, own: true}
}

// indexOwn is the Writer's hook after each write: it indexes what this
// process wrote.
func (j *Journal) indexOwn(name string, recs []Record) {
	j.mu.Lock()
	defer j.mu.Unlock()
	seg := j.segs[name]
	if seg == nil {
		seg = &segment{name: name, own: true}
		j.segs[name] = seg
	}
	for _, r := range recs {
		j.applyLocked(seg, r)
	}
}

// applyLocked adds one record read from (or written to) seg.
func (j *Journal) applyLocked(seg *segment, rec Record) {
	if rec.Kind == AckKind {
		var a ackData
		if err := json.Unmarshal(rec.Data, &a); err != nil || !ValidKind(a.Consumer) {
			j.skipped.Add(1)
			return
		}
		for _, id := range a.IDs {
			if j.replay != nil {
				j.replay = append(j.replay, pendingAck{seg, ackRef{a.Consumer, id}})
			} else {
				j.ackLocked(seg, a.Consumer, id)
			}
		}
		return
	}
	if _, dup := j.index[rec.ID]; dup {
		return // the same record twice: the first counts
	}
	j.order++
	e := &entry{seg: seg, rec: rec, order: j.order, waiting: slices.Clone(j.kinds[rec.Kind])}
	j.index[rec.ID] = e
	seg.ids = append(seg.ids, rec.ID)
	if len(e.waiting) == 0 {
		e.rec.Data = nil
		return
	}
	seg.live++
	for _, c := range e.waiting {
		j.pending[c][rec.ID] = e
		select {
		case j.notify[c] <- struct{}{}:
		default:
		}
	}
}

// ackLocked applies one acknowledgement written in seg.
func (j *Journal) ackLocked(seg *segment, consumer, id string) {
	e, ok := j.index[id]
	if !ok {
		return // its segment is gone: nothing to keep
	}
	seg.acks = append(seg.acks, ackRef{consumer, id})
	i := slices.Index(e.waiting, consumer)
	if i < 0 {
		return
	}
	e.waiting = slices.Delete(e.waiting, i, i+1)
	delete(j.pending[consumer], id)
	if len(e.waiting) == 0 {
		e.rec.Data = nil
		e.seg.live--
	}
}

// Compact removes the segments whose writers are gone and whose records
// no consumer waits for. Acknowledgements in them that still matter (for
// records in segments that stay) are first written again, durably, into
// the reader's current segment. It returns how many segments it removed.
func (j *Journal) Compact(ctx context.Context) (int, error) {
	j.compactMu.Lock()
	defer j.compactMu.Unlock()
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return 0, ErrClosed
	}
	drop := map[*segment]bool{}
	for _, s := range j.segs {
		if s.final && s.live == 0 {
			drop[s] = true
		}
	}
	carry := map[string][]string{}
	for s := range drop {
		for _, a := range s.acks {
			if e, ok := j.index[a.id]; ok && !drop[e.seg] && !slices.Contains(carry[a.consumer], a.id) {
				carry[a.consumer] = append(carry[a.consumer], a.id)
			}
		}
	}
	j.mu.Unlock()
	if len(drop) == 0 {
		return 0, nil
	}
	var recs []Record
	for _, c := range slices.Sorted(maps.Keys(carry)) {
		rs, err := ackRecords(c, carry[c])
		if err != nil {
			return 0, err
		}
		recs = append(recs, rs...)
	}
	if len(recs) > 0 {
		if err := j.w.Append(ctx, recs...); err != nil {
			return 0, err
		}
	}
	removed := 0
	var firstErr error
	for s := range drop {
		if err := os.Remove(filepath.Join(j.dir, s.name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			if firstErr == nil {
				firstErr = fmt.Errorf("journal: %w", err)
			}
			continue
		}
		removed++
		j.mu.Lock()
		for _, id := range s.ids {
			if e := j.index[id]; e != nil && e.seg == s {
				delete(j.index, id)
			}
		}
		delete(j.segs, s.name)
		j.mu.Unlock()
	}
	j.removedN.Add(uint64(removed))
	return removed, firstErr
}

// Close closes the Writer (making everything durable) and releases the
// directory's lock.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	j.mu.Unlock()
	err := j.w.Close()
	if cerr := j.lock.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("journal: %w", cerr)
	}
	return err
}
