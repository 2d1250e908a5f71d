package api

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/faxdoc"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hook"
)

// Limits of a fax submission (POST /v1/faxes) besides Options.MaxUpload
// and Options.MaxPages.
const (
	// maxFiles bounds the documents of one fax; HylaFAX's sendfax takes
	// any number, but a fax of more than a few documents is a mistake.
	maxFiles = 20
	// maxParts bounds the parts of the form: the documents and each field
	// once, with room for a client that sends an empty extra part.
	maxParts = maxFiles + 16
	// maxFieldLen bounds a form field's value: numbers, times and a page
	// header are far shorter.
	maxFieldLen = 1024
	// formSlack is what the form may hold beyond its documents: part
	// headers, boundaries and fields.
	formSlack = 64 << 10
	// sniffLen is how much of a document is looked at to recognise it:
	// a PDF's header may come after up to 1024 bytes of junk.
	sniffLen = 1024
	// pdfinfoTimeout bounds checking one PDF; pdfinfo reads only the
	// document structure and takes milliseconds on sound files.
	pdfinfoTimeout = 30 * time.Second
	// maxIdempotencyKeyLen is the column's limit.
	maxIdempotencyKeyLen = 255
	// maxAhead bounds send_at and expires: faxq's queue is no calendar.
	maxAhead = 30 * 24 * time.Hour
	// defaultExpiry is how long faxq keeps trying when the request says
	// nothing (hfaxd's own default is 3 hours).
	defaultExpiry = 24 * time.Hour
	// maxTriesLimit bounds max_tries.
	maxTriesLimit = 100
)

// submitFields are the form fields of POST /v1/faxes besides "file".
var submitFields = []string{"to", "from", "header", "send_at", "expires", "max_tries"}

// submission is a parsed POST /v1/faxes form: its fields as given and its
// documents, written to files in the request's upload directory.
type submission struct {
	fields map[string]string
	docs   []gofaxlib.SubmitDocument
	size   int64 // of all documents
}

// readSubmission reads a multipart/form-data body with boundary, writing
// each "file" part to a new file in dir as it arrives (nothing is held in
// memory but a field's value) and recognising it by its first bytes: PDF
// or TIFF, whatever its name or declared type says. Documents may hold at
// most limit bytes together. The caller removes dir.
func readSubmission(body io.Reader, boundary, dir string, limit int64) (*submission, error) {
	sub := &submission{fields: map[string]string{}}
	mr := multipart.NewReader(body, boundary)
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, formError(err)
		}
		if parts >= maxParts {
			return nil, fail(errBadRequest, "more than %d parts in the form", maxParts)
		}
		name := part.FormName()
		switch {
		case name == "file":
			if len(sub.docs) >= maxFiles {
				return nil, fail(errTooLarge, "more than %d documents", maxFiles)
			}
			doc, err := saveDocument(part, dir, len(sub.docs)+1, limit-sub.size)
			if err != nil {
				return nil, err
			}
			sub.docs = append(sub.docs, doc)
			sub.size += doc.Size
		case contains(submitFields, name):
			if _, dup := sub.fields[name]; dup {
				return nil, fail(errBadRequest, "field %q given more than once", name)
			}
			v, err := io.ReadAll(io.LimitReader(part, maxFieldLen+1))
			if err != nil {
				return nil, formError(err)
			}
			if len(v) > maxFieldLen {
				return nil, fieldErr(name, "longer than %d bytes", maxFieldLen)
			}
			if !utf8.Valid(v) {
				return nil, fieldErr(name, "not valid UTF-8")
			}
			sub.fields[name] = string(v)
		case name == "":
			return nil, fail(errBadRequest, "a form part without a name")
		default:
			return nil, fail(errBadRequest, "unknown form field %q (file, %s)", clipText(name), strings.Join(submitFields, ", "))
		}
		part.Close()
	}
	return sub, nil
}

// paths returns the files of the documents.
func (sub *submission) paths() []string {
	out := make([]string, len(sub.docs))
	for i, d := range sub.docs {
		out[i] = d.Path
	}
	return out
}

// formError classifies an error reading the form: a body over the limit
// is 413, anything else malformed 400.
func formError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fail(errTooLarge, "the submission is larger than allowed ([web] maxupload)")
	}
	return fail(errBadRequest, "malformed multipart/form-data: %v", err)
}

