package faxdoc

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gofaxserver/gofaxserver/internal/golden"
)

// pdfObjects checks the structure of a PDF this package wrote (header,
// cross reference table, object offsets, stream lengths, trailer) and
// returns every object without its stream data, by object number.
func pdfObjects(t testing.TB, b []byte) []string {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("%PDF-1.4\n")) || !bytes.HasSuffix(b, []byte("%%EOF\n")) {
		t.Fatalf("no PDF header or trailer end")
	}
	m := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no startxref")
	}
	xref, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(b[xref:], []byte("xref\n0 ")) {
		t.Fatalf("startxref %d does not point at the xref table", xref)
	}
	lines := strings.Split(string(b[xref:]), "\n")
	n, _ := strconv.Atoi(strings.Fields(lines[1])[1])
	if lines[2] != "0000000000 65535 f " {
		t.Errorf("xref entry 0: %q", lines[2])
	}
	trailer := strings.Join(lines[n+2:], "\n")
	if !strings.Contains(trailer, fmt.Sprintf("<< /Size %d /Root 1 0 R >>", n)) {
		t.Errorf("trailer: %q", trailer)
	}
	objs := make([]string, n)
	for i := 1; i < n; i++ {
		e := lines[i+2]
		if len(e) != 19 || !strings.HasSuffix(e, " 00000 n ") {
			t.Fatalf("xref entry %d: %q", i, e)
		}
		off, _ := strconv.Atoi(e[:10])
		head := fmt.Sprintf("%d 0 obj\n", i)
		if !bytes.HasPrefix(b[off:], []byte(head)) {
			t.Fatalf("object %d not at %d", i, off)
		}
		body := b[off+len(head):]
		end := bytes.Index(body, []byte("\nendobj\n"))
		if s := bytes.Index(body, []byte(">>\nstream\n")); s >= 0 && s < end {
			lm := regexp.MustCompile(`/Length (\d+)`).FindSubmatch(body[:s])
			if lm == nil {
				t.Fatalf("object %d: stream without length", i)
			}
			l, _ := strconv.Atoi(string(lm[1]))
			data := s + len(">>\nstream\n")
			if !bytes.HasPrefix(body[data+l:], []byte("\nendstream\nendobj\n")) {
				t.Fatalf("object %d: stream length %d is wrong", i, l)
			}
			objs[i] = string(body[:s+2])
			if !strings.Contains(objs[i], "/Subtype /Image") {
				objs[i] += " stream " + strconv.Quote(string(body[data:data+l]))
			}
			continue
		}
		objs[i] = string(body[:end])
	}
	return objs[1:]
}

