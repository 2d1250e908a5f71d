package app

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
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
	if got := e.metric("gofaxd_connections_refused_total"); got != 2 {
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

// TestFitFDLimit: an automatic maxconnections that RLIMIT_NOFILE cannot
// hold is lowered to what it holds (two descriptors a call, fdReserve
// besides), which gofaxd_connections_max shows; a configured one is kept
// and warned about, and so is any when the limit holds no call at all.
func TestFitFDLimit(t *testing.T) {
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	if orig.Max < 3000 {
		t.Skipf("the hard descriptor limit %d is below the cases'", orig.Max)
	}
	setSoft := func(n uint64) {
		t.Helper()
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: n, Max: orig.Max}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { setSoft(orig.Cur) })
	for _, tc := range []struct {
		name      string
		soft      uint64
		conns     int
		automatic bool
		want      int
		wantLevel string // "" when nothing is logged
	}{
		{"fits", 3000, 988, true, 988, ""},
		{"automatic, too many", 2000, 10000, true, 488, "INFO"},
		{"configured, too many", 2000, 10000, false, 10000, "WARN"},
		{"no room for a call", fdReserve + 1, 10000, true, 10000, "WARN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setSoft(tc.soft)
			defer setSoft(orig.Cur)
			var out bytes.Buffer
			if got := fitFDLimit(slog.New(slog.NewTextHandler(&out, nil)), tc.conns, tc.automatic); got != tc.want {
				t.Errorf("bound %d, want %d", got, tc.want)
			}
			switch {
			case tc.wantLevel == "" && out.Len() > 0:
				t.Errorf("logged %q, want nothing", out.String())
			case tc.wantLevel != "" && !strings.Contains(out.String(), "level="+tc.wantLevel+" "):
				t.Errorf("logged %q, want a %s record", out.String(), tc.wantLevel)
			}
		})
	}
	// Through the daemon: the automatic bound in /metrics.
	setSoft(2000)
	e := newEnv(t, 1, nil)
	if got := e.metric("gofaxd_connections_max"); got != 488 {
		t.Errorf("gofaxd_connections_max = %d with a limit of 2000 descriptors, want 488", got)
	}
}
