package hfaxd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Limits on what is read from hfaxd. Its replies are short: one line per
// reply except HELP (about 20 lines) and the job state of a bare JPARM
// (about 62 lines plus one a document).
const (
	// MaxLineLength bounds one line of a reply or of a listing, CR LF
	// included. hfaxd's longest lines echo a job parameter, which its
	// 512-byte command buffer limits, or hold a status text.
	MaxLineLength = 4096
	// MaxReplyLines bounds the lines of one multi-line reply: a job's
	// state with hundreds of documents still fits.
	MaxReplyLines = 1024
	// MaxListBytes bounds a listing read from a data connection (LIST):
	// a line of about 50 bytes per job in sendq or doneq, so about a
	// million jobs.
	MaxListBytes = 64 << 20
)

// Reply is one reply of the server: a three-digit code and its lines.
type Reply struct {
	Code int
	// Lines holds the text of every line without its CR LF: the first
	// and the last line without their "xyz-"/"xyz " prefix, the lines
	// in between as sent. A single-line reply has one.
	Lines []string
}

// Text returns the text of the reply's first line.
func (r Reply) Text() string {
	if len(r.Lines) == 0 {
		return ""
	}
	return r.Lines[0]
}

// String returns the reply as "code text" of its first line.
func (r Reply) String() string { return strconv.Itoa(r.Code) + " " + r.Text() }

// Reader reads replies and listing lines from hfaxd. Lines end with CR LF,
// as hfaxd writes them; a bare LF is part of the line (hfaxd copies a job
// status text containing line breaks into its replies as it is), so it
// cannot end a reply early.
type Reader struct {
	br *bufio.Reader
}

// NewReader returns a Reader reading from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, MaxLineLength)}
}

// ReadReply reads one reply, single-line ("213 text") or multi-line
// ("217-first", any lines, "217 last"). It returns ErrProtocol for lines
// without a reply code, and for replies beyond MaxLineLength or
// MaxReplyLines; io.EOF when the input ends before a reply starts, and
// io.ErrUnexpectedEOF when it ends inside one.
func (r *Reader) ReadReply() (Reply, error) {
	line, err := r.readLine()
	if err != nil {
		return Reply{}, err
	}
	code, sep, text, ok := splitLine(line)
	if !ok {
		return Reply{}, fmt.Errorf("%w: not a reply line: %s", ErrProtocol, quoteLine(line))
	}
	rep := Reply{Code: code, Lines: []string{text}}
	if sep != '-' {
		return rep, nil
	}
	for {
		line, err := r.readLine()
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return Reply{}, err
		}
		if len(rep.Lines) >= MaxReplyLines {
			return Reply{}, fmt.Errorf("%w: reply %d has more than %d lines", ErrProtocol, code, MaxReplyLines)
		}
		if c, sep, text, ok := splitLine(line); ok && c == code && sep != '-' {
			rep.Lines = append(rep.Lines, text)
			return rep, nil
		}
		rep.Lines = append(rep.Lines, line)
	}
}

// readLine returns the next line without its CR LF. A line without CR LF
// at the end of the input comes with io.ErrUnexpectedEOF.
func (r *Reader) readLine() (string, error) {
	var buf []byte
	for {
		chunk, err := r.br.ReadSlice('\n')
		if len(buf)+len(chunk) > MaxLineLength {
			return "", fmt.Errorf("%w: line longer than %d bytes", ErrProtocol, MaxLineLength)
		}
		buf = append(buf, chunk...)
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && len(buf) == 0:
			return "", io.EOF
		case err == io.EOF:
			return string(buf), io.ErrUnexpectedEOF
		case err != nil:
			return "", err
		}
		if n := len(buf); n >= 2 && buf[n-2] == '\r' {
			return string(buf[:n-2]), nil
		}
		// A bare LF belongs to the line.
	}
}

