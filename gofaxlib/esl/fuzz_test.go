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

// fuzzSeedBytes caps each seed taken from a capture, to keep fuzzing fast.
const fuzzSeedBytes = 4 << 10

// seedMessages returns some frames of the captures: every distinct content
// type and event name once.
func seedMessages(t testing.TB) []*Message {
	seen := map[string]bool{}
	var out []*Message
	for _, path := range transcripts(t) {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rd := NewReader(bytes.NewReader(raw))
		for {
			m, err := rd.ReadMessage()
			if err != nil {
				break
			}
			key := m.ContentType()
			if e, err := ParseEvent(m); err == nil {
				key += e.Name() + e.Subclass()
			}
			if !seen[key] {
				seen[key] = true
				out = append(out, m)
			}
		}
	}
	return out
}

// FuzzReader feeds arbitrary bytes to the Reader: it must not panic, must
// end, and every message it returns must survive write → read unchanged.
func FuzzReader(f *testing.F) {
	for _, path := range transcripts(f) {
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw[:min(len(raw), fuzzSeedBytes)])
	}
	f.Add([]byte("Content-Type: text/x\r\nContent-Length: 2\r\n\r\nhi\n\nContent-Type: api/response\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd := NewReader(bytes.NewReader(data))
		for i := 0; ; i++ {
			if i > len(data) {
				t.Fatal("more messages than input bytes")
			}
			m, err := rd.ReadMessage()
			if err != nil && !errors.Is(err, ErrUnknownContentType) {
				if _, err2 := rd.ReadMessage(); err2 == nil {
					t.Fatalf("read after %v succeeded", err)
				}
				return
			}
			checkMessageRoundTrip(t, m)
			if e, err := ParseEvent(m); err == nil {
				checkEventRoundTrip(t, e)
			}
		}
	})
}

func checkMessageRoundTrip(t *testing.T, m *Message) {
	t.Helper()
	b, err := AppendMessage(nil, m)
	if err != nil {
		return // e.g. a header name with a space: readable, not writable
	}
	m2, err := NewReader(bytes.NewReader(b)).ReadMessage()
	if err != nil && !errors.Is(err, ErrUnknownContentType) {
		t.Fatalf("re-reading %q: %v", b, err)
	}
	if fmt.Sprintf("%q", m2.Headers) != fmt.Sprintf("%q", m.Headers) || !bytes.Equal(m2.Body, m.Body) {
		t.Fatalf("round trip changed the message:\n%q %q\n%q %q", m.Headers, m.Body, m2.Headers, m2.Body)
	}
}

func checkEventRoundTrip(t *testing.T, e *Event) {
	t.Helper()
	body, _, err := e.Encode()
	if err != nil {
		return
	}
	var e2 *Event
	if e.Format == FormatJSON {
		e2, err = ParseJSONEvent(body)
	} else {
		e2, err = ParsePlainEvent(body)
	}
	if err != nil {
		t.Fatalf("re-parsing %q: %v", body, err)
	}
	if fmt.Sprintf("%q", e2.Headers) != fmt.Sprintf("%q", e.Headers) || !bytes.Equal(e2.Body, e.Body) {
		t.Fatalf("event round trip changed it:\n%q %q\n%q %q", e.Headers, e.Body, e2.Headers, e2.Body)
	}
}

// FuzzPlainEvent: parse → encode → parse is the identity.
func FuzzPlainEvent(f *testing.F) {
	for _, m := range seedMessages(f) {
		if m.ContentType() == TypeEventPlain {
			f.Add(m.Body)
		}
	}
	f.Add([]byte("Event-Name: X\nContent-Length: 3\n\nabc"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParsePlainEvent(data)
		if err != nil {
			return
		}
		checkEventRoundTrip(t, e)
	})
}

