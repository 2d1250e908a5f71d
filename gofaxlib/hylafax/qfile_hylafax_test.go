package hylafax_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax/hylafaxtest"
)

var captureQfiles = flag.Bool("capture-real-qfiles", false,
	"rebuild testdata/real-qfiles from a real hfaxd/faxq (needs GOFAX_TEST_HYLAFAX=1)")

const realQfiles = "testdata/real-qfiles"

// TestRealQfilesRoundTrip checks the qfiles real hfaxd/faxq wrote: they
// parse without warnings, come out byte for byte as read, and a Qfile built
// anew from their fields and items with Set/SetItems writes the same bytes.
func TestRealQfilesRoundTrip(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(realQfiles, "*.q"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("only %d qfiles in %s", len(files), realQfiles)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			q, err := hylafax.ParseQfile(f, data)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range q.Warnings() {
				t.Errorf("warning: %v", w)
			}
			if got := q.Bytes(); !bytes.Equal(got, data) {
				t.Errorf("parse → write changed the file:\n%s", got)
			}
			// Rebuild from scratch through the setters.
			n, err := hylafax.ParseQfile("rebuilt", nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, fld := range q.Fields() {
				if !hylafax.IsItemOp(fld.Tag) {
					n.Set(fld.Tag, fld.Value)
				}
			}
			if err := n.SetItems(q.Items()); err != nil {
				t.Fatal(err)
			}
			if got := n.Bytes(); !bytes.Equal(got, data) {
				t.Errorf("rebuilt with Set/SetItems:\n%s\nwant:\n%s", got, data)
			}
			// The fields faxq rejects a job without are all there.
			for _, tag := range []string{"number", "mailaddr", "sender", "jobid", "modem", "client", "owner", "state"} {
				if q.String(tag) == "" {
					t.Errorf("%s: empty", tag)
				}
			}
		})
	}
}

// TestRealQfilesContent pins down facts of the captured files that the send
// program and the parser rely on.
func TestRealQfilesContent(t *testing.T) {
	read := func(name string) *hylafax.Qfile {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(realQfiles, name))
		if err != nil {
			t.Fatal(err)
		}
		q, err := hylafax.ParseQfile(name, data)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	tests := []struct {
		file  string
		tag   string
		want  string
		digit bool
	}{
		{"tiff-send.q", "state", "6", true},
		{"tiff-send.q", "returned", "7", false},
		{"tiff-doneq.q", "state", "7", true},
		{"failed-doneq.q", "state", "8", true},
		{"failed-doneq.q", "returned", "1", false},
		{"requeued-sendq.q", "state", "3", true},
		{"requeued-sendq.q", "returned", "0", false},
		{"pending-sendq.q", "state", "2", true},
		{"tries-dials-send.q", "maxtries", "5", false},
		{"tries-dials-send.q", "maxdials", "7", false},
		{"jobtag-send.q", "jobtag", "tag with  spaces", false},
		{"cover-send.q", "receiver", "Jane Receiver", false},
		{"cover-send.q", "regarding", "Regarding line", false},
	}
	for _, tt := range tests {
		q := read(tt.file)
		got := q.String(tt.tag)
		if tt.digit {
			n, ok := q.Digit(tt.tag)
			got = fmt.Sprint(n)
			if !ok {
				got = "not a digit: " + q.String(tt.tag)
			}
		}
		if got != tt.want {
			t.Errorf("%s %s = %q, want %q", tt.file, tt.tag, got, tt.want)
		}
	}
	// The status faxq wrote back keeps the continuation line.
	if st := read("requeued-sendq.q").String("status"); st != "Busy signal detected\\\nsecond status line" {
		t.Errorf("requeued status %q", st)
	}
	// Documents: prepared fax: items in the qfile handed to the send program.
	for _, f := range []string{"tiff-send.q", "pdf-send.q", "postscript-send.q", "cover-send.q"} {
		if items := read(f).FaxItems(); len(items) == 0 || !strings.HasPrefix(items[len(items)-1].Path, "docq/doc") {
			t.Errorf("%s: fax items %v", f, items)
		}
	}
	// The cover page is prepared as a document of its own, sent first.
	if c := read("cover-send.q"); c.Int("coverpages") != 1 || !strings.HasPrefix(c.FaxItems()[0].Path, "docq/cover") {
		t.Errorf("cover-send.q: coverpages %d, items %v", c.Int("coverpages"), c.FaxItems())
	}
	if k := read("killtime-send.q"); k.Int("killtime")-k.Int("tts") > 2*3600+60 {
		t.Errorf("killtime-send.q: killtime %d tts %d: -k 'now + 2 hours' not applied", k.Int("killtime"), k.Int("tts"))
	}
}

