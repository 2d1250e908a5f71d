package hylafax

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The -update flag rewrites golden files; another test file of the
// package may declare it too.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files in testdata")
	}
}

// tiffFixtures are the received faxes of testdata/tiff (real spandsp
// output, see testdata/tiff/README).
var tiffFixtures = []string{"received-g711-2page.tif", "received-t38-2page.tif", "received-t38-json-2page.tif"}

// tiffCopy copies testdata/tiff/name into a temporary directory.
func tiffCopy(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata/tiff", name))
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// tiffGolden compares got, as JSON, with testdata/tiff/name, or rewrites
// it with -update.
func tiffGolden(t *testing.T, name string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata/tiff", name)
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("%s differs from golden file:\n--- got\n%s\n--- want\n%s", name, b, want)
	}
}

// testFaxTags are the tags the golden files were made with.
var testFaxTags = FaxTags{
	Sender:     "+49 30 1234567",
	CallIDs:    []string{"5551234", "Alice", "4930999", "carrier"},
	Params:     &Class2Params{VR: VRNormal, BR: BR14400, DF: DF2DMR, EC: ECEnable64},
	SubAddress: "42",
	PageTimes:  []uint32{7, 9},
}

func TestTIFFPagesGolden(t *testing.T) {
	got := map[string][]PageInfo{}
	for _, name := range tiffFixtures {
		pages, err := TIFFPages(filepath.Join("testdata/tiff", name))
		if err != nil {
			t.Fatal(err)
		}
		got[name] = pages
		data, _ := os.ReadFile(filepath.Join("testdata/tiff", name))
		compact := compactTIFF(t, data)
		if cp, err := ReadTIFFPages(bytes.NewReader(compact), int64(len(compact))); err != nil || !slices.Equal(cp, pages) {
			t.Errorf("compact fuzz seed of %s reads as %+v, %v", name, cp, err)
		}
		n, err := CountTIFFPages(filepath.Join("testdata/tiff", name))
		if err != nil || n != 2 {
			t.Errorf("CountTIFFPages(%s) = %d, %v, want 2", name, n, err)
		}
		// What the fixtures README promises about spandsp's files.
		for i, p := range pages {
			if p.Width != 1728 || p.Compression != 3 || p.T4Options != 5 || p.FillOrder != 2 || p.FaxRecvParams != 0 {
				t.Errorf("%s page %d: %+v", name, i, p)
			}
		}
	}
	tiffGolden(t, "pages.golden", got)
}

// TestAddFaxTags tags the real spandsp files and reads them back: the new
// tags are there, every other entry and all image data are unchanged.
func TestAddFaxTags(t *testing.T) {
	got := map[string][]PageInfo{}
	for _, name := range tiffFixtures {
		t.Run(name, func(t *testing.T) {
			path := tiffCopy(t, name)
			orig, _ := os.ReadFile(path)
			if err := AddFaxTags(path, testFaxTags); err != nil {
				t.Fatal(err)
			}
			tagged, _ := os.ReadFile(path)
			if !bytes.Equal(orig[:4], tagged[:4]) || !bytes.Equal(orig[8:], tagged[8:len(orig)]) {
				t.Fatal("bytes of the original file changed (only the first IFD offset may)")
			}
			pages, err := TIFFPages(path)
			if err != nil {
				t.Fatal(err)
			}
			got[name] = pages
			for i, p := range pages {
				if p.ImageDescription != "+49 30 1234567\n5551234\nAlice\n4930999\ncarrier" {
					t.Errorf("page %d ImageDescription %q", i, p.ImageDescription)
				}
				// The pages are fine (204x196): the page wins over Params.
				want := Class2Params{VR: VRFine, BR: BR14400, DF: DF2DMR, EC: ECEnable64}.Encode()
				if p.FaxRecvParams != want || p.FaxRecvTime != testFaxTags.PageTimes[i] || p.FaxSubAddress != "42" {
					t.Errorf("page %d: %+v", i, p)
				}
				if !strings.HasPrefix(p.FaxDcs, "00 46 1F") {
					t.Errorf("page %d: spandsp's FaxDcs %q was not kept", i, p.FaxDcs)
				}
			}
			checkEntriesKept(t, orig, tagged)
			// Tagging again replaces the tags instead of adding more.
			again := testFaxTags
			again.Sender = "other"
			if err := AddFaxTags(path, again); err != nil {
				t.Fatal(err)
			}
			pages2, _ := TIFFPages(path)
			if len(pages2) != 2 || !strings.HasPrefix(pages2[0].ImageDescription, "other\n") {
				t.Errorf("second tagging: %+v", pages2)
			}
			tiffTool(t, path, 2, true)
		})
	}
	tiffGolden(t, "tagged.golden", got)
}

