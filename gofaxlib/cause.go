package gofaxlib

import "strings"

// CauseClass tells what a FreeSWITCH hangup cause (or the cause of a failed
// originate) means for a sender.
type CauseClass int

// Hangup cause classes.
const (
	// CauseNormal: the call was set up and ended; the fax result decides.
	CauseNormal CauseClass = iota
	// CauseDialRetry: the destination was busy or did not answer; dial
	// again later, another gateway would not help.
	CauseDialRetry
	// CauseNetwork: the gateway or network failed; another gateway may
	// work now, otherwise retry later.
	CauseNetwork
	// CauseFail: the number is wrong or the call was refused; retrying
	// cannot help.
	CauseFail
	// CauseRetry: anything else; retry later.
	CauseRetry
)

var causeClassNames = [...]string{"normal", "dial-retry", "network", "fail", "retry"}

// String returns a short lower-case name such as "dial-retry".
func (c CauseClass) String() string {
	if c >= 0 && int(c) < len(causeClassNames) {
		return causeClassNames[c]
	}
	return "unknown"
}

// DefaultFailedCauses are the causes that fail a job permanently when the
// configuration does not list its own ([gofaxsend] failedresponse).
var DefaultFailedCauses = []string{"UNALLOCATED_NUMBER", "CALL_REJECTED", "INVALID_NUMBER_FORMAT", "NUMBER_CHANGED"}

var causeClasses = map[string]CauseClass{
	"NORMAL_CLEARING":    CauseNormal,
	"NORMAL_UNSPECIFIED": CauseNormal,
	"SUCCESS":            CauseNormal,

	"USER_BUSY":         CauseDialRetry,
	"NO_USER_RESPONSE":  CauseDialRetry,
	"NO_ANSWER":         CauseDialRetry,
	"SUBSCRIBER_ABSENT": CauseDialRetry,
	"BUSY_EVERYWHERE":   CauseDialRetry,
	"PROGRESS_TIMEOUT":  CauseDialRetry,
	"ORIGINATOR_CANCEL": CauseDialRetry,

	"NO_ROUTE_TRANSIT_NET":      CauseNetwork,
	"NO_ROUTE_DESTINATION":      CauseNetwork,
	"DESTINATION_OUT_OF_ORDER":  CauseNetwork,
	"NORMAL_CIRCUIT_CONGESTION": CauseNetwork,
	"NETWORK_OUT_OF_ORDER":      CauseNetwork,
	"NORMAL_TEMPORARY_FAILURE":  CauseNetwork,
	"SWITCH_CONGESTION":         CauseNetwork,
	"REQUESTED_CHAN_UNAVAIL":    CauseNetwork,
	"SERVICE_UNAVAILABLE":       CauseNetwork,
	"RECOVERY_ON_TIMER_EXPIRE":  CauseNetwork,
	"GATEWAY_DOWN":              CauseNetwork,
	"INVALID_GATEWAY":           CauseNetwork,
	"MEDIA_TIMEOUT":             CauseNetwork,
	"EXCHANGE_ROUTING_ERROR":    CauseNetwork,
}

// ClassifyCause classifies a hangup cause name. failed is the effective list
// of causes that fail a job permanently (the configured failedresponse, or
// DefaultFailedCauses); a cause in it is CauseFail whatever else it means,
// and a cause of DefaultFailedCauses that is not in it is CauseRetry. Names
// are compared case-insensitively; an unknown or empty cause is CauseRetry,
// because a job that might succeed must never be failed.
func ClassifyCause(cause string, failed []string) CauseClass {
	cause = strings.ToUpper(strings.TrimSpace(cause))
	for _, f := range failed {
		if strings.EqualFold(strings.TrimSpace(f), cause) && cause != "" {
			return CauseFail
		}
	}
	if c, ok := causeClasses[cause]; ok {
		return c
	}
	return CauseRetry
}

