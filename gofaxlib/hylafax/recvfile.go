package hylafax

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/gofaxserver/gofaxserver/gofaxlib/faxdoc"
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
	// Number takes the file's number (e.g. a Sequence's Next on
	// recvq/seqf); nil takes it from recvq/seqf with NextSeq.
	Number func(context.Context) (int, error)
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

	doc    *faxdoc.File // the pages as read through f; nil until read
	docErr error
	header []byte // the header that switches to the new tags, not written yet
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
	next := c.Number
	if next == nil {
		next = func(ctx context.Context) (int, error) { return NextSeq(ctx, filepath.Join(abs, RecvSeqFile)) }
	}
	for range maxRecvNameTries {
		seq, err := next(ctx)
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
// final mode, is made durable (see Commit) and the lock is released. A
// file that is not a readable TIFF is kept (mode set, lock released) and
// reported as an error: nothing that arrived is thrown away. Call it once
// rxfax has closed the file (its result event or the hangup): tagging
// while libtiff still writes would lose one or the other.
func (rf *RecvFile) Finish(t FaxTags) (pages int, err error) {
	pages, err = rf.Tag(t)
	if rf.f == nil {
		return pages, err
	}
	if cerr := CommitRecvFiles(nil, []*RecvFile{rf})[0]; err == nil {
		err = cerr
	}
	return pages, err
}

// Pages returns the pages of the file as rxfax left it, read through the
// descriptor Finish and Tag use (one read of the file for both).
func (rf *RecvFile) Pages() ([]PageInfo, error) {
	if err := rf.read(); err != nil {
		return nil, err
	}
	return rf.doc.Pages(), nil
}

// read parses the file once; an empty file is a TIFF of no pages.
func (rf *RecvFile) read() error {
	if rf.f == nil {
		return ErrRecvFileDone
	}
	if rf.doc != nil || rf.docErr != nil {
		return rf.docErr
	}
	fi, err := rf.f.Stat()
	if err != nil {
		rf.docErr = fmt.Errorf("hylafax: %w", err)
		return rf.docErr
	}
	if fi.Size() == 0 {
		rf.doc = &faxdoc.File{}
		return nil
	}
	rf.doc, rf.docErr = faxdoc.Read(rf.f, fi.Size())
	if rf.docErr != nil {
		rf.doc = nil
		rf.docErr = fmt.Errorf("%s: %w", rf.Name, rf.docErr)
	}
	return rf.docErr
}

// Tag does what Finish does up to the durability: a file without pages
// is removed (and closed), any other gets its final mode; the tags of t
// are written after the end of the file, and the header that switches to
// them is kept for CommitRecvFiles, which makes the file durable, writes
// the header and releases the lock. Until then the file stays locked
// and, as rxfax left it, valid.
func (rf *RecvFile) Tag(t FaxTags) (pages int, err error) {
	if rf.f == nil {
		return 0, ErrRecvFileDone
	}
	cur, err := os.Stat(rf.Path)
	if errors.Is(err, fs.ErrNotExist) {
		rf.Close()
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("hylafax: %w", err)
	}
	if fi, err := rf.f.Stat(); err != nil || !os.SameFile(cur, fi) {
		// Replaced since it was created: finish what the name holds now.
		f, err := os.OpenFile(rf.Path, os.O_RDWR|syscall.O_NOFOLLOW, 0)
		if err != nil {
			return 0, fmt.Errorf("hylafax: %w", err)
		}
		rf.f.Close()
		rf.f, rf.doc, rf.docErr = f, nil, nil
	}
	err = rf.read()
	if err == nil {
		pages = rf.doc.NumPages()
	}
	if pages == 0 && err == nil {
		rf.Close()
		if err := os.Remove(rf.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, fmt.Errorf("hylafax: %w", err)
		}
		return 0, nil
	}
	if err == nil {
		var tail []byte
		var hdr [8]byte
		tail, hdr, err = faxTagsTail(rf.doc, t)
		if err == nil {
			if _, werr := rf.f.WriteAt(tail, rf.doc.Size()); werr != nil {
				err = fmt.Errorf("hylafax: %s: %w", rf.Name, werr)
			} else {
				rf.header = hdr[:]
			}
		}
	}
	if cerr := rf.f.Chmod(rf.mode); cerr != nil && err == nil {
		err = fmt.Errorf("hylafax: %w", cerr)
	}
	return pages, err
}

// Syncer makes what was written durable: fsync and fdatasync for the
// operating system's (OSSyncer); tests record what is synced when.
type Syncer interface {
	// Sync makes f's data and metadata durable (fsync).
	Sync(f *os.File) error
	// DataSync makes f's data durable, and its metadata only as far as
	// needed to read the data (fdatasync).
	DataSync(f *os.File) error
}

// OSSyncer is fsync and fdatasync.
type OSSyncer struct{}

// Sync implements Syncer.
func (OSSyncer) Sync(f *os.File) error { return f.Sync() }

// DataSync implements Syncer.
func (OSSyncer) DataSync(f *os.File) error {
	err := ignoringEINTR(func() error { return syscall.Fdatasync(int(f.Fd())) })
	if err != nil {
		return &fs.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
	}
	return nil
}

// FileSystemSyncer is a Syncer that can also make everything written to
// one file system durable at once (syncfs): one flush of the disk's cache
// for a whole batch of files instead of one or two per file.
type FileSystemSyncer interface {
	Syncer
	SyncFS() error
}

// SpoolSyncer is OSSyncer with syncfs on the file system of a spool's
// recvq and log directories. Its descriptor is opened before any file it
// is to make durable is written: syncfs reports the write-back errors of
// the file system since then, which a descriptor opened later would not.
type SpoolSyncer struct {
	OSSyncer
	dir *os.File
}

// OpenSpoolSyncer opens a SpoolSyncer on spool; an error when its recvq
// and log directories are on different file systems.
func OpenSpoolSyncer(spool string) (*SpoolSyncer, error) {
	recvq, err := os.Stat(filepath.Join(spool, "recvq"))
	if err != nil {
		return nil, fmt.Errorf("hylafax: %w", err)
	}
	log, err := os.Stat(filepath.Join(spool, "log"))
	if err != nil {
		return nil, fmt.Errorf("hylafax: %w", err)
	}
	if recvq.Sys().(*syscall.Stat_t).Dev != log.Sys().(*syscall.Stat_t).Dev {
		return nil, fmt.Errorf("hylafax: %s/recvq and %s/log are on different file systems", spool, spool)
	}
	d, err := os.Open(filepath.Join(spool, "recvq"))
	if err != nil {
		return nil, fmt.Errorf("hylafax: %w", err)
	}
	return &SpoolSyncer{dir: d}, nil
}

// SyncFS implements FileSystemSyncer.
func (s *SpoolSyncer) SyncFS() error {
	if err := ignoringEINTR(func() error { return syncFS(s.dir) }); err != nil {
		return &fs.PathError{Op: "syncfs", Path: s.dir.Name(), Err: err}
	}
	return nil
}

// Close closes the spool's descriptor.
func (s *SpoolSyncer) Close() error { return s.dir.Close() }

// commitWorkers bounds the fsyncs CommitRecvFiles runs at once: the
// file system merges concurrent fsyncs into one journal commit and the
// disk's cache flushes overlap, while each waiting fsync holds a thread.
const commitWorkers = 8

// CommitRecvFiles makes tagged files durable (s nil: OSSyncer) and
// releases their locks, many at once so that they share the file
// system's journal commits. First every file's data, new directories,
// size and mode: writeback is started for all, then each is fsynced;
// only then is each header switched to the new directories and
// fdatasynced. So a power loss at any moment leaves each file valid,
// with the old tags or the new. A file that Tag could not tag is made
// durable as it is. It returns one error (or nil) per file.
func CommitRecvFiles(s Syncer, files []*RecvFile) []error {
	if s == nil {
		s = OSSyncer{}
	}
	errs := make([]error, len(files))
	for _, rf := range files {
		if rf.f != nil {
			startWriteback(rf.f)
		}
	}
	each(len(files), func(i int) {
		rf := files[i]
		if rf.f == nil {
			errs[i] = ErrRecvFileDone
			return
		}
		if err := s.Sync(rf.f); err != nil {
			errs[i] = fmt.Errorf("hylafax: %w", err)
		}
	})
	switchHeaders(files, errs)
	dataSyncAndRelease(s, files, errs)
	return errs
}

// CommitRecvFilesFS does what CommitRecvFiles does with a syncfs for
// each of its two rounds, which also makes durable whatever else was
// written to the file system before it: first the data, tags and modes
// of all files, then their switched headers (without files, one
// syncfs). The locks are released after both. When a syncfs fails, it
// says so in fsErr and the files are made durable one by one as
// CommitRecvFiles does, errs telling which failed; the caller's other
// files are then its to fsync.
func CommitRecvFilesFS(s FileSystemSyncer, files []*RecvFile) (errs []error, fsErr error) {
	if len(files) == 0 {
		// Receptions without pages: only their removals to sync.
		return nil, s.SyncFS()
	}
	if fsErr = s.SyncFS(); fsErr != nil {
		return CommitRecvFiles(s, files), fsErr
	}
	errs = make([]error, len(files))
	for i, rf := range files {
		if rf.f == nil {
			errs[i] = ErrRecvFileDone
		}
	}
	switchHeaders(files, errs)
	if fsErr = s.SyncFS(); fsErr != nil {
		dataSyncAndRelease(s, files, errs)
		return errs, fsErr
	}
	for _, rf := range files {
		rf.Close()
	}
	return errs, nil
}

// switchHeaders writes the header that switches each file to its new
// tags, unless the file failed already (errs).
func switchHeaders(files []*RecvFile, errs []error) {
	for i, rf := range files {
		if rf.f == nil || rf.header == nil || errs[i] != nil {
			continue
		}
		if _, err := rf.f.WriteAt(rf.header, 0); err != nil {
			errs[i] = fmt.Errorf("hylafax: %s: %w", rf.Name, err)
			continue
		}
		rf.header = nil
	}
}

// dataSyncAndRelease fdatasyncs each file that has not failed (errs),
// and releases every file's lock once its turn is done.
func dataSyncAndRelease(s Syncer, files []*RecvFile, errs []error) {
	each(len(files), func(i int) {
		rf := files[i]
		if rf.f != nil && errs[i] == nil {
			if err := s.DataSync(rf.f); err != nil {
				errs[i] = fmt.Errorf("hylafax: %w", err)
			}
		}
		rf.Close()
	})
}

// each runs fn(0) … fn(n-1), commitWorkers at a time.
func each(n int, fn func(i int)) {
	if n == 1 {
		fn(0)
		return
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, commitWorkers) {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// SyncDir makes the entries of directory dir durable (s nil: OSSyncer):
// new and removed files.
func SyncDir(s Syncer, dir string) error {
	if s == nil {
		s = OSSyncer{}
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("hylafax: %w", err)
	}
	defer d.Close()
	if err := s.Sync(d); err != nil {
		return fmt.Errorf("hylafax: %w", err)
	}
	return nil
}

// ignoringEINTR retries fn while it fails with EINTR.
func ignoringEINTR(fn func() error) error {
	for {
		err := fn()
		if err != syscall.EINTR {
			return err
		}
	}
}

// Close releases the lock without finishing, e.g. when the daemon stops
// during a call; the file stays as it is. Closing twice is harmless.
func (rf *RecvFile) Close() error {
	if rf.f == nil {
		return nil
	}
	err := rf.f.Close() // releases the flock
	rf.f, rf.doc, rf.header = nil, nil, nil
	return err
}
