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
	"time"
)

const (
	// DefaultLogFileMode is HylaFAX's default LogFileMode.
	DefaultLogFileMode os.FileMode = 0o600
	// sessionStamp is HylaFAX's strftime "%h %d %T" in Go notation; the
	// hundredths and the pid follow (".%02u: [%5d]: ").
	sessionStamp = "Jan 02 15:04:05"
	// sessionTries bounds how many commids NewSession takes when log files
	// of that name already exist (a reset or wrapped log/seqf).
	sessionTries = 10
)

// SessionOptions are the optional settings of NewSession.
type SessionOptions struct {
	Mode os.FileMode      // file mode, DefaultLogFileMode when 0; applied regardless of the umask
	PID  int              // pid shown on every line, os.Getpid() when 0
	Now  func() time.Time // clock, time.Now when nil
	// CommID takes the session's number (e.g. a Sequence's Next on
	// log/seqf); nil takes it from log/seqf with NextSeq.
	CommID func(context.Context) (int, error)
	// FlushInterval, when positive, keeps the lines in memory instead of
	// holding the file open: they are written when FlushInterval has
	// passed since the last write, and by Flush, Detach and Close, each
	// time opening the file for one write. A daemon holding thousands of
	// calls at once holds no descriptor for their logs this way. Zero
	// writes every line at once through a descriptor held until Close.
	FlushInterval time.Duration
}

// SessionLog is the transcript of one call, log/c<commid>, in the format
// of HylaFAX's FaxMachineLog. It is safe for concurrent use.
type SessionLog struct {
	commid string
	path   string
	pid    int
	now    func() time.Time

	mu  sync.Mutex
	f   *os.File
	err error // first write error

	// Deferred mode (FlushInterval > 0): the file is opened for each
	// write; open is false after Detach and Close.
	every   time.Duration
	open    bool
	pending []byte
	flushed time.Time // last write
	stamp   time.Time // time of the last line
}

// NewSession takes a commid from log/seqf of spool, creates log/c<commid>
// exclusively and writes "SESSION BEGIN <commid> <number>", where number is
// reduced to its digits as HylaFAX does; HylaFAX logs its version next. If
// a log of that commid already exists, the next commid is taken.
func NewSession(ctx context.Context, spool, number string, opt SessionOptions) (*SessionLog, error) {
	mode := opt.Mode
	if mode == 0 {
		mode = DefaultLogFileMode
	}
	s := &SessionLog{pid: opt.PID, now: opt.Now, every: opt.FlushInterval}
	if s.pid == 0 {
		s.pid = os.Getpid()
	}
	if s.now == nil {
		s.now = time.Now
	}
	next := opt.CommID
	if next == nil {
		next = func(ctx context.Context) (int, error) { return NextSeq(ctx, filepath.Join(spool, LogSeqFile)) }
	}
	for range sessionTries {
		n, err := next(ctx)
		if err != nil {
			return nil, err
		}
		commid := CommID(n)
		path := filepath.Join(spool, SessionLogName(commid))
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, mode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("hylafax: create session log: %w", err)
		}
		if err := f.Chmod(mode); err != nil {
			f.Close()
			return nil, fmt.Errorf("hylafax: session log mode: %w", err)
		}
		s.commid, s.path, s.f = commid, path, f
		s.Printf("SESSION BEGIN %s %s", commid, digits(number))
		if s.every > 0 {
			// From now on the file is opened for each write.
			if err := f.Close(); err != nil {
				return nil, fmt.Errorf("hylafax: session log: %w", err)
			}
			s.f, s.open, s.flushed = nil, true, s.stamp
		}
		return s, nil
	}
	return nil, fmt.Errorf("hylafax: %d session logs in a row already exist; check %s", sessionTries, LogSeqFile)
}

// ReopenSession opens the session log of commid again to add to it, e.g.
// to finish the record of a call that an earlier run of the daemon could
// not finish. A missing log is created. The lines follow what is there;
// Close ends the session with "SESSION END".
func ReopenSession(spool, commid string, opt SessionOptions) (*SessionLog, error) {
	if len(commid) != 9 || digits(commid) != commid {
		return nil, fmt.Errorf("hylafax: %q is not a commid", commid)
	}
	mode := opt.Mode
	if mode == 0 {
		mode = DefaultLogFileMode
	}
	s := &SessionLog{commid: commid, pid: opt.PID, now: opt.Now}
	if s.pid == 0 {
		s.pid = os.Getpid()
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.path = filepath.Join(spool, SessionLogName(commid))
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND|syscall.O_NOFOLLOW, mode)
	if err != nil {
		return nil, fmt.Errorf("hylafax: reopen session log: %w", err)
	}
	s.f = f
	return s, nil
}

// digits returns the decimal digits of s.
func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// CommID returns the session's commid (9 digits).
func (s *SessionLog) CommID() string { return s.commid }

// Path returns the file name of the session log.
func (s *SessionLog) Path() string { return s.path }

// Printf writes one line. Each line of a multi-line text gets its own
// time stamp, so the file stays in HylaFAX's line format. Write errors are
// kept and returned by Close; after Close, Printf does nothing.
func (s *SessionLog) Printf(format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil && !s.open {
		return
	}
	s.write(text)
}

// write appends text with a time stamp; s.mu is held.
func (s *SessionLog) write(text string) {
	t := s.now()
	s.stamp = t
	var b []byte
	if s.f == nil {
		b = s.pending
	}
	stamp := t.AppendFormat(nil, sessionStamp)
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r", ""), "\n") {
		b = fmt.Appendf(b, "%s.%02d: [%5d]: %s\n", stamp, t.Nanosecond()/10_000_000, s.pid, line)
	}
	if s.f == nil {
		s.pending = b
		if t.Sub(s.flushed) >= s.every {
			s.flushLocked(t)
		}
		return
	}
	if _, err := s.f.Write(b); err != nil && s.err == nil {
		s.err = fmt.Errorf("hylafax: write session log: %w", err)
	}
}

// Flush writes the lines kept in memory (FlushInterval > 0).
func (s *SessionLog) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open {
		s.flushLocked(s.stamp)
	}
	return s.err
}

// flushLocked appends the pending lines to the file at time now; s.mu is
// held.
func (s *SessionLog) flushLocked(now time.Time) {
	s.flushed = now
	if len(s.pending) == 0 {
		return
	}
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|syscall.O_NOFOLLOW, 0)
	if err == nil {
		_, err = f.Write(s.pending)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	s.pending = s.pending[:0]
	if err != nil && s.err == nil {
		s.err = fmt.Errorf("hylafax: write session log: %w", err)
	}
}

// Detach closes the file without "SESSION END": the session goes on in
// a SessionLog that ReopenSession opens later. Printf does nothing after
// it.
func (s *SessionLog) Detach() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open {
		s.flushLocked(s.stamp)
		s.open = false
		return s.err
	}
	if s.f == nil {
		return s.err
	}
	if err := s.f.Close(); err != nil && s.err == nil {
		s.err = fmt.Errorf("hylafax: close session log: %w", err)
	}
	s.f = nil
	return s.err
}

// Close writes "SESSION END" and closes the file. It returns the first
// write error, if any; closing twice is harmless.
func (s *SessionLog) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open {
		s.write("SESSION END")
		s.flushLocked(s.stamp)
		s.open = false
		return s.err
	}
	if s.f == nil {
		return s.err
	}
	s.write("SESSION END")
	if err := s.f.Close(); err != nil && s.err == nil {
		s.err = fmt.Errorf("hylafax: close session log: %w", err)
	}
	s.f = nil
	return s.err
}
