package faxdoc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

func source(tb testing.TB, name string, first, count int) Source {
	data := readFixture(tb, name)
	return Source{R: bytes.NewReader(data), Size: int64(len(data)), First: first, Count: count}
}

// want is one page Merge must write: page of fixture name, with desc as
// its ImageDescription when not empty.
type want struct {
	name string
	page int
	desc string
}

func TestMerge(t *testing.T) {
	set := []Field{ASCII(TagImageDescription, "REMOTE ID")}
	tests := []struct {
		name string
		srcs []Source
		want []want
	}{
		{"whole file", []Source{source(t, "sent-2page-g3.tif", 0, 0)},
			[]want{{"sent-2page-g3.tif", 0, ""}, {"sent-2page-g3.tif", 1, ""}}},
		{"from dirnum 1", []Source{source(t, "sent-2page-g3.tif", 1, 0)},
			[]want{{"sent-2page-g3.tif", 1, ""}}},
		{"first page only", []Source{source(t, "received-t38-2page.tif", 0, 1)},
			[]want{{"received-t38-2page.tif", 0, ""}}},
		{"big-endian converted", []Source{source(t, "sent-2page-g3-bigendian.tif", 1, 0), source(t, "one-page-g4.tif", 0, 0)},
			[]want{{"sent-2page-g3.tif", 1, ""}, {"one-page-g4.tif", 0, ""}}},
		{"three documents", []Source{source(t, "one-page-g4.tif", 0, 0), source(t, "received-g711-2page.tif", 0, 2)},
			[]want{{"one-page-g4.tif", 0, ""}, {"received-g711-2page.tif", 0, ""}, {"received-g711-2page.tif", 1, ""}}},
		{"description set, pages repeated", []Source{
			{R: source(t, "sent-2page-g3.tif", 0, 0).R, Size: 72504, Set: set},
			{R: source(t, "sent-2page-g3.tif", 0, 0).R, Size: 72504, Count: 1, Set: set}},
			[]want{{"sent-2page-g3.tif", 0, "REMOTE ID"}, {"sent-2page-g3.tif", 1, "REMOTE ID"}, {"sent-2page-g3.tif", 0, "REMOTE ID"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			n, err := Merge(&out, tc.srcs)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(tc.want) {
				t.Fatalf("pages = %d, want %d", n, len(tc.want))
			}
			got := out.Bytes()
			if string(got[:4]) != "II*\x00" {
				t.Errorf("header %q, want little-endian", got[:4])
			}
			data, tags, pages := stripData(t, got), tagValues(t, got), mustRead(t, got).Pages()
			for i, w := range tc.want {
				src := readFixture(t, w.name)
				if !bytes.Equal(data[i], stripData(t, src)[w.page]) {
					t.Errorf("page %d: image data differs from page %d of %s", i, w.page, w.name)
				}
				wantTags := tagValues(t, src)[w.page]
				delete(wantTags, fmt.Sprintf("%d/%d/%d", TagPageNumber, typeShort, 2))
				for k := range wantTags { // strips moved; SHORT counts become LONG
					if k[:4] == "273/" || k[:4] == "279/" || w.desc != "" && k[:4] == "270/" {
						delete(wantTags, k)
					}
				}
				for k, v := range wantTags {
					if tags[i][k] != v {
						t.Errorf("page %d: tag %s = %q, want %q", i, k, tags[i][k], v)
					}
				}
				pn := string([]byte{byte(i), 0, byte(n), 0})
				if got := tags[i][fmt.Sprintf("%d/%d/%d", TagPageNumber, typeShort, 2)]; got != pn {
					t.Errorf("page %d: PageNumber % x, want % x", i, got, pn)
				}
				wantInfo := mustRead(t, src).Pages()[w.page]
				if w.desc != "" {
					wantInfo.ImageDescription = w.desc
				}
				if pages[i] != wantInfo {
					t.Errorf("page %d: %+v, want %+v", i, pages[i], wantInfo)
				}
			}
			path := filepath.Join(t.TempDir(), "m.tif")
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			libtiff(t, path, n, true)
		})
	}
}

// TestMergeIdentity: merging a merged file again gives the same bytes
// (parse → write → parse is the identity), for every fixture.
func TestMergeIdentity(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			var once, twice bytes.Buffer
			if _, err := Merge(&once, []Source{source(t, name, 0, 0)}); err != nil {
				t.Fatal(err)
			}
			if _, err := Merge(&twice, []Source{{R: bytes.NewReader(once.Bytes()), Size: int64(once.Len())}}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(once.Bytes(), twice.Bytes()) {
				t.Error("merge of a merged file differs")
			}
		})
	}
}

// TestMergeLibtiffCopy lets libtiff's tiffcp copy a merged file: it reads
// every directory and strip, and the copy holds the same image data.
func TestMergeLibtiffCopy(t *testing.T) {
	tool, err := exec.LookPath("tiffcp")
	if err != nil {
		t.Skip("tiffcp not installed (Debian libtiff-tools)")
	}
	var out bytes.Buffer
	srcs := []Source{source(t, "received-t38-2page.tif", 0, 0), source(t, "sent-2page-g3-bigendian.tif", 0, 0)}
	if _, err := Merge(&out, srcs); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in, cp := filepath.Join(dir, "m.tif"), filepath.Join(dir, "cp.tif")
	os.WriteFile(in, out.Bytes(), 0o644)
	if b, err := exec.Command(tool, in, cp).CombinedOutput(); err != nil || len(b) > 0 {
		t.Fatalf("tiffcp: %v\n%s", err, b)
	}
	copied, _ := os.ReadFile(cp)
	if !slices.EqualFunc(stripData(t, copied), stripData(t, out.Bytes()), bytes.Equal) {
		t.Error("libtiff's copy holds other image data")
	}
}

