package esl

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

// captureEvents returns every event of a capture, decoded.
func captureEvents(t *testing.T, name string) []*Event {
	t.Helper()
	raw, err := os.ReadFile("testdata/transcripts/" + name + ".raw")
	if err != nil {
		t.Fatal(err)
	}
	var evs []*Event
	for i, m := range readAll(t, bytes.NewReader(raw)) {
		switch m.ContentType() {
		case TypeEventPlain, TypeEventJSON:
			e, err := ParseEvent(m)
			if err != nil {
				t.Fatalf("%s message %d: %v", name, i, err)
			}
			evs = append(evs, e)
		}
	}
	return evs
}

// find returns the events whose Event-Name (or, for CUSTOM, subclass) is name.
func find(evs []*Event, name string) []*Event {
	var out []*Event
	for _, e := range evs {
		if e.Name() == name || e.Subclass() == name {
			out = append(out, e)
		}
	}
	return out
}

// TestFaxResultGolden checks the spandsp result events of the captures
// against what the scenarios say, in plain and JSON alike.
func TestFaxResultGolden(t *testing.T) {
	ok := "success=1 code=0 text=OK pages=2/2 rate=14400 ecm=on"
	dropped := "success=0 code=49 text=The call dropped prematurely"
	tests := []struct {
		capture string
		result  string
		want    string
	}{
		{"t38_A", "spandsp::txfaxresult", ok + " t38=negotiated remote=2222"},
		{"t38_B", "spandsp::rxfaxresult", ok + " t38=negotiated remote=1111"},
		{"g711_A", "spandsp::txfaxresult", ok + " t38=off remote=2222"},
		{"g711_B", "spandsp::rxfaxresult", ok + " t38=off remote=1111"},
		{"farend-hangup-t38_A", "spandsp::txfaxresult", dropped + " pages=1/2 rate=14400 ecm=on t38=negotiated remote=2225"},
		{"farend-hangup-t38_B", "spandsp::rxfaxresult", dropped + " pages=1/1 rate=14400 ecm=on t38=negotiated remote=1111"},
	}
	for _, tt := range tests {
		for _, format := range []string{"plain", "json"} {
			t.Run(tt.capture+"_"+format, func(t *testing.T) {
				evs := captureEvents(t, tt.capture+"_"+format)
				res := find(evs, tt.result)
				if len(res) != 1 {
					t.Fatalf("%d %s events, want 1", len(res), tt.result)
				}
				e := res[0]
				if e.Format != format || e.Name() != "CUSTOM" {
					t.Errorf("format %q name %q", e.Format, e.Name())
				}
				got := fmt.Sprintf("success=%s code=%s text=%s pages=%s/%s rate=%s ecm=%s t38=%s remote=%s",
					e.Get("fax-success"), e.Get("fax-result-code"), e.Get("fax-result-text"),
					e.Get("fax-document-transferred-pages"), e.Get("fax-document-total-pages"),
					e.Get("fax-transfer-rate"), e.Get("fax-ecm-used"), e.Get("fax-t38-status"),
					e.Get("fax-remote-station-id"))
				if got != tt.want {
					t.Errorf("got  %s\nwant %s", got, tt.want)
				}
			})
		}
	}
}

// TestPlainAndJSONAgree checks that a JSON capture's events decode to
// the same values as the plain one's where both carry the same call data.
func TestPlainAndJSONAgree(t *testing.T) {
	for _, capture := range []string{"t38_A", "t38_B", "g711_A", "busy-486_A", "farend-hangup-t38_B"} {
		t.Run(capture, func(t *testing.T) {
			plain := captureEvents(t, capture+"_plain")
			js := captureEvents(t, capture+"_json")
			for _, name := range []string{"BACKGROUND_JOB", "CHANNEL_HANGUP_COMPLETE", "spandsp::txfaxresult", "spandsp::rxfaxresult"} {
				p, j := find(plain, name), find(js, name)
				if len(p) != len(j) {
					t.Errorf("%s: %d plain, %d json", name, len(p), len(j))
					continue
				}
				for i := range p {
					// Same header names in the same order, and the same
					// values for the headers that do not depend on the run.
					var pn, jn []string
					for _, h := range p[i].Headers {
						pn = append(pn, h.Name)
					}
					for _, h := range j[i].Headers {
						jn = append(jn, h.Name)
					}
					if strings.Join(pn, ",") != strings.Join(jn, ",") {
						t.Errorf("%s: header names differ:\n%v\n%v", name, pn, jn)
					}
					for _, h := range []string{"Event-Name", "Event-Subclass", "Hangup-Cause", "variable_DP_MATCH", "variable_fax_success", "fax-result-code", "fax-document-transferred-pages", "Job-Command"} {
						if p[i].Get(h) != j[i].Get(h) {
							t.Errorf("%s %s: plain %q, json %q", name, h, p[i].Get(h), j[i].Get(h))
						}
					}
					if (len(p[i].Body) == 0) != (len(j[i].Body) == 0) {
						t.Errorf("%s: body %q vs %q", name, p[i].Body, j[i].Body)
					}
				}
			}
		})
	}
}

