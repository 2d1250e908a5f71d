package hylafax

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// MaxQfileSize bounds how much of a qfile is read. hfaxd writes about 1 KiB
// for an ordinary job and a few KiB for jobs with many documents and long
// cover-page comments; 1 MiB leaves ample room while keeping a corrupt or
// hostile file from exhausting memory.
const MaxQfileSize = 1 << 20

// statusTag is the only tag whose value may continue over several lines.
const statusTag = "status"

var (
	// ErrQfileTooLarge is returned for a qfile larger than MaxQfileSize.
	ErrQfileTooLarge = errors.New("hylafax: qfile too large")
	// ErrNotOpen is returned by Save on a Qfile that was parsed from memory
	// or already closed.
	ErrNotOpen = errors.New("hylafax: qfile not open")
)

// ParseError locates a problem in a spool file.
type ParseError struct {
	File string // file name as given by the caller, may be empty
	Line int    // 1-based line number
	Msg  string
}

func (e *ParseError) Error() string {
	if e.File == "" {
		return fmt.Sprintf("hylafax: line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("hylafax: %s:%d: %s", e.File, e.Line, e.Msg)
}

// Field is one "tag:value" line of a qfile. For a status value continued
// over several lines, Value holds the lines joined by "\\\n" exactly as faxq
// keeps it in memory, and Line is the first line.
type Field struct {
	Tag   string
	Value string
	Line  int
}

// qline is one logical line of a qfile: a field, or a line without a colon
// that faxq skips and we keep so the file survives a rewrite unchanged.
type qline struct {
	Field
	bad bool   // no ':' on the line; raw holds it
	raw string // bytes as read, with terminator; "" once the field changed
}

// Qfile is a parsed HylaFAX job description file. Its methods are not safe
// for concurrent use.
type Qfile struct {
	name     string
	lines    []qline
	warnings []*ParseError
	f        *os.File
}

// ParseQfile parses a qfile the way faxq's FaxRequest::readQFile does. name
// is used in warnings only. Lines that faxq would skip are kept and
// reported by Warnings; the only error is ErrQfileTooLarge.
func ParseQfile(name string, data []byte) (*Qfile, error) {
	if len(data) > MaxQfileSize {
		return nil, fmt.Errorf("%w: %s is more than %d bytes", ErrQfileTooLarge, name, MaxQfileSize)
	}
	q := &Qfile{name: name}
	lineno := 0
	for pos := 0; pos < len(data); {
		lineno++
		first := lineno
		end, next := lineEnd(data, pos)
		line := data[pos:end]
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			q.warnings = append(q.warnings, &ParseError{File: name, Line: lineno, Msg: "syntax error, missing ':'"})
			q.lines = append(q.lines, qline{Field: Field{Line: lineno}, bad: true, raw: string(data[pos:next])})
			pos = next
			continue
		}
		tag := string(line[:colon])
		vstart := pos + colon + 1
		for vstart < end && data[vstart] == ' ' {
			vstart++
		}
		// A status value ending in a backslash goes on with the next line,
		// and so on while the continued lines end in a backslash too.
		if tag == statusTag && end > vstart && data[end-1] == '\\' {
			for next < len(data) {
				lineno++
				start := next
				end, next = lineEnd(data, start)
				if end == start || data[end-1] != '\\' {
					break
				}
			}
		}
		q.lines = append(q.lines, qline{
			Field: Field{Tag: tag, Value: string(data[vstart:end]), Line: first},
			raw:   string(data[pos:next]),
		})
		pos = next
	}
	return q, nil
}

// lineEnd returns the end of the line starting at pos (without its '\n')
// and the start of the next line.
func lineEnd(data []byte, pos int) (end, next int) {
	i := bytes.IndexByte(data[pos:], '\n')
	if i < 0 {
		return len(data), len(data)
	}
	return pos + i, pos + i + 1
}

// Name returns the file name the Qfile was parsed or opened with.
func (q *Qfile) Name() string { return q.name }

// Warnings returns the lines that faxq would skip (no colon), in order.
func (q *Qfile) Warnings() []*ParseError { return q.warnings }

// Fields returns every field in file order, unknown tags and items included.
func (q *Qfile) Fields() []Field {
	fs := make([]Field, 0, len(q.lines))
	for _, l := range q.lines {
		if !l.bad {
			fs = append(fs, l.Field)
		}
	}
	return fs
}

// find returns the index of the last field with tag, as faxq lets a later
// line override an earlier one, or -1.
func (q *Qfile) find(tag string) int {
	for i := len(q.lines) - 1; i >= 0; i-- {
		if !q.lines[i].bad && q.lines[i].Tag == tag {
			return i
		}
	}
	return -1
}

// Get returns the value of tag and whether it is present. When a tag occurs
// more than once the last one counts, as in faxq.
func (q *Qfile) Get(tag string) (string, bool) {
	if i := q.find(tag); i >= 0 {
		return q.lines[i].Value, true
	}
	return "", false
}

// String returns the value of tag, or "" when it is absent.
func (q *Qfile) String(tag string) string {
	v, _ := q.Get(tag)
	return v
}

// Status returns the job's status text as people read it: a value faxq
// continued over several lines (a converter's error output, for one) with
// its lines joined by line breaks, without the continuation backslashes,
// and blanks and empty lines at either end trimmed.
func (q *Qfile) Status() string {
	return strings.TrimSpace(strings.ReplaceAll(q.String(statusTag), "\\\n", "\n"))
}

// Int returns the value of tag read the way faxq reads numbers (C atoi):
// leading blanks and a sign are accepted, reading stops at the first
// non-digit, and an absent, empty or non-numeric value is 0.
func (q *Qfile) Int(tag string) int {
	return atoi(q.String(tag))
}

// Digit returns the value of one of the fields faxq reads from their first
// character only (state, desiredst, desiredec, desireddf, desiredtl,
// useccover, usexvres). ok is false when the value does not start with a
// digit; faxq would then compute a meaningless number.
func (q *Qfile) Digit(tag string) (n int, ok bool) {
	v := q.String(tag)
	if v == "" || v[0] < '0' || v[0] > '9' {
		return 0, false
	}
	return int(v[0] - '0'), true
}

// Set sets tag to value, replacing the last occurrence of tag or adding a
// line before the document items. Leading blanks cannot be stored (faxq
// skips them) and are dropped. A status value keeps its line breaks as
// continuation lines, with a trailing line break or backslash dropped so it
// cannot swallow the next line; in any other value CR and LF become blanks.
// Set panics if tag is empty or contains ':', CR or LF, which is a
// programming error.
func (q *Qfile) Set(tag, value string) {
	checkTag(tag)
	value = cleanValue(tag, value)
	if i := q.find(tag); i >= 0 {
		if q.lines[i].Value != value {
			q.lines[i].Value = value
			q.lines[i].raw = ""
		}
		return
	}
	q.insert(qline{Field: Field{Tag: tag, Value: value}})
}

// SetInt sets tag to the decimal value n.
func (q *Qfile) SetInt(tag string, n int) {
	q.Set(tag, strconv.Itoa(n))
}

// insert adds l before the first document item, or at the end.
func (q *Qfile) insert(l qline) {
	at := len(q.lines)
	for i, x := range q.lines {
		if !x.bad && IsItemOp(x.Tag) {
			at = i
			break
		}
	}
	q.lines = append(q.lines[:at], append([]qline{l}, q.lines[at:]...)...)
}

func checkTag(tag string) {
	if tag == "" || strings.ContainsAny(tag, ":\r\n") {
		panic(fmt.Sprintf("hylafax: invalid qfile tag %q", tag))
	}
}

// cleanValue makes value storable so that reading it back gives it again.
func cleanValue(tag, value string) string {
	if tag != statusTag {
		return strings.TrimLeft(strings.Map(func(r rune) rune {
			if r == '\r' || r == '\n' {
				return ' '
			}
			return r
		}, value), " ")
	}
	value = strings.TrimLeft(value, " ")
	value = strings.ReplaceAll(value, "\r\n", "\n")
	value = strings.ReplaceAll(value, "\r", "\n")
	value = strings.TrimRight(value, "\\\n")
	// As faxq's writeQFile: every line break not already preceded by a
	// backslash gets one.
	var b strings.Builder
	for i := 0; i < len(value); i++ {
		if value[i] == '\n' && (i == 0 || value[i-1] != '\\') {
			b.WriteByte('\\')
		}
		b.WriteByte(value[i])
	}
	return b.String()
}

// Bytes returns the file contents: the original bytes of every line that
// was not changed, and "tag:value\n" for changed and added fields.
func (q *Qfile) Bytes() []byte {
	var b bytes.Buffer
	for i, l := range q.lines {
		s := l.raw
		if l.Tag == statusTag && i < len(q.lines)-1 && strings.HasSuffix(l.Value, "\\") {
			// Only the last line of a file can end a status in a
			// backslash; followed by more lines it would swallow them.
			s = l.Tag + ":" + strings.TrimRight(l.Value, "\\") + "\n"
		}
		if s == "" {
			s = l.Tag + ":" + l.Value + "\n"
		}
		b.WriteString(s)
		// The original last line may lack its newline; one line is
		// followed by another only after a newline.
		if i < len(q.lines)-1 && !strings.HasSuffix(s, "\n") {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// atoi converts like C atoi: optional leading white space and sign, then
// digits up to the first non-digit; saturates instead of overflowing.
func atoi(s string) int {
	i := 0
	for i < len(s) && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	const limit = 1<<31 - 1 // C int
	n := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
		if n > limit {
			n = limit
		}
	}
	if neg {
		return -n
	}
	return n
}
