package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/receive"
	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

// TestReceiveFailures runs the simulator's failure scenarios: in each the
// pages that arrived are kept, the reason is never empty, and faxrcvd
// runs only when there is a file.
func TestReceiveFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sc     esltest.Scenario
		tweak  func(*config.Config)
		pages  int
		class  string
		reason string // substring of the RECV reason and faxrcvd's reason
		killed bool
		// orphan: gofaxd lost the call's socket and sent uuid_kill over
		// a new connection. As in FreeSWITCH, the simulator closes the
		// socket first and hangs the channel up after it, so the kill
		// may or may not find the channel: rec.Killed is not checked,
		// the kill and the channel's end are.
		orphan bool
		hangup string  // HANGUPCAUSE, "" = don't check
		scale  float64 // simulator time scale, 0 = default
	}{
		{name: "hangup during page 2", sc: esltest.Scenario{T38: true, HangupAtPage: 2},
			pages: 1, class: receive.ClassPartial, reason: "The call dropped prematurely", hangup: "NORMAL_CLEARING"},
		{name: "negotiation failure", sc: esltest.Scenario{Outcome: esltest.NoFax},
			pages: 0, class: receive.ClassFailed, reason: "Timed out waiting for initial communication"},
		{name: "never hangs up", sc: esltest.Scenario{T38: true, NeverHangup: true},
			pages: 2, class: receive.ClassReceived},
		{name: "no progress killed", sc: esltest.Scenario{Outcome: esltest.NoFax},
			tweak: func(c *config.Config) { c.Gofaxd.PageTimeout = 100 * time.Millisecond }, scale: 0.01,
			pages: 0, class: receive.ClassFailed, reason: "Call killed: no fax progress for 100ms", killed: true},
		{name: "maximum call time", sc: esltest.Scenario{Outcome: esltest.NoFax},
			// spandsp's T0 would end the call after 600 ms.
			tweak: func(c *config.Config) { c.Gofaxd.MaxCallTime, c.Gofaxd.PageTimeout = 100*time.Millisecond, 0 }, scale: 0.01,
			pages: 0, class: receive.ClassFailed, reason: "Call killed: call longer than 100ms", killed: true},
		// At this scale page 2 takes 0.5 s: the hangup that follows the
		// socket's end comes first even on a loaded machine.
		{name: "ESL drop keeps pages", sc: esltest.Scenario{T38: true, DropESL: true}, orphan: true, scale: 0.05,
			pages: 1, class: receive.ClassPartial, reason: "Event socket connection lost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvScale(t, 1, tc.scale, tc.tweak)
			rec := e.call(esltest.InboundCall{Scenario: tc.sc})
			if rec.Killed != tc.killed && !tc.orphan {
				t.Errorf("killed = %v, want %v", rec.Killed, tc.killed)
			}
			if kills := e.sim.Kills(); tc.orphan && (!slices.Contains(kills, rec.UUID) || !rec.Ended || rec.HangupCause != "NORMAL_CLEARING") {
				t.Errorf("lost socket: uuid_kills %q for %s, call ended %v with %q; want a kill and NORMAL_CLEARING",
					kills, rec.UUID, rec.Ended, rec.HangupCause)
			}
			file := filepath.Join(e.spool, "recvq", "fax000000001.tif")
			n, err := hylafax.CountTIFFPages(file)
			switch {
			case tc.pages == 0 && !os.IsNotExist(err) && err == nil:
				t.Errorf("file without pages kept (%d pages)", n)
			case tc.pages > 0 && (err != nil || n != tc.pages):
				t.Errorf("file has %d pages (%v), want %d", n, err, tc.pages)
			}
			recs := e.xferlog()
			if len(recs) != 1 || recs[0].Pages != tc.pages || !strings.Contains(recs[0].Reason, tc.reason) ||
				(tc.reason != "") != (recs[0].Reason != "") {
				t.Fatalf("RECV records %+v, want %d pages and reason %q", recs, tc.pages, tc.reason)
			}
			if tc.pages == 0 {
				e.noFaxrcvd("000000001")
			} else {
				args, env := e.faxrcvd("000000001")
				if len(args) != 8 || args[3] != recs[0].Reason {
					t.Errorf("faxrcvd argv %q, reason want %q", args, recs[0].Reason)
				}
				if tc.hangup != "" && env["HANGUPCAUSE"] != tc.hangup {
					t.Errorf("HANGUPCAUSE %q, want %q", env["HANGUPCAUSE"], tc.hangup)
				}
			}
			if got := e.classCount(tc.class); got != 1 {
				t.Errorf("%s count %d, want 1", tc.class, got)
			}
			checkSessionLog(t, e.sessionLog("000000001"), "SESSION BEGIN 000000001")
			// The modem is free again.
			e.faxq.waitFor(t, "+freeswitch0:B", "@freeswitch0:E", "+freeswitch0:R")
		})
	}
}

