package hylafaxtest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnvVar switches the tests against a real HylaFAX on.
const EnvVar = "GOFAX_TEST_HYLAFAX"

// DirVar in Options.Env stands for Server.Dir.
const DirVar = "${HYLAFAXTEST_DIR}"

// SkipMessage is the reason given when a test is skipped.
const SkipMessage = "set GOFAX_TEST_HYLAFAX=1 (make test installs HylaFAX) to run"

// Installed HylaFAX 6.0.7 (Debian 12) paths.
const (
	faxqPath     = "/usr/sbin/faxq"
	hfaxdPath    = "/usr/sbin/hfaxd"
	sendfaxPath  = "/usr/bin/sendfax"
	faxstatPath  = "/usr/bin/faxstat"
	toolDir      = "/usr/lib/hylafax/bin" // real programs; /usr/sbin has mount wrappers
	skelSpool    = "/var/spool/hylafax"
	skelConfig   = "/etc/hylafax"
	uucpLockDir  = "/var/lock"
	uucpUser     = "uucp"
	faxGroupID   = 21 // Debian's "fax" group: hosts.hfaxd uid = group of queue files
	defaultPhone = "+1.555.000.0000"
)

// Time bounds. faxq throttles its scheduler to one run per second and
// sendfax/faxstat talk to hfaxd on loopback: a few seconds is plenty; the
// bounds only stop a broken installation from hanging the test binary.
const (
	startTimeout = 15 * time.Second // faxq opening FIFO, hfaxd accepting
	stopTimeout  = 5 * time.Second  // SIGTERM before SIGKILL
	toolTimeout  = 60 * time.Second // one sendfax/faxstat/tool run
	pollInterval = 50 * time.Millisecond
	pokeInterval = time.Second // scheduler stall workaround, see package doc
	portAttempts = 5           // hfaxd bind races with other test processes
)

//go:embed testdata/page.tif
var pageTIFF []byte

// Options configure a Server. The zero value is usable.
type Options struct {
	// SendFaxCmd is the program faxq execs per batch of jobs. It is copied
	// into Dir/bin first: faxq runs it as euid uucp, which cannot reach
	// t.TempDir(). Files it reads must be readable by uucp too; put them in
	// Dir. Empty means the stub (see StubCalls, SetStubExit), which exits
	// 2 = done.
	SendFaxCmd string
	// Env is added to faxq's environment, which it passes on to SendFaxCmd
	// (faxq drops any words after the program name in SendFaxCmd).
	// "${HYLAFAXTEST_DIR}" in an entry stands for Dir, e.g.
	// "GOFAX_CONFIG=${HYLAFAXTEST_DIR}/gofax.conf" for a file the test
	// writes there after Start.
	Env []string
	// MaxBatchJobs limits jobs per exec of SendFaxCmd (HylaFAX: 64).
	MaxBatchJobs int
	// JobReqOther is the base retry delay in seconds (HylaFAX: 300).
	JobReqOther int
	// ModemGroups are "name:regex" ModemGroup entries.
	ModemGroups []string
	// Config holds further "Tag: value" lines for etc/config.
	Config []string
	// NoSyslog leaves syslog alone: faxq/hfaxd logs are then lost unless
	// the machine runs a syslog daemon.
	NoSyslog bool
	// Users are hfaxd accounts with passwords and administrator
	// passwords (see User). Any other login name from 127.0.0.1 is
	// accepted without a password and without administrator rights, as
	// sendfax and faxstat in these tests expect.
	Users []User
}

// Server is a private faxq + hfaxd on a spool of its own, listening on
// 127.0.0.1. Start one per test; it is stopped by t.Cleanup.
type Server struct {
	// Dir holds the spool, stubs and process output; removed at cleanup.
	Dir string
	// Spool is the spool directory given to faxq and hfaxd with -q.
	Spool string
	// Host is "127.0.0.1:<port>" of hfaxd, for the clients' -h.
	Host string
	// ID is a short random word unique to this server (see ModemName).
	ID string

	t          testing.TB
	opts       Options
	env        []string // opts.Env expanded
	sendfaxCmd string
	uid, gid   int
	syslog     *syslogUse

	stopOnce sync.Once
	mu       sync.Mutex
	faxq     *proc
	hfaxd    *proc
	modems   map[string]*modem
}

// Enabled reports whether tests against a real HylaFAX are switched on.
func Enabled() bool { return os.Getenv(EnvVar) == "1" }

