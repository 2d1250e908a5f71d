package hylafax

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Kinds of xferfaxlog records.
const (
	KindSend = "SEND" // a fax sent (faxsend)
	KindRecv = "RECV" // a fax received (faxgetty)
	KindCall = "CALL" // an incoming call (faxgetty with LogCalls)
	KindPoll = "POLL"
	KindPage = "PAGE"
)

const (
	// xferFields is the number of TAB-separated fields of a HylaFAX 6
	// record; xferfaxstats skips lines with any other count.
	xferFields = 19
	// xferDate is HylaFAX's strftime "%D %H:%M" in Go notation.
	xferDate = "01/02/06 15:04"
	// maxJobTag is where HylaFAX cuts the escaped jobtag (its 80-byte
	// buffer less quote and NUL); an escaped quote may end one byte later.
	maxJobTag = 78
	// maxXferTime is the longest duration fmtTime prints; longer ones are
	// written as xferTimeOverflow.
	maxXferTime      = 99 * time.Hour
	xferTimeOverflow = "??:??:??"
	// MaxXferLine bounds one xferfaxlog line read by ParseXferLog. A record
	// is about 150 bytes; the free-text fields (status, caller IDs) are
	// short in practice, so 8 KiB only cuts corrupt lines.
	MaxXferLine = 8 << 10
	// maxXferErrors bounds how many bad lines ParseXferLog reports.
	maxXferErrors = 100
)

// XferRecord is one line of log/xferfaxlog (xferfaxlog(5F); note that
// HylaFAX writes the caller-ID name before the number, unlike the man page).
type XferRecord struct {
	Start    time.Time     // $1, written in Start's location (HylaFAX: local time)
	Kind     string        // $2 SEND, RECV, CALL, POLL or PAGE
	CommID   string        // $3 %09u
	Modem    string        // $4 device id
	JobID    string        // $5 job id (SEND), recvq/faxN.tif (RECV), "" (CALL)
	JobTag   string        // $6
	Sender   string        // $7 mailaddr (SEND), "fax" (RECV, CALL)
	Dest     string        // $8 external number (SEND), modem number (RECV, CALL)
	CSI      string        // $9 remote CSI (SEND) or TSI (RECV)
	Params   uint32        // $10 Class2Params encoded, with the version bit (1<<21)
	Pages    int           // $11
	JobTime  time.Duration // $12 H:MM:SS
	ConnTime time.Duration // $13 H:MM:SS
	Reason   string        // $14 status text, "" on success
	CallIDs  []string      // $16 = CallIDs[0] (number), $15 = CallIDs[1] (name), $17 = the rest joined by "::"
	Owner    string        // $18
	DCS      string        // $19 DCS frame bytes in upper-case hex, e.g. "00 46 1F 21"; xferfaxstats reads the data format from it
}

// Format returns the record as HylaFAX's FaxAcctInfo::record writes it,
// without the newline. The jobtag is escaped like HylaFAX does (TAB to
// blank, '"' to '\"', cut after 78 bytes). HylaFAX writes the other
// quoted fields raw, so a '"' or TAB in a CSI breaks its readers; Format
// writes '"' as '\” in them instead. TAB, CR and LF become blanks in
// every field.
func (r XferRecord) Format() string {
	var name, number, rest string
	if len(r.CallIDs) > 0 {
		number = r.CallIDs[0]
	}
	if len(r.CallIDs) > 1 {
		name = r.CallIDs[1]
	}
	if len(r.CallIDs) > 2 {
		rest = strings.Join(r.CallIDs[2:], "::")
	}
	f := []string{
		r.Start.Format(xferDate),
		bare(r.Kind),
		bare(r.CommID),
		bare(r.Modem),
		bare(r.JobID),
		`"` + escapeJobTag(r.JobTag) + `"`,
		bare(r.Sender),
		quoted(r.Dest),
		quoted(r.CSI),
		strconv.FormatUint(uint64(r.Params), 10),
		strconv.Itoa(r.Pages),
		FormatDuration(r.JobTime),
		FormatDuration(r.ConnTime),
		quoted(r.Reason),
		quoted(name),
		quoted(number),
		quoted(rest),
		quoted(r.Owner),
		quoted(r.DCS),
	}
	return strings.Join(f, "\t")
}

