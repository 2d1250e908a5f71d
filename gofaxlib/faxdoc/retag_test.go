package faxdoc

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// retag applies Retag to data as a caller writes it: tail at the end,
// then the header.
func retag(t *testing.T, data []byte, set [][]Field) []byte {
	t.Helper()
	tail, hdr, err := mustRead(t, data).Retag(set)
	if err != nil {
		t.Fatal(err)
	}
	out := append(slices.Clone(data), tail...)
	copy(out, hdr[:])
	return out
}

func TestRetag(t *testing.T) {
	fields := func(pages int) [][]Field {
		set := make([][]Field, pages)
		for i := range set {
			set[i] = []Field{ASCII(TagImageDescription, "sender\nid\x00cut"), Long(TagFaxRecvTime, uint32(7+i)), ASCII(TagFaxSubAddress, "42")}
		}
		return set
	}
	tests := []struct {
		name   string
		data   []byte
		decode bool // real image data libtiff can decode
	}{
		{"spandsp g711", readFixture(t, "received-g711-2page.tif"), true},
		{"spandsp t38", readFixture(t, "received-t38-2page.tif"), true},
		{"big-endian", readFixture(t, "sent-2page-g3-bigendian.tif"), true},
		{"synthetic II, odd size", append(buildTIFF(binary.LittleEndian, 3), 0xff), false},
		{"synthetic MM", buildTIFF(binary.BigEndian, 1), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := mustRead(t, tc.data)
			n := before.NumPages()
			out := retag(t, tc.data, fields(n))
			if !bytes.Equal(out[:4], tc.data[:4]) || !bytes.Equal(out[8:len(tc.data)], tc.data[8:]) {
				t.Fatal("bytes of the original file changed (only the first directory offset may)")
			}
			after := mustRead(t, out)
			for i, p := range after.Pages() {
				want := before.Pages()[i]
				want.ImageDescription, want.FaxRecvTime, want.FaxSubAddress = "sender\nid", uint32(7+i), "42"
				if p != want {
					t.Errorf("page %d: %+v, want %+v", i, p, want)
				}
				if after.ifds[i].offset%2 != 0 {
					t.Errorf("page %d: directory at odd offset %d", i, after.ifds[i].offset)
				}
				es := after.ifds[i].entries
				if !slices.IsSortedFunc(es, func(a, b entry) int { return int(a.tag) - int(b.tag) }) {
					t.Errorf("page %d: tags not sorted", i)
				}
				for _, e := range before.ifds[i].entries {
					switch e.tag {
					case TagImageDescription, TagFaxRecvTime, TagFaxSubAddress:
					default:
						if !slices.Contains(es, e) {
							t.Errorf("page %d: entry %+v lost", i, e)
						}
					}
				}
			}
			// Retagging again replaces the tags instead of adding more.
			again := retag(t, out, fields(n))
			if a, b := mustRead(t, again), after; !slices.EqualFunc(a.ifds, b.ifds, func(x, y ifd) bool { return len(x.entries) == len(y.entries) }) {
				t.Error("second retag added entries")
			}
			path := filepath.Join(t.TempDir(), "r.tif")
			if err := os.WriteFile(path, again, 0o644); err != nil {
				t.Fatal(err)
			}
			if s := libtiff(t, path, n, tc.decode); s != "" && !strings.Contains(s, "FaxRecvTime: 7") {
				t.Errorf("tiffinfo does not see the tags:\n%s", s)
			}
		})
	}
}

func TestRetagWrongPages(t *testing.T) {
	f := mustRead(t, buildTIFF(binary.LittleEndian, 2))
	if _, _, err := f.Retag(make([][]Field, 1)); err == nil {
		t.Error("Retag with fields for 1 of 2 pages accepted")
	}
}

// BenchmarkRetag tags a real 2-page fax in memory.
func BenchmarkRetag(b *testing.B) {
	data := readFixture(b, "received-t38-2page.tif")
	r := bytes.NewReader(data)
	set := [][]Field{{ASCII(TagImageDescription, "sender"), Long(TagFaxRecvTime, 7)}, {Long(TagFaxRecvTime, 9)}}
	for b.Loop() {
		f, err := Read(r, int64(len(data)))
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := f.Retag(set); err != nil {
			b.Fatal(err)
		}
	}
}
