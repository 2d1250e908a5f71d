package freeswitch

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"

	"github.com/gofaxserver/gofaxserver/internal/golden"
)

// readEvents parses every event of a real transcript with the esl reader.
func readEvents(t *testing.T, name string) []*esl.Event {
	t.Helper()
	f, err := os.Open("testdata/transcripts/" + name + ".raw")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd := esl.NewReader(f)
	var evs []*esl.Event
	for {
		m, err := rd.ReadMessage()
		if errors.Is(err, io.EOF) {
			return evs
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		switch m.ContentType() {
		case "text/event-plain", "text/event-json":
			e, err := esl.ParseEvent(m)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			evs = append(evs, e)
		}
	}
}

var changeNames = []string{"answer", "negotiation", "page", "result", "app-done", "hangup", "hangup-complete"}

func (c Change) names() []string {
	var out []string
	for i, n := range changeNames {
		if c&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// track feeds events to a Tracker and returns it with the order of changes
// and the cause of a failed originate (BACKGROUND_JOB "-ERR ...").
func track(evs []*esl.Event, skip func(*esl.Event) bool) (*Tracker, []string, string) {
	var tr Tracker
	var order []string
	cause := ""
	for _, e := range evs {
		if skip != nil && skip(e) {
			continue
		}
		if e.Name() == "BACKGROUND_JOB" {
			if c, ok := OriginateCause(string(e.Body)); ok {
				cause = c
			}
		}
		order = append(order, tr.Add(e).names()...)
	}
	return &tr, order, cause
}

func dumpResult(r gofaxlib.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Final=%v Success=%v ResultCode=%v ResultText=%q\n", r.Final, r.Success, r.ResultCode, r.ResultText)
	fmt.Fprintf(&b, "HangupCause=%s AppResponse=%q\n", r.HangupCause, r.AppResponse)
	fmt.Fprintf(&b, "Pages=%d/%d Rate=%d ECM=%v T38=%q Remote=%q Local=%q Negotiations=%d BadRows=%d\n",
		r.TransferredPages, r.TotalPages, r.TransferRate, r.ECM, r.T38Status, r.RemoteID, r.LocalID, r.Negotiations, r.BadRows)
	for _, p := range r.Pages {
		fmt.Fprintf(&b, "Page %+v\n", p)
	}
	fmt.Fprintf(&b, "Answered=%s Hangup=%s Duration=%v Delivered=%v\n",
		stamp(r.Answered), stamp(r.Hangup), r.Duration(), r.Delivered())
	return b.String()
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", "golden", name), []byte(got))
}

// TestTranscripts runs real FreeSWITCH event streams through the Tracker
// and Decide, and checks the facts that matter for each scenario besides
// the golden dump.
func TestTranscripts(t *testing.T) {
	pol := gofaxlib.Policy{FailedCauses: gofaxlib.DefaultFailedCauses, Tries: 1}
	tests := []struct {
		name      string
		delivered bool
		code      gofaxlib.T30Code
		pages     [2]int // transferred, total
		cause     string
		action    gofaxlib.Action
	}{
		{"t38_A_plain", true, 0, [2]int{2, 2}, "NORMAL_CLEARING", gofaxlib.ActionDone},
		{"t38_A_json", true, 0, [2]int{2, 2}, "NORMAL_CLEARING", gofaxlib.ActionDone},
		{"g711_B_plain", true, 0, [2]int{2, 2}, "NORMAL_CLEARING", gofaxlib.ActionDone},
		{"outbound-rx-t38_B-socket_plain", true, 0, [2]int{2, 2}, "NORMAL_CLEARING", gofaxlib.ActionDone},
		{"sync-mode-t38_A_plain", true, 0, [2]int{2, 2}, "NORMAL_CLEARING", gofaxlib.ActionDone},
		{"farend-hangup-t38_A_plain", false, 49, [2]int{1, 2}, "NORMAL_CLEARING", gofaxlib.ActionRetry},
		{"farend-hangup-t38_B_json", false, 49, [2]int{1, 1}, "NORMAL_CLEARING", gofaxlib.ActionRetry},
		{"busy-486_A_plain", false, 0, [2]int{0, 0}, "USER_BUSY", gofaxlib.ActionRetry},
		{"no-answer_A_plain", false, 0, [2]int{0, 0}, "NO_ANSWER", gofaxlib.ActionRetry},
		{"missing-document_A_plain", false, 0, [2]int{0, 0}, "NORMAL_CLEARING", gofaxlib.ActionRetry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, order, origCause := track(readEvents(t, tt.name), nil)
			r := tr.Result()
			if r.Delivered() != tt.delivered || r.ResultCode != tt.code || r.TransferredPages != tt.pages[0] || r.TotalPages != tt.pages[1] || r.HangupCause != tt.cause {
				t.Errorf("got delivered=%v code=%d pages=%d/%d cause=%s", r.Delivered(), r.ResultCode, r.TransferredPages, r.TotalPages, r.HangupCause)
			}
			if !tr.Complete() || !tr.HungUp() {
				t.Error("hangup not tracked")
			}
			if origCause != "" && origCause != r.HangupCause {
				t.Errorf("originate cause %q differs from hangup cause %q", origCause, r.HangupCause)
			}
			o := gofaxlib.Decide(&r, pol)
			if o.Action != tt.action {
				t.Errorf("Decide = %+v, want %v", o, tt.action)
			}
			checkGolden(t, tt.name+".txt", dumpResult(r)+"Changes: "+strings.Join(order, " ")+"\n"+fmt.Sprintf("Outcome: %+v\n", o))
		})
	}
}

// TestTranscriptsResultLost drops the spandsp result event (the race that
// made GOfax.IP report empty errors) and checks that the channel variables
// give the same outcome.
func TestTranscriptsResultLost(t *testing.T) {
	for _, name := range []string{"t38_A_plain", "farend-hangup-t38_A_plain", "farend-hangup-t38_B_json", "outbound-rx-t38_B-socket_plain"} {
		t.Run(name, func(t *testing.T) {
			evs := readEvents(t, name)
			full, _, _ := track(evs, nil)
			lost, _, _ := track(evs, func(e *esl.Event) bool { return strings.HasSuffix(e.Subclass(), "faxresult") })
			a, b := full.Result(), lost.Result()
			if !b.Final || a.Success != b.Success || a.ResultCode != b.ResultCode || a.ResultText != b.ResultText ||
				a.TransferredPages != b.TransferredPages || a.TotalPages != b.TotalPages || a.Delivered() != b.Delivered() {
				t.Errorf("without the result event:\n%s\nwith it:\n%s", dumpResult(b), dumpResult(a))
			}
		})
	}
}

func TestTrackerUUIDFilter(t *testing.T) {
	evs := readEvents(t, "t38_A_plain")
	tr := Tracker{UUID: "not-this-call"}
	for _, e := range evs {
		if c := tr.Add(e); c != 0 && e.UUID() != "" {
			t.Fatalf("event %s of another channel changed %v", e.Name(), c.names())
		}
	}
	var own Tracker
	for _, e := range evs {
		if e.UUID() != "" && own.UUID == "" {
			own.UUID = e.UUID()
		}
		own.Add(e)
	}
	if r := own.Result(); !r.Delivered() {
		t.Errorf("own channel not tracked:\n%s", dumpResult(r))
	}
}

// mapEvent is a hand-made event for cases the captures do not show.
type mapEvent map[string]string

func (m mapEvent) Get(name string) string { return m[name] }

func TestTrackerHandMade(t *testing.T) {
	var tr Tracker
	// Result before hangup, with a repeated page and a second negotiation.
	seq := []mapEvent{
		{"Event-Name": "CHANNEL_ANSWER", "Event-Date-Timestamp": "1700000000000000"},
		{"Event-Name": "CUSTOM", "Event-Subclass": "spandsp::rxfaxnegociateresult", "fax-transfer-rate": "14400", "fax-ecm-used": "on", "fax-t38-status": "negotiated"},
		{"Event-Name": "CUSTOM", "Event-Subclass": "spandsp::rxfaxnegociateresult", "fax-transfer-rate": "9600", "fax-ecm-used": "off"},
		{"Event-Name": "CUSTOM", "Event-Subclass": "spandsp::rxfaxpageresult", "fax-document-transferred-pages": "1", "fax-bad-rows": "7"},
		{"Event-Name": "CUSTOM", "Event-Subclass": "spandsp::rxfaxpageresult", "fax-document-transferred-pages": "1", "fax-bad-rows": "3"},
		{"Event-Name": "CUSTOM", "Event-Subclass": "spandsp::rxfaxpageresult", "fax-document-transferred-pages": "2", "fax-bad-rows": "2"},
		{"Event-Name": "CUSTOM", "Event-Subclass": "spandsp::rxfaxresult", "fax-success": "0", "fax-result-code": "26", "fax-result-text": "Carrier lost during fax receive", "fax-document-transferred-pages": "2"},
		{"Event-Name": "CUSTOM", "Event-Subclass": "spandsp::rxfaxresult", "fax-success": "1", "fax-result-code": "0"},
		{"Event-Name": "CUSTOM", "Event-Subclass": "other::thing"},
		{"Event-Name": "CHANNEL_HANGUP", "Hangup-Cause": "NORMAL_CLEARING", "Event-Date-Timestamp": "1700000060000000"},
		{"Event-Name": "CHANNEL_HANGUP_COMPLETE", "Hangup-Cause": "OTHER", "variable_fax_result_code": "0", "variable_fax_success": "1"},
	}
	for _, e := range seq {
		tr.Add(e)
	}
	r := tr.Result()
	if r.Negotiations != 2 || r.TransferRate != 9600 || r.ECM || r.T38Status != "negotiated" {
		t.Errorf("negotiation: %s", dumpResult(r))
	}
	if len(r.Pages) != 2 || r.BadRows != 5 || r.TransferredPages != 2 {
		t.Errorf("pages: %s", dumpResult(r))
	}
	if r.Success || r.ResultCode != 26 || r.HangupCause != "NORMAL_CLEARING" || r.Duration() != time.Minute {
		t.Errorf("first result and first cause must stay: %s", dumpResult(r))
	}
	if !NeedsFallback(&r) {
		t.Error("two negotiations without delivery should ask for fallback")
	}
	// Result returns a copy.
	r.Pages[0].BadRows = 99
	if tr.Result().Pages[0].BadRows == 99 {
		t.Error("Result shares its Pages with the Tracker")
	}
}

func TestNeedsFallback(t *testing.T) {
	tests := []struct {
		r    gofaxlib.Result
		want bool
	}{
		{gofaxlib.Result{Negotiations: 2}, true},
		{gofaxlib.Result{Negotiations: 1, BadRows: 3}, true},
		{gofaxlib.Result{Negotiations: 1}, false},
		{gofaxlib.Result{Final: true, Success: true, TotalPages: 1, TransferredPages: 1, Negotiations: 2, BadRows: 9}, false},
	}
	for i, tt := range tests {
		if got := NeedsFallback(&tt.r); got != tt.want {
			t.Errorf("case %d: NeedsFallback = %v", i, got)
		}
	}
}

func TestOriginateCause(t *testing.T) {
	for in, want := range map[string]string{"-ERR USER_BUSY\n": "USER_BUSY", "-ERR NO_ROUTE_DESTINATION": "NO_ROUTE_DESTINATION", "+OK 1234\n": ""} {
		got, ok := OriginateCause(in)
		if got != want || ok != (want != "") {
			t.Errorf("OriginateCause(%q) = %q, %v", in, got, ok)
		}
	}
}

// FuzzTracker feeds arbitrary spandsp-like headers: the Tracker must not
// panic and never count more transferred pages than it holds page entries
// for, unless a result or variables said so.
func FuzzTracker(f *testing.F) {
	f.Add("CUSTOM", "spandsp::txfaxpageresult", "1", "2", "0", "x")
	f.Add("CHANNEL_HANGUP_COMPLETE", "", "-5", "9999999999999999999", "1", "")
	f.Fuzz(func(t *testing.T, name, sub, transferred, total, success, text string) {
		var tr Tracker
		tr.Add(mapEvent{"Event-Name": name, "Event-Subclass": sub, "fax-document-transferred-pages": transferred,
			"fax-document-total-pages": total, "fax-success": success, "fax-result-text": text,
			"variable_fax_result_code": transferred, "Caller-Channel-Answered-Time": total})
		r := tr.Result()
		if r.TransferredPages < 0 || r.TotalPages < 0 {
			t.Errorf("negative page counts: %d/%d", r.TransferredPages, r.TotalPages)
		}
		if r.Delivered() && !r.Success {
			t.Error("delivered without success")
		}
	})
}

// BenchmarkTracker measures merging one whole real fax call (every event a
// sender's socket sees, heartbeats included) into a Result.
func BenchmarkTracker(b *testing.B) {
	evs := readEvents(&testing.T{}, "t38_A_plain")
	for b.Loop() {
		var tr Tracker
		for _, e := range evs {
			tr.Add(e)
		}
		if !tr.Final() {
			b.Fatal("no result")
		}
	}
	b.ReportMetric(float64(len(evs)), "events/call")
}
