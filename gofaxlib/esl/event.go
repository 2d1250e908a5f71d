package esl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Event formats, as named in the "event" command.
const (
	FormatPlain = "plain"
	FormatJSON  = "json"
	FormatXML   = "xml"

	// FormatNotice marks a text/disconnect-notice delivered by
	// Conn.Events: its Headers and Body are the notice's, undecoded.
	FormatNotice = "notice"
)

// arrayPrefix marks a FreeSWITCH array value in plain form:
// "ARRAY::a|:b" is the JSON array ["a","b"].
const (
	arrayPrefix = "ARRAY::"
	arraySep    = "|:"
)

// Event is a FreeSWITCH event: ordered headers with decoded values and
// an optional body (the result of a BACKGROUND_JOB, for instance).
// Format records the wire format it came in; Content-Length is not kept
// among the headers but derived from Body when encoding.
//
// The events a Conn delivers in plain format are decoded lazily: their
// Headers field is nil, and Get, Lookup and the other methods find and
// decode one value in the undecoded header lines when asked (AllHeaders
// decodes them all). A FreeSWITCH event carries some 170 headers of
// which a receiver reads a dozen.
type Event struct {
	Format  string
	Headers Headers
	Body    []byte

	raw   string    // header lines as received (values URL-encoded), when lazy
	lines []rawLine // where each header is in raw
	lazy  bool
	buf   []byte // the message body raw and Body are in, for Release
}

// Release lets a Conn read later messages into the memory of e, an event
// it delivered. Afterwards e must not be used, nor any slice or string
// taken from it but the values of single headers (Get, Lookup, Name and
// the like), which are copies. A consumer reading thousands of events
// releases each once done with it; one that does not leaves it to the
// garbage collector.
func (e *Event) Release() {
	if b := e.buf; b != nil {
		lines := e.lines
		*e = Event{}
		freeBody(b)
		freeLines(lines)
	}
}

// Lookup returns the value of header name and whether there is one (see
// Headers.Lookup).
func (e *Event) Lookup(name string) (string, bool) {
	if e.lazy {
		return e.lookupLazy(name)
	}
	return e.Headers.Lookup(name)
}

// Get returns the value of header name (see Headers.Lookup).
func (e *Event) Get(name string) string {
	v, _ := e.Lookup(name)
	return v
}

// AllHeaders returns the headers of e, decoding them if e is lazy.
func (e *Event) AllHeaders() Headers {
	if !e.lazy {
		return e.Headers
	}
	return e.allLazy()
}

// Name returns the Event-Name header, e.g. "CHANNEL_HANGUP" or "CUSTOM".
func (e *Event) Name() string { return e.Get("Event-Name") }

// Subclass returns the Event-Subclass header, e.g. "spandsp::rxfaxresult".
func (e *Event) Subclass() string { return e.Get("Event-Subclass") }

// UUID returns the Unique-ID header, the channel the event is about.
func (e *Event) UUID() string { return e.Get("Unique-ID") }

// JobUUID returns the Job-UUID header of a BACKGROUND_JOB event.
func (e *Event) JobUUID() string { return e.Get("Job-UUID") }

// Var returns the channel variable name (header "variable_<name>").
func (e *Event) Var(name string) string { return e.Get("variable_" + name) }

// Array returns the elements of a FreeSWITCH array value ("ARRAY::a|:b"),
// or the value itself as the only element, or nil if there is no such
// header.
func (e *Event) Array(name string) []string {
	v, ok := e.Lookup(name)
	if !ok {
		return nil
	}
	if s, ok := strings.CutPrefix(v, arrayPrefix); ok {
		return strings.Split(s, arraySep)
	}
	return []string{v}
}

// ParseEvent decodes the event carried by m, a text/event-plain or
// text/event-json message. text/event-xml gives ErrUnsupportedFormat.
func ParseEvent(m *Message) (*Event, error) {
	switch ct := m.ContentType(); ct {
	case TypeEventPlain:
		return ParsePlainEvent(m.Body)
	case TypeEventJSON:
		return ParseJSONEvent(m.Body)
	case TypeEventXML:
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedFormat, ct)
	default:
		return nil, fmt.Errorf("esl: %q is not an event", ct)
	}
}

