package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
)

// setupProxy sits between the simulated FreeSWITCH and gofaxd's event
// socket listener and measures each call's setup:
// from the TCP connect to gofaxd's "execute rxfax".
type setupProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup
	mu     sync.Mutex
	setups []time.Duration
}

var rxfaxMarker = []byte("execute-app-name: rxfax")

func startSetupProxy(tb testing.TB, target string) *setupProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &setupProxy{ln: ln, target: target}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t0 := time.Now()
			p.wg.Go(func() { p.pipe(c, t0) })
		}
	})
	tb.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *setupProxy) pipe(c net.Conn, t0 time.Time) {
	defer c.Close()
	d, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer d.Close()
	go func() {
		io.Copy(d, c)
		d.(*net.TCPConn).CloseWrite()
	}()
	buf := make([]byte, 32<<10)
	var tail []byte
	seen := false
	for {
		n, err := d.Read(buf)
		if n > 0 {
			if !seen {
				win := append(tail, buf[:n]...)
				if bytes.Contains(win, rxfaxMarker) {
					seen = true
					p.mu.Lock()
					p.setups = append(p.setups, time.Since(t0))
					p.mu.Unlock()
				}
				tail = append(tail[:0], win[max(0, len(win)-len(rxfaxMarker)):]...)
			}
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// BenchmarkReceiptsSetup measures call setup (TCP connect → execute
// rxfax, p50 and p99) of receptions to a tenant's number, each writing a
// receipt event, with no receipt endpoint and with a webhook endpoint
// that accepts connections and never answers (16 deliveries hanging at
// once, the rest waiting): the receipts must not slow a call.
// receiptCalls calls an iteration, receiptConc at once.
func BenchmarkReceiptsSetup(b *testing.B) {
	for _, hang := range []bool{false, true} {
		name := "no-endpoint"
		if hang {
			name = "hanging-webhook"
		}
		b.Run(name, func(b *testing.B) { receiptsSetup(b, hang) })
	}
}

const (
	receiptCalls = 400
	receiptConc  = 40
)

func receiptsSetup(b *testing.B, hang bool) {
	d := newTenantDB(b)
	var hs *hookServer
	if hang {
		hs = newHookServer(b, 0)
		hs.mu.Lock()
		hs.hang = true
		hs.mu.Unlock()
		d.endpoint(b, hs, gofaxlib.Endpoint{Scope: gofaxlib.ScopeTenant, TenantID: d.acme.ID, Kind: gofaxlib.KindWebhook,
			Target: hs.url + "/hook/never"})
	}
	spool := b.TempDir()
	for _, dir := range []string{"recvq", "log", "status", "etc"} {
		if err := os.Mkdir(filepath.Join(spool, dir), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	cfg := config.Default()
	cfg.HylaFAX.SpoolDir = spool
	cfg.HylaFAX.Modems = 4
	cfg.Gofaxd.EnableT38, cfg.Gofaxd.RequestT38 = true, true
	cfg.Gofaxd.FaxRcvdCmd = "/bin/true"
	withReceipts(d, 0)(cfg)
	cfg.Receipts.Workers, cfg.Receipts.PerTarget = 16, 16
	cfg.Webhooks.Timeout, cfg.Webhooks.HeaderTimeout = time.Hour, time.Hour
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	a, err := Open(cfg, Options{Logger: slog.New(slog.DiscardHandler), Listener: ln})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		a.Shutdown(ctx)
	}()
	deadline := time.Now().Add(time.Minute)
	for a.tenancy.Health() != nil {
		if time.Now().After(deadline) {
			b.Fatalf("no routing: %v", a.tenancy.Health())
		}
		time.Sleep(5 * time.Millisecond)
	}
	proxy := startSetupProxy(b, ln.Addr().String())
	sim := esltest.New(b, esltest.Options{SocketAddr: proxy.ln.Addr().String(), TimeScale: 0.05, KeepRecords: 100})

	b.ResetTimer()
	for range b.N {
		var wg sync.WaitGroup
		sem := make(chan struct{}, receiptConc)
		for i := range receiptCalls {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				sim.PlaceCall(ctx, esltest.InboundCall{Destination: "+4930111111", CallerNumber: fmt.Sprint(5550000 + i)})
			})
		}
		wg.Wait()
	}
	b.StopTimer()
	proxy.mu.Lock()
	setups := slices.Clone(proxy.setups)
	proxy.mu.Unlock()
	slices.Sort(setups)
	if len(setups) != b.N*receiptCalls {
		b.Errorf("%d calls reached rxfax, want %d", len(setups), b.N*receiptCalls)
	}
	if len(setups) == 0 {
		return
	}
	ms := func(q float64) float64 { return float64(setups[int(q*float64(len(setups)-1))].Microseconds()) / 1000 }
	b.ReportMetric(ms(0.5), "setup-p50-ms")
	b.ReportMetric(ms(0.99), "setup-p99-ms")
	b.ReportMetric(ms(1), "setup-max-ms")
	if hang {
		// The events were written and their receipts are stuck in the
		// dispatcher's slots, or waiting: the hanging webhook got them.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for ctx.Err() == nil && hs.hitCount("/hook/never") < 16 {
			time.Sleep(10 * time.Millisecond)
		}
		b.ReportMetric(float64(hs.hitCount("/hook/never")), "webhook-requests-hanging")
	}
}
