package job

import (
	"context"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/outcome"
)

// TestFreeSWITCHDown: local trouble is a retry that counts no dial.
func TestFreeSWITCHDown(t *testing.T) {
	f := newFixture(t, esltest.Options{})
	f.cfg.FreeSWITCH.Socket = "127.0.0.1:1" // nothing listens
	qf1, qf2 := f.qfile("7", "5551234"), f.qfile("8", "5551234")
	if st := f.run(context.Background(), qf1, qf2); st != outcome.Retry {
		t.Fatalf("status %v", st)
	}
	for _, qf := range []string{qf1, qf2} {
		f.want(qf, map[string]string{"returned": "0", "statuscode": "4", "totdials": "0", "tottries": "0", "tts": "1795327911"})
		if s := f.read(qf).String("status"); !strings.Contains(s, "Cannot reach FreeSWITCH at 127.0.0.1:1") {
			t.Errorf("%s: status %q", qf, s)
		}
	}
}

// TestBatch: every job of the batch is sent in its own call and reports
// its own result; a busy destination stops the batch without counting
// dials for the jobs not tried.
func TestBatch(t *testing.T) {
	f := newFixture(t, esltest.Options{})
	f.sim.Route("5551234", esltest.Scenario{Outcome: esltest.Success})
	qfs := []string{f.qfile("7", "5551234"), f.qfile("8", "5551234")}
	if st := f.run(context.Background(), qfs...); st != outcome.Done {
		t.Fatalf("status %v", st)
	}
	for _, qf := range qfs {
		f.want(qf, map[string]string{"returned": "2", "npages": "2", "totdials": "1"})
	}
	msgs := f.messages()
	if i, j := slices.Index(msgs, "*7:c"), slices.Index(msgs, "*8:c"); i < 0 || j < i {
		t.Errorf("calling messages out of order: %q", msgs)
	}

	f.sim.Route("5559999", esltest.Scenario{Outcome: esltest.Busy})
	qfs = []string{f.qfile("9", "5559999"), f.qfile("10", "5559999")}
	if st := f.run(context.Background(), qfs...); st != outcome.Retry {
		t.Fatalf("status %v", st)
	}
	f.want(qfs[0], map[string]string{"returned": "0", "statuscode": "1", "totdials": "1"})
	f.want(qfs[1], map[string]string{"returned": "0", "statuscode": "1", "totdials": "0", "status": "Busy signal detected"})

	// gofaxd learns the result of every job tried, between SB and SR;
	// job 10 was not tried.
	want := []string{"SB", "R7:done:2", "R8:done:2", "SR", "SB", "R9:retry:0", "SR"}
	if got := f.modemMessages(); !slices.Equal(got, want) {
		t.Errorf("gofaxd got %q, want %q", got, want)
	}
}

