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

	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/record"
)

func TestNotifyMode(t *testing.T) {
	tests := []struct {
		argv []string
		args []string
		ok   bool
	}{
		{[]string{"/usr/bin/gofaxsend-notify", "doneq/q1", "done", "0:00:01"}, []string{"doneq/q1", "done", "0:00:01"}, true},
		{[]string{"gofaxsend-notify"}, []string{}, true},
		{[]string{"/usr/bin/gofaxsend", "-notify", "doneq/q1", "done", "0:00:01"}, []string{"doneq/q1", "done", "0:00:01"}, true},
		{[]string{"/usr/bin/gofaxsend", "--notify", "-c", "x.conf", "sendq/q1", "requeued", "", "01:02"}, []string{"-c", "x.conf", "sendq/q1", "requeued", "", "01:02"}, true},
		{[]string{"/usr/bin/gofaxsend", "-m", "freeswitch0", "sendq/q1"}, nil, false},
		{[]string{"/usr/bin/gofaxsend", "-c", "x.conf", "-m", "freeswitch0", "-notify"}, nil, false}, // a qfile named -notify is not possible, but only argv[1] counts
		{nil, nil, false},
	}
	for _, tt := range tests {
		args, ok := notifyMode(tt.argv)
		if ok != tt.ok || !slices.Equal(args, tt.args) {
			t.Errorf("notifyMode(%q) = %q, %v; want %q, %v", tt.argv, args, ok, tt.args, tt.ok)
		}
	}
}

// TestExecNotify runs the binary as faxq runs its NotifyCmd (sh -c with
// the arguments quoted, every descriptor on /dev/null, in the spool),
// through the gofaxsend-notify link and as "gofaxsend -notify": the
// notice is recorded and the notify program runs with faxq's arguments,
// an empty one included, and its exit status is the command's.
func TestExecNotify(t *testing.T) {
	bin := binary(t)
	spool := t.TempDir()
	for _, d := range []string{"sendq", "doneq", "bin"} {
		os.Mkdir(filepath.Join(spool, d), 0o755)
	}
	link := filepath.Join(spool, "bin", "gofaxsend-notify")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	// The notify program: writes its arguments, one a line, exits 3.
	fake := "#!/bin/sh\nfor a in \"$@\"; do printf '<%s>\\n' \"$a\"; done > notify.args\nexit 3\n"
	if err := os.WriteFile(filepath.Join(spool, "bin", "fake-notify"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(spool, "sendq/q4"), []byte("jobid:4\nowner:root\nnumber:5551234\ntotpages:1\nnpages:0\ntotdials:1\ntottries:0\ntts:1795327911\nstatus:Busy signal detected\n"), 0o644)
	conf := filepath.Join(spool, "gofax.conf")
	writeConfig(t, conf, spool, "127.0.0.1:1", "notifycmd = bin/fake-notify", "[database]")

	for i, cmdline := range []string{
		`exec 0<&- 1>&- 2>&- "$0" "sendq/q4" "requeued" "" "06:17"`,
		`exec 0<&- 1>&- 2>&- "$0" -notify "sendq/q4" "requeued" "" "06:17"`,
	} {
		prog := link
		if i == 1 {
			prog = bin
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, "/bin/sh", "-c", cmdline, prog)
		cmd.Dir = spool
		cmd.Env = []string{"GOFAX_CONFIG=" + conf, "PATH=/usr/bin:/bin"}
		start := time.Now()
		err := cmd.Run()
		took := time.Since(start)
		cancel()
		if code := cmd.ProcessState.ExitCode(); code != 3 {
			t.Errorf("%s: exit %d (%v), want the notify program's 3", cmdline, code, err)
		}
		t.Logf("%s: %v", cmdline, took)
		args, _ := os.ReadFile(filepath.Join(spool, "notify.args"))
		if string(args) != "<sendq/q4>\n<requeued>\n<>\n<06:17>\n" {
			t.Errorf("notify program got\n%s", args)
		}
		os.Remove(filepath.Join(spool, "notify.args"))
	}
	segs, _ := filepath.Glob(filepath.Join(spool, record.JournalDir, "*-notify-*.jnl"))
	if len(segs) != 2 { // checked before the timing runs below
		t.Errorf("segments %q, want one per run", segs)
	}
	for _, seg := range segs {
		b, _ := os.ReadFile(seg)
		if !strings.Contains(string(b), `"kind":"send.notice"`) || !strings.Contains(string(b), `"why":"requeued"`) {
			t.Errorf("%s:\n%s", seg, b)
		}
	}

	// How long faxq waits: the mode with the record (two fsyncs and a
	// new segment each time) and a notify program that does nothing.
	// Logged as a figure, not asserted (the machine may be loaded).
	if err := os.WriteFile(filepath.Join(spool, "bin", "fake-notify"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var took []time.Duration
	for range 20 {
		cmd := exec.Command(link, "sendq/q4", "requeued", "", "06:17")
		cmd.Dir = spool
		cmd.Env = []string{"GOFAX_CONFIG=" + conf}
		start := time.Now()
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	t.Logf("NotifyCmd mode, 20 runs: min %v, median %v, max %v", took[0], took[len(took)/2], took[len(took)-1])

	// A notify program that cannot be run: 127, as sh says.
	writeConfig(t, conf, spool, "127.0.0.1:1", "notifycmd = bin/none", "[database]")
	cmd := exec.Command("/bin/sh", "-c", `exec 0<&- 1>&- 2>&- "$0" "sendq/q4" "failed" "0:00:01"`, link)
	cmd.Dir = spool
	cmd.Env = []string{"GOFAX_CONFIG=" + conf}
	cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != 127 {
		t.Errorf("missing notify program: exit %d", code)
	}
}