// saveDocument writes document number n (1-based) to a file in dir, at
// most limit bytes, and recognises its format.
func saveDocument(part io.Reader, dir string, n int, limit int64) (gofaxlib.SubmitDocument, error) {
	br := bufio.NewReaderSize(part, sniffLen)
	head, err := br.Peek(sniffLen)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return gofaxlib.SubmitDocument{}, formError(err)
	}
	if len(head) == 0 {
		return gofaxlib.SubmitDocument{}, fieldErr("file", "document %d is empty", n)
	}
	format := sniff(head)
	if format == "" {
		return gofaxlib.SubmitDocument{}, fail(errUnsupported, "document %d is neither a PDF nor a TIFF file", n)
	}
	f, err := os.CreateTemp(dir, fmt.Sprintf("doc%02d-*.%s", n, format))
	if err != nil {
		return gofaxlib.SubmitDocument{}, fmt.Errorf("api: saving a document: %w", err)
	}
	size, err := io.Copy(f, io.LimitReader(br, limit+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil && (errors.As(err, new(*http.MaxBytesError)) || errors.Is(err, io.ErrUnexpectedEOF) || isMultipartErr(err)):
		return gofaxlib.SubmitDocument{}, formError(err)
	case err != nil:
		return gofaxlib.SubmitDocument{}, fmt.Errorf("api: saving a document: %w", err)
	case size > limit:
		return gofaxlib.SubmitDocument{}, fail(errTooLarge, "the documents are larger than allowed ([web] maxupload)")
	}
	return gofaxlib.SubmitDocument{Path: f.Name(), Format: format, Size: size}, nil
}

// isMultipartErr reports errors of the multipart reader (the body, not
// the disk).
func isMultipartErr(err error) bool {
	return strings.HasPrefix(err.Error(), "multipart: ")
}

// sniff recognises a document by its first bytes: a TIFF header ("II*\0"
// or "MM\0*"), or the PDF header "%PDF-" within the first 1024 bytes (as
// PDF readers allow).
func sniff(head []byte) gofaxlib.DocumentFormat {
	switch {
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		return gofaxlib.FormatTIFF
	case bytes.Contains(head, []byte("%PDF-")):
		return gofaxlib.FormatPDF
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// faxRequest is a validated submission.
type faxRequest struct {
	to, header      string
	from            gofaxlib.Number
	sendAt, expires time.Time
	maxTries        int
}

// validate checks the fields of sub for p's tenant: to as E.164, from one
// of the tenant's numbers (default: the user's default number), the
// header, times and tries.
func (s *Server) validate(ctx context.Context, sub *submission, p *principal, now time.Time) (*faxRequest, error) {
	f := sub.fields
	req := &faxRequest{}
	if strings.TrimSpace(f["to"]) == "" {
		return nil, fieldErr("to", "required: the number to send to")
	}
	var err error
	if req.to, err = s.o.Plan.E164(f["to"]); err != nil {
		return nil, &gofaxlib.FieldError{Field: "to", Err: err}
	}
	sc := p.scope()
	switch from := strings.TrimSpace(f["from"]); {
	case from != "":
		e, err := s.o.Plan.E164(from)
		if err != nil {
			return nil, &gofaxlib.FieldError{Field: "from", Err: err}
		}
		if req.from, err = s.store.NumberByE164(ctx, sc, e); err != nil {
			if errors.Is(err, gofaxlib.ErrNotFound) {
				return nil, fieldErr("from", "%s is not one of the tenant's numbers", e)
			}
			return nil, err
		}
	case p.user.DefaultNumberID != "":
		if req.from, err = s.store.Number(ctx, sc, p.user.DefaultNumberID); err != nil {
			if errors.Is(err, gofaxlib.ErrNotFound) {
				return nil, fieldErr("from", "required: the user's default number is gone")
			}
			return nil, err
		}
	default:
		return nil, fieldErr("from", "required: one of the tenant's numbers (the user has no default number)")
	}
	if req.from.Suspended {
		return nil, fieldErr("from", "%s is suspended", req.from.Number)
	}
	req.header = f["header"]
	if len(req.header) > gofaxlib.MaxHeaderLen || gofaxlib.HasControl(req.header) {
		return nil, fieldErr("header", "at most %d bytes without control characters", gofaxlib.MaxHeaderLen)
	}
	start := now
	if v := f["send_at"]; v != "" {
		if req.sendAt, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return nil, fieldErr("send_at", "%q is not an RFC 3339 time such as 2025-03-01T10:00:00Z", clipText(v))
		}
		if req.sendAt.After(now.Add(maxAhead)) {
			return nil, fieldErr("send_at", "more than %d days ahead", int(maxAhead.Hours()/24))
		}
		if req.sendAt.Before(now) {
			req.sendAt = time.Time{} // at once
		} else {
			start = req.sendAt
		}
	}
	req.expires = start.Add(defaultExpiry)
	if v := f["expires"]; v != "" {
		if req.expires, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return nil, fieldErr("expires", "%q is not an RFC 3339 time such as 2025-03-02T10:00:00Z", clipText(v))
		}
		if !req.expires.After(start) {
			return nil, fieldErr("expires", "must be after send_at (or now)")
		}
		if req.expires.After(start.Add(maxAhead)) {
			return nil, fieldErr("expires", "more than %d days after send_at (or now)", int(maxAhead.Hours()/24))
		}
	}
	if v := f["max_tries"]; v != "" {
		if req.maxTries, err = strconv.Atoi(strings.TrimSpace(v)); err != nil || req.maxTries < 1 || req.maxTries > maxTriesLimit {
			return nil, fieldErr("max_tries", "%q: a whole number from 1 to %d", clipText(v), maxTriesLimit)
		}
	}
	if len(sub.docs) == 0 {
		return nil, fieldErr("file", "required: at least one PDF or TIFF document")
	}
	return req, nil
}

