package gofaxlib

import (
	"strings"
	"time"
)

// FaxResource is a fax as the REST API shows it and receipts (webhook
// payloads) carry it: the stable, documented wire form of a Fax and its
// Attempts. Build it with NewFaxResource; it holds no server paths.
type FaxResource struct {
	ID           string    `json:"id"`
	Direction    Direction `json:"direction"`
	Status       FaxStatus `json:"status"`
	TenantID     *string   `json:"tenant_id"` // null: received on a number no tenant has
	From         string    `json:"from"`
	To           string    `json:"to"`
	CallerIDName string    `json:"caller_id_name"`
	// Owner is the HylaFAX job owner (the sending user's name) of a sent
	// fax; UserID the user, while it exists.
	Owner  string  `json:"owner"`
	UserID *string `json:"user_id"`
	Pages  Pages   `json:"pages"`
	// Result is the T.30 outcome of the last call (null before one);
	// HangupCause how that call ended (null when unknown).
	Result      *ResultInfo `json:"result"`
	HangupCause *CauseInfo  `json:"hangup_cause"`
	// Error says in words why a fax failed, was canceled or arrived
	// incomplete; null otherwise.
	Error           *FaxError    `json:"error"`
	RemoteStationID string       `json:"remote_station_id"`
	HylaFAX         HylaFAXRef   `json:"hylafax"`
	Created         time.Time    `json:"created_at"`
	Updated         time.Time    `json:"updated_at"`
	Completed       *time.Time   `json:"completed_at"`      // null until the status is final
	Attempts        []AttemptRef `json:"attempts,omitzero"` // nil (lists): left out
}

// Pages counts the pages of a fax or call: announced or submitted
// (total), and those that arrived (transferred).
type Pages struct {
	Total       int `json:"total"`
	Transferred int `json:"transferred"`
}

// ResultInfo is a spandsp T.30 completion code with its name and text.
type ResultInfo struct {
	Code T30Code `json:"code"`
	Name string  `json:"name"` // e.g. "CALLDROPPED"
	Text string  `json:"text"` // e.g. "The call dropped prematurely"
}

// CauseInfo is a FreeSWITCH hangup cause with its number and meaning.
type CauseInfo struct {
	Name string `json:"name"`           // e.g. "USER_BUSY"
	Code int    `json:"code,omitempty"` // Q.850 (FreeSWITCH's own above 127); absent when unknown
	Text string `json:"text"`           // e.g. "the line is busy"
}

// FaxError is why a fax did not (fully) succeed: Code is a T.30 name
// ("CALLDROPPED"), a hangup cause ("USER_BUSY"), or "hylafax" (a reason
// HylaFAX gave, such as a document it could not convert), "canceled",
// "incomplete" or "unknown"; Text says it in words.
type FaxError struct {
	Code string `json:"code"`
	Text string `json:"text"`
}

// HylaFAXRef names the fax in HylaFAX on the host that holds it: the job
// id of a sent fax, the commid and recvq file of a received one.
type HylaFAXRef struct {
	Host      string `json:"host"`
	JobID     int    `json:"job_id,omitempty"`
	CommID    string `json:"commid,omitempty"`
	RecvqFile string `json:"recvq_file,omitempty"`
}

// AttemptRef is one call of a fax.
type AttemptRef struct {
	Started         time.Time   `json:"started_at"`
	Answered        *time.Time  `json:"answered_at"`
	Ended           *time.Time  `json:"ended_at"`
	DurationMS      int64       `json:"duration_ms"`
	Host            string      `json:"host"`
	Modem           string      `json:"modem,omitempty"`
	Gateway         string      `json:"gateway,omitempty"`
	Number          string      `json:"number,omitempty"`
	CallUUID        string      `json:"call_uuid,omitempty"`
	Success         bool        `json:"success"`
	Pages           Pages       `json:"pages"`
	Result          *ResultInfo `json:"result"`
	HangupCause     *CauseInfo  `json:"hangup_cause"`
	SignalRate      int         `json:"signal_rate"` // bit/s, 0 = unknown
	ECM             bool        `json:"ecm"`
	T38Status       string      `json:"t38_status,omitempty"`
	RemoteStationID string      `json:"remote_station_id"`
}

// NewFaxResource builds the resource of f with its attempts (nil leaves
// them out, as lists do).
func NewFaxResource(f *Fax, attempts []Attempt) FaxResource {
	r := FaxResource{
		ID:              f.ID,
		Direction:       f.Direction,
		Status:          f.Status,
		TenantID:        optional(f.TenantID),
		From:            f.From,
		To:              f.To,
		CallerIDName:    f.CallerIDName,
		Owner:           f.Owner,
		UserID:          optional(f.UserID),
		Pages:           Pages{Total: f.PagesTotal, Transferred: f.PagesTransferred},
		Result:          resultInfo(f.ResultCode, f.ResultText),
		HangupCause:     causeInfo(f.HangupCause),
		RemoteStationID: f.RemoteStationID,
		HylaFAX:         HylaFAXRef{Host: f.Host, JobID: f.JobID, CommID: f.CommID, RecvqFile: f.RecvqFile},
		Created:         f.Created.UTC(),
		Updated:         f.Updated.UTC(),
		Completed:       optionalTime(f.Completed),
	}
	r.Error = faxError(f)
	if attempts != nil {
		r.Attempts = make([]AttemptRef, 0, len(attempts))
		for i := range attempts {
			a := &attempts[i]
			r.Attempts = append(r.Attempts, AttemptRef{
				Started:         a.Started.UTC(),
				Answered:        optionalTime(a.Answered),
				Ended:           optionalTime(a.Ended),
				DurationMS:      a.Duration().Milliseconds(),
				Host:            a.Host,
				Modem:           a.Modem,
				Gateway:         a.Gateway,
				Number:          a.Number,
				CallUUID:        a.CallUUID,
				Success:         a.Success,
				Pages:           Pages{Total: a.PagesTotal, Transferred: a.PagesTransferred},
				Result:          resultInfo(a.ResultCode, a.ResultText),
				HangupCause:     causeInfo(a.HangupCause),
				SignalRate:      a.SignalRate,
				ECM:             a.ECM,
				T38Status:       a.T38Status,
				RemoteStationID: a.RemoteStationID,
			})
		}
	}
	return r
}

