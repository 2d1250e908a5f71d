package gofaxlib

import (
	"context"
	"errors"
	"time"
)

// ErrOutcomeUnknown says that a submission may or may not have queued its
// job: hfaxd's reply to JSUBM was lost and HylaFAX could not be asked
// afterwards. The fax must be kept, documents and all, until its job is
// looked up again by the fax id (Lookup): found, it is recorded; not
// found, the fax is submitted again. Submitting it anew at once could
// make a second job.
var ErrOutcomeUnknown = errors.New("submission outcome unknown")

// DocumentFormat is the kind of a submitted document, recognised by its
// content.
type DocumentFormat string

// Document formats the REST API accepts for sending.
const (
	FormatPDF  DocumentFormat = "pdf"
	FormatTIFF DocumentFormat = "tiff"
)

// SubmitDocument is one checked document of a fax to send.
type SubmitDocument struct {
	// Path is a local file the submitter reads (uploads to hfaxd); the
	// caller removes it once Submit returns.
	Path   string
	Format DocumentFormat
	Pages  int
	Size   int64
}

// SubmitJob is a fax the REST API hands to HylaFAX as one faxq job.
type SubmitJob struct {
	// FaxID is the fax row written before submission; the job carries it
	// (JPARM USRKEY) so it is found again after a crash before the job
	// id was recorded.
	FaxID    string
	TenantID string
	// Owner is the sending user's name: the job's owner (JPARM OWNER),
	// by which gofaxsend finds the user and its tenant.
	Owner string
	// From is one of the tenant's numbers (FAXNUMBER), To the number to
	// dial; both E.164.
	From string
	To   string
	// Header is the page header; "" = the number's.
	Header string
	// NotifyAddr is where HylaFAX's own notify mails about the job (it
	// mails failures always, as for sendfax users): the user's e-mail
	// address; "" = hfaxd's default, the submitting account.
	NotifyAddr string
	// SendAt is when to send (zero = now); Expires when faxq gives up
	// (zero = the submitter's default); MaxTries bounds the calls (0 =
	// HylaFAX's default).
	SendAt    time.Time
	Expires   time.Time
	MaxTries  int
	Documents []SubmitDocument
}

// Submitter puts faxes into HylaFAX's queue, where faxq schedules and
// retries them (implemented with hfaxd's client protocol).
type Submitter interface {
	// Submit creates and submits the job and returns the host whose
	// HylaFAX queues it and its job id. When it returns an error no job
	// of it is left in the queue (one created but not submitted is
	// removed), except with ErrOutcomeUnknown: then HylaFAX may have
	// queued it. An error wrapping ErrUnavailable says HylaFAX could not
	// be reached and a later try may work.
	Submit(ctx context.Context, job SubmitJob) (host string, jobID int, err error)
	// Kill removes job jobID on host from the queue; faxq then reports it
	// killed (the fax becomes canceled). ErrNotFound: no such job (any
	// more); ErrConflict: the job is on another host's HylaFAX.
	Kill(ctx context.Context, host string, jobID int) error
	// Lookup finds the job HylaFAX queued for fax faxID (by its user
	// key) after a crash or a lost reply between creating and recording
	// it: the host and job id, in sendq or doneq. ErrNotFound: HylaFAX
	// has no job of the fax; ErrUnavailable: HylaFAX could not be asked.
	Lookup(ctx context.Context, faxID string) (host string, jobID int, err error)
}