// TestWritePDF: the objects written for every fixture (golden), with
// the CCITT parameters their TIFF tags call for.
func TestWritePDF(t *testing.T) {
	var got strings.Builder
	for _, name := range fixtures {
		data := readFixture(t, name)
		var buf bytes.Buffer
		pages, err := TIFFToPDF(&buf, bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		objs := pdfObjects(t, buf.Bytes())
		if n := strings.Count(strings.Join(objs, "\n"), "/Type /Page "); n != pages {
			t.Errorf("%s: %d pages written, %d reported", name, n, pages)
		}
		fmt.Fprintf(&got, "== %s\n", name)
		for i, o := range objs {
			fmt.Fprintf(&got, "%d: %s\n", i+1, o)
		}
		// The image data is the strips' data, bits reversed for FillOrder 2.
		f := mustRead(t, data)
		for i, strip := range stripData(t, data) {
			if f.Pages()[i].FillOrder == 2 {
				strip = slices.Clone(strip)
				for j, c := range strip {
					strip[j] = reversed[c]
				}
			}
			if !bytes.Contains(buf.Bytes(), append([]byte("stream\n"), strip...)) {
				t.Errorf("%s page %d: image data not passed through", name, i+1)
			}
		}
	}
	golden.Check(t, filepath.Join("testdata", "pdf.golden"), []byte(got.String()))
}

func TestReversed(t *testing.T) {
	for in, want := range map[byte]byte{0x00: 0x00, 0x01: 0x80, 0x80: 0x01, 0xf0: 0x0f, 0x35: 0xac, 0xff: 0xff} {
		if reversed[in] != want {
			t.Errorf("reversed[%#02x] = %#02x, want %#02x", in, reversed[in], want)
		}
	}
}

// retagged returns data with fields set on every page.
func retagged(t *testing.T, data []byte, fields ...Field) []byte {
	t.Helper()
	f := mustRead(t, data)
	set := make([][]Field, f.NumPages())
	for i := range set {
		set[i] = fields
	}
	tail, hdr, err := f.Retag(set)
	if err != nil {
		t.Fatal(err)
	}
	return append(append(hdr[:], data[8:]...), tail...)
}

func short(tag uint16, v uint32) Field { return shorts(tag, v) }

// TestWritePDFErrors: pages PDF output cannot carry are refused before
// anything is written.
func TestWritePDFErrors(t *testing.T) {
	base := readFixture(t, "received-t38-2page.tif")
	for _, tc := range []struct {
		name   string
		fields []Field
		want   error
	}{
		{"uncompressed", []Field{short(TagCompression, 1)}, ErrUnsupported},
		{"JBIG", []Field{short(TagCompression, 34661)}, ErrUnsupported},
		{"T.4 uncompressed mode", []Field{Long(TagT4Options, 3)}, ErrUnsupported},
		{"T.6 uncompressed mode", []Field{short(TagCompression, 4), Long(TagT6Options, 2)}, ErrUnsupported},
		{"8 bits", []Field{short(tagBitsPerSamp, 8)}, ErrUnsupported},
		{"RGB", []Field{short(TagPhotometric, 2)}, ErrUnsupported},
		{"no width", []Field{Long(TagImageWidth, 0)}, ErrFormat},
		{"too wide", []Field{Long(TagImageWidth, MaxImageWidth+1)}, ErrFormat},
		{"too long", []Field{Long(TagImageLength, MaxImageRows+1)}, ErrFormat},
		{"fill order 3", []Field{short(TagFillOrder, 3)}, ErrFormat},
		{"strip beyond end", []Field{Long(TagStripOffsets, uint32(len(base)))}, ErrFormat},
		{"strips overlap", []Field{longs(TagStripOffsets, []uint32{8, 8, 8}), longs(TagStripByteCounts, []uint32{30000, 30000, 30000}),
			Long(TagRowsPerStrip, 1000)}, ErrFormat},
		{"strips and rows disagree", []Field{longs(TagStripOffsets, []uint32{8, 8}), longs(TagStripByteCounts, []uint32{1, 1}),
			Long(TagRowsPerStrip, 100)}, ErrFormat},
		{"no rows per strip", []Field{longs(TagStripOffsets, []uint32{8, 9}), longs(TagStripByteCounts, []uint32{1, 1}),
			Long(TagRowsPerStrip, 0)}, ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := retagged(t, base, tc.fields...)
			var buf bytes.Buffer
			if _, err := TIFFToPDF(&buf, bytes.NewReader(data), int64(len(data))); !errors.Is(err, tc.want) {
				t.Errorf("TIFFToPDF = %v, want %v", err, tc.want)
			}
			if buf.Len() != 0 {
				t.Errorf("%d bytes written", buf.Len())
			}
		})
	}
	var buf bytes.Buffer
	for _, data := range [][]byte{[]byte("%PDF-1.4"), []byte("II*\x00\x00\x00\x00\x00")} {
		if _, err := TIFFToPDF(&buf, bytes.NewReader(data), int64(len(data))); !errors.Is(err, ErrFormat) {
			t.Errorf("TIFFToPDF(%q) = %v", data, err)
		}
	}
	if err := NewPDF(&buf).Close(); err == nil {
		t.Error("PDF without pages closed without error")
	}
}

