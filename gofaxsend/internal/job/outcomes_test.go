package job

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/outcome"
	"github.com/gofaxserver/gofaxserver/internal/golden"
)

// TestCallFailures checks each far-end failure: the send status, what
// the qfile says and the counters faxq's maxdials/maxtries rely on.
func TestCallFailures(t *testing.T) {
	tests := []struct {
		name   string
		sc     esltest.Scenario
		status outcome.Status
		want   map[string]string
		retry  time.Duration // expected tts - now, 0: none written
	}{
		{"busy", esltest.Scenario{Outcome: esltest.Busy}, outcome.Retry,
			map[string]string{"returned": "0", "statuscode": "1", "status": "Busy signal detected", "totdials": "1", "ndials": "1", "tottries": "0", "npages": "0"},
			defaultFaxsendConf.busy},
		{"no answer", esltest.Scenario{Outcome: esltest.NoAnswer}, outcome.Retry,
			map[string]string{"returned": "0", "statuscode": "3", "status": "No answer from remote", "totdials": "1", "ndials": "1", "tottries": "0"},
			defaultFaxsendConf.noAnswer},
		{"rejected", esltest.Scenario{Outcome: esltest.Rejected}, outcome.Failed,
			map[string]string{"returned": "1", "statuscode": "2", "status": "CALL_REJECTED (retry disabled)", "totdials": "1", "tottries": "0"}, 0},
		{"unallocated number", esltest.Scenario{Outcome: esltest.NotFound}, outcome.Failed,
			map[string]string{"returned": "1", "status": "UNALLOCATED_NUMBER (retry disabled)", "totdials": "1"}, 0},
		{"no route", esltest.Scenario{Outcome: esltest.NoRoute}, outcome.Retry,
			map[string]string{"returned": "0", "statuscode": "2", "status": "NO_ROUTE_DESTINATION", "totdials": "1", "ndials": "1"},
			defaultFaxsendConf.noCarrier},
		{"negotiation failure", esltest.Scenario{Outcome: esltest.NoFax}, outcome.Retry,
			map[string]string{"returned": "0", "statuscode": "126", "totdials": "1", "tottries": "1", "ndials": "0", "ntries": "1", "npages": "0",
				"status": "Timed out waiting for initial communication"},
			defaultFaxsendConf.proto},
		{"hang-up during page 2", esltest.Scenario{Outcome: esltest.Success, HangupAtPage: 2}, outcome.Retry,
			map[string]string{"returned": "0", "statuscode": "128", "status": "The call dropped prematurely", "totdials": "1", "tottries": "1",
				"npages": "1", "ntries": "0", "fax": "1::docq/doc7.tif;00"},
			defaultFaxsendConf.proto},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, esltest.Options{})
			f.sim.Route("5551234", tt.sc)
			qf := f.qfile("7", "5551234")
			before := time.Now()
			if st := f.run(context.Background(), qf); st != tt.status {
				t.Errorf("status = %v, want %v", st, tt.status)
			}
			f.want(qf, tt.want)
			pages := tt.want["npages"]
			if pages == "" {
				pages = "0"
			}
			if got, want := f.modemMessages(), []string{"SB", "R7:" + tt.status.String() + ":" + pages, "SR"}; !slices.Equal(got, want) {
				t.Errorf("gofaxd got %q, want %q", got, want)
			}
			tts, _ := strconv.ParseInt(f.read(qf).String("tts"), 10, 64)
			if tt.retry == 0 {
				if tts != 1795327911 {
					t.Errorf("tts changed to %d", tts)
				}
				return
			}
			if got := time.Unix(tts, 0).Sub(before); got < tt.retry-2*time.Second || got > tt.retry+2*time.Second {
				t.Errorf("tts is now+%v, want now+%v", got, tt.retry)
			}
		})
	}
}

// TestResumeAfterPartial: page 1 went through before the far end hung up;
// the retry sends only page 2 and completes the job.
func TestResumeAfterPartial(t *testing.T) {
	f := newFixture(t, esltest.Options{})
	f.sim.Route("5551234", esltest.Scenario{Outcome: esltest.Success, HangupAtPage: 2})
	qf := f.qfile("7", "5551234", "retrytime:5")
	if st := f.run(context.Background(), qf); st != outcome.Retry {
		t.Fatalf("first attempt: %v", st)
	}
	tts, _ := strconv.ParseInt(f.read(qf).String("tts"), 10, 64)
	if d := time.Until(time.Unix(tts, 0)); d < 3*time.Second || d > 6*time.Second {
		t.Errorf("retrytime 5 gave tts now+%v", d)
	}
	f.sim.Route("5551234", esltest.Scenario{Outcome: esltest.Success})
	if st := f.run(context.Background(), qf); st != outcome.Done {
		t.Fatalf("second attempt: %v", st)
	}
	f.want(qf, map[string]string{"returned": "2", "npages": "2", "totdials": "2", "tottries": "2", "status": ""})
	calls := f.sim.Calls()
	if len(calls) != 2 {
		t.Fatalf("%d calls", len(calls))
	}
	second := calls[1]
	if second.Result == nil || second.Result.TotalPages != 1 || second.Result.Pages != 1 {
		t.Errorf("retry sent %+v, want exactly the one page left", second.Result)
	}
	if !strings.HasPrefix(second.File, filepath.Join(f.spool, "tmp")+"/") {
		t.Errorf("retry document %q, want a merged file in the spool's tmp/", second.File)
	}
	if left, _ := filepath.Glob(filepath.Join(f.spool, "tmp", "*")); len(left) != 0 {
		t.Errorf("merged files left behind: %v", left)
	}
}