// faxError explains a failed or canceled fax, or a received one that is
// incomplete: the T.30 result when it is not OK, else the hangup cause
// when the call did not end normally, else HylaFAX's reason, else what
// the status says.
func faxError(f *Fax) *FaxError {
	incomplete := f.Status == StatusReceived && (f.PagesTransferred < f.PagesTotal || f.ResultText != "" && f.ResultCode != T30OK)
	if f.Status != StatusFailed && f.Status != StatusCanceled && !incomplete {
		return nil
	}
	cause := strings.ToUpper(strings.TrimSpace(f.HangupCause))
	switch {
	case f.ResultText != "" && f.ResultCode != T30OK:
		return &FaxError{Code: f.ResultCode.Name(), Text: f.ResultText}
	case cause != "" && ClassifyCause(cause, nil) != CauseNormal:
		return &FaxError{Code: cause, Text: CauseText(cause)}
	case f.ResultText != "" && f.ResultText != T30OK.Text():
		return &FaxError{Code: "hylafax", Text: f.ResultText}
	case f.Status == StatusCanceled:
		return &FaxError{Code: "canceled", Text: "canceled before it was delivered"}
	case incomplete:
		return &FaxError{Code: "incomplete", Text: "fewer pages arrived than were announced"}
	}
	return &FaxError{Code: "unknown", Text: "no reason was recorded"}
}

func resultInfo(code T30Code, text string) *ResultInfo {
	if text == "" {
		return nil
	}
	return &ResultInfo{Code: code, Name: code.Name(), Text: text}
}

func causeInfo(cause string) *CauseInfo {
	cause = strings.ToUpper(strings.TrimSpace(cause))
	if cause == "" {
		return nil
	}
	code, _ := CauseCode(cause)
	return &CauseInfo{Name: cause, Code: code, Text: CauseText(cause)}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// causeTexts says what the hangup causes seen on fax calls mean.
var causeTexts = map[string]string{
	"NORMAL_CLEARING":           "the call ended normally",
	"NORMAL_UNSPECIFIED":        "the call ended normally",
	"SUCCESS":                   "the call ended normally",
	"USER_BUSY":                 "the line is busy",
	"NO_USER_RESPONSE":          "the called party did not respond",
	"NO_ANSWER":                 "no answer",
	"SUBSCRIBER_ABSENT":         "the called party is not reachable",
	"BUSY_EVERYWHERE":           "the line is busy",
	"PROGRESS_TIMEOUT":          "the call made no progress in time",
	"ORIGINATOR_CANCEL":         "the call was canceled before it was answered",
	"CALL_REJECTED":             "the call was rejected",
	"UNALLOCATED_NUMBER":        "the number does not exist",
	"NUMBER_CHANGED":            "the number has changed",
	"INVALID_NUMBER_FORMAT":     "the number is not valid",
	"NO_ROUTE_TRANSIT_NET":      "no route to the destination network",
	"NO_ROUTE_DESTINATION":      "no route to the destination",
	"DESTINATION_OUT_OF_ORDER":  "the destination is out of order",
	"NORMAL_CIRCUIT_CONGESTION": "no line is free (congestion)",
	"SWITCH_CONGESTION":         "the exchange is congested",
	"NETWORK_OUT_OF_ORDER":      "the network is out of order",
	"NORMAL_TEMPORARY_FAILURE":  "a temporary failure in the network",
	"REQUESTED_CHAN_UNAVAIL":    "no line is free",
	"SERVICE_UNAVAILABLE":       "the service is unavailable",
	"RECOVERY_ON_TIMER_EXPIRE":  "the network did not answer in time",
	"GATEWAY_DOWN":              "the gateway is down",
	"INVALID_GATEWAY":           "the gateway does not exist",
	"MEDIA_TIMEOUT":             "no media arrived (the connection was lost)",
	"EXCHANGE_ROUTING_ERROR":    "a routing error in the exchange",
	"INCOMPATIBLE_DESTINATION":  "the destination cannot take this call",
	"FACILITY_REJECTED":         "the network refused a requested facility",
	"OUTGOING_CALL_BARRED":      "outgoing calls are barred",
	"INCOMING_CALL_BARRED":      "the destination bars incoming calls",
	"MANAGER_REQUEST":           "hung up by request (gofaxd or the operator)",
	"SYSTEM_SHUTDOWN":           "hung up because the system shut down",
	"ALLOTTED_TIMEOUT":          "the call lasted longer than allowed",
	"DECLINE":                   "the call was declined",
	"INTERWORKING":              "a failure between networks",
	"NO_PICKUP":                 "no answer",
}

// CauseText says in words what a FreeSWITCH hangup cause means, e.g.
// "the line is busy" for USER_BUSY; a cause without a text of its own
// reads as its name in lower case ("pre empted").
func CauseText(cause string) string {
	cause = strings.ToUpper(strings.TrimSpace(cause))
	if t, ok := causeTexts[cause]; ok {
		return t
	}
	return strings.ToLower(strings.ReplaceAll(cause, "_", " "))
}
