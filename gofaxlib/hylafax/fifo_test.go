package hylafax

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseFaxqMessage(t *testing.T) {
	tests := []struct {
		rec  string
		want Message
	}{
		{"+ttyFAKE:RPc87fcf01", Message{ModemReady, "ttyFAKE", "Pc87fcf01"}},
		{"+freeswitch0:Rpcef9ff01:ff\n", Message{ModemReady, "freeswitch0", "pcef9ff01:ff"}},
		{"+freeswitch0:R", Message{ModemReady, "freeswitch0", ""}},
		{"+freeswitch0:B", Message{ModemBusy, "freeswitch0", ""}},
		{"+freeswitch0:BPcef9ff01:ff", Message{ModemBusy, "freeswitch0", "Pcef9ff01:ff"}},
		{"+freeswitch0:U", Message{ModemInUse, "freeswitch0", ""}},
		{"+freeswitch0:D", Message{ModemDown, "freeswitch0", ""}},
		{"+freeswitch0:N+49 30 123", Message{ModemNumber, "freeswitch0", "+49 30 123"}},
		{"+freeswitch0:I000000042", Message{ModemCommID, "freeswitch0", "000000042"}},
		{"+freeswitch0:W", Message{ModemWedged, "freeswitch0", ""}},
		{`+freeswitch0:C"555","Al:ice"`, Message{ModemCallerID, "freeswitch0", `"555","Al:ice"`}},
		{"@freeswitch0:B", Message{RecvBegin, "freeswitch0", ""}},
		{"@freeswitch0:Sinfo", Message{RecvStart, "freeswitch0", "info"}},
		{"@freeswitch0:Pinfo", Message{RecvPage, "freeswitch0", "info"}},
		{"@freeswitch0:Dinfo", Message{RecvDoc, "freeswitch0", "info"}},
		{"@freeswitch0:E", Message{RecvEnd, "freeswitch0", ""}},
		{"*12:c", Message{JobCalling, "12", ""}},
		{"*12:C", Message{JobConnected, "12", ""}},
		{"*12:dinfo", Message{JobPageSent, "12", "info"}},
		{"*12:Dinfo", Message{JobDocSent, "12", "info"}},
		{"S12", Message{JobSubmit, "", "12"}},
		{"Sclient/4242:12", Message{JobSubmit, "client/4242", "12"}},
		{"*12:p", Message{UnknownMessage, "", "*12:p"}},
		{"+freeswitch0:X", Message{UnknownMessage, "", "+freeswitch0:X"}},
		{"+freeswitch0", Message{UnknownMessage, "", "+freeswitch0"}},
		{"+:R", Message{UnknownMessage, "", "+:R"}},
		{"+dev:", Message{UnknownMessage, "", "+dev:"}},
		{"Q", Message{UnknownMessage, "", "Q"}},
		{"HELLO", Message{UnknownMessage, "", "HELLO"}},
	}
	for _, tt := range tests {
		t.Run(tt.rec, func(t *testing.T) {
			got, err := ParseFaxqMessage([]byte(tt.rec))
			if err != nil || got != tt.want {
				t.Fatalf("ParseFaxqMessage(%q) = %+v, %v, want %+v", tt.rec, got, err, tt.want)
			}
		})
	}
}

func TestParseModemMessage(t *testing.T) {
	tests := []struct {
		rec  string
		want Message
	}{
		{"HELLO", Message{Kind: GettyHello}},
		{"HELLO\n", Message{Kind: GettyHello}},
		{"H", Message{Kind: GettyHello}},
		{"L", Message{Kind: GettyLock}},
		{"Q", Message{Kind: GettyQuit}},
		{"Z", Message{Kind: GettyAbort}},
		{"SR", Message{Kind: GettyState, Arg: "R"}},
		{"SB", Message{Kind: GettyState, Arg: "B"}},
		{"A", Message{Kind: GettyAnswer}},
		{"Afax", Message{Kind: GettyAnswer, Arg: "fax"}},
		{"CRingsBeforeAnswer: 2", Message{Kind: GettyConfig, Arg: "RingsBeforeAnswer: 2"}},
		{"x", Message{Kind: UnknownMessage, Arg: "x"}},
		{"+freeswitch0:R", Message{Kind: UnknownMessage, Arg: "+freeswitch0:R"}},
		{"R12:done:2", Message{Kind: GettyJobResult, ID: "12", Arg: "done:2"}},
		{"R12:retry:0\n", Message{Kind: GettyJobResult, ID: "12", Arg: "retry:0"}},
	}
	for _, tt := range tests {
		t.Run(tt.rec, func(t *testing.T) {
			got, err := ParseModemMessage([]byte(tt.rec))
			if err != nil || got != tt.want {
				t.Fatalf("ParseModemMessage(%q) = %+v, %v, want %+v", tt.rec, got, err, tt.want)
			}
		})
	}
}