// ParsePlainEvent decodes the body of a text/event-plain message:
// "Name: url-encoded-value" lines, a blank line, and as many bytes of
// body as a Content-Length header announces.
func ParsePlainEvent(b []byte) (*Event, error) {
	e := &Event{Format: FormatPlain}
	cl := -1
	for {
		if len(b) == 0 {
			if len(e.Headers) == 0 {
				return nil, fmt.Errorf("%w: empty event", ErrMalformed)
			}
			break // tolerate a missing final blank line
		}
		i := bytes.IndexByte(b, '\n')
		var line []byte
		if i < 0 {
			line, b = b, nil
		} else {
			line, b = b[:i], b[i+1:]
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok || len(name) == 0 {
			return nil, fmt.Errorf("%w: event header line %.40q", ErrMalformed, line)
		}
		value = bytes.TrimPrefix(value, []byte{' '})
		if string(name) == "Content-Length" {
			n, err := parseLength(URLDecode(string(value)))
			if err != nil {
				return nil, err
			}
			cl = n
			continue
		}
		if len(e.Headers) >= MaxHeaders {
			return nil, fmt.Errorf("%w: more than %d event headers", ErrHeaderTooLarge, MaxHeaders)
		}
		e.Headers = append(e.Headers, Header{Name: string(name), Value: URLDecode(string(value))})
	}
	if cl < 0 {
		if len(b) > 0 {
			return nil, fmt.Errorf("%w: %d bytes after event headers without Content-Length", ErrMalformed, len(b))
		}
		return e, nil
	}
	if cl != len(b) {
		return nil, fmt.Errorf("%w: event body is %d bytes, Content-Length says %d", ErrMalformed, len(b), cl)
	}
	if cl > 0 {
		e.Body = bytes.Clone(b)
	}
	return e, nil
}

// ParseJSONEvent decodes the body of a text/event-json message: one
// object whose values are strings (numbers and booleans are taken as
// their text) or arrays of strings, which become "ARRAY::a|:b" values
// as in plain events. The "_body" key holds the body.
func ParseJSONEvent(b []byte) (*Event, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	bad := func(err error) (*Event, error) {
		return nil, fmt.Errorf("%w: json event: %v", ErrMalformed, err)
	}
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return bad(fmt.Errorf("want object, got %v (%v)", t, err))
	}
	e := &Event{Format: FormatJSON}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return bad(err)
		}
		name, _ := t.(string)
		if t, err = d.Token(); err != nil {
			return bad(err)
		}
		var value string
		if t == json.Delim('[') {
			var elems []string
			for d.More() {
				t, err := d.Token()
				if err != nil {
					return bad(err)
				}
				s, ok := jsonScalar(t)
				if !ok {
					return bad(fmt.Errorf("nested value in array %q", name))
				}
				elems = append(elems, s)
			}
			if _, err := d.Token(); err != nil {
				return bad(err)
			}
			value = arrayPrefix + strings.Join(elems, arraySep)
		} else {
			s, ok := jsonScalar(t)
			if !ok {
				return bad(fmt.Errorf("nested object in %q", name))
			}
			value = s
		}
		switch name {
		case "_body":
			if value != "" {
				e.Body = []byte(value)
			}
			continue
		case "Content-Length":
			continue
		}
		if len(e.Headers) >= MaxHeaders {
			return nil, fmt.Errorf("%w: more than %d event headers", ErrHeaderTooLarge, MaxHeaders)
		}
		e.Headers = append(e.Headers, Header{Name: name, Value: value})
	}
	if _, err := d.Token(); err != nil {
		return bad(err)
	}
	if _, err := d.Token(); err != io.EOF {
		return bad(fmt.Errorf("data after the object"))
	}
	return e, nil
}

