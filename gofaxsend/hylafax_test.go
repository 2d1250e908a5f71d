package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax/hylafaxtest"
)

// hylafaxRig is a real faxq + hfaxd whose SendFaxCmd is the gofaxsend
// binary, sending to a simulated FreeSWITCH.
type hylafaxRig struct {
	t     *testing.T
	srv   *hylafaxtest.Server
	sim   *esltest.Sim
	conf  string
	modem string
	doc   string // a 2-page TIFF faxq's uucp can read
}

func startRig(t *testing.T) *hylafaxRig {
	hylafaxtest.Require(t)
	bin := binary(t)
	sim := esltest.New(t, esltest.Options{TimeScale: 0.01})
	srv := hylafaxtest.Start(t, hylafaxtest.Options{
		SendFaxCmd: bin,
		Env:        []string{"GOFAX_CONFIG=" + hylafaxtest.DirVar + "/gofax.conf"},
		// faxsend's retry delays (read by gofaxsend from etc/config) and
		// faxq's own, short so that retries happen within the test. Not
		// shorter: faxq puts a job to sleep (state 3, which the tests
		// wait for) only while the retry time gofaxsend wrote is still
		// ahead when it takes the result in; one second passed on a
		// loaded machine, and faxq retried at once.
		Config:      []string{"JobReqBusy: 3", "JobReqNoAnswer: 3", "JobReqNoCarrier: 3", "JobReqProto: 3"},
		JobReqOther: 2,
	})
	r := &hylafaxRig{t: t, srv: srv, sim: sim, conf: filepath.Join(srv.Dir, "gofax.conf"), modem: srv.ModemName("freeswitch")}
	r.config()
	b, err := os.ReadFile("internal/job/testdata/sent-2page-g3.tif")
	if err != nil {
		t.Fatal(err)
	}
	r.doc = filepath.Join(srv.Dir, "2page.tif")
	if err := os.WriteFile(r.doc, b, 0o644); err != nil {
		t.Fatal(err)
	}
	srv.AddModem(r.modem, hylafaxtest.ModemOptions{Getty: true})
	if err := srv.Announce(r.modem); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(srv.Spool, "log/gofaxsend.log"))
			t.Logf("gofaxsend log:\n%s", b)
		}
	})
	return r
}

// config (re)writes gofax.conf; gofaxsend reads it at every exec.
func (r *hylafaxRig) config(extra ...string) {
	r.t.Helper()
	writeConfig(r.t, r.conf, r.srv.Spool, r.sim.Addr(), extra...)
}

// submit queues the 2-page document of the captures for number, in fine
// resolution (sendfax -m) so that faxq keeps both pages as they are.
func (r *hylafaxRig) submit(number string, opts ...string) string {
	r.t.Helper()
	return r.srv.Submit(r.t, append(opts, "-m", "-d", number, r.doc)...)[0]
}

func (r *hylafaxRig) wait(id string, states ...int) hylafaxtest.Job {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	j, err := r.srv.WaitState(ctx, id, states...)
	if err != nil {
		r.t.Fatal(err)
	}
	return j
}

// with returns the rig for the (sub)test t: its failures are t's.
func (r *hylafaxRig) with(t *testing.T) *hylafaxRig {
	c := *r
	c.t = t
	return &c
}

// remove removes a job that would go on retrying (faxrm) and waits until
// faxq finished it, so that it does not hold the one modem while later
// tests wait for theirs.
func (r *hylafaxRig) remove(id string) {
	r.t.Helper()
	if out, err := exec.Command("/usr/bin/faxrm", "-h", r.srv.Host, id).CombinedOutput(); err != nil {
		r.t.Fatalf("faxrm %s: %v\n%s", id, err, out)
	}
	r.wait(id, hylafaxtest.StateFailed, hylafaxtest.StateDone)
}

func (r *hylafaxRig) check(j hylafaxtest.Job, fields map[string]string) {
	r.t.Helper()
	for k, v := range fields {
		if got := j.Field(k); got != v {
			r.t.Errorf("job %s: %s = %q, want %q", j.ID, k, got, v)
		}
	}
}

