package gofaxlib

import (
	"strings"
	"testing"
	"time"
)

func TestDelivered(t *testing.T) {
	tests := []struct {
		name string
		r    Result
		want bool
	}{
		{"all pages", Result{Final: true, Success: true, TotalPages: 2, TransferredPages: 2}, true},
		{"success with zero pages", Result{Final: true, Success: true}, false},
		{"partial", Result{Final: true, Success: true, TotalPages: 2, TransferredPages: 1}, false},
		{"no success flag", Result{Final: true, TotalPages: 2, TransferredPages: 2}, false},
		{"no final result", Result{Success: true, TotalPages: 1, TransferredPages: 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.Delivered(); got != tt.want {
				t.Errorf("Delivered() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	a := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name             string
		answered, hangup time.Time
		want             time.Duration
	}{
		{"both", a, a.Add(90 * time.Second), 90 * time.Second},
		{"never answered", time.Time{}, a, 0},
		{"no hangup", a, time.Time{}, 0},
		{"reversed", a, a.Add(-time.Second), 0},
	}
	for _, tt := range tests {
		r := Result{Answered: tt.answered, Hangup: tt.hangup}
		if got := r.Duration(); got != tt.want {
			t.Errorf("%s: Duration() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestT30Table(t *testing.T) {
	tests := []struct {
		code  T30Code
		name  string
		text  string
		class Class
	}{
		{0, "OK", "OK", ClassSuccess},
		{5, "HDLC_CARRIER", "The HDLC carrier did not stop in a timely manner", ClassRetry},
		{6, "CANNOT_TRAIN", "Failed to train with any of the compatible modems", ClassRetryNoV17},
		{8, "INCOMPATIBLE", "Far end is not compatible", ClassRetryOnce},
		{11, "NORESSUPPORT", "Far end cannot receive at the resolution of the image", ClassReformat},
		{16, "TX_ECMPHD", "Invalid ECM response received from receiver", ClassRetryNoECM},
		{20, "TX_PHBDEAD", "Received no response to DCS or TCF", ClassRetryNoV17},
		{22, "TX_T5EXP", "Timed out waiting for receiver ready (ECM mode)", ClassRetryNoECM},
		{27, "RX_NOEOL", "Timed out while waiting for EOL (end Of line)", ClassRetry},
		{41, "FILEERROR", "TIFF/F file cannot be opened", ClassLocalFail},
		{46, "BADTIFFHDR", "Bad TIFF/F header - incorrect values in fields", ClassLocalFail},
		{49, "CALLDROPPED", "The call dropped prematurely", ClassRetry},
		{56, "PWD_UNACCEPTABLE", "Password not accepted", ClassFail},
		{61, "CSA_UNACCEPTABLE", "Called subscriber internet address not accepted", ClassFail},
		{62, "UNKNOWN", "Unknown T.30 completion code 62", ClassRetry},
		{-1, "UNKNOWN", "Unknown T.30 completion code -1", ClassRetry},
	}
	for _, tt := range tests {
		if got := tt.code.Name(); got != tt.name {
			t.Errorf("T30Code(%d).Name() = %q, want %q", tt.code, got, tt.name)
		}
		if got := tt.code.Text(); got != tt.text {
			t.Errorf("T30Code(%d).Text() = %q, want %q", tt.code, got, tt.text)
		}
		if got := tt.code.Class(); got != tt.class {
			t.Errorf("T30Code(%d).Class() = %v, want %v", tt.code, got, tt.class)
		}
	}
	for c := T30Code(0); c.Known(); c++ {
		if c.Name() == "" || c.Text() == "" {
			t.Errorf("code %d has an empty table entry", c)
		}
	}
	if T30Code(61).Known() == false || T30Code(62).Known() {
		t.Error("table must cover exactly 0..61")
	}
	if got := T30CallDropped.String(); got != "CALLDROPPED (49)" {
		t.Errorf("String() = %q", got)
	}
}

func TestClassifyCause(t *testing.T) {
	tests := []struct {
		cause  string
		failed []string
		want   CauseClass
	}{
		{"NORMAL_CLEARING", DefaultFailedCauses, CauseNormal},
		{"USER_BUSY", DefaultFailedCauses, CauseDialRetry},
		{"NO_ANSWER", DefaultFailedCauses, CauseDialRetry},
		{"NO_USER_RESPONSE", DefaultFailedCauses, CauseDialRetry},
		{"UNALLOCATED_NUMBER", DefaultFailedCauses, CauseFail},
		{"CALL_REJECTED", DefaultFailedCauses, CauseFail},
		{"INVALID_NUMBER_FORMAT", DefaultFailedCauses, CauseFail},
		{"NUMBER_CHANGED", DefaultFailedCauses, CauseFail},
		{"invalid_number_format", DefaultFailedCauses, CauseFail},
		{"UNALLOCATED_NUMBER", nil, CauseRetry}, // operator emptied failedresponse
		{"UNALLOCATED_NUMBER", []string{"CALL_REJECTED"}, CauseRetry},
		{"USER_BUSY", []string{" user_busy "}, CauseFail}, // configured list wins
		{"NORMAL_TEMPORARY_FAILURE", DefaultFailedCauses, CauseNetwork},
		{"GATEWAY_DOWN", DefaultFailedCauses, CauseNetwork},
		{"NETWORK_OUT_OF_ORDER", DefaultFailedCauses, CauseNetwork},
		{"RECOVERY_ON_TIMER_EXPIRE", DefaultFailedCauses, CauseNetwork},
		{"DESTINATION_OUT_OF_ORDER", DefaultFailedCauses, CauseNetwork},
		{"NORMAL_CIRCUIT_CONGESTION", DefaultFailedCauses, CauseNetwork},
		{"SERVICE_UNAVAILABLE", DefaultFailedCauses, CauseNetwork},
		{"SOMETHING_NEW", DefaultFailedCauses, CauseRetry},
		{"", []string{""}, CauseRetry},
	}
	for _, tt := range tests {
		if got := ClassifyCause(tt.cause, tt.failed); got != tt.want {
			t.Errorf("ClassifyCause(%q, %q) = %v, want %v", tt.cause, tt.failed, got, tt.want)
		}
	}
}

func TestCauseCode(t *testing.T) {
	for cause, want := range map[string]int{"USER_BUSY": 17, "NORMAL_CLEARING": 16, "unallocated_number": 1, "GATEWAY_DOWN": 809, "MEDIA_TIMEOUT": 804} {
		if got, ok := CauseCode(cause); !ok || got != want {
			t.Errorf("CauseCode(%q) = %d, %v; want %d", cause, got, ok, want)
		}
	}
	if _, ok := CauseCode("NOPE"); ok {
		t.Error("unknown cause reported as known")
	}
}

func TestDecide(t *testing.T) {
	answered := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	final := func(code T30Code, pages, of int) *Result {
		return &Result{Final: true, Success: code == 0, ResultCode: code, ResultText: code.Text(),
			TotalPages: of, TransferredPages: pages, Answered: answered, HangupCause: "NORMAL_CLEARING"}
	}
	pol := Policy{FailedCauses: DefaultFailedCauses, Tries: 1}
	tests := []struct {
		name   string
		r      *Result
		p      Policy
		want   Outcome
		reason string // substring of Reason
	}{
		{"delivered", final(0, 2, 2), pol, Outcome{Action: ActionDone}, "OK"},
		{"success without pages", &Result{Final: true, Success: true, ResultText: "OK"}, pol, Outcome{Action: ActionRetry}, "0 of 0 pages"},
		{"call dropped after page 1", final(49, 1, 2), pol, Outcome{Action: ActionRetry}, "dropped prematurely"},
		{"cannot train", final(6, 0, 2), pol, Outcome{Action: ActionRetry, DisableV17: true}, "train"},
		{"ecm trouble", final(16, 0, 2), pol, Outcome{Action: ActionRetry, DisableECM: true}, "ECM"},
		{"incompatible first try", final(8, 0, 2), pol, Outcome{Action: ActionRetry}, "compatible"},
		{"incompatible second try", final(8, 0, 2), Policy{Tries: 2}, Outcome{Action: ActionFail}, "compatible"},
		{"resolution", final(11, 0, 2), pol, Outcome{Action: ActionReformat}, "resolution"},
		{"password refused", final(56, 0, 2), pol, Outcome{Action: ActionFail}, "Password"},
		{"bad tiff", final(43, 0, 2), pol, Outcome{Action: ActionFail}, "TIFF"},
		{"unknown code", final(99, 0, 2), pol, Outcome{Action: ActionRetry}, "Unknown"},
		{"busy", &Result{HangupCause: "USER_BUSY"}, pol, Outcome{Action: ActionRetry}, "USER_BUSY"},
		{"unallocated", &Result{HangupCause: "UNALLOCATED_NUMBER"}, pol, Outcome{Action: ActionFail}, "retry disabled"},
		{"unallocated not configured", &Result{HangupCause: "UNALLOCATED_NUMBER"}, Policy{}, Outcome{Action: ActionRetry}, "UNALLOCATED_NUMBER"},
		{"gateway down", &Result{HangupCause: "GATEWAY_DOWN"}, pol, Outcome{Action: ActionRetry, NextGateway: true}, "GATEWAY_DOWN"},
		{"missing document", &Result{AppResponse: "Cannot send non-existant fax file", HangupCause: "NORMAL_CLEARING"}, pol, Outcome{Action: ActionRetry}, "non-existant"},
		{"hangup lost result", &Result{HangupCause: "NORMAL_CLEARING", Answered: answered}, pol, Outcome{Action: ActionRetry}, "without a fax result"},
		{"nothing known", &Result{}, pol, Outcome{Action: ActionRetry}, "without a fax result"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decide(tt.r, tt.p)
			if !strings.Contains(got.Reason, tt.reason) {
				t.Errorf("Reason = %q, want it to contain %q", got.Reason, tt.reason)
			}
			got.Reason = ""
			if got != tt.want {
				t.Errorf("Decide() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestStrings(t *testing.T) {
	if ClassRetryNoECM.String() != "retry-no-ecm" || Class(99).String() != "class(99)" {
		t.Error("Class.String")
	}
	if CauseNetwork.String() != "network" || CauseClass(-1).String() != "unknown" {
		t.Error("CauseClass.String")
	}
	if ActionReformat.String() != "reformat" || Action(9).String() != "unknown" {
		t.Error("Action.String")
	}
}
