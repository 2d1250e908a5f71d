package hfaxd

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/gofaxserver/gofaxserver/internal/golden"
)

var replyCases = []struct {
	name string
	in   string
	want []Reply // replies before the end
	err  error   // error after them; io.EOF for a clean end
}{
	{"single", "200 Type set to Image.\r\n", []Reply{{200, []string{"Type set to Image."}}}, io.EOF},
	{"code only", "200\r\n", []Reply{{200, []string{""}}}, io.EOF},
	{"empty text", "213 \r\n", []Reply{{213, []string{""}}}, io.EOF},
	{"two", "200 a\r\n213 b\r\n", []Reply{{200, []string{"a"}}, {213, []string{"b"}}}, io.EOF},
	{"multi", "217-Job state: jobid 1\r\n    STATE: DONE\r\n217 End of job 1 state.\r\n",
		[]Reply{{217, []string{"Job state: jobid 1", "    STATE: DONE", "End of job 1 state."}}}, io.EOF},
	{"multi with other codes inside", "213-TIFF docq/doc1\r\n213-PDF docq/doc2\r\n200 x\r\n213 End of documents.\r\n",
		[]Reply{{213, []string{"TIFF docq/doc1", "213-PDF docq/doc2", "200 x", "End of documents."}}}, io.EOF},
	{"multi ends with code only", "220-a\r\n220\r\n", []Reply{{220, []string{"a", ""}}}, io.EOF},
	{"bare LF stays in the line", "213 Busy\n217 fake\r\n", []Reply{{213, []string{"Busy\n217 fake"}}}, io.EOF},
	{"CR inside", "213 a\rb\r\n", []Reply{{213, []string{"a\rb"}}}, io.EOF},
	{"non-ASCII", "213 Grüße \xff\r\n", []Reply{{213, []string{"Grüße \xff"}}}, io.EOF},
	{"empty input", "", nil, io.EOF},
	{"cut in a line", "200 ok\r\n213 hal", []Reply{{200, []string{"ok"}}}, io.ErrUnexpectedEOF},
	{"cut before CR LF", "200 ok", nil, io.ErrUnexpectedEOF},
	{"cut in a multi-line reply", "217-a\r\nb\r\n", nil, io.ErrUnexpectedEOF},
	{"no code", "hello\r\n", nil, ErrProtocol},
	{"code 600", "600 x\r\n", nil, ErrProtocol},
	{"code 099", "099 x\r\n", nil, ErrProtocol},
	{"two digits", "20 x\r\n", nil, ErrProtocol},
	{"bad separator", "200:x\r\n", nil, ErrProtocol},
	{"empty line", "\r\n", nil, ErrProtocol},
	{"line too long", "200 " + strings.Repeat("x", MaxLineLength-5) + "\r\n", nil, ErrProtocol},
	{"longest line", "200 " + strings.Repeat("x", MaxLineLength-6) + "\r\n",
		[]Reply{{200, []string{strings.Repeat("x", MaxLineLength-6)}}}, io.EOF},
	{"LF only lines", strings.Repeat("200 x\n", MaxLineLength), nil, ErrProtocol},
	{"too many lines", "214-x\r\n" + strings.Repeat("l\r\n", MaxReplyLines) + "214 end\r\n", nil, ErrProtocol},
	{"most lines", "214-x\r\n" + strings.Repeat("l\r\n", MaxReplyLines-2) + "214 end\r\n",
		[]Reply{{214, append(append([]string{"x"}, strings.Split(strings.Repeat("l ", MaxReplyLines-2), " ")[:MaxReplyLines-2]...), "end")}}, io.EOF},
}

// readAllReplies reads replies until the first error.
func readAllReplies(r io.Reader) ([]Reply, error) {
	rd := NewReader(r)
	var reps []Reply
	for {
		rep, err := rd.ReadReply()
		if err != nil {
			return reps, err
		}
		reps = append(reps, rep)
	}
}

// TestReadReply reads every case whole and split in every way
// testing/iotest offers: the result does not depend on how the bytes
// arrive.
func TestReadReply(t *testing.T) {
	readers := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
		"data+err": iotest.DataErrReader,
	}
	for _, tc := range replyCases {
		for rname, wrap := range readers {
			t.Run(tc.name+"/"+rname, func(t *testing.T) {
				reps, err := readAllReplies(wrap(strings.NewReader(tc.in)))
				if !errors.Is(err, tc.err) {
					t.Errorf("error %v, want %v", err, tc.err)
				}
				if !reflect.DeepEqual(reps, tc.want) {
					t.Errorf("replies %q, want %q", reps, tc.want)
				}
			})
		}
	}
}

// TestCaptured parses what the real hfaxd sent in the tests against it
// (testdata/capture, see testdata/README): every reply parses and the
// transcripts end cleanly.
func TestCaptured(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "capture", "*.raw"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures: %v", err)
	}
	var out strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		reps, err := readAllReplies(iotest.OneByteReader(strings.NewReader(string(b))))
		if err != io.EOF {
			t.Errorf("%s: %v after %d replies", f, err, len(reps))
		}
		fmt.Fprintf(&out, "%s:", filepath.Base(f))
		for _, r := range reps {
			fmt.Fprintf(&out, " %d", r.Code)
			if len(r.Lines) > 1 {
				fmt.Fprintf(&out, "(%d lines)", len(r.Lines))
			}
		}
		out.WriteString("\n")
	}
	golden.Check(t, filepath.Join("testdata", "captured.golden"), []byte(out.String()))
}

