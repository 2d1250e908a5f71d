package journal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultSegmentSize is the size after which a writer starts a new
// segment: a few thousand receptions, small enough that a segment whose
// records are all acknowledged is removed soon.
const DefaultSegmentSize = 4 << 20

// DefaultSyncInterval bounds how long a record written with Write (or an
// acknowledgement) waits for its fsync when no Append comes: at most one
// fsync a second for all of them.
const DefaultSyncInterval = time.Second

// segSuffix ends every segment file name; tmpPrefix starts the name of
// a segment being created.
const (
	segSuffix = ".jnl"
	tmpPrefix = ".new-"
)

// ErrSync reports records whose fsync failed: they may or may not be on
// disk. ErrClosed reports a closed Writer or Journal.
var (
	ErrSync   = errors.New("journal: fsync failed")
	ErrClosed = errors.New("journal: closed")
)

// WriterOptions configure a Writer.
type WriterOptions struct {
	// Name labels the writer's segment files ("gofaxd", "gofaxsend"):
	// 1 to 32 characters of a-z 0-9 and '-'. Default "writer".
	Name string
	// SegmentSize is the size after which a new segment is started
	// (0: DefaultSegmentSize).
	SegmentSize int64
	// SyncInterval is the longest time a record written with Write stays
	// without fsync (0: DefaultSyncInterval; negative: only Append, Sync
	// and Close fsync).
	SyncInterval time.Duration
}

// Writer appends records to segment files that it alone writes. It is
// safe for concurrent use; one process should have one Writer per
// journal directory.
type Writer struct {
	dir  string
	opt  WriterOptions
	uid  int // owner given to new files, -1 to leave them
	gid  int
	sync func(*os.File) error // fsync; replaced in tests

	mu       sync.Mutex // guards the fields below and the order of writes
	seg      *segFile
	written  uint64 // sequence number of the last write
	dirDirty bool   // a segment was created since the last directory fsync
	closed   bool
	// claim, if set, is told a segment's name before it is created, and
	// index about each write, in order; both under mu.
	claim func(seg string)
	index func(seg string, recs []Record)

	smu      sync.Mutex
	synced   uint64        // every write up to this one is durable, unless in failures
	failures []failure     // writes whose fsync failed, the latest maxFailures
	inflight chan struct{} // closed when the running fsync ends; nil if none

	syncs    atomic.Uint64
	dirSyncs atomic.Uint64

	stop chan struct{}
	done chan struct{}
}

// failure is a range of writes (lo, hi] whose fsync failed.
type failure struct {
	lo, hi uint64
	err    error
}

// maxFailures bounds the failed ranges remembered: a waiter older than
// those has long been told.
const maxFailures = 16

// segFile is the segment a Writer appends to.
type segFile struct {
	f      *os.File
	name   string
	size   int64
	broken bool // a write failed: start a new segment
}

// OpenWriter prepares a Writer for the journal directory dir, which must
// exist. The first segment file is created with the first record.
func OpenWriter(dir string, opt WriterOptions) (*Writer, error) {
	if opt.Name == "" {
		opt.Name = "writer"
	}
	if !validWriterName(opt.Name) {
		return nil, fmt.Errorf("journal: writer name %q: use 1 to 32 of a-z 0-9 -", opt.Name)
	}
	if opt.SegmentSize <= 0 {
		opt.SegmentSize = DefaultSegmentSize
	}
	if opt.SyncInterval == 0 {
		opt.SyncInterval = DefaultSyncInterval
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("journal: %s is not a directory", dir)
	}
	w := &Writer{dir: dir, opt: opt, uid: -1, gid: -1, sync: (*os.File).Sync,
		stop: make(chan struct{}), done: make(chan struct{})}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 && st.Uid != 0 {
		// root writing into a directory of the spool's owner: the files
		// belong to that owner too, so that the others can use them.
		w.uid, w.gid = int(st.Uid), int(st.Gid)
	}
	if opt.SyncInterval > 0 {
		go w.syncLoop()
	} else {
		close(w.done)
	}
	return w, nil
}

