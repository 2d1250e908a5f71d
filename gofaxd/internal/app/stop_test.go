package app

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/receive"
	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

// blackHoleCall connects to gofaxd's listener as FreeSWITCH's outbound
// socket does, hands over a call's channel data, and then never answers
// a command: a FreeSWITCH that hangs. It returns when the connection
// ends.
func blackHoleCall(t *testing.T, addr string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Error(err)
		return
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for { // "connect" and its blank line
		l, err := br.ReadString('\n')
		if err != nil {
			t.Error(err)
			return
		}
		if l == "\n" {
			break
		}
	}
	c.Write([]byte("Content-Type: command/reply\nReply-Text: +OK\nSocket-Mode: async\nControl: full\n" +
		"Unique-ID: 0f314832-a46f-4293-85fb-140acc5cadeb\nCaller-Caller-ID-Number: 5550003\n" +
		"variable_sip_to_user: 5551236\n\n"))
	io.Copy(io.Discard, c)
}

// TestStopBound: the worst stop. A call whose FreeSWITCH answers nothing
// any more is running, and a faxrcvd of an earlier call hangs; the grace
// is nearly zero. The stop still ends within shutdowngrace +
// StopOverhead, the bound the README and the systemd unit's
// TimeoutStopSec rely on; the hung call is not lost (recorded, or kept
// for the next start), nor is the faxrcvd run.
func TestStopBound(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, func(c *config.Config) {
		script := filepath.Join(c.HylaFAX.SpoolDir, "bin", "hang")
		if err := os.WriteFile(script, []byte(hangingFaxrcvd), 0o755); err != nil {
			t.Fatal(err)
		}
		c.Gofaxd.FaxRcvdCmd = "bin/hang"
	})
	e.call(esltest.InboundCall{})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, running := e.app.queue.Len(); running == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("faxrcvd did not start")
		}
	}
	hole := make(chan struct{})
	go func() {
		defer close(hole)
		blackHoleCall(t, e.app.Addr().String())
	}()
	e.faxq.waitFor(t, "+freeswitch0:I000000002") // the second call began

	const grace = 100 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	start := time.Now()
	if err := e.app.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	<-hole
	if took > grace+StopOverhead {
		t.Errorf("stop took %v, more than shutdowngrace + StopOverhead = %v", took, grace+StopOverhead)
	}
	j := e.app.Journal()
	if p := j.Pending(receive.ConsumerFaxrcvd); len(p) != 1 {
		t.Errorf("%d faxrcvd runs pending after the stop, want the one cut short", len(p))
	}
	recorded := false
	if recs, err := os.ReadFile(filepath.Join(e.spool, "log", "xferfaxlog")); err == nil {
		for _, r := range hylafaxRecs(t, recs) {
			recorded = recorded || r.CommID == "000000002"
		}
	}
	if pending := len(j.Pending(receive.ConsumerRecv)) == 1; recorded == pending {
		t.Errorf("the hung call: recorded %v, kept for the next start %v; want one of them", recorded, pending)
	}
	t.Logf("stop took %v; hung call recorded %v", took, recorded)
}

func hylafaxRecs(t *testing.T, b []byte) []hylafax.XferRecord {
	t.Helper()
	recs, err := hylafax.ParseXferLog(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
