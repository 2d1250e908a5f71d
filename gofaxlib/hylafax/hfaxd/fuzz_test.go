package hfaxd

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// addSeeds adds the captures of the real hfaxd and the parser cases.
func addSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "capture", "*.raw"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, tc := range replyCases {
		if len(tc.in) < 256 {
			f.Add([]byte(tc.in))
		}
	}
}

// FuzzReadReply: any input gives replies within the limits or an error,
// never a panic; what the package reads out of replies (job state, file
// names, passive addresses, listing lines) copes with any reply.
func FuzzReadReply(f *testing.F) {
	addSeeds(f)
	c := &Conn{peer: netip.MustParseAddr("127.0.0.1")}
	f.Fuzz(func(t *testing.T, data []byte) {
		rd := NewReader(bytes.NewReader(data))
		for n := 0; ; n++ {
			rep, err := rd.ReadReply()
			if err != nil {
				if err != io.EOF && err != io.ErrUnexpectedEOF && !errors.Is(err, ErrProtocol) {
					t.Fatalf("reply %d: unexpected error %v", n, err)
				}
				return
			}
			if rep.Code < 100 || rep.Code > 599 || len(rep.Lines) == 0 || len(rep.Lines) > MaxReplyLines {
				t.Fatalf("reply %d: %d with %d lines", n, rep.Code, len(rep.Lines))
			}
			for _, l := range rep.Lines {
				if len(l) > MaxLineLength || strings.Contains(l, "\r\n") {
					t.Fatalf("reply %d: line %q", n, l)
				}
			}
			if len(rep.Lines) >= 2 {
				m := parseJobState(rep)
				jobStatus(m["JOBID"], rep)
			}
			fileName(rep)
			if ap, err := c.passiveAddr(rep); err == nil && ap.Addr() != c.peer {
				t.Fatalf("passive address %v accepted", ap)
			}
			for _, l := range rep.Lines {
				parseJobLine(l)
			}
		}
	})
}

// FuzzReadListing: listings stay within their limits.
func FuzzReadListing(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := ReadListing(bytes.NewReader(data))
		if err != nil && !errors.Is(err, ErrProtocol) {
			t.Fatalf("unexpected error %v", err)
		}
		total := 0
		for _, l := range lines {
			if len(l) > MaxLineLength {
				t.Fatalf("line of %d bytes", len(l))
			}
			total += len(l)
		}
		if total > len(data) {
			t.Fatalf("%d bytes of lines from %d bytes", total, len(data))
		}
	})
}
