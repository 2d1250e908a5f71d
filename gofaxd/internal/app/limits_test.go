package app

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
)

// TestMaxConns: with allocateinbounddevices the event socket listener
// serves at most 2 × modems + 16 connections at once; one more is closed
// at once, without the connect exchange. Without it (GOfax.IP's default)
// calls beyond the modems are received, so the bound is far higher.
func TestMaxConns(t *testing.T) {
	if got := maxConns(1, false); got != maxSharedConns || got < 2000 {
		t.Fatalf("maxConns(1, false) = %d, want maxSharedConns (≥ 2000)", got)
	}
	e := newEnv(t, 1, func(c *config.Config) { c.Gofaxd.AllocateInboundDevices = true })
	limit := maxConns(1, true)
	if limit != 18 {
		t.Fatalf("maxConns(1, true) = %d, want 18", limit)
	}
	dial := func() (net.Conn, string, error) {
		nc, err := net.Dial("tcp", e.app.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(nc).ReadString('\n')
		return nc, line, err
	}
	for i := range limit {
		// The server speaks first: "connect".
		if _, line, err := dial(); err != nil || !strings.HasPrefix(line, "connect") {
			t.Fatalf("connection %d: %q, %v; want the connect exchange", i+1, line, err)
		}
	}
	if _, line, err := dial(); !errors.Is(err, io.EOF) {
		t.Errorf("connection %d over the bound: %q, %v; want it closed", limit+1, line, err)
	}
}
