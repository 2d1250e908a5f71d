package logging

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "send.log")
	log, closeLog, err := Open("gofaxsend", path, slog.LevelInfo, nil)
	if err != nil {
		t.Fatal(err)
	}
	log.With("job_id", "7").Info("dialing", "number", "5551234")
	log.Debug("hidden")
	if err := closeLog(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	if !strings.Contains(got, `msg=dialing job_id=7 number=5551234`) || strings.Contains(got, "hidden") {
		t.Errorf("log file = %q", got)
	}
}

type recordSink struct{ lines []string }

func (r *recordSink) send(l slog.Level, line string, attrs map[string]string) error {
	r.lines = append(r.lines, l.String()+"|"+line+"|"+attrs["JOB_ID"])
	return nil
}

func TestSinkHandler(t *testing.T) {
	rs := &recordSink{}
	log := slog.New(&sinkHandler{opts: &slog.HandlerOptions{Level: slog.LevelInfo}, sink: rs})
	log.With("job_id", 12).Warn("busy", "cause", "USER_BUSY")
	want := `WARN|msg=busy job_id=12 cause=USER_BUSY|12`
	if len(rs.lines) != 1 || rs.lines[0] != want {
		t.Errorf("lines = %q, want %q", rs.lines, want)
	}
}

func TestGuardStdioKeepsOpenDescriptors(t *testing.T) {
	// Closed descriptors are exercised end to end by the gofaxsend
	// command's test, which execs the binary with 0-2 closed.
	if err := GuardStdio(); err != nil {
		t.Fatal(err)
	}
}
