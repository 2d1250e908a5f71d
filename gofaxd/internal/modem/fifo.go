package modem

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"syscall"
)

// maxFIFORead bounds one read from FIFO.<modem>. faxq's and gofaxsend's
// records are a few bytes and each is written atomically (≤ PIPE_BUF =
// 4096 bytes on Linux), so one read never needs more.
const maxFIFORead = 4096

// Records splits one read from a HylaFAX FIFO into its records: each is
// terminated by NUL (a last one may lack it), a trailing newline is
// dropped (so `echo HELLO > FIFO.x` works, as with faxgetty), and empty
// records are skipped.
func Records(b []byte) []string {
	var out []string
	for len(b) > 0 {
		rec := b
		if i := bytes.IndexByte(b, 0); i >= 0 {
			rec, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		rec = bytes.TrimSuffix(rec, []byte("\n"))
		rec = bytes.TrimSuffix(rec, []byte("\r"))
		if len(rec) > 0 {
			out = append(out, string(rec))
		}
	}
	return out
}

// openFIFO creates the FIFO (mode 0600) when missing and opens it for
// reading. It is opened read-write so that it never reports end of file
// when a writer goes away, and non-blocking so that Close interrupts a
// pending Read.
func openFIFO(path string) (*os.File, error) {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := syscall.Mkfifo(path, 0o600); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("modem: create %s: %w", path, err)
		}
	case err != nil:
		return nil, fmt.Errorf("modem: %w", err)
	case fi.Mode()&fs.ModeNamedPipe == 0:
		return nil, fmt.Errorf("modem: %s exists and is not a FIFO", path)
	}
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("modem: %w", err)
	}
	return f, nil
}

// readFIFO applies the commands written to one modem's FIFO until the
// FIFO is closed.
func (p *Pool) readFIFO(m *modem, f *os.File) {
	defer p.readers.Done()
	buf := make([]byte, maxFIFORead)
	for {
		n, err := f.Read(buf)
		for _, rec := range Records(buf[:n]) {
			p.command(m, rec)
		}
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				p.log.Error("modem FIFO read failed", "modem", m.name, "err", err)
			}
			return
		}
	}
}

// Sender delivers one record to faxq. It must not block: when faxq is not
// reading it returns an error at once.
type Sender interface {
	Send(record string) error
}

// ErrNoReader means nobody reads faxq's FIFO (faxq is not running) or it
// is full (faxq is stuck).
var ErrNoReader = errors.New("modem: faxq is not reading its FIFO")

// FIFOSender writes NUL-terminated records to faxq's FIFO (the spool's
// FIFO file). The file is opened non-blocking, kept open while writes
// succeed and reopened after a failure, so a faxq restart is noticed.
type FIFOSender struct {
	Path string

	mu sync.Mutex
	fd int // 0 when closed; descriptor 0 is never ours
}

// Send writes record and a NUL in one write, which the kernel keeps
// atomic because records are shorter than PIPE_BUF.
func (s *FIFOSender) Send(record string) error {
	if len(record) >= maxFIFORead {
		return fmt.Errorf("modem: FIFO record too long (%d bytes)", len(record))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd <= 0 {
		fd, err := syscall.Open(s.Path, syscall.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
		if err != nil {
			if errors.Is(err, syscall.ENXIO) || errors.Is(err, syscall.ENOENT) {
				return fmt.Errorf("%w: %s: %v", ErrNoReader, s.Path, err)
			}
			return fmt.Errorf("modem: open %s: %w", s.Path, err)
		}
		s.fd = fd
	}
	_, err := syscall.Write(s.fd, append([]byte(record), 0))
	if err != nil {
		syscall.Close(s.fd)
		s.fd = 0
		if errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.EAGAIN) {
			return fmt.Errorf("%w: %s: %v", ErrNoReader, s.Path, err)
		}
		return fmt.Errorf("modem: write %s: %w", s.Path, err)
	}
	return nil
}

// Close closes the FIFO if it is open.
func (s *FIFOSender) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd > 0 {
		syscall.Close(s.fd)
		s.fd = 0
	}
	return nil
}
