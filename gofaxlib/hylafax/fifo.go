package hylafax

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxFIFORecord is the longest FIFO record, without its NUL. faxq reads
// its FIFO 2047 bytes at a time and treats every read as whole records,
// so a longer record could never arrive in one piece.
const MaxFIFORecord = 2047

// ErrFIFOMessage reports a FIFO record that is not a valid message, or a
// Message that cannot be written as one.
var ErrFIFOMessage = errors.New("hylafax: invalid FIFO message")

// Kind says what a FIFO message means.
type Kind uint8

// Messages to faxq, written to $SPOOL/FIFO by a getty (+ and @), a send
// program (*) and hfaxd (S). ID is the modem id, the job id, or for
// JobSubmit the client FIFO that wants the answer.
const (
	UnknownMessage Kind = iota // not understood; Arg holds the whole record

	ModemReady    // +<modem>:R<Arg>, Arg "" or Ready.String(): modem ready, with its capabilities
	ModemBusy     // +<modem>:B<Arg>: busy (answering a call)
	ModemInUse    // +<modem>:U<Arg>: in use by another program
	ModemDown     // +<modem>:D<Arg>: down, getty gone
	ModemNumber   // +<modem>:N<Arg>: phone number of the modem
	ModemCommID   // +<modem>:I<Arg>: commid of the current call, empty when it ended
	ModemWedged   // +<modem>:W<Arg>: needs an operator; faxq runs bin/wedged
	ModemCallerID // +<modem>:C<Arg>: caller id, "<cid1>","<cid2>"...
	RecvBegin     // @<modem>:B<Arg>: a receive starts
	RecvStart     // @<modem>:S<Arg>, Arg RecvInfo.String(): session parameters known
	RecvPage      // @<modem>:P<Arg>, Arg RecvInfo.String(): a page arrived
	RecvDoc       // @<modem>:D<Arg>, Arg RecvInfo.String(): the document is complete
	RecvEnd       // @<modem>:E<Arg>: the receive ended
	JobCalling    // *<jobid>:c<Arg>: the call is placed (finishes the previous job of a batch)
	JobConnected  // *<jobid>:C<Arg>: connected to the far end
	JobPageSent   // *<jobid>:d<Arg>, Arg SendInfo.String(): a page was sent
	JobDocSent    // *<jobid>:D<Arg>, Arg SendInfo.String(): a document was sent; faxq unreferences it
	JobSubmit     // S[<client>:]<Arg>, Arg the job id: submit the job, or poke the scheduler

	// Messages to a getty, written to $SPOOL/FIFO.<modem> by faxq and the
	// admin tools. They carry no ID.

	GettyHello  // HELLO: faxq started; answer with ModemNumber and ModemReady
	GettyLock   // L: faxq gave the modem to an outbound job
	GettyState  // S<Arg>: set the ready state ("R", "B", ...), also gofaxsend's SB and SR
	GettyQuit   // Q: exit
	GettyAnswer // A<Arg>: answer now, Arg "", "fax", "data", "voice" or "extern"
	GettyAbort  // Z: abort the current session
	GettyConfig // C<Arg>: set a config item, Arg "Tag:value"

	// GettyJobResult is R<jobid>:<Arg>, Arg "<outcome>:<pages>" (see
	// JobResult): how a send attempt on the modem ended. It is a
	// gofaxserver extension that only gofaxd understands: gofaxsend
	// writes it just before its "SR", and only to a FIFO.<modem> that
	// exists, i.e. to modems gofaxd owns; faxgetty never gets it.
	GettyJobResult
)

// kindNames holds the names Kind.String returns.
var kindNames = [...]string{
	UnknownMessage: "unknown", ModemReady: "modem ready", ModemBusy: "modem busy", ModemInUse: "modem in use",
	ModemDown: "modem down", ModemNumber: "modem number", ModemCommID: "modem commid", ModemWedged: "modem wedged",
	ModemCallerID: "caller id", RecvBegin: "receive begin", RecvStart: "receive start", RecvPage: "receive page",
	RecvDoc: "receive document", RecvEnd: "receive end", JobCalling: "job calling", JobConnected: "job connected",
	JobPageSent: "job page sent", JobDocSent: "job document sent", JobSubmit: "job submit", GettyHello: "hello",
	GettyLock: "lock", GettyState: "ready state", GettyQuit: "quit", GettyAnswer: "answer", GettyAbort: "abort",
	GettyConfig: "config", GettyJobResult: "job result",
}

