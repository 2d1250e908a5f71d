package job

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/outcome"
)

func TestDelivered(t *testing.T) {
	for _, tt := range []struct {
		name string
		t38  bool
	}{{"t38", true}, {"g711", false}} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, esltest.Options{})
			f.cfg.Gofaxsend.EnableT38, f.cfg.Gofaxsend.RequestT38 = tt.t38, tt.t38
			f.sim.Route("5551234", esltest.Scenario{Outcome: esltest.Success, T38: tt.t38})
			qf := f.qfile("7", "5551234")
			if st := f.run(context.Background(), qf); st != outcome.Done {
				t.Fatalf("status = %v, want done", st)
			}
			f.want(qf, map[string]string{
				"returned": "2", "status": "", "statuscode": "0", "npages": "2", "totdials": "1",
				"tottries": "1", "ndials": "0", "ntries": "0", "signalrate": "14400 bit/s", "csi": "2222",
				"commid": "000000001", "state": "6", "modem": "any", "fax": "0::docq/doc7.tif;00",
			})
			if df := f.read(qf).String("dataformat"); df == "" {
				t.Error("no dataformat")
			}
			calls := f.sim.Calls()
			if len(calls) == 0 {
				t.Fatal("no call")
			}
			c := calls[0]
			wantVars := map[string]string{
				"fax_enable_t38": strconv.FormatBool(tt.t38), "fax_ident": "+49 30 1111", "fax_header": "ACME  Inc.", // a comma would end the value in FreeSWITCH
				"origination_caller_id_number": "4711", "fax_use_ecm": "true", "fax_disable_v17": "false",
				"ignore_early_media": "true", "originate_timeout": "2",
			}
			for k, v := range wantVars {
				if c.Vars[k] != v {
					t.Errorf("channel variable %s = %q, want %q", k, c.Vars[k], v)
				}
			}
			if len(c.Vars["origination_uuid"]) != 36 {
				t.Errorf("origination_uuid = %q", c.Vars["origination_uuid"])
			}
			if dir, name := filepath.Split(c.File); c.Gateway != "gw1" || c.Destination != "5551234" || dir != filepath.Join(f.spool, "tmp")+"/" ||
				!strings.HasPrefix(name, "gofaxsend-7-000000001-") || !strings.HasSuffix(name, ".tif") {
				t.Errorf("call = gateway %q destination %q file %q", c.Gateway, c.Destination, c.File)
			}
			msgs := f.messages()
			for _, m := range []string{"*7:c", "*7:C"} {
				if !slices.Contains(msgs, m) {
					t.Errorf("faxq did not get %q: %q", m, msgs)
				}
			}
			pages := 0
			for _, m := range msgs {
				if strings.HasPrefix(m, "*7:d") {
					pages++
					if _, err := hylafax.ParseSendInfo(strings.TrimPrefix(m, "*7:d")); err != nil {
						t.Errorf("page message %q: %v", m, err)
					}
				}
			}
			if pages != 2 {
				t.Errorf("%d page messages, want 2: %q", pages, msgs)
			}
			if got := f.modemMessages(); !slices.Equal(got, []string{"SB", "R7:done:2", "SR"}) {
				t.Errorf("gofaxd got %q, want SB, the job result, SR", got)
			}
			b, err := os.ReadFile(filepath.Join(f.spool, "log/xferfaxlog"))
			if err != nil {
				t.Fatal(err)
			}
			recs, err := hylafax.ParseXferLog(strings.NewReader(string(b)))
			if err != nil || len(recs) != 1 {
				t.Fatalf("xferfaxlog: %v, %d records", err, len(recs))
			}
			r := recs[0]
			if r.Kind != "SEND" || r.CommID != "000000001" || r.JobID != "7" || r.Modem != "freeswitch0" ||
				r.Pages != 2 || r.CSI != "2222" || r.Reason != "" || r.Dest != "5551234" || r.Owner != "root" {
				t.Errorf("xferfaxlog record = %+v", r)
			}
			p, err := hylafax.DecodeClass2Params(r.Params)
			if err != nil || p.BitRate() != 14400 {
				t.Errorf("params %d: %+v %v", r.Params, p, err)
			}
			if df := f.read(qf).String("dataformat"); dcsDataFormat(r.DCS) != df {
				t.Errorf("xferfaxlog DCS %q is %q, want the qfile's dataformat %q", r.DCS, dcsDataFormat(r.DCS), df)
			}
			sess, err := os.ReadFile(filepath.Join(f.spool, "log/c000000001"))
			if err != nil || !strings.Contains(string(sess), "SESSION BEGIN 000000001 5551234") || !strings.Contains(string(sess), "SESSION END") {
				t.Errorf("session log: %v\n%s", err, sess)
			}
		})
	}
}