// TestInterrupted: SIGTERM from faxq (faxrm) hangs the call up at once and
// the job is requeued.
func TestInterrupted(t *testing.T) {
	f := newFixture(t, esltest.Options{TimeScale: 0.1}) // a 30 s fax takes 3 s
	f.sim.Route("5551234", esltest.Scenario{Outcome: esltest.Success})
	qf1, qf2 := f.qfile("7", "5551234"), f.qfile("8", "5551234")
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	var signalled time.Time // set before cancel, read after run
	go func() {
		// faxrm after the call was answered and faxq was told.
		for !slices.Contains(f.messages(), "*7:C") {
			select {
			case <-ran:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
		signalled = time.Now()
		cancel()
	}()
	st := f.run(ctx, qf1, qf2)
	close(ran)
	// The fax takes 3 s; the kill grace is 1 s.
	if ctx.Err() == nil {
		t.Fatal("the batch ended before the call was answered")
	} else if d := time.Since(signalled); d > 2*time.Second {
		t.Errorf("took %v after the signal", d)
	}
	if st != outcome.Retry {
		t.Errorf("status %v", st)
	}
	f.want(qf1, map[string]string{"returned": "0", "statuscode": "344", "status": "Job interrupted by user", "totdials": "1", "tottries": "1"})
	f.want(qf2, map[string]string{"returned": "7", "totdials": "0"})
	if len(f.sim.Kills()) != 1 {
		t.Errorf("uuid_kill sent %d times", len(f.sim.Kills()))
	}
}

// TestStuckCall: a far end that never hangs up after the fax is killed
// after the grace and the delivered fax is done; a call making no fax
// progress is killed after the page timeout and requeued.
func TestStuckCall(t *testing.T) {
	f := newFixture(t, esltest.Options{})
	f.sim.Route("5551234", esltest.Scenario{Outcome: esltest.Success, NeverHangup: true})
	qf := f.qfile("7", "5551234")
	if st := f.run(context.Background(), qf); st != outcome.Done {
		t.Errorf("never hanging up after success: %v", st)
	}

	f2 := newFixture(t, esltest.Options{TimeScale: 0.1}) // spandsp's T0 (60 s) takes 6 s
	f2.cfg.Gofaxsend.PageTimeout = 300 * time.Millisecond
	f2.sim.Route("5551234", esltest.Scenario{Outcome: esltest.NoFax})
	qf = f2.qfile("7", "5551234")
	start := time.Now()
	if st := f2.run(context.Background(), qf); st != outcome.Retry {
		t.Errorf("stuck call: %v", st)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("stuck call took %v", d)
	}
	f2.want(qf, map[string]string{"returned": "0", "statuscode": "149", "tottries": "1",
		"status": "Hung up by gofaxsend: no fax progress within the page timeout"})
	if len(f2.sim.Kills()) != 1 {
		t.Errorf("kills: %q", f2.sim.Kills())
	}
}

// TestESLDrop: the event socket closing during the call is local trouble.
func TestESLDrop(t *testing.T) {
	f := newFixture(t, esltest.Options{})
	f.sim.Route("5551234", esltest.Scenario{Outcome: esltest.Success, DropESL: true})
	qf := f.qfile("7", "5551234")
	if st := f.run(context.Background(), qf); st != outcome.Retry {
		t.Errorf("status %v", st)
	}
	f.want(qf, map[string]string{"returned": "0", "statuscode": "4"})
	if kills := f.sim.Kills(); len(kills) != 1 {
		t.Errorf("the call was not hung up over a new connection: kills %q", kills)
	}
}

func writeScript(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "DynamicConfig")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDynamicConfig: GOfax.IP's arguments and keys; RejectCall fails the
// job, a failing script is a retry, and an unsafe value cannot reach the
// dial string.
func TestDynamicConfig(t *testing.T) {
	f := newFixture(t, esltest.Options{})
	f.sim.Route("95551234", esltest.Scenario{Outcome: esltest.Success})
	args := filepath.Join(f.spool, "args")
	f.cfg.Gofaxsend.DynamicConfig = writeScript(t, f.spool, `echo "$@" > `+args+`
echo 'LocalIdentifier: "+1 555 0000"'
echo "TagLine: Tenant {x} Ltd's fax"
echo "FAXNumber: 1234"
echo "CallPrefix: 9"
echo "Gateway: gw2, gw3"
`)
	f.cfg.Gofaxsend.CIDName = "cidnum"
	qf := f.qfile("7", "5551234")
	if st := f.run(context.Background(), qf); st != outcome.Done {
		t.Fatalf("status %v", st)
	}
	b, _ := os.ReadFile(args)
	if got := strings.TrimSpace(string(b)); got != "freeswitch0 root 5551234 7" {
		t.Errorf("DynamicConfig args %q", got)
	}
	c := f.sim.Calls()[0]
	for k, v := range map[string]string{"fax_ident": "+1 555 0000", "fax_header": "Tenant  x  Ltd s fax",
		"origination_caller_id_number": "1234", "origination_caller_id_name": "1234"} {
		if c.Vars[k] != v {
			t.Errorf("%s = %q, want %q", k, c.Vars[k], v)
		}
	}
	if c.Gateway != "gw2" || c.Destination != "95551234" {
		t.Errorf("gateway %q destination %q", c.Gateway, c.Destination)
	}

	f.cfg.Gofaxsend.DynamicConfig = writeScript(t, f.spool, "echo 'RejectCall: true'\n")
	qf = f.qfile("8", "5551234")
	if st := f.run(context.Background(), qf); st != outcome.Failed {
		t.Errorf("reject: %v", st)
	}
	f.want(qf, map[string]string{"returned": "1", "statuscode": "345", "status": "Transmission rejected by DynamicConfig", "totdials": "0"})

	f.cfg.Gofaxsend.DynamicConfig = writeScript(t, f.spool, "echo broken >&2\nexit 3\n")
	qf = f.qfile("9", "5551234")
	if st := f.run(context.Background(), qf); st != outcome.Retry {
		t.Errorf("failing script: %v", st)
	}
	if s := f.read(qf).String("status"); !strings.HasPrefix(s, "Error calling DynamicConfig") || strings.Contains(s, "\n") {
		t.Errorf("status %q", s)
	}

	f.cfg.Gofaxsend.DynamicConfig = writeScript(t, f.spool, "sleep 5\n")
	f.cfg.Gofaxsend.DynamicConfigTimeout = 200 * time.Millisecond
	qf = f.qfile("10", "5551234")
	start := time.Now()
	if st := f.run(context.Background(), qf); st != outcome.Retry || time.Since(start) > 3*time.Second {
		t.Errorf("hanging script: %v after %v", st, time.Since(start))
	}
}

// TestModDB: per-destination overrides from mod_db are applied, except
// the uuid gofaxsend follows the call by and unsafe values; a number that
// needed several negotiations and failed is learned for the softmodem
// fallback, which turns T.38 off on the next call.
func TestModDB(t *testing.T) {
	f := newFixture(t, esltest.Options{})
	f.cfg.FreeSWITCH.SoftmodemFallback = true
	f.sim.SetDB("override-5551234", "fax_enable_t38", "false")
	f.sim.SetDB("override-5551234", "fax_verbose", "true")
	f.sim.SetDB("override-5551234", "origination_uuid", "00000000-0000-0000-0000-000000000000")
	f.sim.SetDB("override-5551234", "fax_header", "x'},{leg=evil")
	f.sim.Route("5551234", esltest.Scenario{Outcome: esltest.Success})
	qf := f.qfile("7", "5551234")
	if st := f.run(context.Background(), qf); st != outcome.Done {
		t.Fatalf("status %v", st)
	}
	c := f.sim.Calls()[0]
	if c.Vars["fax_enable_t38"] != "false" || c.Vars["fax_verbose"] != "true" || c.Vars["fax_header"] != "ACME  Inc." ||
		c.Vars["origination_uuid"] == "00000000-0000-0000-0000-000000000000" {
		t.Errorf("vars: t38 %q verbose %q header %q uuid %q", c.Vars["fax_enable_t38"], c.Vars["fax_verbose"], c.Vars["fax_header"], c.Vars["origination_uuid"])
	}

	f.sim.Route("5550000", esltest.Scenario{Outcome: esltest.Success, T38: true, Renegotiate: true, HangupAtPage: 1})
	qf = f.qfile("8", "5550000")
	if st := f.run(context.Background(), qf); st != outcome.Retry {
		t.Fatalf("status %v", st)
	}
	if _, ok := f.sim.DB()["fallback/5550000"]; !ok {
		t.Fatalf("fallback not learned: %v", f.sim.DB())
	}
	f.sim.Route("5550000", esltest.Scenario{Outcome: esltest.Success})
	if st := f.run(context.Background(), qf); st != outcome.Done {
		t.Fatalf("status %v", st)
	}
	calls := f.sim.Calls()
	if last := calls[len(calls)-1]; last.Vars["fax_enable_t38"] != "false" || last.Vars["fax_enable_t38_request"] != "false" {
		t.Errorf("fallback not applied: %v %v", last.Vars["fax_enable_t38"], last.Vars["fax_enable_t38_request"])
	}
}

// TestJobSettings: per-job qfile fields, JobControl and degradation. The
// job's owner sets tsi and faxnumber through hfaxd; the administrator's
// JobControl and UseJobTSI decide what they count for.
func TestJobSettings(t *testing.T) {
	tests := []struct {
		name     string
		config   string            // etc/config
		controls map[string]string // JobControl
		tsi      string
		cidNum   string
	}{
		{"job tsi ignored without UseJobTSI", "", nil, "+49 30 1111", "020794600"},
		{"UseJobTSI in etc/config", "UseJobTSI: yes\n", nil, "+44 20 7946", "020794600"},
		{"UseJobTSI from JobControl", "", map[string]string{"usejobtsi": "true"}, "+44 20 7946", "020794600"},
		{"JobControl beats the job", "", map[string]string{"localidentifier": "ACME", "faxnumber": "4712"}, "ACME", "4712"},
		{"the job's TSI beats JobControl with UseJobTSI", "UseJobTSI: on\n", map[string]string{"localidentifier": "ACME"}, "+44 20 7946", "020794600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, esltest.Options{})
			f.sim.Route("5551234", esltest.Scenario{Outcome: esltest.Success})
			f.cfg.Gofaxsend.DisableECMAfterRetry = 2
			f.cfg.Gofaxsend.CIDName = "sender"
			os.Mkdir(filepath.Join(f.spool, "etc"), 0o755)
			if err := os.WriteFile(filepath.Join(f.spool, "etc/config"), []byte(tt.config), 0o644); err != nil {
				t.Fatal(err)
			}
			controls := map[string]string{"tagline": "From JobControl"}
			maps.Copy(controls, tt.controls)
			qf := f.qfile("7", "5551234", "tsi:+44 20 7946", "faxnumber:020794600", "desiredbr:3", "tottries:2")
			if st := Batch(context.Background(), Env{Config: f.cfg, Modem: "freeswitch0", Log: discard(), Controls: controls}, []string{qf}); st != outcome.Done {
				t.Fatalf("status %v", st)
			}
			c := f.sim.Calls()[0]
			for k, v := range map[string]string{"fax_ident": tt.tsi, "origination_caller_id_number": tt.cidNum,
				"fax_disable_v17": "true", "fax_use_ecm": "false", "fax_header": "From JobControl", "origination_caller_id_name": "Root User"} {
				if c.Vars[k] != v {
					t.Errorf("%s = %q, want %q", k, c.Vars[k], v)
				}
			}
		})
	}
}

func TestCallingNumber(t *testing.T) {
	tests := []struct {
		name string
		src  numberSources
		want string
	}{
		{"nothing", numberSources{}, ""},
		{"default", numberSources{Default: "4711"}, "4711"},
		{"job over default", numberSources{Job: "555", Default: "4711"}, "555"},
		{"JobControl over job", numberSources{JobControl: "100", Job: "555", Default: "4711"}, "100"},
		{"DynamicConfig over all", numberSources{DynamicConfig: "9", JobControl: "100", Job: "555", Default: "4711"}, "9"},
		{"empty ones are skipped", numberSources{DynamicConfig: "", JobControl: "", Job: "555"}, "555"},
	}
	for _, tt := range tests {
		if got := callingNumber(tt.src); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestStationID(t *testing.T) {
	tests := []struct {
		name string
		src  tsiSources
		want string
	}{
		{"default", tsiSources{Default: "ACME"}, "ACME"},
		{"job without UseJobTSI", tsiSources{Job: "EVIL", Default: "ACME"}, "ACME"},
		{"job with UseJobTSI", tsiSources{Job: "MINE", UseJobTSI: true, Default: "ACME"}, "MINE"},
		{"UseJobTSI but no job tsi", tsiSources{UseJobTSI: true, JobControl: "JC", Default: "ACME"}, "JC"},
		{"JobControl over default", tsiSources{Job: "EVIL", JobControl: "JC", Default: "ACME"}, "JC"},
		{"UseJobTSI replaces JobControl's", tsiSources{Job: "MINE", UseJobTSI: true, JobControl: "JC"}, "MINE"},
		{"DynamicConfig over all", tsiSources{DynamicConfig: "DC", Job: "MINE", UseJobTSI: true, JobControl: "JC", Default: "ACME"}, "DC"},
	}
	for _, tt := range tests {
		if got := stationID(tt.src); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestBadJob: what can never be sent fails with a clear status.
func TestBadJob(t *testing.T) {
	f := newFixture(t, esltest.Options{})
	qf := f.qfile("7", "555'1234")
	if st := f.run(context.Background(), qf); st != outcome.Failed {
		t.Errorf("unsafe number: %v", st)
	}
	f.want(qf, map[string]string{"returned": "1", "statuscode": "326", "totdials": "0"})
	if n := len(f.sim.Calls()); n != 0 {
		t.Errorf("%d calls placed", n)
	}

	qf = f.qfile("8", "5551234")
	os.WriteFile(filepath.Join(f.spool, "docq/doc8.tif;00"), []byte("not a tiff"), 0o644)
	if st := f.run(context.Background(), qf); st != outcome.Reformat {
		t.Errorf("broken document: %v", st)
	}
	f.want(qf, map[string]string{"returned": "3", "statuscode": "314"})

	qf = f.qfile("9", "5551234")
	os.Remove(filepath.Join(f.spool, "docq/doc9.tif;00"))
	if st := f.run(context.Background(), qf); st != outcome.Retry {
		t.Errorf("missing document: %v", st)
	}
	f.want(qf, map[string]string{"returned": "0", "statuscode": "314"})
}

// TestGatewayFailover: a gateway or network failure tries the next
// gateway; a busy destination does not (it would be busy there too).
func TestGatewayFailover(t *testing.T) {
	f := newFixture(t, esltest.Options{})
	f.cfg.FreeSWITCH.Gateways = []string{"gw1", "gw2"}
	f.sim.Route("5550001", esltest.Scenario{Outcome: esltest.NoRoute})
	f.sim.Route("5550002", esltest.Scenario{Outcome: esltest.Busy})
	qf := f.qfile("7", "5550001")
	if st := f.run(context.Background(), qf); st != outcome.Retry {
		t.Errorf("no route: %v", st)
	}
	f.want(qf, map[string]string{"totdials": "1", "status": "NO_ROUTE_DESTINATION"})
	var gws []string
	for _, c := range f.sim.Calls() {
		gws = append(gws, c.Gateway)
	}
	if !slices.Equal(gws, []string{"gw1", "gw2"}) {
		t.Errorf("gateways tried: %q", gws)
	}

	f.run(context.Background(), f.qfile("8", "5550002"))
	if n := len(f.sim.Calls()); n != 3 {
		t.Errorf("busy destination: %d calls in all, want 3 (no failover)", n)
	}
}

// TestDegradation: V.17 goes after disablev17afterretry answered calls,
// unless the job insists on a minimum rate above 9600 bit/s.
func TestDegradation(t *testing.T) {
	f := newFixture(t, esltest.Options{})
	f.sim.Route("5551234", esltest.Scenario{Outcome: esltest.Success})
	f.cfg.Gofaxsend.DisableV17AfterRetry = 3
	tests := []struct {
		jobid string
		extra []string
		v17   string // fax_disable_v17
		ecm   string
	}{
		{"7", []string{"tottries:2"}, "false", "true"},
		{"8", []string{"tottries:3"}, "true", "true"},
		{"9", []string{"tottries:3", "minbr:5"}, "false", "true"},
		{"10", []string{"desiredec:0"}, "false", "false"},
	}
	for i, tt := range tests {
		qf := f.qfile(tt.jobid, "5551234", tt.extra...)
		if st := f.run(context.Background(), qf); st != outcome.Done {
			t.Fatalf("job %s: %v", tt.jobid, st)
		}
		c := f.sim.Calls()[i]
		if c.Vars["fax_disable_v17"] != tt.v17 || c.Vars["fax_use_ecm"] != tt.ecm {
			t.Errorf("job %s %v: fax_disable_v17=%s fax_use_ecm=%s, want %s %s", tt.jobid, tt.extra, c.Vars["fax_disable_v17"], c.Vars["fax_use_ecm"], tt.v17, tt.ecm)
		}
	}
}

// TestFIFOTimeout: [hylafax] fifotimeout is how long a FIFO record waits
// for its reader. A gofaxd that opens FIFO.<modem> a while after the
// attempt began still gets every record, in order.
func TestFIFOTimeout(t *testing.T) {
	f := newFixture(t, esltest.Options{})
	f.cfg.HylaFAX.FIFOTimeout = 20 * time.Second
	f.sim.Route("5551234", esltest.Scenario{Outcome: esltest.Success})
	qf := f.qfile("7", "5551234")
	path := filepath.Join(f.spool, hylafax.ModemFIFO("late0"))
	if err := hylafax.MakeFIFO(path, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := make(chan []string, 1)
	go func() {
		var recs []string
		defer func() { got <- recs }()
		// Later than the whole 2-page call, which takes ~300 ms.
		time.Sleep(time.Second)
		r, err := hylafax.OpenFIFO(path)
		if err != nil {
			t.Error(err)
			return
		}
		defer r.Close()
		for !slices.Contains(recs, "SR") {
			rec, err := r.Read(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			recs = append(recs, string(rec))
		}
	}()
	log := slog.New(slog.NewTextHandler(&syncWriter{w: f.logs}, nil))
	if st := Batch(ctx, Env{Config: f.cfg, Modem: "late0", Log: log}, []string{qf}); st != outcome.Done {
		t.Errorf("status %v", st)
	}
	if recs, want := <-got, []string{"SB", "R7:done:2", "SR"}; !slices.Equal(recs, want) {
		t.Errorf("gofaxd got %q, want %q", recs, want)
	}
}
