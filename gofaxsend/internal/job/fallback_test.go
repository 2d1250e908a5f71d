package job

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
	"github.com/gofaxserver/gofaxserver/gofaxlib/freeswitch"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/outcome"
)

// TestFallbackDirections: an entry gofaxd learned on a reception (realm
// fallback-inbound, keyed by a caller ID anyone can claim) leaves T.38 on
// for sending to that number unless [freeswitch] fallbackshared is set;
// an entry in realm fallback (learned on a send, by GOfax.IP or by hand)
// turns it off, unless it is older than fallbackttl.
func TestFallbackDirections(t *testing.T) {
	now := strconv.FormatInt(time.Now().Unix(), 10)
	old := strconv.FormatInt(time.Now().Add(-31*24*time.Hour).Unix(), 10)
	tests := []struct {
		name   string
		realm  string
		value  string
		shared bool
		t38    string // fax_enable_t38 of the call
	}{
		{"learned on a reception", freeswitch.FallbackInboundRealm, now, false, "true"},
		{"learned on a reception and shared", freeswitch.FallbackInboundRealm, now, true, "false"},
		{"learned on a send", freeswitch.FallbackRealm, now, false, "false"},
		{"made by hand", freeswitch.FallbackRealm, "by-hand", false, "false"},
		{"expired", freeswitch.FallbackRealm, old, false, "true"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, esltest.Options{})
			f.cfg.FreeSWITCH.SoftmodemFallback = true
			f.cfg.FreeSWITCH.FallbackShared = tt.shared
			f.sim.SetDB(tt.realm, "5551234", tt.value)
			f.sim.Route("5551234", esltest.Scenario{Outcome: esltest.Success})
			if st := f.run(context.Background(), f.qfile(strconv.Itoa(i+1), "5551234")); st != outcome.Done {
				t.Fatalf("status %v", st)
			}
			if got := f.sim.Calls()[0].Vars["fax_enable_t38"]; got != tt.t38 {
				t.Errorf("fax_enable_t38 = %q, want %q", got, tt.t38)
			}
		})
	}
}
