package esl

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

// transcripts returns the paths of every captured FreeSWITCH transcript.
func transcripts(t testing.TB) []string {
	t.Helper()
	paths, err := filepath.Glob("testdata/transcripts/*.raw")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	return paths
}

func readAll(t testing.TB, r io.Reader) []*Message {
	t.Helper()
	rd := NewReader(r)
	var msgs []*Message
	for {
		m, err := rd.ReadMessage()
		if err == io.EOF {
			return msgs
		}
		if err != nil {
			t.Fatalf("message %d: %v", len(msgs), err)
		}
		msgs = append(msgs, m)
	}
}

// splitReader returns reads of random sizes from 1 to 4096 bytes.
type splitReader struct {
	b   []byte
	rng *rand.Rand
}

func (s *splitReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := 1 + s.rng.Intn(4096)
	n = min(n, len(p), len(s.b))
	copy(p, s.b[:n])
	s.b = s.b[n:]
	return n, nil
}

func countTypes(msgs []*Message) string {
	counts := map[string]int{}
	var order []string
	for _, m := range msgs {
		ct := m.ContentType()
		if counts[ct] == 0 {
			order = append(order, ct)
		}
		counts[ct]++
	}
	var b strings.Builder
	for _, ct := range order {
		fmt.Fprintf(&b, "%s=%d ", ct, counts[ct])
	}
	return b.String()
}

// TestTranscripts replays every capture through the Reader whole, one
// byte at a time and in random pieces, and checks that all three agree,
// that every frame is re-encoded to its captured bytes, and that each
// capture ends cleanly.
func TestTranscripts(t *testing.T) {
	total := map[string]int{}
	for _, path := range transcripts(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			whole := readAll(t, bytes.NewReader(raw))
			if len(whole) == 0 {
				t.Fatal("no messages")
			}
			var again []byte
			for i, m := range whole {
				total[m.ContentType()]++
				if !knownType(m.ContentType()) {
					t.Errorf("message %d: unexpected type %q", i, m.ContentType())
				}
				if again, err = AppendMessage(again, m); err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
			}
			if !bytes.Equal(again, raw) {
				t.Errorf("re-encoded transcript differs from capture")
			}
			oneByte := readAll(t, iotest.OneByteReader(bytes.NewReader(raw)))
			split := readAll(t, &splitReader{b: raw, rng: rand.New(rand.NewSource(int64(len(raw))))})
			for name, got := range map[string][]*Message{"one byte": oneByte, "split": split} {
				if len(got) != len(whole) {
					t.Fatalf("%s: %d messages, want %d", name, len(got), len(whole))
				}
				for i := range got {
					if fmt.Sprint(got[i].Headers) != fmt.Sprint(whole[i].Headers) || !bytes.Equal(got[i].Body, whole[i].Body) {
						t.Fatalf("%s: message %d differs", name, i)
					}
				}
			}
			t.Logf("%d messages: %s", len(whole), countTypes(whole))
		})
	}
	for _, ct := range []string{TypeAuthRequest, TypeCommandReply, TypeAPIResponse, TypeEventPlain, TypeEventJSON, TypeDisconnectNotice} {
		if total[ct] == 0 {
			t.Errorf("no %s in any capture", ct)
		}
	}
	t.Logf("all captures: %v", total)
}

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// TestTranscriptCounts pins the number of frames of each type, and of
// events by name, in every capture (testdata/transcripts.golden), so that
// a reader silently merging or dropping frames fails.
func TestTranscriptCounts(t *testing.T) {
	var b strings.Builder
	for _, path := range transcripts(t) {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		msgs := readAll(t, bytes.NewReader(raw))
		names := map[string]int{}
		for _, m := range msgs {
			if e, err := ParseEvent(m); err == nil {
				names[e.Name()+e.Subclass()]++
			}
		}
		fmt.Fprintf(&b, "%s: %s\n", filepath.Base(path), countTypes(msgs))
		fmt.Fprintf(&b, "  events: %s\n", strings.Trim(fmt.Sprint(names), "map[]"))
	}
	golden := "testdata/transcripts.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if b.String() != string(want) {
		t.Errorf("frame counts differ from %s (go test -update rewrites it):\n%s", golden, b.String())
	}
	for _, tt := range []struct{ file, want string }{
		{"api-db-misc_A_plain.raw", "auth/request=1 command/reply=3 api/response=18 text/disconnect-notice=1 "},
		{"auth-wrong-password_A_plain.raw", "auth/request=1 command/reply=1 text/disconnect-notice=1 "},
	} {
		if !strings.Contains(string(want), tt.file+": "+tt.want+"\n") {
			t.Errorf("%s: golden file does not say %s", tt.file, tt.want)
		}
	}
}

// TestEventRoundTrip parses every event of every capture and encodes it
// again: the result must be the captured body, byte for byte.
func TestEventRoundTrip(t *testing.T) {
	n := 0
	for _, path := range transcripts(t) {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range readAll(t, bytes.NewReader(raw)) {
			ct := m.ContentType()
			if ct != TypeEventPlain && ct != TypeEventJSON {
				continue
			}
			e, err := ParseEvent(m)
			if err != nil {
				t.Fatalf("%s message %d: %v", path, i, err)
			}
			body, gotCT, err := e.Encode()
			if err != nil {
				t.Fatalf("%s message %d: %v", path, i, err)
			}
			if gotCT != ct || !bytes.Equal(body, m.Body) {
				t.Fatalf("%s message %d (%s): encoded event differs:\n got %.300q\nwant %.300q", path, i, e.Name(), body, m.Body)
			}
			n++
		}
	}
	if n < 1000 {
		t.Errorf("only %d events round-tripped", n)
	}
	t.Logf("%d events round-tripped", n)
}

func TestReaderErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  error // of the first ReadMessage
	}{
		{"empty", "", io.EOF},
		{"cut in headers", "Content-Type: api/response\nContent-Len", io.ErrUnexpectedEOF},
		{"cut before blank line", "Content-Type: api/response\n", io.ErrUnexpectedEOF},
		{"cut in body", "Content-Type: api/response\nContent-Length: 10\n\n+OK", io.ErrUnexpectedEOF},
		{"no colon", "Content-Type api/response\n\n", ErrMalformed},
		{"bad length", "Content-Type: api/response\nContent-Length: 1x\n\n", ErrMalformed},
		{"negative length", "Content-Type: api/response\nContent-Length: -1\n\n", ErrMalformed},
		{"huge length", "Content-Type: api/response\nContent-Length: 9999999999\n\n", ErrBodyTooLarge},
		{"huger length", "Content-Type: api/response\nContent-Length: 99999999999999999999999\n\n", ErrBodyTooLarge},
		{"too large length", fmt.Sprintf("Content-Type: api/response\nContent-Length: %d\n\n", MaxBodyBytes+1), ErrBodyTooLarge},
		{"long line", "X: " + strings.Repeat("a", MaxHeaderBytes) + "\n\n", ErrHeaderTooLarge},
		{"many headers", strings.Repeat("X: y\n", MaxHeaders+1) + "\n", ErrHeaderTooLarge},
		{"unknown type", "Content-Type: text/whatever\n\n", ErrUnknownContentType},
		{"no type", "Foo: bar\n\n", ErrUnknownContentType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tt.input))
			_, err := r.ReadMessage()
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if tt.want == ErrUnknownContentType {
				return
			}
			if _, err2 := r.ReadMessage(); !errors.Is(err2, tt.want) {
				t.Errorf("second read: got %v, want the same error again", err2)
			}
		})
	}
}

// TestReaderStaysInStep checks that frames of unknown type are skipped
// whole, that CRLF works, and that rude-rejection and log/data frame.
func TestReaderStaysInStep(t *testing.T) {
	input := "Content-Type: text/unknown\r\nContent-Length: 5\r\n\r\nhello" +
		"Content-Type: text/rude-rejection\nContent-Length: 34\n\nAccess Denied, go away.\nGoodbye.\n\n" +
		"Content-Type: log/data\nContent-Length: 3\nLog-Level: 7\n\nabc" +
		"\nContent-Type: api/response\r\nContent-Length: 3\r\n\r\n+OK"
	r := NewReader(strings.NewReader(input))
	m, err := r.ReadMessage()
	if !errors.Is(err, ErrUnknownContentType) || m == nil || string(m.Body) != "hello" {
		t.Fatalf("unknown type: got %v, %v", m, err)
	}
	for _, want := range []struct{ ct, body string }{
		{TypeRudeRejection, "Access Denied, go away.\nGoodbye.\n\n"},
		{TypeLogData, "abc"},
		{TypeAPIResponse, "+OK"},
	} {
		m, err := r.ReadMessage()
		if err != nil {
			t.Fatalf("%s: %v", want.ct, err)
		}
		if m.ContentType() != want.ct || string(m.Body) != want.body {
			t.Fatalf("got %q %q, want %q %q", m.ContentType(), m.Body, want.ct, want.body)
		}
	}
	if _, err := r.ReadMessage(); err != io.EOF {
		t.Fatalf("at end: %v", err)
	}
}

func TestReadCommand(t *testing.T) {
	input := "auth ClueCon\n\n" +
		"sendmsg\ncall-command: execute\nexecute-app-name: answer\n\n\n" +
		"sendmsg 1234\r\ncall-command: execute\r\nContent-Length: 5\r\n\r\nhello" +
		"exit\n\n\n"
	r := NewReader(strings.NewReader(input))
	var got []string
	for {
		c, err := r.ReadCommand()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s|%v|%s", c.Line, c.Headers, c.Body))
	}
	want := []string{
		"auth ClueCon|[]|",
		"sendmsg|[{call-command execute} {execute-app-name answer}]|",
		"sendmsg 1234|[{call-command execute} {Content-Length 5}]|hello",
		"exit|[]|",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestReaderOffset checks that Offset is just past each frame read,
// whatever the line endings and blank lines, and at the end of every
// capture once it is read whole.
func TestReaderOffset(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input string
		ends  []int64
	}{
		{"LF", "Content-Type: auth/request\n\nContent-Type: api/response\nContent-Length: 3\n\n+OK", []int64{28, 77}},
		{"CRLF", "Content-Type: auth/request\r\n\r\n", []int64{30}},
		{"blank lines before a frame", "\n\nContent-Type: auth/request\n\n", []int64{30}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(iotest.OneByteReader(strings.NewReader(tc.input)))
			var ends []int64
			for {
				if _, err := r.ReadMessage(); err == io.EOF {
					break
				} else if err != nil {
					t.Fatal(err)
				}
				ends = append(ends, r.Offset())
			}
			if fmt.Sprint(ends) != fmt.Sprint(tc.ends) {
				t.Errorf("offsets %v, want %v", ends, tc.ends)
			}
		})
	}
	for _, path := range transcripts(t) {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		r := NewReader(bytes.NewReader(raw))
		var again []byte
		for {
			m, err := r.ReadMessage()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if again, err = AppendMessage(again, m); err != nil {
				t.Fatal(err)
			}
			if r.Offset() != int64(len(again)) {
				t.Fatalf("%s: offset %d after frame ending at %d", path, r.Offset(), len(again))
			}
		}
		if r.Offset() != int64(len(raw)) {
			t.Errorf("%s: offset %d at the end of %d bytes", path, r.Offset(), len(raw))
		}
	}
}
