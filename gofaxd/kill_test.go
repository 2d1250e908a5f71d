package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

// childConfEnv names the configuration of a gofaxd started as a child
// process by TestKilledMidReception.
const childConfEnv = "GOFAXD_TEST_CHILD_CONF"

// TestChildGofaxd is gofaxd run as a child process: the test binary
// started again with childConfEnv, and the listener passed as systemd
// does (LISTEN_FDS).
func TestChildGofaxd(t *testing.T) {
	conf := os.Getenv(childConfEnv)
	if conf == "" {
		t.Skip("gofaxd child process of TestKilledMidReception")
	}
	os.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
	if err := run(context.Background(), []string{"-c", conf}, os.Stdout, os.Stderr); err != nil {
		t.Fatal(err)
	}
}

// killSpool is a spool with a faxq stand-in reading its FIFO.
type killSpool struct {
	dir  string
	mu   sync.Mutex
	recs []string
}

func newKillSpool(t *testing.T) *killSpool {
	t.Helper()
	s := &killSpool{dir: t.TempDir()}
	for _, d := range []string{"recvq", "log", "status", "etc", "bin"} {
		if err := os.Mkdir(filepath.Join(s.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := hylafax.MakeFIFO(filepath.Join(s.dir, "FIFO"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := hylafax.OpenFIFO(filepath.Join(s.dir, "FIFO"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			rec, err := r.Read(context.Background())
			if err != nil {
				return
			}
			s.mu.Lock()
			s.recs = append(s.recs, string(rec))
			s.mu.Unlock()
		}
	})
	t.Cleanup(func() { r.Close(); wg.Wait() })
	return s
}

// waitRecord waits for faxq to get a record starting with prefix.
func (s *killSpool) waitRecord(t *testing.T, prefix string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		s.mu.Lock()
		for _, r := range s.recs {
			if strings.HasPrefix(r, prefix) {
				s.mu.Unlock()
				return
			}
		}
		s.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("faxq got no %q", prefix)
		}
	}
}

// faxrcvdRuns counts faxrcvd runs: one line each in <outs>/runs.
const faxrcvdRuns = `#!/bin/sh
printf '%%s|%%s|%%s|%%s\n' "$1" "$2" "$3" "$4" >> %q
`

// TestKilledMidReception: gofaxd is killed with SIGKILL while a fax is
// being received. FreeSWITCH goes on with the call after the socket died
// and writes the whole fax; nothing records it. Started again, gofaxd
// finds the reception in its journal, asks FreeSWITCH whether the call
// still exists, waits for its end if it does, and records it: the file
// tagged, one RECV record, the session log noted and ended, faxrcvd run
// once. When it was restarted while the call went on, it followed the
// call to its end and knows the fax's result.
func TestKilledMidReception(t *testing.T) {
	for _, tc := range []struct {
		name       string
		callIsOver bool // restart only after the call ended
	}{
		{"restarted after the call ended", true},
		{"restarted while the call goes on", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spool := newKillSpool(t)
			outs := t.TempDir()
			runs := filepath.Join(outs, "runs")
			script := filepath.Join(outs, "faxrcvd")
			if err := os.WriteFile(script, fmt.Appendf(nil, faxrcvdRuns, runs), 0o755); err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			// At this scale the 2 pages take about 10 s: the kill after
			// the first leaves the call seconds to go on.
			sim := esltest.New(t, esltest.Options{SocketAddr: ln.Addr().String(), TimeScale: 0.3})
			conf := filepath.Join(outs, "gofax.conf")
			os.WriteFile(conf, fmt.Appendf(nil, `[freeswitch]
socket = %s
password = %s
ident = 4711
[hylafax]
spooldir = %s
modems = 1
[gofaxd]
socket = 127.0.0.1:0
enablet38 = true
requestt38 = true
faxrcvdcmd = %s
`, sim.Addr(), sim.Password(), spool.dir, script), 0o644)

			lf, err := ln.(*net.TCPListener).File()
			if err != nil {
				t.Fatal(err)
			}
			defer lf.Close()
			child := exec.Command(os.Args[0], "-test.run=^TestChildGofaxd$")
			child.Env = append(os.Environ(), childConfEnv+"="+conf, "LISTEN_FDS=1")
			child.ExtraFiles = []*os.File{lf} // fd 3
			var childOut bytes.Buffer
			child.Stdout, child.Stderr = &childOut, &childOut
			if err := child.Start(); err != nil {
				t.Fatal(err)
			}
			killed := false
			defer func() {
				if !killed {
					child.Process.Kill()
					child.Wait()
				}
			}()

			callDone := make(chan esltest.CallRecord, 1)
			go func() {
				rec, _ := sim.PlaceCall(context.Background(), esltest.InboundCall{CallerNumber: "+4930123",
					Scenario: esltest.Scenario{T38: true, OutliveSocket: true}})
				callDone <- rec
			}()
			spool.waitRecord(t, "@freeswitch0:P") // the first page arrived
			if err := child.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			child.Wait()
			killed = true

			file := filepath.Join(spool.dir, "recvq", "fax000000001.tif")
			var rec esltest.CallRecord
			if tc.callIsOver {
				rec = <-callDone
				pages, err := hylafax.TIFFPages(file)
				if err != nil || len(pages) != 2 || pages[0].FaxRecvParams != 0 {
					t.Fatalf("before the restart: %d pages, %v; want the 2 FreeSWITCH wrote, untagged", len(pages), err)
				}
				if _, err := os.Stat(filepath.Join(spool.dir, "log", "xferfaxlog")); err == nil {
					t.Fatal("a RECV record before the restart")
				}
			}

			// gofaxd again, in this process.
			ctx, cancel := context.WithCancel(context.Background())
			var stderr syncBuffer
			done := make(chan error, 1)
			go func() { done <- run(ctx, []string{"-c", conf}, &bytes.Buffer{}, &stderr) }()
			defer func() {
				cancel()
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("run: %v", err)
					}
				case <-time.After(60 * time.Second):
					t.Error("gofaxd did not stop")
				}
			}()
			if !tc.callIsOver {
				rec = <-callDone
			}
			if !rec.Ended || rec.HangupCause != "NORMAL_CLEARING" {
				t.Errorf("call ended %v with %q", rec.Ended, rec.HangupCause)
			}

			var lines []string
			for deadline := time.Now().Add(30 * time.Second); len(lines) == 0; time.Sleep(10 * time.Millisecond) {
				// A line counts once it is whole: the script's >> creates
				// the file before it writes.
				if b, err := os.ReadFile(runs); err == nil && bytes.HasSuffix(b, []byte("\n")) {
					lines = strings.Split(strings.TrimSpace(string(b)), "\n")
				}
				if time.Now().After(deadline) {
					t.Fatalf("faxrcvd did not run after the restart\nfirst run:\n%s\nsecond run:\n%s", childOut.String(), stderr.String())
				}
			}
			// Nothing more comes: faxrcvd ran once.
			time.Sleep(200 * time.Millisecond)
			if b, _ := os.ReadFile(runs); strings.Count(string(b), "\n") != 1 {
				t.Errorf("faxrcvd runs:\n%s", b)
			}
			args := strings.Split(lines[0], "|")
			if args[0] != "recvq/fax000000001.tif" || args[1] != "freeswitch0" || args[2] != "000000001" {
				t.Errorf("faxrcvd argv %q", args)
			}
			pages, err := hylafax.TIFFPages(file)
			if err != nil || len(pages) != 2 || pages[0].FaxRecvParams == 0 {
				t.Errorf("after the restart: %d pages, %v; want 2 tagged", len(pages), err)
			}
			xb, err := os.ReadFile(filepath.Join(spool.dir, "log", "xferfaxlog"))
			if err != nil {
				t.Fatal(err)
			}
			xrecs, err := hylafax.ParseXferLog(bytes.NewReader(xb))
			if err != nil || len(xrecs) != 1 || xrecs[0].CommID != "000000001" || xrecs[0].Pages != 2 {
				t.Fatalf("RECV records %+v, %v", xrecs, err)
			}
			if tc.callIsOver {
				if !strings.Contains(xrecs[0].Reason, "result unknown") || args[3] != xrecs[0].Reason {
					t.Errorf("reason %q (faxrcvd %q), want one saying the result is unknown", xrecs[0].Reason, args[3])
				}
			} else if xrecs[0].Reason != "" || args[3] != "" {
				t.Errorf("reason %q (faxrcvd %q): the call was followed to its end, want the fax delivered", xrecs[0].Reason, args[3])
			}
			log, _ := os.ReadFile(filepath.Join(spool.dir, "log", "c000000001"))
			if strings.Count(string(log), "SESSION END") != 1 || !strings.Contains(string(log), "FreeSWITCH confirmed the end") {
				t.Errorf("session log:\n%s", log)
			}
		})
	}
}
