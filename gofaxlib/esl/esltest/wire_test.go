package esltest

import (
	"bytes"
	"encoding/json"
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
			if m.ContentType() != "text/event-plain" {
				continue
			}
			hs, body := parsePlain(m.Body)
			if hs.Get("Content-Length") != "" {
				hs = hs[:len(hs)-1] // the nested body's length is derived on rendering
			}
			got := eventFrame(&event{headers: hs, body: body}, esl.FormatPlain)
			want := []byte("Content-Length: " + m.Get("Content-Length") + "\nContent-Type: text/event-plain\n\n" + string(m.Body))
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: event %s renders differently:\n got: %.300q\nwant: %.300q", name, hs.Get("Event-Name"), got, want)
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
		if m.ContentType() != "text/event-json" {
			continue
		}
		hs, body := decodeJSONEvent(t, m.Body)
		got := eventFrame(&event{headers: hs, body: body}, esl.FormatJSON)
		want := []byte("Content-Length: " + m.Get("Content-Length") + "\nContent-Type: text/event-json\n\n" + string(m.Body))
		if !bytes.Equal(got, want) {
			t.Fatalf("event %s renders differently:\n got: %.400q\nwant: %.400q", hs.Get("Event-Name"), got, want)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no events")
	}
}

// decodeJSONEvent reads a JSON event keeping member order; arrays become
// "ARRAY::a|:b" as FreeSWITCH stores them.
func decodeJSONEvent(t *testing.T, data []byte) (esl.Headers, string) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var hs esl.Headers
	body := ""
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		name := k.(string)
		switch val := v.(type) {
		case string:
			switch name {
			case "_body":
				body = val
			case "Content-Length":
			default:
				hs = append(hs, esl.Header{Name: name, Value: val})
			}
		case []any:
			var items []string
			for _, it := range val {
				items = append(items, it.(string))
			}
			hs = append(hs, esl.Header{Name: name, Value: "ARRAY::" + strings.Join(items, "|:")})
		default:
			t.Fatalf("member %s of type %T", name, v)
		}
	}
	return hs, body
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