// TestMergedDocumentName: the document txfax sends lies in the spool's
// world-writable tmp/; a file another user made there in advance under
// the name gofaxsend would use cannot make the attempt fail, and the
// merged file is gone afterwards.
func TestMergedDocumentName(t *testing.T) {
	f := newFixture(t, esltest.Options{})
	f.sim.Route("5551234", esltest.Scenario{Outcome: esltest.Success})
	qf := f.qfile("7", "5551234")
	// The names of jobid 7's first attempt, by the old scheme and with
	// a pattern's star.
	taken := []string{"gofaxsend-7-000000001.tif", "gofaxsend-7-000000001-.tif", "gofaxsend-7-000000001-0.tif"}
	for _, name := range taken {
		if err := os.WriteFile(filepath.Join(f.spool, "tmp", name), []byte("not yours"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if st := f.run(context.Background(), qf); st != outcome.Done {
		t.Fatalf("status = %v, want done; qfile:\n%s", st, f.read(qf).Bytes())
	}
	calls := f.sim.Calls()
	if len(calls) != 1 || slices.Contains(taken, filepath.Base(calls[0].File)) {
		t.Fatalf("calls %+v", calls)
	}
	left, _ := os.ReadDir(filepath.Join(f.spool, "tmp"))
	if len(left) != len(taken) {
		t.Errorf("tmp/ holds %d files, want the %d made before", len(left), len(taken))
	}
}

// dcsDataFormat reads the data format from a DCS in HylaFAX's notation as
// xferfaxstats does.
func dcsDataFormat(dcs string) string {
	bit := func(n int) bool {
		i := (n - 1) / 8 * 3
		if i+2 > len(dcs) {
			return false
		}
		b, err := strconv.ParseUint(dcs[i:i+2], 16, 8)
		return err == nil && b&(0x80>>((n-1)%8)) != 0
	}
	switch {
	case bit(68) && bit(69):
		return "JPEG Full-color"
	case bit(68):
		return "JPEG Greyscale"
	case bit(78) || bit(79):
		return "JBIG"
	case bit(31):
		return "2-D MMR"
	case bit(26):
		return "2-D Uncompressed Mode"
	case bit(16):
		return "2-D MR"
	}
	return "1-D MH"
}

// TestSessionParams: the last page counts (hylafax.SpandspParams has the
// rest of the table).
func TestSessionParams(t *testing.T) {
	page := func(enc, res, size string) gofaxlib.PageResult {
		return gofaxlib.PageResult{EncodingName: enc, Resolution: res, PixelSize: size}
	}
	r := gofaxlib.Result{TransferRate: 9600, Pages: []gofaxlib.PageResult{page("T.6", "8040x7700", "1728x2156"), page("T.4 2-D", "8040x3850", "2048x1600")}}
	want := hylafax.Class2Params{BR: hylafax.BR9600, DF: hylafax.DF2DMR, VR: hylafax.VRNormal, WD: hylafax.WD2048, LN: hylafax.LNUnlimited}
	if p := sessionParams(&r); p != want {
		t.Errorf("sessionParams = %+v, want %+v", p, want)
	}
}

// TestRemoteCSIQuoted: the far end's CSI is quoted in the session log, so
// a CSI with a line break cannot forge a log line (notify mails quote the
// log).
func TestRemoteCSIQuoted(t *testing.T) {
	f := newFixture(t, esltest.Options{})
	f.sim.Route("5551234", esltest.Scenario{Outcome: esltest.Success, StationID: "ACME\nSEND FAX: JOB 1 forged"})
	if st := f.run(context.Background(), f.qfile("7", "5551234")); st != outcome.Done {
		t.Fatalf("status %v", st)
	}
	b, err := os.ReadFile(filepath.Join(f.spool, "log/c000000001"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if _, text, _ := strings.Cut(l, "]: "); strings.HasPrefix(text, "SEND FAX: JOB 1 forged") {
			t.Errorf("forged line in the session log:\n%s", b)
		}
	}
	if !strings.Contains(string(b), `REMOTE CSI "ACME\nSEND FAX: JOB 1 forged"`) {
		t.Errorf("CSI not quoted:\n%s", b)
	}
}
