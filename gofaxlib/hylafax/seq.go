package hylafax

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"syscall"
)

// MaxSeq is the exclusive upper bound of HylaFAX sequence numbers: the
// numbers run from 1 to MaxSeq-1 and then start again at 1, so they always
// fit in 9 digits.
const MaxSeq = 999999999

// maxSeqFileRead is how much of a sequence file is read, as HylaFAX does:
// the file holds at most 9 digits, anything longer is garbage anyway.
const maxSeqFileRead = 1024

// ErrSeqFile is returned when a sequence file is not a regular file or was
// replaced while it was being opened.
var ErrSeqFile = errors.New("hylafax: bad sequence file")

// NextSeq takes the next number from the sequence file at path as HylaFAX's
// Sequence::getNext does: the file holds the number to use, in ASCII
// without a newline; it is read and advanced under an exclusive flock. A
// missing file is created with mode 0600 and, like an empty, unreadable or
// out-of-range one, yields 1. Waiting for the lock ends with ctx.
func NextSeq(ctx context.Context, path string) (int, error) {
	f, err := openSeqFile(path)
	if err != nil {
		return 0, err
	}
	defer f.Close() // releases the lock
	if err := flockContext(ctx, f, syscall.LOCK_EX); err != nil {
		return 0, fmt.Errorf("hylafax: lock %s: %w", path, err)
	}
	buf := make([]byte, maxSeqFileRead)
	n, err := f.ReadAt(buf, 0)
	if err != nil && err != io.EOF {
		return 0, fmt.Errorf("hylafax: read %s: %w", path, err)
	}
	seq := atoi(string(buf[:n]))
	if seq < 1 || seq >= MaxSeq {
		seq = 1
	}
	next := strconv.Itoa(nextSeq(seq))
	if _, err := f.WriteAt([]byte(next), 0); err != nil {
		return 0, fmt.Errorf("hylafax: write %s: %w", path, err)
	}
	if err := truncateAfter(f, n, len(next)); err != nil {
		return 0, fmt.Errorf("hylafax: truncate %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("hylafax: sync %s: %w", path, err)
	}
	return seq, nil
}

// truncateAfter cuts a sequence file down to the wrote bytes just written
// at its start when it held more (had: its length as far as read). A
// number as long as the old one or longer needs no truncate, which on
// ext4 would wait for the writeback of an fsync of the file in flight.
func truncateAfter(f *os.File, had, wrote int) error {
	if had <= wrote {
		return nil
	}
	return f.Truncate(int64(wrote))
}

// nextSeq returns the number after seq, wrapping to 1 before MaxSeq.
func nextSeq(seq int) int {
	if seq+1 >= MaxSeq {
		return 1
	}
	return seq + 1
}

// openSeqFile opens an existing regular sequence file (not a symlink), or
// creates it exclusively with mode 0600.
func openSeqFile(path string) (*os.File, error) {
	for range 2 {
		st, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
			if errors.Is(err, fs.ErrExist) {
				continue // another process created it first
			}
			if err != nil {
				return nil, fmt.Errorf("hylafax: create sequence file: %w", err)
			}
			return f, nil
		}
		if err != nil {
			return nil, fmt.Errorf("hylafax: sequence file: %w", err)
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("%w: %s is not a regular file", ErrSeqFile, path)
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return nil, fmt.Errorf("hylafax: open sequence file: %w", err)
		}
		st2, err := f.Stat()
		if err != nil || !os.SameFile(st, st2) {
			f.Close()
			return nil, fmt.Errorf("%w: %s changed while opening", ErrSeqFile, path)
		}
		return f, nil
	}
	return nil, fmt.Errorf("%w: %s keeps appearing and disappearing", ErrSeqFile, path)
}