// dynconfScript records its argv in a file, prints its output and exits
// with the given status.
const dynconfScript = `#!/bin/sh
printf '%%s\n' "$@" > %q
cat <<'END'
%s
END
exit %d
`

func TestDynamicConfig(t *testing.T) {
	for _, tc := range []struct {
		name   string
		output string
		exit   int
		apps   []string // expected in order; a "respond" ends the call
		class  string
	}{
		{"reject", "RejectCall: true", 0, []string{"respond 404"}, receive.ClassRejected},
		{"reject yes quoted", `RejectCall: "yes"`, 0, []string{"respond 404"}, receive.ClassRejected},
		// As faxgetty: a failing script's lines still apply.
		{"reject with exit status 3", "RejectCall: true", 3, []string{"respond 404"}, receive.ClassRejected},
		{"local identifier and t38 off", "LocalIdentifier: \"+49 30 999\"\nEnableT38: no\nRequestT38: false\nbogus line", 0,
			[]string{"answer", "set fax_enable_t38=false", "set fax_enable_t38_request=false", "set fax_ident=+49 30 999", "rxfax"}, receive.ClassReceived},
		{"accept", "RejectCall: false", 0, []string{"answer", "set fax_ident=4711", "rxfax"}, receive.ClassReceived},
		// FreeSWITCH expands ${...} in application arguments: a script's
		// value must not run commands there.
		{"local identifier with variable expansion", "LocalIdentifier: ${system(id)}", 0,
			[]string{"answer", "set fax_ident=system(id)", "rxfax"}, receive.ClassReceived},
	} {
		t.Run(tc.name, func(t *testing.T) {
			argsFile := filepath.Join(t.TempDir(), "dynconf")
			var e *env
			e = newEnv(t, 1, func(c *config.Config) {
				script := filepath.Join(c.HylaFAX.SpoolDir, "bin", "DynamicConfig")
				if err := os.WriteFile(script, fmt.Appendf(nil, dynconfScript, argsFile, tc.output, tc.exit), 0o755); err != nil {
					t.Fatal(err)
				}
				c.Gofaxd.DynamicConfig = "bin/DynamicConfig"
			})
			rec := e.call(esltest.InboundCall{CallerNumber: "5550001", CallerName: "Sender", Gateway: "gw1",
				Scenario: esltest.Scenario{T38: true}})
			var apps []string
			for _, a := range rec.Apps {
				apps = append(apps, strings.TrimSpace(strings.SplitN(a, " /", 2)[0]))
			}
			if !containsInOrder(apps, tc.apps) {
				t.Errorf("apps %q, want %q in order", apps, tc.apps)
			}
			for _, a := range rec.Apps {
				if strings.HasPrefix(a, "set ") && strings.ContainsAny(a, "${}") {
					t.Errorf("app %q can expand variables", a)
				}
			}
			b, err := os.ReadFile(argsFile)
			if want := "freeswitch0\n5550001\nSender\n5551236\ngw1\n"; err != nil || string(b) != want {
				t.Errorf("DynamicConfig argv %q (%v), want %q", b, err, want)
			}
			if got := e.classCount(tc.class); got != 1 {
				t.Errorf("%s count %d", tc.class, got)
			}
			if tc.class == receive.ClassRejected {
				if entries, _ := os.ReadDir(filepath.Join(e.spool, "recvq")); len(entries) != 0 {
					t.Errorf("recvq not empty after a rejected call: %v", entries)
				}
				// The modem went back to ready.
				e.faxq.waitFor(t, "+freeswitch0:B", "+freeswitch0:R")
			}
		})
	}
}

