package notify

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/journal"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/record"
)

func TestParseArgs(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		config string
		pass   []string
		err    bool
	}{
		{"done", []string{"doneq/q5", "done", "0:00:31"}, nil, "/etc/gofax.conf", []string{"doneq/q5", "done", "0:00:31"}, false},
		{"requeued, empty jobtime", []string{"sendq/q5", "requeued", "", "06:17"}, nil, "/etc/gofax.conf", []string{"sendq/q5", "requeued", "", "06:17"}, false},
		{"GOFAX_CONFIG", []string{"doneq/q5", "killed", "0:01:00"}, map[string]string{"GOFAX_CONFIG": "/x.conf"}, "/x.conf", []string{"doneq/q5", "killed", "0:01:00"}, false},
		{"-c beats GOFAX_CONFIG", []string{"-c", "/y.conf", "doneq/q5", "failed", "0:01:00"}, map[string]string{"GOFAX_CONFIG": "/x.conf"}, "/y.conf", []string{"doneq/q5", "failed", "0:01:00"}, false},
		{"too few", []string{"doneq/q5", "done"}, nil, "/etc/gofax.conf", []string{"doneq/q5", "done"}, true},
		{"too many", []string{"a", "b", "c", "d", "e"}, nil, "/etc/gofax.conf", []string{"a", "b", "c", "d", "e"}, true},
		{"empty reason", []string{"doneq/q5", "", "0:00:01"}, nil, "/etc/gofax.conf", []string{"doneq/q5", "", "0:00:01"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseArgs(tt.args, env(tt.env))
			if (err != nil) != tt.err || err != nil && !errors.Is(err, ErrUsage) {
				t.Errorf("err %v", err)
			}
			if a.ConfigFile != tt.config || !slices.Equal(a.Pass, tt.pass) {
				t.Errorf("got %+v", a)
			}
		})
	}
}

// spool is a spool with a configuration for Run.
type spool struct {
	t    *testing.T
	dir  string
	conf string
}

