package esltest

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

// BenchmarkPlaceCall measures complete inbound fax calls (2 pages) onto
// a gofaxd-like listener, time compressed to almost nothing.
func BenchmarkPlaceCall(b *testing.B) {
	rc := &receiver{dir: b.TempDir(), t38: true}
	s, err := Start(Options{SocketAddr: startReceiver(b, rc), TimeScale: 1e-6, KeepRecords: 100})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		rec, err := s.PlaceCall(ctx, InboundCall{})
		if err != nil || rec.Result == nil || !rec.Result.Success {
			b.Fatalf("call failed: %v %+v", err, rec.Result)
		}
	}
}

// BenchmarkLoopbackFax measures gofaxsend → simulator → gofaxd calls:
// bgapi originate with txfax, received as rxfax on the listener.
func BenchmarkLoopbackFax(b *testing.B) {
	doc, _ := filepath.Abs("testdata/sent-2page-g3.tif")
	rc := &receiver{dir: b.TempDir(), t38: true}
	s, err := Start(Options{SocketAddr: startReceiver(b, rc), TimeScale: 1e-6, KeepRecords: 100})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cl := dialClient(ctx, b, s, "BACKGROUND_JOB")
	b.ResetTimer()
	for b.Loop() {
		body, uuid := cl.originate(ctx, "{fax_enable_t38=true,fax_enable_t38_request=true}sofia/gateway/gw/5552000 &txfax("+doc+")")
		if !strings.HasPrefix(body, "+OK") {
			b.Fatalf("originate: %q", body)
		}
		if _, err := s.WaitCall(ctx, func(r CallRecord) bool { return r.UUID == uuid && r.Ended }); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFramePlain(b *testing.B) {
	msgs, _ := captureFrames(b, "t38_A_plain")
	var ev *event
	for _, m := range msgs {
		if e, err := esl.ParseEvent(m); err == nil && e.Name() == "CHANNEL_HANGUP_COMPLETE" {
			ev = &event{headers: e.Headers, body: string(e.Body)}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		eventFrame(ev, esl.FormatPlain)
	}
}