// TestDynamicConfigOverrides: FaxRcvdCmd and RecvFileMode from
// DynamicConfig replace the configured ones for that call.
func TestDynamicConfigOverrides(t *testing.T) {
	var other string
	e := newEnv(t, 1, func(c *config.Config) {
		bin := filepath.Join(c.HylaFAX.SpoolDir, "bin")
		other = filepath.Join(bin, "faxrcvd2")
		if err := os.WriteFile(other, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$0.tmp\" && mv \"$0.tmp\" \"$0.args\"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		script := filepath.Join(bin, "DynamicConfig")
		if err := os.WriteFile(script, []byte("#!/bin/sh\necho 'FaxRcvdCmd: bin/faxrcvd2'\necho 'RecvFileMode: 0640'\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		c.Gofaxd.DynamicConfig = "bin/DynamicConfig"
	})
	e.call(esltest.InboundCall{})
	// faxrcvd runs after the call, from its queue.
	var b []byte
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if b, err = os.ReadFile(other + ".args"); err == nil {
			break
		}
	}
	if err != nil || !strings.HasPrefix(string(b), "recvq/fax000000001.tif\nfreeswitch0\n000000001\n") {
		t.Errorf("FaxRcvdCmd from DynamicConfig: argv %q, %v", b, err)
	}
	e.noFaxrcvd("000000001")
	if fi, err := os.Stat(filepath.Join(e.spool, "recvq", "fax000000001.tif")); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("received file: %v %v, want mode 0640", fi, err)
	}
}

func TestDynamicConfigTimeout(t *testing.T) {
	e := newEnv(t, 1, func(c *config.Config) {
		script := filepath.Join(c.HylaFAX.SpoolDir, "bin", "slow")
		if err := os.WriteFile(script, []byte("#!/bin/sh\necho 'RejectCall: true'\nexec sleep 30\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		c.Gofaxd.DynamicConfig = "bin/slow"
		c.Gofaxd.DynamicConfigTimeout = 50 * time.Millisecond
	})
	start := time.Now()
	rec := e.call(esltest.InboundCall{})
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("call took %v with a hanging DynamicConfig", d)
	}
	// What a killed script printed may be cut off: the call is accepted
	// with the defaults.
	if !slices.ContainsFunc(rec.Apps, func(a string) bool { return strings.HasPrefix(a, "rxfax ") }) {
		t.Errorf("apps %q, want the call received", rec.Apps)
	}
}

// TestAllModemsBusy: gofaxsend holds the only modem. With
// allocateinbounddevices a call is refused with rejectresponse; without
// (GOfax.IP's default) it is received all the same, recorded under the
// modem's name, and the modem stays as it is.
func TestAllModemsBusy(t *testing.T) {
	for _, tc := range []struct {
		name     string
		allocate bool
		response int    // rejectresponse, 0: default
		want     string // the app that answered, "rxfax" when received
	}{
		{"allocate, default response", true, 0, "respond 486"},
		{"allocate, response 503", true, 503, "respond 503"},
		{"no allocate: received", false, 0, "rxfax"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 1, func(c *config.Config) {
				c.Gofaxd.AllocateInboundDevices = tc.allocate
				if tc.response != 0 {
					c.Gofaxd.RejectResponse = tc.response
				}
			})
			f, err := os.OpenFile(filepath.Join(e.spool, "FIFO.freeswitch0"), os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte("SB\x00"))
			e.faxq.waitFor(t, "+freeswitch0:U")
			rec := e.call(esltest.InboundCall{CallerNumber: "5550002"})
			busy, without := e.classCount(receive.ClassBusy), e.metric("gofaxd_calls_without_modem_total")
			if tc.want != "rxfax" {
				if !slices.Equal(rec.Apps, []string{tc.want}) {
					t.Errorf("apps %q, want [%s]", rec.Apps, tc.want)
				}
				if busy != 1 || without != 0 {
					t.Errorf("busy %d, without modem %d; want 1, 0", busy, without)
				}
			} else {
				if !slices.ContainsFunc(rec.Apps, func(a string) bool { return strings.HasPrefix(a, "rxfax ") }) {
					t.Errorf("apps %q, want rxfax", rec.Apps)
				}
				if busy != 0 || without != 1 || e.classCount(receive.ClassReceived) != 1 {
					t.Errorf("busy %d, without modem %d, received %d; want 0, 1, 1", busy, without, e.classCount(receive.ClassReceived))
				}
				args, _ := e.faxrcvd("000000001")
				if len(args) != 8 || args[1] != "freeswitch0" {
					t.Errorf("faxrcvd argv %q, want modem freeswitch0", args)
				}
				if recs := e.xferlog(); len(recs) != 1 || recs[0].Modem != "freeswitch0" || recs[0].Pages != 2 {
					t.Errorf("RECV %+v", recs)
				}
				if s, _ := e.app.Pool().State("freeswitch0"); s.String() != "sending" {
					t.Errorf("modem state %v, want sending", s)
				}
				if !strings.Contains(e.sessionLog("000000001"), "No modem free") {
					t.Error("session log does not say that no modem was free")
				}
			}
			// Released by gofaxsend: the next call takes the modem.
			f.Write([]byte("SR\x00"))
			f.Close()
			e.faxq.waitFor(t, "+freeswitch0:U", "+freeswitch0:R")
			// Records reach faxq in order: whatever the first call made
			// faxq hear came before this ready.
			for _, r := range e.faxq.records() {
				if r == "+freeswitch0:B" || strings.HasPrefix(r, "@freeswitch0:") || r == "+freeswitch0:I000000001" {
					t.Errorf("faxq got %q for a call that held no modem", r)
				}
			}
			rec = e.call(esltest.InboundCall{})
			if !slices.ContainsFunc(rec.Apps, func(a string) bool { return strings.HasPrefix(a, "rxfax ") }) {
				t.Errorf("apps %q, want rxfax", rec.Apps)
			}
			e.faxq.waitFor(t, "+freeswitch0:R", "+freeswitch0:B", "@freeswitch0:B", "@freeswitch0:E", "+freeswitch0:R")
			if e.metric("gofaxd_calls_without_modem_total") != without {
				t.Error("a call that found a free modem counted as without one")
			}
		})
	}
}

