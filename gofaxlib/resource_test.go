package gofaxlib

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/internal/golden"
)

func TestFaxResource(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	sent := Fax{ID: "6f1c2a9e-0000-4000-8000-000000000001", TenantID: "6f1c2a9e-0000-4000-8000-0000000000aa",
		Direction: Outbound, From: "+4930123456", To: "+4989765432", Owner: "alice", UserID: "6f1c2a9e-0000-4000-8000-0000000000bb",
		Host: "fax1", JobID: 17, Created: at(0), Updated: at(90), DocumentPath: "/var/spool/hylafax/archive/x.tif"}
	busy := Attempt{Started: at(1), Ended: at(20), Host: "fax1", Modem: "freeswitch0", Gateway: "carrier", Number: "+4989765432",
		HangupCause: "USER_BUSY"}
	ok := Attempt{Started: at(60), Answered: at(62), Ended: at(90), Host: "fax1", Modem: "freeswitch1", Gateway: "carrier",
		Number: "+4989765432", CallUUID: "0d2a1c4e-1111-4222-8333-444455556666", HangupCause: "NORMAL_CLEARING",
		ResultText: "OK", Success: true, PagesTotal: 2, PagesTransferred: 2, SignalRate: 14400, ECM: true,
		T38Status: "negotiated", RemoteStationID: "+49 89 765432"}

	delivered := sent
	delivered.Status, delivered.PagesTotal, delivered.PagesTransferred = StatusDelivered, 2, 2
	delivered.ResultText, delivered.HangupCause, delivered.RemoteStationID = "OK", "NORMAL_CLEARING", "+49 89 765432"
	delivered.Completed = at(90)

	failedBusy := sent
	failedBusy.Status, failedBusy.PagesTotal, failedBusy.HangupCause, failedBusy.Completed = StatusFailed, 2, "USER_BUSY", at(20)

	dropped := sent
	dropped.Status, dropped.ResultCode, dropped.ResultText = StatusFailed, T30CallDropped, T30CallDropped.Text()
	dropped.HangupCause, dropped.Completed = "NORMAL_CLEARING", at(30)

	unconvertible := sent
	unconvertible.Status, unconvertible.ResultText, unconvertible.Completed = StatusFailed, "Document conversion failed", at(5)

	canceled := sent
	canceled.Status, canceled.Completed = StatusCanceled, at(5)

	partial := Fax{ID: "6f1c2a9e-0000-4000-8000-000000000002", Direction: Inbound, Status: StatusReceived,
		From: "anonymous", To: "+4930123456", Host: "fax2", CommID: "000000042", RecvqFile: "recvq/fax000000012.tif",
		PagesTotal: 3, PagesTransferred: 2, ResultCode: 49, ResultText: "The call dropped prematurely",
		HangupCause: "NORMAL_CLEARING", Created: at(0), Updated: at(40), Completed: at(40)}

	queued := sent
	queued.Status, queued.PagesTotal, queued.JobID, queued.Host = StatusQueued, 2, 0, "fax1"

	tests := []struct {
		name      string
		fax       Fax
		attempts  []Attempt
		wantError string // error code, "" = none
	}{
		{"delivered", delivered, []Attempt{busy, ok}, ""},
		{"failed-busy", failedBusy, []Attempt{busy}, "USER_BUSY"},
		{"failed-t30", dropped, nil, "CALLDROPPED"},
		{"failed-hylafax", unconvertible, []Attempt{}, "hylafax"},
		{"canceled", canceled, nil, "canceled"},
		{"received-partial", partial, nil, "CALLDROPPED"},
		{"queued", queued, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewFaxResource(&tt.fax, tt.attempts)
			got := ""
			if r.Error != nil {
				got = r.Error.Code
			}
			if got != tt.wantError {
				t.Errorf("error code %q, want %q", got, tt.wantError)
			}
			b, err := json.MarshalIndent(r, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), "/var/spool") {
				t.Error("the resource shows a server path")
			}
			if (tt.attempts == nil) == strings.Contains(string(b), `"attempts"`) {
				t.Errorf("attempts shown = %v for attempts %v", !(tt.attempts == nil), tt.attempts)
			}
			golden.Check(t, filepath.Join("testdata", "resource", tt.name+".json"), append(b, '\n'))
		})
	}
}

func TestCauseText(t *testing.T) {
	for cause, want := range map[string]string{
		"USER_BUSY": "the line is busy", " user_busy ": "the line is busy", "PRE_EMPTED": "pre empted",
		"UNALLOCATED_NUMBER": "the number does not exist", "": "",
	} {
		if got := CauseText(cause); got != want {
			t.Errorf("CauseText(%q) = %q, want %q", cause, got, want)
		}
	}
}
