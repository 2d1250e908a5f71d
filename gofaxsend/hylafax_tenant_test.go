package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax/hylafaxtest"
	"github.com/gofaxserver/gofaxserver/gofaxlib/journal"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/record"
)

// tenantRig is the real-HylaFAX rig with [database] configured, the
// routing snapshot gofaxd would write, gofaxsend-notify as faxq's
// NotifyCmd and HylaFAX's own bin/notify mailing through a stub.
type tenantRig struct {
	*hylafaxRig
	mails    string // directory of the mails bin/notify sent
	uid, gid int
}

func startTenantRig(t *testing.T) *tenantRig {
	r := &tenantRig{hylafaxRig: startRig(t)}
	u, err := user.Lookup("uucp")
	if err != nil {
		t.Fatal(err)
	}
	r.uid, _ = strconv.Atoi(u.Uid)
	r.gid, _ = strconv.Atoi(u.Gid)
	r.tenantConfig()

	// <spool>/gofax as gofaxd creates it (mode 0700, the spool owner's),
	// with the snapshot; gofaxsend creates the journal in it.
	gofax := filepath.Join(r.srv.Spool, "gofax")
	if err := os.Mkdir(gofax, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(gofax, r.uid, r.gid); err != nil {
		t.Fatal(err)
	}
	r.writeRouting()

	// faxq runs NotifyCmd through sh -c, as uucp: the link next to the
	// gofaxsend faxq runs, as the Debian package installs it.
	bin := filepath.Join(r.srv.Dir, "bin")
	if err := os.Symlink("gofaxsend", filepath.Join(bin, NotifyName)); err != nil {
		t.Fatal(err)
	}
	if err := r.srv.SetConfig("NotifyCmd: " + filepath.Join(bin, NotifyName)); err != nil {
		t.Fatal(err)
	}
	// HylaFAX's bin/notify sources etc/FaxNotify; SENDMAIL there is a
	// stub that keeps each mail.
	r.mails = filepath.Join(r.srv.Dir, "mails")
	if err := os.Mkdir(r.mails, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(r.mails, r.uid, r.gid); err != nil {
		t.Fatal(err)
	}
	stub := filepath.Join(r.mails, "sendmail")
	if err := os.WriteFile(stub, []byte("#!/bin/sh\ncat > "+r.mails+"/mail.$$\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.srv.Spool, "etc", "FaxNotify"), []byte("SENDMAIL="+stub+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, rec := range r.records(t) {
				t.Logf("journal: %s %s %s", rec.ID, rec.Kind, rec.Data)
			}
		}
	})
	return r
}

// tenantConfig writes gofax.conf with [database] and a German numbering
// plan.
func (r *tenantRig) tenantConfig(extra ...string) {
	r.config(append([]string{"[freeswitch]", "countrycode = 49", "[database]", "hostname = rig"}, extra...)...)
}

// writeRouting writes the routing snapshot: tenant ACME with number
// +4930111 (caller-ID name, header, TSI), the default number of user
// alice, sending through two gateways of its own: gw-e164 (dialled
// +E.164), then gw-national.
func (r *tenantRig) writeRouting() {
	r.t.Helper()
	at := time.Now().UTC()
	rt := gofaxlib.NewRouting(at,
		[]gofaxlib.Tenant{{ID: "t-acme", Name: "ACME"}},
		[]gofaxlib.Number{{ID: "n-111", TenantID: "t-acme", Number: "+4930111", CallerIDName: "ACME Sales", Header: "ACME Sales Dept", Ident: "+49 30 111"}},
		[]gofaxlib.User{{ID: "u-alice", TenantID: "t-acme", Username: "alice", DefaultNumberID: "n-111"}},
		[]gofaxlib.Endpoint{
			{ID: "e-1", Scope: gofaxlib.ScopeNumber, TenantID: "t-acme", NumberID: "n-111", Kind: gofaxlib.KindGateway, Target: "gw-e164",
				Priority: 1, Enabled: true, Options: gofaxlib.EndpointOptions{Dial: gofaxlib.DialE164}},
			{ID: "e-2", Scope: gofaxlib.ScopeNumber, TenantID: "t-acme", NumberID: "n-111", Kind: gofaxlib.KindGateway, Target: "gw-national",
				Priority: 2, Enabled: true, Options: gofaxlib.EndpointOptions{Dial: gofaxlib.DialNational}},
		})
	b, err := json.Marshal(rt)
	if err != nil {
		r.t.Fatal(err)
	}
	path := filepath.Join(r.srv.Spool, record.RoutingFile)
	if err := os.WriteFile(path, b, 0o640); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Chown(path, r.uid, r.gid); err != nil {
		r.t.Fatal(err)
	}
}