// checkDocuments counts the pages of every document: a PDF with pdfinfo
// (which also refuses a broken one), a TIFF with faxdoc. A document that
// cannot be read is 422, more pages than allowed 413.
func (s *Server) checkDocuments(ctx context.Context, sub *submission) (int, error) {
	total := 0
	for i := range sub.docs {
		d := &sub.docs[i]
		var err error
		switch d.Format {
		case gofaxlib.FormatPDF:
			d.Pages, err = s.pdfPages(ctx, d.Path)
		case gofaxlib.FormatTIFF:
			d.Pages, err = tiffPages(d.Path)
		}
		if err != nil {
			return 0, err
		}
		if d.Pages < 1 {
			return 0, fieldErr("file", "document %d has no pages", i+1)
		}
		if total += d.Pages; total > s.o.MaxPages {
			return 0, fail(errTooLarge, "more than %d pages ([web] maxpages)", s.o.MaxPages)
		}
	}
	return total, nil
}

// pdfPages runs pdfinfo on path and returns its page count; a PDF pdfinfo
// cannot read is a 422.
func (s *Server) pdfPages(ctx context.Context, path string) (int, error) {
	// In the spool: as its owner when gofaxd runs as root (the documents
	// are that owner's, see giveToSpool).
	res, err := hook.Run(ctx, hook.Cmd{Path: s.o.PDFInfo, Args: []string{path}, Dir: s.o.Spool, Timeout: pdfinfoTimeout})
	switch {
	case errors.Is(err, hook.ErrExit):
		return 0, fieldErr("file", "not a readable PDF document: %s", firstLine(res.Stderr))
	case errors.Is(err, hook.ErrTimeout):
		return 0, fieldErr("file", "the PDF document could not be checked within %v", pdfinfoTimeout)
	case err != nil:
		return 0, fmt.Errorf("api: pdfinfo: %w", err)
	}
	return parsePDFInfo(res.Stdout)
}

// parsePDFInfo finds "Pages: N" in pdfinfo's output.
func parsePDFInfo(out []byte) (int, error) {
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "Pages:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 0 {
				break
			}
			return n, nil
		}
	}
	return 0, fieldErr("file", "not a readable PDF document: pdfinfo found no page count")
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return clipText(s)
}

// tiffPages counts the pages of a TIFF file.
func tiffPages(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("api: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("api: %w", err)
	}
	pages, err := faxdoc.ReadPages(f, fi.Size())
	if err != nil {
		return 0, fieldErr("file", "not a readable TIFF document: %v", strings.TrimPrefix(err.Error(), "faxdoc: "))
	}
	return len(pages), nil
}