// TestEOL: how strips' ends are recognised (joining strips into one image).
func TestEOL(t *testing.T) {
	im := &FaxImage{}
	for _, tc := range []struct {
		data        []byte
		twoD        bool
		start, ends bool
	}{
		{[]byte{0x00, 0x1f, 0xff}, false, true, false},       // EOL (11 zeros, 1) at the start
		{[]byte{0x00, 0x01, 0xff}, false, true, false},       // fill bits, then EOL
		{[]byte{0x02, 0x01, 0xff}, false, false, false},      // no EOL
		{[]byte{0xab, 0x00, 0x10}, false, false, true},       // ends with EOL
		{[]byte{0xab, 0x00, 0x01, 0x00}, false, false, true}, // EOL, then padding
		{[]byte{0xab, 0x00, 0x18}, true, false, true},        // EOL + 2-D tag bit 1
		{[]byte{0xab, 0x00, 0x18}, false, false, false},      // the same is no EOL in 1-D
		{[]byte{0xab, 0x00, 0x30}, false, false, false},      // only 10 zeros
		{[]byte{0x00, 0x00}, false, false, false},
	} {
		im.k = 0
		if tc.twoD {
			im.k = 4
		}
		im.f = &File{r: bytes.NewReader(tc.data), size: int64(len(tc.data))}
		s := piece{0, int64(len(tc.data))}
		start, err1 := im.startsWithEOL(s)
		ends, err2 := im.endsWithEOL(s)
		if start != tc.start || ends != tc.ends || err1 != nil || err2 != nil {
			t.Errorf("% x (2-D %v): starts %v ends %v (%v %v), want %v %v", tc.data, tc.twoD, start, ends, err1, err2, tc.start, tc.ends)
		}
	}
}

// TestImageSize: the page keeps the fax's proportions whatever its
// resolution.
func TestImageSize(t *testing.T) {
	data := readFixture(t, "received-t38-2page.tif")
	for _, tc := range []struct {
		fields []Field
		w, h   float64
	}{
		{nil, 609.882, 792},
		{[]Field{rational(TagYResolution, 98), Long(TagImageLength, 1078)}, 609.882, 792},
		{[]Field{rational(TagXResolution, 80), rational(TagYResolution, 77), short(TagResolutionUnit, 3)}, 612.283, 793.701},
		{[]Field{rational(TagXResolution, 0), rational(TagYResolution, 0), Long(TagImageLength, 1100)}, 609.882, 808.163},
		{[]Field{rational(TagXResolution, 0), rational(TagYResolution, 0)}, 609.882, 792},
	} {
		f := mustRead(t, retagged(t, data, tc.fields...))
		im, err := f.FaxImage(0)
		if err != nil {
			t.Fatal(err)
		}
		w, h := im.Size()
		if fmt.Sprintf("%.3f %.3f", w, h) != fmt.Sprintf("%.3f %.3f", tc.w, tc.h) {
			t.Errorf("%v: size %.3f × %.3f, want %.3f × %.3f", tc.fields, w, h, tc.w, tc.h)
		}
	}
}

// rational returns a RATIONAL field v/1 (v/100 for centimetres would do
// too; whole numbers suffice here).
func rational(tag uint16, v uint32) Field {
	return Field{Tag: tag, typ: typeRational, nums: []uint32{v, 1}}
}

// TestCompose: a one-page report with text and a fax page scaled into a
// rectangle; the image is written once however often it is placed.
func TestCompose(t *testing.T) {
	var buf bytes.Buffer
	pdf := composeReport(t, &buf)
	pdfObjects(t, pdf)
	all := string(pdf)
	if n := strings.Count(all, "/Subtype /Image"); n != 1 {
		t.Errorf("%d image objects, want 1", n)
	}
	for _, want := range []string{
		`(Transmission report \(OK\)) Tj`,
		`(Remote: "ACME" \\ Gr\374\337e \2005 \226 ?) Tj`, // Grüße €5 – ✓
		`(tab to space) Tj`,
		"/BaseFont /Helvetica /Encoding /WinAnsiEncoding",
		"/MediaBox [0 0 595.28 841.89]",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no %q in\n%s", want, all)
		}
	}
	if strings.Count(all, "/Type /Font") != 1 {
		t.Error("font not written exactly once")
	}
}

