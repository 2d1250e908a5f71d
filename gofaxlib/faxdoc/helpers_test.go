package faxdoc

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gofaxserver/gofaxserver/internal/golden"
)

// fixtures are the real files of testdata (see testdata/README).
var fixtures = []string{
	"received-g711-2page.tif", "received-t38-2page.tif", "received-t38-json-2page.tif",
	"sent-2page-g3.tif", "sent-2page-g3-bigendian.tif", "one-page-g4.tif",
}

func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func mustRead(tb testing.TB, data []byte) *File {
	tb.Helper()
	f, err := Read(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// checkGolden compares got, as JSON, with testdata/name, or rewrites it with
// -update.
func checkGolden(t *testing.T, name string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", name), append(b, '\n'))
}

// stripData returns the image data of every page of data.
func stripData(tb testing.TB, data []byte) [][]byte {
	tb.Helper()
	f := mustRead(tb, data)
	var out [][]byte
	for _, d := range f.ifds {
		var offs, counts []uint32
		for _, e := range d.entries {
			switch e.tag {
			case TagStripOffsets:
				offs, _ = f.uints(e)
			case TagStripByteCounts:
				counts, _ = f.uints(e)
			}
		}
		var page []byte
		for i := range offs {
			page = append(page, data[offs[i]:offs[i]+counts[i]]...)
		}
		out = append(out, page)
	}
	return out
}

// tagValues returns every tag of every page of data with its value
// converted to little-endian, as "tag/type/count" → value.
func tagValues(tb testing.TB, data []byte) []map[string]string {
	tb.Helper()
	f := mustRead(tb, data)
	var out []map[string]string
	for _, d := range f.ifds {
		m := map[string]string{}
		for _, e := range d.entries {
			v, err := f.value(e)
			if err != nil {
				continue
			}
			m[fmt.Sprintf("%d/%d/%d", e.tag, e.typ, e.count)] = string(toLittle(f.order, e.typ, slices.Clone(v)))
		}
		out = append(out, m)
	}
	return out
}

// libtiff checks path with tiffinfo when libtiff-tools is installed: it
// reads pages directories without complaint and, with decode, decodes
// every strip. It returns tiffinfo's output ("" when not installed).
func libtiff(t *testing.T, path string, pages int, decode bool) string {
	t.Helper()
	tool, err := exec.LookPath("tiffinfo")
	if err != nil {
		t.Log("tiffinfo not installed (Debian libtiff-tools); libtiff cross-check skipped")
		return ""
	}
	args := []string{path}
	if decode {
		args = []string{"-D", path}
	}
	out, err := exec.Command(tool, args...).CombinedOutput()
	s := string(out)
	if err != nil || strings.Contains(s, "Error") || decode && strings.Contains(s, "Warning") {
		t.Fatalf("tiffinfo: %v\n%s", err, s)
	}
	if got := strings.Count(s, "TIFF Directory at offset"); got != pages {
		t.Errorf("tiffinfo sees %d directories, want %d:\n%s", got, pages, s)
	}
	return s
}

// buildTIFF returns a synthetic file of pages pages: each has the usual
// fax tags, an out-of-line description and a private tag of a type
// libtiff does not know the meaning of, which must survive.
func buildTIFF(order byteOrder, pages int) []byte {
	buf := []byte("II*\x00\x00\x00\x00\x00")
	if order == byteOrder(binary.BigEndian) {
		buf = []byte("MM\x00*\x00\x00\x00\x00")
	}
	add := func(data []byte) uint32 {
		off := uint32(len(buf))
		buf = append(buf, data...)
		return off
	}
	prevNext := 4
	for p := range pages {
		strip := add([]byte{0x00, 0x01, 0x02, byte(p)})
		desc := add([]byte("remote ident\x00"))
		xres := add(order.AppendUint32(order.AppendUint32(nil, 204), 1))
		yres := add(order.AppendUint32(order.AppendUint32(nil, 98), 1))
		ents := []struct {
			tag, typ uint16
			count    uint32
			val      uint32
		}{
			{256, typeShort, 1, 1728}, {257, typeLong, 1, 1}, {259, typeShort, 1, 3}, {266, typeShort, 1, 2},
			{TagImageDescription, typeASCII, 13, desc}, {273, typeLong, 1, strip},
			{279, typeLong, 1, 4}, {282, typeRational, 1, xres}, {283, typeRational, 1, yres}, {292, typeLong, 1, 5},
			{40000, 7, 4, 0xdeadbeef},
		}
		if len(buf)%2 == 1 {
			buf = append(buf, 0)
		}
		order.PutUint32(buf[prevNext:], uint32(len(buf)))
		buf = order.AppendUint16(buf, uint16(len(ents)))
		for _, e := range ents {
			buf = order.AppendUint16(buf, e.tag)
			buf = order.AppendUint16(buf, e.typ)
			buf = order.AppendUint32(buf, e.count)
			if e.typ == typeShort {
				buf = order.AppendUint16(buf, uint16(e.val))
				buf = append(buf, 0, 0)
			} else {
				buf = order.AppendUint32(buf, e.val)
			}
		}
		prevNext = len(buf)
		buf = append(buf, 0, 0, 0, 0)
	}
	return buf
}

// compactTIFF returns data with every directory and tag value of the
// original but one 4-byte strip a page: a fuzz seed of a few hundred
// bytes with the real structure (the fuzzer crawls on 40 KB inputs).
func compactTIFF(tb testing.TB, data []byte) []byte {
	tb.Helper()
	f := mustRead(tb, data)
	o := f.order
	out := slices.Clone(data[:8])
	strip := uint32(len(out))
	out = append(out, 0, 1, 2, 3)
	prevNext := 4
	for _, d := range f.ifds {
		es := slices.Clone(d.entries)
		for i, e := range es {
			v, _ := f.value(e)
			switch {
			case e.tag == TagStripOffsets:
				es[i] = entry{tag: e.tag, typ: typeLong, count: 1, raw: [4]byte(o.AppendUint32(nil, strip))}
			case e.tag == TagStripByteCounts:
				es[i] = entry{tag: e.tag, typ: typeLong, count: 1, raw: [4]byte(o.AppendUint32(nil, 4))}
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
		out = appendIFD(out, o, es, 0)
		prevNext = len(out) - 4
	}
	return out
}

// seeds are the fuzz seeds: every fixture compacted, synthetic files in
// both byte orders, a header without pages.
func seeds(tb testing.TB) [][]byte {
	var s [][]byte
	for _, name := range fixtures {
		s = append(s, compactTIFF(tb, readFixture(tb, name)))
	}
	return append(s, buildTIFF(binary.BigEndian, 2), buildTIFF(binary.LittleEndian, 1), []byte("II*\x00\x00\x00\x00\x00"))
}
