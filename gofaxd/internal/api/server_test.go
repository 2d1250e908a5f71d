package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/api"
	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// selfSigned writes a certificate for 127.0.0.1 and its key to dir and
// returns their paths and a pool trusting it.
func selfSigned(t testing.TB, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gofaxserver test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	must(t, err)
	certFile, keyFile = filepath.Join(dir, "api.crt"), filepath.Join(dir, "api.key")
	must(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	must(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
	cert, err := x509.ParseCertificate(der)
	must(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLS(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	e := newEnv(t, func(o *api.Options) { o.TLSCert, o.TLSKey = certFile, keyFile })
	e.base = strings.Replace(e.base, "http://", "https://", 1)
	e.client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	expect(t, "HTTPS", e.do(t, "GET", "/v1/tenants", admin, nil), 200)

	res, err := http.Get(strings.Replace(e.base, "https://", "http://", 1) + "/v1/tenants")
	if err == nil {
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP to the TLS port: %d", res.StatusCode)
		}
	}
	if _, err := api.New(api.Options{Store: e.store, TLSCert: certFile}); err == nil {
		t.Error("a certificate without key was accepted")
	}
	bad, err := api.New(api.Options{Store: e.store, TLSCert: keyFile, TLSKey: certFile, Addr: "127.0.0.1:0"})
	must(t, err)
	if err := bad.Open(nil); err == nil {
		bad.Shutdown(context.Background())
		t.Error("Open with an unusable certificate succeeded")
	}
}

// blockingStore holds ListTenants until release is closed, telling
// entered when a request is inside.
type blockingStore struct {
	api.Store
	entered chan struct{}
	release chan struct{}
}

func (s blockingStore) ListTenants(ctx context.Context, p gofaxlib.Page) ([]gofaxlib.Tenant, string, error) {
	s.entered <- struct{}{}
	<-s.release
	return s.Store.ListTenants(ctx, p)
}

// TestOpenShutdown: Open binds before it returns (also a given listener),
// Shutdown waits for a running request and then refuses connections.
func TestOpenShutdown(t *testing.T) {
	t.Parallel()
	store := blockingStore{Store: newStore(t), entered: make(chan struct{}, 1), release: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	srv, err := api.New(api.Options{Store: store, Plan: planDE,
		AdminTokens: []api.AdminToken{{Name: "ops", SHA256: sha256Of(adminToken)}}})
	must(t, err)
	if srv.Addr() != nil {
		t.Error("Addr before Open")
	}
	must(t, srv.Open(ln))
	if srv.Addr().String() != ln.Addr().String() {
		t.Errorf("Addr %v, listener %v", srv.Addr(), ln.Addr())
	}
	if err := srv.Open(nil); err == nil {
		t.Error("second Open succeeded")
	}

	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("GET", "http://"+srv.Addr().String()+"/v1/tenants", nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		res.Body.Close()
		done <- result{status: res.StatusCode}
	}()
	select {
	case <-store.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the request did not reach the handler within 30s")
	}
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		stopped <- srv.Shutdown(ctx)
	}()
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned (%v) while a request was running", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(store.release)
	if r := <-done; r.err != nil || r.status != 200 {
		t.Errorf("running request: %d %v", r.status, r.err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if c, err := net.DialTimeout("tcp", srv.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Error("connections accepted after Shutdown")
	}
}

// TestReadHeaderTimeout: a client that never finishes its headers is cut
// off.
func TestReadHeaderTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *api.Options) { o.ReadHeaderTimeout = 200 * time.Millisecond })
	c, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
	must(t, err)
	defer c.Close()
	c.Write([]byte("GET /v1/tenants HTTP/1.1\r\nHost: x\r\n"))
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	start := time.Now()
	b, _ := io.ReadAll(c)
	if time.Since(start) > 20*time.Second {
		t.Errorf("connection held for %v", time.Since(start))
	}
	if len(b) > 0 && !strings.Contains(string(b), "408") && !strings.Contains(string(b), "400") {
		t.Errorf("answer %q", b)
	}
}
