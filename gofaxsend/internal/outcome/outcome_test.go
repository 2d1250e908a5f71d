package outcome

import (
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

func TestCall(t *testing.T) {
	answered := time.Unix(1700000000, 0)
	tests := []struct {
		name string
		r    gofaxlib.Result
		want Result
	}{
		{"delivered", gofaxlib.Result{Final: true, Success: true, TotalPages: 2, TransferredPages: 2, Answered: answered},
			Result{Status: Done, Code: CodeOK}},
		{"success flag without all pages", gofaxlib.Result{Final: true, Success: true, TotalPages: 2, TransferredPages: 0, Answered: answered},
			Result{Status: Retry, Code: CodePhaseC, Text: "spandsp reported success but only 0 of 2 pages were transferred"}},
		{"busy", gofaxlib.Result{HangupCause: "USER_BUSY"}, Result{Status: Retry, Code: CodeBusy, Text: "Busy signal detected"}},
		{"no answer", gofaxlib.Result{HangupCause: "NO_ANSWER"}, Result{Status: Retry, Code: CodeNoAnswer, Text: "No answer from remote"}},
		{"rejected", gofaxlib.Result{HangupCause: "CALL_REJECTED"}, Result{Status: Failed, Code: CodeNoCarrier, Text: "CALL_REJECTED (retry disabled)"}},
		{"gateway down", gofaxlib.Result{HangupCause: "GATEWAY_DOWN"}, Result{Status: Retry, Code: CodeNoCarrier, Text: "GATEWAY_DOWN"}},
		{"call dropped", gofaxlib.Result{Final: true, ResultCode: 49, ResultText: "The call dropped prematurely", TotalPages: 2, TransferredPages: 1, Answered: answered},
			Result{Status: Retry, Code: CodeDisconnected, Text: "The call dropped prematurely"}},
		{"training", gofaxlib.Result{Final: true, ResultCode: 20, ResultText: "x", Answered: answered}, Result{Status: Retry, Code: CodeTrain, Text: "x"}},
		{"page size", gofaxlib.Result{Final: true, ResultCode: 12, ResultText: "y", Answered: answered}, Result{Status: Reformat, Code: CodePageSize, Text: "y"}},
		{"unreadable document is ours", gofaxlib.Result{Final: true, ResultCode: 41, ResultText: "TIFF/F file cannot be opened", Answered: answered},
			Result{Status: Reformat, Code: CodeDocument, Text: "TIFF/F file cannot be opened"}},
		{"txfax did not start", gofaxlib.Result{AppResponse: "Cannot send non-existant fax file", Answered: answered},
			Result{Status: Retry, Code: CodeDocument, Text: "fax application failed: Cannot send non-existant fax file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Call(gofaxlib.Decide(&tt.r, gofaxlib.Policy{FailedCauses: gofaxlib.DefaultFailedCauses, Tries: 1}), &tt.r)
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestStatusValues(t *testing.T) {
	// faxd/FaxSendStatus.h: faxq acts on these numbers.
	for s, n := range map[Status]int{Retry: 0, Failed: 1, Done: 2, Reformat: 3, NotTried: 7} {
		if int(s) != n {
			t.Errorf("%v = %d, want %d", s, int(s), n)
		}
	}
}
