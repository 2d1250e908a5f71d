package hylafaxtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// faxq and hfaxd log only through syslog(3), i.e. to the machine-wide
// /dev/log. When nothing listens there, the harness runs one busybox
// syslogd for all test processes of the machine, registered in syslogDir
// (one file per Server using it, named <pid>-<n>); the last user to leave
// stops it. A live /dev/log owned by anyone else is left alone.
const (
	syslogDir    = "/tmp/gofax-hylafaxtest-syslogd"
	devLog       = "/dev/log"
	busyboxPath  = "/bin/busybox"
	syslogWait   = 3 * time.Second // busybox syslogd creating /dev/log
	maxLogOutput = 1 << 20         // what a failed test reads back from the log
)

var syslogUsers atomic.Int64

// syslogUse is one Server's registration with the shared syslogd.
type syslogUse struct {
	user   string // file in syslogDir/users
	log    string // messages file, "" when the logs go to someone else's syslogd
	offset int64  // its size when the Server started
}

func useSyslog() (*syslogUse, error) {
	if err := os.MkdirAll(filepath.Join(syslogDir, "users"), 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockSyslog()
	if err != nil {
		return nil, err
	}
	defer unlock()
	pruneSyslogUsers()
	u := &syslogUse{user: filepath.Join(syslogDir, "users", fmt.Sprintf("%d-%d", os.Getpid(), syslogUsers.Add(1)))}
	ours := ownSyslogd() != 0
	if !devLogLive() {
		if ours {
			stopSyslogd() // running but not listening: replace it
			ours = false
		}
		if _, err := os.Stat(busyboxPath); err != nil {
			return nil, fmt.Errorf("nothing listens on %s and busybox is missing: %w", devLog, err)
		}
		if err := startSyslogd(); err != nil {
			return nil, err
		}
		ours = true
	}
	if ours {
		u.log = filepath.Join(syslogDir, "messages")
		if fi, err := os.Stat(u.log); err == nil {
			u.offset = fi.Size()
		}
	}
	if err := os.WriteFile(u.user, nil, 0o644); err != nil {
		return nil, err
	}
	return u, nil
}

// release unregisters u and stops the shared syslogd when u was its last user.
func (u *syslogUse) release() {
	if u == nil {
		return
	}
	unlock, err := lockSyslog()
	if err != nil {
		return
	}
	defer unlock()
	os.Remove(u.user)
	pruneSyslogUsers()
	if users, _ := os.ReadDir(filepath.Join(syslogDir, "users")); len(users) == 0 && ownSyslogd() != 0 {
		stopSyslogd()
	}
}

// since returns what was logged after u started, at most maxLogOutput bytes.
func (u *syslogUse) since() []byte {
	if u == nil {
		return []byte("(not collected)")
	}
	if u.log == "" {
		return []byte("(not available: " + devLog + " belongs to another syslog daemon)")
	}
	f, err := os.Open(u.log)
	if err != nil {
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() < u.offset {
		return nil
	}
	start := max(u.offset, fi.Size()-maxLogOutput)
	b, _ := io.ReadAll(io.NewSectionReader(f, start, fi.Size()-start))
	return b
}

func lockSyslog() (func(), error) {
	f, err := os.OpenFile(filepath.Join(syslogDir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// pruneSyslogUsers removes registrations of test processes that are gone.
func pruneSyslogUsers() {
	entries, _ := os.ReadDir(filepath.Join(syslogDir, "users"))
	for _, e := range entries {
		pid, _, _ := strings.Cut(e.Name(), "-")
		if n, err := strconv.Atoi(pid); err != nil || !alive(n) {
			os.Remove(filepath.Join(syslogDir, "users", e.Name()))
		}
	}
}

// ownSyslogd returns the pid of the syslogd the harness started, 0 if none runs.
func ownSyslogd() int {
	b, err := os.ReadFile(filepath.Join(syslogDir, "pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || !alive(pid) {
		return 0
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if !bytes.Contains(cmdline, []byte("syslogd")) {
		return 0 // pid reused
	}
	return pid
}

// alive reports whether pid runs; a zombie (possible when PID 1 does not
// reap) does not count.
func alive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// "pid (comm) S ...": the state follows the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

func devLogLive() bool {
	c, err := net.DialTimeout("unixgram", devLog, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func startSyslogd() error {
	if fi, err := os.Lstat(devLog); err == nil && fi.Mode()&os.ModeSocket != 0 {
		os.Remove(devLog) // stale socket of a dead syslogd
	}
	// -n foreground, -O log file (Debian's busybox never rotates it, so
	// readers' offsets stay valid).
	cmd := exec.Command(busyboxPath, "syslogd", "-n", "-O", filepath.Join(syslogDir, "messages"))
	// Its own session, no stdio: it outlives this process when others use it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting busybox syslogd: %w", err)
	}
	pid := cmd.Process.Pid
	go cmd.Wait() // reaps it if it exits while this process lives
	if err := os.WriteFile(filepath.Join(syslogDir, "pid"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return err
	}
	deadline := time.Now().Add(syslogWait)
	for !devLogLive() {
		if time.Now().After(deadline) {
			return errors.New("busybox syslogd did not create " + devLog)
		}
		time.Sleep(pollInterval)
	}
	return nil
}

func stopSyslogd() {
	pid := ownSyslogd()
	if pid == 0 {
		return
	}
	syscall.Kill(pid, syscall.SIGTERM)
	for deadline := time.Now().Add(stopTimeout); alive(pid) && time.Now().Before(deadline); {
		time.Sleep(pollInterval)
	}
	os.Remove(filepath.Join(syslogDir, "pid"))
	os.Remove(filepath.Join(syslogDir, "messages"))
	if fi, err := os.Lstat(devLog); err == nil && fi.Mode()&os.ModeSocket != 0 && !devLogLive() {
		os.Remove(devLog) // busybox leaves its socket behind
	}
}