func validWriterName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Append writes recs and returns once they are durable (see the package
// documentation). Records without ID or Time get one. When ctx ends
// first, Append returns its error; the records may still become durable.
func (w *Writer) Append(ctx context.Context, recs ...Record) error {
	seq, err := w.write(recs)
	if err != nil {
		return err
	}
	return w.waitSync(ctx, seq)
}

// Write writes recs without waiting for an fsync: they survive the
// process being killed, and become durable with the next fsync (at the
// latest after SyncInterval).
func (w *Writer) Write(recs ...Record) error {
	_, err := w.write(recs)
	return err
}

// Sync makes everything written so far durable.
func (w *Writer) Sync(ctx context.Context) error {
	w.mu.Lock()
	seq := w.written
	w.mu.Unlock()
	return w.waitSync(ctx, seq)
}

// Close makes everything written durable, closes the segment (releasing
// its lock) and stops the periodic fsync.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	seq := w.written
	w.mu.Unlock()
	err := w.waitSync(context.Background(), seq)
	w.mu.Lock()
	w.closed = true
	if w.seg != nil {
		if cerr := w.seg.f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("journal: %w", cerr)
		}
		w.seg = nil
	}
	w.mu.Unlock()
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	return err
}

// Syncs returns how many fsyncs of segment files and of the directory
// this Writer made.
func (w *Writer) Syncs() (files, dirs uint64) { return w.syncs.Load(), w.dirSyncs.Load() }

// Err returns the error of the last failed fsync when no fsync has
// succeeded since, else nil.
func (w *Writer) Err() error {
	w.smu.Lock()
	defer w.smu.Unlock()
	if n := len(w.failures); n > 0 && w.failures[n-1].hi >= w.synced {
		return w.failures[n-1].err
	}
	return nil
}

// write encodes and writes recs as one write and returns its sequence
// number.
func (w *Writer) write(recs []Record) (uint64, error) {
	if len(recs) == 0 {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.written, nil
	}
	var buf []byte
	now := time.Now().UTC()
	for i := range recs {
		if recs[i].ID == "" {
			recs[i].ID = NewID()
		}
		if recs[i].Time.IsZero() {
			recs[i].Time = now
		}
		line, err := recs[i].Encode()
		if err != nil {
			return 0, err
		}
		buf = append(buf, line...)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, ErrClosed
	}
	if err := w.prepare(int64(len(buf))); err != nil {
		return 0, err
	}
	seg := w.seg
	n, err := seg.f.Write(buf)
	if err != nil {
		// Take back what was written, so the next record does not follow
		// a torn one; if that fails too, the next write starts a new
		// segment.
		seg.broken = true
		if n > 0 {
			if terr := seg.f.Truncate(seg.size); terr == nil {
				seg.broken = false
			}
		}
		return 0, fmt.Errorf("journal: write %s: %w", seg.name, err)
	}
	seg.size += int64(n)
	w.written++
	if w.index != nil {
		w.index(seg.name, recs)
	}
	return w.written, nil
}

// prepare makes sure there is a segment with room for n more bytes;
// w.mu is held.
func (w *Writer) prepare(n int64) error {
	if s := w.seg; s != nil && !s.broken && (s.size == 0 || s.size+n <= w.opt.SegmentSize) {
		return nil
	}
	if s := w.seg; s != nil {
		// Everything written to it becomes durable before it is closed.
		if err := w.sync(s.f); err != nil {
			w.fail(w.written, err)
		}
		w.syncs.Add(1)
		s.f.Close()
		w.seg = nil
	}
	now := time.Now()
	for try := range 100 {
		name := fmt.Sprintf("%016x-%s-%d%s", now.UnixNano()+int64(try), w.opt.Name, os.Getpid(), segSuffix)
		if _, err := os.Lstat(filepath.Join(w.dir, name)); err == nil {
			continue
		}
		// The segment is created and locked under a temporary name and
		// then renamed: a reader never sees it unlocked, which would
		// mean that its writer is gone.
		tmp := filepath.Join(w.dir, tmpPrefix+name)
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND|syscall.O_NOFOLLOW, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("journal: new segment: %w", err)
		}
		discard := func(err error) error {
			f.Close()
			os.Remove(tmp)
			return fmt.Errorf("journal: new segment: %w", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			return discard(err)
		}
		if w.uid >= 0 {
			if err := f.Chown(w.uid, w.gid); err != nil {
				return discard(err)
			}
		}
		if w.claim != nil {
			w.claim(name)
		}
		if err := os.Rename(tmp, filepath.Join(w.dir, name)); err != nil {
			return discard(err)
		}
		w.seg = &segFile{f: f, name: name}
		w.dirDirty = true
		return nil
	}
	return errors.New("journal: no free segment name")
}

