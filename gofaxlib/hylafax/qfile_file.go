package hylafax

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
)

// OpenQfile opens the qfile at path read-write, takes an exclusive flock on
// it as faxsend does (waiting until ctx is done if another process holds
// it) and parses it. The lock is held until Close.
func OpenQfile(ctx context.Context, path string) (*Qfile, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("hylafax: open qfile: %w", err)
	}
	if err := flockContext(ctx, f, syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("hylafax: lock qfile %s: %w", path, err)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxQfileSize+1))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("hylafax: read qfile: %w", err)
	}
	q, err := ParseQfile(path, data)
	if err != nil {
		f.Close()
		return nil, err
	}
	q.f = f
	return q, nil
}

// Save rewrites the open qfile in place as faxq and faxsend do: from the
// start, then truncated to the new length and synced, so the inode other
// processes know stays the same.
func (q *Qfile) Save() error {
	if q.f == nil {
		return ErrNotOpen
	}
	data := q.Bytes()
	if _, err := q.f.WriteAt(data, 0); err != nil {
		return fmt.Errorf("hylafax: write qfile: %w", err)
	}
	if err := q.f.Truncate(int64(len(data))); err != nil {
		return fmt.Errorf("hylafax: truncate qfile: %w", err)
	}
	if err := q.f.Sync(); err != nil {
		return fmt.Errorf("hylafax: sync qfile: %w", err)
	}
	q.reparsed(data)
	return nil
}

// reparsed makes the lines reflect data, the bytes just written, so that
// line numbers and raw bytes match the file again.
func (q *Qfile) reparsed(data []byte) {
	n, err := ParseQfile(q.name, data)
	if err == nil {
		q.lines, q.warnings = n.lines, n.warnings
	}
}

// Close releases the lock and closes the file. It is a no-op on a Qfile
// that is not open.
func (q *Qfile) Close() error {
	if q.f == nil {
		return nil
	}
	err := q.f.Close() // releases the flock
	q.f = nil
	return err
}

// Lock polling: flock has no timeout, so a held lock is retried with a
// growing pause until the context ends. Spool locks are held for
// milliseconds (seqf, xferfaxlog) or one call (a qfile being sent).
const (
	lockPollMin = 2 * time.Millisecond
	lockPollMax = 100 * time.Millisecond
)

// flockContext takes flock how (LOCK_EX or LOCK_SH) on f, retrying while
// another holder has it, until ctx is done.
func flockContext(ctx context.Context, f *os.File, how int) error {
	pause := lockPollMin
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case !errors.Is(err, syscall.EWOULDBLOCK):
			return err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		pause = min(2*pause, lockPollMax)
	}
}