// String returns a short name of k for logs.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind %d", uint8(k))
}

// Message is one FIFO record. See Kind for what ID and Arg hold; Arg is
// kept as written, so Encode gives back a record that parses the same.
type Message struct {
	Kind Kind
	ID   string
	Arg  string
}

// msgLetters maps the kinds that start with an id to their lead byte and
// command letter.
var msgLetters = map[Kind][2]byte{
	ModemReady: {'+', 'R'}, ModemBusy: {'+', 'B'}, ModemInUse: {'+', 'U'}, ModemDown: {'+', 'D'},
	ModemNumber: {'+', 'N'}, ModemCommID: {'+', 'I'}, ModemWedged: {'+', 'W'}, ModemCallerID: {'+', 'C'},
	RecvBegin: {'@', 'B'}, RecvStart: {'@', 'S'}, RecvPage: {'@', 'P'}, RecvDoc: {'@', 'D'}, RecvEnd: {'@', 'E'},
	JobCalling: {'*', 'c'}, JobConnected: {'*', 'C'}, JobPageSent: {'*', 'd'}, JobDocSent: {'*', 'D'},
}

// msgKinds is the reverse of msgLetters.
var msgKinds = func() map[[2]byte]Kind {
	m := make(map[[2]byte]Kind, len(msgLetters))
	for k, l := range msgLetters {
		m[l] = k
	}
	return m
}()

// gettyLetters holds the command letter of the messages to a getty.
var gettyLetters = map[Kind]byte{
	GettyHello: 'H', GettyLock: 'L', GettyState: 'S', GettyQuit: 'Q',
	GettyAnswer: 'A', GettyAbort: 'Z', GettyConfig: 'C',
}

// Encode returns the record for m, without the terminating NUL that
// WriteFIFO adds. It fails when a field would change the framing (NUL,
// newline, a ':' in an ID) or the record is longer than MaxFIFORecord.
func (m Message) Encode() ([]byte, error) {
	if strings.ContainsAny(m.ID, "\x00\n") || strings.ContainsAny(m.Arg, "\x00\n") {
		return nil, fmt.Errorf("%w: NUL or newline in %q", ErrFIFOMessage, m.ID+m.Arg)
	}
	var rec string
	switch {
	case m.Kind == UnknownMessage:
		rec = m.Arg
	case m.Kind == JobSubmit:
		if strings.Contains(m.ID, ":") {
			return nil, fmt.Errorf("%w: ':' in client %q", ErrFIFOMessage, m.ID)
		}
		rec = "S" + m.Arg
		if m.ID != "" || strings.Contains(m.Arg, ":") {
			rec = "S" + m.ID + ":" + m.Arg
		}
	case m.Kind == GettyHello:
		rec = "HELLO"
	case m.Kind == GettyJobResult:
		if _, err := ParseJobResult(m); err != nil {
			return nil, err
		}
		rec = "R" + m.ID + ":" + m.Arg
	case gettyLetters[m.Kind] != 0:
		rec = string(gettyLetters[m.Kind]) + m.Arg
	case msgLetters[m.Kind][0] != 0:
		if m.ID == "" || strings.Contains(m.ID, ":") {
			return nil, fmt.Errorf("%w: bad id %q", ErrFIFOMessage, m.ID)
		}
		if m.Kind == ModemReady && m.Arg != "" {
			if _, err := ParseReady(m.Arg); err != nil {
				return nil, err
			}
		}
		l := msgLetters[m.Kind]
		rec = string(l[0]) + m.ID + ":" + string(l[1]) + m.Arg
	default:
		return nil, fmt.Errorf("%w: unknown kind %d", ErrFIFOMessage, m.Kind)
	}
	if rec == "" || len(rec) > MaxFIFORecord {
		return nil, fmt.Errorf("%w: %d bytes", ErrFIFOMessage, len(rec))
	}
	return []byte(rec), nil
}