// fail records that the writes after the last durable one up to seq
// may be lost.
func (w *Writer) fail(seq uint64, err error) {
	w.smu.Lock()
	defer w.smu.Unlock()
	w.failLocked(seq, err)
}

func (w *Writer) failLocked(seq uint64, err error) {
	if seq <= w.synced {
		return
	}
	w.failures = append(w.failures, failure{lo: w.synced, hi: seq, err: err})
	if len(w.failures) > maxFailures {
		w.failures = w.failures[1:]
	}
	// Later fsyncs cover later writes only.
	w.synced = seq
}

// failedLocked returns the error of a failed fsync that covered seq.
func (w *Writer) failedLocked(seq uint64) error {
	for _, f := range w.failures {
		if seq > f.lo && seq <= f.hi {
			return fmt.Errorf("%w: %v", ErrSync, f.err)
		}
	}
	return nil
}

// waitSync returns once write seq is durable: it joins the fsync in
// flight, or starts one that covers everything written so far.
func (w *Writer) waitSync(ctx context.Context, seq uint64) error {
	for {
		w.smu.Lock()
		if w.synced >= seq {
			err := w.failedLocked(seq)
			w.smu.Unlock()
			return err
		}
		if ch := w.inflight; ch != nil {
			w.smu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		ch := make(chan struct{})
		w.inflight = ch
		w.smu.Unlock()

		target, err := w.syncNow()

		w.smu.Lock()
		w.inflight = nil
		if err != nil {
			w.failLocked(target, err)
		} else if target > w.synced {
			w.synced = target
		}
		w.smu.Unlock()
		close(ch)
	}
}

// syncNow fsyncs the current segment and, after a segment was created,
// the directory. It returns the last write it covers.
func (w *Writer) syncNow() (uint64, error) {
	w.mu.Lock()
	seg, target, dir := w.seg, w.written, w.dirDirty
	w.dirDirty = false
	w.mu.Unlock()
	if seg == nil {
		// Closed at rotation or Close, which fsynced it.
		return target, nil
	}
	err := w.sync(seg.f)
	w.syncs.Add(1)
	if errors.Is(err, os.ErrClosed) {
		// Rotated meanwhile: prepare fsynced it before closing, and
		// recorded a failure if that fsync failed.
		err = nil
	}
	if err != nil {
		w.mu.Lock()
		seg.broken = true
		w.mu.Unlock()
		return target, fmt.Errorf("journal: fsync %s: %w", seg.name, err)
	}
	if dir {
		if err := w.syncDir(); err != nil {
			w.mu.Lock()
			w.dirDirty = true
			w.mu.Unlock()
			return target, err
		}
	}
	return target, nil
}

func (w *Writer) syncDir() error {
	d, err := os.Open(w.dir)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer d.Close()
	w.dirSyncs.Add(1)
	if err := w.sync(d); err != nil {
		return fmt.Errorf("journal: fsync %s: %w", w.dir, err)
	}
	return nil
}

// syncLoop fsyncs what Write left unsynced, every SyncInterval.
func (w *Writer) syncLoop() {
	defer close(w.done)
	t := time.NewTicker(w.opt.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
		w.mu.Lock()
		seq := w.written
		w.mu.Unlock()
		w.smu.Lock()
		behind := w.synced < seq
		w.smu.Unlock()
		if behind {
			w.waitSync(context.Background(), seq)
		}
	}
}
