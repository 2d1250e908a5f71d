package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

// syncBuffer is a bytes.Buffer safe for the daemon's and the test's
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestVersion(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"-version"}, &out, &errOut); err != nil {
		t.Fatalf("run -version: %v", err)
	}
	if out.String() != "gofaxd dev\n" {
		t.Fatalf("output %q", out.String())
	}
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want error
	}{
		{[]string{"-bogus"}, errUsage},
		{[]string{"extra"}, errUsage},
		{[]string{"-h"}, flag.ErrHelp},
	} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), tc.args, &out, &errOut); !errors.Is(err, tc.want) {
			t.Errorf("run %q = %v, want %v", tc.args, err, tc.want)
		}
		if !strings.Contains(errOut.String(), "-c file") {
			t.Errorf("run %q: usage not printed: %q", tc.args, errOut.String())
		}
	}
}

func TestBadConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gofax.conf")
	os.WriteFile(path, []byte("[gofaxd]\npagetimeout = soon\n"), 0o644)
	err := run(context.Background(), []string{"-c", path}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), path+":2") || !strings.Contains(err.Error(), "pagetimeout") {
		t.Fatalf("err = %v, want one naming %s:2 and pagetimeout", err, path)
	}
	// The REST API without the tenant database: refused, naming both.
	os.WriteFile(path, []byte("[hylafax]\nspooldir = /nonexistent\n[web]\n"), 0o644)
	err = run(context.Background(), []string{"-c", path}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "[web]") || !strings.Contains(err.Error(), "[database]") {
		t.Fatalf("[web] without [database]: err = %v, want one naming both", err)
	}
	err = run(context.Background(), []string{"-c", filepath.Join(t.TempDir(), "missing.conf")}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "missing.conf") {
		t.Fatalf("missing file: err = %v", err)
	}
}

// TestRunAndStop starts gofaxd on a GOfax.IP configuration with a key it
// does not know: it warns, announces the modems to faxq, tells systemd it
// is ready and alive (sd_notify READY, WATCHDOG), and on SIGTERM (ctx
// cancelled) says STOPPING, takes the modems down and returns.
func TestRunAndStop(t *testing.T) {
	spool := t.TempDir()
	for _, d := range []string{"recvq", "log", "status", "etc"} {
		os.Mkdir(filepath.Join(spool, d), 0o755)
	}
	if err := hylafax.MakeFIFO(filepath.Join(spool, "FIFO"), 0o600); err != nil {
		t.Fatal(err)
	}
	faxq, err := hylafax.OpenFIFO(filepath.Join(spool, "FIFO"))
	if err != nil {
		t.Fatal(err)
	}
	defer faxq.Close()
	conf := filepath.Join(t.TempDir(), "gofax.conf")
	os.WriteFile(conf, []byte(`[freeswitch]
socket = 127.0.0.1:1
ident = 4711
[hylafax]
spooldir = `+spool+`
modems = 2
xferfaxlog = log/xferfaxlog
[gofaxd]
socket = 127.0.0.1:0
enablet38 = true
acceptt38 = true
`), 0o644)
	// Readable by every user: gofaxd warns (it holds the event socket password).
	if err := os.Chmod(conf, 0o644); err != nil {
		t.Fatal(err)
	}
	// systemd's notification socket, with a watchdog of 200 ms.
	notifyPath := filepath.Join(t.TempDir(), "notify")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notifyPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close()
	t.Setenv("NOTIFY_SOCKET", notifyPath)
	t.Setenv("WATCHDOG_USEC", "200000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	notes := make(chan string, 100)
	go func() {
		buf := make([]byte, 512)
		for {
			n, err := notify.Read(buf)
			if err != nil {
				return
			}
			notes <- string(buf[:n])
		}
	}()
	waitNote := func(want string) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case n := <-notes:
				if n == want {
					return
				}
			case <-timeout:
				t.Fatalf("no %q from sd_notify", want)
			}
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-c", conf}, &bytes.Buffer{}, &stderr) }()

	var got []string
	rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer rcancel()
	for len(got) < 4 {
		rec, err := faxq.Read(rctx)
		if err != nil {
			t.Fatalf("reading faxq FIFO: %v (got %q)\n%s", err, got, stderr.String())
		}
		got = append(got, string(rec))
	}
	if got[0] != "+freeswitch0:N4711" || !strings.HasPrefix(got[1], "+freeswitch0:R") {
		t.Errorf("announcements %q", got)
	}
	waitNote("READY=1")
	waitNote("WATCHDOG=1")
	cancel()
	waitNote("STOPPING=1")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after SIGTERM")
	}
	// The log is written from a goroutine of its own; run flushed it.
	if !strings.Contains(stderr.String(), "acceptt38") || !strings.Contains(stderr.String(), "unknown key") {
		t.Errorf("no warning about the unknown key:\n%s", stderr.String())
	}
	if n := strings.Count(stderr.String(), conf+": readable by every user (mode 0644)"); n != 1 {
		t.Errorf("%d warnings about the file's mode, want 1:\n%s", n, stderr.String())
	}
	var downs []string
	for len(downs) < 2 {
		rec, err := faxq.Read(rctx)
		if err != nil {
			t.Fatalf("reading faxq FIFO: %v", err)
		}
		if strings.HasSuffix(string(rec), ":D") {
			downs = append(downs, string(rec))
		}
	}
	if st, _ := hylafax.ReadStatus(spool, "freeswitch1"); st != "Down" {
		t.Errorf("status after stop %q, want Down", st)
	}
}

// TestWatchdogFollowsOwnLoops: the watchdog is fed while gofaxd's own
// loops answer, and not while one is stuck or ended (systemd then
// restarts gofaxd); it is fed again when they answer again.
func TestWatchdogFollowsOwnLoops(t *testing.T) {
	notifyPath := filepath.Join(t.TempDir(), "notify")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notifyPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close()
	t.Setenv("NOTIFY_SOCKET", notifyPath)
	t.Setenv("WATCHDOG_USEC", "40000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	var stuck atomic.Bool
	alive := func(ctx context.Context) error {
		if stuck.Load() {
			<-ctx.Done() // a loop that does not answer
			return ctx.Err()
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchdog(ctx, alive, slog.New(slog.DiscardHandler))
	}()
	defer func() { cancel(); <-done }()
	// notes counts WATCHDOG=1 notes within d.
	notes := func(d time.Duration) int {
		n := 0
		buf := make([]byte, 64)
		for end := time.Now().Add(d); time.Now().Before(end); {
			notify.SetReadDeadline(end)
			k, err := notify.Read(buf)
			if err != nil {
				break
			}
			if string(buf[:k]) == "WATCHDOG=1" {
				n++
			}
		}
		return n
	}
	if n := notes(time.Second); n == 0 {
		t.Fatal("watchdog not fed while the loops answer")
	}
	stuck.Store(true)
	notes(100 * time.Millisecond) // one may have been on its way
	if n := notes(500 * time.Millisecond); n != 0 {
		t.Errorf("watchdog fed %d times while a loop is stuck", n)
	}
	stuck.Store(false)
	if n := notes(2 * time.Second); n == 0 {
		t.Error("watchdog not fed again once the loops answer")
	}
}