func composeReport(t *testing.T, w *bytes.Buffer) []byte {
	t.Helper()
	f := mustRead(t, readFixture(t, "received-t38-2page.tif"))
	im, err := f.FaxImage(0)
	if err != nil {
		t.Fatal(err)
	}
	d := NewPDF(w)
	pg := d.AddPage(595.28, 841.89)
	pg.Text(56, 780, 16, "Transmission report (OK)")
	pg.Text(56, 760, 10, `Remote: "ACME" \ Grüße €5 – ✓`)
	pg.Text(56, 745, 10, "tab\tto space")
	pg.Rect(56, 100, 300, 400, 1)
	if err := pg.Image(im, 56, 100, 300, 400); err != nil {
		t.Fatal(err)
	}
	pg = d.AddPage(595.28, 841.89)
	if err := pg.Image(im, 0, 0, 595.28, 841.89); err != nil {
		t.Fatal(err)
	}
	if err := pg.Image(im, 0, 0, 0, 100); err == nil {
		t.Error("image placed into an empty rectangle")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	n := w.Len()
	if err := d.AddPage(10, 10).Image(im, 0, 0, 10, 10); err == nil || w.Len() != n {
		t.Errorf("image placed after Close: %v, %d bytes more", err, w.Len()-n)
	}
	return w.Bytes()
}

func TestPDFString(t *testing.T) {
	for in, want := range map[string]string{
		"plain":       "plain",
		`a(b)c\d`:     `a\(b\)c\\d`,
		"Grüße":       `Gr\374\337e`,
		"€ … ‰ Ÿ":     `\200 \205 \211 \237`,
		"✓ 漢":         "? ?",
		"nl\nnul\x00": "nl nul ",
		"\u0081":      "?",
	} {
		if got := pdfString(in); got != want {
			t.Errorf("pdfString(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzTIFFToPDF: any input gives a PDF or an error, never a panic; what
// is written is a well-formed PDF.
func FuzzTIFFToPDF(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var buf bytes.Buffer
		pages, err := TIFFToPDF(&buf, bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if buf.Len() != 0 {
				t.Fatalf("error %v after %d bytes written", err, buf.Len())
			}
			return
		}
		if pages < 1 || len(pdfObjects(t, buf.Bytes())) < 4 {
			t.Fatalf("%d pages", pages)
		}
	})
}

// --- rendering against libtiff, Ghostscript and poppler ---

// lookTool returns the path of a program the rendering tests need, or
// skips the test.
func lookTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (Debian %s; contrib/install-deps.sh)", name, pkg)
	}
	return p
}

func runTool(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
}

// bitmap is a 1-bit image, rows padded to bytes, 1 = black (as in PBM).
type bitmap struct {
	w, h int
	data []byte
}

// readPBMs reads the PBM (P4) files matching glob, in name order.
func readPBMs(t *testing.T, glob string) []bitmap {
	t.Helper()
	names, _ := filepath.Glob(glob)
	slices.SortFunc(names, func(a, b string) int { // "-2" before "-10"
		return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b))
	})
	var out []bitmap
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		var fields []string
		pos := 0
		for len(fields) < 3 {
			end := bytes.IndexByte(b[pos:], '\n')
			if end < 0 {
				t.Fatalf("%s: bad PBM header", n)
			}
			line := string(b[pos : pos+end])
			pos += end + 1
			if !strings.HasPrefix(line, "#") {
				fields = append(fields, strings.Fields(line)...)
			}
		}
		w, _ := strconv.Atoi(fields[1])
		h, _ := strconv.Atoi(fields[2])
		if fields[0] != "P4" || len(b)-pos != (w+7)/8*h {
			t.Fatalf("%s: not a %d × %d PBM", n, w, h)
		}
		out = append(out, bitmap{w, h, b[pos:]})
	}
	return out
}

