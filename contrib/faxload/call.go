package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

// maxCommandBytes bounds one command read from gofaxd: its commands are a
// line and a few headers.
const maxCommandBytes = 16 << 10

// callOptions are the timing of one replayed call.
type callOptions struct {
	addr string
	// hold, if not nil, is waited for before the first page: the call is
	// held open (answered, rxfax running) until it is closed.
	hold <-chan struct{}
	// pageTime is waited before each page's event.
	pageTime time.Duration
	// ioTimeout bounds each read and write (not the holds and pages).
	ioTimeout time.Duration
	// tiff is what "spandsp" writes into the file rxfax names.
	tiff []byte
	// setupDone, if set, is called when rxfax was seen (or the call
	// failed before).
	setupDone func()
}

// callStat is what one call measured.
type callStat struct {
	err                 error
	start               time.Time // before the TCP connect
	setup               time.Time // "execute rxfax" read
	result              time.Time // the rxfaxresult frame written
	closed              time.Time // gofaxd closed the connection
	setupOK, teardownOK bool
}

// framePool holds write buffers: a chunk of frames is at most the 76 KB
// FreeSWITCH sends after rxfax.
var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 128<<10); return &b }}

// newUUID returns a random version 4 UUID, 36 bytes like FreeSWITCH's.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// call replays the script as FreeSWITCH's side of one outbound-socket
// connection to gofaxd: it reads each command gofaxd sends, checks it is
// the captured one, and answers with what FreeSWITCH answered, under a
// fresh call UUID. It writes the received TIFF into rxfax's file before
// spandsp's result, and ends like FreeSWITCH after "exit": it closes its
// side and waits until gofaxd closes the connection.
func (s *script) call(ctx context.Context, o callOptions) (st callStat) {
	setupReported := false
	reportSetup := func() {
		if !setupReported && o.setupDone != nil {
			setupReported = true
			o.setupDone()
		}
	}
	defer reportSetup()
	uuid := newUUID()
	st.start = time.Now()
	d := net.Dialer{Timeout: o.ioTimeout}
	nc, err := d.DialContext(ctx, "tcp", o.addr)
	if err != nil {
		st.err = fmt.Errorf("connect: %w", err)
		return st
	}
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	br := bufio.NewReaderSize(nc, 2048)
	bp := framePool.Get().(*[]byte)
	defer framePool.Put(bp)
	write := func(b []byte) error {
		nc.SetWriteDeadline(time.Now().Add(o.ioTimeout))
		_, err := nc.Write(b)
		return err
	}
	held := o.hold == nil
	var path string
	for i := range s.steps {
		stp := &s.steps[i]
		nc.SetReadDeadline(time.Now().Add(o.ioTimeout))
		line, hs, err := readCommand(br)
		if err != nil {
			st.err = fmt.Errorf("command %d (%s): %w", i+1, stp.want, err)
			return st
		}
		got, arg := normCommand(line, hs, uuid)
		if got != stp.want {
			st.err = fmt.Errorf("command %d: gofaxd sent %q, the capture has %q", i+1, got, stp.want)
			return st
		}
		if stp.rxfax {
			st.setup, st.setupOK, path = time.Now(), true, arg
			reportSetup()
		}
		buf := (*bp)[:0]
		for j := range stp.frames {
			f := &stp.frames[j]
			pause := f.kind == framePage && (!held || o.pageTime > 0) || f.kind == frameResult
			if pause && len(buf) > 0 {
				if err := write(buf); err != nil {
					st.err = fmt.Errorf("after command %d: %w", i+1, err)
					return st
				}
				buf = buf[:0]
			}
			if f.kind == framePage && !held {
				select {
				case <-o.hold:
				case <-ctx.Done():
					st.err = ctx.Err()
					return st
				}
				held = true
			}
			if f.kind == framePage && o.pageTime > 0 {
				t := time.NewTimer(o.pageTime)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					st.err = ctx.Err()
					return st
				}
			}
			if f.kind == frameResult {
				if err := writeFax(path, o.tiff); err != nil {
					st.err = err
					return st
				}
				if err := write(appendFrame(buf, f, uuid)); err != nil {
					st.err = fmt.Errorf("rxfaxresult: %w", err)
					return st
				}
				st.result = time.Now()
				continue
			}
			buf = appendFrame(buf, f, uuid)
		}
		if len(buf) > 0 {
			if err := write(buf); err != nil {
				st.err = fmt.Errorf("after command %d: %w", i+1, err)
				return st
			}
		}
		*bp = buf[:0]
	}
	// FreeSWITCH closes after "exit"; wait for gofaxd to close its end.
	nc.(*net.TCPConn).CloseWrite()
	nc.SetReadDeadline(time.Now().Add(o.ioTimeout))
	if _, err := io.Copy(io.Discard, br); err != nil {
		st.err = fmt.Errorf("waiting for gofaxd to close: %w", err)
		return st
	}
	st.closed = time.Now()
	st.teardownOK = !st.result.IsZero()
	return st
}

// writeFax writes the received TIFF into the file rxfax was given, as
// spandsp does: gofaxd created it, so it must exist.
func writeFax(path string, tiff []byte) error {
	if path == "" {
		return errors.New("rxfax without a file")
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("rxfax file: %w", err)
	}
	_, err = f.Write(tiff)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("rxfax file: %w", err)
	}
	return nil
}

// readCommand reads one command: its line, then header lines up to a
// blank line. gofaxd's commands carry no body.
func readCommand(br *bufio.Reader) (string, esl.Headers, error) {
	var line string
	var hs esl.Headers
	total := 0
	for {
		l, err := br.ReadString('\n')
		total += len(l)
		if err != nil {
			if err == io.EOF && total > 0 {
				err = io.ErrUnexpectedEOF
			}
			return "", nil, err
		}
		if total > maxCommandBytes {
			return "", nil, errors.New("command too long")
		}
		l = strings.TrimRight(l, "\r\n")
		switch {
		case l == "" && line == "":
			continue // blank lines between commands
		case l == "":
			return line, hs, nil
		case line == "":
			line = l
		default:
			name, value, _ := strings.Cut(l, ":")
			hs = append(hs, esl.Header{Name: name, Value: strings.TrimPrefix(value, " ")})
		}
	}
}
