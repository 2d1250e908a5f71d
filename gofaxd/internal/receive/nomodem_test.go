package receive

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestNoModemLoggedRarely: calls received without a modem are logged at
// most once every noModemEvery, with how many there were; the metric
// counts each (Outcome.WithoutModem).
func TestNoModemLoggedRarely(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	h := &Handler{}
	for range 5 {
		h.warnNoModem(log)
	}
	if n := strings.Count(buf.String(), "no modem free"); n != 1 || !strings.Contains(buf.String(), "calls=1") {
		t.Fatalf("5 calls: %d warnings:\n%s", n, buf.String())
	}
	h.noModem.last = h.noModem.last.Add(-noModemEvery)
	h.warnNoModem(log)
	if n := strings.Count(buf.String(), "no modem free"); n != 2 || !strings.Contains(buf.String(), "calls=5") {
		t.Fatalf("after the interval: %d warnings:\n%s", n, buf.String())
	}
	h.noModem.last = time.Now()
	h.warnNoModem(log)
	if n := strings.Count(buf.String(), "no modem free"); n != 2 {
		t.Errorf("within the interval: %d warnings", n)
	}
}