// libtiffBitmaps decodes every page of the TIFF at path with libtiff
// (tiffcp -c none).
func libtiffBitmaps(t *testing.T, path string) []bitmap {
	t.Helper()
	raw := filepath.Join(t.TempDir(), "raw.tif")
	runTool(t, lookTool(t, "tiffcp", "libtiff-tools"), "-c", "none", "-f", "msb2lsb", path, raw)
	data, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	f := mustRead(t, data)
	var out []bitmap
	for i, strip := range stripData(t, data) {
		p := f.Pages()[i]
		if f.photometric(i) == 1 { // min-is-black: 1 is white
			for j := range strip {
				strip[j] = ^strip[j]
			}
		}
		out = append(out, bitmap{int(p.Width), int(p.Length), strip})
	}
	return out
}

// photometric returns page i's PhotometricInterpretation.
func (f *File) photometric(i int) uint32 {
	for _, e := range f.ifds[i].entries {
		if e.tag == TagPhotometric {
			v, _ := f.uint(e)
			return v
		}
	}
	return 0
}

// sameBitmaps reports pages that differ, with the number of rows that do.
func sameBitmaps(t *testing.T, what string, got, want []bitmap) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d pages, want %d", what, len(got), len(want))
		return
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.w != w.w || g.h != w.h {
			t.Errorf("%s page %d: %d × %d pixels, want %d × %d", what, i+1, g.w, g.h, w.w, w.h)
			continue
		}
		stride, rows := (g.w+7)/8, 0
		for y := range g.h {
			if !bytes.Equal(g.data[y*stride:(y+1)*stride], w.data[y*stride:(y+1)*stride]) {
				rows++
			}
		}
		if rows > 0 {
			t.Errorf("%s page %d: %d of %d rows differ", what, i+1, rows, g.h)
		}
	}
}

// renderCase is a fax TIFF made for the rendering test.
type renderCase struct {
	name  string
	make  func(t *testing.T, path string) // writes the TIFF to path
	parts int                             // image objects a page, 1 when strips join
}

func fixtureCase(name string) renderCase {
	return renderCase{name: name, parts: 1, make: func(t *testing.T, path string) {
		if err := os.WriteFile(path, readFixture(t, name), 0o644); err != nil {
			t.Fatal(err)
		}
	}}
}

// gsCase renders two pages of text with a Ghostscript fax device, as
// faxq's ps2fax and pdf2fax do.
func gsCase(device, res string, pages int) renderCase {
	return renderCase{name: fmt.Sprintf("gs %s %s %d pages", device, res, pages), parts: 1, make: func(t *testing.T, path string) {
		ps := ""
		for p := 1; p <= pages; p++ {
			ps += fmt.Sprintf("/Helvetica findfont 28 scalefont setfont 60 700 moveto (Page %d through %s at %s dpi) show "+
				"60 650 moveto (The quick brown fox jumps over the lazy dog 0123456789) show "+
				"4 setlinewidth 60 100 moveto 500 600 lineto stroke showpage ", p, device, res)
		}
		g := "1728x2156"
		if strings.HasSuffix(res, "x98") {
			g = "1728x1078"
		}
		runTool(t, lookTool(t, "gs", "ghostscript"), "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE="+device,
			"-r"+res, "-g"+g, "-sOutputFile="+path, "-c", ps)
	}}
}

