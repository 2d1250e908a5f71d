package hylafaxtest_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax/hylafaxtest"
)

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestJobField(t *testing.T) {
	j := hylafaxtest.Job{Raw: []byte("tts:5\nstate:7\nstatus:  a b\\\nc\nstatuscode:0\ntts:6\n")}
	for tag, want := range map[string]string{"tts": "6", "state": "7", "status": `a b\`, "statuscode": "0", "missing": ""} {
		if got := j.Field(tag); got != want {
			t.Errorf("Field(%q) = %q, want %q", tag, got, want)
		}
	}
	if j.State() != hylafaxtest.StateDone {
		t.Errorf("State() = %d", j.State())
	}
}

// TestServer submits through the real hfaxd/faxq to the stub send program:
// dispatch, exit code handling, notify, the fake getty and a faxq restart.
func TestServer(t *testing.T) {
	t.Parallel()
	srv := hylafaxtest.Start(t, hylafaxtest.Options{MaxBatchJobs: 1})
	modem := srv.ModemName("ttyH")
	srv.AddModem(modem, hylafaxtest.ModemOptions{Caps: hylafaxtest.DefaultCaps, Getty: true, Status: "Harness idle"})

	out, err := srv.Faxstat()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Running") || !strings.Contains(out, "Modem "+modem+" (+1.555.000.0000): Harness idle") {
		t.Fatalf("faxstat:\n%s", out)
	}
	if err := srv.Announce(modem); err != nil {
		t.Fatal(err)
	}

	ids := srv.Submit(t, "-d", "5551001", srv.Document())
	job, err := srv.WaitDone(waitCtx(t), ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if job.State() != hylafaxtest.StateDone || job.Path != "doneq/q"+ids[0] {
		t.Fatalf("job %s: %s state %d", ids[0], job.Path, job.State())
	}
	calls := srv.StubCalls()
	if want := "-m " + modem + " sendq/q" + ids[0]; !slices.Contains(calls, want) {
		t.Errorf("stub calls %q, want %q", calls, want)
	}
	if !slices.Contains(srv.GettyMessages(modem), "L") {
		t.Errorf("getty messages %q lack faxq's lock notice L", srv.GettyMessages(modem))
	}

	if err := srv.SetStubExit(1); err != nil {
		t.Fatal(err)
	}
	ids = srv.Submit(t, "-d", "5551002", srv.Document())
	if job, err = srv.WaitDone(waitCtx(t), ids[0]); err != nil {
		t.Fatal(err)
	}
	if job.State() != hylafaxtest.StateFailed {
		t.Errorf("exit 1: state %d, want failed", job.State())
	}
	if _, err := srv.WaitNotification(waitCtx(t), "doneq/q"+ids[0]+" failed "); err != nil {
		t.Error(err)
	}

	// Without faxq, FIFO writes fail at once.
	srv.StopFaxq()
	if err := srv.Announce(modem); err == nil {
		t.Error("Announce without faxq: no error")
	}

	// A restarted faxq finds the modem through FIFO.<dev> + etc/config.<dev>,
	// says HELLO, and the getty's answer makes it ready again.
	if err := srv.RestartFaxq(); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetStubExit(2); err != nil {
		t.Fatal(err)
	}
	ids = srv.Submit(t, "-d", "5551003", srv.Document())
	if job, err = srv.WaitDone(waitCtx(t), ids[0]); err != nil {
		t.Fatal(err)
	}
	if job.State() != hylafaxtest.StateDone {
		t.Errorf("after restart: state %d", job.State())
	}
	// (FIFO.<dev> did not exist when the first faxq started.)
	if n := strings.Count(strings.Join(srv.GettyMessages(modem), " "), "HELLO"); n != 1 {
		t.Errorf("getty saw %d HELLOs, want 1 (from the restarted faxq)", n)
	}

	out, err = srv.Run("faxinfo", filepath.Join(srv.Dir, "page.tif"))
	if err != nil || !strings.Contains(out, "Pages: 1") {
		t.Errorf("faxinfo: %v\n%s", err, out)
	}
}

// TestParallel checks that servers started at the same time do not share
// ports, spools or lock names, and that cleanup removes the spool.
func TestParallel(t *testing.T) {
	hylafaxtest.Require(t)
	dirs := make(chan string, 3)
	t.Run("group", func(t *testing.T) {
		for _, name := range []string{"a", "b", "c"} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				srv := hylafaxtest.Start(t, hylafaxtest.Options{})
				dirs <- srv.Dir
				modem := srv.ModemName("ttyP")
				srv.AddModem(modem, hylafaxtest.ModemOptions{})
				if err := srv.Announce(modem); err != nil {
					t.Fatal(err)
				}
				ids := srv.Submit(t, "-d", "5552000", srv.Document())
				job, err := srv.WaitDone(waitCtx(t), ids[0])
				if err != nil {
					t.Fatal(err)
				}
				if job.State() != hylafaxtest.StateDone {
					t.Errorf("state %d", job.State())
				}
				if calls := srv.StubCalls(); len(calls) != 1 || !strings.HasPrefix(calls[0], "-m "+modem+" ") {
					t.Errorf("stub calls %q", calls)
				}
			})
		}
	})
	close(dirs)
	for d := range dirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s left behind: %v", d, err)
		}
	}
}

// TestSendFaxCmdOption: a send program built in t.TempDir() (unreachable
// for uucp) still runs, and DirVar in Env names a file the test wrote into
// Dir after Start.
func TestSendFaxCmdOption(t *testing.T) {
	t.Parallel()
	hylafaxtest.Require(t)
	prog := filepath.Join(t.TempDir(), "send")
	script := "#!/bin/bash -p\n[ -r \"$HFT_MARKER\" ] && [ \"$(id -u)\" = 10 ] && exit 2\nexit 1\n"
	if err := os.WriteFile(prog, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	srv := hylafaxtest.Start(t, hylafaxtest.Options{
		SendFaxCmd: prog,
		Env:        []string{"HFT_MARKER=" + hylafaxtest.DirVar + "/marker"},
	})
	if err := os.WriteFile(filepath.Join(srv.Dir, "marker"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	modem := srv.ModemName("ttyS")
	srv.AddModem(modem, hylafaxtest.ModemOptions{})
	if err := srv.Announce(modem); err != nil {
		t.Fatal(err)
	}
	ids := srv.Submit(t, "-d", "5553001", srv.Document())
	job, err := srv.WaitDone(waitCtx(t), ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if job.State() != hylafaxtest.StateDone {
		t.Errorf("state %d, status %q", job.State(), job.Field("status"))
	}
}
