package gofaxlib

import (
	"time"
)

// Direction is whether a fax was sent or received.
type Direction string

// Fax directions.
const (
	Outbound Direction = "outbound" // sent: one HylaFAX job
	Inbound  Direction = "inbound"  // received: one call
)

// FaxStatus is where a fax stands. A sent fax follows faxq's decisions
// (see StatusFromNotify), not a guess from one attempt.
type FaxStatus string

// Statuses of sent faxes: queued → sending → (retrying → sending …) →
// delivered, failed or canceled. Statuses of received faxes: receiving →
// received or failed (a partial reception is received, with fewer pages
// transferred than announced, and its error).
const (
	StatusQueued    FaxStatus = "queued"
	StatusSending   FaxStatus = "sending"
	StatusRetrying  FaxStatus = "retrying"
	StatusDelivered FaxStatus = "delivered"
	StatusFailed    FaxStatus = "failed"
	StatusCanceled  FaxStatus = "canceled"
	StatusReceiving FaxStatus = "receiving"
	StatusReceived  FaxStatus = "received"
)

// Terminal reports whether s is final: delivered, failed, canceled or
// received.
func (s FaxStatus) Terminal() bool {
	switch s {
	case StatusDelivered, StatusFailed, StatusCanceled, StatusReceived:
		return true
	}
	return false
}

// ValidFor reports whether a fax of direction d can have status s.
func (s FaxStatus) ValidFor(d Direction) bool {
	switch d {
	case Outbound:
		switch s {
		case StatusQueued, StatusSending, StatusRetrying, StatusDelivered, StatusFailed, StatusCanceled:
			return true
		}
	case Inbound:
		switch s {
		case StatusReceiving, StatusReceived, StatusFailed:
			return true
		}
	}
	return false
}

// notifyStatus maps faxq's notify reasons ("why", the second argument of
// NotifyCmd) to fax statuses: the one mapping the store, the API and the
// receipts use.
var notifyStatus = map[string]FaxStatus{
	"done":          StatusDelivered,
	"failed":        StatusFailed,
	"rejected":      StatusFailed,
	"format_failed": StatusFailed,
	"timedout":      StatusFailed,
	"no_formatter":  StatusFailed, // the document cannot be converted: final like format_failed
	"killed":        StatusCanceled,
	"removed":       StatusCanceled,
	"requeued":      StatusRetrying,
	"blocked":       StatusQueued, // waits for another job to the same number
	// Polling is not offered, but faxq could report it: final failures.
	"poll_rejected":    StatusFailed,
	"poll_no_document": StatusFailed,
	"poll_failed":      StatusFailed,
}

// StatusFromNotify returns the status of a sent fax after faxq ran its
// notify command with reason why: done → delivered; failed, rejected,
// format_failed, timedout → failed; killed, removed → canceled; requeued
// → retrying. ok is false for a reason faxq does not give.
func StatusFromNotify(why string) (status FaxStatus, ok bool) {
	status, ok = notifyStatus[why]
	return status, ok
}

