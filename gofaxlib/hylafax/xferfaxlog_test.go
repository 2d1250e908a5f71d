package hylafax

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func xferAt(month time.Month, day, hour, min int) time.Time {
	return time.Date(2026, month, day, hour, min, 0, 0, time.Local)
}

// xferSamples are records as gofaxsend and gofaxd write them, including
// the awkward cases: a CSI with a quote, a jobtag with a TAB and a quote,
// more than two caller IDs, a job longer than an hour.
var xferSamples = []XferRecord{
	{
		Start: xferAt(12, 1, 12, 50), Kind: KindSend, CommID: "000000042", Modem: "freeswitch0", JobID: "7",
		JobTag: "invoice 2026-17", Sender: "root@vm", Dest: "5551234", CSI: "+49 30 1234567",
		Params: 2162728, Pages: 3, JobTime: 65 * time.Second, ConnTime: 58 * time.Second,
		Owner: "root", DCS: "00 00 00",
	},
	{
		Start: xferAt(12, 1, 13, 5), Kind: KindSend, CommID: "000000043", Modem: "freeswitch1", JobID: "8",
		JobTag: "tab\there \"quoted\"", Sender: "alice@example.com", Dest: "0301234", CSI: `ACME "Sales"` + "\tDept",
		Params: 2097152, Pages: 0, JobTime: 1*time.Hour + 2*time.Minute + 3*time.Second,
		Reason: "Busy signal detected", Owner: "alice",
	},
	{
		Start: xferAt(1, 2, 9, 0), Kind: KindRecv, CommID: "000000044", Modem: "freeswitch0", JobID: "recvq/fax000000001.tif",
		Sender: "fax", Dest: "+4930555", CSI: "REMOTE TSI", Params: 2162856, Pages: 2,
		JobTime: 49 * time.Second, ConnTime: 49 * time.Second,
		CallIDs: []string{"0301234", "Alice", "+4930555", "extra"}, DCS: "00 46 1f",
	},
	{
		Start: xferAt(1, 2, 9, 30), Kind: KindCall, CommID: "000000045", Modem: "freeswitch0",
		Sender: "fax", Dest: "+4930555", JobTime: 3 * time.Second,
		Reason: "Call rejected", CallIDs: []string{"0309999"},
	},
	{
		Start: xferAt(7, 15, 23, 59), Kind: KindSend, CommID: "000000046", Modem: "freeswitch2", JobID: "9",
		JobTag: strings.Repeat("x", 76) + `"yz`, Sender: "bob", Dest: "1", Params: 0, Pages: 1,
		JobTime: 100 * time.Hour, ConnTime: -time.Second, Reason: "line1\nline2", Owner: "bob",
	},
}

func TestXferRecordGolden(t *testing.T) {
	var b bytes.Buffer
	for _, r := range xferSamples {
		b.WriteString(r.Format())
		b.WriteByte('\n')
	}
	checkGolden(t, "xferfaxlog.golden", b.Bytes())
	for i, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if n := strings.Count(line, "\t") + 1; n != 19 {
			t.Errorf("record %d has %d fields", i, n)
		}
	}
}

