package notify

import (
	"context"
	"fmt"
	"mime"
	"strings"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// Sender delivers one receipt to its endpoint. It returns nil when the
// endpoint took it, ErrGone (wrapped) when the endpoint is gone, an error
// wrapping ErrPermanent when no retry can help, and any other error for a
// failure worth retrying (a *RetryAfterError when the peer said when).
// Send must return when ctx ends.
type Sender interface {
	Send(ctx context.Context, d gofaxlib.Delivery, files []Attachment) error
}

// Attachment is one file sent with a receipt.
type Attachment struct {
	Name        string // file name shown to the recipient (any UTF-8)
	ContentType string // "" = application/pdf
	Data        []byte
}

func (a Attachment) contentType() string {
	if a.ContentType == "" {
		return "application/pdf"
	}
	return a.ContentType
}

// check refuses an attachment whose content type is not a plain media
// type (it goes into headers) or whose name is unreasonably long.
func (a Attachment) check() error {
	ct := a.contentType()
	if mt, params, err := mime.ParseMediaType(ct); err != nil || len(params) > 0 || mt != strings.ToLower(ct) {
		return Permanent(fmt.Errorf("notify: attachment %q: content type %q is not a plain media type", a.Name, ct))
	}
	if len(a.Name) > maxFileName {
		return Permanent(fmt.Errorf("notify: attachment name of %d bytes", len(a.Name)))
	}
	return nil
}

// maxFileName bounds an attachment's name (file systems allow 255 bytes).
const maxFileName = 255

// MaxAttachment bounds one attachment: mail servers commonly refuse
// messages over 25 MB, and base64 adds a third; a fax of several hundred
// pages as CCITT-in-PDF stays far below.
const MaxAttachment = 16 << 20

// Document names a file a receipt can carry.
type Document int

// The documents of a fax.
const (
	DocFax       Document = iota // the whole fax as PDF
	DocFirstPage                 // page 1 only, as PDF
	DocReport                    // the transmission report PDF
)

func (d Document) String() string {
	switch d {
	case DocFax:
		return "fax"
	case DocFirstPage:
		return "first page"
	case DocReport:
		return "report"
	}
	return "unknown document"
}

// Documents gives the files receipts attach; gofaxd implements it with
// faxdoc (TIFF → PDF, report page). An error wrapping ErrNoDocument sends
// the receipt without that file, one wrapping ErrPermanent makes the
// delivery dead, any other error is retried.
type Documents interface {
	Document(ctx context.Context, ev gofaxlib.Event, which Document) (Attachment, error)
}

// DocumentsFunc adapts a function to Documents.
type DocumentsFunc func(ctx context.Context, ev gofaxlib.Event, which Document) (Attachment, error)

// Document calls f.
func (f DocumentsFunc) Document(ctx context.Context, ev gofaxlib.Event, which Document) (Attachment, error) {
	return f(ctx, ev, which)
}

// Outcome is what became of one claimed delivery, for metrics.
type Outcome string

// Outcomes counted by Metrics.
const (
	OutcomeDelivered Outcome = "delivered" // the endpoint took it
	OutcomeRetried   Outcome = "retried"   // failed, tried again later
	OutcomeDead      Outcome = "dead"      // failed for good (dead-letter)
	// OutcomeDropped: the outcome was not recorded (shutdown cut the
	// attempt short, the lease ran out, the outbox failed); the delivery
	// is claimed again later, so it may arrive twice but is not lost.
	OutcomeDropped Outcome = "dropped"
)

// Metrics counts outcomes; gofaxd implements it with a Prometheus counter
// vector. Count must not block.
type Metrics interface {
	Count(kind gofaxlib.TargetKind, o Outcome)
}

type nopMetrics struct{}

func (nopMetrics) Count(gofaxlib.TargetKind, Outcome) {}

// safeFileName replaces what breaks a file name in a header or on a file
// system (control characters, quotes, path and shell separators) by '_'.
func safeFileName(name string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || strings.ContainsRune("\"/\\:<>?|*", r) {
			return '_'
		}
		return r
	}, name)
}

// plainASCII reports whether s is printable ASCII.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// extValue encodes s as an RFC 5987 ext-value (filename*=UTF-8”…).
func extValue(s string) string {
	var b strings.Builder
	b.WriteString("UTF-8''")
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
