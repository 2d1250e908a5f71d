package faxdoc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

func TestReadPages(t *testing.T) {
	got := map[string][]PageInfo{}
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			data := readFixture(t, name)
			pages, err := ReadPages(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			got[name] = pages
			compact := compactTIFF(t, data)
			if cp, err := ReadPages(bytes.NewReader(compact), int64(len(compact))); err != nil || !slices.Equal(cp, pages) {
				t.Errorf("compact fuzz seed reads as %+v, %v", cp, err)
			}
			for i, p := range pages {
				if p.Width != 1728 || p.Length == 0 || p.XDPI() != 204 || p.YDPI() != 196 {
					t.Errorf("page %d: %+v", i, p)
				}
			}
		})
	}
	checkGolden(t, "pages.golden", got)
}

// TestReadLibtiffCopies reads what libtiff's tiffcp makes of the fixtures
// (big-endian, G4): the pages read as the original's (tiffcp drops the
// FaxDcs tag), and Merge copies the same image data.
func TestReadLibtiffCopies(t *testing.T) {
	tool, err := exec.LookPath("tiffcp")
	if err != nil {
		t.Skip("tiffcp not installed (Debian libtiff-tools)")
	}
	for _, name := range []string{"received-t38-2page.tif", "sent-2page-g3.tif"} {
		orig := readFixture(t, name)
		want, _ := ReadPages(bytes.NewReader(orig), int64(len(orig)))
		for _, tc := range []struct {
			name string
			args []string
			same bool // image data unchanged
		}{
			{"big-endian", []string{"-B"}, true},
			{"little-endian", []string{"-L"}, true},
			{"G4", []string{"-c", "g4"}, false},
		} {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "copy.tif")
				if b, err := exec.Command(tool, append(tc.args, filepath.Join("testdata", name), out)...).CombinedOutput(); err != nil {
					t.Fatalf("tiffcp: %v\n%s", err, b)
				}
				data, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				pages, err := ReadPages(bytes.NewReader(data), int64(len(data)))
				if err != nil || len(pages) != len(want) {
					t.Fatalf("%d pages, %v", len(pages), err)
				}
				for i, p := range pages {
					w := want[i]
					w.FaxDcs = ""
					if !tc.same {
						w.Compression, w.T4Options, w.FillOrder = p.Compression, p.T4Options, p.FillOrder
					}
					if p != w {
						t.Errorf("page %d: %+v, want %+v", i, p, w)
					}
				}
				if tc.same && !slices.EqualFunc(stripData(t, data), stripData(t, orig), bytes.Equal) {
					t.Error("image data differs from the original")
				}
			})
		}
	}
}

func TestReadErrors(t *testing.T) {
	le := binary.LittleEndian
	loop := buildTIFF(le, 1)
	le.PutUint32(loop[len(loop)-4:], le.Uint32(loop[4:])) // next directory = itself
	loop2 := buildTIFF(le, 2)
	le.PutUint32(loop2[len(loop2)-4:], le.Uint32(loop2[4:])) // page 2 points back to page 1
	tooMany := buildTIFF(le, 1)
	le.PutUint16(tooMany[le.Uint32(tooMany[4:]):], MaxEntries+1)
	beyond := buildTIFF(le, 1)
	le.PutUint32(beyond[4:], uint32(len(beyond)))
	truncated := buildTIFF(le, 1)
	truncated = truncated[:len(truncated)-6]
	// Directories of one entry at 8, 14, 20, ... overlapping each other;
	// each alone is well formed.
	overlap := make([]byte, 8+6*40+18)
	copy(overlap, "II*\x00\x08\x00\x00\x00")
	for k := range 40 {
		o := 8 + 6*k
		overlap[o] = 1
		if k < 39 {
			le.PutUint32(overlap[o+14:], uint32(o+6))
		}
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"short", []byte("II*\x00")},
		{"not a TIFF", []byte("%PDF-1.4 not a tiff")},
		{"BigTIFF", []byte("II+\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")},
		{"directory loop", loop},
		{"loop to the first page", loop2},
		{"too many tags", tooMany},
		{"directory beyond end", beyond},
		{"truncated directory", truncated},
		{"empty directory", []byte("II*\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00")},
		{"overlapping directories", overlap},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Read(bytes.NewReader(tc.data), int64(len(tc.data))); !errors.Is(err, ErrFormat) {
				t.Errorf("Read error = %v, want ErrFormat", err)
			}
		})
	}
	if _, err := Read(bytes.NewReader(nil), MaxFileSize+1); !errors.Is(err, ErrFormat) {
		t.Errorf("file beyond MaxFileSize: %v", err)
	}
}