func TestXferRecordFields(t *testing.T) {
	f := strings.Split(xferSamples[1].Format(), "\t")
	checks := []struct {
		n    int // 1-based field number as in awk
		want string
	}{
		{1, "12/01/26 13:05"},
		{2, "SEND"},
		{6, `"tab here \"quoted\""`},
		{8, `"0301234"`},
		{9, `"ACME 'Sales' Dept"`},
		{10, "2097152"},
		{11, "0"},
		{12, "1:02:03"},
		{13, "0:00:00"},
		{14, `"Busy signal detected"`},
		{15, `""`}, {16, `""`}, {17, `""`},
		{18, `"alice"`},
		{19, `""`},
	}
	for _, c := range checks {
		if f[c.n-1] != c.want {
			t.Errorf("$%d = %q, want %q", c.n, f[c.n-1], c.want)
		}
	}
	recv := strings.Split(xferSamples[2].Format(), "\t")
	if recv[14] != `"Alice"` || recv[15] != `"0301234"` || recv[16] != `"+4930555::extra"` {
		t.Errorf("caller IDs $15-$17 = %q", recv[14:17])
	}
	long := strings.Split(xferSamples[4].Format(), "\t")
	if want := `"` + strings.Repeat("x", 76) + `\""`; long[5] != want {
		t.Errorf("long jobtag = %q, want %q", long[5], want)
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0:00:00"},
		{999 * time.Millisecond, "0:00:00"},
		{65 * time.Second, "0:01:05"},
		{59*time.Minute + 59*time.Second, "0:59:59"},
		{time.Hour, "1:00:00"},
		{10*time.Hour + 5*time.Second, "10:00:05"},
		{99 * time.Hour, "99:00:00"},
		{99*time.Hour + time.Second, "??:??:??"},
		{-time.Second, "0:00:00"},
	}
	for _, tt := range tests {
		if got := FormatDuration(tt.d); got != tt.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// canonical is what a record looks like after Format and ParseXferRecord:
// whole seconds, durations clamped, cleaned text.
func canonical(r XferRecord) XferRecord {
	c := r
	c.JobTime = clampDuration(r.JobTime)
	c.ConnTime = clampDuration(r.ConnTime)
	return c
}

func clampDuration(d time.Duration) time.Duration {
	if d < 0 {
		return 0
	}
	return min(d.Truncate(time.Second), maxXferTime+time.Second)
}

func TestXferRecordParseRoundTrip(t *testing.T) {
	want := []XferRecord{
		canonical(xferSamples[0]),
		canonical(xferSamples[1]),
		canonical(xferSamples[2]),
		canonical(xferSamples[3]),
		canonical(xferSamples[4]),
	}
	// What cannot be written as given comes back cleaned.
	want[1].JobTag = `tab here "quoted"`
	want[1].CSI = "ACME 'Sales' Dept"
	want[4].JobTag = strings.Repeat("x", 76) + `"`
	want[4].Reason = "line1 line2"
	for i, r := range xferSamples {
		got, err := ParseXferRecord(r.Format())
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !got.Start.Equal(want[i].Start) {
			t.Errorf("record %d: start %v, want %v", i, got.Start, want[i].Start)
		}
		got.Start = want[i].Start
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, got, want[i])
		}
		var u XferRecord
		text, _ := got.MarshalText()
		if err := u.UnmarshalText(text); err != nil || u.Format() != got.Format() {
			t.Errorf("record %d: text marshalling round trip: %v", i, err)
		}
	}
}

func TestParseXferLogHylaFAXLines(t *testing.T) {
	// Lines as HylaFAX itself writes them: a raw quote inside the CSI and
	// an escaped one in the jobtag.
	in := "11/30/26 08:15\tSEND\t000000003\tttyS0\t12\t\"a \\\"b\\\"\"\troot\t\"555\"\t\"X\"Y\"\t2162728\t1\t0:00:40\t0:00:35\t\"\"\t\"\"\t\"\"\t\"\"\t\"root\"\t\"00 00 00\"\r\n"
	recs, err := ParseXferLog(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	r := recs[0]
	if r.JobTag != `a "b"` || r.CSI != "X'Y" || r.DCS != "00 00 00" || r.JobTime != 40*time.Second || r.Params != 2162728 {
		t.Errorf("parsed %+v", r)
	}
}

func TestParseXferLogBadLines(t *testing.T) {
	good := xferSamples[0].Format()
	lines := []string{
		good,
		"",                        // 2: empty lines are ignored
		"too\tfew\tfields",        // 3
		strings.Repeat("x", 9000), // 4: too long
		strings.Replace(good, "12/01/26", "2026-12-01", 1), // 5: bad date
		strings.Replace(good, "2162728", "-1", 1),          // 6: bad params
		strings.Replace(good, "0:01:05", "1:5", 1),         // 7: bad time
		good, // 8
	}
	recs, err := ParseXferLog(strings.NewReader(strings.Join(lines, "\n")))
	if len(recs) != 2 {
		t.Errorf("%d good records, want 2", len(recs))
	}
	var got []int
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var pe *ParseError
		if !errors.As(e, &pe) {
			t.Fatalf("not a ParseError: %v", e)
		}
		got = append(got, pe.Line)
	}
	if want := []int{3, 4, 5, 6, 7}; !reflect.DeepEqual(got, want) {
		t.Errorf("bad lines reported %v, want %v (%v)", got, want, err)
	}
}

