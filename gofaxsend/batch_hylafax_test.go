package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax/hylafaxtest"
)

// TestHylaFAXBatch: real faxq with MaxBatchJobs 4 hands three jobs to the
// same number to one exec of gofaxsend, which sends each in a call of its
// own and gives each its own result: the first and third are delivered,
// the second is rejected by DynamicConfig and fails.
func TestHylaFAXBatch(t *testing.T) {
	r := startRig(t)
	if err := r.srv.SetConfig("MaxBatchJobs: 4"); err != nil {
		t.Fatal(err)
	}
	const number = "5550101"
	r.sim.Route(number, esltest.Scenario{Outcome: esltest.Success, T38: true})

	// A busy modem takes no jobs: they wait until it is free (the first
	// ready, the others blocked by MaxConcurrentCalls 1) and faxq then
	// dispatches them together.
	if err := r.srv.WriteFIFO("+" + r.modem + ":B"); err != nil {
		t.Fatal(err)
	}
	ids := r.srv.Submit(t, "-m", "-d", number, "-d", number, "-d", number, r.doc)
	if len(ids) != 3 {
		t.Fatalf("sendfax made jobs %q, want 3", ids)
	}
	for _, id := range ids {
		r.wait(id, hylafaxtest.StateReady, hylafaxtest.StateBlocked)
	}
	script := filepath.Join(r.srv.Dir, "DynamicConfigOutgoing")
	body := "#!/bin/sh\n[ \"$4\" = " + ids[1] + " ] && echo 'RejectCall: true'\nexit 0\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	r.config("dynamicconfig = " + script)
	before := r.srv.GettyMessages(r.modem)
	if err := r.srv.Announce(r.modem); err != nil {
		t.Fatal(err)
	}

	want := []struct {
		state    int
		returned string
		status   string
	}{
		{hylafaxtest.StateDone, "2", ""},
		{hylafaxtest.StateFailed, "1", "Transmission rejected by DynamicConfig"},
		{hylafaxtest.StateDone, "2", ""},
	}
	jobs := make([]hylafaxtest.Job, len(ids))
	for i, id := range ids {
		jobs[i] = r.wait(id, want[i].state)
		r.check(jobs[i], map[string]string{"returned": want[i].returned, "status": want[i].status})
	}
	for _, i := range []int{0, 2} {
		r.check(jobs[i], map[string]string{"npages": "2", "totdials": "1", "tottries": "1"})
	}
	r.check(jobs[1], map[string]string{"totdials": "0"})

	// One exec: gofaxd's FIFO saw the modem busy and ready once, with
	// every job's result in between, in order.
	msgs := r.srv.GettyMessages(r.modem)[len(before):]
	var seq []string
	for _, m := range msgs {
		if m == "SB" || m == "SR" || strings.HasPrefix(m, "R") {
			seq = append(seq, m)
		}
	}
	wantSeq := []string{"SB", "R" + ids[0] + ":done:2", "R" + ids[1] + ":failed:0", "R" + ids[2] + ":done:2", "SR"}
	if !slices.Equal(seq, wantSeq) {
		t.Errorf("gofaxd's FIFO got %q, want %q (one exec of gofaxsend for the batch)", seq, wantSeq)
	}

	// A call of its own for each delivered job.
	var calls []esltest.CallRecord
	for _, c := range r.sim.Calls() {
		if c.Outbound && c.Destination == number {
			calls = append(calls, c)
		}
	}
	if len(calls) != 2 || calls[0].UUID == calls[1].UUID {
		t.Fatalf("calls to %s: %+v, want 2 of their own", number, calls)
	}
	for i, c := range calls {
		if c.Result == nil || !c.Result.Success || c.Result.TotalPages != 2 {
			t.Errorf("call %d: result %+v, want 2 pages sent", i+1, c.Result)
		}
	}

	// Each job has its own xferfaxlog record.
	xfer, err := os.ReadFile(filepath.Join(r.srv.Spool, hylafax.XferLogFile))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := hylafax.ParseXferLog(strings.NewReader(string(xfer)))
	if err != nil {
		t.Fatal(err)
	}
	commids := map[string]bool{}
	for i, id := range ids {
		var got *hylafax.XferRecord
		for k := range recs {
			if recs[k].JobID == id {
				got = &recs[k]
			}
		}
		if got == nil {
			t.Errorf("job %s: no xferfaxlog record", id)
			continue
		}
		if i != 1 && (got.Pages != 2 || got.CommID == "" || commids[got.CommID]) {
			t.Errorf("job %s: record %+v, want 2 pages under a commid of its own", id, *got)
		}
		commids[got.CommID] = true
	}
}