// splitLine splits a reply line "xyz text", "xyz-text" or "xyz" into its
// code, separator (' ', '-' or 0) and text.
func splitLine(line string) (code int, sep byte, text string, ok bool) {
	if len(line) < 3 || line[0] < '1' || line[0] > '5' ||
		line[1] < '0' || line[1] > '9' || line[2] < '0' || line[2] > '9' {
		return 0, 0, "", false
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	if len(line) == 3 {
		return code, 0, "", true
	}
	if line[3] != ' ' && line[3] != '-' {
		return 0, 0, "", false
	}
	return code, line[3], line[4:], true
}

// ReadListing reads the lines of a listing from a data connection until
// its end, at most MaxListBytes; a last line without CR LF counts.
func ReadListing(r io.Reader) ([]string, error) {
	lr := &io.LimitedReader{R: r, N: MaxListBytes + 1}
	rd := NewReader(lr)
	var lines []string
	for {
		line, err := rd.readLine()
		if lr.N <= 0 {
			return nil, fmt.Errorf("%w: listing longer than %d bytes", ErrProtocol, MaxListBytes)
		}
		switch {
		case err == nil:
			lines = append(lines, line)
		case err == io.EOF:
			return lines, nil
		case err == io.ErrUnexpectedEOF:
			return append(lines, line), nil
		default:
			return nil, err
		}
	}
}

// quoteLine returns line quoted for an error message, cut to 80 bytes.
func quoteLine(line string) string {
	if len(line) > 80 {
		return strconv.Quote(line[:80]) + "..."
	}
	return strconv.Quote(line)
}

// Errors callers branch on. A refusal by hfaxd is a *ReplyError, which
// matches the sentinel its code and text stand for (errors.Is).
var (
	// ErrProtocol reports input that is not hfaxd's protocol, or beyond
	// the limits of this package; the session is unusable after it.
	ErrProtocol = errors.New("hfaxd: protocol error")
	// ErrArgument reports a value this package refuses to write into a
	// command (line breaks, control characters, out of range); nothing
	// was sent.
	ErrArgument = errors.New("hfaxd: bad argument")
	// ErrLogin reports a refused login: unknown user, wrong password,
	// or administrator rights refused.
	ErrLogin = errors.New("hfaxd: login refused")
	// ErrPermission reports an operation the account may not do, such
	// as setting another owner without administrator rights.
	ErrPermission = errors.New("hfaxd: permission denied")
	// ErrNoJob reports a job that does not exist (any more).
	ErrNoJob = errors.New("hfaxd: no such job")
	// ErrJobDone reports an operation on a job that is already done or
	// failed (killing it, for instance).
	ErrJobDone = errors.New("hfaxd: job already done")
	// ErrUnavailable reports that hfaxd cannot be reached or does not
	// serve (421), or that it cannot reach the scheduler faxq; trying
	// again later may succeed.
	ErrUnavailable = errors.New("hfaxd: service unavailable")
	// ErrOutcomeUnknown reports a command that was sent but whose reply
	// was not read (connection lost, timeout): it may or may not have
	// taken effect. After a lost JSUBM, look the job up by its user key.
	ErrOutcomeUnknown = errors.New("hfaxd: outcome unknown")
	// ErrPassiveAddress reports a PASV reply naming another host than
	// the control connection's peer; no data connection was opened.
	ErrPassiveAddress = fmt.Errorf("%w: passive address is not the server's", ErrProtocol)
	// ErrClosed reports use of a closed Pool.
	ErrClosed = errors.New("hfaxd: pool closed")
)

// ReplyError is a reply refusing a command.
type ReplyError struct {
	// Command is what was sent without its arguments, which may be
	// secret: "PASS", "JPARM OWNER".
	Command string
	Code    int
	Text    string
}

func (e *ReplyError) Error() string {
	return fmt.Sprintf("hfaxd: %s: %d %s", e.Command, e.Code, e.Text)
}

// Temporary reports a 4xx reply: the command may succeed later.
func (e *ReplyError) Temporary() bool { return e.Code >= 400 && e.Code < 500 }

// Is matches the sentinel the reply stands for.
func (e *ReplyError) Is(target error) bool {
	verb, _, _ := strings.Cut(e.Command, " ")
	text := strings.ToLower(e.Text)
	switch target {
	case ErrLogin:
		return e.Code == 530 && (verb == "USER" || verb == "PASS" || verb == "ADMIN")
	case ErrPermission:
		return e.Code == 530 && !(verb == "USER" || verb == "PASS" || verb == "ADMIN") ||
			strings.Contains(text, "permission denied") || strings.Contains(text, "operation not permitted")
	case ErrNoJob:
		return strings.Contains(text, "does not exist") || strings.Contains(text, "deleted by another party")
	case ErrJobDone:
		return e.Code == 504 && strings.Contains(text, "already done")
	case ErrUnavailable:
		return e.Code == 421 || e.Code == 460 && strings.Contains(text, "fifo")
	}
	return false
}

// replyError returns rep as a *ReplyError for command.
func replyError(command string, rep Reply) error {
	return &ReplyError{Command: command, Code: rep.Code, Text: strings.TrimSpace(rep.Text())}
}

// parseJobState parses the lines of a bare JPARM's 217 reply
// ("    NAME: value") into a map; repeated names (DOCUMENT) keep every
// value, in order, joined by LF.
func parseJobState(rep Reply) map[string]string {
	m := make(map[string]string)
	for _, l := range rep.Lines[1 : len(rep.Lines)-1] {
		name, value, ok := strings.Cut(strings.TrimLeft(l, " "), ": ")
		if !ok {
			if n, found := strings.CutSuffix(strings.TrimLeft(l, " "), ":"); found {
				name, value, ok = n, "", true
			}
		}
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			continue
		}
		if old, dup := m[name]; dup {
			value = old + "\n" + value
		}
		m[name] = value
	}
	return m
}