// TestResumeAcrossDocuments: a job of two documents whose first was sent
// completely gives faxq the D message for it and keeps only the second;
// the first one's source goes back to its shared name, as faxsend does.
func TestResumeAcrossDocuments(t *testing.T) {
	f := newFixture(t, esltest.Options{})
	f.sim.Route("5551234", esltest.Scenario{Outcome: esltest.Success, HangupAtPage: 3})
	src, _ := os.ReadFile("testdata/sent-2page-g3.tif")
	os.WriteFile(filepath.Join(f.spool, "docq/doc8.tif;00"), src, 0o644)
	os.WriteFile(filepath.Join(f.spool, "docq/doc8.tif.7"), src, 0o644)
	qf := f.qfile("7", "5551234")
	q := f.read(qf)
	items := append(q.Items(), hylafax.Item{Op: "!tiff", Path: "docq/doc8.tif.7"}, hylafax.Item{Op: hylafax.OpFax, Path: "docq/doc8.tif;00"})
	if err := q.SetItems(items); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(f.spool, qf), q.Bytes(), 0o644)

	if st := f.run(context.Background(), qf); st != outcome.Retry {
		t.Fatalf("status %v", st)
	}
	var got []string
	for _, it := range f.read(qf).Items() {
		got = append(got, it.String())
	}
	want := []string{"!tiff:0::docq/doc7.tif", "!tiff:0::docq/doc8.tif.7", "fax:0::docq/doc8.tif;00"}
	if !slices.Equal(got, want) {
		t.Errorf("items %q, want %q", got, want)
	}
	// doc7's job link is gone, the shared source stays; doc8 is untouched.
	for name, exists := range map[string]bool{"docq/doc7.tif.7": false, "docq/doc7.tif": true, "docq/doc8.tif.7": true} {
		if _, err := os.Stat(filepath.Join(f.spool, name)); (err == nil) != exists {
			t.Errorf("%s: exists %v, want %v", name, err == nil, exists)
		}
	}
	if !slices.ContainsFunc(f.messages(), func(m string) bool { return strings.HasPrefix(m, "*7:D") && strings.Contains(m, `"docq/doc7.tif;00"`) }) {
		t.Errorf("no D message for doc7: %q", f.messages())
	}
	f.want(qf, map[string]string{"npages": "2"})
}

