package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds gofaxsend once per test run into a directory that faxq's
// uucp user can reach.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gofaxsend-bin-")
		if err != nil {
			buildErr = err
			return
		}
		os.Chmod(dir, 0o755)
		binPath = filepath.Join(dir, "gofaxsend")
		// runtime.GOROOT() is empty in a test built with -trimpath (as at
		// package build): then the go in PATH.
		goTool := "go"
		if root := runtime.GOROOT(); root != "" {
			goTool = filepath.Join(root, "bin", "go")
		}
		out, err := exec.Command(goTool, "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

func TestRunVersion(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"-version"}, func(string) string { return "" }, &out, &out, nil); code != 0 {
		t.Errorf("exit %d", code)
	}
	if !strings.HasPrefix(out.String(), "gofaxsend ") {
		t.Errorf("output %q", out.String())
	}
}

// writeQfile writes a minimal qfile the early-error path must update.
func writeQfile(t *testing.T, dir, jobid string) string {
	t.Helper()
	p := filepath.Join(dir, "q"+jobid)
	if err := os.WriteFile(p, []byte("jobid:"+jobid+"\nstatus:\nstatuscode:0\nreturned:7\nfax:0::docq/doc1.tif;00\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readQfile(t *testing.T, p string) *hylafax.Qfile {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	q, err := hylafax.ParseQfile(p, b)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// TestEarlyErrors: even without a configuration or a usable command line
// every qfile of faxq's command line (it always has -m) learns the result,
// and it is a retry. A command line without -m is not faxq's SendFaxCmd
// call: its qfiles are left as they are, and one with faxq's NotifyCmd
// arguments says how to set NotifyCmd.
func TestEarlyErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		args   func(q1, q2 string) []string
		env    map[string]string
		marked bool   // the qfiles record the error, as a retry
		want   string // in the qfiles' status if marked, else in the log
	}{
		{"missing config", func(q1, q2 string) []string { return []string{"-m", "fs0", q1, q2} },
			map[string]string{"GOFAX_CONFIG": filepath.Join(dir, "none.conf")}, true, "none.conf"},
		{"bad config", func(q1, q2 string) []string { return []string{"-m", "fs0", q1, q2} },
			map[string]string{"GOFAX_CONFIG": "testdata/bad.conf"}, true, "bad.conf:3"},
		{"bad modem name", func(q1, q2 string) []string { return []string{"-m", "../fs0", q1, q2} }, nil, true, "bad modem name"},
		{"no modem", func(q1, q2 string) []string { return []string{q1, q2} }, nil, false, "-m and at least one qfile"},
		{"NotifyCmd's arguments", func(q1, q2 string) []string { return []string{"doneq/q1", "done", "0:00:04"} }, nil, false,
			"set NotifyCmd to gofaxsend-notify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q1, q2 := writeQfile(t, dir, "1"), writeQfile(t, dir, "2")
			before := map[string][]byte{}
			for _, p := range []string{q1, q2} {
				before[p], _ = os.ReadFile(p)
			}
			var out bytes.Buffer
			code := run(context.Background(), tt.args(q1, q2), func(k string) string { return tt.env[k] }, &out, &out, nil)
			if code != 0 {
				t.Errorf("exit %d, want 0 (retry)", code)
			}
			for _, p := range []string{q1, q2} {
				q := readQfile(t, p)
				switch after, _ := os.ReadFile(p); {
				case tt.marked && (q.String("returned") != "0" || !strings.Contains(q.String("status"), tt.want)):
					t.Errorf("%s: returned %q status %q", p, q.String("returned"), q.String("status"))
				case !tt.marked && !bytes.Equal(after, before[p]):
					t.Errorf("%s changed:\n%s", p, after)
				}
			}
			if !tt.marked && !strings.Contains(out.String(), tt.want) {
				t.Errorf("log %q, want %q in it", out.String(), tt.want)
			}
		})
	}
}

// writeConfig writes a gofax.conf for a spool and a FreeSWITCH address.
func writeConfig(t testing.TB, path, spool, socket string, extra ...string) {
	t.Helper()
	conf := fmt.Sprintf(`[freeswitch]
socket = %s
password = ClueCon
gateway = gw1
ident = +1 555 0100
header = gofaxsend test
timeout = 5s

[hylafax]
spooldir = %s
xferfaxlog = log/xferfaxlog

[gofaxsend]
enablet38 = true
requestt38 = true
faxnumber = 5550100
ringtimeout = 5s
pagetimeout = 10s
maxcalltime = 60s
logfile = log/gofaxsend.log
%s
`, socket, spool, strings.Join(extra, "\n"))
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
}

