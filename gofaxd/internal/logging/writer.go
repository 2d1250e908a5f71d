package logging

import (
	"fmt"
	"io"
	"sync"
)

// maxQueued bounds what waits to be written: records (journald) or
// bytes (stderr, maxQueued × 256). Beyond it records are dropped and the
// count is logged when there is room again: logging never holds a call.
const maxQueued = 8192

// queue hands items to one goroutine that writes them in batches.
type queue[T any] struct {
	mu      sync.Mutex
	items   []T
	size    int // what items count against limit
	limit   int
	dropped int
	closed  bool
	wake    chan struct{}
	done    chan struct{}
	write   func(batch []T, dropped int)
}

func newQueue[T any](limit int, write func(batch []T, dropped int)) *queue[T] {
	q := &queue[T]{limit: limit, write: write, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go q.run()
	return q
}

// put queues it, counting size against the limit; it never blocks.
func (q *queue[T]) put(it T, size int) {
	q.mu.Lock()
	if q.closed || q.size+size > q.limit {
		q.dropped++
		q.mu.Unlock()
		return
	}
	q.items = append(q.items, it)
	q.size += size
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *queue[T]) run() {
	defer close(q.done)
	var batch []T
	for {
		q.mu.Lock()
		batch, q.items = q.items, batch[:0]
		dropped, closed := q.dropped, q.closed
		q.dropped, q.size = 0, 0
		q.mu.Unlock()
		if len(batch) > 0 || dropped > 0 {
			q.write(batch, dropped)
			clear(batch)
			continue
		}
		if closed {
			return
		}
		<-q.wake
	}
}

// close writes what is queued and stops the goroutine.
func (q *queue[T]) close() {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		<-q.done
		return
	}
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	<-q.done
}

func droppedMessage(n int) string {
	return fmt.Sprintf("%d log records dropped: logging could not keep up", n)
}

// Writer is an io.Writer that queues what is written and writes it to
// its underlying writer from a goroutine of its own: a slow stderr (a
// full pipe, a stalled terminal) never blocks a Write, so a logging call
// never waits for it, and the slog handler's lock is held only for a
// copy. Each Write must be one whole record (slog's handlers write each
// record in one Write).
type Writer struct {
	q *queue[[]byte]
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{q: newQueue(maxQueued*256, func(batch [][]byte, dropped int) {
		if dropped > 0 {
			fmt.Fprintf(w, "level=WARN msg=%q\n", droppedMessage(dropped))
		}
		var out []byte
		for _, b := range batch {
			out = append(out, b...)
		}
		w.Write(out)
	})}
}

// Write queues a copy of p.
func (w *Writer) Write(p []byte) (int, error) {
	w.q.put(append([]byte(nil), p...), len(p))
	return len(p), nil
}

// Close writes what is queued and stops the goroutine; later writes are
// dropped.
func (w *Writer) Close() error {
	w.q.close()
	return nil
}