// checkRecord strips the trailing newline that "echo" adds, as faxq does,
// and rejects what no writer of a valid message produces.
func checkRecord(rec []byte) (string, error) {
	rec = bytes.TrimSuffix(rec, []byte("\n"))
	switch {
	case len(rec) == 0:
		return "", fmt.Errorf("%w: empty record", ErrFIFOMessage)
	case len(rec) > MaxFIFORecord:
		return "", fmt.Errorf("%w: %d bytes", ErrFIFOMessage, len(rec))
	case bytes.ContainsAny(rec, "\x00\n"):
		return "", fmt.Errorf("%w: NUL or newline inside %q", ErrFIFOMessage, rec)
	}
	return string(rec), nil
}

// ParseFaxqMessage parses a record read from faxq's FIFO. Records it does
// not know are UnknownMessage; an error means the record is empty, too
// long, or a known message with a malformed argument.
func ParseFaxqMessage(rec []byte) (Message, error) {
	s, err := checkRecord(rec)
	if err != nil {
		return Message{}, err
	}
	switch s[0] {
	case 'S':
		id, job, ok := strings.Cut(s[1:], ":")
		if !ok {
			id, job = "", s[1:]
		}
		return Message{Kind: JobSubmit, ID: id, Arg: job}, nil
	case '+', '@', '*':
		id, rest, ok := strings.Cut(s[1:], ":")
		if !ok || id == "" || rest == "" {
			break
		}
		k, ok := msgKinds[[2]byte{s[0], rest[0]}]
		if !ok {
			break
		}
		m := Message{Kind: k, ID: id, Arg: rest[1:]}
		if k == ModemReady && m.Arg != "" {
			if _, err := ParseReady(m.Arg); err != nil {
				return Message{}, err
			}
		}
		return m, nil
	}
	return Message{Kind: UnknownMessage, Arg: s}, nil
}

// ParseModemMessage parses a record read from a getty's FIFO.<modem>. As
// faxgetty does, it looks at the first byte only ("HELLO" is any record
// starting with H).
func ParseModemMessage(rec []byte) (Message, error) {
	s, err := checkRecord(rec)
	if err != nil {
		return Message{}, err
	}
	switch s[0] {
	case 'H':
		return Message{Kind: GettyHello}, nil
	case 'L':
		return Message{Kind: GettyLock}, nil
	case 'Q':
		return Message{Kind: GettyQuit}, nil
	case 'Z':
		return Message{Kind: GettyAbort}, nil
	case 'S':
		return Message{Kind: GettyState, Arg: s[1:]}, nil
	case 'A':
		return Message{Kind: GettyAnswer, Arg: s[1:]}, nil
	case 'C':
		return Message{Kind: GettyConfig, Arg: s[1:]}, nil
	case 'R':
		id, arg, _ := strings.Cut(s[1:], ":")
		m := Message{Kind: GettyJobResult, ID: id, Arg: arg}
		if _, err := ParseJobResult(m); err != nil {
			return Message{}, err
		}
		return m, nil
	}
	return Message{Kind: UnknownMessage, Arg: s}, nil
}

// Ready is the argument of ModemReady as faxgetty writes it:
// "P" or "p" (can poll or not), the capability word in hex, and the
// modem's priority in hex, 0 to 0xffff (lower is preferred, 255 is
// faxgetty's default).
type Ready struct {
	CanPoll  bool
	Caps     Capabilities
	Priority int
}

// DefaultModemPriority is faxgetty's ModemPriority: the lowest.
const DefaultModemPriority = 255

// String returns the ModemReady argument, e.g. "pcef9ff01:ff".
func (r Ready) String() string {
	p := byte('p')
	if r.CanPoll {
		p = 'P'
	}
	return fmt.Sprintf("%c%08x:%02x", p, r.Caps.Encode(), uint16(r.Priority))
}

