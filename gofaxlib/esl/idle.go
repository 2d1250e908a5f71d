package esl

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
)

// A connection held for a long call spends nearly all its time waiting
// for the next frame. While it waits its Reader keeps no buffer and its
// read loop a small stack: the wait for data happens in the poller (a
// RawConn read), the first bytes go into a pooled chunk, and the Reader
// takes a bufio.Reader from a pool once they are in. 10,000 held calls
// so keep neither 10,000 read buffers nor 10,000 deep stacks.

// readerPool holds the bufio.Readers of idle Readers.
var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}

// chunkPool holds the chunks an idle wait reads into.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, readBufferSize); return &b }}

// idleSource is what a Reader reads from when its connection can wait
// without a buffer: the connection, and the bytes (or error) its last
// wait read.
type idleSource struct {
	nc   net.Conn
	rc   syscall.RawConn
	try  func(fd uintptr) bool // tryRead, bound once
	last *[]byte               // the chunk tryRead last read into
	data []byte                // what of it is still to be read
	err  error                 // what the wait ended with instead of data
}

// newIdleSource returns an idleSource for nc, or nil when nc cannot wait
// outside a read (not a socket of this process's poller).
func newIdleSource(nc net.Conn) *idleSource {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	s := &idleSource{nc: nc, rc: rc}
	s.try = s.tryRead
	return s
}

// Read gives what the last wait read, then reads the connection.
func (s *idleSource) Read(p []byte) (int, error) {
	if len(s.data) > 0 {
		n := copy(p, s.data)
		s.data = s.data[n:]
		if len(s.data) == 0 {
			chunkPool.Put(s.last)
			s.last, s.data = nil, nil
		}
		return n, nil
	}
	if err := s.err; err != nil {
		s.err = nil
		return 0, err
	}
	return s.nc.Read(p)
}

// wait returns once the connection has data, has ended or failed, or a
// read deadline passed; the next Read returns which.
func (s *idleSource) wait() {
	err := s.rc.Read(s.try)
	if err == nil || s.err != nil || len(s.data) > 0 {
		return
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		err = oe.Err // RawConn's "raw-read"
	}
	s.err = s.opError(err)
}

// tryRead reads what the socket has into a chunk; false (wait) when it
// has nothing yet.
func (s *idleSource) tryRead(fd uintptr) bool {
	b := chunkPool.Get().(*[]byte)
	for {
		n, err := syscall.Read(int(fd), *b)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			chunkPool.Put(b)
			return false
		case err != nil:
			s.err = s.opError(os.NewSyscallError("read", err))
		case n == 0:
			s.err = io.EOF
		default:
			s.last, s.data = b, (*b)[:n]
			return true
		}
		chunkPool.Put(b)
		return true
	}
}

// opError wraps err as net.Conn's Read does.
func (s *idleSource) opError(err error) error {
	return &net.OpError{Op: "read", Net: s.nc.LocalAddr().Network(), Source: s.nc.LocalAddr(), Addr: s.nc.RemoteAddr(), Err: err}
}

// idle gives the Reader's buffer back when nothing is buffered and waits
// for the next bytes (see idleSource). A Reader reading from anything
// else just returns.
func (r *Reader) idle() {
	s, ok := r.src.(*idleSource)
	if !ok || r.r == nil || r.r.Buffered() > 0 || r.err != nil {
		return
	}
	r.r.Reset(nil)
	readerPool.Put(r.r)
	r.r = nil
	s.wait()
}

// newConnReader returns a Reader of nc that waits idle without a buffer
// when nc allows it.
func newConnReader(nc net.Conn) *Reader {
	if s := newIdleSource(nc); s != nil {
		return NewReader(s)
	}
	return NewReader(nc)
}

// buf returns the Reader's bufio.Reader, from the pool after idle.
func (r *Reader) buf() *bufio.Reader {
	if r.r == nil {
		r.r = readerPool.Get().(*bufio.Reader)
		r.r.Reset(r.src)
	}
	return r.r
}