// Require skips t unless tests against a real HylaFAX are switched on.
func Require(t testing.TB) {
	t.Helper()
	if !Enabled() {
		t.Skip(SkipMessage)
	}
}

// Start builds a private spool and starts faxq and hfaxd on it. It skips
// t unless Enabled and fails t when HylaFAX cannot be started. Everything
// is stopped and removed by t.Cleanup; when the test failed, the daemons'
// output and logs are written to the test log first.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	Require(t)
	if os.Geteuid() != 0 {
		t.Fatal("hylafaxtest: must run as root (faxq insists on being started by root)")
	}
	for _, p := range []string{faxqPath, hfaxdPath, sendfaxPath, faxstatPath,
		skelSpool + "/bin", skelConfig + "/setup.cache"} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("hylafaxtest: %v: run contrib/install-deps.sh (or make deps)", err)
		}
	}
	// faxq locks modems in /var/lock (on Debian a link to /run/lock).
	if err := mkdirLink(uucpLockDir); err != nil {
		t.Fatalf("hylafaxtest: %v", err)
	}
	u, err := user.Lookup(uucpUser)
	if err != nil {
		t.Fatalf("hylafaxtest: %v", err)
	}
	s := &Server{t: t, opts: opts, ID: randomID(), modems: map[string]*modem{}}
	s.uid, _ = strconv.Atoi(u.Uid)
	s.gid, _ = strconv.Atoi(u.Gid)
	// Not t.TempDir(): its parents are 0700 root and faxq runs as euid uucp.
	reapStale()
	s.Dir, err = os.MkdirTemp("", dirPrefix)
	if err != nil {
		t.Fatalf("hylafaxtest: %v", err)
	}
	t.Cleanup(s.Stop)
	if err := os.WriteFile(filepath.Join(s.Dir, "owner"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		t.Fatalf("hylafaxtest: %v", err)
	}
	if err := os.Chmod(s.Dir, 0o755); err != nil {
		t.Fatalf("hylafaxtest: %v", err)
	}
	if err := searchable(s.Dir, s.uid, s.gid); err != nil {
		t.Fatalf("hylafaxtest: faxq and hfaxd run as %s: %v (set TMPDIR to a directory uucp can reach, such as /tmp)", uucpUser, err)
	}
	s.Spool = filepath.Join(s.Dir, "spool")
	s.env = make([]string, len(opts.Env))
	for i, e := range opts.Env {
		s.env[i] = strings.ReplaceAll(e, DirVar, s.Dir)
	}
	if err := s.build(); err != nil {
		t.Fatalf("hylafaxtest: building spool: %v", err)
	}
	if !opts.NoSyslog {
		s.syslog, err = useSyslog()
		if err != nil {
			t.Logf("hylafaxtest: no syslog, faxq/hfaxd logs are lost: %v", err)
		}
	}
	if err := s.startFaxq(); err != nil {
		t.Fatalf("hylafaxtest: %v", err)
	}
	if err := s.startHfaxd(); err != nil {
		t.Fatalf("hylafaxtest: %v", err)
	}
	return s
}

// ModemName returns base with this server's ID appended, a device id that
// no parallel test uses (faxq locks /var/lock/LCK..<name> machine-wide).
func (s *Server) ModemName(base string) string { return base + s.ID }

// HostFor returns "modem@127.0.0.1:<port>", for sendfax -h to ask for a
// specific modem or ModemGroup.
func (s *Server) HostFor(modem string) string { return modem + "@" + s.Host }

// Document returns the path of a one-page A4 fine-resolution G3 TIFF
// inside Dir, for sendfax.
func (s *Server) Document() string { return filepath.Join(s.Dir, "page.tif") }