func jsonScalar(t json.Token) (string, bool) {
	switch v := t.(type) {
	case string:
		return v, true
	case json.Number:
		return string(v), true
	case bool:
		return strconv.FormatBool(v), true
	case nil:
		return "", true
	}
	return "", false
}

func checkEventHeaders(h Headers) error {
	for _, x := range h {
		if x.Name == "" || strings.ContainsAny(x.Name, ":\r\n\"\\") {
			return fmt.Errorf("%w: event header name %.60q", ErrInvalidLine, x.Name)
		}
	}
	return nil
}

// EncodePlain returns the text/event-plain body of e: headers with
// URL-encoded values, then a Content-Length header if the body is not
// empty, a blank line and the body. Parsing a captured event and encoding
// it gives the captured bytes back.
func (e *Event) EncodePlain() ([]byte, error) {
	hs := e.AllHeaders()
	if err := checkEventHeaders(hs); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 64*len(hs)+len(e.Body)+32)
	for _, x := range hs {
		b = append(b, x.Name...)
		b = append(b, ": "...)
		b = appendURLEncoded(b, x.Value)
		b = append(b, '\n')
	}
	if len(e.Body) > 0 {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(e.Body)), 10)
		b = append(b, '\n')
	}
	b = append(b, '\n')
	return append(b, e.Body...), nil
}

// EncodeJSON returns the text/event-json body of e as FreeSWITCH writes
// it: one line, keys in order, "ARRAY::" values as arrays, then
// "Content-Length" and "_body" if the body is not empty.
func (e *Event) EncodeJSON() ([]byte, error) {
	hs := e.AllHeaders()
	if err := checkEventHeaders(hs); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 64*len(hs)+len(e.Body)+32)
	b = append(b, '{')
	for i, x := range hs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, x.Name)
		b = append(b, ':')
		if s, ok := strings.CutPrefix(x.Value, arrayPrefix); ok {
			b = append(b, '[')
			for j, el := range strings.Split(s, arraySep) {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, el)
			}
			b = append(b, ']')
		} else {
			b = appendJSONString(b, x.Value)
		}
	}
	if len(e.Body) > 0 {
		if len(hs) > 0 {
			b = append(b, ',')
		}
		b = append(b, `"Content-Length":"`...)
		b = strconv.AppendInt(b, int64(len(e.Body)), 10)
		b = append(b, `","_body":`...)
		b = appendJSONString(b, string(e.Body))
	}
	return append(b, '}'), nil
}

const lowerHex = "0123456789abcdef"

// appendJSONString quotes s as FreeSWITCH's JSON writer does: only '"',
// '\\' and control characters are escaped; other bytes pass unchanged.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, `\b`...)
		case '\f':
			b = append(b, `\f`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		default:
			if c < 0x20 {
				b = append(b, '\\', 'u', '0', '0', lowerHex[c>>4], lowerHex[c&15])
			} else {
				b = append(b, c)
			}
		}
	}
	return append(b, '"')
}

// Encode returns the body of e in its Format (plain if empty) and the
// matching content type.
func (e *Event) Encode() (body []byte, contentType string, err error) {
	switch e.Format {
	case FormatPlain, "":
		body, err = e.EncodePlain()
		return body, TypeEventPlain, err
	case FormatJSON:
		body, err = e.EncodeJSON()
		return body, TypeEventJSON, err
	}
	return nil, "", fmt.Errorf("%w: %q", ErrUnsupportedFormat, e.Format)
}

// Message returns e framed as FreeSWITCH frames events: a header block
// of Content-Length then Content-Type, and the encoded event as body.
func (e *Event) Message() (*Message, error) {
	body, ct, err := e.Encode()
	if err != nil {
		return nil, err
	}
	return &Message{
		Headers: Headers{
			{"Content-Length", strconv.Itoa(len(body))},
			{"Content-Type", ct},
		},
		Body: body,
	}, nil
}

// WriteEvent writes e to w as one frame (see Event.Message).
func WriteEvent(w io.Writer, e *Event) error {
	m, err := e.Message()
	if err != nil {
		return err
	}
	return WriteMessage(w, m)
}
