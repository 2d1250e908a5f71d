package metrics

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestServerDropsStalledClients: a client that never finishes its
// request headers, and a keep-alive connection left idle, are closed by
// the server, so that idle or slow clients cannot hold connections (and
// goroutines) forever. A client that is quick keeps its connection for
// the next request.
func TestServerDropsStalledClients(t *testing.T) {
	oldHeader, oldIdle := readHeaderTimeout, idleTimeout
	readHeaderTimeout, idleTimeout = 300*time.Millisecond, 300*time.Millisecond
	t.Cleanup(func() { readHeaderTimeout, idleTimeout = oldHeader, oldIdle })
	s, err := Listen("127.0.0.1:0", New(), func(context.Context) Health { return Health{} })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())

	closedWithin := func(c net.Conn, br *bufio.Reader) time.Duration {
		t.Helper()
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.Copy(io.Discard, br); err != nil {
			t.Fatalf("the server did not close the connection: %v", err)
		}
		return time.Since(start)
	}
	t.Run("headers never finished", func(t *testing.T) {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("GET /metrics HTTP/1.1\r\nHost: x\r\n")) // no blank line
		if d := closedWithin(c, bufio.NewReader(c)); d < readHeaderTimeout/2 {
			t.Errorf("closed after %v, before the header timeout %v", d, readHeaderTimeout)
		}
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		br := bufio.NewReader(c)
		for range 2 { // the connection serves a second request
			c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Close {
				t.Fatalf("status %d, close %v", resp.StatusCode, resp.Close)
			}
		}
		closedWithin(c, br)
	})
}