// checkEntriesKept compares the IFDs of two versions of a file: each
// entry of the original that was not replaced is in the new IFD as it
// was, and the new IFDs are sorted by tag.
func checkEntriesKept(t *testing.T, orig, tagged []byte) {
	t.Helper()
	a, err := readTIFF(bytes.NewReader(orig), int64(len(orig)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := readTIFF(bytes.NewReader(tagged), int64(len(tagged)))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.ifds) != len(b.ifds) {
		t.Fatalf("%d pages became %d", len(a.ifds), len(b.ifds))
	}
	replaced := []uint16{tagImageDescription, tagFaxRecvParams, tagFaxSubAddress, tagFaxRecvTime, tagFaxDcs}
	for i := range a.ifds {
		if !slices.IsSortedFunc(b.ifds[i].entries, func(x, y tiffEntry) int { return int(x.tag) - int(y.tag) }) {
			t.Errorf("page %d: entries not sorted by tag", i)
		}
		for _, e := range a.ifds[i].entries {
			if slices.Contains(replaced, e.tag) {
				continue
			}
			if !slices.Contains(b.ifds[i].entries, e) {
				t.Errorf("page %d: entry %+v lost", i, e)
			}
		}
	}
}

// tiffTool checks the file with libtiff's tiffinfo when it is installed:
// it must read every page and see the fax tags, and for real faxes
// (decode) also decode the image data without a complaint.
func tiffTool(t *testing.T, path string, pages int, decode bool) {
	t.Helper()
	tool, err := exec.LookPath("tiffinfo")
	if err != nil {
		t.Log("tiffinfo not installed (Debian libtiff-tools); libtiff cross-check skipped")
		return
	}
	args := []string{path}
	if decode {
		args = []string{"-D", path}
	}
	out, err := exec.Command(tool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("tiffinfo: %v\n%s", err, out)
	}
	s := string(out)
	for _, want := range []string{"FaxRecvParams: ", "FaxRecvTime: ", "ImageDescription: "} {
		if !strings.Contains(s, want) {
			t.Errorf("tiffinfo output lacks %q:\n%s", want, s)
		}
	}
	if strings.Count(s, "TIFF Directory at offset") != pages || strings.Contains(s, "Error") || decode && strings.Contains(s, "Warning") {
		t.Errorf("tiffinfo complains or misses pages:\n%s", s)
	}
}

// tiffBuilder writes small synthetic TIFF files.
type tiffBuilder struct {
	order byteOrder
	buf   []byte
}

// buildTIFF returns a file with one IFD per page in order; each page has
// the usual fax tags, an out-of-line description and a private tag that
// must survive tagging.
func buildTIFF(order byteOrder, pages int) []byte {
	b := &tiffBuilder{order: order}
	if order == binary.BigEndian {
		b.buf = []byte("MM\x00*\x00\x00\x00\x00")
	} else {
		b.buf = []byte("II*\x00\x00\x00\x00\x00")
	}
	prevNext := 4
	for p := range pages {
		strip := b.add([]byte{0x00, 0x01, 0x02, byte(p)})
		desc := b.add([]byte("remote ident\x00"))
		xres := b.add(order.AppendUint32(order.AppendUint32(nil, 204), 1))
		yres := b.add(order.AppendUint32(order.AppendUint32(nil, 98), 1))
		type ent struct {
			tag, typ uint16
			count    uint32
			val      uint32
		}
		ents := []ent{
			{256, typeShort, 1, 1728}, {257, typeLong, 1, 1}, {259, typeShort, 1, 3}, {266, typeShort, 1, 2},
			{tagImageDescription, typeASCII, 13, desc}, {273, typeLong, 1, strip},
			{279, typeLong, 1, 4}, {282, 5, 1, xres}, {283, 5, 1, yres}, {292, typeLong, 1, 5},
			{40000, 7, 4, 0xdeadbeef}, // a private tag libtiff does not know
		}
		if len(b.buf)%2 == 1 {
			b.buf = append(b.buf, 0)
		}
		order.PutUint32(b.buf[prevNext:], uint32(len(b.buf)))
		b.buf = order.AppendUint16(b.buf, uint16(len(ents)))
		for _, e := range ents {
			b.buf = order.AppendUint16(b.buf, e.tag)
			b.buf = order.AppendUint16(b.buf, e.typ)
			b.buf = order.AppendUint32(b.buf, e.count)
			if e.typ == typeShort {
				b.buf = order.AppendUint16(b.buf, uint16(e.val))
				b.buf = append(b.buf, 0, 0)
			} else {
				b.buf = order.AppendUint32(b.buf, e.val)
			}
		}
		prevNext = len(b.buf)
		b.buf = append(b.buf, 0, 0, 0, 0)
	}
	return b.buf
}

// add appends data and returns its offset.
func (b *tiffBuilder) add(data []byte) uint32 {
	off := uint32(len(b.buf))
	b.buf = append(b.buf, data...)
	return off
}

// TestAddFaxTagsByteOrders tags synthetic files in both byte orders.
func TestAddFaxTagsByteOrders(t *testing.T) {
	for name, order := range map[string]byteOrder{"II": binary.LittleEndian, "MM": binary.BigEndian} {
		for _, pages := range []int{1, 3} {
			t.Run(name, func(t *testing.T) {
				data := buildTIFF(order, pages)
				if len(data)%2 == 0 {
					data = append(data, 0xff) // an odd size: the new IFDs must still be word aligned
				}
				path := filepath.Join(t.TempDir(), "f.tif")
				if err := os.WriteFile(path, data, 0o600); err != nil {
					t.Fatal(err)
				}
				tags := FaxTags{CallIDs: []string{"555\n1234"}, Params: &Class2Params{BR: BR9600}, DCS: "00 00 00", PageTimes: []uint32{1}}
				if err := AddFaxTags(path, tags); err != nil {
					t.Fatal(err)
				}
				tagged, _ := os.ReadFile(path)
				tf, err := readTIFF(bytes.NewReader(tagged), int64(len(tagged)))
				if err != nil {
					t.Fatal(err)
				}
				for i, ifd := range tf.ifds {
					if ifd.offset%2 != 0 {
						t.Errorf("IFD %d at odd offset %d", i, ifd.offset)
					}
					p := tf.page(ifd)
					wantTime := uint32(0)
					if i == 0 {
						wantTime = 1
					}
					if p.ImageDescription != "remote ident\n555 1234" || p.FaxDcs != "00 00 00" || p.FaxRecvTime != wantTime ||
						p.FaxRecvParams != (Class2Params{VR: VRNormal, BR: BR9600}).Encode() || p.Width != 1728 || p.YResolution != 98 {
						t.Errorf("page %d: %+v", i, p)
					}
				}
				checkEntriesKept(t, data, tagged)
				tiffTool(t, path, pages, false)
			})
		}
	}
}

func TestTIFFErrors(t *testing.T) {
	le := binary.LittleEndian
	loop := buildTIFF(le, 1)
	le.PutUint32(loop[len(loop)-4:], le.Uint32(loop[4:])) // next IFD = itself
	tooMany := buildTIFF(le, 1)
	le.PutUint16(tooMany[le.Uint32(tooMany[4:]):], maxIFDEntries+1)
	beyond := buildTIFF(le, 1)
	le.PutUint32(beyond[4:], uint32(len(beyond)))
	truncated := buildTIFF(le, 1)
	truncated = truncated[:len(truncated)-6]
	tests := map[string][]byte{
		"empty":           nil,
		"short":           []byte("II*\x00"),
		"not a TIFF":      []byte("%PDF-1.4 not a tiff"),
		"BigTIFF":         []byte("II+\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
		"IFD loop":        loop,
		"too many fields": tooMany,
		"IFD beyond end":  beyond,
		"truncated IFD":   truncated,
		"empty IFD":       []byte("II*\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := ReadTIFFPages(bytes.NewReader(data), int64(len(data))); !errors.Is(err, ErrTIFF) {
				t.Errorf("ReadTIFFPages error = %v, want ErrTIFF", err)
			}
		})
	}
}