// TestReadTolerant: a page keeps what can be read when one tag cannot.
func TestReadTolerant(t *testing.T) {
	le := binary.LittleEndian
	data := buildTIFF(le, 1)
	f := mustRead(t, data)
	// Point the description beyond the end, the horizontal resolution into
	// the header (whose directory offset Retag rewrites) and give the width
	// a bad type.
	for _, e := range f.ifds[0].entries {
		at := int(f.ifds[0].offset) + 2 + 12*slices.Index(f.ifds[0].entries, e)
		switch e.tag {
		case TagImageDescription:
			le.PutUint32(data[at+8:], uint32(len(data)))
		case TagXResolution:
			le.PutUint32(data[at+8:], 0)
		case TagImageWidth:
			le.PutUint16(data[at+2:], 99)
		}
	}
	pages, err := ReadPages(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if p := pages[0]; p.ImageDescription != "" || p.Width != 0 || p.XResolution != 0 || p.YResolution != 98 || p.Compression != 3 {
		t.Errorf("page: %+v", p)
	}
}

// TestReadDuplicateTags: a tag given twice is its first entry, readable
// or not, as libtiff takes it; Retag and Merge keep to that entry.
func TestReadDuplicateTags(t *testing.T) {
	le := binary.LittleEndian
	data := buildTIFF(le, 1)
	d := mustRead(t, data).ifds[0]
	at := int(d.offset) + 2 + 12*slices.IndexFunc(d.entries, func(e entry) bool { return e.tag == TagXResolution })
	le.PutUint16(data[at:], TagYResolution) // YResolution twice: 204, then 98
	check := func(name string, data []byte, want float64) {
		t.Helper()
		f := mustRead(t, data)
		n := 0
		for _, e := range f.ifds[0].entries {
			if e.tag == TagYResolution {
				n++
			}
		}
		if p := f.Pages()[0]; n != 1 || p.YResolution != want || p.XResolution != 0 {
			t.Errorf("%s: %d YResolution entries, page %+v; want one, %v", name, n, p, want)
		}
	}
	retag := func(data []byte) []byte {
		tail, hdr, err := mustRead(t, data).Retag([][]Field{{Long(TagFaxRecvTime, 1)}})
		if err != nil {
			t.Fatal(err)
		}
		out := append(slices.Clone(data), tail...)
		copy(out, hdr[:])
		return out
	}
	check("read", data, 204)
	check("retagged", retag(data), 204)
	var merged bytes.Buffer
	if _, err := Merge(&merged, []Source{{R: bytes.NewReader(data), Size: int64(len(data))}}); err != nil {
		t.Fatal(err)
	}
	check("merged", merged.Bytes(), 204)

	le.PutUint32(data[at+8:], uint32(len(data))) // the first entry's value beyond the end
	check("first unreadable", data, 0)
	out := retag(data)
	if p := mustRead(t, out).Pages()[0]; p.YResolution != 0 {
		t.Errorf("retagged, first unreadable: %+v", p)
	}
}

func TestReadNoPages(t *testing.T) {
	data := []byte("II*\x00\x00\x00\x00\x00")
	f, err := Read(bytes.NewReader(data), int64(len(data)))
	if err != nil || f.NumPages() != 0 {
		t.Fatalf("header only: %v, %v", f, err)
	}
	if _, _, err := f.Retag(nil); !errors.Is(err, ErrFormat) {
		t.Errorf("Retag of no pages: %v", err)
	}
	if _, err := Merge(&bytes.Buffer{}, []Source{{R: bytes.NewReader(data), Size: 8}}); !errors.Is(err, ErrFormat) {
		t.Errorf("Merge of no pages: %v", err)
	}
}

// FuzzRead reads arbitrary files, retags what reads and reads the result:
// nothing may panic, retagging keeps the pages and sets the tags.
func FuzzRead(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Read(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		pages := file.Pages()
		if len(pages) == 0 {
			return
		}
		set := make([][]Field, len(pages))
		for i := range set {
			set[i] = []Field{ASCII(TagFaxSubAddress, "42"), Long(TagFaxRecvTime, uint32(i))}
		}
		tail, hdr, err := file.Retag(set)
		if err != nil {
			return
		}
		out := append(slices.Clone(data), tail...)
		copy(out, hdr[:])
		again, err := ReadPages(bytes.NewReader(out), int64(len(out)))
		if err != nil || len(again) != len(pages) {
			t.Fatalf("retagged file: %d pages, %v; had %d", len(again), err, len(pages))
		}
		for i, p := range again {
			want := pages[i]
			want.FaxSubAddress, want.FaxRecvTime = "42", uint32(i)
			if p != want {
				t.Fatalf("page %d: %+v, want %+v", i, p, want)
			}
		}
	})
}

func BenchmarkReadPages(b *testing.B) {
	data := readFixture(b, "received-t38-2page.tif")
	r := bytes.NewReader(data)
	for b.Loop() {
		if _, err := ReadPages(r, int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}
