package esl

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
)

// readBufferSize is the bufio buffer of a Reader: a connection held for
// a long call keeps it. Longer lines are assembled from several reads,
// still bounded by MaxHeaderBytes, and bodies bigger than it are read
// straight into their own memory.
const readBufferSize = 2 << 10

// smallBody is the largest body allocated at once from Content-Length;
// bigger bodies grow as their bytes arrive, so a peer announcing 8 MiB
// and sending nothing costs nothing.
const smallBody = 64 << 10

// Reader reads frames from an event socket connection. Lines may end in
// LF or CRLF. After an error wrapping ErrMalformed, ErrHeaderTooLarge,
// ErrBodyTooLarge or an I/O error the Reader returns that error forever;
// after ErrUnknownContentType it remains usable.
type Reader struct {
	src io.Reader     // an *idleSource when the Reader can wait idle
	r   *bufio.Reader // nil while idle (see idle)
	off int64         // bytes consumed, for error messages
	err error         // sticky framing or I/O error
}

// NewReader returns a Reader reading from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{src: r, r: bufio.NewReaderSize(r, readBufferSize)}
}

// ReadMessage reads the next frame. It returns io.EOF only if the input
// ended cleanly between frames. A well-framed message whose Content-Type
// is missing or unknown is returned together with an error wrapping
// ErrUnknownContentType; the Reader stays synchronised.
func (r *Reader) ReadMessage() (*Message, error) {
	if r.err != nil {
		return nil, r.err
	}
	start := r.off
	h, err := r.readHeaders(true)
	if err != nil {
		return nil, r.fail(err)
	}
	m := &Message{Headers: h}
	if m.Body, err = r.readBody(h); err != nil {
		return nil, r.fail(err)
	}
	if ct := m.ContentType(); !knownType(ct) {
		return m, fmt.Errorf("%w %q in message at byte %d", ErrUnknownContentType, ct, start)
	}
	return m, nil
}

// Offset returns how many bytes of input the frames and commands read
// so far took up, blank lines before them included: after ReadMessage,
// the offset just past that frame. It locates frames in a capture.
func (r *Reader) Offset() int64 { return r.off }

// Command is what a client sends: a command line such as "api status"
// or "sendmsg <uuid>", optional headers (sendmsg) and an optional body.
type Command struct {
	Line    string
	Headers Headers
	Body    []byte
}

// ReadCommand reads the next command a client sent, as FreeSWITCH does:
// blank lines before a command are skipped, the command ends at the first
// blank line, and a Content-Length header announces a body. It is meant
// for fake FreeSWITCH peers in tests.
func (r *Reader) ReadCommand() (*Command, error) {
	if r.err != nil {
		return nil, r.err
	}
	budget := MaxHeaderBytes
	var line string
	for line == "" {
		l, err := r.readLine(&budget)
		if err != nil {
			return nil, r.fail(err)
		}
		line = l
	}
	h, err := r.readHeaderLines(&budget, false)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, r.fail(err)
	}
	c := &Command{Line: line, Headers: h}
	if c.Body, err = r.readBody(h); err != nil {
		return nil, r.fail(err)
	}
	return c, nil
}

func (r *Reader) fail(err error) error {
	if err == io.EOF {
		r.err = io.EOF
		return io.EOF
	}
	if err == io.ErrUnexpectedEOF {
		err = fmt.Errorf("esl: connection closed inside a message at byte %d: %w", r.off, err)
	}
	r.err = err
	return err
}

// readHeaders reads one header block. With skipBlank, blank lines before
// the block are skipped. io.EOF means the input ended before the first
// header; io.ErrUnexpectedEOF that it ended inside the block.
func (r *Reader) readHeaders(skipBlank bool) (Headers, error) {
	budget := MaxHeaderBytes
	return r.readHeaderLines(&budget, skipBlank)
}

func (r *Reader) readHeaderLines(budget *int, skipBlank bool) (Headers, error) {
	h := make(Headers, 0, 4) // a frame's envelope has two or three
	for {
		line, err := r.readLine(budget)
		if err == io.EOF && len(h) > 0 {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, err
		}
		if line == "" {
			if len(h) == 0 && skipBlank {
				continue
			}
			if len(h) == 0 {
				return nil, nil
			}
			return h, nil
		}
		if len(h) >= MaxHeaders {
			return nil, fmt.Errorf("%w: more than %d headers at byte %d", ErrHeaderTooLarge, MaxHeaders, r.off)
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" {
			return nil, fmt.Errorf("%w: header line without name at byte %d: %.40q", ErrMalformed, r.off, line)
		}
		value = strings.TrimPrefix(value, " ")
		h = append(h, Header{Name: name, Value: value})
	}
}

// rawBlockSize is the room readRawBlock makes at once: the connect
// reply's channel data is 6 KB in the captures.
const rawBlockSize = 8 << 10

// blockPool holds readRawBlock's working buffers.
var blockPool = sync.Pool{New: func() any { b := make([]byte, 0, rawBlockSize); return &b }}

