package esl

import (
	"errors"
	"strings"
)

// Content types FreeSWITCH puts in the Content-Type header of a frame.
const (
	TypeAuthRequest      = "auth/request"
	TypeCommandReply     = "command/reply"
	TypeAPIResponse      = "api/response"
	TypeEventPlain       = "text/event-plain"
	TypeEventJSON        = "text/event-json"
	TypeEventXML         = "text/event-xml"
	TypeDisconnectNotice = "text/disconnect-notice"
	TypeRudeRejection    = "text/rude-rejection"
	TypeLogData          = "log/data"
)

// Limits on what a peer may send. Each is checked before the memory is
// allocated, so a broken or hostile peer costs at most these amounts.
const (
	// MaxHeaderBytes bounds one header block. Event envelopes are two
	// lines, but the outbound-socket connect reply carries the whole
	// channel data in its header block: 6 KB in the captures, 10-20 KB on
	// channels with many variables. 1 MiB leaves room for 50x that.
	MaxHeaderBytes = 1 << 20

	// MaxHeaders bounds the number of headers in one block or event.
	// The largest captured events carry 260 headers (every channel
	// variable); 4096 allows for big dialplans without letting a peer make
	// us build millions of tiny headers.
	MaxHeaders = 4096

	// MaxBodyBytes bounds a Content-Length body. Events are 2-20 KB, but
	// api output such as "show channels" on a busy switch grows with the
	// number of calls; 8 MiB covers thousands of channels.
	MaxBodyBytes = 8 << 20
)

// Errors callers branch on. Errors returned by this package wrap them.
var (
	// ErrMalformed means the peer broke the framing; the connection
	// cannot be resynchronised and must be closed.
	ErrMalformed = errors.New("esl: malformed message")
	// ErrHeaderTooLarge means a header block exceeded MaxHeaderBytes or
	// MaxHeaders. The connection cannot be resynchronised.
	ErrHeaderTooLarge = errors.New("esl: header block too large")
	// ErrBodyTooLarge means a Content-Length exceeded MaxBodyBytes. The
	// connection cannot be resynchronised.
	ErrBodyTooLarge = errors.New("esl: body too large")
	// ErrUnknownContentType means a well-framed message had a missing or
	// unknown Content-Type. The message was consumed whole and the
	// Reader remains usable.
	ErrUnknownContentType = errors.New("esl: unknown content type")
	// ErrUnsupportedFormat means an event format this package does not
	// decode (text/event-xml) or an unknown format name.
	ErrUnsupportedFormat = errors.New("esl: unsupported event format")
	// ErrInvalidLine means a command, argument or header to be written
	// contained CR, LF or another character that would break the
	// framing. Nothing was written.
	ErrInvalidLine = errors.New("esl: invalid character in protocol line")
)

// Header is one "Name: Value" line.
type Header struct {
	Name  string
	Value string
}

// Headers is an ordered list of headers. Order is kept as received so
// that messages can be written back byte for byte.
type Headers []Header

// Lookup returns the value of the first header named name and whether
// one exists. An exact match is preferred; otherwise the first
// case-insensitive match is used.
func (h Headers) Lookup(name string) (string, bool) {
	for _, x := range h {
		if x.Name == name {
			return x.Value, true
		}
	}
	for _, x := range h {
		if strings.EqualFold(x.Name, name) {
			return x.Value, true
		}
	}
	return "", false
}

// Get returns the value of header name, or "" if there is none (see Lookup).
func (h Headers) Get(name string) string {
	v, _ := h.Lookup(name)
	return v
}

// Values returns the values of all headers named name, compared
// case-insensitively, in order.
func (h Headers) Values(name string) []string {
	var vs []string
	for _, x := range h {
		if strings.EqualFold(x.Name, name) {
			vs = append(vs, x.Value)
		}
	}
	return vs
}

// Message is one frame on the event socket: a header block and, if the
// block has a Content-Length header, that many bytes of body.
type Message struct {
	Headers Headers
	Body    []byte
}

// Get returns the value of header name (see Headers.Lookup).
func (m *Message) Get(name string) string { return m.Headers.Get(name) }

// ContentType returns the Content-Type header.
func (m *Message) ContentType() string { return m.Headers.Get("Content-Type") }

// ReplyText returns the Reply-Text header of a command/reply.
func (m *Message) ReplyText() string { return m.Headers.Get("Reply-Text") }

// knownType reports whether ct is a content type this package frames.
func knownType(ct string) bool {
	switch ct {
	case TypeAuthRequest, TypeCommandReply, TypeAPIResponse, TypeEventPlain,
		TypeEventJSON, TypeEventXML, TypeDisconnectNotice, TypeRudeRejection,
		TypeLogData:
		return true
	}
	return false
}