// records decodes the spool journal's records, in the order written.
func (r *tenantRig) records(t *testing.T) []journal.Record {
	segs, _ := filepath.Glob(filepath.Join(r.srv.Spool, record.JournalDir, "*.jnl"))
	slices.Sort(segs)
	var recs []journal.Record
	for _, seg := range segs {
		f, err := os.Open(seg)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			rec, err := journal.Decode(sc.Bytes())
			if err != nil {
				t.Errorf("%s: %v", seg, err)
				continue
			}
			recs = append(recs, rec)
		}
		f.Close()
	}
	return recs
}

// notices returns the reasons of the send.notice records of job id, in
// order.
func (r *tenantRig) notices(t *testing.T, id string) (whys []string, last gofaxlib.JobNotice) {
	jobid, _ := strconv.Atoi(id)
	for _, rec := range r.records(t) {
		if rec.Kind != gofaxlib.RecordJobNotice {
			continue
		}
		var n gofaxlib.JobNotice
		if err := rec.Decode(&n); err != nil {
			t.Fatal(err)
		}
		if n.Job.JobID == jobid {
			whys, last = append(whys, n.Why), n
		}
	}
	return whys, last
}

// waitNotices waits until job id has the notices want, and checks that no
// other arrive for it meanwhile.
func (r *tenantRig) waitNotices(t *testing.T, id string, want ...string) gofaxlib.JobNotice {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, last := r.notices(t, id)
		if slices.Equal(got, want) {
			return last
		}
		if len(got) > len(want) || !slices.Equal(got, want[:len(got)]) || time.Now().After(deadline) {
			t.Fatalf("job %s: notices %q, want %q", id, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitMail waits for a mail of bin/notify whose subject has subject.
func (r *tenantRig) waitMail(t *testing.T, subject string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(r.mails, "mail.*"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			for _, l := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(l, "Subject: ") && strings.Contains(l, subject) {
					return string(b)
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail with subject %q among %d", subject, len(files))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHylaFAXTenants: real faxq runs gofaxsend-notify for every decision
// (done, failed, requeued, removed with faxrm): each is recorded exactly
// once and HylaFAX's notify still mails it; a job sendfax submits for a
// tenant user goes out from the tenant's number through its gateways,
// each call recorded.
func TestHylaFAXTenants(t *testing.T) {
	r := startTenantRig(t)
	// Every job's notices, checked again at the end: none came twice.
	expect := map[string][]string{}
	defer func() {
		for id, want := range expect {
			if got, _ := r.notices(t, id); !slices.Equal(got, want) {
				t.Errorf("job %s: notices %q at the end, want %q", id, got, want)
			}
		}
		fi, err := os.Stat(filepath.Join(r.srv.Spool, record.JournalDir))
		if err != nil {
			t.Fatal(err)
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || fi.Mode().Perm() != 0o700 || int(st.Uid) != r.uid {
			t.Errorf("journal directory %v, want 0700 and uucp's", fi.Mode())
		}
	}()

	t.Run("done", func(t *testing.T) {
		r.sim.Route("5550101", esltest.Scenario{Outcome: esltest.Success})
		id := r.submit("5550101", "-R", "-i", "done job")
		r.wait(id, hylafaxtest.StateDone)
		n := r.waitNotices(t, id, "done")
		expect[id] = []string{"done"}
		if n.PagesTransferred != 2 || n.Dials != 1 || n.Tries != 1 || n.Job.Owner != "root" || n.Job.TenantID != "" || n.Job.Host != "rig" || !n.NextTry.IsZero() {
			t.Errorf("notice %+v", n)
		}
		r.waitMail(t, "facsimile job done job ("+id+") to 5550101 completed")
	})

	t.Run("failed", func(t *testing.T) {
		r.sim.Route("5550102", esltest.Scenario{Outcome: esltest.Rejected})
		id := r.submit("5550102")
		r.wait(id, hylafaxtest.StateFailed)
		n := r.waitNotices(t, id, "failed")
		expect[id] = []string{"failed"}
		if n.Status != "CALL_REJECTED (retry disabled)" || n.Dials != 1 {
			t.Errorf("notice %+v", n)
		}
		r.waitMail(t, "facsimile job "+id+" to 5550102 failed")
	})

	t.Run("requeued then failed", func(t *testing.T) {
		r.sim.Route("5550103", esltest.Scenario{Outcome: esltest.Busy})
		// faxq runs notify "requeued" only for a retry time still ahead
		// when it has taken the result in (one second is not always):
		// otherwise it retries at once without a notice.
		id := r.submit("5550103", "-R", "-T", "2", "-I", "4")
		r.wait(id, hylafaxtest.StateSleeping) // waking faxq's scheduler (see hylafaxtest)
		n := r.waitNotices(t, id, "requeued")
		if n.Status != "Busy signal detected" || n.Dials != 1 || n.NextTry.Before(n.Time) {
			t.Errorf("requeued notice %+v", n)
		}
		r.waitMail(t, "facsimile job "+id+" to 5550103 requeued")
		r.wait(id, hylafaxtest.StateFailed)
		n = r.waitNotices(t, id, "requeued", "failed")
		expect[id] = []string{"requeued", "failed"}
		if n.Status != "Busy signal detected; too many attempts to dial" || n.Dials != 2 {
			t.Errorf("failed notice %+v", n)
		}
		r.waitMail(t, "facsimile job "+id+" to 5550103 failed")
	})

	t.Run("killed with faxrm", func(t *testing.T) {
		r.sim.Route("5550104", esltest.Scenario{Outcome: esltest.NoAnswer})
		id := r.submit("5550104", "-I", "600")
		r.wait(id, hylafaxtest.StateSleeping)
		r.waitNotices(t, id, "requeued")
		if out, err := exec.Command("/usr/bin/faxrm", "-h", r.srv.Host, id).CombinedOutput(); err != nil {
			t.Fatalf("faxrm %s: %v\n%s", id, err, out)
		}
		r.wait(id, hylafaxtest.StateFailed, hylafaxtest.StateDone)
		n := r.waitNotices(t, id, "requeued", "killed")
		expect[id] = []string{"requeued", "killed"}
		if st, ok := gofaxlib.StatusFromNotify(n.Why); !ok || st != gofaxlib.StatusCanceled {
			t.Errorf("faxrm: %q maps to %q", n.Why, st)
		}
		r.waitMail(t, "facsimile job "+id+" to 5550104 removed from queue")
	})

	t.Run("tenant user", func(t *testing.T) {
		// Through gw-e164 the destination cannot be reached; gw-national
		// delivers it.
		r.sim.Route("+4940123456", esltest.Scenario{Outcome: esltest.NoRoute})
		r.sim.Route("040123456", esltest.Scenario{Outcome: esltest.Success})
		before := len(r.sim.Calls())
		id := r.submit("0049 40 123456", "-o", "alice", "-D")
		j := r.wait(id, hylafaxtest.StateDone)
		r.check(j, map[string]string{"owner": "alice", "totdials": "1", "npages": "2"})
		calls := r.sim.Calls()[before:]
		var gws []string
		for _, c := range calls {
			gws = append(gws, c.Gateway+"/"+c.Destination)
			for k, v := range map[string]string{"origination_caller_id_name": "ACME Sales", "fax_ident": "+49 30 111", "fax_header": "ACME Sales Dept"} {
				if c.Vars[k] != v {
					t.Errorf("%s = %q, want %q", k, c.Vars[k], v)
				}
			}
		}
		if want := []string{"gw-e164/+4940123456", "gw-national/040123456"}; !slices.Equal(gws, want) {
			t.Fatalf("calls %q, want %q", gws, want)
		}
		if cid := []string{calls[0].Vars["origination_caller_id_number"], calls[1].Vars["origination_caller_id_number"]}; !slices.Equal(cid, []string{"+4930111", "030111"}) {
			t.Errorf("caller ID numbers %q", cid)
		}
		n := r.waitNotices(t, id, "done")
		expect[id] = []string{"done"}
		jobid, _ := strconv.Atoi(id)
		var as []gofaxlib.SendAttempt
		for _, rec := range r.records(t) {
			var a gofaxlib.SendAttempt
			if rec.Kind == gofaxlib.RecordSendAttempt && rec.Decode(&a) == nil && a.Job.JobID == jobid {
				as = append(as, a)
			}
		}
		if len(as) != 2 || as[0].Attempt.Gateway != "gw-e164" || as[0].Attempt.HangupCause != "NO_ROUTE_DESTINATION" ||
			as[1].Attempt.Gateway != "gw-national" || !as[1].Attempt.Success || as[1].Attempt.PagesTransferred != 2 {
			t.Fatalf("attempts %+v", as)
		}
		ref := as[1].Job
		if ref.TenantID != "t-acme" || ref.From != "+4930111" || ref.To != "+4940123456" || ref.Owner != "alice" || ref != as[0].Job {
			t.Errorf("job %+v / %+v", as[0].Job, ref)
		}
		if n.Job.FaxID != ref.FaxID || n.Job.TenantID != "t-acme" || n.Job.To != ref.To {
			t.Errorf("notice %+v, attempts' job %+v", n.Job, ref)
		}
		r.waitMail(t, fmt.Sprintf("facsimile job %s to 0049 40 123456 completed", id))
	})
}
