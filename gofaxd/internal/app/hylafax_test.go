package app

import (
	"context"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax/hylafaxtest"
)

// TestWithHylaFAX runs gofaxd, configured as GOfax.IP's defaults have it
// (allocateinbounddevices=false), in front of a real faxq and hfaxd and
// checks with HylaFAX's own tools what it did: faxstat shows the modems
// and a busy one while receiving, faxinfo reads the received file, faxstat -r
// lists it, recvstats reads the RECV record, and after a faxq restart the
// modems are announced again so that faxq sends jobs through them.
func TestWithHylaFAX(t *testing.T) {
	srv := hylafaxtest.Start(t, hylafaxtest.Options{MaxBatchJobs: 1})
	prefix := srv.ModemName("gfx") + "m"
	// HylaFAX's own bin/faxrcvd, mailing through a stub that keeps the
	// message (etc/FaxDispatch may set SENDMAIL).
	// In srv.Dir, not t.TempDir() (below a 0700 directory): faxrcvd and its
	// sendmail may run as uucp.
	mails := filepath.Join(srv.Dir, "mail")
	if err := os.Mkdir(mails, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(mails, 0o777); err != nil {
		t.Fatal(err)
	}
	stub := filepath.Join(mails, "sendmail")
	if err := os.WriteFile(stub, []byte("#!/bin/sh\ncat > "+mails+"/mail.$$\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	dispatch := "SENDMAIL=" + stub + "\nFILETYPE=tif\nSENDTO=faxuser@example.com\n"
	if err := os.WriteFile(filepath.Join(srv.Spool, "etc", "FaxDispatch"), []byte(dispatch), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, envOptions{modems: 2, scale: 0.05, spool: srv.Spool, tweak: func(c *config.Config) {
		c.HylaFAX.ModemPrefix = prefix
		c.HylaFAX.RecvFileMode = 0o644
		c.Gofaxd.FaxRcvdCmd = "bin/faxrcvd"
	}})
	if e.cfg.Gofaxd.AllocateInboundDevices {
		t.Fatal("allocateinbounddevices is on: the busy modem must show with the default")
	}
	m0, m1 := prefix+"0", prefix+"1"
	// gofaxd runs as uucp in production; here as root. faxq (euid uucp)
	// must be able to write the modem FIFOs.
	uucp, err := user.Lookup("uucp")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(uucp.Uid)
	gid, _ := strconv.Atoi(uucp.Gid)
	for _, m := range []string{m0, m1} {
		if err := os.Chown(filepath.Join(srv.Spool, "FIFO."+m), uid, gid); err != nil {
			t.Fatal(err)
		}
	}

	waitFaxstat(t, srv, regexp.MustCompile(`Modem `+m0+` \(4711\): Running and idle`))
	waitFaxstat(t, srv, regexp.MustCompile(`Modem `+m1+` \(4711\): Running and idle`))

	done := make(chan error, 1)
	go func() {
		_, err := e.sim.PlaceCall(context.Background(), esltest.InboundCall{CallerNumber: "+4930123", CallerName: "ACME",
			Scenario: esltest.Scenario{T38: true, StationID: "+49 30 123"}})
		done <- err
	}()
	waitFaxstat(t, srv, regexp.MustCompile(`Modem `+m0+` \(4711\): (Answering the phone|Receiving)`))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	e.waitEnded(1)
	waitFaxstat(t, srv, regexp.MustCompile(`Modem `+m0+` \(4711\): Running and idle`))

	// bin/faxrcvd ran (before the call was counted as ended) and mailed
	// the fax with what faxgetty would have passed.
	mailFiles, _ := filepath.Glob(filepath.Join(mails, "mail.*"))
	var mail []byte
	for _, f := range mailFiles {
		b, _ := os.ReadFile(f)
		mail = append(mail, b...)
	}
	for _, want := range []string{"To: faxuser@example.com", "Subject: Fax received from \"+49 30 123\"",
		"Pages: 2", "CallID1: +4930123", "Received On: " + m0, "CommID: 000000001"} {
		if !strings.Contains(string(mail), want) {
			t.Errorf("faxrcvd mail lacks %q:\n%.2000s", want, mail)
		}
	}

	info, err := srv.Run("faxinfo", "recvq/fax000000001.tif")
	if err != nil {
		t.Fatalf("faxinfo: %v\n%s", err, info)
	}
	for _, want := range []string{"Sender: +49 30 123", "Pages: 2", "SignalRate: 14400 bit/s", "CallID1: +4930123", "CallID2: ACME"} {
		if !strings.Contains(info, want) {
			t.Errorf("faxinfo output lacks %q:\n%s", want, info)
		}
	}
	// Pages of 0.6 s and 0.5 s at this time scale: at least 1 s each.
	if !regexp.MustCompile(`TimeToRecv: 0:00:0[2-9]`).MatchString(info) {
		t.Errorf("faxinfo TimeToRecv, want at least 2 s for two pages:\n%s", info)
	}
	// hfaxd lists received files owned by uucp only, which they are when
	// gofaxd runs as uucp (here it runs as root).
	if err := os.Chown(filepath.Join(srv.Spool, "recvq", "fax000000001.tif"), uid, gid); err != nil {
		t.Fatal(err)
	}
	out, err := srv.Faxstat("-r")
	listed := false
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 2 && f[len(f)-1] == "fax000000001.tif" && f[1] == "2" && strings.Contains(l, "+49 30 123") {
			listed = true
		}
	}
	if err != nil || !listed {
		t.Errorf("faxstat -r does not list the fax with 2 pages from the sender: %v\n%s", err, out)
	}
	stats, err := srv.Run("recvstats", "log/xferfaxlog")
	if err != nil {
		t.Fatalf("recvstats: %v\n%s", err, stats)
	}
	// The data format comes from the DCS (field 19), which describes the
	// document sent (the simulator's default, fine MH).
	if !regexp.MustCompile(`(?m)^\+49 30 123\s+ACME\s+\+4930123\s+2\s+.*14400\s+1-D MH\s*$`).MatchString(stats) {
		t.Errorf("recvstats does not show 2 MH pages at 14400 from the sender:\n%s", stats)
	}

	// faxq restart: it greets the modems (HELLO) and gofaxd announces
	// them again; a job for m1 is then dispatched.
	if err := srv.RestartFaxq(); err != nil {
		t.Fatal(err)
	}
	ids := srv.Submit(t, "-h", srv.HostFor(m1), "-d", "5559876", srv.Document())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	job, err := srv.WaitDone(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if job.State() != hylafaxtest.StateDone {
		t.Errorf("job after faxq restart: state %d, status %q", job.State(), job.Field("status"))
	}
	// faxq's lock is gone after the job: the modem takes calls again.
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, err := e.app.Pool().Acquire()
		if err == nil {
			if l.Modem() == m1 || l.Modem() == m0 {
				l.Release(hylafax.RecvInfo{})
			}
			if s, _ := e.app.Pool().State(m1); s.String() == "ready" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("modem %s not ready after the job", m1)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitFaxstat(t *testing.T, srv *hylafaxtest.Server, re *regexp.Regexp) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var out string
	for time.Now().Before(deadline) {
		out, _ = srv.Faxstat()
		if re.MatchString(out) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("faxstat never matched %s:\n%s", re, out)
}