// TestCaptureRealQfiles rebuilds testdata/real-qfiles (see its README) when
// run with -capture-real-qfiles.
func TestCaptureRealQfiles(t *testing.T) {
	if !*captureQfiles {
		t.Skip("run with -capture-real-qfiles to rebuild " + realQfiles)
	}
	hylafaxtest.Require(t)
	tmp := t.TempDir()
	pdf, ps := filepath.Join(tmp, "doc.pdf"), filepath.Join(tmp, "doc.ps")
	for _, dev := range []struct{ name, out string }{{"pdfwrite", pdf}, {"ps2write", ps}} {
		cmd := exec.Command("gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE="+dev.name,
			"-sPAPERSIZE=a4", "-sOutputFile="+dev.out,
			"-c", "/Helvetica findfont 24 scalefont setfont 72 700 moveto (gofaxserver) show showpage")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("gs %s: %v: %s", dev.name, err, out)
		}
	}

	srv := hylafaxtest.Start(t, hylafaxtest.Options{})
	capDir := filepath.Join(srv.Dir, "captured")
	if err := os.Mkdir(capDir, 0o1777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(capDir, 0o1777)
	// Send program: copies each qfile as faxq hands it over, then by the
	// number's last digit: 8 = requeue an hour later with a two-line
	// status, 9 = failed, otherwise done (returned:2 in every qfile).
	script := fmt.Sprintf(`#!/bin/bash -p
for q in "$@"; do
	case "$q" in sendq/q*) ;; *) continue;; esac
	cp "$q" %[1]s/captured/"${q#sendq/}"
	case "$(sed -n 's/^number://p' "$q")" in
	*8) ret=0 tts=$(( $(date +%%s) + 3600 )) st='Busy signal detected\
second status line';;
	*9) ret=1 tts= st='No answer from remote';;
	*)  ret=2 tts= st=;;
	esac
	RET=$ret TTS=$tts ST=$st flock "$q" %[1]s/edit-qfile "$q"
done
exit 2
`, srv.Dir)
	// Rewrites the qfile in place (same inode), as faxsend does.
	edit := `#!/bin/bash -p
t=$(awk '/^returned:/ { print "returned:" ENVIRON["RET"]; next }
	/^status:/ { print "status:" ENVIRON["ST"]; next }
	/^tts:/ && ENVIRON["TTS"] != "" { print "tts:" ENVIRON["TTS"]; next }
	{ print }' "$1") && printf '%s\n' "$t" > "$1"
`
	if err := os.WriteFile(filepath.Join(srv.Dir, "edit-qfile"), []byte(edit), 0o755); err != nil {
		t.Fatal(err)
	}
	send := filepath.Join(srv.Dir, "capture-send")
	if err := os.WriteFile(send, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetConfig("SendFaxCmd: " + send); err != nil {
		t.Fatal(err)
	}
	modem := srv.ModemName("ttyQ")
	srv.AddModem(modem, hylafaxtest.ModemOptions{Caps: hylafaxtest.DefaultCaps})
	if err := srv.Announce(modem); err != nil {
		t.Fatal(err)
	}

	type capture struct {
		name  string
		args  []string // sendfax arguments after -h; -n is added unless cover
		cover bool
		want  int // state to wait for
	}
	doc := srv.Document()
	cases := []capture{
		{name: "tiff", args: []string{"-d", "5550101", doc}, want: hylafaxtest.StateDone},
		{name: "pdf", args: []string{"-d", "5550102", pdf}, want: hylafaxtest.StateDone},
		{name: "postscript", args: []string{"-d", "5550103", ps}, want: hylafaxtest.StateDone},
		{name: "cover", cover: true, args: []string{"-x", "Receiver Company", "-r", "Regarding line", "-c", "Comment text",
			"-d", "Jane Receiver@5550104", doc}, want: hylafaxtest.StateDone},
		{name: "tries-dials", args: []string{"-t", "5", "-T", "7", "-d", "5550105", doc}, want: hylafaxtest.StateDone},
		{name: "jobtag", args: []string{"-i", "tag with  spaces", "-d", "5550106", doc}, want: hylafaxtest.StateDone},
		{name: "killtime", args: []string{"-k", "now + 2 hours", "-d", "5550107", doc}, want: hylafaxtest.StateDone},
		{name: "options", args: []string{"-m", "-s", "letter", "-P", "200", "-D", "-R", "-f", "Sender Name <s@example.com>",
			"-S", "+1 555 0100", "-o", "owner1", "-d", "5550110", doc, doc}, want: hylafaxtest.StateDone},
		{name: "batched", args: []string{"-d", "5550111", "-d", "5550111", doc}, want: hylafaxtest.StateDone},
		{name: "failed", args: []string{"-d", "5550109", doc}, want: hylafaxtest.StateFailed},
		{name: "requeued", args: []string{"-d", "5550108", doc}, want: hylafaxtest.StateSleeping},
		{name: "pending", args: []string{"-a", "now + 1 hour", "-d", "5550112", doc}, want: hylafaxtest.StatePending},
	}
	if err := os.RemoveAll(realQfiles); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(realQfiles, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	save := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(realQfiles, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var readme strings.Builder
	for _, c := range cases {
		var ids []string
		if c.cover {
			ids = srv.Sendfax(t, c.args...) // without -n: with a cover page
		} else {
			ids = srv.Submit(t, c.args...)
		}
		cmd := "sendfax -h <host> -n"
		if c.cover {
			cmd = "sendfax -h <host>"
		}
		fmt.Fprintf(&readme, "%-22s %s %s\n", c.name+"*", cmd, strings.Join(quoteArgs(c.args, doc, pdf, ps), " "))
		for i, id := range ids {
			job, err := srv.WaitState(ctx, id, c.want)
			if err != nil {
				t.Fatal(err)
			}
			name := c.name
			if len(ids) > 1 {
				name = fmt.Sprintf("%s%d", c.name, i+1)
			}
			save(name+"-"+filepath.Dir(job.Path)+".q", job.Raw)
			if sent, err := os.ReadFile(filepath.Join(capDir, "q"+id)); err == nil {
				save(name+"-send.q", sent)
			}
		}
	}
	header := `qfiles written by a real HylaFAX 6.0.7 (Debian 12: hylafax-server/-client 3:6.0.7-5),
captured by TestCaptureRealQfiles (go test -run TestCaptureRealQfiles -capture-real-qfiles,
as root with GOFAX_TEST_HYLAFAX=1): a private faxq/hfaxd from package hylafaxtest, one modem
announced with caps Pc87fcf01, documents: a one-page A4 fine G3 TIFF (hylafaxtest's page.tif),
a PDF and a PostScript page made by Ghostscript.

<case>-send.q   the qfile exactly as faxq handed it to SendFaxCmd (state 6, returned:7,
                fax: items prepared by faxq), copied by the send program before it wrote anything
<case>-doneq.q  the qfile as faxq left it in doneq/ (state 7 done / 8 failed)
<case>-sendq.q  the qfile as faxq left it in sendq/ (requeued: state 3; pending: state 2)

The send program wrote returned:2 (done), returned:1 + status (failed, number ending in 9) or
returned:0 + tts:now+1h + a two-line status "Busy signal detected\<newline>second status
line" (requeued, number ending in 8) into each qfile, rewriting it in place under flock.
"batched" is one sendfax with the same number twice: faxq handed both qfiles to one exec.

case                   command
`
	save("README", []byte(header+readme.String()))
}

// quoteArgs renders args for the README, naming the documents by kind.
func quoteArgs(args []string, tiff, pdf, ps string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		switch a {
		case tiff:
			a = "page.tif"
		case pdf:
			a = "doc.pdf"
		case ps:
			a = "doc.ps"
		}
		if strings.ContainsAny(a, " <>+") {
			a = "'" + a + "'"
		}
		out[i] = a
	}
	return out
}
