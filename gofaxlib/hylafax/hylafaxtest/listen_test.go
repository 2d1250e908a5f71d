package hylafaxtest

import (
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
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