// build makes the spool: the package's skeleton with /etc/hylafax copied
// into etc/ (Debian bind-mounts it there; a symlink fails in hfaxd's
// chroot), our additions to etc/config, hosts.hfaxd and the stubs.
func (s *Server) build() error {
	if err := copySkeleton(skelSpool, s.Spool); err != nil {
		return err
	}
	if out, err := exec.Command("cp", "-a", skelConfig+"/.", s.Spool+"/etc/").CombinedOutput(); err != nil {
		return fmt.Errorf("cp %s: %v: %s", skelConfig, err, out)
	}
	// Scripts (xferfaxstats, recvstats, notify, faxrcvd) take the spool
	// from setup.cache.
	cache := filepath.Join(s.Spool, "etc", "setup.cache")
	b, err := os.ReadFile(cache)
	if err != nil {
		return err
	}
	b = bytes.Replace(b, []byte("\nSPOOL='"+skelSpool+"'\n"), []byte("\nSPOOL='"+s.Spool+"'\n"), 1)
	if err := os.WriteFile(cache, b, 0o644); err != nil {
		return err
	}
	stale, _ := filepath.Glob(filepath.Join(s.Spool, "FIFO*"))
	for _, f := range stale {
		os.Remove(f)
	}
	if err := os.WriteFile(s.Document(), pageTIFF, 0o644); err != nil {
		return err
	}
	// Client configuration (see ClientEnv).
	if err := os.WriteFile(filepath.Join(s.Dir, ".hylarc"), []byte("PassiveMode: true\n"), 0o644); err != nil {
		return err
	}
	// Files the stubs (running as uucp) append to.
	for _, f := range []string{"stub-send.log", "notify.log"} {
		if err := s.writeUUCP(filepath.Join(s.Dir, f), nil, 0o644); err != nil {
			return err
		}
	}
	// "#!/bin/bash -p" keeps euid uucp as the real faxsend has it.
	stub := fmt.Sprintf(`#!/bin/bash -p
# hylafaxtest stub SendFaxCmd: records its argv, exits with the code in stub-exit (default 2 = done)
printf '%%s\n' "$*" >> %[1]s/stub-send.log
code=2
[ -r %[1]s/stub-exit ] && code=$(< %[1]s/stub-exit)
exit "$code"
`, s.Dir)
	if err := os.WriteFile(filepath.Join(s.Dir, "stub-send"), []byte(stub), 0o755); err != nil {
		return err
	}
	notify := fmt.Sprintf(`#!/bin/sh
# hylafaxtest NotifyCmd stub: records its argv (qfile, why, duration[, next try])
printf '%%s\n' "$*" >> %s/notify.log
`, s.Dir)
	if err := os.WriteFile(filepath.Join(s.Dir, "notify"), []byte(notify), 0o755); err != nil {
		return err
	}
	s.sendfaxCmd = filepath.Join(s.Dir, "stub-send")
	if s.opts.SendFaxCmd != "" {
		// faxq execs it as euid uucp, which cannot reach t.TempDir().
		s.sendfaxCmd = filepath.Join(s.Dir, "bin", filepath.Base(s.opts.SendFaxCmd))
		if err := copyExecutable(s.opts.SendFaxCmd, s.sendfaxCmd); err != nil {
			return err
		}
	}
	var conf strings.Builder
	conf.WriteString("\n# --- added by hylafaxtest ---\n")
	conf.WriteString("LogFacility:\tdaemon\n")
	conf.WriteString("ServerTracing:\t0x2CA01\n") // server, queue, jobs, FIFO, modem state, doc refs
	fmt.Fprintf(&conf, "SendFaxCmd:\t%q\n", s.sendfaxCmd)
	fmt.Fprintf(&conf, "NotifyCmd:\t%q\n", filepath.Join(s.Dir, "notify"))
	if s.opts.JobReqOther > 0 {
		fmt.Fprintf(&conf, "JobReqOther:\t%d\n", s.opts.JobReqOther)
	}
	if s.opts.MaxBatchJobs > 0 {
		fmt.Fprintf(&conf, "MaxBatchJobs:\t%d\n", s.opts.MaxBatchJobs)
	}
	for _, g := range s.opts.ModemGroups {
		fmt.Fprintf(&conf, "ModemGroup:\t%q\n", g)
	}
	for _, l := range s.opts.Config {
		conf.WriteString(l + "\n")
	}
	if err := s.appendConfig(conf.String()); err != nil {
		return err
	}
	// hfaxd access control: "regex:uid:passwd:adminpw", must be 0600 and
	// readable by uucp. The first matching record counts: the accounts
	// come before the records admitting everybody else from loopback.
	var hosts strings.Builder
	for _, u := range s.opts.Users {
		line, err := u.hostsLine()
		if err != nil {
			return err
		}
		hosts.WriteString(line)
	}
	fmt.Fprintf(&hosts, "localhost:%d::\n127.0.0.1:%d::\n", faxGroupID, faxGroupID)
	return s.writeUUCP(filepath.Join(s.Spool, "etc", "hosts.hfaxd"), []byte(hosts.String()), 0o600)
}

