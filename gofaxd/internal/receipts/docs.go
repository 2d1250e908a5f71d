package receipts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/faxdoc"
	"github.com/gofaxserver/gofaxserver/gofaxlib/notify"
)

// FaxStore is what the documents need of the tenant store: the fax row,
// which names its archived document.
type FaxStore interface {
	Fax(ctx context.Context, scope gofaxlib.Scope, id string) (gofaxlib.Fax, error)
}

// docWait is how long after its event a sent fax may still lack its
// archived document: gofaxd archives a job's document when it sees the
// job prepared, or from doneq a few seconds after the job ended, which
// may be after faxq's notice made the event. Until then a receipt that
// attaches it is retried; later it is sent without.
const docWait = 2 * time.Minute

// Docs gives the files receipts attach (a notify.Documents), made from
// the fax's archived document, never from recvq: the whole fax as PDF and
// its first page (the CCITT data passed through, not decoded), and the
// one-page transmission report. Dates are in the tenant's time zone.
type Docs struct {
	Store FaxStore
	// Host is this host's name: a document archived on another host that
	// is not readable here is retried (that host's dispatcher may take
	// it), not sent without.
	Host string
	// Archive is the archive directory (absolute): a fax's document is
	// read only from below it.
	Archive string
	Log     *slog.Logger
	Now     func() time.Time // nil: time.Now
}

var _ notify.Documents = (*Docs)(nil)

// Document implements notify.Documents.
func (d *Docs) Document(ctx context.Context, ev gofaxlib.Event, which notify.Document) (notify.Attachment, error) {
	f, err := d.Store.Fax(ctx, gofaxlib.OperatorScope(), ev.FaxID)
	if errors.Is(err, gofaxlib.ErrNotFound) {
		return notify.Attachment{}, fmt.Errorf("receipts: fax %s is gone: %w", ev.FaxID, notify.ErrNoDocument)
	}
	if err != nil {
		return notify.Attachment{}, err // the database: retried
	}
	res := resource(ev, &f)
	loc := location(ev.TimeZone)
	name := fileName(res, which, ev.Time.In(loc))

	doc, err := d.open(ev, &f, which)
	if err != nil && which != notify.DocReport {
		return notify.Attachment{}, err
	}
	if doc != nil {
		defer doc.close()
	}
	var buf bytes.Buffer
	switch which {
	case notify.DocFax:
		if doc.pdf {
			_, err = buf.ReadFrom(doc.file)
			break
		}
		err = doc.tiff.WritePDF(&buf)
	case notify.DocFirstPage:
		if doc.pdf {
			// A sent PDF archived as submitted (gofaxd missed the
			// prepared job): its first page is not cut out; it goes
			// whole.
			_, err = buf.ReadFrom(doc.file)
			break
		}
		err = firstPage(&buf, doc.tiff)
	case notify.DocReport:
		var im *faxdoc.FaxImage
		if doc != nil && !doc.pdf {
			if im, err = doc.tiff.FaxImage(0); err != nil {
				d.log().Warn("receipt report without page 1: it cannot be placed", "fax_id", f.ID, "error", err)
				im = nil
			}
		}
		err = Report(&buf, res, ev, loc, im)
	default:
		return notify.Attachment{}, notify.Permanent(fmt.Errorf("receipts: unknown document %v", which))
	}
	if err != nil {
		// A document faxdoc cannot turn into PDF stays so: the receipt
		// goes without it.
		d.log().Error("receipt attachment not made; sent without it", "fax_id", f.ID, "document", which.String(), "error", err)
		return notify.Attachment{}, fmt.Errorf("receipts: %v of fax %s: %v: %w", which, f.ID, err, notify.ErrNoDocument)
	}
	return notify.Attachment{Name: name, ContentType: "application/pdf", Data: buf.Bytes()}, nil
}

func (d *Docs) log() *slog.Logger {
	if d.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Log
}

func (d *Docs) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}

// archived is an open archived document.
type archived struct {
	file *os.File
	pdf  bool
	tiff *faxdoc.File
}

func (a *archived) close() { a.file.Close() }