// TestHylaFAX drives real faxq through the outcomes of a send job
// (delivered, requeued until maxdials or maxtries, rejected, a retry
// from the page that failed, DynamicConfig, the info file, the softmodem
// fallback, faxrm): sendfax → faxq → gofaxsend → simulated FreeSWITCH.
func TestHylaFAX(t *testing.T) {
	r := startRig(t)

	t.Run("delivered T.38", func(t *testing.T) {
		r := r.with(t)
		r.sim.Route("5550001", esltest.Scenario{Outcome: esltest.Success, T38: true})
		j := r.wait(r.submit("5550001"), hylafaxtest.StateDone)
		r.check(j, map[string]string{"returned": "2", "status": "", "npages": "2", "totdials": "1", "tottries": "1",
			"ndials": "0", "signalrate": "14400 bit/s", "csi": "2222"})
		if j.Field("commid") == "" {
			t.Error("no commid")
		}
		calls := r.sim.Calls()
		if last := calls[len(calls)-1]; last.Vars["fax_enable_t38"] != "true" || last.Result == nil || last.Result.T38 != true {
			t.Errorf("call %+v", last.Result)
		}
		if msgs := r.srv.GettyMessages(r.modem); !slices.Contains(msgs, "SB") || !slices.Contains(msgs, "R"+j.ID+":done:2") || !slices.Contains(msgs, "SR") {
			t.Errorf("gofaxd (getty FIFO) got %q, want SB, R%s:done:2 and SR", msgs, j.ID)
		}
		out, err := r.srv.Run("xferfaxstats", "-send", "-dest")
		if err != nil || !strings.Contains(out, "5550001") {
			t.Errorf("xferfaxstats: %v\n%s", err, out)
		}
		// xferfaxstats takes the typical data format (TypData, 7
		// characters) from the DCS of our record: faxq prepared the
		// document as MMR for our modem's capabilities, and the
		// simulator reports the encoding of the pages it was sent.
		df := j.Field("dataformat")
		out, err = r.srv.Run("xferfaxstats", "-dest")
		if err != nil || df != "2-D MMR" || !hasStatsRow(out, "5550001", df[:min(7, len(df))]) {
			t.Errorf("xferfaxstats -dest, want data format %q for 5550001: %v\n%s", df, err, out)
		}
	})

	t.Run("delivered G.711 through a mod_db override", func(t *testing.T) {
		r := r.with(t)
		r.sim.SetDB("override-5550002", "fax_enable_t38", "false")
		r.sim.Route("5550002", esltest.Scenario{Outcome: esltest.Success})
		j := r.wait(r.submit("5550002"), hylafaxtest.StateDone)
		r.check(j, map[string]string{"returned": "2", "npages": "2"})
		calls := r.sim.Calls()
		if last := calls[len(calls)-1]; last.Vars["fax_enable_t38"] != "false" {
			t.Errorf("override not applied: fax_enable_t38=%q", last.Vars["fax_enable_t38"])
		}
	})

	t.Run("busy is requeued and maxdials stops it", func(t *testing.T) {
		r := r.with(t)
		r.sim.Route("5550003", esltest.Scenario{Outcome: esltest.Busy})
		id := r.submit("5550003", "-T", "2")
		j := r.wait(id, hylafaxtest.StateSleeping)
		r.check(j, map[string]string{"returned": "0", "statuscode": "1", "status": "Busy signal detected", "totdials": "1", "tottries": "0"})
		// The second busy uses up maxdials: gofaxsend fails the job, as
		// faxsend does, instead of faxq rejecting it at the next retry.
		j = r.wait(id, hylafaxtest.StateFailed)
		r.check(j, map[string]string{"totdials": "2", "returned": "1", "status": "Busy signal detected; too many attempts to dial"})
	})

	t.Run("rejected fails", func(t *testing.T) {
		r := r.with(t)
		r.sim.Route("5550004", esltest.Scenario{Outcome: esltest.Rejected})
		j := r.wait(r.submit("5550004"), hylafaxtest.StateFailed)
		r.check(j, map[string]string{"returned": "1", "status": "CALL_REJECTED (retry disabled)", "totdials": "1"})
	})

	t.Run("no answer is requeued", func(t *testing.T) {
		r := r.with(t)
		r.sim.Route("5550005", esltest.Scenario{Outcome: esltest.NoAnswer})
		j := r.wait(r.submit("5550005"), hylafaxtest.StateSleeping)
		r.check(j, map[string]string{"returned": "0", "statuscode": "3", "status": "No answer from remote", "totdials": "1", "ndials": "1"})
		r.remove(j.ID)
	})

	t.Run("hang-up during page 2, the retry sends page 2 only", func(t *testing.T) {
		r := r.with(t)
		r.sim.Route("5550006", esltest.Scenario{Outcome: esltest.Success, HangupAtPage: 2})
		id := r.submit("5550006")
		j := r.wait(id, hylafaxtest.StateSleeping)
		r.check(j, map[string]string{"returned": "0", "npages": "1", "tottries": "1"})
		if !strings.Contains(string(j.Raw), "\nfax:1::") {
			t.Errorf("fax item not advanced:\n%s", j.Raw)
		}
		r.sim.Route("5550006", esltest.Scenario{Outcome: esltest.Success})
		j = r.wait(id, hylafaxtest.StateDone)
		r.check(j, map[string]string{"npages": "2", "tottries": "2", "totdials": "2"})
		calls := r.sim.Calls()
		if last := calls[len(calls)-1]; last.Result == nil || last.Result.TotalPages != 1 {
			t.Errorf("retry sent %+v, want 1 page", last.Result)
		}
	})

	t.Run("negotiation failure is requeued and maxtries stops it", func(t *testing.T) {
		r := r.with(t)
		r.sim.Route("5550007", esltest.Scenario{Outcome: esltest.NoFax})
		id := r.submit("5550007", "-t", "2")
		j := r.wait(id, hylafaxtest.StateSleeping)
		r.check(j, map[string]string{"returned": "0", "tottries": "1", "totdials": "1", "statuscode": "126"})
		j = r.wait(id, hylafaxtest.StateFailed)
		r.check(j, map[string]string{"tottries": "2", "returned": "1", "status": "Timed out waiting for initial communication; too many attempts to send"})
	})

	t.Run("a call without progress is killed and requeued", func(t *testing.T) {
		r := r.with(t)
		// spandsp's T0 (no fax answer) in 6 s, far beyond the page
		// timeout even when the machine is loaded (at the rig's time
		// scale it ends the call after 0.6 s).
		slow := esltest.New(t, esltest.Options{TimeScale: 0.1})
		slow.Route("5550008", esltest.Scenario{Outcome: esltest.NoFax})
		writeConfig(t, r.conf, r.srv.Spool, slow.Addr(), "pagetimeout = 200ms")
		defer r.config()
		j := r.wait(r.submit("5550008"), hylafaxtest.StateSleeping)
		r.check(j, map[string]string{"returned": "0", "status": "Hung up by gofaxsend: no fax progress within the page timeout"})
		if len(slow.Kills()) == 0 {
			t.Error("no uuid_kill")
		}
		r.remove(j.ID)
	})

	t.Run("FreeSWITCH down is requeued", func(t *testing.T) {
		r := r.with(t)
		writeConfig(t, r.conf, r.srv.Spool, "127.0.0.1:1")
		defer r.config()
		j := r.wait(r.submit("5550009"), hylafaxtest.StateSleeping)
		r.check(j, map[string]string{"returned": "0", "statuscode": "4", "totdials": "0"})
		if !strings.Contains(j.Field("status"), "Cannot reach FreeSWITCH") {
			t.Errorf("status %q", j.Field("status"))
		}
		r.remove(j.ID)
	})

	t.Run("DynamicConfig reject fails", func(t *testing.T) {
		r := r.with(t)
		script := filepath.Join(r.srv.Dir, "DynamicConfigOutgoing")
		if err := os.WriteFile(script, []byte("#!/bin/sh\necho 'RejectCall: true'\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		r.config("dynamicconfig = " + script)
		defer r.config()
		j := r.wait(r.submit("5550010"), hylafaxtest.StateFailed)
		r.check(j, map[string]string{"returned": "1", "status": "Transmission rejected by DynamicConfig", "totdials": "0"})
	})

	t.Run("DynamicConfig runs as uucp", func(t *testing.T) {
		// faxq starts gofaxsend with real uid 0 and effective uid uucp;
		// /bin/sh takes the real uid back unless gofaxsend left it.
		r := r.with(t)
		ids := filepath.Join(r.srv.Spool, "tmp", "dynamicconfig-ids")
		script := filepath.Join(r.srv.Dir, "DynamicConfigOutgoing")
		body := "#!/bin/sh\necho \"$(id -u) $(id -ru) $(id -g) $(id -rg)\" > " + ids + "\n"
		if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		r.config("dynamicconfig = " + script)
		defer r.config()
		r.sim.Route("5550013", esltest.Scenario{Outcome: esltest.Success})
		r.wait(r.submit("5550013"), hylafaxtest.StateDone)
		got, err := os.ReadFile(ids)
		u, _ := user.Lookup("uucp")
		if want := u.Uid + " " + u.Uid + " " + u.Gid + " " + u.Gid + "\n"; err != nil || string(got) != want {
			t.Errorf("DynamicConfig ran as %q (uid ruid gid rgid), want %q: %v", got, want, err)
		}
	})

	t.Run("info file written and read by faxq", func(t *testing.T) {
		// An entry saying the remote has no MMR. faxq heeds the
		// capabilities of numbers called before only (calledBefore), so
		// the first job is prepared as MMR; gofaxsend records the call,
		// and faxq prepares the second job as 2-D MR.
		r := r.with(t)
		path := filepath.Join(r.srv.Spool, "info", "5550014")
		m := hylafax.NewMachineInfo()
		m.SupportsMMR = false
		if err := os.WriteFile(path, m.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		u, _ := user.Lookup("uucp")
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		// faxq reads the file again when its mtime (seconds) grows.
		hour := time.Now().Add(-time.Hour)
		if err := errors.Join(os.Chown(path, uid, gid), os.Chtimes(path, hour, hour)); err != nil {
			t.Fatal(err)
		}
		r.sim.Route("5550014", esltest.Scenario{Outcome: esltest.Success, StationID: "+1 555 0014"})
		for i, df := range []string{"2-D MMR", "2-D MR"} {
			j := r.wait(r.submit("5550014"), hylafaxtest.StateDone)
			r.check(j, map[string]string{"dataformat": df})
			got, err := hylafax.ReadMachineInfo(path)
			if err != nil || !got.CalledBefore || got.RemoteCSI != "+1 555 0014" || got.SupportsMMR || got.SendFailures != 0 {
				t.Errorf("after job %d: info %+v, %v", i+1, got, err)
			}
		}
	})

	t.Run("softmodem fallback is learned", func(t *testing.T) {
		r := r.with(t)
		r.config("[freeswitch]", "softmodemfallback = true")
		defer r.config()
		r.sim.Route("5550011", esltest.Scenario{Outcome: esltest.Success, T38: true, Renegotiate: true, HangupAtPage: 1})
		id := r.submit("5550011")
		r.wait(id, hylafaxtest.StateSleeping)
		if _, ok := r.sim.DB()["fallback/5550011"]; !ok {
			t.Fatalf("not learned: %v", r.sim.DB())
		}
		r.sim.Route("5550011", esltest.Scenario{Outcome: esltest.Success})
		r.wait(id, hylafaxtest.StateDone)
		calls := r.sim.Calls()
		if last := calls[len(calls)-1]; last.Vars["fax_enable_t38"] != "false" {
			t.Errorf("fallback not applied: %q", last.Vars["fax_enable_t38"])
		}
	})

	t.Run("faxrm hangs the call up", func(t *testing.T) {
		r := r.with(t)
		slow := esltest.New(t, esltest.Options{TimeScale: 1}) // a real-time 30 s fax
		slow.Route("5550012", esltest.Scenario{Outcome: esltest.Success})
		writeConfig(t, r.conf, r.srv.Spool, slow.Addr())
		defer r.config()
		id := r.submit("5550012")
		r.wait(id, hylafaxtest.StateActive) // pokes faxq while the job is ready
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := slow.WaitCall(ctx, func(c esltest.CallRecord) bool { return c.Answered }); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if out, err := exec.Command("/usr/bin/faxrm", "-h", r.srv.Host, id).CombinedOutput(); err != nil {
			t.Fatalf("faxrm: %v\n%s", err, out)
		}
		j := r.wait(id, hylafaxtest.StateFailed, hylafaxtest.StateDone)
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("job ended %v after faxrm", d)
		}
		if len(slow.Kills()) != 1 {
			t.Errorf("uuid_kill sent %d times", len(slow.Kills()))
		}
		t.Logf("after faxrm: state %d, status %q", j.State(), j.Field("status"))
	})

	xfer, err := os.ReadFile(filepath.Join(r.srv.Spool, hylafax.XferLogFile))
	if err != nil {
		t.Fatal(err)
	}
	if recs, err := hylafax.ParseXferLog(strings.NewReader(string(xfer))); err != nil || len(recs) < 10 {
		t.Errorf("xferfaxlog: %d records, %v", len(recs), err)
	}
}

// hasStatsRow reports whether xferfaxstats output has a row for key whose
// last column (TypData) is format.
func hasStatsRow(out, key, format string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, key+" ") && strings.HasSuffix(strings.TrimRight(l, " "), " "+format) {
			return true
		}
	}
	return false
}
