package esltest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

// TestFramePlainRoundTrip decodes every plain event of real captures and
// frames it again: the bytes must be FreeSWITCH's.
func TestFramePlainRoundTrip(t *testing.T) {
	for _, name := range []string{"t38_A_plain", "outbound-rx-t38_B-socket_plain", "busy-486_A_plain"} {
		msgs, _ := captureFrames(t, name)
		n := 0
		for _, m := range msgs {
			if m.ContentType() != esl.TypeEventPlain {
				continue
			}
			e, err := esl.ParsePlainEvent(m.Body)
			if err != nil {
				t.Fatal(err)
			}
			got := eventFrame(&event{headers: e.Headers, body: string(e.Body)}, esl.FormatPlain)
			want := []byte("Content-Length: " + m.Get("Content-Length") + "\nContent-Type: text/event-plain\n\n" + string(m.Body))
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: event %s renders differently:\n got: %.300q\nwant: %.300q", name, e.Name(), got, want)
			}
			n++
		}
		if n == 0 {
			t.Fatalf("%s: no events", name)
		}
	}
}

// TestFrameJSONRoundTrip does the same for JSON events.
func TestFrameJSONRoundTrip(t *testing.T) {
	msgs, _ := captureFrames(t, "t38_A_json")
	n := 0
	for _, m := range msgs {
		if m.ContentType() != esl.TypeEventJSON {
			continue
		}
		e, err := esl.ParseJSONEvent(m.Body)
		if err != nil {
			t.Fatal(err)
		}
		got := eventFrame(&event{headers: e.Headers, body: string(e.Body)}, esl.FormatJSON)
		want := []byte("Content-Length: " + m.Get("Content-Length") + "\nContent-Type: text/event-json\n\n" + string(m.Body))
		if !bytes.Equal(got, want) {
			t.Fatalf("event %s renders differently:\n got: %.400q\nwant: %.400q", e.Name(), got, want)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no events")
	}
}

// TestFrameBadHeaderName: a variable name esl cannot frame (from a dial
// string) is left out; the event and its other headers are delivered.
func TestFrameBadHeaderName(t *testing.T) {
	ev := &event{headers: esl.Headers{{Name: "Event-Name", Value: "CHANNEL_CREATE"}, {Name: `variable_a"b`, Value: "1"},
		{Name: "variable_a:b", Value: "2"}, {Name: "variable_c", Value: "3"}}}
	for _, format := range []string{esl.FormatPlain, esl.FormatJSON} {
		got := string(eventFrame(ev, format))
		if !strings.Contains(got, "variable_c") || strings.Contains(got, "variable_a") {
			t.Errorf("%s: %q", format, got)
		}
	}
}