// ClientEnv returns the environment entries for running HylaFAX clients
// (sendfax, faxstat, faxrm, ...) against this server: HOME=Dir, whose
// .hylarc selects passive mode. In active mode hfaxd opens its data
// connections from its port minus one, which parallel tests may hold.
// Submit, Faxstat and Run use it.
func (s *Server) ClientEnv() []string { return []string{"HOME=" + s.Dir} }

// SetConfig appends "Tag: value" lines to etc/config; later lines win.
// faxq re-reads the file before its next scheduler run.
func (s *Server) SetConfig(lines ...string) error {
	for _, l := range lines {
		if strings.ContainsAny(l, "\r\n") {
			return fmt.Errorf("hylafaxtest: config line %q contains a line break", l)
		}
	}
	return s.appendConfig(strings.Join(lines, "\n") + "\n")
}

func (s *Server) appendConfig(text string) error {
	path := filepath.Join(s.Spool, "etc", "config")
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	// faxq notices a change by the modification time in whole seconds: a
	// second write within the same second would go unnoticed.
	mtime := time.Now().Truncate(time.Second)
	if old := fi.ModTime().Truncate(time.Second); !mtime.After(old) {
		mtime = old.Add(time.Second)
	}
	return os.Chtimes(path, mtime, mtime)
}

// skelCopied are the spool directories whose files come with the package
// (scripts, modem templates); the others are queues and state.
var skelCopied = map[string]bool{"bin": true, "config": true}

// copySkeleton makes dst a spool like the package's src, not like the
// system's HylaFAX has used it: the package's files in bin/ and config/
// are copied, every other directory is made empty with the owner and mode
// it has in src. No jobs, received faxes, logs, sequence numbers or FIFOs
// of the system's HylaFAX come along, and etc/ starts empty whether or not
// Debian's bind mount of /etc/hylafax is there.
func copySkeleton(src, dst string) error {
	if err := mkdirLike(src, dst); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		from, to := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		if skelCopied[e.Name()] {
			if out, err := exec.Command("cp", "-a", from, to).CombinedOutput(); err != nil {
				return fmt.Errorf("cp %s: %v: %s", from, err, out)
			}
			continue
		}
		if err := mkdirLike(from, to); err != nil {
			return err
		}
	}
	return nil
}

// mkdirLike creates the directory dst with the mode (sticky bit included)
// and owner of src.
func mkdirLike(src, dst string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: no owner information", src)
	}
	if err := os.Mkdir(dst, 0o700); err != nil {
		return err
	}
	if err := os.Chown(dst, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	return os.Chmod(dst, fi.Mode()&(os.ModePerm|os.ModeSticky|os.ModeSetgid|os.ModeSetuid))
}

// searchable reports as an error the first of dir and its parents that
// the user uid with primary group gid may not search (enter).
func searchable(dir string, uid, gid int) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("%s: no owner information", d)
		}
		perm := fi.Mode().Perm()
		var allowed bool
		switch {
		case int(st.Uid) == uid:
			allowed = perm&0o100 != 0
		case int(st.Gid) == gid:
			allowed = perm&0o010 != 0
		default:
			allowed = perm&0o001 != 0
		}
		if !allowed {
			return fmt.Errorf("%s (mode %v) is not searchable for uid %d", d, perm, uid)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// mkdirLink creates dir, or the directory the symbolic link dir points to.
func mkdirLink(dir string) error {
	if target, err := os.Readlink(dir); err == nil {
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(dir), target)
		}
		dir = target
	}
	return os.MkdirAll(dir, 0o755)
}

