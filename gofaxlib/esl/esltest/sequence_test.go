package esltest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

// callEvents are the events the sequence comparisons look at; the
// simulator does not reproduce CHANNEL_STATE, CODEC, CALL_UPDATE,
// HEARTBEAT and the like one for one.
var callEvents = map[string]bool{
	"CHANNEL_CREATE": true, "CHANNEL_PROGRESS": true, "CHANNEL_ANSWER": true,
	"CHANNEL_HANGUP": true, "CHANNEL_HANGUP_COMPLETE": true, "CHANNEL_CALLSTATE": true,
	"CHANNEL_EXECUTE": true, "CHANNEL_EXECUTE_COMPLETE": true, "BACKGROUND_JOB": true,
	"CHANNEL_DESTROY": true, "CHANNEL_PARK": true, "CHANNEL_UNPARK": true, "CUSTOM": true,
}

// describe names a frame for sequence comparison; "" for frames skipped.
func describe(m *esl.Message) string {
	switch m.ContentType() {
	case esl.TypeEventPlain:
		e, err := esl.ParsePlainEvent(m.Body)
		if err != nil {
			return "unparsable event: " + err.Error()
		}
		return describeEvent(e)
	case "text/disconnect-notice":
		return "notice " + m.Get("Content-Disposition")
	}
	return ""
}

// describeEvent names a decoded event for sequence comparison.
func describeEvent(e *esl.Event) string {
	name := e.Name()
	if !callEvents[name] {
		return ""
	}
	d := name
	if sub := e.Subclass(); sub != "" {
		d += " " + sub
	}
	if app := e.Get("Application"); app != "" {
		d += " " + app
		if r := e.Get("Application-Response"); r != "" && name == "CHANNEL_EXECUTE_COMPLETE" {
			d += "=" + r
		}
	}
	if name == "CHANNEL_CALLSTATE" {
		d += " " + e.Get("Original-Channel-Call-State") + ">" + e.Get("Channel-Call-State")
	}
	if name == "CHANNEL_HANGUP" {
		d += " " + e.Get("Hangup-Cause")
	}
	if name == "BACKGROUND_JOB" {
		body := string(e.Body)
		d += " " + strings.Fields(body + " x")[0]
		if strings.HasPrefix(body, "-ERR") {
			d = "BACKGROUND_JOB " + strings.TrimSpace(body)
		}
	}
	if name == "CUSTOM" && strings.HasSuffix(e.Subclass(), "faxresult") {
		d += " " + e.Get("fax-result-code") + "/" + e.Get("fax-document-transferred-pages")
	}
	return d
}

// captureSequence describes a capture's frames and maps each rx_offset of
// its .raw.sent to the number of frames received by then.
func captureSequence(t *testing.T, name string) (seq []string, framesAt map[int]int) {
	t.Helper()
	msgs, ends := captureFrames(t, name)
	framesAt = map[int]int{0: 0}
	n := 0
	for i, m := range msgs {
		if significant(m) {
			n++
		}
		framesAt[int(ends[i])] = n
		if d := describe(m); d != "" {
			seq = append(seq, d)
		}
	}
	return seq, framesAt
}

// significant reports whether a frame counts for pacing a replay: replies,
// notices and the call events both the switch and the simulator send.
func significant(m *esl.Message) bool {
	switch m.ContentType() {
	case "command/reply", "api/response", "auth/request":
		return true
	}
	return describe(m) != ""
}

// frameReader reads frames from the simulator and collects the descriptions.
type frameReader struct {
	t      *testing.T
	rd     *esl.Reader
	n      int
	seq    []string
	last   *esl.Message
	frames []*esl.Message
}

func (f *frameReader) until(n int) {
	f.t.Helper()
	for f.n < n {
		if !f.next() {
			f.t.Fatalf("connection ended after %d frames, want %d; got %q", f.n, n, f.seq)
		}
	}
}

