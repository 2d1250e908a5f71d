package app

import (
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/tenancy"
	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax/hylafaxtest"
	"github.com/gofaxserver/gofaxserver/gofaxlib/notify/notifytest"
)

// buildGofaxsend builds gofaxsend into a directory uucp can reach (faxq
// execs it as uucp).
func buildGofaxsend(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "gofaxsend-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "gofaxsend")
	goTool := "go"
	if root := runtime.GOROOT(); root != "" {
		goTool = filepath.Join(root, "bin", "go")
	}
	if out, err := exec.Command(goTool, "build", "-o", bin, "../../../gofaxsend").CombinedOutput(); err != nil {
		t.Fatalf("go build gofaxsend: %v\n%s", err, out)
	}
	return bin
}

// TestReceiptsWithHylaFAX: HylaFAX's own path stays as it was when
// receipts are on. A user of a tenant sends a fax with sendfax through
// a real faxq, gofaxsend and the simulator in loopback to another number
// of the tenant, received by gofaxd: HylaFAX's bin/faxrcvd (FaxDispatch)
// mails the reception and bin/notify (run by gofaxsend-notify, faxq's
// NotifyCmd) mails the job's end, exactly as without receipts — and the
// tenant's mailbox gets the receipts of both, with the faxes as PDF.
func TestReceiptsWithHylaFAX(t *testing.T) {
	hylafaxtest.Require(t)
	d := newTenantDB(t)
	ctx := context.Background()
	alice := gofaxlib.User{TenantID: d.acme.ID, Username: "alice", Role: gofaxlib.RoleUser}
	numbers, _, err := d.store.ListNumbers(ctx, gofaxlib.TenantScope(d.acme.ID), gofaxlib.Page{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range numbers {
		if n.Number == "+4930111111" {
			alice.DefaultNumberID = n.ID
		}
	}
	if err := d.store.CreateUser(ctx, gofaxlib.OperatorScope(), &alice, ""); err != nil {
		t.Fatal(err)
	}
	d.endpoint(t, nil, gofaxlib.Endpoint{Scope: gofaxlib.ScopeTenant, TenantID: d.acme.ID, Kind: gofaxlib.KindEmail,
		Target: "fax@acme.example"})
	smtpd := notifytest.StartSMTPD(t, notifytest.SMTPDOptions{})

	srv := hylafaxtest.Start(t, hylafaxtest.Options{
		SendFaxCmd:   buildGofaxsend(t),
		Env:          []string{"GOFAX_CONFIG=" + hylafaxtest.DirVar + "/gofax.conf"},
		MaxBatchJobs: 1,
	})
	prefix := srv.ModemName("gfr") + "m"
	uucp, err := user.Lookup("uucp")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(uucp.Uid)
	gid, _ := strconv.Atoi(uucp.Gid)
	// HylaFAX's own bin/faxrcvd and bin/notify mail through a stub that
	// keeps each message.
	mails := filepath.Join(srv.Dir, "mails")
	if err := os.Mkdir(mails, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chown(mails, uid, gid)
	stub := filepath.Join(mails, "sendmail")
	if err := os.WriteFile(stub, []byte("#!/bin/sh\ncat > "+mails+"/mail.$$\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for file, body := range map[string]string{
		"FaxDispatch": "SENDMAIL=" + stub + "\nFILETYPE=pdf\nSENDTO=faxuser@example.com\n",
		"FaxNotify":   "SENDMAIL=" + stub + "\n",
	} {
		if err := os.WriteFile(filepath.Join(srv.Spool, "etc", file), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(srv.Dir, "bin")
	if err := os.Symlink("gofaxsend", filepath.Join(bin, "gofaxsend-notify")); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetConfig("NotifyCmd: " + filepath.Join(bin, "gofaxsend-notify")); err != nil {
		t.Fatal(err)
	}

	e := newEnvWith(t, envOptions{modems: 1, scale: 0.05, spool: srv.Spool, tweak: func(c *config.Config) {
		withReceipts(d, smtpd.Port)(c)
		c.HylaFAX.ModemPrefix = prefix
		c.HylaFAX.RecvFileMode = 0o644
		c.Gofaxd.FaxRcvdCmd = "bin/faxrcvd"
		c.FreeSWITCH.Gateways = []string{"carrier"}
	}})
	// gofaxd runs as root here; faxq (euid uucp) writes the modem's FIFO.
	if err := os.Chown(filepath.Join(srv.Spool, "FIFO."+prefix+"0"), uid, gid); err != nil {
		t.Fatal(err)
	}
	// gofaxsend's configuration: the same spool, modems, simulator and
	// database (it reads only the routing snapshot gofaxd writes).
	conf := "[freeswitch]\nsocket = " + e.sim.Addr() + "\npassword = " + e.sim.Password() + "\ngateway = carrier\ncountrycode = 49\n" +
		"[hylafax]\nspooldir = " + srv.Spool + "\nmodems = 1\nmodemprefix = " + prefix + "\n" +
		"[gofaxsend]\nlogfile = log/gofaxsend.log\n[database]\nhostname = test-host\n"
	if err := os.WriteFile(filepath.Join(srv.Dir, "gofax.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	e.waitRouting()
	within(t, time.Minute, "the routing snapshot", func() bool {
		_, err := os.Stat(filepath.Join(srv.Spool, tenancy.SnapshotFile))
		return err == nil
	})
	waitFaxstat(t, srv, regexp.MustCompile(`Modem `+prefix+`0 \(4711\): Running and idle`))

	doc := filepath.Join(srv.Dir, "2page.tif")
	tif, err := os.ReadFile("../receipts/testdata/fax-2page.tif")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(doc, tif, 0o644); err != nil {
		t.Fatal(err)
	}
	id := srv.Submit(t, "-o", "alice", "-D", "-m", "-d", "030555555", doc)[0]
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	job, err := srv.WaitDone(wctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if job.State() != hylafaxtest.StateDone {
		b, _ := os.ReadFile(filepath.Join(srv.Spool, "log/gofaxsend.log"))
		t.Fatalf("job %s: state %d, status %q\n%s", id, job.State(), job.Field("status"), b)
	}

	// HylaFAX's mails: faxrcvd's of the reception, notify's of the job.
	var hylafaxMail string
	within(t, time.Minute, "HylaFAX's faxrcvd and notify mails", func() bool {
		files, _ := filepath.Glob(filepath.Join(mails, "mail.*"))
		var all []string
		for _, f := range files {
			b, _ := os.ReadFile(f)
			all = append(all, string(b))
		}
		hylafaxMail = strings.Join(all, "\n----\n")
		return strings.Contains(hylafaxMail, "To: faxuser@example.com") && strings.Contains(hylafaxMail, "completed successfully")
	})
	for _, want := range []string{"Subject: Fax received from \"ACME FAX\"", "CallID1: +4930111111", "Pages: 2"} {
		if !strings.Contains(hylafaxMail, want) {
			t.Errorf("HylaFAX's mails lack %q:\n%.3000s", want, hylafaxMail)
		}
	}

	// The receipts: the reception on +4930555555, the job from +4930111111.
	within(t, 2*time.Minute, "both receipts", func() bool { return len(smtpd.Messages(t)) >= 2 })
	var subjects []string
	for _, m := range smtpd.Messages(t) {
		h, parts := parseMail(t, m.Raw)
		subjects = append(subjects, h.Get("Subject"))
		var pdf []byte
		for _, p := range parts {
			if p.ctype == "application/pdf" {
				pdf = p.data
			}
		}
		if pdf == nil {
			t.Errorf("receipt %q without PDF", h.Get("Subject"))
		} else if n := pdfPages(t, pdf); n != 2 {
			t.Errorf("receipt %q: PDF of %d pages", h.Get("Subject"), n)
		}
	}
	slices.Sort(subjects)
	if want := []string{"Fax received from +4930111111 (2 pages)", "Fax to +4930555555 delivered (2 pages)"}; !slices.Equal(subjects, want) {
		t.Errorf("receipts %q, want %q", subjects, want)
	}
}
