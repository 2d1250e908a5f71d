package hylafax

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// FIFO names, relative to the spool directory.
const (
	FaxqFIFO = "FIFO" // read by faxq
)

// ModemFIFO returns the spool-relative name of the FIFO a getty reads,
// FIFO.<modem>.
func ModemFIFO(modem string) string { return "FIFO." + modem }

var (
	// ErrNoReader reports a FIFO that nobody read before the writer gave
	// up: faxq, or the getty of a modem, is not running.
	ErrNoReader = errors.New("hylafax: nobody reads the FIFO")
	// ErrNotFIFO reports a path that exists but is not a FIFO.
	ErrNotFIFO = errors.New("hylafax: not a FIFO")
)

// Writer retries: opening a FIFO without a reader fails at once (ENXIO),
// and a full pipe refuses a write (EAGAIN), so the writer polls with a
// growing pause. fifoWriteWait bounds a write whose context has no
// deadline: a running faxq drains its FIFO within one dispatch turn.
const (
	fifoRetryMin  = 5 * time.Millisecond
	fifoRetryMax  = 250 * time.Millisecond
	fifoWriteWait = 10 * time.Second
)

// MakeFIFO creates the FIFO path with mode perm (faxgetty uses 0600). A
// FIFO that already exists is kept as it is; any other file there is
// ErrNotFIFO.
func MakeFIFO(path string, perm fs.FileMode) error {
	err := syscall.Mkfifo(path, uint32(perm.Perm()))
	if errors.Is(err, fs.ErrExist) {
		fi, lerr := os.Lstat(path)
		if lerr != nil {
			return fmt.Errorf("hylafax: mkfifo %s: %w", path, lerr)
		}
		if fi.Mode().Type() != fs.ModeNamedPipe {
			return fmt.Errorf("%w: %s is %v", ErrNotFIFO, path, fi.Mode().Type())
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("hylafax: mkfifo %s: %w", path, err)
	}
	// mkfifo applies the umask; set the mode asked for.
	if err := os.Chmod(path, perm.Perm()); err != nil {
		return fmt.Errorf("hylafax: mkfifo %s: %w", path, err)
	}
	return nil
}

// WriteFIFO writes m and its terminating NUL to the FIFO path in one
// write (records are shorter than PIPE_BUF, so readers never see them
// mixed with others). It never blocks on a missing reader: it retries
// until ctx is done, or fifoWriteWait has passed when ctx has no deadline,
// and then returns an error wrapping ErrNoReader.
func WriteFIFO(ctx context.Context, path string, m Message) error {
	rec, err := m.Encode()
	if err != nil {
		return err
	}
	return writeRecord(ctx, path, append(rec, 0))
}

// writeRecord opens path for writing without blocking and writes rec.
func writeRecord(ctx context.Context, path string, rec []byte) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, fifoWriteWait)
		defer cancel()
	}
	pause := fifoRetryMin
	for {
		err := tryWrite(ctx, path, rec)
		if err == nil || !errors.Is(err, syscall.ENXIO) && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, os.ErrDeadlineExceeded) {
			return err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %s (%w)", ErrNoReader, path, ctx.Err())
		case <-t.C:
		}
		pause = min(2*pause, fifoRetryMax)
	}
}

// faxqReadSize is what faxq and faxgetty read from their FIFO at once
// (2047 bytes), plus the NUL of the last record, which may come in the
// next read. Each read is split into records on its own, so a record that
// straddles two reads is lost as two garbled ones.
const faxqReadSize = 2048

// tryWrite makes one attempt. While the bytes already waiting in the pipe
// and rec would not fit one read of faxq, it waits for the reader to
// drain them; a full pipe waits in the runtime poller. Both end with the
// context's deadline.
func tryWrite(ctx context.Context, path string, rec []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Mode().Type() != fs.ModeNamedPipe {
		return fmt.Errorf("%w: %s", ErrNotFIFO, path)
	}
	if d, ok := ctx.Deadline(); ok {
		if err := f.SetWriteDeadline(d); err != nil {
			return err
		}
	}
	if err := waitDrained(ctx, f, len(rec)); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := f.Write(rec); err != nil {
		if errors.Is(err, syscall.EPIPE) { // the reader left between open and write
			return fmt.Errorf("%s: %w", path, syscall.ENXIO)
		}
		return fmt.Errorf("hylafax: write %s: %w", path, err)
	}
	return nil
}

// waitDrained waits until n more bytes fit one read of faxq. It returns
// os.ErrDeadlineExceeded when ctx ends first, and nil when the pipe
// cannot be asked.
func waitDrained(ctx context.Context, f *os.File, n int) error {
	pause := fifoRetryMin
	for {
		q, err := pipeQueued(f)
		if err != nil || q == 0 || q+n <= faxqReadSize {
			return nil
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return os.ErrDeadlineExceeded
		case <-t.C:
		}
		pause = min(2*pause, fifoRetryMax)
	}
}