func (f *frameReader) next() bool {
	m, err := f.rd.ReadMessage()
	if err != nil {
		if !errors.Is(err, io.EOF) {
			f.t.Logf("read: %v", err)
		}
		return false
	}
	if significant(m) {
		f.n++
	}
	f.last = m
	f.frames = append(f.frames, m)
	if d := describe(m); d != "" {
		f.seq = append(f.seq, d)
	}
	return true
}

// replay sends the commands of a .raw.sent transcript on nc, each after as
// many frames as the real client had received, and returns the sequence
// the simulator produced. edit rewrites commands (UUIDs, paths).
func replay(t *testing.T, nc net.Conn, name string, edit func(cmd string, f *frameReader) string) *frameReader {
	t.Helper()
	_, framesAt := captureSequence(t, name)
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
	f := &frameReader{t: t, rd: esl.NewReader(nc)}
	for _, c := range readSent(t, name+".raw.sent") {
		n, ok := framesAt[c.rxOffset]
		if !ok {
			t.Fatalf("%s: rx_offset %d is not at a frame boundary", name, c.rxOffset)
		}
		f.until(n)
		cmd := c.text
		if edit != nil {
			cmd = edit(cmd, f)
		}
		if _, err := io.WriteString(nc, cmd); err != nil {
			t.Fatal(err)
		}
	}
	for f.next() {
	}
	return f
}

// captureFrames returns the frames of testdata/<name>.raw and the offset
// just past each.
func captureFrames(t testing.TB, name string) (msgs []*esl.Message, ends []int64) {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name + ".raw")
	if err != nil {
		t.Fatal(err)
	}
	rd := esl.NewReader(bytes.NewReader(data))
	for {
		m, err := rd.ReadMessage()
		if err == io.EOF {
			return msgs, ends
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		msgs = append(msgs, m)
		ends = append(ends, rd.Offset())
	}
}

// compareLayout compares, event by event, the header names other than
// the variables of the simulator's call events with the capture's.
func compareLayout(t *testing.T, got []*esl.Message, name string) {
	t.Helper()
	want, _ := captureFrames(t, name)
	nonVars := func(m *esl.Message) (names []string) {
		for _, h := range m.Headers {
			if !strings.HasPrefix(h.Name, "variable_") {
				names = append(names, h.Name)
			}
		}
		return names
	}
	if len(got) > 0 && len(want) > 0 && want[0].Get("Event-Name") == "CHANNEL_DATA" {
		if g, w := nonVars(got[0]), nonVars(want[0]); !slices.Equal(g, w) {
			t.Errorf("connect reply headers differ:\n got: %q\nwant: %q", g, w)
		}
	}
	layout := func(msgs []*esl.Message) (descs []string, layouts [][]string) {
		for _, m := range msgs {
			d := describe(m)
			if d == "" || m.ContentType() != esl.TypeEventPlain {
				continue
			}
			e, err := esl.ParsePlainEvent(m.Body)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, h := range e.Headers {
				if !strings.HasPrefix(h.Name, "variable_") {
					names = append(names, h.Name)
				}
			}
			descs = append(descs, d)
			layouts = append(layouts, names)
		}
		return descs, layouts
	}
	gd, gl := layout(got)
	wd, wl := layout(want)
	for i := range min(len(gl), len(wl)) {
		if gd[i] != wd[i] || slices.Equal(gl[i], wl[i]) {
			continue
		}
		j := 0
		for j < len(gl[i]) && j < len(wl[i]) && gl[i][j] == wl[i][j] {
			j++
		}
		t.Errorf("%s: headers differ from #%d:\n got: %q\nwant: %q", gd[i], j,
			gl[i][j:min(j+4, len(gl[i]))], wl[i][j:min(j+4, len(wl[i]))])
	}
}