func TestBackgroundJobGolden(t *testing.T) {
	tests := []struct{ capture, body string }{
		{"fail-no-route_A_plain", "-ERR NO_ROUTE_DESTINATION\n"},
		{"busy-486_A_plain", "-ERR USER_BUSY\n"},
		{"busy-486_A_json", "-ERR USER_BUSY\n"},
		{"reject-603_A_plain", "-ERR CALL_REJECTED\n"},
		{"notfound-404_A_plain", "-ERR UNALLOCATED_NUMBER\n"},
		{"no-answer_A_plain", "-ERR NO_ANSWER\n"},
		{"t38_A_plain", "+OK 55b8d285-a364-4e47-847a-957b30a744ec\n"},
	}
	for _, tt := range tests {
		t.Run(tt.capture, func(t *testing.T) {
			jobs := find(captureEvents(t, tt.capture), "BACKGROUND_JOB")
			if len(jobs) != 1 {
				t.Fatalf("%d BACKGROUND_JOB events", len(jobs))
			}
			if string(jobs[0].Body) != tt.body || jobs[0].JobUUID() == "" || jobs[0].Get("Job-Command") != "originate" {
				t.Errorf("body %q job %q", jobs[0].Body, jobs[0].JobUUID())
			}
			if !strings.HasPrefix(jobs[0].Get("Job-Command-Arg"), "{fax_ident=1111,") {
				t.Errorf("Job-Command-Arg %q not decoded", jobs[0].Get("Job-Command-Arg"))
			}
		})
	}
}

func TestEventAccessors(t *testing.T) {
	evs := captureEvents(t, "t38_B_plain")
	ex := find(evs, "CHANNEL_EXECUTE")[0]
	if ex.UUID() == "" || ex.UUID() != ex.Get("unique-id") {
		t.Errorf("UUID %q, case-insensitive %q", ex.UUID(), ex.Get("unique-id"))
	}
	if got := ex.Array("variable_DP_MATCH"); len(got) != 2 || got[0] != "5551234" || got[1] != "5551234" {
		t.Errorf("DP_MATCH %q", got)
	}
	if ex.Var("DP_MATCH") != "ARRAY::5551234|:5551234" {
		t.Errorf("Var %q", ex.Var("DP_MATCH"))
	}
	if got := ex.Array("Event-Name"); len(got) != 1 || got[0] != "CHANNEL_EXECUTE" {
		t.Errorf("Array of a plain value: %q", got)
	}
	if ex.Array("no-such-header") != nil {
		t.Error("Array of a missing header")
	}
	res := find(evs, "spandsp::rxfaxresult")[0]
	if res.Subclass() != "spandsp::rxfaxresult" || res.Var("fax_success") != "" && res.Var("fax_success") != "1" {
		t.Errorf("subclass %q", res.Subclass())
	}
	h := Headers{{"A", "1"}, {"a", "2"}, {"B", "3"}}
	if h.Get("a") != "2" || h.Get("A") != "1" || h.Get("b") != "3" || h.Get("c") != "" {
		t.Error("Get: exact match first, then case-insensitive")
	}
	if v := h.Values("A"); len(v) != 2 {
		t.Errorf("Values %q", v)
	}
}