// readRawBlock reads one header block as readHeaders does (blank lines
// before it skipped, the same bounds) and returns its lines as received,
// each ending in LF, without the blank line that ends it. It checks
// nothing but the bounds.
func (r *Reader) readRawBlock() ([]byte, error) {
	budget := MaxHeaderBytes
	bp := blockPool.Get().(*[]byte)
	blk := (*bp)[:0]
	defer func() {
		if cap(blk) <= 4*rawBlockSize {
			*bp = blk[:0]
			blockPool.Put(bp)
		}
	}()
	lines := 0
	for {
		start := len(blk)
		for {
			frag, err := r.buf().ReadSlice('\n')
			if len(frag) > budget {
				return nil, fmt.Errorf("%w: more than %d bytes at byte %d", ErrHeaderTooLarge, MaxHeaderBytes, r.off)
			}
			budget -= len(frag)
			r.off += int64(len(frag))
			blk = append(blk, frag...)
			if err == bufio.ErrBufferFull {
				continue
			}
			if err == io.EOF && len(blk) == 0 {
				return nil, io.EOF
			}
			if err == io.EOF {
				return nil, io.ErrUnexpectedEOF
			}
			if err != nil {
				return nil, err
			}
			break
		}
		line := bytes.TrimSuffix(blk[start:len(blk)-1], []byte{'\r'})
		if len(line) == 0 {
			blk = blk[:start]
			if lines == 0 {
				continue // blank lines before the block
			}
			// Kept as long as the call: no more than it needs.
			return bytes.Clone(blk), nil
		}
		if lines++; lines > MaxHeaders {
			return nil, fmt.Errorf("%w: more than %d headers at byte %d", ErrHeaderTooLarge, MaxHeaders, r.off)
		}
	}
}

// readLine reads one line without its LF or CRLF, charging its bytes to
// budget. It returns io.EOF if the input ended before the line's first
// byte and io.ErrUnexpectedEOF if it ended inside the line.
func (r *Reader) readLine(budget *int) (string, error) {
	var long []byte
	for {
		frag, err := r.buf().ReadSlice('\n')
		if len(frag) > *budget {
			return "", fmt.Errorf("%w: more than %d bytes at byte %d", ErrHeaderTooLarge, MaxHeaderBytes, r.off)
		}
		*budget -= len(frag)
		r.off += int64(len(frag))
		switch {
		case err == bufio.ErrBufferFull:
			long = append(long, frag...)
			continue
		case err == io.EOF && long == nil && len(frag) == 0:
			return "", io.EOF
		case err == io.EOF:
			return "", io.ErrUnexpectedEOF
		case err != nil:
			return "", err
		}
		if long != nil {
			frag = append(long, frag...)
		}
		frag = frag[:len(frag)-1]
		frag = bytes.TrimSuffix(frag, []byte{'\r'})
		return string(frag), nil
	}
}

// readBody reads the body announced by the Content-Length header of h,
// if any.
func (r *Reader) readBody(h Headers) ([]byte, error) {
	cl, ok := h.Lookup("Content-Length")
	if !ok {
		return nil, nil
	}
	n, err := parseLength(cl)
	if err != nil {
		return nil, fmt.Errorf("%w at byte %d", err, r.off)
	}
	if n == 0 {
		return nil, nil
	}
	if n <= smallBody {
		b := newBody(n)
		k, err := io.ReadFull(r.buf(), b)
		r.off += int64(k)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return b, err
	}
	var buf bytes.Buffer
	k, err := io.CopyN(&buf, r.buf(), int64(n))
	r.off += k
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return buf.Bytes(), err
}

// Bodies of up to smallBody bytes come from pools of a few sizes, so
// that an event given back (Event.Release) is read into again: a
// reception reads 120 KB of events.
var bodyClasses = [...]int{2 << 10, 8 << 10, 16 << 10, smallBody}

var bodyPools [len(bodyClasses)]sync.Pool

// newBody returns n bytes, from a pool when one fits.
func newBody(n int) []byte {
	for i, c := range bodyClasses {
		if n <= c {
			if p, ok := bodyPools[i].Get().(*[]byte); ok {
				return (*p)[:n]
			}
			return make([]byte, n, c)
		}
	}
	return make([]byte, n)
}

// freeBody gives b back to its pool; it must not be used afterwards.
func freeBody(b []byte) {
	for i, c := range bodyClasses {
		if cap(b) == c {
			b = b[:0]
			bodyPools[i].Put(&b)
			return
		}
	}
}

// parseLength parses a Content-Length value: decimal digits only, at
// most MaxBodyBytes.
func parseLength(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 10 {
		if len(s) > 10 && strings.Trim(s, "0123456789") == "" {
			return 0, fmt.Errorf("%w: Content-Length %.20s... exceeds %d", ErrBodyTooLarge, s, MaxBodyBytes)
		}
		return 0, fmt.Errorf("%w: bad Content-Length %.20q", ErrMalformed, s)
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: bad Content-Length %q", ErrMalformed, s)
		}
		n = n*10 + int(c-'0')
	}
	if n > MaxBodyBytes {
		return 0, fmt.Errorf("%w: Content-Length %d exceeds %d", ErrBodyTooLarge, n, MaxBodyBytes)
	}
	return n, nil
}
