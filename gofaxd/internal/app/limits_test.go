package app

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
)

// TestMaxConns: the event socket listener serves at most maxConns
// connections at once ([gofaxd] maxconnections, else 2 × modems + 16 with
// allocateinbounddevices and DefaultSharedConns without); one more is
// closed at once, without the connect exchange, and counted in
// gofaxd_connections_refused_total.
func TestMaxConns(t *testing.T) {
	for _, tc := range []struct {
		name string
		g    config.Gofaxd
		want int
	}{
		{"shared", config.Gofaxd{}, DefaultSharedConns},
		{"exclusive", config.Gofaxd{AllocateInboundDevices: true}, 18},
		{"configured", config.Gofaxd{MaxConnections: 7}, 7},
		{"configured exclusive", config.Gofaxd{MaxConnections: 50, AllocateInboundDevices: true}, 50},
	} {
		if got := maxConns(tc.g, 1); got != tc.want {
			t.Errorf("%s: maxConns = %d, want %d", tc.name, got, tc.want)
		}
	}
	const limit = 3
	e := newEnv(t, 1, func(c *config.Config) { c.Gofaxd.MaxConnections = limit })
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
	for i := range 2 {
		if _, line, err := dial(); !errors.Is(err, io.EOF) {
			t.Errorf("connection %d over the bound: %q, %v; want it closed", limit+i+1, line, err)
		}
	}
	if got := e.counter("gofaxd_connections_refused_total"); got != 2 {
		t.Errorf("gofaxd_connections_refused_total = %d, want 2", got)
	}
}

// TestUnitFileLimit: the shipped systemd unit's LimitNOFILE holds the
// descriptors of DefaultSharedConns held calls.
func TestUnitFileLimit(t *testing.T) {
	b, err := os.ReadFile("../../../contrib/systemd/gofaxd.service")
	if err != nil {
		t.Fatal(err)
	}
	limit := 0
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "LimitNOFILE="); ok {
			if limit, err = strconv.Atoi(v); err != nil {
				t.Fatalf("LimitNOFILE=%s: %v", v, err)
			}
		}
	}
	if need := fdsPerConn*DefaultSharedConns + fdReserve; limit < need {
		t.Errorf("LimitNOFILE=%d, want at least %d for %d calls", limit, need, DefaultSharedConns)
	}
}