// Fax is one received fax (one call) or one sent fax (one HylaFAX job,
// with one Attempt per call).
type Fax struct {
	ID        string    `json:"id"` // UUID, also the archive's name for its document
	TenantID  string    `json:"tenant_id,omitempty"`
	Direction Direction `json:"direction"`
	Status    FaxStatus `json:"status"`
	// From and To are E.164 where they could be normalised; a caller ID
	// that could not (anonymous, letters) is kept as received.
	From         string `json:"from"`
	To           string `json:"to"`
	CallerIDName string `json:"caller_id_name,omitempty"`
	// UserID and Owner say who sent it (Owner = HylaFAX job owner).
	UserID           string `json:"user_id,omitempty"`
	Owner            string `json:"owner,omitempty"`
	PagesTotal       int    `json:"pages_total"`
	PagesTransferred int    `json:"pages_transferred"`
	// ResultCode and ResultText are the T.30 result of the last call
	// (ResultText "" = none yet), or HylaFAX's reason for a job it ended.
	ResultCode      T30Code `json:"result_code"`
	ResultText      string  `json:"result_text,omitempty"`
	HangupCause     string  `json:"hangup_cause,omitempty"`
	RemoteStationID string  `json:"remote_station_id,omitempty"`
	// Host is the name of the gofaxserver host holding the HylaFAX job or
	// received file; JobID (sent) and CommID / RecvqFile (received) are
	// HylaFAX's names for it there.
	Host      string `json:"host"`
	JobID     int    `json:"job_id,omitempty"`
	CommID    string `json:"commid,omitempty"`
	RecvqFile string `json:"recvq_file,omitempty"`
	// The archived document (the received TIFF, or the sent one).
	DocumentPath   string `json:"-"` // server path, never shown to callers
	DocumentSize   int64  `json:"document_size,omitempty"`
	DocumentSHA256 string `json:"document_sha256,omitempty"` // hex
	// IdempotencyKey is the API's Idempotency-Key, unique per tenant.
	IdempotencyKey string    `json:"-"`
	Created        time.Time `json:"created_at"`
	Updated        time.Time `json:"updated_at"`
	Completed      time.Time `json:"completed_at"` // zero until Status is terminal
}

// Attempt is one call of a fax: the reception, or one try of a send job.
type Attempt struct {
	ID    string `json:"id"`
	FaxID string `json:"fax_id"`
	// RecordID is the spool journal record that reported the attempt;
	// recording the same record twice changes nothing.
	RecordID string `json:"-"`
	Host     string `json:"host"`
	Modem    string `json:"modem,omitempty"`
	CallUUID string `json:"call_uuid,omitempty"` // FreeSWITCH channel UUID
	Gateway  string `json:"gateway,omitempty"`   // sofia gateway (sent) or the caller's (received)
	Number   string `json:"number,omitempty"`    // the number dialled or called
	// Started is when the call began (originate or inbound socket);
	// Answered and Ended are zero when unknown.
	Started          time.Time `json:"started_at"`
	Answered         time.Time `json:"answered_at"`
	Ended            time.Time `json:"ended_at"`
	HangupCause      string    `json:"hangup_cause,omitempty"`
	ResultCode       T30Code   `json:"result_code"`
	ResultText       string    `json:"result_text,omitempty"`
	Success          bool      `json:"success"` // every page arrived (Result.Delivered)
	PagesTotal       int       `json:"pages_total"`
	PagesTransferred int       `json:"pages_transferred"`
	SignalRate       int       `json:"signal_rate,omitempty"` // bit/s
	ECM              bool      `json:"ecm"`
	T38Status        string    `json:"t38_status,omitempty"`
	RemoteStationID  string    `json:"remote_station_id,omitempty"`
}

// Duration is the connected time (answer to end), zero when unknown.
func (a *Attempt) Duration() time.Duration {
	if a.Answered.IsZero() || a.Ended.Before(a.Answered) {
		return 0
	}
	return a.Ended.Sub(a.Answered)
}

// SetResult copies a call's outcome into a.
func (a *Attempt) SetResult(r *Result) {
	a.Answered, a.Ended = r.Answered, r.Hangup
	a.HangupCause = r.HangupCause
	if r.Final {
		a.ResultCode, a.ResultText = r.ResultCode, r.ResultText
	}
	a.Success = r.Delivered()
	a.PagesTotal, a.PagesTransferred = r.TotalPages, r.TransferredPages
	a.SignalRate, a.ECM, a.T38Status = r.TransferRate, r.ECM, r.T38Status
	a.RemoteStationID = r.RemoteID
}

// FaxFilter selects faxes of a list; zero fields select everything.
type FaxFilter struct {
	Direction Direction
	Status    FaxStatus
	From, To  string    // exact numbers as stored (E.164)
	Since     time.Time // created at or after
	Until     time.Time // created before
	Page      Page
}