func TestMergeErrors(t *testing.T) {
	le := binary.LittleEndian
	ok := buildTIFF(le, 2)
	mutate := func(tag uint16, fn func(b []byte, at int)) []byte {
		b := slices.Clone(ok)
		f := mustRead(t, b)
		for j, e := range f.ifds[1].entries {
			if e.tag == tag {
				fn(b, int(f.ifds[1].offset)+2+12*j)
			}
		}
		return b
	}
	noStrips := mutate(TagStripOffsets, func(b []byte, at int) { le.PutUint16(b[at:], 1) })
	stripBeyond := mutate(TagStripByteCounts, func(b []byte, at int) { le.PutUint32(b[at+8:], 1<<20) })
	valueBeyond := mutate(TagImageDescription, func(b []byte, at int) { le.PutUint32(b[at+8:], uint32(len(b))) })
	valueInHeader := mutate(TagXResolution, func(b []byte, at int) { le.PutUint32(b[at+8:], 0) })
	hugeValue := mutate(TagImageDescription, func(b []byte, at int) { le.PutUint32(b[at+4:], MaxValueBytes+1) })
	tiled := mutate(TagStripOffsets, func(b []byte, at int) { le.PutUint16(b[at:], tagTileOffsets) })
	src := func(b []byte, first, count int) []Source {
		return []Source{{R: bytes.NewReader(b), Size: int64(len(b)), First: first, Count: count}}
	}
	tests := []struct {
		name string
		srcs []Source
	}{
		{"no sources", nil},
		{"start beyond end", src(ok, 2, 0)},
		{"negative start", src(ok, -1, 0)},
		{"negative count", src(ok, 0, -1)},
		{"count beyond end", src(ok, 1, 2)},
		{"not a TIFF", src([]byte("%PDF-1.4 hello"), 0, 0)},
		{"truncated", []Source{{R: bytes.NewReader(ok), Size: 100}}},
		{"no strips", src(noStrips, 0, 0)},
		{"strip beyond end", src(stripBeyond, 0, 0)},
		{"value beyond end", src(valueBeyond, 0, 0)},
		{"value in the header", src(valueInHeader, 0, 0)},
		{"value too large", src(hugeValue, 0, 0)},
		{"tiled", src(tiled, 0, 0)},
		{"shared data", src(sharedData(t), 0, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if _, err := Merge(&out, tc.srcs); !errors.Is(err, ErrFormat) {
				t.Errorf("err = %v, want ErrFormat", err)
			}
			if out.Len() > 0 {
				t.Errorf("%d bytes written", out.Len())
			}
		})
	}
}

// sharedData returns a file whose three pages all use one strip of most
// of the file: copying it would write three times its size.
func sharedData(t *testing.T) []byte {
	le := binary.LittleEndian
	b := buildTIFF(le, 3)
	blob := uint32(len(b))
	b = append(b, make([]byte, 1000)...)
	f := mustRead(t, b)
	for _, d := range f.ifds {
		for j, e := range d.entries {
			at := int(d.offset) + 2 + 12*j + 8
			switch e.tag {
			case TagStripOffsets:
				le.PutUint32(b[at:], blob)
			case TagStripByteCounts:
				le.PutUint32(b[at:], 1000)
			}
		}
	}
	return b
}

// FuzzMerge merges arbitrary files, from a page and for a count: nothing
// may panic, what is written reads back with the page count reported, and
// merging it again is the identity.
func FuzzMerge(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s, uint8(0), uint8(0))
	}
	f.Add(buildTIFF(binary.BigEndian, 3), uint8(1), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, first, count uint8) {
		var out bytes.Buffer
		n, err := Merge(&out, []Source{{R: bytes.NewReader(data), Size: int64(len(data)), First: int(first), Count: int(count),
			Set: []Field{ASCII(TagImageDescription, "x")}}})
		if err != nil {
			return
		}
		if n == 0 || count > 0 && n != int(count) {
			t.Fatalf("%d pages merged, count %d", n, count)
		}
		var again bytes.Buffer
		m, err := Merge(&again, []Source{{R: bytes.NewReader(out.Bytes()), Size: int64(out.Len())}})
		if err != nil || m != n {
			t.Fatalf("merged file: %d pages, %v; want %d", m, err, n)
		}
		if !bytes.Equal(again.Bytes(), out.Bytes()) {
			t.Fatal("merge of a merged file differs")
		}
	})
}

// BenchmarkMerge merges a real 2-page fax in memory.
func BenchmarkMerge(b *testing.B) {
	data := readFixture(b, "sent-2page-g3.tif")
	srcs := []Source{{R: bytes.NewReader(data), Size: int64(len(data))}}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Merge(io.Discard, srcs); err != nil {
			b.Fatal(err)
		}
	}
}