// TestExecClosedDescriptors runs the binary as faxq does, with every
// descriptor closed, and checks it sends, logs to its file and leaves the
// qfile intact.
func TestExecClosedDescriptors(t *testing.T) {
	bin := binary(t)
	sim := esltest.New(t, esltest.Options{TimeScale: 0.01})
	sim.Route("5551234", esltest.Scenario{Outcome: esltest.Success})
	spool := t.TempDir()
	for _, d := range []string{"sendq", "docq", "log", "tmp"} {
		os.Mkdir(filepath.Join(spool, d), 0o755)
	}
	doc, err := os.ReadFile("internal/job/testdata/sent-2page-g3.tif")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(spool, "docq/doc1.tif;00"), doc, 0o644)
	os.WriteFile(filepath.Join(spool, "sendq/q1"), []byte("jobid:1\nnumber:5551234\nexternal:5551234\nowner:root\nmailaddr:root@localhost\ntotdials:0\ntottries:0\nstatus:\nstatuscode:0\nreturned:7\nfax:0::docq/doc1.tif;00\n"), 0o644)
	conf := filepath.Join(spool, "gofax.conf")
	writeConfig(t, conf, spool, sim.Addr())

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", `exec 0<&- 1>&- 2>&- "$0" -m freeswitch0 sendq/q1`, bin)
	cmd.Dir = spool
	cmd.Env = []string{"GOFAX_CONFIG=" + conf, "PATH=/usr/bin:/bin"}
	err = cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != 2 {
		t.Errorf("exit %d (%v), want 2 (done)", code, err)
	}
	q := readQfile(t, filepath.Join(spool, "sendq/q1"))
	if q.String("returned") != "2" || q.String("npages") != "2" || q.String("totdials") != "1" {
		t.Errorf("qfile:\n%s", q.Bytes())
	}
	if len(q.Warnings()) != 0 {
		t.Errorf("stray lines in the qfile: %v", q.Warnings())
	}
	logText, _ := os.ReadFile(filepath.Join(spool, "log/gofaxsend.log"))
	if !strings.Contains(string(logText), `msg="attempt finished"`) {
		t.Errorf("log file:\n%s", logText)
	}
	// writeConfig leaves the file readable by every user: one warning.
	if n := strings.Count(string(logText), conf+": readable by every user (mode 0644)"); n != 1 {
		t.Errorf("%d warnings about the configuration file's mode, want 1:\n%s", n, logText)
	}
}

// TestExecAsFaxq runs the binary with the ids faxq gives its send program
// (real uid 0, effective uid uucp: setpriv makes the same state) and a
// DynamicConfig script that records the ids it runs with: every one must
// be uucp's, since /bin/sh would otherwise take the real uid 0 back.
func TestExecAsFaxq(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (the CI runs the tests as root)")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) not installed")
	}
	u, err := user.Lookup("uucp")
	if err != nil {
		t.Skipf("no uucp user: %v", err)
	}
	bin := binary(t)
	sim := esltest.New(t, esltest.Options{TimeScale: 0.01})
	sim.Route("5551234", esltest.Scenario{Outcome: esltest.Success})

	// A spool owned by uucp where uucp can reach it (not below t.TempDir).
	spool, err := os.MkdirTemp("", "gofaxsend-spool-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(spool) })
	doc, err := os.ReadFile("internal/job/testdata/sent-2page-g3.tif")
	if err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\necho \"$(id -u) $(id -ru) $(id -g) $(id -rg)\" > tmp/ids\necho 'LocalIdentifier: from script'\n"
	conf := filepath.Join(spool, "gofax.conf")
	files := map[string]string{
		"docq/doc1.tif;00": string(doc),
		"sendq/q1":         "jobid:1\nnumber:5551234\nexternal:5551234\nowner:alice\nmailaddr:alice@localhost\nstatus:\nstatuscode:0\nreturned:7\nfax:0::docq/doc1.tif;00\n",
		"etc/dc":           script,
	}
	for _, d := range []string{"sendq", "docq", "log", "tmp", "etc"} {
		os.Mkdir(filepath.Join(spool, d), 0o755)
	}
	os.Chmod(filepath.Join(spool, "tmp"), 0o1777)
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(spool, name), []byte(data), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeConfig(t, conf, spool, sim.Addr(), "dynamicconfig = etc/dc")
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	err = filepath.WalkDir(spool, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(p, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(spool, 0o755)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, setpriv, "--ruid=0", "--euid="+u.Uid, "--rgid=0", "--egid="+u.Gid, "--groups="+u.Gid,
		bin, "-m", "freeswitch0", "sendq/q1")
	cmd.Dir = spool
	cmd.Env = []string{"GOFAX_CONFIG=" + conf, "PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 2 {
		log, _ := os.ReadFile(filepath.Join(spool, "log/gofaxsend.log"))
		t.Fatalf("exit %d (%v), want 2 (done)\n%s\n%s", code, err, out, log)
	}
	ids, err := os.ReadFile(filepath.Join(spool, "tmp/ids"))
	if want := fmt.Sprintf("%d %d %d %d\n", uid, uid, gid, gid); string(ids) != want {
		t.Errorf("DynamicConfig ran as %q (uid ruid gid rgid), want %q (%v)", ids, want, err)
	}
	if calls := sim.Calls(); len(calls) != 1 || calls[0].Vars["fax_ident"] != "from script" {
		t.Errorf("calls %+v", calls)
	}
}
