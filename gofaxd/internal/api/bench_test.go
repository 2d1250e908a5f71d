package api_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/api"
	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// BenchmarkGetFax measures GET /v1/faxes/{id} (a fax with two attempts)
// with API-key authentication over keep-alive connections, plain HTTP and
// TLS, the database local; it reports requests per second. Run e.g.
//
//	GOFAX_TEST_POSTGRES=1 go test -run '^$' -bench GetFax -benchtime 20000x ./gofaxd/internal/api
func BenchmarkGetFax(b *testing.B) {
	for _, mode := range []string{"http", "tls"} {
		b.Run(mode, func(b *testing.B) {
			var opts []func(*api.Options)
			var tcfg *tls.Config
			if mode == "tls" {
				certFile, keyFile, pool := selfSigned(b, b.TempDir())
				opts = append(opts, func(o *api.Options) { o.TLSCert, o.TLSKey = certFile, keyFile })
				tcfg = &tls.Config{RootCAs: pool}
			}
			opts = append(opts, func(o *api.Options) { o.Logger = nil })
			e := newEnv(b, opts...)
			w := makeWorld(b, e)
			ctx := testCtx(b)
			a := gofaxlib.Attempt{FaxID: w.a.faxOut.ID, Started: time.Now().Add(-time.Minute), HangupCause: "USER_BUSY", Gateway: "carrierA"}
			_, err := e.store.RecordAttempt(ctx, "bench-1", &a)
			must(b, err)
			a = gofaxlib.Attempt{FaxID: w.a.faxOut.ID, Started: time.Now(), HangupCause: "NORMAL_CLEARING", ResultText: "OK",
				Success: true, PagesTotal: 2, PagesTransferred: 2, Gateway: "carrierA"}
			_, err = e.store.RecordAttempt(ctx, "bench-2", &a)
			must(b, err)
			url := e.base + "/v1/faxes/" + w.a.faxOut.ID
			if mode == "tls" {
				url = strings.Replace(url, "http://", "https://", 1)
			}
			tr := &http.Transport{MaxIdleConnsPerHost: 64, TLSClientConfig: tcfg}
			client := &http.Client{Transport: tr, Timeout: time.Minute}
			defer tr.CloseIdleConnections()
			get := func() error {
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Authorization", "Bearer "+w.a.userKey)
				res, err := client.Do(req)
				if err != nil {
					return err
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Errorf("status %d", res.StatusCode)
				}
				return nil
			}
			must(b, get()) // warm: connection, key cache
			b.SetParallelism(4)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := get(); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}
