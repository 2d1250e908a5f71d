package metrics

import "testing"

// TestServerTimeouts: the metrics listener bounds reading a request's
// headers and keeping an idle connection, so that idle or slow clients
// cannot hold connections forever.
func TestServerTimeouts(t *testing.T) {
	s, err := Listen("127.0.0.1:0", New(), func() error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(t.Context())
	if s.srv.ReadHeaderTimeout <= 0 || s.srv.IdleTimeout <= 0 || s.srv.WriteTimeout <= 0 {
		t.Errorf("ReadHeaderTimeout %v, IdleTimeout %v, WriteTimeout %v; want all set",
			s.srv.ReadHeaderTimeout, s.srv.IdleTimeout, s.srv.WriteTimeout)
	}
}