func TestRecipientSources(t *testing.T) {
	all := []string{config.RecipientDiversion, config.RecipientHistoryInfo, config.RecipientPCalledPartyID, config.RecipientTo}
	for _, tc := range []struct {
		name    string
		sources []string
		call    esltest.InboundCall
		want    string // "" = refused with screenresponse
	}{
		{"to", []string{config.RecipientTo}, esltest.InboundCall{Destination: "5551236"}, "5551236"},
		{"diversion sip", all, esltest.InboundCall{Diversion: "<sip:5551000@10.0.0.1>;reason=unconditional"}, "5551000"},
		{"diversion plus", all, esltest.InboundCall{Diversion: "<sip:+4930777@10.0.0.1;user=phone>;reason=user-busy"}, "+4930777"},
		{"diversion tel", all, esltest.InboundCall{Diversion: "<tel:+49-30-778>;reason=deflection"}, "+4930778"},
		{"history-info", all, esltest.InboundCall{HistoryInfo: "<sip:4930779@a>;index=1,<sip:1@b>;index=1.1"}, "4930779"},
		{"p-called-party-id", all, esltest.InboundCall{PCalledPartyID: "<sip:+4930780@carrier>"}, "+4930780"},
		{"fallback to To", all, esltest.InboundCall{Destination: "5551237"}, "5551237"},
		{"garbage falls back", all, esltest.InboundCall{Diversion: "<sip:12'3,x@a>", Destination: "5551238"}, "5551238"},
		{"GOfax.IP diversion only, none", []string{config.RecipientDiversion}, esltest.InboundCall{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 1, func(c *config.Config) {
				c.Gofaxd.RecipientFrom = tc.sources
				c.Gofaxd.ScreenResponse = 480 // not the default 404
			})
			rec := e.call(tc.call)
			if tc.want == "" {
				if !slices.Equal(rec.Apps, []string{"respond 480"}) {
					t.Errorf("apps %q, want [respond 480] (screenresponse)", rec.Apps)
				}
				if e.classCount(receive.ClassNoRecipient) != 1 {
					t.Errorf("no_recipient count %d, want 1", e.classCount(receive.ClassNoRecipient))
				}
				return
			}
			args, _ := e.faxrcvd("000000001")
			if len(args) != 8 || args[6] != tc.want {
				t.Errorf("faxrcvd argv %q, want recipient (CallID3) %q", args, tc.want)
			}
		})
	}
}

