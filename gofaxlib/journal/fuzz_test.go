package journal

import (
	"bytes"
	"os"
	"testing"
)

// seedLines adds every line of testdata/segment.jnl.
func seedLines(f *testing.F) {
	b, err := os.ReadFile("testdata/segment.jnl")
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range bytes.SplitAfter(b, []byte{'\n'}) {
		f.Add(l)
	}
}

// FuzzDecode: Decode never panics, and a line it accepts encodes to a
// line that decodes to the same record and encodes to the same bytes.
func FuzzDecode(f *testing.F) {
	seedLines(f)
	f.Fuzz(func(t *testing.T, line []byte) {
		rec, err := Decode(line)
		if err != nil {
			return
		}
		again, err := rec.Encode()
		if err != nil {
			t.Fatalf("decoded record %+v does not encode: %v", rec, err)
		}
		rec2, err := Decode(again)
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", again, err)
		}
		if rec2.ID != rec.ID || rec2.Kind != rec.Kind || !rec2.Time.Equal(rec.Time) {
			t.Fatalf("round trip %+v → %+v", rec, rec2)
		}
		third, err := rec2.Encode()
		if err != nil || !bytes.Equal(third, again) {
			t.Fatalf("encoding not stable: %q, then %q (%v)", again, third, err)
		}
	})
}

// FuzzScan: reading a segment never panics, consumes at most what is
// there, and all of it when the writer is gone.
func FuzzScan(f *testing.F) {
	b, err := os.ReadFile("testdata/segment.jnl")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b, true)
	f.Add(b, false)
	f.Fuzz(func(t *testing.T, seg []byte, final bool) {
		res, err := scan(bytes.NewReader(seg), final, func(Record, int64) {})
		if err != nil {
			t.Fatal(err)
		}
		if res.consumed > int64(len(seg)) || final && res.consumed != int64(len(seg)) {
			t.Fatalf("consumed %d of %d (final %v)", res.consumed, len(seg), final)
		}
	})
}
