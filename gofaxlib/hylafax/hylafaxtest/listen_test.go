package hylafaxtest

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestWaitListeningTakenPort: an hfaxd that cannot bind its port keeps
// running; waitListening must notice that the listener is someone else.
func TestWaitListeningTakenPort(t *testing.T) {
	Require(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	dir := t.TempDir()
	p, err := startProc(dir, "hfaxd", nil, hfaxdPath, "-d", "-q", skelSpool, "-l", "127.0.0.1", "-i", strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop()
	if err := waitListening(p, port); err == nil || !strings.Contains(err.Error(), "taken") {
		t.Errorf("waitListening = %v, want port taken", err)
	}
}

func TestListenInode(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	inode := listenInode(l.Addr().(*net.TCPAddr).Port)
	if inode == "" || !hasSocket(os.Getpid(), inode) {
		t.Errorf("listener inode %q not found among this process's sockets", inode)
	}
}

// TestReapStale: daemons left behind by a test process that died are
// stopped, and their directory removed, by the next Start.
func TestReapStale(t *testing.T) {
	Require(t)
	if os.Getenv("HYLAFAXTEST_DIE") == "1" {
		s := Start(t, Options{NoSyslog: true})
		os.Stdout.WriteString("DIR=" + s.Dir + "\n")
		os.Exit(0) // no cleanup
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestReapStale$", "-test.count=1")
	cmd.Env = append(os.Environ(), "HYLAFAXTEST_DIE=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	_, dir, ok := strings.Cut(strings.TrimSpace(string(out)), "DIR=")
	if !ok {
		t.Fatalf("no DIR in %q", out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "faxq.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(string(b))
	if !alive(pid) {
		t.Fatalf("faxq %d of the dead test is not running", pid)
	}
	reapStale()
	for i := 0; alive(pid) && i < 100; i++ { // reaped by init; poll briefly
		time.Sleep(20 * time.Millisecond)
	}
	if alive(pid) {
		t.Errorf("faxq %d still running", pid)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s not removed: %v", dir, err)
	}
}