// TestTIFFZeroPages covers what spandsp leaves when no page arrived: an
// empty file, or a header without IFDs.
func TestTIFFZeroPages(t *testing.T) {
	dir := t.TempDir()
	header := filepath.Join(dir, "header.tif")
	os.WriteFile(header, []byte("II*\x00\x00\x00\x00\x00"), 0o600)
	if n, err := CountTIFFPages(header); n != 0 || err != nil {
		t.Errorf("header only: %d pages, %v", n, err)
	}
	if err := AddFaxTags(header, testFaxTags); !errors.Is(err, ErrTIFF) {
		t.Errorf("AddFaxTags on no pages: %v, want ErrTIFF", err)
	}
	empty := filepath.Join(dir, "empty.tif")
	os.WriteFile(empty, nil, 0o600)
	if _, err := CountTIFFPages(empty); !errors.Is(err, ErrTIFF) {
		t.Errorf("empty file: %v, want ErrTIFF", err)
	}
	if _, err := CountTIFFPages(filepath.Join(dir, "missing.tif")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzTIFF reads arbitrary files, tags what reads, and reads the result
// again: nothing may panic, and tagging keeps the pages.
func FuzzTIFF(f *testing.F) {
	for _, name := range tiffFixtures {
		data, err := os.ReadFile(filepath.Join("testdata/tiff", name))
		if err != nil {
			f.Fatal(err)
		}
		// The fuzzer crawls on 40 KB inputs; the IFDs are what matters.
		f.Add(compactTIFF(f, data))
	}
	f.Add(buildTIFF(binary.BigEndian, 2))
	f.Add(buildTIFF(binary.LittleEndian, 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		pages, err := ReadTIFFPages(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		tail, first, err := faxTagsTail(bytes.NewReader(data), int64(len(data)), testFaxTags)
		if err != nil {
			return
		}
		out := append(slices.Clone(data), tail...)
		if data[0] == 'M' {
			binary.BigEndian.PutUint32(out[4:], first)
		} else {
			binary.LittleEndian.PutUint32(out[4:], first)
		}
		again, err := ReadTIFFPages(bytes.NewReader(out), int64(len(out)))
		if err != nil || len(again) != len(pages) {
			t.Fatalf("tagged file: %d pages, %v; had %d", len(again), err, len(pages))
		}
		for i, p := range again {
			if p.FaxSubAddress != "42" || !strings.Contains(p.ImageDescription, "\n5551234\n") {
				t.Fatalf("page %d lacks the tags: %+v", i, p)
			}
		}
	})
}

// compactTIFF returns data with every IFD and tag value of the original
// but 4-byte strips: a small fuzz seed with the real structure.
func compactTIFF(tb testing.TB, data []byte) []byte {
	tf, err := readTIFF(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		tb.Fatal(err)
	}
	o := tf.order
	out := slices.Clone(data[:8])
	strip := uint32(len(out))
	out = append(out, 0, 1, 2, 3)
	prevNext := 4
	for _, ifd := range tf.ifds {
		es := slices.Clone(ifd.entries)
		for i, e := range es {
			switch v := tf.value(e); {
			case e.tag == 273: // StripOffsets
				es[i] = tiffEntry{tag: e.tag, typ: typeLong, count: 1, raw: [4]byte(o.AppendUint32(nil, strip))}
			case e.tag == 279: // StripByteCounts
				es[i] = tiffEntry{tag: e.tag, typ: typeLong, count: 1, raw: [4]byte(o.AppendUint32(nil, 4))}
			case len(v) > 4:
				if len(out)%2 == 1 {
					out = append(out, 0)
				}
				o.PutUint32(es[i].raw[:], uint32(len(out)))
				out = append(out, v...)
			}
		}
		if len(out)%2 == 1 {
			out = append(out, 0)
		}
		o.PutUint32(out[prevNext:], uint32(len(out)))
		out = o.AppendUint16(out, uint16(len(es)))
		for _, e := range es {
			out = o.AppendUint16(out, e.tag)
			out = o.AppendUint16(out, e.typ)
			out = o.AppendUint32(out, e.count)
			out = append(out, e.raw[:]...)
		}
		prevNext = len(out)
		out = append(out, 0, 0, 0, 0)
	}
	return out
}

// BenchmarkAddFaxTags tags a real 2-page fax in memory (the file I/O of
// AddFaxTags is two writes and two fsyncs on top).
func BenchmarkAddFaxTags(b *testing.B) {
	data, err := os.ReadFile("testdata/tiff/received-t38-2page.tif")
	if err != nil {
		b.Fatal(err)
	}
	r := bytes.NewReader(data)
	for b.Loop() {
		if _, _, err := faxTagsTail(r, int64(len(data)), testFaxTags); err != nil {
			b.Fatal(err)
		}
	}
}