func compareSequence(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("event sequence differs from the capture\ngot:\n  %s\nwant:\n  %s",
			strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestOutboundReplay plays the listener's side of captured outbound-socket
// sessions against PlaceCall and compares the event sequences.
func TestOutboundReplay(t *testing.T) {
	for _, name := range []string{
		"outbound-rx-t38_B-socket_plain",
		"outbound_socket_B_rxfax_session",
		"noeventlock-async-t38_B-socket_plain",
		"eventlock-async-t38_B-socket_plain",
		"sync-mode-t38_B-socket_plain",
	} {
		t.Run(name, func(t *testing.T) {
			sync := strings.HasPrefix(name, "sync-mode")
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			// playback silence_stream://500 lasts 25 ms: long enough for the
			// queued commands to arrive while it runs, as on the real switch.
			s := New(t, Options{SocketAddr: ln.Addr().String(), TimeScale: 0.05, SyncSocket: sync})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			type result struct {
				rec CallRecord
				err error
			}
			done := make(chan result, 1)
			go func() {
				r, err := s.PlaceCall(ctx, InboundCall{CallerNumber: "1111", Destination: "5551236", Scenario: Scenario{T38: true}})
				done <- result{r, err}
			}()
			nc, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			dir := t.TempDir()
			uuid := ""
			got := replay(t, nc, name, func(cmd string, f *frameReader) string {
				if uuid == "" && f.last != nil {
					uuid = esl.DecodeHeaders(f.last.Headers).Get("Unique-ID")
				}
				if strings.HasPrefix(cmd, "filter Unique-ID ") {
					return "filter Unique-ID " + uuid + "\n\n"
				}
				if i := strings.Index(cmd, "/srv/faxspool/"); i >= 0 {
					end := strings.Index(cmd[i:], "\n")
					return cmd[:i] + filepath.Join(dir, "rx.tif") + cmd[i+end:]
				}
				return cmd
			})
			want, _ := captureSequence(t, name)
			compareSequence(t, got.seq, want)
			compareLayout(t, got.frames, name)
			r := <-done
			if r.err != nil {
				t.Fatal(r.err)
			}
			if n, err := CountPages(filepath.Join(dir, "rx.tif")); err != nil || n != 2 {
				t.Errorf("received file: %d pages, %v; want 2", n, err)
			}
			if r.rec.Result == nil || !r.rec.Result.Success || r.rec.Result.Pages != 2 || !r.rec.Result.T38 {
				t.Errorf("result = %+v, want success with 2 pages over T.38", r.rec.Result)
			}
		})
	}
}

// TestInboundReplay replays captured gofaxsend-style originate dialogues
// against routed far ends and compares the call events.
func TestInboundReplay(t *testing.T) {
	doc, err := filepath.Abs("testdata/sent-2page-g3.tif")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		dest string
		sc   Scenario
	}{
		{"t38_A_plain", "5551234", Scenario{T38: true}},
		{"busy-486_A_plain", "5551486", Scenario{Outcome: Busy}},
		{"no-answer_A_plain", "5551180", Scenario{Outcome: NoAnswer}},
		{"farend-hangup-t38_A_plain", "5551238", Scenario{T38: true, HangupAtPage: 2}},
		{"fail-no-route_A_plain", "5559999", Scenario{Outcome: NoRoute}},
		{"missing-document_A_plain", "5551234", Scenario{T38: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(t, Options{TimeScale: 0.01})
			s.Route(tc.dest, tc.sc)
			nc, err := net.Dial("tcp", s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			sent := tc.name + ".raw.sent"
			if _, err := os.Stat("testdata/" + sent); err != nil {
				t.Skip("no transcript")
			}
			got := replay(t, nc, tc.name, func(cmd string, f *frameReader) string {
				if strings.HasPrefix(cmd, "exit") {
					// The real client waited for the call to end; so do we.
					for !slices.ContainsFunc(f.seq, func(d string) bool { return d == "CHANNEL_DESTROY" }) {
						if !f.next() {
							break
						}
					}
				}
				return strings.Replace(cmd, "/srv/faxspool/testdata/test.tif", doc, 1)
			})
			want, _ := captureSequence(t, tc.name)
			compareSequence(t, got.seq, want)
			compareLayout(t, got.frames, tc.name)
		})
	}
}
