package hylafax_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax/hylafaxtest"
)

// TestFaxstatShowsStatus: faxstat (through hfaxd) lists the modems whose
// files exist, with the text WriteStatus wrote.
func TestFaxstatShowsStatus(t *testing.T) {
	t.Parallel()
	srv := hylafaxtest.Start(t, hylafaxtest.Options{NoSyslog: true})
	ctx := context.Background()
	a, b := srv.ModemName("ttyA"), srv.ModemName("ttyB")
	srv.AddModem(a, hylafaxtest.ModemOptions{Number: "+49.30.1234567"})
	srv.AddModem(b, hylafaxtest.ModemOptions{})
	// WriteStatus must also create a missing status file.
	if err := os.Remove(filepath.Join(srv.Spool, "status", b)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		modem, text, want string
	}{
		{a, "Running and idle", "Running and idle"},
		{b, `Receiving from "REMOTE TSI"`, `Receiving from "REMOTE TSI"`},
		{a, "Sending job 12\nsecond line", "Sending job 12 second line"},
		{b, "", "No status (empty file)"}, // hfaxd's words for an empty line
	}
	for _, tt := range tests {
		if err := hylafax.WriteStatus(ctx, srv.Spool, tt.modem, tt.text); err != nil {
			t.Fatal(err)
		}
		out, err := srv.Faxstat()
		if err != nil {
			t.Fatal(err)
		}
		number := "+1.555.000.0000"
		if tt.modem == a {
			number = "+49.30.1234567"
		}
		want := fmt.Sprintf("Modem %s (%s): %s", tt.modem, number, tt.want)
		if !containsLine(out, strings.TrimSpace(want)) {
			t.Errorf("WriteStatus(%q): faxstat lacks %q:\n%s", tt.text, want, out)
		}
		if got, err := hylafax.ReadStatus(srv.Spool, tt.modem); err != nil || got != strings.ReplaceAll(tt.text, "\n", " ") {
			t.Errorf("ReadStatus = %q, %v; want %q", got, err, tt.want)
		}
	}
}

func containsLine(out, want string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) == want {
			return true
		}
	}
	return false
}

// statsRow is one row of xferfaxstats/recvstats output.
type statsRow struct {
	key    string // Sender, CSI, JobTag, ... (recvstats: Sender CIDName CIDNumber)
	pages  int
	time   string // connect time, m:ss or h:mm:ss
	errs   int
	rate   string
	format string
}

// statsLine matches "<key>  <pages> <time> <pg/min> <errs> <rate> <format>";
// the key and the format may contain blanks.
var statsLine = regexp.MustCompile(`^(.*?)\s+(\d+)\s+([0-9:]+)\s+([0-9.]+)\s+(\d+)\s+(\d+)\s+(\S.*?)\s*$`)

// parseStats returns the rows between the heading and the rule, and Total.
func parseStats(t *testing.T, out string) (rows []statsRow, total statsRow) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	body := false
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "-----"):
			body = false
		case !body && strings.Contains(l, "Pages") && strings.Contains(l, "TypRate"):
			body = true
		case strings.HasPrefix(l, "Total"):
			f := strings.Fields(l)
			if len(f) < 5 {
				t.Fatalf("bad total line %q", l)
			}
			total.key = "Total"
			total.pages, _ = strconv.Atoi(f[1])
			total.time = f[2]
			total.errs, _ = strconv.Atoi(f[4])
		case body:
			m := statsLine.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("unparsable row %q in:\n%s", l, out)
			}
			r := statsRow{key: strings.TrimSpace(m[1]), time: m[3], rate: m[6], format: m[7]}
			r.pages, _ = strconv.Atoi(m[2])
			r.errs, _ = strconv.Atoi(m[5])
			rows = append(rows, r)
		}
	}
	if total.key == "" {
		t.Fatalf("no Total line in:\n%s", out)
	}
	return rows, total
}

// realDCS is the DCS spandsp wrote into the fixtures' FaxDcs tag, in
// HylaFAX's notation: 14400 bit/s (V.17), fine, ECM, T.85 (JBIG).
const realDCS = "00 46 1F 21 01 01 01 01 01 02"