func TestParseMessageErrors(t *testing.T) {
	for _, rec := range []string{
		"", "\n", "a\nb", "a\x00b", "\n\n",
		strings.Repeat("x", MaxFIFORecord+1),
		"+dev:Rx", "+dev:RPzz", "+dev:RP", "+dev:RP1:", "+dev:RP1:zz", "+dev:RP1:10000", "+dev:RP100000000",
	} {
		if _, err := ParseFaxqMessage([]byte(rec)); !errors.Is(err, ErrFIFOMessage) {
			t.Errorf("ParseFaxqMessage(%q) error = %v, want ErrFIFOMessage", rec, err)
		}
	}
	for _, rec := range []string{"", "\n", "S\x00R", "SR\nSB",
		"R", "R12", "R12:", "R12:done", "R12:done:", "R:done:1", "R12:Done:1", "R12:sent:1", "R12:done:-1",
		"R12:done:+1", "R12:done:1:2", "R12:done: 1", "R12:done:1234567890", "R12:done:0x1"} {
		if _, err := ParseModemMessage([]byte(rec)); !errors.Is(err, ErrFIFOMessage) {
			t.Errorf("ParseModemMessage(%q) error = %v, want ErrFIFOMessage", rec, err)
		}
	}
}

func TestMessageEncode(t *testing.T) {
	tests := []struct {
		m    Message
		want string
	}{
		{NewReadyMessage("freeswitch0", Ready{Caps: FreeSWITCHCapabilities, Priority: DefaultModemPriority}), "+freeswitch0:Rpcef9ff01:ff"},
		{NewReadyMessage("ttyS0", Ready{CanPoll: true, Caps: DecodeCapabilities(0xc87fcf01), Priority: 1}), "+ttyS0:RPc87fcf01:01"},
		{Message{Kind: ModemNumber, ID: "freeswitch0", Arg: "5551234"}, "+freeswitch0:N5551234"},
		{Message{Kind: ModemCommID, ID: "freeswitch0"}, "+freeswitch0:I"},
		{Message{Kind: RecvEnd, ID: "freeswitch0"}, "@freeswitch0:E"},
		{Message{Kind: JobCalling, ID: "7"}, "*7:c"},
		{Message{Kind: JobSubmit, Arg: "7"}, "S7"},
		{Message{Kind: JobSubmit, ID: "client/1", Arg: "7"}, "Sclient/1:7"},
		{Message{Kind: JobSubmit, Arg: "a:b"}, "S:a:b"},
		{Message{Kind: GettyHello}, "HELLO"},
		{Message{Kind: GettyState, Arg: "B"}, "SB"},
		{Message{Kind: GettyLock}, "L"},
		{Message{Kind: GettyConfig, Arg: "ModemPriority:1"}, "CModemPriority:1"},
		{Message{Kind: UnknownMessage, Arg: "N"}, "N"},
		{JobResultMessage(JobResult{JobID: "7", Outcome: OutcomeDone, Pages: 2}), "R7:done:2"},
		{JobResultMessage(JobResult{JobID: "8", Outcome: OutcomeRetry}), "R8:retry:0"},
		{JobResultMessage(JobResult{JobID: "9", Outcome: OutcomeFailed, Pages: 1}), "R9:failed:1"},
		{JobResultMessage(JobResult{JobID: "10", Outcome: OutcomeReformat}), "R10:reformat:0"},
	}
	for _, tt := range tests {
		got, err := tt.m.Encode()
		if err != nil || string(got) != tt.want {
			t.Errorf("Encode(%+v) = %q, %v, want %q", tt.m, got, err, tt.want)
		}
	}
	for _, m := range []Message{
		{Kind: ModemReady},
		{Kind: ModemReady, ID: "a:b"},
		{Kind: ModemReady, ID: "dev", Arg: "x"},
		{Kind: ModemNumber, ID: "dev", Arg: "1\n2"},
		{Kind: ModemNumber, ID: "dev\x00", Arg: "1"},
		{Kind: JobSubmit, ID: "a:b", Arg: "1"},
		{Kind: UnknownMessage},
		{Kind: Kind(200), ID: "x"},
		{Kind: ModemNumber, ID: "dev", Arg: strings.Repeat("1", MaxFIFORecord)},
		JobResultMessage(JobResult{Outcome: OutcomeDone}),
		JobResultMessage(JobResult{JobID: "1:2", Outcome: OutcomeDone}),
		JobResultMessage(JobResult{JobID: "1", Outcome: "sent"}),
		JobResultMessage(JobResult{JobID: "1", Outcome: OutcomeDone, Pages: -1}),
		JobResultMessage(JobResult{JobID: "1", Outcome: OutcomeDone, Pages: maxJobResultPages + 1}),
		{Kind: GettyJobResult, ID: "1", Arg: "done"},
	} {
		if _, err := m.Encode(); !errors.Is(err, ErrFIFOMessage) {
			t.Errorf("Encode(%+v) error = %v, want ErrFIFOMessage", m, err)
		}
	}
}

