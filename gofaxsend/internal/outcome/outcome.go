// Package outcome maps what happened in one send attempt to what HylaFAX's
// faxq acts on: the FaxSendStatus (qfile "returned" and the exit code), a
// statuscode from HylaFAX's numbered status table and the status text that
// faxstat, notify and the clients show.
//
// Local trouble (FreeSWITCH unreachable, a full disk, a script that cannot
// run) is always a retry: only the far end or the job itself can make a
// job fail.
package outcome

import (
	"fmt"
	"strings"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// Status is HylaFAX's FaxSendStatus (faxd/FaxSendStatus.h). faxq treats
// only 0, 1, 3 and 7 specially and everything else as done, so gofaxsend
// produces no other values.
type Status int

// The FaxSendStatus values gofaxsend writes.
const (
	Retry    Status = 0 // send_retry: requeue
	Failed   Status = 1 // send_failed: the job fails
	Done     Status = 2 // send_done: delivered
	Reformat Status = 3 // send_reformat: prepare the documents again, then retry
	NotTried Status = 7 // send_nobatch: back to the ready queue at once
)

// String returns "retry", "failed", "done", "reformat" or "not tried".
func (s Status) String() string {
	switch s {
	case Retry:
		return "retry"
	case Failed:
		return "failed"
	case Done:
		return "done"
	case Reformat:
		return "reformat"
	case NotTried:
		return "not tried"
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// Codes of HylaFAX's status table (the E-numbers of its documentation)
// that gofaxsend reports. faxq and the clients keep them in "statuscode".
const (
	CodeOK           = 0   // call successful
	CodeBusy         = 1   // Busy signal detected
	CodeNoCarrier    = 2   // No carrier detected
	CodeNoAnswer     = 3   // No answer from remote
	CodeNoLine       = 4   // No local dialtone: FreeSWITCH could not be used
	CodeUnknown      = 6   // Unknown problem
	CodeIncapable    = 122 // Remote has no T.4 receiver capability
	CodeDCN          = 124 // COMREC error in transmit Phase B/got DCN
	CodeT1           = 126 // No receiver protocol (T.30 T1 timeout)
	CodeDisconnected = 128 // Remote fax disconnected prematurely
	CodeTrain        = 137 // Failure to train remote modem
	CodeECM          = 143 // Failure to transmit clean ECM image data
	CodePhaseC       = 149 // Unspecified Transmit Phase C error
	CodeScript       = 306 // Bad exit status for a script
	CodeDocument     = 314 // Can not open document file
	CodeNoDocuments  = 323 // Job contains no documents
	CodeInterrupted  = 344 // Job interrupted by user
	CodeRejected     = 345 // Job aborted by request (DynamicConfig RejectCall)
	CodePageSize     = 416 // remote does not support the page width/resolution
	CodeInvalidJob   = 326 // Invalid or corrupted job description file
)

// Result is the outcome of one attempt for one job.
type Result struct {
	Status Status
	Code   int    // HylaFAX statuscode
	Text   string // status text, "" when delivered
}

// Local is the retry for trouble on our side, with the error in the text.
func Local(code int, format string, args ...any) Result {
	return Result{Status: Retry, Code: code, Text: fmt.Sprintf(format, args...)}
}

// Call maps the decision about a call (gofaxlib.Decide) and its result to
// a Result. The texts for busy and no answer are HylaFAX's own, so that
// scripts and clients that match on them keep working.
func Call(o gofaxlib.Outcome, r *gofaxlib.Result) Result {
	res := Result{Text: o.Reason}
	switch o.Action {
	case gofaxlib.ActionDone:
		return Result{Status: Done, Code: CodeOK}
	case gofaxlib.ActionFail:
		res.Status = Failed
	case gofaxlib.ActionReformat:
		res.Status = Reformat
	default:
		res.Status = Retry
	}
	switch {
	case r.Final:
		res.Code = t30Code(r.ResultCode)
		if r.ResultCode.Class() == gofaxlib.ClassLocalFail {
			// spandsp could not read our document: that is the spool or
			// FreeSWITCH's permissions, not the far end; have faxq
			// prepare the documents again.
			res.Status, res.Code = Reformat, CodeDocument
		}
	case r.AppResponse != "":
		res.Code = CodeDocument
	case !r.Connected():
		res.Code = causeCode(r.HangupCause)
		switch res.Code {
		case CodeBusy:
			res.Text = "Busy signal detected"
		case CodeNoAnswer:
			res.Text = "No answer from remote"
		}
	default:
		res.Code = CodeDisconnected
	}
	if res.Code == CodeOK {
		res.Code = CodePhaseC // not delivered, whatever spandsp's code says
	}
	return res
}

// causeCode returns the status code of a failed call's hangup cause.
func causeCode(cause string) int {
	switch strings.ToUpper(strings.TrimSpace(cause)) {
	case "USER_BUSY", "BUSY_EVERYWHERE":
		return CodeBusy
	case "NO_ANSWER", "NO_USER_RESPONSE", "ORIGINATOR_CANCEL", "PROGRESS_TIMEOUT", "ALLOTTED_TIMEOUT":
		return CodeNoAnswer
	}
	return CodeNoCarrier
}

// t30Code returns the status code closest to a spandsp completion code.
func t30Code(c gofaxlib.T30Code) int {
	switch c {
	case 0:
		return CodeOK
	case 2, 3, 19:
		return CodeT1
	case 6, 14, 20:
		return CodeTrain
	case 8, 9, 10:
		return CodeIncapable
	case 11, 12:
		return CodePageSize
	case 15, 17:
		return CodeDCN
	case 16, 22:
		return CodeECM
	case gofaxlib.T30CallDropped:
		return CodeDisconnected
	}
	if c.Class() == gofaxlib.ClassLocalFail {
		return CodeDocument
	}
	return CodePhaseC
}