// MarshalText implements encoding.TextMarshaler with Format.
func (r XferRecord) MarshalText() ([]byte, error) { return []byte(r.Format()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseXferRecord.
func (r *XferRecord) UnmarshalText(b []byte) error {
	x, err := ParseXferRecord(string(b))
	if err != nil {
		return err
	}
	*r = x
	return nil
}

var blankControls = strings.NewReplacer("\t", " ", "\r", " ", "\n", " ")

// bare cleans an unquoted field.
func bare(s string) string { return blankControls.Replace(s) }

var quoteControls = strings.NewReplacer("\t", " ", "\r", " ", "\n", " ", `"`, "'")

// quoted cleans and quotes a field that HylaFAX writes raw between quotes.
func quoted(s string) string { return `"` + quoteControls.Replace(s) + `"` }

// escapeJobTag escapes and cuts the jobtag as HylaFAX does; CR and LF,
// which HylaFAX would write raw and so split the record, become blanks.
func escapeJobTag(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < maxJobTag; i++ {
		c := s[i]
		switch c {
		case '\t', '\r', '\n':
			c = ' '
		case '"':
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// unescapeJobTag reverses escapeJobTag's quote escaping.
func unescapeJobTag(s string) string {
	if !strings.Contains(s, `\"`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && s[i+1] == '"' {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// FormatDuration formats d as HylaFAX's fmtTime: whole seconds as H:MM:SS
// (hours without a leading zero, "0:01:05"), "0:00:00" for negative values
// and "??:??:??" beyond 99 hours.
func FormatDuration(d time.Duration) string {
	if d < 0 {
		return "0:00:00"
	}
	if d > maxXferTime {
		return xferTimeOverflow
	}
	s := int64(d / time.Second)
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
}

// parseDuration reads FormatDuration's output; "??:??:??" and anything
// longer than 99 hours become the shortest duration written that way.
func parseDuration(s string) (time.Duration, error) {
	overflow := maxXferTime + time.Second
	if s == xferTimeOverflow {
		return overflow, nil
	}
	h, rest, ok1 := strings.Cut(s, ":")
	m, sec, ok2 := strings.Cut(rest, ":")
	hh, err1 := strconv.ParseUint(h, 10, 16)
	mm, err2 := strconv.ParseUint(m, 10, 8)
	ss, err3 := strconv.ParseUint(sec, 10, 8)
	if !ok1 || !ok2 || err1 != nil || err2 != nil || err3 != nil || len(m) != 2 || len(sec) != 2 || mm > 59 || ss > 59 {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	d := time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute + time.Duration(ss)*time.Second
	return min(d, overflow), nil
}

// unquote strips the quotes of a quoted field; HylaFAX's own readers are as
// lenient about missing ones.
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// unquoteClean unquotes a quoted field and cleans it like quoted does.
func unquoteClean(s string) string { return quoteControls.Replace(unquote(s)) }

// ParseXferRecord parses one xferfaxlog line (without the newline) of the
// 19-field HylaFAX 6 layout. The date is read in time.Local. Fields come
// back as Format writes them: quotes stripped, the jobtag unescaped, a '"'
// inside another quoted field as '\” and CR as a blank.
func ParseXferRecord(line string) (XferRecord, error) {
	f := strings.Split(line, "\t")
	if len(f) != xferFields {
		return XferRecord{}, fmt.Errorf("%d fields instead of %d", len(f), xferFields)
	}
	var r XferRecord
	var err error
	if r.Start, err = time.ParseInLocation(xferDate, f[0], time.Local); err != nil {
		return XferRecord{}, fmt.Errorf("bad date %q", f[0])
	}
	// Values are returned as Format would write them, so that parsing
	// what Format wrote gives the same record again.
	r.Kind, r.CommID, r.Modem, r.JobID = bare(f[1]), bare(f[2]), bare(f[3]), bare(f[4])
	r.JobTag = unescapeJobTag(escapeJobTag(unescapeJobTag(unquote(f[5]))))
	r.Sender, r.Dest, r.CSI = bare(f[6]), unquoteClean(f[7]), unquoteClean(f[8])
	p, err := strconv.ParseUint(f[9], 10, 32)
	if err != nil {
		return XferRecord{}, fmt.Errorf("bad params %q", f[9])
	}
	r.Params = uint32(p)
	if r.Pages, err = strconv.Atoi(f[10]); err != nil {
		return XferRecord{}, fmt.Errorf("bad page count %q", f[10])
	}
	if r.JobTime, err = parseDuration(f[11]); err != nil {
		return XferRecord{}, err
	}
	if r.ConnTime, err = parseDuration(f[12]); err != nil {
		return XferRecord{}, err
	}
	r.Reason = unquoteClean(f[13])
	ids := []string{unquoteClean(f[15]), unquoteClean(f[14])}
	if rest := unquoteClean(f[16]); rest != "" {
		ids = append(ids, strings.Split(rest, "::")...)
	}
	for len(ids) > 0 && ids[len(ids)-1] == "" {
		ids = ids[:len(ids)-1]
	}
	if len(ids) > 0 {
		r.CallIDs = ids
	}
	r.Owner, r.DCS = unquoteClean(f[17]), unquoteClean(f[18])
	return r, nil
}

// ParseXferLog reads xferfaxlog records. It is tolerant like HylaFAX's
// readers: lines that are too long, have the wrong number of fields or bad
// values are skipped and reported as *ParseError (joined, at most 100) in
// the error, next to the records that could be read. A read error ends
// the parse.
func ParseXferLog(r io.Reader) ([]XferRecord, error) {
	br := bufio.NewReaderSize(r, MaxXferLine)
	var recs []XferRecord
	var errs []error
	bad := 0
	report := func(line int, msg string) {
		bad++
		if bad <= maxXferErrors {
			errs = append(errs, &ParseError{Line: line, Msg: msg})
		}
	}
	for lineno := 1; ; lineno++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			report(lineno, fmt.Sprintf("line longer than %d bytes", MaxXferLine))
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("hylafax: read xferfaxlog: %w", err))
				break
			}
			continue
		}
		if err != nil && err != io.EOF {
			errs = append(errs, fmt.Errorf("hylafax: read xferfaxlog: %w", err))
			break
		}
		text := string(bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r")))
		if text != "" {
			rec, perr := ParseXferRecord(text)
			if perr != nil {
				report(lineno, perr.Error())
			} else {
				recs = append(recs, rec)
			}
		}
		if err == io.EOF {
			break
		}
	}
	if bad > maxXferErrors {
		errs = append(errs, fmt.Errorf("hylafax: %d more bad xferfaxlog lines", bad-maxXferErrors))
	}
	return recs, errors.Join(errs...)
}

// AppendXferLog appends r to the xferfaxlog at path as HylaFAX does: one
// write with O_APPEND under an exclusive flock, the file created with mode
// 0644. Waiting for the lock ends with ctx.
func AppendXferLog(ctx context.Context, path string, r XferRecord) error {
	return AppendXferRecords(ctx, path, []XferRecord{r}, nil)
}

// AppendXferRecords appends recs to the xferfaxlog at path as
// AppendXferLog does, in one write under one flock, and with a Syncer
// makes them durable (fsync) before the lock is released.
func AppendXferRecords(ctx context.Context, path string, recs []XferRecord, s Syncer) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("hylafax: open xferfaxlog: %w", err)
	}
	defer f.Close()
	if err := flockContext(ctx, f, syscall.LOCK_EX); err != nil {
		return fmt.Errorf("hylafax: lock xferfaxlog: %w", err)
	}
	var b []byte
	for _, r := range recs {
		b = append(b, r.Format()...)
		b = append(b, '\n')
	}
	if _, err := f.Write(b); err != nil {
		return fmt.Errorf("hylafax: write xferfaxlog: %w", err)
	}
	if s != nil {
		if err := s.Sync(f); err != nil {
			return fmt.Errorf("hylafax: sync xferfaxlog: %w", err)
		}
	}
	return f.Close()
}
