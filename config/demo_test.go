package config_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax/hylafaxtest"
)

// demoTimeout bounds the demo: building three programs on a busy machine,
// then a few seconds of HylaFAX and a simulated call.
const demoTimeout = 10 * time.Minute

// TestDemo runs contrib/demo.sh, the README's first command, against the
// real HylaFAX with freshly built binaries, and checks that it sent and
// received the fax and stopped everything it started.
//
// It runs the demo as a root user's fresh checkout would: the binaries
// below a private (0700) directory, such as /root, which uucp (faxq's send
// program, gofaxd, the simulator) cannot enter; and, where a mount
// namespace can be made, with the system spool's etc/ empty, as it is on a
// machine whose HylaFAX service never ran (Debian fills it with a bind
// mount of /etc/hylafax only while the service runs).
func TestDemo(t *testing.T) {
	hylafaxtest.Require(t)
	if os.Geteuid() != 0 {
		t.Skip("the demo runs as root (faxq must be started by root)")
	}
	if testing.Short() {
		t.Skip("builds the programs and runs HylaFAX")
	}
	// Not t.TempDir(): its parents are private to root, and gofaxd, faxq
	// and the simulator run as uucp.
	dir, err := os.MkdirTemp("", "gofax-demotest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// t.TempDir() is below a directory of mode 0700, like a checkout in
	// /root.
	bin := filepath.Join(t.TempDir(), "bin")
	ctx, cancel := context.WithTimeout(context.Background(), demoTimeout)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin+"/", "../gofaxd", "../gofaxsend", "../contrib/fssim", "../contrib/hookrecv")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	id := make([]byte, 3)
	rand.Read(id)
	prefix := "fsdt" + hex.EncodeToString(id)
	work := filepath.Join(dir, "demo")
	cmd := exec.CommandContext(ctx, "bash", "../contrib/demo.sh")
	if emptyEtc := freshSpoolEtc(t); emptyEtc != "" {
		cmd = exec.CommandContext(ctx, "unshare", "--mount", "--propagation", "private", "sh", "-c",
			`mount --bind "$1" /var/spool/hylafax/etc && exec bash ../contrib/demo.sh`, "sh", emptyEtc)
	}
	cmd.Env = append(os.Environ(), "DEMO_DIR="+work, "DEMO_BIN="+bin, "DEMO_PREFIX="+prefix)
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo.sh: %v\n%s", err, out)
	}
	for _, want := range []string{
		"Modem " + prefix + "0", // faxstat lists gofaxd's modems
		"request id is ",        // sendfax queued the PDF
		"\tSEND\t", "\tRECV\t",  // xferfaxlog records
		"Pages: 2", // faxinfo of the received file
		"gofaxd_calls_total{result=\"received\"} 1", // metrics
		"gofaxd_pages_received_total 2",
		"gofaxd_faxes_sent_total{result=\"done\"} 1", // gofaxsend's job result
		"gofaxd_pages_sent_total 2",
		"(2 pages) and received recvq/fax",                         // the demo's own verdict
		"tenant B received the fax of tenant A's user: 1 received", // the tenant part
		"Subject: Fax received from +15550001001 (2 pages)",        // the e-mail receipt
		"pdfinfo receipt-1.pdf: 2 page(s)",                         // with the fax as PDF
		"pdfinfo receipt-2.pdf: 1 page(s)",                         // and the report
		"the fax went queued -> sending -> delivered",              // the REST API part
		"tenant B downloaded the received fax as PDF: 2 pages",
		"stopped gofaxd", "stopped faxq", "stopped postgres", // and everything stopped
		"stopped hookrecv", "stopped smtpd",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	// psql's table of the fax rows: the job of tenant A's user and the
	// reception on tenant B's number.
	for _, re := range []string{`(?m)^ outbound +\| Tenant A +\| delivered `, `(?m)^ inbound +\| Tenant B +\| received `,
		// hookrecv verified the signed webhooks of both tenants' events.
		`(?m)^hookrecv: fax\.received \S+ fax \S+ from \+15550001001 to \+15550002002, 2 pages: signature verified$`,
		`(?m)^hookrecv: fax\.delivered \S+ fax \S+ from \+15550001001 to \+15550002002, 2 pages: signature verified$`} {
		if !regexp.MustCompile(re).Match(out) {
			t.Errorf("demo output lacks a fax row matching %s", re)
		}
	}
	if ps, err := exec.Command("pgrep", "-f", work).Output(); err == nil && len(ps) > 0 {
		t.Errorf("processes of the demo still running: %s", ps)
	}
	if t.Failed() {
		t.Logf("demo output:\n%s", out)
	}
}

// freshSpoolEtc returns an empty directory to bind-mount over the system
// spool's etc/ in a mount namespace of the demo's own, or "" (logged) when
// this machine cannot make one (a container without CAP_SYS_ADMIN): the
// demo then sees the system spool as it is.
func freshSpoolEtc(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "gofax-demotest-etc-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	probe := exec.Command("unshare", "--mount", "--propagation", "private", "mount", "--bind", dir, "/var/spool/hylafax/etc")
	if out, err := probe.CombinedOutput(); err != nil {
		t.Logf("no mount namespace (%v: %s): the demo runs with the system spool's etc/ as it is", err, strings.TrimSpace(string(out)))
		return ""
	}
	return dir
}