// TestStatsReportOurRecords: HylaFAX's xferfaxstats and recvstats read the
// records AppendXferLog wrote, with the senders, pages and times in them,
// also when a CSI holds a quote and a jobtag a TAB.
func TestStatsReportOurRecords(t *testing.T) {
	t.Parallel()
	srv := hylafaxtest.Start(t, hylafaxtest.Options{NoSyslog: true})
	// xferfaxstats skips records from the future and older than 360 days.
	start := time.Now().Add(-2 * time.Hour).In(time.Local)
	params := hylafax.Class2Params{VR: hylafax.VRFine, BR: hylafax.BR14400, WD: hylafax.WD1728,
		LN: hylafax.LNA4, DF: hylafax.DF1DMH, EC: hylafax.ECEnable256}
	slow := params
	slow.BR = hylafax.BR9600
	send := func(sender, owner, csi, jobtag, reason string, p hylafax.Class2Params, pages int, conn time.Duration, dcs string) hylafax.XferRecord {
		return hylafax.XferRecord{Start: start, Kind: hylafax.KindSend, CommID: "000000001", Modem: "ttyA", JobID: "7",
			JobTag: jobtag, Sender: sender, Dest: "5551234", CSI: csi, Params: p.Encode(), Pages: pages,
			JobTime: conn + 10*time.Second, ConnTime: conn, Reason: reason, Owner: owner, DCS: dcs}
	}
	recs := []hylafax.XferRecord{
		send("alice@example.com", "alice", `He said "hi"`, "tag\twith tab", "", params, 2, 65*time.Second, realDCS),
		send("alice@example.com", "alice", "+1 555 0100", "second", "Communication failure during Phase B/C", params, 1, 30*time.Second, realDCS),
		send("bob@example.com", "bob", "BOB'S FAX", `quote " in tag`, "", slow, 3, 2*time.Minute, ""),
		{Start: start, Kind: hylafax.KindRecv, CommID: "000000002", Modem: "ttyA", JobID: "recvq/fax000000001.tif",
			Sender: "fax", Dest: "+1.555.000.0000", CSI: `REMOTE "TSI"`, Params: params.Encode(), Pages: 4,
			JobTime: 100 * time.Second, ConnTime: 90 * time.Second, CallIDs: []string{"5559876", "CALLER NAME"}, DCS: realDCS},
		{Start: start, Kind: hylafax.KindCall, CommID: "000000003", Modem: "ttyA", Sender: "fax", Dest: "+1.555.000.0000",
			JobTime: 5 * time.Second, CallIDs: []string{"5550000", "ANOTHER CALLER"}},
	}
	logPath := filepath.Join(srv.Spool, "log", "xferfaxlog")
	for _, r := range recs {
		if err := hylafax.AppendXferLog(context.Background(), logPath, r); err != nil {
			t.Fatal(err)
		}
	}
	// What our parser makes of the file is what HylaFAX must show.
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := hylafax.ParseXferLog(f)
	f.Close()
	if err != nil || len(parsed) != len(recs) {
		t.Fatalf("ParseXferLog: %d records, %v", len(parsed), err)
	}
	alice1, alice2, bob, recv := parsed[0], parsed[1], parsed[2], parsed[3]

	run := func(tool string, args ...string) ([]statsRow, statsRow) {
		t.Helper()
		out, err := srv.Run(tool, args...)
		if err != nil {
			t.Fatal(err)
		}
		return parseStats(t, out)
	}
	want := func(what string, got []statsRow, want ...statsRow) {
		t.Helper()
		slices.SortFunc(got, func(a, b statsRow) int { return strings.Compare(a.key, b.key) })
		slices.SortFunc(want, func(a, b statsRow) int { return strings.Compare(a.key, b.key) })
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s:\n got %v\nwant %v", what, got, want)
		}
	}

	rows, total := run("xferfaxstats", "-send")
	// The sender key is "<mailaddr> (<owner>)"; rates and formats are the
	// typical (most frequent) ones; time is the connect time.
	want("xferfaxstats -send", rows,
		statsRow{alice1.Sender + " (alice)", 3, "1:35", 1, "14400", "JBIG"},
		statsRow{bob.Sender + " (bob)", 3, "2:00", 0, "9600", "1-D MH"})
	if total.pages != 6 || total.errs != 1 || total.time != "3:35" {
		t.Errorf("xferfaxstats total %+v", total)
	}
	rows, _ = run("xferfaxstats", "-csi")
	want("xferfaxstats -csi", rows,
		statsRow{alice2.CSI, 1, "0:30", 1, "14400", "JBIG"},
		statsRow{bob.CSI, 3, "2:00", 0, "9600", "1-D MH"},
		statsRow{alice1.CSI, 2, "1:05", 0, "14400", "JBIG"})
	rows, _ = run("xferfaxstats", "-jobtag")
	want("xferfaxstats -jobtag", rows,
		statsRow{alice2.JobTag, 1, "0:30", 1, "14400", "JBIG"},
		// HylaFAX escapes '"' in the jobtag as '\"', xferfaxstats drops every '"'.
		statsRow{strings.ReplaceAll(bob.JobTag, `"`, `\`), 3, "2:00", 0, "9600", "1-D MH"},
		statsRow{alice1.JobTag, 2, "1:05", 0, "14400", "JBIG"})
	if alice1.JobTag != "tag with tab" {
		t.Errorf("jobtag read back as %q", alice1.JobTag)
	}

	// recvstats: "<TSI> <CIDName> <CIDNumber>" is the key.
	out, err := srv.Run("recvstats")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^(.+?)\s+` + regexp.QuoteMeta(recv.CallIDs[1]) + `\s+` + regexp.QuoteMeta(recv.CallIDs[0]) + `\s+(\d+)\s+([0-9:]+)\s+[0-9.]+\s+(\d+)\s+(\d+)\s+(.+?)\s*$`)
	m := re.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("recvstats lacks the RECV record:\n%s", out)
	}
	if got := fmt.Sprint(m[1:]); got != fmt.Sprint([]string{recv.CSI, "4", "1:30", "0", "14400", "JBIG"}) {
		t.Errorf("recvstats row %v\n%s", got, out)
	}
}

