package hylafax

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func newSpool(t *testing.T, dirs ...string) string {
	t.Helper()
	spool := t.TempDir()
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(spool, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return spool
}

// TestSessionLogGolden: the lines in HylaFAX's format, written at once
// or (deferred) kept in memory and written in one go, the same bytes.
func TestSessionLogGolden(t *testing.T) {
	for _, every := range []time.Duration{0, time.Hour} {
		t.Run(fmt.Sprint("flush interval ", every), func(t *testing.T) {
			testSessionLogGolden(t, every)
		})
	}
}

func testSessionLogGolden(t *testing.T, every time.Duration) {
	spool := newSpool(t, "log")
	os.WriteFile(filepath.Join(spool, LogSeqFile), []byte("42"), 0o600)
	clock := time.Date(2026, 3, 5, 9, 7, 3, 420_000_000, time.Local)
	s, err := NewSession(context.Background(), spool, "+49 (30) 123-4567", SessionOptions{
		PID:           1234,
		Now:           func() time.Time { clock = clock.Add(10 * time.Millisecond); return clock },
		FlushInterval: every,
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.CommID() != "000000042" || s.Path() != filepath.Join(spool, "log/c000000042") {
		t.Fatalf("commid %q path %q", s.CommID(), s.Path())
	}
	s.Printf("gofaxserver %s", "1.0")
	s.Printf("Remote ID: %q", "ACME")
	s.Printf("two\r\nlines")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s.Printf("after close is dropped")
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	data, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "sessionlog.golden", data)
	st, _ := os.Stat(s.Path())
	if st.Mode().Perm() != DefaultLogFileMode {
		t.Errorf("mode %v, want %v", st.Mode().Perm(), DefaultLogFileMode)
	}
}

// TestSessionLogDeferred: with a FlushInterval the session holds no
// descriptor; its lines reach the file when the interval has passed, at
// Flush and at Close; the commid comes from the given source.
func TestSessionLogDeferred(t *testing.T) {
	spool := newSpool(t, "log")
	clock := time.Date(2026, 3, 5, 9, 7, 3, 0, time.Local)
	fds := openFDs(t)
	s, err := NewSession(context.Background(), spool, "5551234", SessionOptions{
		Now:           func() time.Time { return clock },
		FlushInterval: time.Second,
		CommID:        func(context.Context) (int, error) { return 77, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.CommID() != "000000077" {
		t.Errorf("commid %q, want 000000077", s.CommID())
	}
	if n := openFDs(t); n != fds {
		t.Errorf("%d descriptors open with the session, %d before", n, fds)
	}
	lines := func() int {
		b, _ := os.ReadFile(s.Path())
		return strings.Count(string(b), "\n")
	}
	if n := lines(); n != 1 {
		t.Errorf("%d lines after NewSession, want SESSION BEGIN", n)
	}
	s.Printf("kept")
	if n := lines(); n != 1 {
		t.Errorf("%d lines, want the new one kept in memory", n)
	}
	clock = clock.Add(time.Second)
	s.Printf("written with the one before")
	if n := lines(); n != 3 {
		t.Errorf("%d lines after the interval, want 3", n)
	}
	s.Printf("flushed")
	if err := s.Flush(); err != nil || lines() != 4 {
		t.Errorf("Flush: %v, %d lines", err, lines())
	}
	s.Printf("last")
	if err := s.Close(); err != nil || lines() != 6 {
		t.Errorf("Close: %v, %d lines", err, lines())
	}
	if n := openFDs(t); n != fds {
		t.Errorf("%d descriptors open after Close, %d before", n, fds)
	}
}

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

func TestSessionLogSkipsExisting(t *testing.T) {
	spool := newSpool(t, "log")
	os.WriteFile(filepath.Join(spool, LogSeqFile), []byte("5"), 0o600)
	os.WriteFile(filepath.Join(spool, "log/c000000005"), []byte("old session\n"), 0o600)
	s, err := NewSession(context.Background(), spool, "", SessionOptions{Mode: 0o644})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.CommID() != "000000006" {
		t.Errorf("commid %q, want 000000006", s.CommID())
	}
	if old, _ := os.ReadFile(filepath.Join(spool, "log/c000000005")); string(old) != "old session\n" {
		t.Error("existing session log was touched")
	}
	if st, _ := os.Stat(s.Path()); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
}

func TestSessionLogNoLogDir(t *testing.T) {
	if _, err := NewSession(context.Background(), t.TempDir(), "1", SessionOptions{}); err == nil {
		t.Fatal("no error without log/")
	}
}

var sessionLine = regexp.MustCompile(`^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d\.\d\d: \[ *\d+\]: `)

func TestSessionLogConcurrent(t *testing.T) {
	spool := newSpool(t, "log")
	s, err := NewSession(context.Background(), spool, "123", SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				s.Printf("worker %d line %d", w, i)
			}
		})
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(s.Path())
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != workers*each+2 {
		t.Fatalf("%d lines, want %d", len(lines), workers*each+2)
	}
	for _, l := range lines {
		if !sessionLine.MatchString(l) {
			t.Fatalf("line not in HylaFAX format: %q", l)
		}
	}
	if !strings.HasSuffix(lines[0], "SESSION BEGIN 000000001 123") || !strings.HasSuffix(lines[len(lines)-1], "SESSION END") {
		t.Errorf("first %q last %q", lines[0], lines[len(lines)-1])
	}
}

// TestSessionDetachAndReopen: a session detached without SESSION END is
// continued by ReopenSession, which ends it once; the lines follow in
// order.
func TestSessionDetachAndReopen(t *testing.T) {
	spool := newSpool(t, "log")
	s, err := NewSession(context.Background(), spool, "123", SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Printf("first run")
	if err := s.Detach(); err != nil {
		t.Fatal(err)
	}
	s.Printf("dropped after Detach")
	r, err := ReopenSession(spool, s.CommID(), SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r.Printf("second run")
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(s.Path())
	text := string(b)
	if !regexp.MustCompile(`(?s)SESSION BEGIN.*first run.*second run.*SESSION END\n$`).MatchString(text) ||
		strings.Count(text, "SESSION END") != 1 || strings.Contains(text, "dropped") {
		t.Errorf("session log:\n%s", text)
	}
	for _, bad := range []string{"", "12345678", "../../etc/x", "00000000a"} {
		if _, err := ReopenSession(spool, bad, SessionOptions{}); err == nil {
			t.Errorf("ReopenSession(%q) accepted", bad)
		}
	}
}
