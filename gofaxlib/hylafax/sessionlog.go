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
	s := &SessionLog{pid: opt.PID, now: opt.Now}
	if s.pid == 0 {
		s.pid = os.Getpid()
	}
	if s.now == nil {
		s.now = time.Now
	}
	for range sessionTries {
		commid, err := NextCommID(ctx, spool)
		if err != nil {
			return nil, err
		}
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
	if s.f == nil {
		return
	}
	s.write(text)
}

// write appends text with a time stamp; s.mu is held.
func (s *SessionLog) write(text string) {
	t := s.now()
	prefix := fmt.Sprintf("%s.%02d: [%5d]: ", t.Format(sessionStamp), t.Nanosecond()/10_000_000, s.pid)
	var b strings.Builder
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r", ""), "\n") {
		b.WriteString(prefix)
		b.WriteString(line)
		b.WriteByte('\n')
	}
	if _, err := s.f.WriteString(b.String()); err != nil && s.err == nil {
		s.err = fmt.Errorf("hylafax: write session log: %w", err)
	}
}

// Detach closes the file without "SESSION END": the session goes on in
// a SessionLog that ReopenSession opens later. Printf does nothing after
// it.
func (s *SessionLog) Detach() error {
	s.mu.Lock()
	defer s.mu.Unlock()
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