func TestURLCoding(t *testing.T) {
	tests := []struct{ plain, encoded string }{
		{"", ""},
		{"abc-_.~/(),!*'$", "abc-_.~/(),!*'$"},
		{"spandsp::txfaxresult", "spandsp%3A%3Atxfaxresult"},
		{"2026-11-22 06:13:54", "2026-11-22%2006%3A13%3A54"},
		{"+OK\n", "%2BOK%0A"},
		{"a@b;c=d<e>|\"{}&%#?[]^`\\\r", "a%40b%3Bc%3Dd%3Ce%3E%7C%22%7B%7D%26%25%23%3F%5B%5D%5E%60%5C%0D"},
		{"\x00\x1f\x7f\xc3\xa9", "%00%1F%7F%C3%A9"},
		{"%Y%m%d", "%25Y%25m%25d"},
	}
	for _, tt := range tests {
		if got := URLEncode(tt.plain); got != tt.encoded {
			t.Errorf("URLEncode(%q) = %q, want %q", tt.plain, got, tt.encoded)
		}
		if got := URLDecode(tt.encoded); got != tt.plain {
			t.Errorf("URLDecode(%q) = %q, want %q", tt.encoded, got, tt.plain)
		}
	}
	for in, want := range map[string]string{"%": "%", "%4": "%4", "%4g": "%4g", "100%": "100%", "%41%4a": "AJ", "a+b": "a+b"} {
		if got := URLDecode(in); got != want {
			t.Errorf("URLDecode(%q) = %q, want %q", in, got, want)
		}
	}
	plain := Headers{{"Event-Name", "CHANNEL_DATA"}, {"variable_sip_full_to", "<sip:5551236@127.0.0.1>"}}
	encoded := Headers{{"Event-Name", "CHANNEL_DATA"}, {"variable_sip_full_to", "%3Csip%3A5551236%40127.0.0.1%3E"}}
	if got := EncodeHeaders(plain); fmt.Sprint(got) != fmt.Sprint(encoded) {
		t.Errorf("EncodeHeaders = %q", got)
	}
	if got := DecodeHeaders(encoded); fmt.Sprint(got) != fmt.Sprint(plain) {
		t.Errorf("DecodeHeaders = %q", got)
	}
	if encoded[1].Value[0] != '%' {
		t.Error("DecodeHeaders changed its argument")
	}
}

