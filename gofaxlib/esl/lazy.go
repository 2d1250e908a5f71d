package esl

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"unsafe"
)

// rawLine locates one header line of a lazy event in its raw text: the
// name is raw[start:colon], the value follows the colon up to the end of
// the line.
type rawLine struct {
	start, colon uint32
}

// lazyLines is the room parsePlainLazy makes for header lines at once: a
// FreeSWITCH channel event has 130 to 260.
const lazyLines = 192

// linesPool keeps the line tables of released lazy events: a call reads
// a dozen events, each table 1.5 KiB.
var linesPool = sync.Pool{New: func() any { l := make([]rawLine, 0, lazyLines); return &l }}

// freeLines gives the line table of a released event back.
func freeLines(l []rawLine) {
	if cap(l) < lazyLines || cap(l) > MaxHeaders {
		return
	}
	l = l[:0]
	linesPool.Put(&l)
}

// parsePlainLazy checks the body of a text/event-plain message exactly as
// ParsePlainEvent does, in one pass without allocating per header, and
// returns a lazy Event: its header lines are kept as received, and a
// value is found and decoded when asked for. The event keeps b: its
// header lines and its body are b's bytes, not copies, so b must not
// change afterwards (a Conn hands each message's body to it and drops
// the message).
func parsePlainLazy(b []byte) (*Event, error) {
	cl := -1
	lines := (*linesPool.Get().(*[]rawLine))[:0]
	end := len(b) // end of the header lines
	rest := b[len(b):]
	for pos := 0; ; {
		if pos >= len(b) {
			if len(lines) == 0 {
				return nil, fmt.Errorf("%w: empty event", ErrMalformed)
			}
			break // tolerate a missing final blank line
		}
		next := len(b)
		line := b[pos:]
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line, next = line[:i], pos+i+1
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			end, rest = pos, b[next:]
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return nil, fmt.Errorf("%w: event header line %.40q", ErrMalformed, line)
		}
		if string(line[:colon]) == "Content-Length" {
			n, err := parseLength(URLDecode(string(bytes.TrimPrefix(line[colon+1:], []byte{' '}))))
			if err != nil {
				return nil, err
			}
			cl = n
		} else {
			if len(lines) >= MaxHeaders {
				return nil, fmt.Errorf("%w: more than %d event headers", ErrHeaderTooLarge, MaxHeaders)
			}
			lines = append(lines, rawLine{start: uint32(pos), colon: uint32(pos + colon)})
		}
		pos = next
	}
	if cl < 0 {
		if len(rest) > 0 {
			return nil, fmt.Errorf("%w: %d bytes after event headers without Content-Length", ErrMalformed, len(rest))
		}
	} else if cl != len(rest) {
		return nil, fmt.Errorf("%w: event body is %d bytes, Content-Length says %d", ErrMalformed, len(rest), cl)
	}
	e := &Event{Format: FormatPlain, lazy: true, lines: lines}
	if end > 0 {
		e.raw = unsafe.String(&b[0], end)
	}
	if cl > 0 {
		e.Body = rest[:len(rest):len(rest)]
	}
	return e, nil
}

// lookupLazy finds header name among e's raw lines as Headers.Lookup
// does: the first exact match, else the first case-insensitive one.
func (e *Event) lookupLazy(name string) (string, bool) {
	n := uint32(len(name))
	for _, l := range e.lines {
		if l.colon-l.start == n && e.raw[l.start:l.colon] == name {
			return e.value(l), true
		}
	}
	for _, l := range e.lines {
		// No length test here: folding may pair names of different
		// lengths (the Kelvin sign and k, an invalid byte and U+FFFD).
		if strings.EqualFold(e.raw[l.start:l.colon], name) {
			return e.value(l), true
		}
	}
	return "", false
}

// value decodes the value of line l into a string of its own: a value
// kept (a station id) does not keep the whole event's bytes alive.
func (e *Event) value(l rawLine) string {
	s := e.raw[l.colon+1:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSuffix(s, "\r")
	v := URLDecode(strings.TrimPrefix(s, " "))
	if strings.IndexByte(s, '%') < 0 {
		v = strings.Clone(v) // URLDecode returned a part of raw
	}
	return v
}

// allLazy decodes every header of a lazy event.
func (e *Event) allLazy() Headers {
	if len(e.lines) == 0 {
		return nil
	}
	h := make(Headers, len(e.lines))
	for i, l := range e.lines {
		h[i] = Header{Name: e.raw[l.start:l.colon], Value: e.value(l)}
	}
	return h
}

// parseBlockLazy checks a header block read by readRawBlock as
// readHeaders does and returns it as a lazy Event whose headers are all
// of its lines, values URL-decoded when asked for (the outbound-socket
// connect reply: the channel data). The event keeps blk, which must not
// change afterwards.
func parseBlockLazy(blk []byte) (*Event, error) {
	lines := make([]rawLine, 0, bytes.Count(blk, []byte{'\n'})+1)
	for pos := 0; pos < len(blk); {
		i := bytes.IndexByte(blk[pos:], '\n')
		if i < 0 {
			i = len(blk) - pos
		}
		line := bytes.TrimSuffix(blk[pos:pos+i], []byte{'\r'})
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return nil, fmt.Errorf("%w: header line without name: %.40q", ErrMalformed, line)
		}
		lines = append(lines, rawLine{start: uint32(pos), colon: uint32(pos + colon)})
		pos += i + 1
	}
	e := &Event{Format: FormatPlain, lazy: true, lines: lines}
	if len(blk) > 0 {
		e.raw = unsafe.String(&blk[0], len(blk))
	}
	return e, nil
}
