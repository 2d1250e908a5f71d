package notify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/notify/notifytest"
)

// need skips a test whose tool is missing, except under CI (CI=true),
// which installs everything with contrib/install-deps.sh: there it fails.
func need(t testing.TB, what string, check func() error) {
	t.Helper()
	notifytest.Need(t, what, check)
}

func needAiosmtpd(t testing.TB) { notifytest.NeedAiosmtpd(t) }

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

// smtpd is a running smtpd.py (notifytest).
type smtpd struct {
	*notifytest.SMTPD
}

type smtpdOpts struct {
	mode       string // plain, starttls, tls
	cert       testCert
	user, pass string
	port       int    // 0 = any
	rejectRcpt string // answered 550
}

func startSMTPD(t testing.TB, o smtpdOpts) *smtpd {
	t.Helper()
	return &smtpd{notifytest.StartSMTPD(t, notifytest.SMTPDOptions{Mode: o.mode, CertFile: o.cert.certFile,
		KeyFile: o.cert.keyFile, User: o.user, Password: o.pass, Port: o.port, RejectRcpt: o.rejectRcpt})}
}

// saved is one message the server took.
type saved = notifytest.Message

func (s *smtpd) messages(t testing.TB) []saved { return s.Messages(t) }

func (s *smtpd) authLog() string { return s.AuthLog() }

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
