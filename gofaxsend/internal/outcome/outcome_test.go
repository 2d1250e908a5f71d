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

// TestStatusString: the session log and gofaxsend's log name each status;
// a value gofaxsend never writes shows its number.
func TestStatusString(t *testing.T) {
	for s, want := range map[Status]string{Retry: "retry", Failed: "failed", Done: "done", Reformat: "reformat", NotTried: "not tried", 5: "status(5)"} {
		if got := s.String(); got != want {
			t.Errorf("Status(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}

func TestLocal(t *testing.T) {
	got := Local(CodeNoLine, "Cannot reach FreeSWITCH at %s: %v", "127.0.0.1:8021", "refused")
	want := Result{Status: Retry, Code: CodeNoLine, Text: "Cannot reach FreeSWITCH at 127.0.0.1:8021: refused"}
	if got != want {
		t.Errorf("Local = %+v, want %+v", got, want)
	}
}

// TestCallCodes: the status code faxq and the clients show for each
// hang-up cause of an unanswered call and each spandsp completion code.
func TestCallCodes(t *testing.T) {
	answered := time.Unix(1700000000, 0)
	policy := gofaxlib.Policy{FailedCauses: gofaxlib.DefaultFailedCauses, Tries: 1}
	causes := map[string]int{
		"USER_BUSY": CodeBusy, "BUSY_EVERYWHERE": CodeBusy, " user_busy ": CodeBusy,
		"NO_ANSWER": CodeNoAnswer, "NO_USER_RESPONSE": CodeNoAnswer, "ORIGINATOR_CANCEL": CodeNoAnswer,
		"PROGRESS_TIMEOUT": CodeNoAnswer, "ALLOTTED_TIMEOUT": CodeNoAnswer,
		"NORMAL_TEMPORARY_FAILURE": CodeNoCarrier, "GATEWAY_DOWN": CodeNoCarrier, "": CodeNoCarrier,
	}
	for cause, want := range causes {
		r := gofaxlib.Result{HangupCause: cause}
		if got := Call(gofaxlib.Decide(&r, policy), &r); got.Code != want || got.Status == Done {
			t.Errorf("hang-up cause %q: %+v, want code %d, not done", cause, got, want)
		}
	}
	t30 := map[gofaxlib.T30Code]int{
		2: CodeT1, 3: CodeT1, 19: CodeT1,
		6: CodeTrain, 14: CodeTrain, 20: CodeTrain,
		8: CodeIncapable, 9: CodeIncapable, 10: CodeIncapable,
		11: CodePageSize, 12: CodePageSize,
		15: CodeDCN, 17: CodeDCN,
		16: CodeECM, 22: CodeECM,
		41: CodeDocument, 46: CodeDocument,
		0: CodePhaseC, 33: CodePhaseC, // not delivered, whatever the code says
		gofaxlib.T30CallDropped: CodeDisconnected,
	}
	for code, want := range t30 {
		r := gofaxlib.Result{Final: true, ResultCode: code, ResultText: "x", TotalPages: 1, Answered: answered}
		if got := Call(gofaxlib.Decide(&r, policy), &r); got.Code != want || got.Status == Done {
			t.Errorf("T.30 result %d: %+v, want code %d, not done", code, got, want)
		}
	}
	// A call that was answered but ended without a fax result dropped.
	r := gofaxlib.Result{HangupCause: "NORMAL_CLEARING", Answered: answered}
	if got := Call(gofaxlib.Decide(&r, policy), &r); got.Code != CodeDisconnected || got.Status != Retry {
		t.Errorf("answered without result: %+v", got)
	}
}
