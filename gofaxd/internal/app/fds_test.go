package app

import (
	"bufio"

	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
)

// gofaxdSockets returns the inodes of the established TCP connections
// whose local port is port: gofaxd's side of its event socket calls.
func gofaxdSockets(t *testing.T, port int) map[string]bool {
	t.Helper()
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fl := strings.Fields(sc.Text())
			// sl local_address rem_address st ... inode (field 9)
			if len(fl) < 10 || fl[3] != "01" {
				continue
			}
			_, p, ok := strings.Cut(fl[1], ":")
			if n, err := strconv.ParseUint(p, 16, 16); ok && err == nil && int(n) == port {
				inodes[fl[9]] = true
			}
		}
		f.Close()
	}
	return inodes
}

// heldDescriptors counts this process's descriptors by what gofaxd uses
// them for: its call sockets, recvq files and session logs.
func heldDescriptors(t *testing.T, spool string, port int) (sockets, recvq, logs int) {
	t.Helper()
	inodes := gofaxdSockets(t, port)
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(target, "socket:["):
			if inodes[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] {
				sockets++
			}
		case strings.HasPrefix(target, filepath.Join(spool, "recvq")+"/"):
			recvq++
		case strings.HasPrefix(target, filepath.Join(spool, "log", "c")):
			logs++
		}
	}
	return sockets, recvq, logs
}

// TestDescriptorsPerHeldCall: a call being received holds two
// descriptors, its event socket connection and its locked recvq file
// (hfaxd shows it as being received); its session log holds none.
func TestDescriptorsPerHeldCall(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp")
	}
	const calls = 12
	// At this time scale a 2-page fax takes several seconds: long enough
	// to look at the calls while they run.
	e := newEnvScale(t, 2, 0.3, nil)
	_, p, _ := strings.Cut(e.app.Addr().String(), "127.0.0.1:")
	port, _ := strconv.Atoi(p)
	var wg sync.WaitGroup
	for range calls {
		wg.Go(func() {
			if _, err := e.sim.PlaceCall(t.Context(), esltest.InboundCall{CallerNumber: "5551000"}); err != nil {
				t.Error(err)
			}
		})
	}
	deadline := time.Now().Add(30 * time.Second)
	var sockets, recvq, logs int
	for {
		sockets, recvq, logs = heldDescriptors(t, e.spool, port)
		if sockets == calls && recvq == calls && e.activeCalls() == calls {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("calls never all held: %d sockets, %d recvq files, %d active", sockets, recvq, e.activeCalls())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if logs != 0 {
		t.Errorf("%d session logs open with %d calls held, want none", logs, calls)
	}
	t.Logf("%d calls held: %d sockets, %d recvq files, %d session logs", calls, sockets, recvq, logs)
	wg.Wait()
	e.waitEnded(calls)
}

// activeCalls reads gofaxd_active_calls.
func (e *env) activeCalls() int { return e.metric("gofaxd_active_calls") }
