package notify

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
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

// debianPython is Debian's interpreter, which python3-aiosmtpd installs
// into (a python3 earlier in PATH may not have it).
const debianPython = "/usr/bin/python3"

// need skips a test whose tool is missing, except under CI (CI=true),
// which installs everything with contrib/install-deps.sh: there it fails.
func need(t testing.TB, what string, check func() error) {
	t.Helper()
	if err := check(); err != nil {
		msg := fmt.Sprintf("%s not available (%v): contrib/install-deps.sh installs it (make test runs it)", what, err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

func needAiosmtpd(t testing.TB) {
	need(t, "python3-aiosmtpd", func() error {
		return exec.Command(debianPython, "-c", "import aiosmtpd").Run()
	})
}

// testCert is a throwaway self-signed certificate for 127.0.0.1.
type testCert struct {
	certFile, keyFile string
	pool              *x509.CertPool
}

func newTestCert(t testing.TB) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "gofaxserver test smtpd"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := testCert{certFile: filepath.Join(dir, "cert.pem"), keyFile: filepath.Join(dir, "key.pem"), pool: x509.NewCertPool()}
	c.pool.AddCert(cert)
	if err := os.WriteFile(c.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c testCert) clientConfig() *tls.Config { return &tls.Config{RootCAs: c.pool} }

// smtpd is a running testdata/smtpd.py.
type smtpd struct {
	Port int
	Dir  string
}

type smtpdOpts struct {
	mode       string // plain, starttls, tls
	cert       testCert
	user, pass string
	port       int    // 0 = any
	rejectRcpt string // answered 550
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

func startSMTPD(t testing.TB, o smtpdOpts) *smtpd {
	t.Helper()
	needAiosmtpd(t)
	dir := t.TempDir()
	args := []string{"testdata/smtpd.py", "--dir", dir, "--mode", o.mode, "--port", strconv.Itoa(o.port)}
	if o.mode != "plain" {
		args = append(args, "--cert", o.cert.certFile, "--key", o.cert.keyFile)
	}
	if o.user != "" {
		args = append(args, "--user", o.user, "--password", o.pass)
	}
	if o.rejectRcpt != "" {
		args = append(args, "--reject-rcpt", o.rejectRcpt)
	}
	cmd := exec.Command(debianPython, args...)
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
	t.Cleanup(func() {
		stdin.Close() // the script stops at EOF
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill() // our own child, by its PID
			<-exited
		}
	})
	select {
	case port := <-ready:
		return &smtpd{Port: port, Dir: dir}
	case <-exited:
		t.Fatalf("smtpd.py exited: %s", stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("smtpd.py not ready after 60s: %s", stderr)
	}
	return nil
}

// saved is one message the server took.
type saved struct {
	Raw      []byte   `json:"-"`
	MailFrom string   `json:"mail_from"`
	RcptTos  []string `json:"rcpt_tos"`
	TLS      bool     `json:"tls"`
	Auth     any      `json:"auth"` // the user name, or false
}

func (s *smtpd) messages(t testing.TB) []saved {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(s.Dir, "*.eml"))
	sort.Strings(names)
	var out []saved
	for _, n := range names {
		raw, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		meta, err := os.ReadFile(strings.TrimSuffix(n, ".eml") + ".json")
		if err != nil {
			t.Fatal(err)
		}
		m := saved{Raw: raw}
		if err := json.Unmarshal(meta, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func (s *smtpd) authLog() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "auth.log"))
	return string(b)
}

// freePort returns a port nothing listens on (closed right after :0
// gave it).
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// makePDF writes a PDF of n pages with ghostscript.
func makePDF(t testing.TB, n int) []byte {
	t.Helper()
	need(t, "ghostscript", func() error { _, err := exec.LookPath("gs"); return err })
	var ps strings.Builder
	ps.WriteString("/Helvetica findfont 36 scalefont setfont ")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&ps, "72 700 moveto (Fax page %d) show showpage ", i)
	}
	out := filepath.Join(t.TempDir(), "fax.pdf")
	cmd := exec.Command("gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pdfwrite", "-sOutputFile="+out, "-c", ps.String())
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gs: %v: %s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pdfPages opens a PDF with pdfinfo and returns its page count.
func pdfPages(t testing.TB, pdf []byte) int {
	t.Helper()
	need(t, "pdfinfo (poppler-utils)", func() error { _, err := exec.LookPath("pdfinfo"); return err })
	f := filepath.Join(t.TempDir(), "a.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdfinfo", f).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo: %v: %s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "Pages:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	t.Fatalf("pdfinfo printed no page count: %s", out)
	return 0
}