// idempotencyKey returns the request's Idempotency-Key ("" = none): 1 to
// 255 printable ASCII characters.
func idempotencyKey(r *http.Request) (string, error) {
	vals := r.Header.Values("Idempotency-Key")
	if len(vals) == 0 {
		return "", nil
	}
	k := vals[0]
	if len(vals) > 1 || k == "" || len(k) > maxIdempotencyKeyLen || strings.IndexFunc(k, func(r rune) bool { return r < ' ' || r > '~' }) >= 0 {
		return "", fail(errBadRequest, "Idempotency-Key: one value of 1 to %d printable ASCII characters", maxIdempotencyKeyLen)
	}
	return k, nil
}

// submitTimeout bounds handing a fax to HylaFAX (uploads to hfaxd and
// the job); it runs to its end even when the client has gone, so that the
// fax is either queued and recorded or not kept.
const submitTimeout = 2 * time.Minute

// recordTimeout bounds recording what became of a submission; it is
// less than what Shutdown waits for a handler cut short.
const recordTimeout = 5 * time.Second

// submitFax sends a fax: the documents are streamed to the upload
// directory and checked, the fax row (with the Idempotency-Key) is
// written, the documents and options are kept under the fax id until the
// job exists (see Recover), then the Submitter puts the job into HylaFAX's
// queue and the host and job id are recorded. The answer is 202 with the
// fax. A request repeated with the same Idempotency-Key answers with the
// fax of the first and submits nothing, unless the first never reached
// HylaFAX (a crash, a lost reply): then the job is looked up by the fax
// id (its USRKEY) and recorded, or submitted with the repeated request's
// documents. When submission fails the row is removed again, so a retry
// with the same key starts afresh. When hfaxd did not confirm the job and
// could not be asked again, the answer is 202 with the fax queued but
// without a job id: the fax is kept, and Recover records its job or
// submits it, once.
func (s *Server) submitFax(w http.ResponseWriter, r *http.Request, p *principal) error {
	if p.isAdmin() {
		return forbidden("faxes are sent by a tenant's user (an API key or a user's login), not with an admin token")
	}
	if s.o.Submitter == nil {
		return fail(errNotImplemented, "this server cannot reach HylaFAX's queue (no hfaxd account configured)")
	}
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return fail(errUnsupported, "a fax is sent as multipart/form-data (file, to, from, ...)")
	}
	base, err := s.uploadDir()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp(base, requestDirPrefix)
	if err != nil {
		return fmt.Errorf("api: upload directory: %w", err)
	}
	up := &upload{dir: dir}
	defer up.remove()
	body := http.MaxBytesReader(w, r.Body, s.o.MaxUpload+formSlack)
	sub, err := readSubmission(body, params["boundary"], dir, s.o.MaxUpload)
	if err != nil {
		return err
	}
	if err := s.giveToSpool(append([]string{dir}, sub.paths()...)...); err != nil {
		return fmt.Errorf("api: upload directory: %w", err)
	}
	ctx := r.Context()
	sc := p.scope()
	for try := 0; ; try++ {
		if key != "" {
			f, err := s.store.FaxByIdempotencyKey(ctx, sc, key)
			if err == nil {
				return s.replay(w, r, p, sub, up, &f)
			} else if !errors.Is(err, gofaxlib.ErrNotFound) {
				return err
			}
		}
		req, err := s.validate(ctx, sub, p, time.Now())
		if err != nil {
			return err
		}
		pages, err := s.checkDocuments(ctx, sub)
		if err != nil {
			return err
		}
		f := gofaxlib.Fax{ID: newFaxID(), TenantID: p.user.TenantID, Direction: gofaxlib.Outbound,
			Status: gofaxlib.StatusQueued, From: req.from.Number, To: req.to, CallerIDName: req.from.CallerIDName,
			UserID: p.user.ID, Owner: p.user.Username, PagesTotal: pages, IdempotencyKey: key}
		// Held until the fax is queued and recorded, or removed: a
		// repeated request and Recover wait for it.
		unlock, err := s.lockFax(ctx, f.ID)
		if err != nil {
			return err
		}
		if err := s.store.CreateFax(ctx, sc, &f); err != nil {
			unlock()
			if key != "" && try == 0 && errors.Is(err, gofaxlib.ErrConflict) {
				continue // the same request running at the same time won: answer with its fax
			}
			return err
		}
		defer unlock()
		job := s.submitJob(&f, req, p, sub.docs)
		if err := s.queue(r, p, &f, job, up); err != nil {
			return err
		}
		s.audit(r, p, "fax.submit", "fax", f.ID, f.TenantID, map[string]any{"to": f.To, "from": f.From,
			"pages": pages, "host": f.Host, "job_id": f.JobID, "confirmed": f.JobID != 0})
		w.Header().Set("Location", "/v1/faxes/"+f.ID)
		s.reply(w, http.StatusAccepted, gofaxlib.NewFaxResource(&f, []gofaxlib.Attempt{}))
		return nil
	}
}

