package hylafax

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// DefaultRecvFileMode is HylaFAX's default RecvFileMode.
const DefaultRecvFileMode fs.FileMode = 0o600

// maxRecvNameTries bounds the search for an unused recvq name when
// recvq/seqf lags behind the files there (restored backup, edited seqf).
const maxRecvNameTries = 100

// RecvFileConfig says how received files are made.
type RecvFileConfig struct {
	// Mode is HylaFAX's RecvFileMode, the mode of a received file
	// (0 means DefaultRecvFileMode). hfaxd lists a file in faxstat -r
	// only for users who may read it.
	Mode fs.FileMode
	// ReceivingMode is the mode while FreeSWITCH writes the file (0 means
	// Mode). FreeSWITCH opens the file we created, so when it runs as
	// another user the mode must let it write (0660 with a shared group).
	ReceivingMode fs.FileMode
	// Owner, when set, owns the file from its creation on. faxgetty's
	// files belong to uucp, and hfaxd lists only files it may read; a
	// daemon running as root hands them over this way.
	Owner *FileOwner
}

// FileOwner is a user and group id.
type FileOwner struct {
	UID, GID int
}

// RecvFile is a fax being received into recvq/fax%09u.tif, made the way
// faxgetty makes it: created exclusively under the next number of
// recvq/seqf and locked with flock until the reception ends, so that
// hfaxd reports it as being received. FreeSWITCH's rxfax writes into it
// (libtiff truncates and rewrites the same file, so the lock stays).
type RecvFile struct {
	// Name is spool-relative, "recvq/fax000000001.tif": for faxrcvd,
	// xferfaxlog and FIFO messages.
	Name string
	// Path is absolute: for rxfax.
	Path string
	f    *os.File
	mode fs.FileMode
}

// ErrRecvFileDone reports a RecvFile that was finished or closed.
var ErrRecvFileDone = errors.New("hylafax: received file already finished")

// CreateRecvFile creates and locks the next received file of the spool.
func CreateRecvFile(ctx context.Context, spool string, c RecvFileConfig) (*RecvFile, error) {
	if c.Mode == 0 {
		c.Mode = DefaultRecvFileMode
	}
	if c.ReceivingMode == 0 {
		c.ReceivingMode = c.Mode
	}
	abs, err := filepath.Abs(spool)
	if err != nil {
		return nil, fmt.Errorf("hylafax: %w", err)
	}
	for range maxRecvNameTries {
		seq, err := NextSeq(ctx, filepath.Join(abs, RecvSeqFile))
		if err != nil {
			return nil, err
		}
		rf := &RecvFile{Name: RecvFileName(seq), mode: c.Mode.Perm()}
		rf.Path = filepath.Join(abs, rf.Name)
		f, err := os.OpenFile(rf.Path, os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, c.ReceivingMode.Perm())
		if errors.Is(err, fs.ErrExist) {
			continue // never overwrite a fax: take the next number
		}
		if err != nil {
			return nil, fmt.Errorf("hylafax: create received file: %w", err)
		}
		rf.f = f
		// The umask narrowed the mode; set it exactly. Then lock: the
		// file is new, so nobody else holds the lock.
		if err := f.Chmod(c.ReceivingMode.Perm()); err != nil {
			rf.discard()
			return nil, fmt.Errorf("hylafax: %s: %w", rf.Name, err)
		}
		if o := c.Owner; o != nil {
			if err := f.Chown(o.UID, o.GID); err != nil {
				rf.discard()
				return nil, fmt.Errorf("hylafax: %s: %w", rf.Name, err)
			}
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			rf.discard()
			return nil, fmt.Errorf("hylafax: lock %s: %w", rf.Name, err)
		}
		return rf, nil
	}
	return nil, fmt.Errorf("hylafax: no unused name in recvq after %d numbers from %s", maxRecvNameTries, RecvSeqFile)
}

// ErrRecvFileName reports a name that is not recvq/fax%09u.tif.
var ErrRecvFileName = errors.New("hylafax: not a received file name")

// validRecvName reports whether name is RecvFileName of some number.
func validRecvName(name string) bool {
	const prefix, suffix = "recvq/fax", ".tif"
	digits, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return false
	}
	digits, ok = strings.CutSuffix(digits, suffix)
	if !ok || len(digits) < 9 {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// OpenRecvFile locks an existing received file to finish it, e.g. one an
// earlier run of the daemon created and could not finish. name is
// spool-relative (recvq/fax%09u.tif); mode is its final mode (0 means
// DefaultRecvFileMode). A missing file gives an error wrapping
// fs.ErrNotExist, one locked by another process an error wrapping
// syscall.EWOULDBLOCK.
func OpenRecvFile(spool, name string, mode fs.FileMode) (*RecvFile, error) {
	if !validRecvName(name) {
		return nil, fmt.Errorf("%w: %q", ErrRecvFileName, name)
	}
	if mode == 0 {
		mode = DefaultRecvFileMode
	}
	abs, err := filepath.Abs(spool)
	if err != nil {
		return nil, fmt.Errorf("hylafax: %w", err)
	}
	rf := &RecvFile{Name: name, Path: filepath.Join(abs, name), mode: mode.Perm()}
	f, err := os.OpenFile(rf.Path, os.O_RDWR|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("hylafax: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("hylafax: lock %s: %w", name, err)
	}
	rf.f = f
	return rf, nil
}

// discard removes a file that was never handed out.
func (rf *RecvFile) discard() {
	rf.f.Close()
	os.Remove(rf.Path)
}

// Finish ends the reception as faxgetty does: a file without pages
// (empty, or a TIFF header only) is removed and Finish returns 0 pages;
// otherwise the tags of t are added to every page, the file gets its
// final mode and the lock is released. A file that is not a readable TIFF
// is kept (mode set, lock released) and reported as an error: nothing
// that arrived is thrown away. Call it once rxfax has closed the file
// (its result event or the hangup): tagging while libtiff still writes
// would lose one or the other.
func (rf *RecvFile) Finish(t FaxTags) (pages int, err error) {
	if rf.f == nil {
		return 0, ErrRecvFileDone
	}
	defer rf.Close()
	fi, err := os.Stat(rf.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("hylafax: %w", err)
	}
	if fi.Size() > 0 {
		pages, err = CountTIFFPages(rf.Path)
	}
	if pages == 0 && err == nil {
		if err := os.Remove(rf.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, fmt.Errorf("hylafax: %w", err)
		}
		return 0, nil
	}
	if err == nil {
		err = AddFaxTags(rf.Path, t)
	}
	if cerr := os.Chmod(rf.Path, rf.mode); cerr != nil && err == nil {
		err = fmt.Errorf("hylafax: %w", cerr)
	}
	return pages, err
}

// Close releases the lock without finishing, e.g. when the daemon stops
// during a call; the file stays as it is. Closing twice is harmless.
func (rf *RecvFile) Close() error {
	if rf.f == nil {
		return nil
	}
	err := rf.f.Close() // releases the flock
	rf.f = nil
	return err
}