// fifoTailWait is how long a reader waits for the rest of a record that
// arrived without its NUL before taking it as it is: faxq's own tools
// (faxmodem) and "echo >FIFO" may write records without a NUL.
const fifoTailWait = 100 * time.Millisecond

// fifoReadChunk is the size of one read; a pipe holds at most 64 KiB.
const fifoReadChunk = 4096

// FIFOReader reads the records of a FIFO: the bytes up to a NUL or a
// newline, as faxq and faxgetty split them. It opens the FIFO for reading
// and writing, so it never sees an end of file when writers come and go.
// A FIFOReader is used by one goroutine at a time; Close may be called
// from any.
type FIFOReader struct {
	f      *os.File
	closed atomic.Bool
	buf    []byte // bytes read but not yet returned
	chunk  []byte // read buffer
	skip   bool   // dropping an over-long record up to its end
}

// OpenFIFO opens the FIFO path for reading. It fails with ErrNotFIFO if
// path is not a FIFO.
func OpenFIFO(path string) (*FIFOReader, error) {
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("hylafax: %w", err)
	}
	fi, err := f.Stat()
	if err == nil && fi.Mode().Type() != fs.ModeNamedPipe {
		err = fmt.Errorf("%w: %s", ErrNotFIFO, path)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &FIFOReader{f: f, chunk: make([]byte, fifoReadChunk)}, nil
}

// Close closes the FIFO; a Read in progress returns. Records read but
// not yet returned are dropped.
func (r *FIFOReader) Close() error {
	r.closed.Store(true)
	return r.f.Close()
}

// errReaderClosed is what Read returns once Close was called.
var errReaderClosed = fmt.Errorf("hylafax: read FIFO: %w", os.ErrClosed)

// Read returns the next non-empty record, without its terminator. It
// blocks until one arrives or ctx is done. A record longer than
// MaxFIFORecord is dropped and reported as an error wrapping
// ErrFIFOMessage; reading can go on after it. Once Close was called,
// Read returns an error wrapping os.ErrClosed.
func (r *FIFOReader) Read(ctx context.Context) ([]byte, error) {
	stop := context.AfterFunc(ctx, func() { r.f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	for {
		if r.closed.Load() {
			return nil, errReaderClosed
		}
		if rec, err := r.next(); rec != nil || err != nil {
			return rec, err
		}
		var deadline time.Time
		if len(r.buf) > 0 {
			deadline = time.Now().Add(fifoTailWait)
		}
		// A Close between the check above and here makes the poller
		// report "use of closed file", which is not os.ErrClosed.
		if err := r.f.SetReadDeadline(deadline); err != nil {
			return nil, r.readErr(err)
		}
		// Checked after the deadline is set: a cancel that came before
		// it would otherwise be undone.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, err := r.f.Read(r.chunk)
		r.buf = append(r.buf, r.chunk[:n]...)
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if len(r.buf) > 0 && !deadline.IsZero() && !time.Now().Before(deadline) {
				return r.tail()
			}
		case errors.Is(err, io.EOF):
			return nil, io.EOF
		default:
			return nil, r.readErr(err)
		}
	}
}

// readErr wraps an error of the FIFO; after Close, whatever the file
// reported, it is errReaderClosed.
func (r *FIFOReader) readErr(err error) error {
	if r.closed.Load() {
		return errReaderClosed
	}
	return fmt.Errorf("hylafax: read FIFO: %w", err)
}

// next takes the first complete record off the buffer.
func (r *FIFOReader) next() ([]byte, error) {
	for {
		i := bytes.IndexAny(r.buf, "\x00\n")
		if i < 0 {
			if len(r.buf) > MaxFIFORecord {
				r.buf, r.skip = r.buf[:0], true
				return nil, fmt.Errorf("%w: record longer than %d bytes", ErrFIFOMessage, MaxFIFORecord)
			}
			if r.skip {
				r.buf = r.buf[:0]
			}
			return nil, nil
		}
		rec := bytes.Clone(r.buf[:i])
		r.buf = append(r.buf[:0], r.buf[i+1:]...)
		if r.skip {
			r.skip = false
			continue
		}
		if len(rec) > MaxFIFORecord {
			return nil, fmt.Errorf("%w: record longer than %d bytes", ErrFIFOMessage, MaxFIFORecord)
		}
		if len(rec) > 0 {
			return rec, nil
		}
	}
}

// tail returns the unterminated rest of the buffer as a record.
func (r *FIFOReader) tail() ([]byte, error) {
	rec := bytes.Clone(r.buf)
	r.buf = r.buf[:0]
	return rec, nil
}
