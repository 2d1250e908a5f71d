package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestScript: the capture replays as 14 commands answered, 119,178 bytes
// in all, with rxfax's file written before spandsp's result.
func TestScript(t *testing.T) {
	raw, _ := testdata.ReadFile("testdata/outbound-rx-t38_B-socket_plain.raw")
	sent, _ := testdata.ReadFile("testdata/outbound-rx-t38_B-socket_plain.raw.sent")
	s, err := loadScript(raw, sent)
	if err != nil {
		t.Fatal(err)
	}
	if s.commands() != 14 || s.rawBytes != 119178 {
		t.Errorf("%d commands, %d bytes; want 14 and 119178", s.commands(), s.rawBytes)
	}
	want := []string{"connect", "linger", "filter Unique-ID <uuid>", "event plain CHANNEL_CALLSTATE CHANNEL_EXECUTE_COMPLETE CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE CUSTOM spandsp::rxfaxnegociateresult spandsp::rxfaxpageresult spandsp::rxfaxresult",
		"sendmsg execute ring_ready", "sendmsg execute sleep 500", "sendmsg execute answer", "sendmsg execute playback silence_stream://500",
		"sendmsg execute set fax_enable_t38=true", "sendmsg execute set fax_enable_t38_request=true", "sendmsg execute set fax_ident=3333",
		"sendmsg execute rxfax", "sendmsg hangup NORMAL_CLEARING", "exit"}
	total, pages, results := 0, 0, 0
	uuid := newUUID()
	for i, st := range s.steps {
		if i < len(want) && st.want != want[i] {
			t.Errorf("command %d: %q, want %q", i+1, st.want, want[i])
		}
		if st.rxfax != (i == 11) {
			t.Errorf("command %d: rxfax %v", i+1, st.rxfax)
		}
		for _, f := range st.frames {
			total += len(f.b)
			b := appendFrame(nil, &f, uuid)
			if bytes.Contains(b, []byte(s.uuid)) || len(b) != len(f.b) {
				t.Fatalf("command %d: the captured UUID is left in a frame", i+1)
			}
			switch f.kind {
			case framePage:
				pages++
			case frameResult:
				results++
			}
		}
	}
	if total != len(raw) || pages != 2 || results != 1 {
		t.Errorf("%d bytes in frames, %d pages, %d results; want %d, 2, 1", total, pages, results, len(raw))
	}
}

// TestRun runs a few calls of two scenarios against a real gofaxd built
// from this tree.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs gofaxd")
	}
	bin := filepath.Join(t.TempDir(), "gofaxd")
	if out, err := exec.Command("go", "build", "-o", bin, "../../gofaxd").CombinedOutput(); err != nil {
		t.Fatalf("building gofaxd: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errs bytes.Buffer
	err := run(ctx, []string{"-gofaxd", bin, "-tmp", t.TempDir(), "-scenario", "light,burst1000", "-calls", "8", "-runs", "1"}, &out, &errs)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out.String(), errs.String())
	}
	for _, want := range []string{"light      load", "8 calls, 0 failed, 8 received", "burst1000  load", "calls received", "verdict"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if testing.Verbose() {
		os.Stdout.Write(out.Bytes())
	}
}

// TestShare: a burst's window set against both processes' CPU, and the
// machine's idle share in it.
func TestShare(t *testing.T) {
	ms := time.Millisecond
	from := mark{gofaxd: procStat{cpu: 100 * ms}, self: 50 * ms, idle: 1000 * ms}
	for _, tc := range []struct {
		name            string
		to              mark
		window          time.Duration
		wantBound, idle float64
	}{
		// 400 ms of gofaxd and 200 of faxload fill two CPUs for 300 ms.
		{"saturated", mark{gofaxd: procStat{cpu: 500 * ms}, self: 250 * ms, idle: 1000 * ms}, 300 * ms, 1, 0},
		// The same CPU in 400 ms: 200 ms of the 800 idle.
		{"a quarter idle", mark{gofaxd: procStat{cpu: 500 * ms}, self: 250 * ms, idle: 1200 * ms}, 400 * ms, 400.0 / 300, 0.25},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := share(from, tc.to, tc.window, 2)
			if b.faxload != 200*ms || math.Abs(b.bound-tc.wantBound) > 1e-9 || math.Abs(b.idle-tc.idle) > 1e-9 {
				t.Errorf("share = %+v, want faxload 200ms, bound %v, idle %v", b, tc.wantBound, tc.idle)
			}
		})
	}
	if idleCPU() <= 0 {
		t.Error("no idle time read from /proc/stat")
	}
}