// copyExecutable copies the program src to dst (mode 0755), creating
// dst's directory.
func copyExecutable(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// writeUUCP writes a file owned by uucp.
func (s *Server) writeUUCP(path string, data []byte, mode os.FileMode) error {
	if err := os.WriteFile(path, data, mode); err != nil {
		return err
	}
	if err := os.Chmod(path, mode); err != nil {
		return err
	}
	return os.Chown(path, s.uid, s.gid)
}

func (s *Server) startFaxq() error {
	os.Remove(filepath.Join(s.Spool, "FIFO"))
	p, err := startProc(s.Dir, "faxq", s.env, faxqPath, "-D", "-q", s.Spool)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.faxq = p
	s.mu.Unlock()
	deadline := time.Now().Add(startTimeout)
	for {
		// Opening a FIFO write-only without blocking fails (ENXIO) until
		// faxq has it open for reading.
		if f, err := os.OpenFile(filepath.Join(s.Spool, "FIFO"), os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
			return nil
		}
		if p.exited() {
			return fmt.Errorf("faxq exited at start-up: %s", p.output())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("faxq did not open %s/FIFO within %v", s.Spool, startTimeout)
		}
		time.Sleep(pollInterval)
	}
}

func (s *Server) startHfaxd() error {
	var lastErr error
	for range portAttempts {
		port, err := freePort()
		if err != nil {
			return err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		// -l must come before -i, or the bind address is ignored.
		p, err := startProc(s.Dir, "hfaxd", s.env, hfaxdPath, "-d", "-q", s.Spool, "-l", "127.0.0.1", "-i", strconv.Itoa(port))
		if err != nil {
			return err
		}
		if lastErr = waitListening(p, port); lastErr == nil {
			s.mu.Lock()
			s.hfaxd, s.Host = p, addr
			s.mu.Unlock()
			return nil
		}
		p.stop()
	}
	return fmt.Errorf("hfaxd did not start: %w", lastErr)
}

// waitListening waits until hfaxd process p listens on port. hfaxd does
// not exit when the port is taken, and a connection to the port could
// reach another test's hfaxd, so the listening socket must be p's.
func waitListening(p *proc, port int) error {
	deadline := time.Now().Add(startTimeout)
	for {
		if p.exited() {
			return fmt.Errorf("hfaxd exited: %s", p.output())
		}
		if inode := listenInode(port); inode != "" {
			if hasSocket(p.cmd.Process.Pid, inode) {
				return nil
			}
			return fmt.Errorf("port %d taken by another process", port)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("hfaxd not listening on 127.0.0.1:%d within %v", port, startTimeout)
		}
		time.Sleep(pollInterval)
	}
}

// maxProcNetTCP bounds the read of /proc/net/tcp (150 bytes a socket).
const maxProcNetTCP = 16 << 20

// listenInode returns the inode of the socket listening on 127.0.0.1:port,
// from /proc/net/tcp, or "".
func listenInode(port int) string {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return ""
	}
	defer f.Close()
	local := fmt.Sprintf("0100007F:%04X", port)
	sc := bufio.NewScanner(io.LimitReader(f, maxProcNetTCP))
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		f := strings.Fields(sc.Text())
		if len(f) > 9 && f[1] == local && f[3] == "0A" { // 0A = LISTEN
			return f[9]
		}
	}
	return ""
}

// hasSocket reports whether process pid has the socket inode open.
func hasSocket(pid int, inode string) bool {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if l, err := os.Readlink(filepath.Join(dir, fd.Name())); err == nil && l == "socket:["+inode+"]" {
			return true
		}
	}
	return false
}

// hfaxd sends active-mode data from its port minus one (the FTP
// convention). Ports below the kernel's ephemeral range are not taken by
// outgoing connections, so picking P there with P and P-1 free avoids
// clashes; the clients run in passive mode anyway (see ClientEnv).
const (
	minPort       = 10001
	portTries     = 100
	ephemeralFile = "/proc/sys/net/ipv4/ip_local_port_range"
)