// TestShutdownKillsAndRecords stops gofaxd in the middle of a reception:
// after the grace period the call is killed, and still recorded.
func TestShutdownKillsAndRecords(t *testing.T) {
	e := newEnvScale(t, 1, 0.05, func(c *config.Config) { c.Gofaxd.PageTimeout = 0 })
	done := make(chan esltest.CallRecord, 1)
	go func() {
		rec, _ := e.sim.PlaceCall(context.Background(), esltest.InboundCall{Scenario: esltest.Scenario{T38: true, Pages: 10}})
		done <- rec
	}()
	// Wait for the first page; each next one needs another 9.6 s * 0.05,
	// the last one comes 4 s later: the stop interrupts the reception even
	// on a loaded machine.
	e.faxq.waitFor(t, "@freeswitch0:P")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := e.app.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	rec := <-done
	if !rec.Killed {
		t.Error("call not killed")
	}
	recs := e.xferlog()
	if len(recs) != 1 || recs[0].Pages < 1 || recs[0].Pages >= 10 || !strings.Contains(recs[0].Reason, "shutting down") {
		t.Fatalf("RECV %+v, want the pages received before the stop and why it ended", recs)
	}
	e.faxrcvd("000000001")
	e.faxq.waitFor(t, "@freeswitch0:E", "+freeswitch0:D")
}