// tiffcpCase recompresses a fixture with tiffcp options (coding, strips,
// fill order), then sets photometric to min-is-black when asked.
func tiffcpCase(name string, parts int, minIsBlack bool, args ...string) renderCase {
	return renderCase{name: name, parts: parts, make: func(t *testing.T, path string) {
		src := filepath.Join("testdata", "received-t38-2page.tif")
		runTool(t, lookTool(t, "tiffcp", "libtiff-tools"), append(args, src, path)...)
		if minIsBlack {
			set := lookTool(t, "tiffset", "libtiff-tools")
			runTool(t, set, "-s", "262", "1", path)
			runTool(t, set, "-d", "1", "-s", "262", "1", path)
		}
	}}
}

// TestRendering renders the PDFs of real and prepared faxes: Ghostscript's
// rendering at the fax's resolution is the page libtiff decodes, bit for
// bit; poppler's (pdftoppm -mono) is the one of tiff2pdf's PDF of the
// same file. (poppler dithers 1-bit images, so its pixels differ from
// libtiff's; it only compares with itself. It also places several images
// a page a little differently from one, hence no poppler comparison for
// the G4 strips that stay separate.)
func TestRendering(t *testing.T) {
	if testing.Short() {
		t.Skip("renders about 40 pages with external programs")
	}
	lookTool(t, "gs", "ghostscript")
	lookTool(t, "pdftoppm", "poppler-utils")
	lookTool(t, "tiff2pdf", "libtiff-tools")
	lookTool(t, "tiffcp", "libtiff-tools")
	cases := []renderCase{
		fixtureCase("received-t38-2page.tif"), fixtureCase("received-t38-json-2page.tif"),
		fixtureCase("received-g711-2page.tif"), fixtureCase("sent-2page-g3.tif"),
		fixtureCase("sent-2page-g3-bigendian.tif"), fixtureCase("one-page-g4.tif"),
		gsCase("tiffg3", "204x196", 2), gsCase("tiffg32d", "204x196", 2), gsCase("tiffg4", "204x196", 3),
		gsCase("tiffg3", "204x98", 2), gsCase("tiffg4", "204x98", 1),
		tiffcpCase("MH without fill bits", 1, false, "-c", "g3:1d"),
		tiffcpCase("MR without fill bits", 1, false, "-c", "g3:2d"),
		tiffcpCase("MR strips of 100 rows in fill order 2", 1, false, "-c", "g3:2d:fill", "-r", "100", "-f", "lsb2msb"),
		tiffcpCase("MH strips of one row", 1, false, "-c", "g3:1d:fill", "-r", "1"),
		tiffcpCase("MMR strips of 333 rows in fill order 2", 7, false, "-c", "g4", "-r", "333", "-f", "lsb2msb"),
		tiffcpCase("MMR min-is-black", 1, true, "-c", "g4"),
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tif := filepath.Join(dir, "fax.tif")
			tc.make(t, tif)
			data, err := os.ReadFile(tif)
			if err != nil {
				t.Fatal(err)
			}
			f := mustRead(t, data)
			for i := range f.NumPages() {
				im, err := f.FaxImage(i)
				if err != nil {
					t.Fatal(err)
				}
				if len(im.parts) != tc.parts {
					t.Errorf("page %d: %d image parts, want %d", i+1, len(im.parts), tc.parts)
				}
			}
			var buf bytes.Buffer
			if err := f.WritePDF(&buf); err != nil {
				t.Fatal(err)
			}
			ours := filepath.Join(dir, "ours.pdf")
			if err := os.WriteFile(ours, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			p := f.Pages()[0]
			xdpi, ydpi := strconv.Itoa(int(p.XDPI())), strconv.Itoa(int(p.YDPI()))

			runTool(t, "gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pbmraw", "-r"+xdpi+"x"+ydpi,
				"-o", filepath.Join(dir, "gs-%03d.pbm"), ours)
			sameBitmaps(t, "Ghostscript vs libtiff", readPBMs(t, filepath.Join(dir, "gs-*.pbm")), libtiffBitmaps(t, tif))

			if tc.parts != 1 {
				return
			}
			ref := filepath.Join(dir, "tiff2pdf.pdf")
			runTool(t, "tiff2pdf", "-o", ref, tif)
			runTool(t, "pdftoppm", "-mono", "-rx", xdpi, "-ry", ydpi, ours, filepath.Join(dir, "ours"))
			runTool(t, "pdftoppm", "-mono", "-rx", xdpi, "-ry", ydpi, ref, filepath.Join(dir, "ref"))
			sameBitmaps(t, "pdftoppm ours vs tiff2pdf's", readPBMs(t, filepath.Join(dir, "ours-*.pbm")),
				readPBMs(t, filepath.Join(dir, "ref-*.pbm")))
		})
	}
}

