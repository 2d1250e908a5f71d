package esltest

import (
	"bytes"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sentCommand is one command of a .raw.sent transcript and how many bytes
// the client had received when it sent it.
type sentCommand struct {
	rxOffset int
	text     string
}

func readSent(t *testing.T, name string) []sentCommand {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var out []sentCommand
	for _, block := range strings.Split(string(data), "--- t=")[1:] {
		head, body, _ := strings.Cut(block, "\n")
		_, off, _ := strings.Cut(head, "rx_offset=")
		n, err := strconv.Atoi(strings.TrimSpace(off))
		if err != nil {
			t.Fatalf("%s: bad marker %q", name, head)
		}
		out = append(out, sentCommand{rxOffset: n, text: strings.TrimRight(body, "\n") + "\n\n"})
	}
	return out
}

// TestByteExactReplies replays captured dialogues whose every reply is
// deterministic and compares all bytes received with the capture.
func TestByteExactReplies(t *testing.T) {
	for _, name := range []string{"api-db-misc_A_plain", "auth-wrong-password_A_plain"} {
		t.Run(name, func(t *testing.T) {
			s := New(t, Options{})
			want, err := os.ReadFile("testdata/" + name + ".raw")
			if err != nil {
				t.Fatal(err)
			}
			nc, err := net.Dial("tcp", s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
			var got bytes.Buffer
			for _, c := range readSent(t, name+".raw.sent") {
				if _, err := io.CopyN(&got, nc, int64(c.rxOffset-got.Len())); err != nil {
					t.Fatalf("reading up to offset %d: %v (got %q)", c.rxOffset, err, got.String())
				}
				if _, err := io.WriteString(nc, c.text); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := io.Copy(&got, nc); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("bytes differ from the capture\ngot:\n%s\nwant:\n%s", got.String(), want)
			}
		})
	}
}