// freePort returns a loopback TCP port that, like the one below it, was
// free a moment ago.
func freePort() (int, error) {
	lo := 32768
	if b, err := os.ReadFile(ephemeralFile); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				lo = n
			}
		}
	}
	if lo > minPort+1 {
		for range portTries {
			p := minPort + mathrand.IntN(lo-minPort)
			if bindable(p) && bindable(p-1) {
				return p, nil
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func bindable(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// StopFaxq stops faxq (SIGTERM, then SIGKILL after 5 s), as when the
// scheduler goes away under a running daemon. Writes to its FIFO then
// fail until RestartFaxq.
func (s *Server) StopFaxq() {
	s.mu.Lock()
	p := s.faxq
	s.mu.Unlock()
	p.stop()
}

// RestartFaxq stops faxq if it runs and starts it again on the same
// spool. Modems with a fake getty are announced again when it answers
// faxq's HELLO; the others are DOWN until announced.
func (s *Server) RestartFaxq() error {
	s.StopFaxq()
	return s.startFaxq()
}

// Stop stops the fake gettys, hfaxd and faxq, removes the UUCP locks of
// the modems and, unless GOFAX_TEST_HYLAFAX_KEEP=1, Dir. Start registers
// it with t.Cleanup; calling it earlier is allowed, later calls do nothing.
func (s *Server) Stop() { s.stopOnce.Do(s.stop) }

func (s *Server) stop() {
	s.mu.Lock()
	modems := s.modems
	s.modems = map[string]*modem{}
	faxq, hfaxd := s.faxq, s.hfaxd
	s.mu.Unlock()
	for _, m := range modems {
		m.stopGetty()
	}
	hfaxd.stop()
	faxq.stop()
	for name := range modems {
		os.Remove(filepath.Join(uucpLockDir, "LCK.."+name))
	}
	if s.t.Failed() {
		s.dumpLogs(modems)
	}
	s.syslog.release()
	if os.Getenv(EnvVar+"_KEEP") == "1" {
		s.t.Logf("hylafaxtest: kept %s (%s_KEEP=1)", s.Dir, EnvVar)
		return
	}
	if s.Dir != "" {
		os.RemoveAll(s.Dir)
	}
}

// logDumpLimit caps what a failed test writes to its log per source.
const logDumpLimit = 64 << 10

func (s *Server) dumpLogs(modems map[string]*modem) {
	show := func(name string, b []byte) {
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			return
		}
		if len(b) > logDumpLimit {
			b = append([]byte("..."), b[len(b)-logDumpLimit:]...)
		}
		s.t.Logf("hylafaxtest: --- %s ---\n%s", name, b)
	}
	s.t.Logf("hylafaxtest: spool %s (set %s_KEEP=1 to keep it)", s.Spool, EnvVar)
	for _, f := range []string{"faxq.out", "hfaxd.out", "stub-send.log", "notify.log"} {
		b, _ := os.ReadFile(filepath.Join(s.Dir, f))
		show(f, b)
	}
	for _, q := range []string{"sendq", "doneq"} {
		entries, _ := os.ReadDir(filepath.Join(s.Spool, q))
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		show(q, []byte(strings.Join(names, " ")))
	}
	for name, m := range modems {
		m.mu.Lock()
		msgs := strings.Join(m.msgs, " ")
		m.mu.Unlock()
		show("FIFO."+name+" (fake getty)", []byte(msgs))
	}
	show("syslog (all HylaFAX instances on this machine since start)", s.syslog.since())
}

// dirPrefix names the work directories in os.TempDir().
const dirPrefix = "gofax-hylafax-"

// reapStale stops the daemons and removes the work directory of servers
// whose test process died without cleaning up (killed, or a test binary
// timeout): the daemons run in process groups of their own and outlive it.
func reapStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "owner"))
		if err != nil {
			continue // being set up, or not ours
		}
		if owner, err := strconv.Atoi(string(b)); err != nil || alive(owner) {
			continue
		}
		spool := filepath.Join(dir, "spool")
		for _, name := range []string{"hfaxd", "faxq"} {
			b, err := os.ReadFile(filepath.Join(dir, name+".pid"))
			if err != nil {
				continue
			}
			pid, err := strconv.Atoi(string(b))
			// Only if the pid still is that daemon on that spool.
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			if err == nil && pid > 0 && bytes.Contains(cmdline, []byte("\x00"+spool+"\x00")) {
				syscall.Kill(-pid, syscall.SIGKILL)
			}
		}
		os.RemoveAll(dir)
	}
}

// randomID returns 4 lower-case letters and digits.
func randomID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 4)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// proc is a daemon started by the harness, in its own process group.
type proc struct {
	cmd      *exec.Cmd
	out      string
	done     chan struct{}
	stopOnce sync.Once
}

func startProc(dir, name string, env []string, path string, args ...string) (*proc, error) {
	out := filepath.Join(dir, name+".out")
	f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{cmd: cmd, out: out, done: make(chan struct{})}
	os.WriteFile(filepath.Join(dir, name+".pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) output() string {
	b, _ := os.ReadFile(p.out)
	return strings.TrimSpace(string(b))
}

// stop sends SIGTERM to the process group (faxq's send programs, hfaxd's
// per-connection children), then SIGKILL after stopTimeout, and waits.
func (p *proc) stop() {
	if p == nil {
		return
	}
	p.stopOnce.Do(p.kill)
}

func (p *proc) kill() {
	pgid := -p.cmd.Process.Pid
	syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		syscall.Kill(pgid, syscall.SIGKILL)
		<-p.done
	}
	syscall.Kill(pgid, syscall.SIGKILL) // children that ignored SIGTERM
}

// run executes a client program with a time bound and returns its
// combined output.
func run(ctx context.Context, dir string, env []string, path string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) || ctx.Err() != nil {
			return string(out), fmt.Errorf("hylafaxtest: %s %s: %w: %s", filepath.Base(path), strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
		return string(out), fmt.Errorf("hylafaxtest: %w", err)
	}
	return string(out), nil
}