// FuzzJSONEvent: parse → encode → parse is the identity.
func FuzzJSONEvent(f *testing.F) {
	for _, m := range seedMessages(f) {
		if m.ContentType() == TypeEventJSON {
			f.Add(m.Body)
		}
	}
	f.Add([]byte(`{"a":1,"b":[true,null],"_body":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseJSONEvent(data)
		if err != nil {
			return
		}
		checkEventRoundTrip(t, e)
	})
}

// FuzzReadCommand: commands read and written back read the same.
func FuzzReadCommand(f *testing.F) {
	for _, path := range transcripts(f) {
		for _, c := range readSentFile(f, path+".sent") {
			f.Add(c)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rd := NewReader(bytes.NewReader(data))
		for {
			c, err := rd.ReadCommand()
			if err != nil {
				return
			}
			b, err := AppendCommand(nil, c)
			if err != nil {
				continue
			}
			c2, err := NewReader(bytes.NewReader(b)).ReadCommand()
			if err != nil {
				t.Fatalf("re-reading %q: %v", b, err)
			}
			if c2.Line != c.Line || fmt.Sprintf("%q", c2.Headers) != fmt.Sprintf("%q", c.Headers) || !bytes.Equal(c2.Body, c.Body) {
				t.Fatalf("round trip changed the command: %q → %q", c, c2)
			}
		}
	})
}

// readSentFile returns the commands of a .raw.sent file without markers.
func readSentFile(t testing.TB, path string) [][]byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, part := range sentMarker.Split(string(b), -1) {
		if part != "" {
			out = append(out, []byte(part))
		}
	}
	return out
}

// FuzzURLCoding: decoding an encoded value gives it back, and the encoded
// form holds no byte FreeSWITCH escapes.
func FuzzURLCoding(f *testing.F) {
	f.Add("2026-11-22 06:13:54")
	f.Add("%Y%m%d-%H%M%S")
	f.Add("sofia/external/5551234@127.0.0.1:5090 &txfax(/tmp/a.tif)")
	f.Fuzz(func(t *testing.T, s string) {
		enc := URLEncode(s)
		if got := URLDecode(enc); got != s {
			t.Fatalf("URLDecode(URLEncode(%q)) = %q", s, got)
		}
		for i := 0; i < len(enc); i++ {
			if urlUnsafe[enc[i]] && enc[i] != '%' {
				t.Fatalf("URLEncode(%q) = %q keeps %q", s, enc, enc[i])
			}
		}
		_ = URLDecode(s) // must not panic
	})
}

// The fuzz helpers above must accept what the captures hold; this keeps
// them honest when the fuzzers are not run.
func TestFuzzSeedsPass(t *testing.T) {
	msgs := seedMessages(t)
	if len(msgs) < 20 {
		t.Fatalf("only %d seed messages", len(msgs))
	}
	for _, m := range msgs {
		checkMessageRoundTrip(t, m)
		if e, err := ParseEvent(m); err == nil {
			checkEventRoundTrip(t, e)
		}
	}
	n := 0
	for _, c := range readSentFile(t, "testdata/transcripts/eventlock-async-t38_B-socket_plain.raw.sent") {
		cmd, err := NewReader(bytes.NewReader(c)).ReadCommand()
		if err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if cmd != nil && strings.HasPrefix(cmd.Line, "sendmsg") {
			n++
		}
	}
	if n != 9 {
		t.Errorf("%d sendmsg commands, want 9", n)
	}
}

// FuzzLazyEvent: a Conn's lazily decoded plain events accept and refuse
// exactly what ParsePlainEvent does, and answer every lookup as the
// eagerly decoded event does.
func FuzzLazyEvent(f *testing.F) {
	for _, m := range seedMessages(f) {
		if m.ContentType() == TypeEventPlain {
			f.Add(m.Body, "Unique-ID")
		}
	}
	f.Add([]byte("Event-Name: X\nContent-Length: 3\n\nabc"), "content-length")
	f.Add([]byte("a: 1\nA: 2\nb:%41\r\n"), "B")
	f.Add([]byte("\n"), "x")
	f.Add([]byte("\xff: 1\n"), "\uFFFD")
	f.Add([]byte("\u212a: 1\n"), "k")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		eager, errE := ParsePlainEvent(data)
		lazy, errL := parsePlainLazy(data)
		if (errE == nil) != (errL == nil) {
			t.Fatalf("eager error %v, lazy error %v", errE, errL)
		}
		if errE != nil {
			return
		}
		if fmt.Sprintf("%q", lazy.AllHeaders()) != fmt.Sprintf("%q", eager.Headers) || !bytes.Equal(lazy.Body, eager.Body) {
			t.Fatalf("lazy %q %q, eager %q %q", lazy.AllHeaders(), lazy.Body, eager.Headers, eager.Body)
		}
		names := []string{name, strings.ToUpper(name), strings.ToLower(name), "Content-Length"}
		for _, h := range eager.Headers {
			names = append(names, h.Name, strings.ToUpper(h.Name), strings.ToLower(h.Name))
		}
		for _, n := range names {
			v1, ok1 := eager.Lookup(n)
			v2, ok2 := lazy.Lookup(n)
			if v1 != v2 || ok1 != ok2 {
				t.Fatalf("Lookup(%q): eager %q %v, lazy %q %v", n, v1, ok1, v2, ok2)
			}
		}
		b1, _ := eager.EncodePlain()
		b2, _ := lazy.EncodePlain()
		if !bytes.Equal(b1, b2) {
			t.Fatalf("encodings differ:\n%q\n%q", b1, b2)
		}
	})
}

// FuzzChannelData: the lazily decoded connect reply holds what reading it
// as a message and decoding its header values gives, and is refused
// exactly when that is.
func FuzzChannelData(f *testing.F) {
	raw, err := os.ReadFile("testdata/transcripts/outbound-rx-t38_B-socket_plain.raw")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw[:6463])
	f.Add([]byte("\r\nUnique-ID: u\r\nContent-Length: 2\r\nReply-Text: %2BOK\r\n\r\nhi"))
	f.Add([]byte("a:\nb: %zz\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, errM := NewReader(bytes.NewReader(data)).ReadMessage()
		if errors.Is(errM, ErrUnknownContentType) {
			errM = nil
		}
		e, errL := readChannelData(NewReader(bytes.NewReader(data)))
		if (errM == nil) != (errL == nil) {
			t.Fatalf("ReadMessage error %v, readChannelData error %v", errM, errL)
		}
		if errM != nil {
			return
		}
		if want := DecodeHeaders(m.Headers); fmt.Sprintf("%q", e.AllHeaders()) != fmt.Sprintf("%q", want) || !bytes.Equal(e.Body, m.Body) {
			t.Fatalf("lazy %q %q, message %q %q", e.AllHeaders(), e.Body, want, m.Body)
		}
		for _, h := range m.Headers {
			if v, _ := DecodeHeaders(m.Headers).Lookup(h.Name); e.Get(h.Name) != v {
				t.Fatalf("Get(%q) = %q, want %q", h.Name, e.Get(h.Name), v)
			}
		}
	})
}