func newSpool(t *testing.T, database bool) *spool {
	s := &spool{t: t, dir: t.TempDir()}
	for _, d := range []string{"doneq", "sendq", "bin"} {
		if err := os.Mkdir(filepath.Join(s.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := fmt.Sprintf("[freeswitch]\nsocket = 127.0.0.1:1\ngateway = gw1\ncountrycode = 49\n[hylafax]\nspooldir = %s\n", s.dir)
	if database {
		conf += "[database]\nhostname = host-b\n"
	}
	s.conf = filepath.Join(s.dir, "gofax.conf")
	if err := os.WriteFile(s.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// qfile writes a qfile as faxq leaves it for notify.
func (s *spool) qfile(name string, fields ...string) {
	s.t.Helper()
	lines := append([]string{"jobid:5", "owner:alice", "external:030 1234567", "number:0301234567", "totpages:3", "npages:2",
		"totdials:4", "tottries:2", "tts:1795327911", "jobtag:", "status:Busy signal detected", "state:3"}, fields...)
	if err := os.WriteFile(filepath.Join(s.dir, name), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

func (s *spool) run(args ...string) (string, []string) {
	s.t.Helper()
	now := func() time.Time { return time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC) }
	return Run(context.Background(), append([]string{"-c", s.conf}, args...), Env{Getenv: func(string) string { return "" }, Now: now,
		Log: slog.New(slog.NewTextHandler(testWriter{s.t}, nil))})
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Logf("%s", p); return len(p), nil }

// notices decodes the send.notice records of the spool journal.
func (s *spool) notices() []gofaxlib.JobNotice {
	s.t.Helper()
	segs, _ := filepath.Glob(filepath.Join(s.dir, record.JournalDir, "*.jnl"))
	slices.Sort(segs)
	var out []gofaxlib.JobNotice
	for _, seg := range segs {
		f, err := os.Open(seg)
		if err != nil {
			s.t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			rec, err := journal.Decode(sc.Bytes())
			if err != nil || rec.Kind != gofaxlib.RecordJobNotice {
				s.t.Errorf("record %v %q", err, rec.Kind)
				continue
			}
			var n gofaxlib.JobNotice
			if err := rec.Decode(&n); err != nil {
				s.t.Fatal(err)
			}
			out = append(out, n)
		}
		f.Close()
	}
	return out
}

func TestRunRecords(t *testing.T) {
	s := newSpool(t, true)
	rt := gofaxlib.NewRouting(time.Now(), []gofaxlib.Tenant{{ID: "t-1", Name: "ACME"}}, nil,
		[]gofaxlib.User{{ID: "u-1", TenantID: "t-1", Username: "alice"}}, nil)
	b, _ := json.Marshal(rt)
	os.MkdirAll(filepath.Join(s.dir, "gofax"), 0o700)
	if err := os.WriteFile(filepath.Join(s.dir, record.RoutingFile), b, 0o640); err != nil {
		t.Fatal(err)
	}
	s.qfile("sendq/q5")
	prog, argv := s.run("sendq/q5", "requeued", "", "06:17")
	if want := filepath.Join(s.dir, "bin/notify"); prog != want || !slices.Equal(argv, []string{want, "sendq/q5", "requeued", "", "06:17"}) {
		t.Errorf("exec %q %q", prog, argv)
	}
	s.qfile("doneq/q5", "jobtag:0F8FAD5B-D9CB-469F-A165-70867728950E", "status:", "npages:3")
	s.run("doneq/q5", "done", "0:01:02")

	spoolID, err := gofaxlib.SpoolID(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	ref := gofaxlib.JobRef{FaxID: gofaxlib.JobFaxID(spoolID, 5), Host: "host-b", JobID: 5, Owner: "alice", TenantID: "t-1", To: "+49301234567", PagesTotal: 3}
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	api := ref
	api.FaxID = "0f8fad5b-d9cb-469f-a165-70867728950e"
	want := []gofaxlib.JobNotice{
		{Job: ref, Why: "requeued", Time: at, Status: "Busy signal detected", PagesTransferred: 2, Dials: 4, Tries: 2, NextTry: time.Unix(1795327911, 0).UTC()},
		{Job: api, Why: "done", Time: at, PagesTransferred: 3, Dials: 4, Tries: 2},
	}
	got := s.notices()
	if len(got) != len(want) {
		t.Fatalf("%d notices, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("notice %d:\n%+v\nwant\n%+v", i, got[i], want[i])
		}
	}
}

// TestRunPassesOn: whatever cannot be recorded, the notify program runs
// with faxq's arguments; without [database] nothing is recorded.
func TestRunPassesOn(t *testing.T) {
	s := newSpool(t, false)
	s.qfile("doneq/q5")
	prog, argv := s.run("doneq/q5", "done", "0:00:01")
	if want := filepath.Join(s.dir, "bin/notify"); prog != want || !slices.Equal(argv, []string{want, "doneq/q5", "done", "0:00:01"}) {
		t.Errorf("without database: exec %q %q", prog, argv)
	}
	if _, err := os.Stat(filepath.Join(s.dir, "gofax")); !os.IsNotExist(err) {
		t.Errorf("without database something was written: %v", err)
	}

	s = newSpool(t, true)
	prog, argv = s.run("doneq/q9", "done", "0:00:01") // no such qfile
	if want := filepath.Join(s.dir, "bin/notify"); prog != want || !slices.Equal(argv, []string{want, "doneq/q9", "done", "0:00:01"}) {
		t.Errorf("missing qfile: exec %q %q", prog, argv)
	}
	prog, argv = s.run("doneq/q9", "done")
	if !slices.Equal(argv[1:], []string{"doneq/q9", "done"}) {
		t.Errorf("bad usage: exec %q %q", prog, argv)
	}
	if n := s.notices(); len(n) != 0 {
		t.Errorf("notices %+v", n)
	}

	prog, argv = Run(context.Background(), []string{"-c", "/nonexistent.conf", "doneq/q1", "failed", "0:00:01"},
		Env{Getenv: func(string) string { return "" }})
	if prog != DefaultProgram || !slices.Equal(argv, []string{DefaultProgram, "doneq/q1", "failed", "0:00:01"}) {
		t.Errorf("no configuration: exec %q %q", prog, argv)
	}
}

// FuzzParseArgs: faxq's arguments are handed on unchanged, whatever they
// are; only a leading "-c file" is taken away.
func FuzzParseArgs(f *testing.F) {
	f.Add("doneq/q5\x00done\x000:00:31")
	f.Add("sendq/q5\x00requeued\x00\x0006:17")
	f.Add("-c\x00/etc/gofax.conf\x00doneq/q5\x00killed\x000:01:00")
	f.Add("-c")
	f.Add("")
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		a, err := ParseArgs(args, func(string) string { return "" })
		want := args
		if len(args) >= 2 && args[0] == "-c" {
			want = args[2:]
		}
		if !slices.Equal(a.Pass, want) || a.ConfigFile == "" {
			t.Fatalf("ParseArgs(%q) = %+v", args, a)
		}
		if err == nil && (len(a.Pass) < 3 || a.Qfile() == "" || a.Why() == "") {
			t.Fatalf("ParseArgs(%q) accepted %+v", args, a)
		}
	})
}