// ParseReady parses a non-empty ModemReady argument. Without a priority
// it is DefaultModemPriority, as faxq keeps it.
func ParseReady(arg string) (Ready, error) {
	bad := fmt.Errorf("%w: modem ready %q", ErrFIFOMessage, arg)
	if arg == "" || arg[0] != 'P' && arg[0] != 'p' {
		return Ready{}, bad
	}
	caps, prio, hasPrio := strings.Cut(arg[1:], ":")
	c, err := strconv.ParseUint(caps, 16, 32)
	if err != nil {
		return Ready{}, bad
	}
	r := Ready{CanPoll: arg[0] == 'P', Caps: DecodeCapabilities(uint32(c)), Priority: DefaultModemPriority}
	if hasPrio {
		p, err := strconv.ParseUint(prio, 16, 16)
		if err != nil {
			return Ready{}, bad
		}
		r.Priority = int(p)
	}
	return r, nil
}

// NewReadyMessage returns the "+<modem>:R..." announcement.
func NewReadyMessage(modem string, r Ready) Message {
	return Message{Kind: ModemReady, ID: modem, Arg: r.String()}
}

// SendInfo is the argument of JobPageSent and JobDocSent (HylaFAX's
// FaxSendInfo): `%x,%x,%x,%s,"%s"` = seconds, pages, params, commid, file.
type SendInfo struct {
	Time   time.Duration // time spent, whole seconds on the wire
	Pages  int
	Params uint32 // Class2Params.Encode()
	CommID string
	File   string // the document, e.g. "docq/doc7.tif;00"
}

// String returns the message argument.
func (i SendInfo) String() string {
	return fmt.Sprintf("%x,%x,%x,%s,\"%s\"", uint32(i.Time/time.Second), i.Pages, i.Params, fifoField(i.CommID, ','), fifoField(i.File, '"'))
}

// ParseSendInfo parses the argument of JobPageSent and JobDocSent.
func ParseSendInfo(s string) (SendInfo, error) {
	f := fieldScanner{s: s}
	i := SendInfo{
		Time:   time.Duration(f.hex()) * time.Second,
		Pages:  int(f.hex()),
		Params: f.hex(),
		CommID: f.plain(),
		File:   f.quoted(),
	}
	if f.err || f.s != "" {
		return SendInfo{}, fmt.Errorf("%w: send info %q", ErrFIFOMessage, s)
	}
	return i, nil
}

// RecvInfo is the argument of RecvStart, RecvPage and RecvDoc (HylaFAX's
// FaxRecvInfo): `%x,%x,%x,%s,%s,"%s","%s","%s"` = seconds, pages, params,
// file, commid, sender (TSI), subaddress, reason.
type RecvInfo struct {
	Time    time.Duration // whole seconds on the wire
	Pages   int
	Params  uint32 // Class2Params.Encode()
	File    string // "recvq/fax000000001.tif"
	CommID  string
	Sender  string
	SubAddr string
	Reason  string // empty when all went well
}

// String returns the message argument. Double quotes inside the quoted
// fields, which HylaFAX cannot escape, become single quotes.
func (i RecvInfo) String() string {
	return fmt.Sprintf("%x,%x,%x,%s,%s,\"%s\",\"%s\",\"%s\"", uint32(i.Time/time.Second), i.Pages, i.Params,
		fifoField(i.File, ','), fifoField(i.CommID, ','), fifoField(i.Sender, '"'), fifoField(i.SubAddr, '"'), fifoField(i.Reason, '"'))
}

// ParseRecvInfo parses the argument of RecvStart, RecvPage and RecvDoc.
func ParseRecvInfo(s string) (RecvInfo, error) {
	f := fieldScanner{s: s}
	i := RecvInfo{
		Time:   time.Duration(f.hex()) * time.Second,
		Pages:  int(f.hex()),
		Params: f.hex(),
		File:   f.plain(),
		CommID: f.plain(),
	}
	i.Sender = f.quoted()
	f.comma()
	i.SubAddr = f.quoted()
	f.comma()
	i.Reason = f.quoted()
	if f.err || f.s != "" {
		return RecvInfo{}, fmt.Errorf("%w: receive info %q", ErrFIFOMessage, s)
	}
	return i, nil
}