// q850 maps FreeSWITCH cause names to their numbers (switch_types.h).
var q850 = map[string]int{
	"UNSPECIFIED": 0, "UNALLOCATED_NUMBER": 1, "NO_ROUTE_TRANSIT_NET": 2, "NO_ROUTE_DESTINATION": 3,
	"CHANNEL_UNACCEPTABLE": 6, "CALL_AWARDED_DELIVERED": 7, "NORMAL_CLEARING": 16, "USER_BUSY": 17,
	"NO_USER_RESPONSE": 18, "NO_ANSWER": 19, "SUBSCRIBER_ABSENT": 20, "CALL_REJECTED": 21,
	"NUMBER_CHANGED": 22, "REDIRECTION_TO_NEW_DESTINATION": 23, "EXCHANGE_ROUTING_ERROR": 25,
	"DESTINATION_OUT_OF_ORDER": 27, "INVALID_NUMBER_FORMAT": 28, "FACILITY_REJECTED": 29,
	"RESPONSE_TO_STATUS_ENQUIRY": 30, "NORMAL_UNSPECIFIED": 31, "NORMAL_CIRCUIT_CONGESTION": 34,
	"NETWORK_OUT_OF_ORDER": 38, "NORMAL_TEMPORARY_FAILURE": 41, "SWITCH_CONGESTION": 42,
	"ACCESS_INFO_DISCARDED": 43, "REQUESTED_CHAN_UNAVAIL": 44, "PRE_EMPTED": 45,
	"FACILITY_NOT_SUBSCRIBED": 50, "OUTGOING_CALL_BARRED": 52, "INCOMING_CALL_BARRED": 54,
	"BEARERCAPABILITY_NOTAUTH": 57, "BEARERCAPABILITY_NOTAVAIL": 58, "SERVICE_UNAVAILABLE": 63,
	"BEARERCAPABILITY_NOTIMPL": 65, "CHAN_NOT_IMPLEMENTED": 66, "FACILITY_NOT_IMPLEMENTED": 69,
	"SERVICE_NOT_IMPLEMENTED": 79, "INVALID_CALL_REFERENCE": 81, "INCOMPATIBLE_DESTINATION": 88,
	"INVALID_MSG_UNSPECIFIED": 95, "MANDATORY_IE_MISSING": 96, "MESSAGE_TYPE_NONEXIST": 97,
	"WRONG_MESSAGE": 98, "IE_NONEXIST": 99, "INVALID_IE_CONTENTS": 100, "WRONG_CALL_STATE": 101,
	"RECOVERY_ON_TIMER_EXPIRE": 102, "MANDATORY_IE_LENGTH_ERROR": 103, "PROTOCOL_ERROR": 111,
	"INTERWORKING": 127, "SUCCESS": 142, "ORIGINATOR_CANCEL": 487, "CRASH": 700,
	"SYSTEM_SHUTDOWN": 701, "LOSE_RACE": 702, "MANAGER_REQUEST": 703, "BLIND_TRANSFER": 800,
	"ATTENDED_TRANSFER": 801, "ALLOTTED_TIMEOUT": 802, "USER_CHALLENGE": 803, "MEDIA_TIMEOUT": 804,
	"PICKED_OFF": 805, "USER_NOT_REGISTERED": 806, "PROGRESS_TIMEOUT": 807, "INVALID_GATEWAY": 808,
	"GATEWAY_DOWN": 809, "INVALID_URL": 810, "INVALID_PROFILE": 811, "NO_PICKUP": 812,
	"SRTP_READ_ERROR": 813, "BOWOUT": 814, "BUSY_EVERYWHERE": 815, "DECLINE": 816,
	"DOES_NOT_EXIST_ANYWHERE": 817, "NOT_ACCEPTABLE": 818, "UNWANTED": 819,
}

// CauseCode returns the numeric code FreeSWITCH uses for a cause name
// (Q.850 values below 128, FreeSWITCH's own above), and false if unknown.
func CauseCode(cause string) (int, bool) {
	n, ok := q850[strings.ToUpper(strings.TrimSpace(cause))]
	return n, ok
}
