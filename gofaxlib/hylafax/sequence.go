package hylafax

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Polling of a sequence file's flock while another process holds it:
// HylaFAX's programs and gofaxsend hold it for one read and write.
const (
	seqLockPollMin = time.Millisecond
	seqLockPollMax = 20 * time.Millisecond
)

// Sequence hands out the numbers of one sequence file (log/seqf,
// recvq/seqf) to the goroutines of one process, sharing the file with
// HylaFAX's programs and gofaxsend through the same protocol as NextSeq:
// flock, read, write the next value, unlock. Unlike NextSeq it is fair
// and batched: callers are served in the order they called Next; one
// goroutine takes the lock for everyone waiting at that moment and hands
// them consecutive numbers from one read and write. The numbers stay
// unique and increasing across processes, since each batch is taken
// under the lock like any other number.
//
// Next does not fsync the file: Sync makes the numbers taken so far
// durable, once for many calls (see the README's "What is fsynced and
// when": before faxrcvd runs for a reception, its numbers are durable).
type Sequence struct {
	path string

	mu      sync.Mutex
	queue   []*seqWait // waiting, in arrival order
	running bool       // an allocator goroutine serves the queue
	dirty   bool       // numbers handed out since the last Sync

	syncMu sync.Mutex // one Sync at a time
}

// seqWait is one Next waiting for its number.
type seqWait struct {
	n    int
	err  error
	done chan struct{}
	gone bool // the caller gave up; guarded by Sequence.mu
}

// NewSequence returns the Sequence of the sequence file at path.
func NewSequence(path string) *Sequence { return &Sequence{path: path} }

// Path returns the sequence file's name.
func (s *Sequence) Path() string { return s.path }

// Next returns the next number. When ctx ends first it returns ctx's
// error; a number taken for it meanwhile is skipped.
func (s *Sequence) Next(ctx context.Context) (int, error) {
	w := &seqWait{done: make(chan struct{})}
	s.mu.Lock()
	s.queue = append(s.queue, w)
	start := !s.running
	s.running = true
	s.mu.Unlock()
	if start {
		go s.serve()
	}
	select {
	case <-w.done:
		return w.n, w.err
	case <-ctx.Done():
		s.mu.Lock()
		w.gone = true
		s.mu.Unlock()
		select {
		case <-w.done: // served meanwhile
			return w.n, w.err
		default:
		}
		return 0, ctx.Err()
	}
}

// serve takes numbers for the waiters until none is left. It runs while
// someone waits: a waiter starts it, and it ends when the queue is empty
// or everyone in it gave up.
func (s *Sequence) serve() {
	for {
		s.mu.Lock()
		if !s.waitingLocked() {
			for _, w := range s.queue {
				close(w.done) // gave up: nobody reads it
			}
			s.queue, s.running = nil, false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		s.batch()
	}
}

// waitingLocked reports whether a waiter still waits; s.mu is held.
func (s *Sequence) waitingLocked() bool {
	for _, w := range s.queue {
		if !w.gone {
			return true
		}
	}
	return false
}

// batch takes the lock and serves everyone waiting once it holds it.
func (s *Sequence) batch() {
	fail := func(err error) {
		s.mu.Lock()
		batch := s.queue
		s.queue = nil
		s.mu.Unlock()
		for _, w := range batch {
			w.err = err
			close(w.done)
		}
	}
	f, err := openSeqFile(s.path)
	if err != nil {
		fail(err)
		return
	}
	defer f.Close() // releases the lock
	if err := s.lock(f); err != nil {
		if !errors.Is(err, errNobodyWaits) {
			fail(fmt.Errorf("hylafax: lock %s: %w", s.path, err))
		}
		return // serve sees who waits now
	}
	s.mu.Lock()
	batch := s.queue
	s.queue = nil
	s.mu.Unlock()
	buf := make([]byte, maxSeqFileRead)
	n, err := f.ReadAt(buf, 0)
	if err != nil && err != io.EOF {
		s.deliver(batch, 0, fmt.Errorf("hylafax: read %s: %w", s.path, err))
		return
	}
	seq := atoi(string(buf[:n]))
	if seq < 1 || seq >= MaxSeq {
		seq = 1
	}
	first, live := seq, 0
	for _, w := range batch {
		if !w.gone {
			live++
		}
	}
	for range live {
		seq = nextSeq(seq)
	}
	next := strconv.Itoa(seq)
	if _, err := f.WriteAt([]byte(next), 0); err != nil {
		s.deliver(batch, 0, fmt.Errorf("hylafax: write %s: %w", s.path, err))
		return
	}
	if err := truncateAfter(f, n, len(next)); err != nil {
		s.deliver(batch, 0, fmt.Errorf("hylafax: truncate %s: %w", s.path, err))
		return
	}
	s.mu.Lock()
	s.dirty = true
	s.mu.Unlock()
	s.deliver(batch, first, nil)
}

// deliver hands consecutive numbers from first to the live waiters of
// batch, in their order, or err to all.
func (s *Sequence) deliver(batch []*seqWait, first int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := first
	for _, w := range batch {
		switch {
		case err != nil:
			w.err = err
		case !w.gone:
			w.n = n
			n = nextSeq(n)
		}
		close(w.done)
	}
}

// errNobodyWaits ends a wait for the lock that nobody needs any more.
var errNobodyWaits = errors.New("every waiter gave up")

// lock takes the flock, polling while another process holds it; it gives
// up when every waiter has.
func (s *Sequence) lock(f *os.File) error {
	pause := seqLockPollMin
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case !errors.Is(err, syscall.EWOULDBLOCK):
			return err
		}
		time.Sleep(pause)
		pause = min(2*pause, seqLockPollMax)
		s.mu.Lock()
		waiting := s.waitingLocked()
		s.mu.Unlock()
		if !waiting {
			return errNobodyWaits
		}
	}
}

// Sync makes the numbers handed out so far durable: it fsyncs the file
// with sync (nil: (*os.File).Sync) if a number was taken since the last
// Sync.
func (s *Sequence) Sync(sync func(*os.File) error) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	dirty := s.dirty
	s.dirty = false
	s.mu.Unlock()
	if !dirty {
		return nil
	}
	if sync == nil {
		sync = (*os.File).Sync
	}
	f, err := os.Open(s.path)
	if err == nil {
		err = sync(f)
		f.Close()
	}
	if err != nil {
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
		return fmt.Errorf("hylafax: sync %s: %w", s.path, err)
	}
	return nil
}
