package esl

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// checkLine rejects text that would end or split a protocol line.
func checkLine(what, s string) error {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return fmt.Errorf("%w: %s %.60q contains CR or LF", ErrInvalidLine, what, s)
	}
	return nil
}

// checkHeader rejects a header that cannot be written as one line.
func checkHeader(h Header) error {
	if h.Name == "" || strings.ContainsAny(h.Name, ": \t") {
		return fmt.Errorf("%w: header name %.60q", ErrInvalidLine, h.Name)
	}
	if err := checkLine("header name", h.Name); err != nil {
		return err
	}
	return checkLine("value of header "+h.Name, h.Value)
}

// appendHeaders appends h as "Name: Value\n" lines, adding a
// Content-Length line for a non-empty body unless h has one. A
// Content-Length that disagrees with the body is an error.
func appendHeaders(b []byte, h Headers, body []byte) ([]byte, error) {
	for _, x := range h {
		if err := checkHeader(x); err != nil {
			return nil, err
		}
	}
	cl, hasCL := h.Lookup("Content-Length")
	if hasCL {
		if n, err := parseLength(cl); err != nil || n != len(body) {
			return nil, fmt.Errorf("esl: Content-Length %q does not match body of %d bytes", cl, len(body))
		}
	}
	for _, x := range h {
		b = append(b, x.Name...)
		b = append(b, ": "...)
		b = append(b, x.Value...)
		b = append(b, '\n')
	}
	if !hasCL && len(body) > 0 {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, '\n')
	}
	return b, nil
}

// AppendMessage appends the wire form of m to b: its headers in order,
// a blank line and the body. A Content-Length header is added after the
// others if the body is not empty and m has none.
func AppendMessage(b []byte, m *Message) ([]byte, error) {
	return appendFrame(b, m.Headers, m.Body)
}

// appendFrame appends the headers h (see appendHeaders), a blank line
// and body.
func appendFrame(b []byte, h Headers, body []byte) ([]byte, error) {
	if len(body) > MaxBodyBytes {
		return nil, fmt.Errorf("%w: %d bytes", ErrBodyTooLarge, len(body))
	}
	b, err := appendHeaders(b, h, body)
	if err != nil {
		return nil, err
	}
	b = append(b, '\n')
	return append(b, body...), nil
}

// WriteMessage writes m to w in one Write (see AppendMessage). If m
// cannot be framed nothing is written and the error wraps ErrInvalidLine
// or ErrBodyTooLarge.
func WriteMessage(w io.Writer, m *Message) error {
	b, err := AppendMessage(nil, m)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// AppendCommand appends the wire form of c to b: the command line, its
// headers, a Content-Length if it has a body, a blank line and the body.
func AppendCommand(b []byte, c *Command) ([]byte, error) {
	if c.Line == "" {
		return nil, fmt.Errorf("%w: empty command", ErrInvalidLine)
	}
	if err := checkLine("command", c.Line); err != nil {
		return nil, err
	}
	b = append(b, c.Line...)
	b = append(b, '\n')
	return appendFrame(b, c.Headers, c.Body)
}

// WriteCommand writes c to w in one Write (see AppendCommand). If c
// contains CR or LF where a line is expected nothing is written and the
// error wraps ErrInvalidLine.
func WriteCommand(w io.Writer, c *Command) error {
	b, err := AppendCommand(nil, c)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
