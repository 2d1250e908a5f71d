package notifytest

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// SMTPDScript is smtpd.py: a real SMTP server on Debian's python3-aiosmtpd
// that saves every message it takes (see the script's doc string).
//
//go:embed smtpd.py
var SMTPDScript []byte

// Python is Debian's interpreter, which python3-aiosmtpd installs into (a
// python3 earlier in PATH may not have it).
const Python = "/usr/bin/python3"

// Need skips a test whose tool is missing, except under CI (CI set),
// which installs everything with contrib/install-deps.sh: there it fails.
func Need(t testing.TB, what string, check func() error) {
	t.Helper()
	if err := check(); err != nil {
		msg := fmt.Sprintf("%s not available (%v): contrib/install-deps.sh installs it (make test runs it)", what, err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// NeedAiosmtpd skips the test without python3-aiosmtpd (see Need).
func NeedAiosmtpd(t testing.TB) {
	t.Helper()
	Need(t, "python3-aiosmtpd", func() error { return exec.Command(Python, "-c", "import aiosmtpd").Run() })
}

// SMTPDOptions configure StartSMTPD.
type SMTPDOptions struct {
	Mode              string // plain (default), starttls or tls
	CertFile, KeyFile string // PEM, for starttls and tls
	User, Password    string // AUTH credentials accepted; "" = no AUTH offered
	Port              int    // 0 = any free port
	RejectRcpt        string // a recipient answered 550
}

// SMTPD is a running smtpd.py on 127.0.0.1.
type SMTPD struct {
	Port int
	Dir  string // where the messages are saved
	stop func()
}

// StartSMTPD starts smtpd.py and waits until it accepts connections; it
// is stopped when the test ends (or with Stop).
func StartSMTPD(t testing.TB, o SMTPDOptions) *SMTPD {
	t.Helper()
	NeedAiosmtpd(t)
	dir := t.TempDir()
	script := filepath.Join(t.TempDir(), "smtpd.py")
	if err := os.WriteFile(script, SMTPDScript, 0o600); err != nil {
		t.Fatal(err)
	}
	mode := o.Mode
	if mode == "" {
		mode = "plain"
	}
	args := []string{script, "--dir", dir, "--mode", mode, "--port", strconv.Itoa(o.Port)}
	if mode != "plain" {
		args = append(args, "--cert", o.CertFile, "--key", o.KeyFile)
	}
	if o.User != "" {
		args = append(args, "--user", o.User, "--password", o.Password)
	}
	if o.RejectRcpt != "" {
		args = append(args, "--reject-rcpt", o.RejectRcpt)
	}
	cmd := exec.Command(Python, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &limitedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	ready := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
				n, _ := strconv.Atoi(p)
				ready <- n
			}
		}
	}()
	go func() { cmd.Wait(); close(exited) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			stdin.Close() // the script stops at EOF
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill() // our own child, by its PID
				<-exited
			}
		})
	}
	t.Cleanup(stop)
	select {
	case port := <-ready:
		return &SMTPD{Port: port, Dir: dir, stop: stop}
	case <-exited:
		t.Fatalf("smtpd.py exited: %s", stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("smtpd.py not ready after 60s: %s", stderr)
	}
	return nil
}

// Stop stops the server now (it no longer accepts connections); the
// messages it saved stay readable.
func (s *SMTPD) Stop() { s.stop() }

// Message is one message the server took.
type Message struct {
	Raw      []byte   `json:"-"` // as received
	MailFrom string   `json:"mail_from"`
	RcptTos  []string `json:"rcpt_tos"`
	TLS      bool     `json:"tls"`
	Auth     any      `json:"auth"` // the user name, or false
}

// Messages returns the messages taken so far, in order.
func (s *SMTPD) Messages(t testing.TB) []Message {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(s.Dir, "*.eml"))
	sort.Strings(names)
	var out []Message
	for _, n := range names {
		raw, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		meta, err := os.ReadFile(strings.TrimSuffix(n, ".eml") + ".json")
		if err != nil {
			t.Fatal(err)
		}
		m := Message{Raw: raw}
		if err := json.Unmarshal(meta, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// AuthLog returns the AUTH attempts the server saw, one a line
// ("PLAIN tls=True").
func (s *SMTPD) AuthLog() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "auth.log"))
	return string(b)
}

// limitedBuffer keeps the first bytes written to it (the server's
// stderr, for failure messages).
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := 64<<10 - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