func TestLoadFaxsendConf(t *testing.T) {
	spool := t.TempDir()
	os.Mkdir(filepath.Join(spool, "etc"), 0o755)
	os.WriteFile(filepath.Join(spool, "etc/config"), []byte("JobReqBusy: 20\nJobReqProto:\t\"7\" # comment\nJobReqOther: 300\nJobReqNoAnswer: x\nUseJobTSI: yes\n"), 0o644)
	os.WriteFile(filepath.Join(spool, "etc/config.fs0"), []byte("jobreqbusy: 10\nUseJobTSI: no\n"), 0o644)
	def := defaultFaxsendConf
	tests := []struct {
		name     string
		spool    string
		controls map[string]string
		want     faxsendConf
	}{
		{"no files", t.TempDir(), nil, def},
		{"modem file wins", spool, nil, faxsendConf{requeue: requeue{busy: 10 * time.Second, noAnswer: def.noAnswer, noCarrier: def.noCarrier, proto: 7 * time.Second}}},
		{"JobControl wins", spool, map[string]string{"usejobtsi": "true", "jobreqproto": "3"},
			faxsendConf{requeue: requeue{busy: 10 * time.Second, noAnswer: def.noAnswer, noCarrier: def.noCarrier, proto: 3 * time.Second}, useJobTSI: true}},
	}
	for _, tt := range tests {
		if got := loadFaxsendConf(tt.spool, "fs0", tt.controls); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func FuzzParseFaxsendConf(f *testing.F) {
	f.Add("JobReqBusy: 20\nJobReqProto:\t\"7\" # comment\nUseJobTSI: on\n")
	f.Add("jobreqnocarrier:-1\nJobReqNoAnswer: 99999999999999999999\n")
	f.Fuzz(func(t *testing.T, s string) {
		r := parseFaxsendConf(hylafax.ParseConfig([]byte(s)), defaultFaxsendConf)
		for _, d := range []time.Duration{r.busy, r.noAnswer, r.noCarrier, r.proto} {
			if d < 0 || d > maxRequeue*time.Second {
				t.Fatalf("delay %v from %q", d, s)
			}
		}
	})
}

// TestAttemptsExhausted: as faxsend, a retry that used up the job's
// maxdials or maxtries fails at once, saying why; local trouble does not
// count.
func TestAttemptsExhausted(t *testing.T) {
	for _, tt := range []struct {
		name   string
		sc     esltest.Scenario
		set    map[string]int
		down   bool
		status outcome.Status
		text   string
	}{
		{"busy on the last dial", esltest.Scenario{Outcome: esltest.Busy}, map[string]int{"totdials": 11, "maxdials": 12},
			false, outcome.Failed, "Busy signal detected; too many attempts to dial"},
		{"busy with dials left", esltest.Scenario{Outcome: esltest.Busy}, map[string]int{"totdials": 10, "maxdials": 12},
			false, outcome.Retry, "Busy signal detected"},
		{"negotiation failure on the last try", esltest.Scenario{Outcome: esltest.NoFax}, map[string]int{"tottries": 2, "maxtries": 3},
			false, outcome.Failed, "Timed out waiting for initial communication; too many attempts to send"},
		{"FreeSWITCH down", esltest.Scenario{}, map[string]int{"totdials": 12, "maxdials": 12, "tottries": 3, "maxtries": 3},
			true, outcome.Retry, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, esltest.Options{})
			f.sim.Route("5551234", tt.sc)
			if tt.down {
				f.cfg.FreeSWITCH.Socket = "127.0.0.1:1"
			}
			qf := f.qfile("7", "5551234")
			q := f.read(qf)
			for k, v := range tt.set {
				q.SetInt(k, v)
			}
			if err := os.WriteFile(filepath.Join(f.spool, qf), q.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			if st := f.run(context.Background(), qf); st != tt.status {
				t.Errorf("status %v, want %v", st, tt.status)
			}
			if got := f.read(qf).String("status"); tt.text != "" && got != tt.text {
				t.Errorf("status text %q, want %q", got, tt.text)
			}
			if got := f.modemMessages(); len(got) != 3 || got[1] != "R7:"+tt.status.String()+":0" {
				t.Errorf("gofaxd got %q", got)
			}
		})
	}
}

// TestMachineInfo: after each call gofaxsend updates info/<number> as
// faxsend does (golden files), keeping what the administrator locked.
func TestMachineInfo(t *testing.T) {
	f := newFixture(t, esltest.Options{})
	if err := os.Mkdir(filepath.Join(f.spool, hylafax.InfoDir), 0o755); err != nil {
		t.Fatal(err)
	}
	info := func(number string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(f.spool, "info", number))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// Busy twice: two dial failures, never called before.
	f.sim.Route("5551234", esltest.Scenario{Outcome: esltest.Busy})
	f.run(context.Background(), f.qfile("7", "5551234"))
	f.run(context.Background(), f.qfile("8", "5551234"))
	golden.Check(t, "testdata/info/busy-twice", info("5551234"))

	// Then delivered: called before, the CSI, no failures left; the
	// reason of the last dial failure stays, as with faxsend.
	f.sim.Route("5551234", esltest.Scenario{Outcome: esltest.Success, StationID: "+49 30 \"ACME\""})
	if st := f.run(context.Background(), f.qfile("9", "5551234")); st != outcome.Done {
		t.Fatalf("status %v", st)
	}
	golden.Check(t, "testdata/info/delivered", info("5551234"))

	// A remote that answers but never talks fax: a send failure; the
	// administrator's locked items stay as they are.
	locked := "&supportsMMR:no\n&hasV17Trouble:no\n&maxSignallingRate:\"9600\"\nremoteCSI:\"OLD\"\n"
	if err := os.WriteFile(filepath.Join(f.spool, "info/5559999"), []byte(locked), 0o644); err != nil {
		t.Fatal(err)
	}
	f.sim.Route("5559999", esltest.Scenario{Outcome: esltest.NoFax})
	f.cfg.Gofaxsend.PageTimeout = 300 * time.Millisecond
	f.run(context.Background(), f.qfile("10", "555-9999"))
	golden.Check(t, "testdata/info/no-fax-locked", info("5559999"))

	// No call, no entry: FreeSWITCH down.
	f.cfg.FreeSWITCH.Socket = "127.0.0.1:1"
	f.run(context.Background(), f.qfile("11", "5550000"))
	if _, err := os.Stat(filepath.Join(f.spool, "info/5550000")); !os.IsNotExist(err) {
		t.Errorf("info file without a call: %v", err)
	}
}