// submitJob is the HylaFAX job of fax f, sent by p as req asks.
func (s *Server) submitJob(f *gofaxlib.Fax, req *faxRequest, p *principal, docs []gofaxlib.SubmitDocument) gofaxlib.SubmitJob {
	return gofaxlib.SubmitJob{FaxID: f.ID, TenantID: f.TenantID, Owner: f.Owner, From: f.From, To: f.To,
		Header: req.header, NotifyAddr: p.user.Email, SendAt: req.sendAt, Expires: req.expires,
		MaxTries: req.maxTries, Documents: docs}
}

// queue hands fax f (its row written, its lock held) to HylaFAX: the
// documents and job are kept under the fax id (Recover resubmits them
// after a crash), the Submitter queues the job, then the host and job id
// are recorded in f and the row. When HylaFAX does not take the fax the
// row is removed again (a retry with the same Idempotency-Key starts
// afresh) and the error returned. When hfaxd's answer was lost and it
// could not be asked again (gofaxlib.ErrOutcomeUnknown), the row and the
// kept documents stay and queue returns nil with f's job id unset:
// Recover (and a repeated request) find the job by the fax id, or submit
// the fax, once.
func (s *Server) queue(r *http.Request, p *principal, f *gofaxlib.Fax, job gofaxlib.SubmitJob, up *upload) error {
	// Not cut short by the client: the fax is either queued and recorded
	// or not kept. A hard stop of the server (Shutdown's context ended)
	// does cut it short; the outcome is then unknown at worst.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), submitTimeout)
	defer cancel()
	defer context.AfterFunc(s.stop, cancel)()
	sc := p.scope()
	if err := s.keepPending(up, &job); err != nil {
		s.log.Warn("api: the documents of a fax are not kept for a restart", "request_id", requestID(r),
			"fax_id", f.ID, "error", err)
	}
	host, jobID, err := s.o.Submitter.Submit(ctx, job)
	// What HylaFAX did is recorded even when the submission was cut
	// short (the store is closed only after the handlers ended).
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer rcancel()
	switch {
	case errors.Is(err, gofaxlib.ErrOutcomeUnknown):
		// The fax may be in HylaFAX's queue: its row and documents stay
		// for Recover, which records the job or submits the fax.
		up.keep()
		s.log.Warn("api: hfaxd did not confirm the job of a fax; it is kept and settled by the recovery",
			"request_id", requestID(r), "fax_id", f.ID, "error", err)
		return nil
	case err != nil:
		// HylaFAX has no job of the fax, and the client is told so: the
		// documents go (a row left over is failed by Recover, never sent).
		up.remove()
		if aerr := s.store.AbandonFax(rctx, sc, f.ID); aerr != nil {
			s.log.Error("api: a fax that was not submitted stays queued; Recover fails it", "request_id", requestID(r),
				"fax_id", f.ID, "error", aerr)
		}
		if errors.Is(err, gofaxlib.ErrUnavailable) {
			return hfaxdUnavailable("the fax was not queued; retry the request (with the same Idempotency-Key)")
		}
		return err
	}
	// The job exists: its documents are HylaFAX's now.
	up.remove()
	f.Host, f.JobID = host, jobID
	if err := s.store.SetFaxJob(rctx, sc, f.ID, host, jobID); err != nil {
		// The job is queued: gofaxd's queue watcher records its id from
		// the qfile, and Recover finds it by its USRKEY.
		s.log.Error("api: recording the HylaFAX job of a submitted fax failed", "request_id", requestID(r),
			"fax_id", f.ID, "host", host, "job_id", jobID, "error", err)
	}
	return nil
}

