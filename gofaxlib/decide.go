package gofaxlib

import "fmt"

// Action is what a sender reports to the queue after one attempt.
type Action int

// Actions after one transmission attempt (HylaFAX: send_done, send_retry,
// send_failed, send_reformat).
const (
	ActionRetry    Action = iota // try again later
	ActionDone                   // delivered
	ActionFail                   // give up on the job
	ActionReformat               // convert the document again, then retry
)

var actionNames = [...]string{"retry", "done", "fail", "reformat"}

// String returns "retry", "done", "fail" or "reformat".
func (a Action) String() string {
	if a >= 0 && int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "unknown"
}

// Outcome is the decision after one transmission attempt.
type Outcome struct {
	Action Action
	// DisableV17 and DisableECM ask for a slower or simpler next attempt.
	DisableV17 bool
	DisableECM bool
	// NextGateway is true when the call failed in the gateway or network,
	// so another gateway may succeed where this one did not.
	NextGateway bool
	// Reason is a one-line human text for the job status.
	Reason string
}

// Policy holds what Decide needs besides the result.
type Policy struct {
	// FailedCauses are the hangup causes that fail a job permanently
	// ([gofaxsend] failedresponse; see ClassifyCause).
	FailedCauses []string
	// Tries is the number of attempts that reached the fax stage so far,
	// including this one (qfile tottries after this attempt).
	Tries int
}

// Decide maps the result of one send attempt to what the queue should do.
// r must not be nil; a call that never connected has only HangupCause set
// (from the failed originate). Decide never fails a job for a reason that a
// later attempt could overcome: unknown codes and causes retry.
func Decide(r *Result, p Policy) Outcome {
	switch {
	case r.Delivered():
		return Outcome{Action: ActionDone, Reason: textOr(r.ResultText, "OK")}
	case r.Final && r.Success:
		return Outcome{Action: ActionRetry, Reason: fmt.Sprintf(
			"spandsp reported success but only %d of %d pages were transferred", r.TransferredPages, r.TotalPages)}
	case r.Final:
		return decideT30(r, p)
	case r.AppResponse != "":
		// txfax/rxfax did not start (missing or unreadable document on the
		// FreeSWITCH side): a local problem an operator can fix.
		return Outcome{Action: ActionRetry, Reason: "fax application failed: " + r.AppResponse}
	}
	cause := r.HangupCause
	switch ClassifyCause(cause, p.FailedCauses) {
	case CauseFail:
		return Outcome{Action: ActionFail, Reason: cause + " (retry disabled)"}
	case CauseNetwork:
		return Outcome{Action: ActionRetry, NextGateway: true, Reason: cause}
	case CauseDialRetry:
		return Outcome{Action: ActionRetry, Reason: cause}
	}
	if cause == "" {
		return Outcome{Action: ActionRetry, Reason: "call ended without a fax result"}
	}
	return Outcome{Action: ActionRetry, Reason: "call ended without a fax result: " + cause}
}

func decideT30(r *Result, p Policy) Outcome {
	reason := textOr(r.ResultText, r.ResultCode.Text())
	o := Outcome{Action: ActionRetry, Reason: reason}
	switch r.ResultCode.Class() {
	case ClassRetryNoV17:
		o.DisableV17 = true
	case ClassRetryNoECM:
		o.DisableECM = true
	case ClassRetryOnce:
		if p.Tries > 1 {
			o.Action = ActionFail
		}
	case ClassReformat:
		o.Action = ActionReformat
	case ClassFail, ClassLocalFail:
		o.Action = ActionFail
	case ClassSuccess:
		// OK code without the success flag: spandsp contradicts itself.
		o.Reason = "spandsp reported OK without success"
	}
	return o
}

func textOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