func TestParseXferLogManyBadLines(t *testing.T) {
	_, err := ParseXferLog(strings.NewReader(strings.Repeat("bad\n", 250)))
	errs := err.(interface{ Unwrap() []error }).Unwrap()
	if len(errs) != maxXferErrors+1 || !strings.Contains(errs[len(errs)-1].Error(), "150 more") {
		t.Errorf("%d errors, last %v", len(errs), errs[len(errs)-1])
	}
}

// TestAppendXferRecords: several records go in one write under the
// lock, and are fsynced before it is released.
func TestAppendXferRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "xferfaxlog")
	rec := &recordingSyncer{}
	if err := AppendXferRecords(context.Background(), path, xferSamples, rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.log) != 1 || rec.log[0].op != "fsync" || rec.log[0].name != path {
		t.Errorf("syncs %+v, want one fsync of %s", rec.log, path)
	}
	b, _ := os.ReadFile(path)
	if rec.log[0].size != int64(len(b)) {
		t.Errorf("fsynced at %d bytes of %d", rec.log[0].size, len(b))
	}
	recs, err := ParseXferLog(bytes.NewReader(b))
	if err != nil || len(recs) != len(xferSamples) {
		t.Fatalf("%d records, %v", len(recs), err)
	}
}

func TestAppendXferLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "xferfaxlog")
	const workers, each = 6, 20
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				r := xferSamples[(w+i)%len(xferSamples)]
				if err := AppendXferLog(context.Background(), path, r); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	f, _ := os.Open(path)
	defer f.Close()
	recs, err := ParseXferLog(f)
	if err != nil || len(recs) != workers*each {
		t.Fatalf("%d records, err %v", len(recs), err)
	}
}

func FuzzParseXferLog(f *testing.F) {
	f.Add([]byte(xferSamples[0].Format() + "\n" + xferSamples[2].Format()))
	if data, err := os.ReadFile("testdata/xferfaxlog.golden"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("01/01/70 00:00\tRECV\t\t\t\t\"\\\"\"\t\t\"\t0\t0\t99999:00:00\t??:??:??\t\t\t\t\"::a::\"\t\t\t\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, _ := ParseXferLog(bytes.NewReader(data))
		for _, r := range recs {
			line := r.Format()
			if strings.ContainsAny(line, "\r\n") || strings.Count(line, "\t") != 18 {
				t.Fatalf("Format wrote a broken record %q", line)
			}
			again, err := ParseXferRecord(line)
			if err != nil {
				t.Fatalf("cannot parse own output %q: %v", line, err)
			}
			if again.Format() != line {
				t.Fatalf("parse → write → parse changed the record:\n%q\n%q", line, again.Format())
			}
			again.Start = r.Start
			if !reflect.DeepEqual(again, r) {
				t.Fatalf("record changed:\n got %+v\nwant %+v", again, r)
			}
		}
	})
}

func BenchmarkXferRecordFormat(b *testing.B) {
	for b.Loop() {
		_ = xferSamples[2].Format()
	}
}

func BenchmarkParseXferLog(b *testing.B) {
	var buf bytes.Buffer
	for i := range 1000 {
		buf.WriteString(xferSamples[i%len(xferSamples)].Format())
		buf.WriteByte('\n')
	}
	b.SetBytes(int64(buf.Len()))
	for b.Loop() {
		if _, err := ParseXferLog(bytes.NewReader(buf.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendXferLog(b *testing.B) {
	path := filepath.Join(b.TempDir(), "xferfaxlog")
	for b.Loop() {
		if err := AppendXferLog(context.Background(), path, xferSamples[0]); err != nil {
			b.Fatal(err)
		}
	}
}
