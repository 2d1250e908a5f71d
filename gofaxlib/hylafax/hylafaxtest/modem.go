package hylafaxtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// DefaultCaps are the capabilities /usr/lib/hylafax/bin/faxmodem announces
// by default: can poll, fine resolution, up to 14400 bit/s, A4..A3 widths,
// A4/B4/unlimited lengths, 1-D MH.
const DefaultCaps = "Pc87fcf01"

// maxFIFORecord bounds one message read from FIFO.<modem>; faxq's messages
// to a getty are a few bytes ("HELLO", "L", "Q").
const maxFIFORecord = 4096

// ModemOptions describe a modem added with AddModem.
type ModemOptions struct {
	// Number is FAXNumber in etc/config.<name> (default "+1.555.000.0000").
	Number string
	// Caps is announced after "R" (e.g. DefaultCaps). Empty announces a
	// bare "+name:R": a modem never given capabilities accepts every job.
	Caps string
	// Status is the text of status/<name> (default "Running and idle").
	Status string
	// Getty runs a fake faxgetty on FIFO.<name>: it records what faxq
	// writes there (GettyMessages) and answers faxq's start-up HELLO with
	// "+name:N<number>" and "+name:R<caps>".
	Getty bool
}

type modem struct {
	name string
	opts ModemOptions

	fifo *os.File // read side, held by the fake getty
	done chan struct{}
	mu   sync.Mutex
	msgs []string
}

// AddModem creates the files that make faxstat list modem name and make
// faxq find it at start-up: etc/config.<name>, status/<name> and the FIFO
// special file FIFO.<name>. It does not announce the modem (see Announce)
// unless a fake getty answers a HELLO. Use ModemName for name. It fails the
// test on error, so call it from the test goroutine.
func (s *Server) AddModem(name string, opts ModemOptions) {
	s.t.Helper()
	if err := s.addModem(name, opts); err != nil {
		s.t.Fatalf("hylafaxtest: adding modem %s: %v", name, err)
	}
}

func (s *Server) addModem(name string, opts ModemOptions) error {
	if name == "" || strings.ContainsAny(name, ":/\x00\n") {
		return errors.New("bad device id")
	}
	if opts.Number == "" {
		opts.Number = defaultPhone
	}
	if opts.Status == "" {
		opts.Status = "Running and idle"
	}
	conf := fmt.Sprintf("FAXNumber:\t%s\nLocalIdentifier:\t\"hylafaxtest %s\"\n", opts.Number, name)
	if err := s.writeUUCP(filepath.Join(s.Spool, "etc", "config."+name), []byte(conf), 0o644); err != nil {
		return err
	}
	if err := s.writeUUCP(filepath.Join(s.Spool, "status", name), []byte(opts.Status+"\n"), 0o644); err != nil {
		return err
	}
	fifo := filepath.Join(s.Spool, "FIFO."+name)
	os.Remove(fifo)
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		return fmt.Errorf("mkfifo %s: %w", fifo, err)
	}
	if err := os.Chown(fifo, s.uid, s.gid); err != nil {
		return err
	}
	os.Remove(filepath.Join(uucpLockDir, "LCK.."+name)) // stale, from a killed run
	m := &modem{name: name, opts: opts}
	if opts.Getty {
		// O_RDWR: the getty never sees EOF when a writer closes.
		f, err := os.OpenFile(fifo, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		m.fifo, m.done = f, make(chan struct{})
		go m.getty(s)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.modems[name]; old != nil {
		defer old.stopGetty()
	}
	s.modems[name] = m
	return nil
}

// getty reads NUL-terminated records from FIFO.<name> until stopGetty
// closes it, and answers HELLO like faxgetty does.
func (m *modem) getty(s *Server) {
	defer close(m.done)
	sc := bufio.NewScanner(m.fifo)
	sc.Buffer(make([]byte, 256), maxFIFORecord)
	sc.Split(splitNUL)
	for sc.Scan() {
		msg := strings.TrimSuffix(sc.Text(), "\n")
		m.mu.Lock()
		m.msgs = append(m.msgs, msg)
		m.mu.Unlock()
		if msg == "HELLO" {
			// Errors surface as a modem that stays DOWN; the test sees that.
			s.WriteFIFO("+"+m.name+":N"+m.opts.Number, "+"+m.name+":R"+m.opts.Caps)
		}
	}
}

func (m *modem) stopGetty() {
	if m.fifo == nil {
		return
	}
	m.fifo.Close()
	<-m.done
	m.fifo = nil
}

func splitNUL(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// GettyMessages returns what faxq wrote to FIFO.<name> so far ("HELLO",
// "L", ...), as recorded by the modem's fake getty.
func (s *Server) GettyMessages(name string) []string {
	s.mu.Lock()
	m := s.modems[name]
	s.mu.Unlock()
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.msgs...)
}

// WriteFIFO sends records to faxq through $SPOOL/FIFO, each terminated by
// a NUL as faxgetty does. It fails when faxq is not reading the FIFO.
func (s *Server) WriteFIFO(records ...string) error {
	var b []byte
	for _, r := range records {
		if strings.ContainsRune(r, 0) {
			return fmt.Errorf("hylafaxtest: FIFO record %q contains NUL", r)
		}
		b = append(append(b, r...), 0)
	}
	f, err := os.OpenFile(filepath.Join(s.Spool, "FIFO"), os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return fmt.Errorf("hylafaxtest: faxq not reading its FIFO: %w", err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		return fmt.Errorf("hylafaxtest: writing FIFO: %w", err)
	}
	return nil
}

// Announce tells faxq that modem name is ready ("+name:R<caps>"), with the
// capabilities given to AddModem (none for a modem not added).
func (s *Server) Announce(name string) error {
	s.mu.Lock()
	var caps string
	if m := s.modems[name]; m != nil {
		caps = m.opts.Caps
	}
	s.mu.Unlock()
	return s.WriteFIFO("+" + name + ":R" + caps)
}

// SetStatus rewrites status/<name>, the text faxstat shows for the modem.
func (s *Server) SetStatus(name, text string) error {
	return s.writeUUCP(filepath.Join(s.Spool, "status", name), []byte(text+"\n"), 0o644)
}
