package hylafax_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax/hylafaxtest"
)

// dcsTests hold DCS frames worked out by hand from T.30 Table 2 and the
// data format xferfaxstats must read from each ("" when the case is not
// given to it).
var dcsTests = []struct {
	name   string
	p      hylafax.Class2Params
	want   string
	format string
}{
	{"zero: 2400, normal, A4, MH, 0 ms", hylafax.Class2Params{}, "00 40 0E", "1-D MH"},
	{"14400 fine MR", hylafax.Class2Params{BR: hylafax.BR14400, VR: hylafax.VRFine, DF: hylafax.DF2DMR}, "00 47 0E", "2-D MR"},
	{"14400 fine MMR ECM 256", hylafax.Class2Params{BR: hylafax.BR14400, VR: hylafax.VRFine, DF: hylafax.DF2DMMR, EC: hylafax.ECEnable256}, "00 46 0F 22", "2-D MMR"},
	{"14400 fine MMR ECM 64", hylafax.Class2Params{BR: hylafax.BR14400, VR: hylafax.VRFine, DF: hylafax.DF2DMMR, EC: hylafax.ECEnable64}, "00 46 0F 32", ""},
	{"MMR without ECM is not signalled", hylafax.Class2Params{BR: hylafax.BR14400, DF: hylafax.DF2DMMR}, "00 44 0E", ""},
	{"14400 fine JBIG ECM", hylafax.Class2Params{BR: hylafax.BR14400, VR: hylafax.VRFine, DF: hylafax.DFJBIG, EC: hylafax.ECEnable256}, "00 46 0F 21 01 01 01 01 01 04", "JBIG"},
	{"12000", hylafax.Class2Params{BR: hylafax.BR12000}, "00 54 0E", ""},
	{"9600 B4 width, any length, 20 ms", hylafax.Class2Params{BR: hylafax.BR9600, WD: hylafax.WD2048, LN: hylafax.LNUnlimited, ST: hylafax.ST20ms}, "00 60 90", ""},
	{"7200 A3, B4 length, 10 ms", hylafax.Class2Params{BR: hylafax.BR7200, WD: hylafax.WD2432, LN: hylafax.LNB4, ST: hylafax.ST10ms}, "00 70 64", ""},
	{"4800 5 ms", hylafax.Class2Params{BR: hylafax.BR4800, ST: hylafax.ST5ms}, "00 50 08", ""},
	{"40 ms", hylafax.Class2Params{ST: hylafax.ST40ms}, "00 40 02", ""},
	{"10/5 ms", hylafax.Class2Params{ST: hylafax.ST10ms5ms}, "00 40 06", ""},
	{"V.34 sets no rate bits", hylafax.Class2Params{BR: hylafax.BR33600}, "00 40 0E", ""},
	{"200x200 is fine", hylafax.Class2Params{VR: hylafax.VR200x200}, "00 42 0E", ""},
	{"200x100 is normal", hylafax.Class2Params{VR: hylafax.VR200x100}, "00 40 0E", ""},
	{"superfine", hylafax.Class2Params{VR: hylafax.VRR8}, "00 40 0F 01 01 80", ""},
	{"200x400 is superfine", hylafax.Class2Params{VR: hylafax.VR200x400}, "00 40 0F 01 01 80", ""},
	{"300x300", hylafax.Class2Params{VR: hylafax.VR300x300}, "00 40 0F 01 01 40", ""},
	{"R16", hylafax.Class2Params{VR: hylafax.VRR16}, "00 40 0F 01 01 20", ""},
}

func TestDCS(t *testing.T) {
	for _, tt := range dcsTests {
		if got := tt.p.DCS(); got != tt.want {
			t.Errorf("%s: DCS() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestDCSInXferfaxstats: HylaFAX's xferfaxstats reads from our DCS the
// data format it was made from (its TypData column).
func TestDCSInXferfaxstats(t *testing.T) {
	t.Parallel()
	srv := hylafaxtest.Start(t, hylafaxtest.Options{NoSyslog: true})
	start := time.Now().Add(-time.Hour).In(time.Local) // not in the future, not older than 360 days
	logPath := filepath.Join(srv.Spool, hylafax.XferLogFile)
	want := map[string]string{}
	for i, tt := range dcsTests {
		if tt.format == "" {
			continue
		}
		dest := fmt.Sprintf("555%04d", i)
		want[dest] = tt.format
		r := hylafax.XferRecord{Start: start, Kind: hylafax.KindSend, CommID: "000000001", Modem: "ttyA", JobID: "1",
			Sender: "alice", Dest: dest, Params: tt.p.Encode(), Pages: 1, JobTime: time.Minute, ConnTime: time.Minute,
			DCS: tt.p.DCS()}
		if err := hylafax.AppendXferLog(context.Background(), logPath, r); err != nil {
			t.Fatal(err)
		}
	}
	out, err := srv.Run("xferfaxstats", "-dest")
	if err != nil {
		t.Fatalf("xferfaxstats: %v\n%s", err, out)
	}
	rows, _ := parseStats(t, out)
	got := map[string]string{}
	for _, r := range rows {
		got[r.key] = r.format
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("xferfaxstats -dest data formats:\n got %v\nwant %v\n%s", got, want, strings.TrimSpace(out))
	}
}