// hfaxdUnavailable is the 503 answer when HylaFAX's hfaxd cannot be
// reached or cannot take the request; what says what became of it and
// what to do.
func hfaxdUnavailable(what string) error {
	return &reason{sentinel: gofaxlib.ErrUnavailable,
		msg: "HylaFAX's hfaxd (the service that queues faxes) cannot be reached or cannot take requests now: " +
			what + " after the seconds in Retry-After"}
}

// replay answers a repeated submission with the fax of the first, unless
// the repetition asks for another destination or sender. A first
// submission that never reached HylaFAX (queued without a job on this
// host: gofaxd stopped, or a reply was lost) is finished now: its job is
// looked up by the fax id and recorded, or, when HylaFAX has none, the
// fax is submitted with this request's documents.
func (s *Server) replay(w http.ResponseWriter, r *http.Request, p *principal, sub *submission, up *upload, f *gofaxlib.Fax) error {
	ctx := r.Context()
	to, _ := s.o.Plan.E164(sub.fields["to"])
	from := f.From
	if v := strings.TrimSpace(sub.fields["from"]); v != "" {
		from, _ = s.o.Plan.E164(v)
	}
	if to != f.To || from != f.From {
		return fail(gofaxlib.ErrInvalid, "this Idempotency-Key was used for another fax (to %s from %s)", f.To, f.From)
	}
	if s.unsubmitted(f) {
		unlock, err := s.lockFax(ctx, f.ID)
		if err != nil {
			return err
		}
		defer unlock()
		if err := s.resume(r, p, sub, up, f.ID); err != nil {
			return err
		}
	}
	first, attempts, err := s.store.FaxWithAttempts(ctx, p.scope(), f.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/faxes/"+f.ID)
	w.Header().Set("Idempotent-Replayed", "true")
	s.reply(w, http.StatusAccepted, gofaxlib.NewFaxResource(&first, attempts))
	return nil
}

// unsubmitted reports whether f is a fax of this host whose HylaFAX job is
// not recorded.
func (s *Server) unsubmitted(f *gofaxlib.Fax) bool {
	return s.o.Submitter != nil && f.Direction == gofaxlib.Outbound && f.Status == gofaxlib.StatusQueued &&
		f.JobID == 0 && f.Host == s.store.Host()
}

// resume finishes the submission of fax id (its lock held) with the
// documents of a repeated request: the job HylaFAX has of it is recorded,
// or the fax is submitted now.
func (s *Server) resume(r *http.Request, p *principal, sub *submission, up *upload, id string) error {
	ctx := r.Context()
	f, err := s.store.Fax(ctx, p.scope(), id)
	if err != nil || !s.unsubmitted(&f) {
		return err // finished meanwhile
	}
	host, jobID, err := s.o.Submitter.Lookup(ctx, f.ID)
	switch {
	case err == nil:
		s.log.Info("api: a repeated submission found its job", "request_id", requestID(r), "fax_id", f.ID, "job_id", jobID)
		if err := s.store.SetFaxJob(context.WithoutCancel(ctx), p.scope(), f.ID, host, jobID); err != nil {
			return err
		}
		// What the first request kept for Recover is HylaFAX's now.
		os.RemoveAll(s.keptDir(f.ID))
		return nil
	case !errors.Is(err, gofaxlib.ErrNotFound):
		if errors.Is(err, gofaxlib.ErrUnavailable) {
			return hfaxdUnavailable("the fax's earlier submission could not be checked; retry the request (with the same Idempotency-Key)")
		}
		return err
	}
	req, err := s.validate(ctx, sub, p, time.Now())
	if err != nil {
		return err
	}
	if _, err := s.checkDocuments(ctx, sub); err != nil {
		return err
	}
	s.log.Info("api: a repeated submission queues the fax its first never queued", "request_id", requestID(r), "fax_id", f.ID)
	if err := s.queue(r, p, &f, s.submitJob(&f, req, p, sub.docs), up); err != nil {
		return err
	}
	s.audit(r, p, "fax.submit", "fax", f.ID, f.TenantID, map[string]any{"to": f.To, "from": f.From,
		"pages": f.PagesTotal, "host": f.Host, "job_id": f.JobID, "confirmed": f.JobID != 0, "resumed": true})
	return nil
}