// TestMessageRoundTrip parses the sample records, encodes and parses
// again: the messages must be equal.
func TestMessageRoundTrip(t *testing.T) {
	for _, rec := range fifoSampleRecords(t) {
		for name, parse := range map[string]func([]byte) (Message, error){"faxq": ParseFaxqMessage, "modem": ParseModemMessage} {
			m, err := parse([]byte(rec))
			if err != nil {
				t.Fatalf("%s parse %q: %v", name, rec, err)
			}
			checkMessageRoundTrip(t, parse, m)
		}
	}
}

func checkMessageRoundTrip(t *testing.T, parse func([]byte) (Message, error), m Message) {
	t.Helper()
	b, err := m.Encode()
	if err != nil {
		t.Fatalf("Encode(%+v): %v", m, err)
	}
	again, err := parse(b)
	if err != nil || again != m {
		t.Fatalf("parse(Encode(%+v)) = %+v, %v", m, again, err)
	}
}

// sampleRecords returns the records of testdata/fifo/records.txt, one a
// line: real announcements (faxmodem, GOfax.IP) and one of each kind.
func fifoSampleRecords(t testing.TB) []string {
	f, err := os.Open("testdata/fifo/records.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		recs = append(recs, s.Text())
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestReady(t *testing.T) {
	tests := []struct {
		arg  string
		want Ready
	}{
		{"Pc87fcf01", Ready{CanPoll: true, Caps: DecodeCapabilities(0xc87fcf01), Priority: DefaultModemPriority}},
		{"pcbffff01", Ready{Caps: DecodeCapabilities(0xcbffff01), Priority: DefaultModemPriority}},
		{"pcef9ff01:ff", Ready{Caps: FreeSWITCHCapabilities, Priority: 255}},
		{"p1:0", Ready{Caps: DecodeCapabilities(1)}},
	}
	for _, tt := range tests {
		got, err := ParseReady(tt.arg)
		if err != nil || got != tt.want {
			t.Errorf("ParseReady(%q) = %+v, %v, want %+v", tt.arg, got, err, tt.want)
		}
		again, err := ParseReady(got.String())
		if err != nil || again != got {
			t.Errorf("ParseReady(%q) = %+v, %v, want %+v", got.String(), again, err, got)
		}
	}
	if _, err := ParseReady(""); !errors.Is(err, ErrFIFOMessage) {
		t.Errorf("ParseReady(\"\") error = %v", err)
	}
}

func TestSendInfo(t *testing.T) {
	i := SendInfo{Time: 42 * time.Second, Pages: 2, Params: 2097193, CommID: "000000043", File: "docq/doc5.tif;00"}
	const want = `2a,2,200029,000000043,"docq/doc5.tif;00"`
	if got := i.String(); got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	got, err := ParseSendInfo(want)
	if err != nil || got != i {
		t.Fatalf("ParseSendInfo(%q) = %+v, %v", want, got, err)
	}
	odd := SendInfo{CommID: "1,2", File: `a"b`}
	if got, err := ParseSendInfo(odd.String()); err != nil || got.CommID != "1;2" || got.File != "a'b" {
		t.Errorf("separators inside fields: %+v, %v", got, err)
	}
	for _, bad := range []string{"", "1,2,3", `x,2,3,c,"f"`, `1,2,3,c,"f`, `1,2,3,c,"f"x`, `1,2,3,c,f`} {
		if _, err := ParseSendInfo(bad); !errors.Is(err, ErrFIFOMessage) {
			t.Errorf("ParseSendInfo(%q) error = %v", bad, err)
		}
	}
}

func TestRecvInfo(t *testing.T) {
	i := RecvInfo{Time: 18 * time.Second, Pages: 2, Params: 2097193, File: "recvq/fax000000001.tif",
		CommID: "000000042", Sender: "+49 30 1234", SubAddr: "", Reason: "RSPREC error, got DCN"}
	const want = `12,2,200029,recvq/fax000000001.tif,000000042,"+49 30 1234","","RSPREC error, got DCN"`
	if got := i.String(); got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	got, err := ParseRecvInfo(want)
	if err != nil || got != i {
		t.Fatalf("ParseRecvInfo(%q) = %+v, %v", want, got, err)
	}
	for _, bad := range []string{"", `1,2,3,f,c,"s","a"`, `1,2,3,f,c,"s""a","r"`, `1,2,3,f,c,"s","a","r",`} {
		if _, err := ParseRecvInfo(bad); !errors.Is(err, ErrFIFOMessage) {
			t.Errorf("ParseRecvInfo(%q) error = %v", bad, err)
		}
	}
}

// FuzzParseFIFOMessage checks that no record makes a parser panic, and
// that whatever parses encodes to a record that parses the same.
func FuzzParseFIFOMessage(f *testing.F) {
	for _, rec := range fifoSampleRecords(f) {
		f.Add([]byte(rec))
	}
	f.Add([]byte("+dev:RP1:ffff"))
	f.Add([]byte("S:x"))
	f.Add([]byte("R7:done:2"))
	f.Add([]byte("R7:reformat:0"))
	f.Fuzz(func(t *testing.T, rec []byte) {
		for _, parse := range []func([]byte) (Message, error){ParseFaxqMessage, ParseModemMessage} {
			m, err := parse(rec)
			if err != nil {
				continue
			}
			checkMessageRoundTrip(t, parse, m)
			if r, err := ParseReady(m.Arg); err == nil {
				if again, err := ParseReady(r.String()); err != nil || again != r {
					t.Fatalf("Ready round trip %+v: %+v, %v", r, again, err)
				}
			}
			if i, err := ParseSendInfo(m.Arg); err == nil {
				if again, err := ParseSendInfo(i.String()); err != nil || again != i {
					t.Fatalf("SendInfo round trip %+v: %+v, %v", i, again, err)
				}
			}
			if r, err := ParseJobResult(m); err == nil {
				again, err := parse(mustEncode(t, JobResultMessage(r)))
				if err != nil {
					t.Fatalf("JobResult %+v: %v", r, err)
				}
				if r2, err := ParseJobResult(again); err != nil || r2 != r {
					t.Fatalf("JobResult round trip %+v: %+v, %v", r, r2, err)
				}
			}
			if i, err := ParseRecvInfo(m.Arg); err == nil {
				if again, err := ParseRecvInfo(i.String()); err != nil || again != i {
					t.Fatalf("RecvInfo round trip %+v: %+v, %v", i, again, err)
				}
			}
		}
	})
}

func BenchmarkParseFaxqMessage(b *testing.B) {
	rec := []byte("*5:D2a,2,200029,000000043,\"docq/doc5.tif;00\"")
	for b.Loop() {
		m, err := ParseFaxqMessage(rec)
		if err != nil || m.Kind != JobDocSent {
			b.Fatal(m, err)
		}
	}
}

func TestKindString(t *testing.T) {
	seen := map[string]bool{}
	for k := UnknownMessage; k <= GettyJobResult; k++ {
		name := k.String()
		if name == "" || seen[name] {
			t.Errorf("Kind %d has name %q", k, name)
		}
		seen[name] = true
	}
	if got := Kind(200).String(); got != "kind 200" {
		t.Errorf("Kind(200) = %q", got)
	}
}

func mustEncode(t *testing.T, m Message) []byte {
	t.Helper()
	b, err := m.Encode()
	if err != nil {
		t.Fatalf("Encode(%+v): %v", m, err)
	}
	return b
}

func TestJobResult(t *testing.T) {
	m, err := ParseModemMessage([]byte("R42:failed:3"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseJobResult(m)
	if want := (JobResult{JobID: "42", Outcome: OutcomeFailed, Pages: 3}); err != nil || r != want {
		t.Fatalf("ParseJobResult(%+v) = %+v, %v, want %+v", m, r, err, want)
	}
	// faxq does not know it.
	if m, err := ParseFaxqMessage([]byte("R42:failed:3")); err != nil || m.Kind != UnknownMessage {
		t.Errorf("ParseFaxqMessage = %+v, %v", m, err)
	}
	if _, err := ParseJobResult(Message{Kind: GettyState, ID: "42", Arg: "done:1"}); !errors.Is(err, ErrFIFOMessage) {
		t.Errorf("ParseJobResult of another kind: %v", err)
	}
}