func TestReadListing(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  error
	}{
		{"", nil, nil},
		{"1|W|k\r\n2|D|k\r\n", []string{"1|W|k", "2|D|k"}, nil},
		{"1|W|k\r\n2|D|k", []string{"1|W|k", "2|D|k"}, nil},
		{"a\nb\r\n", []string{"a\nb"}, nil},
		{strings.Repeat("x", MaxLineLength) + "\r\n", nil, ErrProtocol},
	} {
		got, err := ReadListing(iotest.HalfReader(strings.NewReader(tc.in)))
		if !errors.Is(err, tc.err) || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ReadListing(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
	// MaxListBytes is enforced however long the lines are.
	big := io.LimitReader(&infiniteLines{}, MaxListBytes+100)
	if _, err := ReadListing(big); !errors.Is(err, ErrProtocol) {
		t.Errorf("ReadListing of %d bytes: %v", MaxListBytes+100, err)
	}
}

// infiniteLines repeats a long listing line.
type infiniteLines struct{ pos int }

var longLine = []byte(strings.Repeat("x", MaxLineLength-102) + "\r\n")

func (r *infiniteLines) Read(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		c := copy(b[n:], longLine[r.pos:])
		n += c
		r.pos = (r.pos + c) % len(longLine)
	}
	return n, nil
}

func TestPassiveAddr(t *testing.T) {
	c := &Conn{peer: netip.MustParseAddr("127.0.0.1")}
	for _, tc := range []struct {
		text string
		want string
		err  error
	}{
		{"Entering passive mode (127,0,0,1,226,239)", "127.0.0.1:58095", nil},
		{"Entering Passive Mode 127,0,0,1,0,21.", "127.0.0.1:21", nil},
		{"Entering passive mode (10,0,0,1,226,239)", "", ErrPassiveAddress},
		{"Entering passive mode (127,0,0,2,226,239)", "", ErrPassiveAddress},
		{"Entering passive mode (127,0,0,1,0,0)", "", ErrPassiveAddress},
		{"Entering passive mode (127,0,0,1,256,1)", "", ErrProtocol},
		{"Entering passive mode (127,0,0,1,1)", "", ErrProtocol},
		{"Entering passive mode", "", ErrProtocol},
	} {
		got, err := c.passiveAddr(Reply{227, []string{tc.text}})
		if !errors.Is(err, tc.err) || err == nil && got.String() != tc.want {
			t.Errorf("passiveAddr(%q) = %v, %v; want %s, %v", tc.text, got, err, tc.want, tc.err)
		}
	}
	// An IPv4 peer reached as an IPv4-mapped IPv6 address still matches.
	nc := fakeAddrConn{remote: &net.TCPAddr{IP: net.ParseIP("::ffff:127.0.0.1"), Port: 4559}}
	c = newConn(nc, DefaultTimeout, nil)
	if _, err := c.passiveAddr(Reply{227, []string{"(127,0,0,1,1,1)"}}); err != nil {
		t.Errorf("mapped peer: %v", err)
	}
}

type fakeAddrConn struct {
	net.Conn
	remote net.Addr
}

func (f fakeAddrConn) RemoteAddr() net.Addr { return f.remote }

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":              `""`,
		"plain":         `"plain"`,
		`a "b" \c`:      `"a \"b\" \\c"`,
		"comma, spaces": `"comma, spaces"`,
		`\012`:          `"\\012"`,
		"Grüße":         `"Grüße"`,
	} {
		if got, err := quote("x", in); err != nil || got != want {
			t.Errorf("quote(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestParseJobLine(t *testing.T) {
	for _, tc := range []struct {
		line string
		ref  JobRef
		key  string
		ok   bool
	}{
		{"12|W|key", JobRef{ID: "12", State: StateReady}, "key", true},
		{"1|D|a|b", JobRef{ID: "1", State: StateDone}, "a|b", true},
		{"1|?|", JobRef{ID: "1"}, "", true},
		{"1|Z|k", JobRef{ID: "1"}, "k", true},
		{"1|WW|k", JobRef{}, "", false},
		{"x|W|k", JobRef{}, "", false},
		{"1 W k", JobRef{}, "", false},
		{"", JobRef{}, "", false},
	} {
		ref, key, ok := parseJobLine(tc.line)
		if ref != tc.ref || key != tc.key || ok != tc.ok {
			t.Errorf("parseJobLine(%q) = %+v %q %v", tc.line, ref, key, ok)
		}
	}
}

func TestStateNames(t *testing.T) {
	if StateSleeping.String() != "sleeping" || State(42).String() != "State(42)" {
		t.Error(StateSleeping, State(42))
	}
	if !StateFailed.Final() || StateActive.Final() {
		t.Error("Final")
	}
	if len(stateLetters) != len(stateNames) {
		t.Error("state letters and names differ in number")
	}
}

func TestLockWait(t *testing.T) {
	for timeout, want := range map[float64]int{0.1: 1, 2: 1, 4: 2, 30: 5} {
		if got := lockWait(durationSeconds(timeout)); got != want {
			t.Errorf("lockWait(%vs) = %d, want %d", timeout, got, want)
		}
	}
}

func durationSeconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