// TestStopCutsFaxrcvd: a faxrcvd still running when the grace and
// FinishTime are over is killed, even though faxrcvdtimeout would let it
// run on, so that a stop is bounded; the fax stays recorded.
func TestStopCutsFaxrcvd(t *testing.T) {
	e := newEnv(t, 1, func(c *config.Config) {
		script := filepath.Join(c.HylaFAX.SpoolDir, "bin", "hang")
		if err := os.WriteFile(script, []byte("#!/bin/sh\necho $$ > \"$0.pid.tmp\" && mv \"$0.pid.tmp\" \"$0.pid\"\nexec sleep 600\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		c.Gofaxd.FaxRcvdCmd = "bin/hang"
	})
	if e.cfg.Gofaxd.FaxRcvdTimeout < time.Minute {
		t.Fatalf("faxrcvdtimeout %v: the test needs one longer than the stop", e.cfg.Gofaxd.FaxRcvdTimeout)
	}
	e.app.finishTime = 200 * time.Millisecond
	if _, err := e.sim.PlaceCall(context.Background(), esltest.InboundCall{}); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(e.spool, "bin", "hang.pid")
	var pid int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if b, err := os.ReadFile(pidFile); err == nil {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("faxrcvd did not start")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- e.app.Shutdown(ctx) }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		syscall.Kill(pid, syscall.SIGKILL) // lets Shutdown and the cleanup end
		t.Fatal("Shutdown still waits for faxrcvd")
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("faxrcvd (pid %d) still running after Shutdown: %v", pid, err)
	}
	if recs := e.xferlog(); len(recs) != 1 || recs[0].Pages != 2 || recs[0].Reason != "" {
		t.Errorf("RECV %+v", recs)
	}
	if e.classCount(receive.ClassReceived) != 1 {
		t.Error("fax not counted as received")
	}
}

// TestNoGoroutineOutlivesCalls runs calls of every kind and checks that
// once gofaxd and the simulator are stopped, the goroutine count is back
// where it started.
func TestNoGoroutineOutlivesCalls(t *testing.T) {
	base := runtime.NumGoroutine()
	t.Cleanup(func() { // runs after every other cleanup
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > base {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Fatalf("%d goroutines, started with %d:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	e := newEnv(t, 2, nil)
	for _, sc := range []esltest.Scenario{{T38: true}, {HangupAtPage: 2}, {DropESL: true}, {NeverHangup: true}, {Outcome: esltest.NoFax}} {
		e.call(esltest.InboundCall{Scenario: sc})
	}
}

func TestAnswerAfterAndWaitTime(t *testing.T) {
	e := newEnv(t, 1, func(c *config.Config) {
		c.Gofaxd.AnswerAfter = 2 * time.Second
		c.Gofaxd.WaitTime = time.Second
	})
	rec := e.call(esltest.InboundCall{})
	want := []string{"ring_ready", "sleep 2000", "answer", "playback silence_stream://1000", "set fax_enable_t38=true"}
	if !containsInOrder(rec.Apps, want) {
		t.Errorf("apps %q, want %q in order", rec.Apps, want)
	}
}

// TestSoftmodemFallback: a caller on the fallback list is received without
// T.38; a caller whose T.38 reception failed after a renegotiation is put
// on the inbound realm under the normalised key (+49 30 … → 4930…), which
// counts for its next call; a list full to fallbackmax loses its oldest
// entry.
func TestSoftmodemFallback(t *testing.T) {
	e := newEnv(t, 1, func(c *config.Config) {
		c.FreeSWITCH.SoftmodemFallback = true
		c.FreeSWITCH.CountryCode = "49"
		c.FreeSWITCH.FallbackMax = 2
	})
	now := time.Now().Unix()
	e.sim.SetDB("fallback", "4930111", strconv.FormatInt(now, 10))
	e.sim.SetDB("fallback-inbound", "4930998", strconv.FormatInt(now-60, 10))
	e.sim.SetDB("fallback-inbound", "4930999", strconv.FormatInt(now-30, 10))
	t38Off := []string{"set fax_enable_t38=false", "set fax_enable_t38_request=false"}
	rec := e.call(esltest.InboundCall{CallerNumber: "030111", Scenario: esltest.Scenario{T38: true}})
	if !containsInOrder(rec.Apps, t38Off) {
		t.Errorf("caller on the fallback list: apps %q, want T.38 off", rec.Apps)
	}
	e.call(esltest.InboundCall{CallerNumber: "+4930222", Scenario: esltest.Scenario{T38: true, Renegotiate: true, HangupAtPage: 2}})
	db := e.sim.DB()
	if _, ok := db["fallback-inbound/4930222"]; !ok {
		t.Errorf("failed T.38 caller not learned: db %v", db)
	}
	if _, ok := db["fallback/4930222"]; ok {
		t.Errorf("a reception taught the realm sends use: db %v", db)
	}
	if _, ok := db["fallback-inbound/4930998"]; ok {
		t.Errorf("fallbackmax 2: the oldest entry stayed: db %v", db)
	}
	rec = e.call(esltest.InboundCall{CallerNumber: "004930222", Scenario: esltest.Scenario{T38: true}})
	if !containsInOrder(rec.Apps, t38Off) {
		t.Errorf("learned caller calls again: apps %q, want T.38 off", rec.Apps)
	}
	// A delivered fax teaches nothing.
	e.call(esltest.InboundCall{CallerNumber: "+4930333", Scenario: esltest.Scenario{T38: true, Renegotiate: true}})
	for k := range e.sim.DB() {
		if strings.HasSuffix(k, "/4930333") {
			t.Errorf("delivered caller learned: %s", k)
		}
	}
}

// TestCommandsMatchCapture checks that gofaxd sends, on the outbound
// socket, the commands of the captured real receive session
// (testdata/outbound-rx-t38_B-socket_plain.raw.sent), in the same order,
// with the same settings as that session (answer after 500 ms, 500 ms of
// silence, T.38, ident 3333). Differences that must exist: the channel
// uuid and file name, and gofaxd's event-lock header on every execute.
func TestCommandsMatchCapture(t *testing.T) {
	want := readSent(t, "testdata/outbound-rx-t38_B-socket_plain.raw.sent")
	e := newEnv(t, 1, func(c *config.Config) {
		c.Gofaxd.AnswerAfter = 500 * time.Millisecond
		c.Gofaxd.WaitTime = 500 * time.Millisecond
		c.FreeSWITCH.Ident = "3333"
	})
	rec := e.call(esltest.InboundCall{Scenario: esltest.Scenario{T38: true}})
	var got []string
	for _, cr := range e.sim.Conns() {
		if cr.Outbound && cr.UUID == rec.UUID {
			for _, c := range cr.Commands {
				got = append(got, normCommand(c.Line, c.Headers, rec.UUID))
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("commands differ from the capture\n got: %q\nwant: %q", got, want)
	}
}

// readSent returns the commands of a .raw.sent capture, normalised.
func readSent(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var uuid string
	for _, block := range strings.Split(string(b), "--- t=")[1:] {
		lines := strings.Split(strings.TrimSpace(block), "\n")[1:] // drop the rest of the marker line
		line := lines[0]
		if u, ok := strings.CutPrefix(line, "filter Unique-ID "); ok {
			uuid = u
		}
		var hs esl.Headers
		for _, l := range lines[1:] {
			if k, v, ok := strings.Cut(l, ": "); ok {
				hs = append(hs, esl.Header{Name: k, Value: v})
			}
		}
		out = append(out, normCommand(line, hs, uuid))
	}
	return out
}

// normCommand writes a command as one comparable line: the channel uuid
// and rxfax's file become placeholders, event-lock is left out.
func normCommand(line string, hs esl.Headers, uuid string) string {
	var b strings.Builder
	b.WriteString(line)
	for _, h := range hs {
		if h.Name == "event-lock" {
			continue
		}
		v := h.Value
		if h.Name == "execute-app-arg" && strings.HasSuffix(v, ".tif") {
			v = "<file>"
		}
		b.WriteString(" | " + h.Name + ": " + v)
	}
	s := b.String()
	if uuid != "" {
		s = strings.ReplaceAll(s, uuid, "<uuid>")
	}
	return s
}

// TestFaxqRestartMidCall: faxq goes away during a reception and comes
// back (greeting the modems with HELLO). The new faxq learns that the
// modem is busy with that call, and that it is ready once the call ended.
func TestFaxqRestartMidCall(t *testing.T) {
	e := newEnvScale(t, 1, 0.05, nil) // the call lasts about 1.7 s
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.sim.PlaceCall(context.Background(), esltest.InboundCall{Scenario: esltest.Scenario{T38: true}})
	}()
	e.faxq.waitFor(t, "@freeswitch0:S")
	e.faxq.r.Close() // faxq stops
	e.faxq.wg.Wait()
	q := startFaxqReader(t, e.spool)
	f, err := os.OpenFile(filepath.Join(e.spool, "FIFO.freeswitch0"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("HELLO\x00"))
	f.Close()
	q.waitFor(t, "+freeswitch0:N4711", "+freeswitch0:B", "+freeswitch0:I000000001")
	<-done
	e.waitEnded(1)
	q.waitFor(t, "+freeswitch0:B", "@freeswitch0:E", "+freeswitch0:R")
	if recs := e.xferlog(); len(recs) != 1 || recs[0].Pages != 2 || recs[0].Reason != "" {
		t.Errorf("RECV %+v", recs)
	}
}

func TestFaxrcvdTimeout(t *testing.T) {
	e := newEnv(t, 1, func(c *config.Config) {
		script := filepath.Join(c.HylaFAX.SpoolDir, "bin", "hang")
		if err := os.WriteFile(script, []byte("#!/bin/sh\necho about to hang\nexec sleep 30\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		c.Gofaxd.FaxRcvdCmd = "bin/hang"
		c.Gofaxd.FaxRcvdTimeout = 100 * time.Millisecond
	})
	start := time.Now()
	e.call(esltest.InboundCall{})
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("call took %v with a hanging faxrcvd", d)
	}
	if e.classCount(receive.ClassReceived) != 1 {
		t.Error("fax not counted as received")
	}
	// The modem was free before faxrcvd ran.
	e.faxq.waitFor(t, "@freeswitch0:E", "+freeswitch0:R")
}

// TestSentFaxesCounted: the job results gofaxsend writes to FIFO.<modem>
// before its SR show in /metrics by outcome, with their pages; records
// that are not valid results count nothing.
func TestSentFaxesCounted(t *testing.T) {
	e := newEnv(t, 2, func(c *config.Config) { c.Gofaxd.Metrics = "127.0.0.1:0" })
	write := func(modem, recs string) {
		t.Helper()
		f, err := os.OpenFile(filepath.Join(e.spool, "FIFO."+modem), os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(recs); err != nil {
			t.Fatal(err)
		}
	}
	write("freeswitch0", "SB\x00R17:retry:1\x00SR\x00")
	write("freeswitch1", "SB\x00R18:done:3\x00SR\x00R17:done:2\nR19:failed:0\x00")
	write("freeswitch0", "R20:reformat:0\x00R21:bogus:1\x00R22:done:-1\x00R:done:1\x00R23:done\x00")
	// The last record tells when the ones before have been read.
	write("freeswitch0", "R24:failed:4\x00")
	want := []string{
		`gofaxd_faxes_sent_total{result="done"} 2`,
		`gofaxd_faxes_sent_total{result="retry"} 1`,
		`gofaxd_faxes_sent_total{result="failed"} 2`,
		`gofaxd_faxes_sent_total{result="reformat"} 1`,
		"gofaxd_pages_sent_total 10",
	}
	url := "http://" + e.app.MetricsAddr().String() + "/metrics"
	var body string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		body = scrape(t, url)
		if strings.Contains(body, want[2]) || time.Now().After(deadline) {
			break
		}
	}
	for _, w := range want {
		if !strings.Contains(body, w+"\n") {
			t.Errorf("/metrics lacks %q", w)
		}
	}
	// Job results change no modem state.
	e.faxq.waitFor(t, "+freeswitch0:U", "+freeswitch0:R")
	for _, m := range e.app.Pool().Names() {
		if s, _ := e.app.Pool().State(m); s.String() != "ready" {
			t.Errorf("%s is %v after the jobs, want ready", m, s)
		}
	}
	if e.ended() != 0 {
		t.Errorf("%d inbound calls counted, want 0", e.ended())
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

// TestPageTimesRoundedUp: FaxRecvTime is each page's time rounded up to
// whole seconds. At this time scale the simulator's pages take 1.5 s and
// 1.2 s (11.9 s and 9.6 s in real time); truncated, as spandsp writes it,
// both would be 1.
func TestPageTimesRoundedUp(t *testing.T) {
	e := newEnvScale(t, 1, 0.13, nil)
	e.call(esltest.InboundCall{Scenario: esltest.Scenario{T38: true}})
	pages, err := hylafax.TIFFPages(filepath.Join(e.spool, "recvq", "fax000000001.tif"))
	if err != nil || len(pages) != 2 {
		t.Fatalf("received file: %d pages, %v", len(pages), err)
	}
	for i, p := range pages {
		if p.FaxRecvTime < 2 {
			t.Errorf("page %d: FaxRecvTime %d, want at least 2", i+1, p.FaxRecvTime)
		}
	}
}