// open opens fax f's archived document. A fax without one gets
// ErrNoDocument, except a sent fax shortly after its event (its document
// may be archived just after) and a document on another host that is not
// here: those are retried.
func (d *Docs) open(ev gofaxlib.Event, f *gofaxlib.Fax, which notify.Document) (*archived, error) {
	if f.DocumentPath == "" {
		if f.Direction == gofaxlib.Outbound && d.now().Sub(ev.Time) < docWait {
			return nil, fmt.Errorf("receipts: the document of fax %s is not archived yet", f.ID)
		}
		return nil, fmt.Errorf("receipts: fax %s has no archived document: %w", f.ID, notify.ErrNoDocument)
	}
	path, err := gofaxlib.ArchivedPath(d.Archive, f.DocumentPath)
	if err != nil {
		d.log().Error("archived document outside the archive: receipt sent without it", "fax_id", f.ID, "error", err)
		return nil, fmt.Errorf("receipts: fax %s: %w: %w", f.ID, err, notify.ErrNoDocument)
	}
	file, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && f.Host != "" && f.Host != d.Host {
			return nil, fmt.Errorf("receipts: the document of fax %s is archived on host %s", f.ID, f.Host)
		}
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("receipts: archived document of fax %s: %w", f.ID, notify.ErrNoDocument)
		}
		return nil, fmt.Errorf("receipts: archived document of fax %s: %w", f.ID, err)
	}
	a := &archived{file: file}
	fi, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, err
	}
	// A PDF of CCITT data is about as large as its TIFF: a document beyond
	// what a receipt may carry is left out.
	if which != notify.DocReport && fi.Size() > notify.MaxAttachment {
		file.Close()
		return nil, fmt.Errorf("receipts: document of fax %s has %d bytes, more than a receipt carries: %w",
			f.ID, fi.Size(), notify.ErrNoDocument)
	}
	if strings.EqualFold(filepath.Ext(path), ".pdf") {
		a.pdf = true
		return a, nil
	}
	if a.tiff, err = faxdoc.Read(file, fi.Size()); err != nil {
		file.Close()
		d.log().Error("archived document unreadable; receipt sent without it", "fax_id", f.ID, "error", err)
		return nil, fmt.Errorf("receipts: archived document of fax %s: %v: %w", f.ID, err, notify.ErrNoDocument)
	}
	return a, nil
}

// firstPage writes page 1 of t as a one-page PDF of its natural size.
func firstPage(w *bytes.Buffer, t *faxdoc.File) error {
	im, err := t.FaxImage(0)
	if err != nil {
		return err
	}
	width, height := im.Size()
	d := faxdoc.NewPDF(w)
	if err := d.AddPage(width, height).Image(im, 0, 0, width, height); err != nil {
		return err
	}
	return d.Close()
}

// resource is the fax as the event's payload shows it, completed from the
// row where the payload lacks it (an event written by an older version).
func resource(ev gofaxlib.Event, f *gofaxlib.Fax) gofaxlib.FaxResource {
	var r gofaxlib.FaxResource
	if len(ev.Payload) > 0 && len(ev.Payload) <= maxPayload && json.Unmarshal(ev.Payload, &r) == nil && r.ID != "" {
		return r
	}
	return gofaxlib.NewFaxResource(f, nil)
}

// maxPayload bounds the event payload parsed: a fax resource with its
// attempts is a few KiB.
const maxPayload = 1 << 20

// location is the tenant's time zone, UTC when unknown.
func location(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	if l, err := time.LoadLocation(name); err == nil {
		return l
	}
	return time.UTC
}

// maxNameRunes bounds the part of a file name taken from a caller's name.
const maxNameRunes = 40

// fileName names an attachment for people: what, whose, when (in the
// tenant's zone), e.g. "Fax from Müller GmbH +4930123456 2025-03-01
// 10.04.pdf". The mailer and the webhook encode what is not ASCII.
func fileName(r gofaxlib.FaxResource, which notify.Document, at time.Time) string {
	var b strings.Builder
	switch which {
	case notify.DocReport:
		b.WriteString("Fax report")
	default:
		b.WriteString("Fax")
	}
	if r.Direction == gofaxlib.Inbound {
		b.WriteString(" from")
		if n := strings.TrimSpace(r.CallerIDName); n != "" && n != r.From {
			b.WriteString(" " + clipRunes(n, maxNameRunes))
		}
		b.WriteString(" " + orUnknown(r.From))
	} else {
		b.WriteString(" to " + orUnknown(r.To))
	}
	b.WriteString(" " + at.Format("2006-01-02 15.04"))
	if which == notify.DocFirstPage {
		b.WriteString(" page 1")
	}
	b.WriteString(".pdf")
	return b.String()
}

func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

func orUnknown(s string) string {
	if strings.TrimSpace(s) == "" {
		return "unknown"
	}
	return clipRunes(s, maxNameRunes)
}
