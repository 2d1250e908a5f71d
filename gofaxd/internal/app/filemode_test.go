package app

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
)

// TestReceivingMode: [hylafax] receivingmode is the received file's mode
// while FreeSWITCH writes it, recvfilemode its mode afterwards; run as
// root in a spool of another user (uucp), gofaxd gives the files to that
// user.
func TestReceivingMode(t *testing.T) {
	root := os.Geteuid() == 0
	const uucp = 65534
	e := newEnvScale(t, 1, 0.05, func(c *config.Config) {
		c.HylaFAX.ReceivingMode = 0o660
		c.HylaFAX.RecvFileMode = 0o640
		if root {
			if err := os.Chown(filepath.Join(c.HylaFAX.SpoolDir, "recvq"), uucp, uucp); err != nil {
				t.Fatal(err)
			}
		}
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.sim.PlaceCall(context.Background(), esltest.InboundCall{Scenario: esltest.Scenario{T38: true}})
	}()
	file := filepath.Join(e.spool, "recvq", "fax000000001.tif")
	check := func(when string, mode os.FileMode) {
		t.Helper()
		fi, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", when, fi.Mode().Perm(), mode)
		}
		if st := fi.Sys().(*syscall.Stat_t); root && (st.Uid != uucp || st.Gid != uucp) {
			t.Errorf("%s: owner %d:%d, want the spool's %d:%d", when, st.Uid, st.Gid, uucp, uucp)
		}
	}
	e.faxq.waitFor(t, "@freeswitch0:S") // FreeSWITCH is writing the file
	check("during the reception", 0o660)
	<-done
	e.waitEnded(1)
	check("after the reception", 0o640)
}