// TestHylaFAXBatchInterrupted: faxrm of the job being sent stops the exec
// of gofaxsend; the jobs of the batch it had not tried yet go back to
// faxq as not tried (FaxSendStatus 7, send_nobatch): faxq makes them
// ready again at once, without counting a retry or notifying a requeue,
// and a later exec delivers them.
func TestHylaFAXBatchInterrupted(t *testing.T) {
	r := startRig(t)
	if err := r.srv.SetConfig("MaxBatchJobs: 4"); err != nil {
		t.Fatal(err)
	}
	const number = "5550102"
	slow := esltest.New(t, esltest.Options{TimeScale: 1}) // a real-time 30 s fax
	slow.Route(number, esltest.Scenario{Outcome: esltest.Success})
	writeConfig(t, r.conf, r.srv.Spool, slow.Addr())
	if err := r.srv.WriteFIFO("+" + r.modem + ":B"); err != nil {
		t.Fatal(err)
	}
	ids := r.srv.Submit(t, "-m", "-d", number, "-d", number, "-d", number, r.doc)
	if len(ids) != 3 {
		t.Fatalf("sendfax made jobs %q, want 3", ids)
	}
	for _, id := range ids {
		r.wait(id, hylafaxtest.StateReady, hylafaxtest.StateBlocked)
	}
	if err := r.srv.Announce(r.modem); err != nil {
		t.Fatal(err)
	}
	r.wait(ids[0], hylafaxtest.StateActive) // pokes faxq while the job is ready
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := slow.WaitCall(ctx, func(c esltest.CallRecord) bool { return c.Answered }); err != nil {
		t.Fatal(err)
	}
	// The next exec of gofaxsend finds the fast simulator.
	r.config()
	r.sim.Route(number, esltest.Scenario{Outcome: esltest.Success})
	if out, err := exec.Command("/usr/bin/faxrm", "-h", r.srv.Host, ids[0]).CombinedOutput(); err != nil {
		t.Fatalf("faxrm: %v\n%s", err, out)
	}
	r.wait(ids[0], hylafaxtest.StateFailed, hylafaxtest.StateDone)
	// gofaxd, told by gofaxsend that the modem is free again (SR),
	// announces it ready, which makes faxq schedule the jobs again.
	for !slices.Contains(r.srv.GettyMessages(r.modem), "SR") {
		select {
		case <-ctx.Done():
			t.Fatalf("gofaxsend never freed the modem: %q", r.srv.GettyMessages(r.modem))
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err := r.srv.Announce(r.modem); err != nil {
		t.Fatal(err)
	}
	// faxq sets the jobs ready in memory only (their qfiles still say
	// active, so WaitState does not poke it) and may lose the wake-up of
	// its scheduler (see hylafaxtest); "S<jobid>" for a job it knows
	// only wakes the scheduler.
	stop := make(chan struct{})
	poked := make(chan struct{})
	go func() {
		defer close(poked)
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
				for _, id := range ids[1:] {
					r.srv.WriteFIFO("S" + id)
				}
			}
		}
	}()
	defer func() { close(stop); <-poked }()
	for _, id := range ids[1:] {
		j := r.wait(id, hylafaxtest.StateDone)
		r.check(j, map[string]string{"returned": "2", "npages": "2", "totdials": "1", "tottries": "1"})
	}
	if n := len(slow.Calls()); n != 1 {
		t.Errorf("%d calls through the interrupted exec, want 1", n)
	}
	for _, n := range r.srv.Notifications() {
		for _, id := range ids[1:] {
			if strings.HasPrefix(n, "sendq/q"+id+" requeued") {
				t.Errorf("job %s not tried but requeued: notification %q", id, n)
			}
		}
	}
}