// TestFaxinfoReadsTaggedFile: a received file made with CreateRecvFile and
// tagged by Finish shows in faxinfo with its sender, pages, quality and
// rate, and in faxstat -r.
func TestFaxinfoReadsTaggedFile(t *testing.T) {
	t.Parallel()
	srv := hylafaxtest.Start(t, hylafaxtest.Options{NoSyslog: true})
	fixture, err := os.ReadFile("testdata/tiff/received-t38-2page.tif")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		params hylafax.Class2Params
		dcs    string // "" keeps spandsp's FaxDcs
		want   map[string]string
	}{
		{
			// faxinfo prefers the DCS of the call: this one was T.85.
			name:   "spandsp DCS",
			params: hylafax.Class2Params{VR: hylafax.VRFine, BR: hylafax.BR14400, DF: hylafax.DF1DMH, EC: hylafax.ECEnable256},
			want: map[string]string{"Quality": "Fine", "SignalRate": "14400 bit/s", "DataFormat": "JBIG",
				"ErrCorrect": "Yes"},
		},
		{
			// A DCS starting "00 00 00" makes faxinfo use FaxRecvParams;
			// its VR comes from each page's resolution (196 lpi).
			name:   "params only",
			params: hylafax.Class2Params{VR: hylafax.VRNormal, BR: hylafax.BR9600, DF: hylafax.DF2DMR, EC: hylafax.ECDisable},
			dcs:    "00 00 00",
			want:   map[string]string{"Quality": "Fine", "SignalRate": "9600 bit/s", "DataFormat": "2-D MR", "ErrCorrect": "No"},
		},
	}
	u, err := user.Lookup("uucp")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	uucp := &hylafax.FileOwner{UID: uid, GID: gid}
	receive := func(t *testing.T, owner *hylafax.FileOwner, tags hylafax.FaxTags) *hylafax.RecvFile {
		t.Helper()
		rf, err := hylafax.CreateRecvFile(context.Background(), srv.Spool, hylafax.RecvFileConfig{Mode: 0o644, Owner: owner})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(rf.Path, fixture, 0o644); err != nil { // as rxfax would
			t.Fatal(err)
		}
		pages, err := rf.Finish(tags)
		if err != nil || pages != 2 {
			t.Fatalf("Finish = %d, %v", pages, err)
		}
		return rf
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rf := receive(t, uucp, hylafax.FaxTags{Sender: `REMOTE "TSI" 1`, CallIDs: []string{"5551111", "CALLER NAME"},
				Params: &tt.params, SubAddress: "1234", PageTimes: []uint32{5, 6}, DCS: tt.dcs})
			out, err := srv.Run("faxinfo", rf.Name)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, l := range strings.Split(out, "\n")[1:] {
				if k, v, ok := strings.Cut(l, ":"); ok {
					got[strings.TrimSpace(k)] = strings.TrimSpace(v)
				}
			}
			want := map[string]string{"Sender": `REMOTE "TSI" 1`, "Pages": "2", "SubAddr": "1234",
				"CallID1": "5551111", "CallID2": "CALLER NAME", "TimeToRecv": "0:00:11",
				"SignalRate": tt.params.SignalRate(), "DataFormat": tt.params.DataFormat()}
			maps.Copy(want, tt.want)
			for k, v := range want {
				if got[k] != v {
					t.Errorf("faxinfo %s = %q, want %q", k, got[k], v)
				}
			}
			if t.Failed() {
				t.Logf("faxinfo output:\n%s", out)
			}

			if !listed(t, srv, rf.Name) {
				t.Errorf("faxstat -r does not list %s", rf.Name)
			}
		})
	}
	// hfaxd lists received files owned by uucp only, whatever their mode:
	// the reason for RecvFileConfig.Owner.
	if os.Geteuid() == 0 {
		rf := receive(t, nil, hylafax.FaxTags{Sender: `REMOTE "TSI" 1`})
		if listed(t, srv, rf.Name) {
			t.Errorf("faxstat -r lists %s owned by root", rf.Name)
		}
	}
}

// listed reports whether faxstat -r shows file with its 2 pages and sender.
func listed(t *testing.T, srv *hylafaxtest.Server, file string) bool {
	t.Helper()
	out, err := srv.Faxstat("-r")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[len(f)-1] == filepath.Base(file) {
			if len(f) < 3 || f[1] != "2" || !strings.Contains(l, `REMOTE "TSI" 1`) {
				t.Errorf("faxstat -r row %q", l)
			}
			return true
		}
	}
	return false
}