func TestParseEventErrors(t *testing.T) {
	tests := []struct {
		name string
		msg  *Message
		want error
	}{
		{"xml", &Message{Headers: Headers{{"Content-Type", TypeEventXML}}, Body: []byte("<event/>")}, ErrUnsupportedFormat},
		{"not an event", &Message{Headers: Headers{{"Content-Type", TypeAPIResponse}}}, nil},
		{"empty plain", &Message{Headers: Headers{{"Content-Type", TypeEventPlain}}}, ErrMalformed},
		{"no colon", &Message{Headers: Headers{{"Content-Type", TypeEventPlain}}, Body: []byte("Event-Name\n\n")}, ErrMalformed},
		{"short body", &Message{Headers: Headers{{"Content-Type", TypeEventPlain}}, Body: []byte("Event-Name: X\nContent-Length: 5\n\nab")}, ErrMalformed},
		{"huge body", &Message{Headers: Headers{{"Content-Type", TypeEventPlain}}, Body: []byte("Event-Name: X\nContent-Length: 99999999999\n\nab")}, ErrBodyTooLarge},
		{"trailing bytes", &Message{Headers: Headers{{"Content-Type", TypeEventPlain}}, Body: []byte("Event-Name: X\n\nab")}, ErrMalformed},
		{"json not object", &Message{Headers: Headers{{"Content-Type", TypeEventJSON}}, Body: []byte(`["a"]`)}, ErrMalformed},
		{"json nested", &Message{Headers: Headers{{"Content-Type", TypeEventJSON}}, Body: []byte(`{"a":{"b":"c"}}`)}, ErrMalformed},
		{"json nested array", &Message{Headers: Headers{{"Content-Type", TypeEventJSON}}, Body: []byte(`{"a":[["b"]]}`)}, ErrMalformed},
		{"json trailing", &Message{Headers: Headers{{"Content-Type", TypeEventJSON}}, Body: []byte(`{"a":"b"} x`)}, ErrMalformed},
		{"json cut", &Message{Headers: Headers{{"Content-Type", TypeEventJSON}}, Body: []byte(`{"a":"b",`)}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseEvent(tt.msg)
			if err == nil || e != nil {
				t.Fatalf("got %v, %v", e, err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// TestJSONScalars: numbers, booleans and null are taken as text.
func TestJSONScalars(t *testing.T) {
	e, err := ParseJSONEvent([]byte(`{"a":1.50,"b":true,"c":null,"d":["x",2],"_body":"hi"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(e.Headers); got != "[{a 1.50} {b true} {c } {d ARRAY::x|:2}]" || string(e.Body) != "hi" {
		t.Errorf("got %s %q", got, e.Body)
	}
}

// TestEventEncodeRoundTrip: encode then parse gives the event back, for
// awkward values, in both formats.
func TestEventEncodeRoundTrip(t *testing.T) {
	e := &Event{Headers: Headers{
		{"Event-Name", "CUSTOM"},
		{"Event-Subclass", "spandsp::rxfaxresult"},
		{"odd", "a: b\r\nc%41 \"q\" \\ \t\x01 é"},
		{"empty", ""},
		{"variable_DP_MATCH", "ARRAY::1|:2"},
	}, Body: []byte("+OK done\n")}
	for _, format := range []string{FormatPlain, FormatJSON} {
		e.Format = format
		m, err := e.Message()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := WriteMessage(&buf, m); err != nil {
			t.Fatal(err)
		}
		m2, err := NewReader(&buf).ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		e2, err := ParseEvent(m2)
		if err != nil {
			t.Fatal(err)
		}
		if e2.Format != format || fmt.Sprint(e2.Headers) != fmt.Sprint(e.Headers) || !bytes.Equal(e2.Body, e.Body) {
			t.Errorf("%s: got %q %q", format, e2.Headers, e2.Body)
		}
	}
	for _, bad := range []string{"", "a:b", "a\nb"} {
		e := &Event{Headers: Headers{{bad, "x"}}}
		if _, err := e.EncodePlain(); !errors.Is(err, ErrInvalidLine) {
			t.Errorf("name %q: %v", bad, err)
		}
		if _, err := e.EncodeJSON(); !errors.Is(err, ErrInvalidLine) {
			t.Errorf("name %q: %v", bad, err)
		}
	}
	if _, _, err := (&Event{Format: "xml"}).Encode(); !errors.Is(err, ErrUnsupportedFormat) {
		t.Errorf("xml: %v", err)
	}
}

func TestWriteChecks(t *testing.T) {
	tests := []struct {
		name string
		msg  *Message
	}{
		{"LF in value", &Message{Headers: Headers{{"Reply-Text", "+OK\nContent-Type: x"}}}},
		{"CR in value", &Message{Headers: Headers{{"Reply-Text", "+OK\r"}}}},
		{"colon in name", &Message{Headers: Headers{{"A:B", "c"}}}},
		{"empty name", &Message{Headers: Headers{{"", "c"}}}},
		{"wrong length", &Message{Headers: Headers{{"Content-Length", "3"}}, Body: []byte("ab")}},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if err := WriteMessage(&buf, tt.msg); err == nil || buf.Len() != 0 {
			t.Errorf("%s: err %v, wrote %q", tt.name, err, buf.Bytes())
		}
	}
	for _, c := range []*Command{{Line: ""}, {Line: "api a\nexit"}, {Line: "sendmsg", Headers: Headers{{"a", "b\n"}}}} {
		var buf bytes.Buffer
		if err := WriteCommand(&buf, c); !errors.Is(err, ErrInvalidLine) || buf.Len() != 0 {
			t.Errorf("%q: err %v, wrote %q", c.Line, err, buf.Bytes())
		}
	}
	huge := make([]byte, MaxBodyBytes+1)
	if err := WriteMessage(io.Discard, &Message{Body: huge}); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("message body over MaxBodyBytes: %v", err)
	}
	if err := WriteCommand(io.Discard, &Command{Line: "sendmsg", Body: huge}); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("command body over MaxBodyBytes: %v", err)
	}
	var buf bytes.Buffer
	if err := WriteCommand(&buf, &Command{Line: "sendmsg x", Headers: Headers{{"call-command", "execute"}}, Body: []byte("ab")}); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "sendmsg x\ncall-command: execute\nContent-Length: 2\n\nab" {
		t.Errorf("got %q", buf.String())
	}
	buf.Reset()
	if err := WriteMessage(&buf, &Message{Headers: Headers{{"Content-Type", "api/response"}}, Body: []byte("+OK")}); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "Content-Type: api/response\nContent-Length: 3\n\n+OK" {
		t.Errorf("got %q", buf.String())
	}
}
