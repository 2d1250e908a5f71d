package esltest

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

// replyReader splits an ESL stream into raw frames. One reader serves a
// connection throughout: its buffer may hold the start of the next frame.
type replyReader struct {
	raw   bytes.Buffer
	rd    *esl.Reader
	start int64
}

func newReplyReader(r io.Reader) *replyReader {
	f := &replyReader{}
	f.rd = esl.NewReader(io.TeeReader(r, &f.raw))
	return f
}

// replies returns the raw bytes of the next n frames that are not events
// (auth/request, command/reply, api/response, text/disconnect-notice);
// n < 0 reads all until EOF.
func (f *replyReader) replies(t *testing.T, n int) [][]byte {
	t.Helper()
	var out [][]byte
	for n < 0 || len(out) < n {
		m, err := f.rd.ReadMessage()
		if errors.Is(err, io.EOF) && n < 0 {
			break
		}
		if err != nil {
			t.Fatalf("frame after %d replies: %v", len(out), err)
		}
		end := f.rd.Offset()
		frame := f.raw.Bytes()[f.start:end]
		f.start = end
		if !strings.HasPrefix(m.ContentType(), "text/event-") {
			out = append(out, bytes.Clone(frame))
		}
	}
	return out
}

// TestGofaxsendTranscripts replays gofaxsend's own dialogues with a real
// FreeSWITCH 1.10.12 (copied from ../shared/fixtures/freeswitch/
// transcripts: a T.38 fax and a 486 busy) and checks that every reply of
// the simulator — auth, the named event list, "-ERR no reply" for an
// empty mod_db realm, the Job-UUID filter, bgapi with a Job-UUID, exit —
// is byte for byte what FreeSWITCH sent. Events are not compared.
func TestGofaxsendTranscripts(t *testing.T) {
	for _, name := range []string{"gofaxsend-t38-jobuuid_A_plain", "gofaxsend-busy-jobuuid_A_plain"} {
		t.Run(name, func(t *testing.T) {
			capture, err := os.ReadFile("testdata/" + name + ".raw")
			if err != nil {
				t.Fatal(err)
			}
			sent, err := os.ReadFile("testdata/" + name + ".raw.sent")
			if err != nil {
				t.Fatal(err)
			}
			want := newReplyReader(bytes.NewReader(capture)).replies(t, -1)

			s := New(t, Options{TimeScale: 0.01})
			s.Route("5552486", Scenario{Outcome: Busy})
			nc, err := net.Dial("tcp", s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
			fr := newReplyReader(nc)
			got := fr.replies(t, 1) // auth/request
			cmds := strings.SplitAfter(string(sent), "\n\n")
			for _, cmd := range cmds {
				if cmd == "" {
					continue
				}
				if _, err := io.WriteString(nc, cmd); err != nil {
					t.Fatal(err)
				}
				n := 1
				if strings.HasPrefix(cmd, "exit") {
					n = 2 // +OK bye, then the disconnect notice
				}
				got = append(got, fr.replies(t, n)...)
			}
			if len(got) != len(want) {
				t.Fatalf("%d replies, the capture has %d:\n%q\n%q", len(got), len(want), got, want)
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Errorf("reply %d:\n got %q\nwant %q", i+1, got[i], want[i])
				}
			}
		})
	}
}

// TestRefusals: what mod_event_socket refuses, the simulator refuses with
// the same reply.
func TestRefusals(t *testing.T) {
	s := New(t, Options{})
	nc, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	fr := newReplyReader(nc)
	fr.replies(t, 1) // auth/request
	longJob := "0123456789abcdef0123456789abcdef0123456789"
	tests := []struct{ cmd, reply string }{
		{"api status", "-ERR command not found"}, // before auth
		{"auth ClueCon", "+OK accepted"},
		{"event plain", "-ERR no keywords supplied"},
		{"event plain NO_SUCH_EVENT", "-ERR no keywords supplied"},
		{"event plain NO_SUCH_EVENT channel_answer", "+OK event listener enabled plain"},
		{"event SWITCH_EVENT_CHANNEL_HANGUP", "+OK event listener enabled plain"},
		{"EVENT json BACKGROUND_JOB", "+OK event listener enabled json"},
		{"filter Unique-ID", "-ERR invalid syntax"},
		{"filter Unique-ID abc", "+OK filter added. [Unique-ID]=[abc]"},
		{"filter add Job-UUID x y", "+OK filter added. [Job-UUID]=[x y]"},
		{"filter delete Unique-ID abc", "+OK filter deleted. [Unique-ID][abc]"},
		{"filter delete all", "+OK filter deleted. [all][]"},
		{"nosuchcommand", "-ERR command not found"},
		{"bgapi status\nJob-UUID: " + longJob, "+OK Job-UUID: " + longJob[:36]},
	}
	for _, tt := range tests {
		if _, err := io.WriteString(nc, tt.cmd+"\n\n"); err != nil {
			t.Fatal(err)
		}
		f := fr.replies(t, 1)
		m, err := esl.NewReader(bytes.NewReader(f[0])).ReadMessage()
		if err != nil || m.ReplyText() != tt.reply {
			t.Errorf("%q: reply %q (%v), want %q", tt.cmd, f[0], err, tt.reply)
		}
	}
}