// fifoField replaces the separator of a field, and characters that would
// break the record, by harmless ones. It works on bytes: peers send any.
func fifoField(s string, sep byte) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c == 0 || c == '\n':
			b[i] = ' '
		case c == sep && c == '"':
			b[i] = '\''
		case c == sep:
			b[i] = ';'
		}
	}
	return string(b)
}

// fieldScanner takes comma-separated fields off s; err is set by the
// first field that is malformed.
type fieldScanner struct {
	s   string
	err bool
}

// hex takes a hexadecimal field and its comma.
func (f *fieldScanner) hex() uint32 {
	v, err := strconv.ParseUint(f.plain(), 16, 32)
	if err != nil {
		f.err = true
	}
	return uint32(v)
}

// plain takes a field up to the next comma, and the comma.
func (f *fieldScanner) plain() string {
	v, rest, ok := strings.Cut(f.s, ",")
	if !ok {
		f.err = true
	}
	f.s = rest
	return v
}

// quoted takes a "..." field without a comma after it.
func (f *fieldScanner) quoted() string {
	if len(f.s) < 2 || f.s[0] != '"' {
		f.err = true
		return ""
	}
	end := strings.IndexByte(f.s[1:], '"')
	if end < 0 {
		f.err = true
		return ""
	}
	v := f.s[1 : 1+end]
	f.s = f.s[2+end:]
	return v
}

// comma takes the comma between two quoted fields.
func (f *fieldScanner) comma() {
	if !strings.HasPrefix(f.s, ",") {
		f.err = true
		return
	}
	f.s = f.s[1:]
}

// JobOutcome is how a send attempt ended: the HylaFAX send status that
// gofaxsend also returns to faxq (returned: 2 done, 0 retry, 1 failed,
// 3 reformat).
type JobOutcome string

// The outcomes of GettyJobResult.
const (
	OutcomeDone     JobOutcome = "done"
	OutcomeRetry    JobOutcome = "retry"
	OutcomeFailed   JobOutcome = "failed"
	OutcomeReformat JobOutcome = "reformat"
)

// maxJobResultPages bounds the page count of a JobResult (9 digits).
const maxJobResultPages = 999_999_999

// JobResult is what a GettyJobResult message tells gofaxd about one send
// attempt: the job, its outcome and the pages transmitted in this
// attempt (not in earlier ones of the same job).
type JobResult struct {
	JobID   string
	Outcome JobOutcome
	Pages   int
}

// JobResultMessage returns the "R<jobid>:<outcome>:<pages>" message for
// r; Encode rejects it when r is not valid (see ParseJobResult).
func JobResultMessage(r JobResult) Message {
	return Message{Kind: GettyJobResult, ID: r.JobID, Arg: string(r.Outcome) + ":" + strconv.Itoa(r.Pages)}
}

// ParseJobResult returns the JobResult of a GettyJobResult message. The
// job id must be non-empty without ':', the outcome one of the four and
// the pages plain decimal digits (at most 9).
func ParseJobResult(m Message) (JobResult, error) {
	bad := fmt.Errorf("%w: job result %q:%q", ErrFIFOMessage, m.ID, m.Arg)
	out, pages, ok := strings.Cut(m.Arg, ":")
	if m.Kind != GettyJobResult || !ok || m.ID == "" || strings.ContainsAny(m.ID, ":\x00\n") {
		return JobResult{}, bad
	}
	switch JobOutcome(out) {
	case OutcomeDone, OutcomeRetry, OutcomeFailed, OutcomeReformat:
	default:
		return JobResult{}, bad
	}
	if pages == "" || len(pages) > 9 || strings.Trim(pages, "0123456789") != "" {
		return JobResult{}, bad
	}
	n, err := strconv.Atoi(pages)
	if err != nil || n > maxJobResultPages {
		return JobResult{}, bad
	}
	return JobResult{JobID: m.ID, Outcome: JobOutcome(out), Pages: n}, nil
}