// TestComposeRendering: poppler and Ghostscript read the report; its
// text comes out of pdftotext and the fax page shows inside its frame.
func TestComposeRendering(t *testing.T) {
	lookTool(t, "pdftotext", "poppler-utils")
	lookTool(t, "pdftoppm", "poppler-utils")
	lookTool(t, "pdfinfo", "poppler-utils")
	lookTool(t, "gs", "ghostscript")
	dir := t.TempDir()
	var buf bytes.Buffer
	path := filepath.Join(dir, "report.pdf")
	if err := os.WriteFile(path, composeReport(t, &buf), 0o644); err != nil {
		t.Fatal(err)
	}
	info, err := exec.Command("pdfinfo", path).CombinedOutput()
	if err != nil || !strings.Contains(string(info), "Pages:           2") ||
		!strings.Contains(string(info), "595.28 x 841.89 pts (A4)") || strings.Contains(string(info), "Syntax") {
		t.Errorf("pdfinfo: %v\n%s", err, info)
	}
	text, err := exec.Command("pdftotext", "-layout", path, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v %s", err, text)
	}
	for _, want := range []string{"Transmission report (OK)", `Remote: "ACME" \ Grüße €5 – ?`, "tab to space"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("pdftotext lacks %q:\n%s", want, text)
		}
	}
	// 72 dpi: one pixel a point. The fax page (609.9 × 792 pt) scaled
	// into the 300 × 400 frame at (56, 100) is 300 × 389.6, centred.
	runTool(t, "pdftoppm", "-mono", "-r", "72", "-f", "1", "-l", "1", path, filepath.Join(dir, "page"))
	page := readPBMs(t, filepath.Join(dir, "page-*.pbm"))[0]
	black := func(x0, y0, x1, y1 int) (n int) { // PDF coordinates, y up
		stride := (page.w + 7) / 8
		for y := page.h - y1; y < page.h-y0; y++ {
			for x := x0; x < x1; x++ {
				if page.data[y*stride+x/8]>>(7-x%8)&1 == 1 {
					n++
				}
			}
		}
		return n
	}
	if n := black(60, 110, 352, 490); n < 1000 {
		t.Errorf("%d black pixels inside the frame: no fax image", n)
	}
	if n := black(400, 100, 590, 700); n != 0 {
		t.Errorf("%d black pixels right of the frame", n)
	}
	if n := black(56, 760, 300, 800); n < 100 {
		t.Errorf("%d black pixels in the title line", n)
	}
	out, err := exec.Command("gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=nullpage", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("Ghostscript: %v\n%s", err, out)
	}
}

// BenchmarkTIFFToPDF converts the received faxes in memory (contrib/fax2pdf
// compares whole processes with tiff2pdf).
func BenchmarkTIFFToPDF(b *testing.B) {
	var files [][]byte
	for _, name := range []string{"received-t38-2page.tif", "received-t38-json-2page.tif", "received-g711-2page.tif"} {
		files = append(files, readFixture(b, name))
	}
	pages := 0
	for i := 0; b.Loop(); i++ {
		data := files[i%len(files)]
		n, err := TIFFToPDF(io.Discard, bytes.NewReader(data), int64(len(data)))
		if err != nil {
			b.Fatal(err)
		}
		pages += n
	}
	b.ReportMetric(float64(pages)/b.Elapsed().Seconds(), "pages/s")
}
