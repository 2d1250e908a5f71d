package faxdoc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// PDF writes a PDF document to an io.Writer as it is composed: each fax
// image when it is placed, each page when the next one starts or the
// document is closed. Pages hold text in the standard font Helvetica and
// fax images, whose CCITT data goes into the PDF as it is in the TIFF.
// Nothing is decoded, so the size and speed do not depend on the image.
// A PDF is not safe for concurrent use.
type PDF struct {
	pw      *posWriter
	offsets []int64 // by object number; 0 for objects not yet written
	pages   []int   // page object numbers
	page    *Page   // the page being composed
	font    int     // object number of Helvetica, 0 until used
	images  map[*FaxImage][]int
	buf     []byte // for reversing image data
	closed  bool
}

// Object numbers fixed in every document.
const (
	objCatalog = 1
	objPages   = 2
)

// NewPDF starts a PDF document written to w.
func NewPDF(w io.Writer) *PDF {
	d := &PDF{pw: &posWriter{w: bufio.NewWriterSize(w, 32<<10)}, offsets: make([]int64, 3), images: map[*FaxImage][]int{}}
	// The comment's bytes above 127 mark the file as binary.
	d.pw.Write([]byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"))
	return d
}

// Page is a page being composed. Coordinates are in points (1/72 inch)
// from the page's lower left corner.
type Page struct {
	d       *PDF
	width   float64
	height  float64
	content strings.Builder
	xobj    []int // image objects used
	text    bool  // Helvetica used
}

// AddPage finishes the current page, if any, and starts a new one of
// width × height points (A4 is 595.28 × 841.89).
func (d *PDF) AddPage(width, height float64) *Page {
	p := &Page{d: d, width: width, height: height}
	if d.closed { // a page added too late is not written
		return p
	}
	d.finishPage()
	d.page = p
	return p
}

// Text writes s in Helvetica of size points, its baseline starting at
// (x, y). Characters outside Windows-1252 (WinAnsiEncoding) are written
// as '?', control characters as spaces.
func (p *Page) Text(x, y, size float64, s string) {
	p.text = true
	fmt.Fprintf(&p.content, "BT /F1 %s Tf %s %s Td (%s) Tj ET\n", num(size), num(x), num(y), pdfString(s))
}

// Rect strokes a rectangle with lines of width points.
func (p *Page) Rect(x, y, w, h, width float64) {
	fmt.Fprintf(&p.content, "%s w %s %s %s %s re S\n", num(width), num(x), num(y), num(w), num(h))
}

// Image places im scaled to fit into the rectangle (x, y, w, h), keeping
// its proportions, centred. The image data is written now; placing the
// same image again (on any page) reuses it.
func (p *Page) Image(im *FaxImage, x, y, w, h float64) error {
	iw, ih := im.Size()
	scale := min(w/iw, h/ih)
	if !(scale > 0) || math.IsInf(scale, 0) {
		return fmt.Errorf("faxdoc: image does not fit into %v × %v", w, h)
	}
	iw, ih = iw*scale, ih*scale
	return p.place(im, x+(w-iw)/2, y+(h-ih)/2, iw, ih)
}

// place draws im into the rectangle (x, y, w, h), whatever its shape.
func (p *Page) place(im *FaxImage, x, y, w, h float64) error {
	iw, ih := w, h
	objs, err := p.d.writeImage(im)
	if err != nil {
		return err
	}
	// Parts from the top down; PDF's y axis points up.
	top := y + ih
	for i, obj := range objs {
		ph := ih * float64(im.parts[i].rows) / float64(im.rows)
		top -= ph
		fmt.Fprintf(&p.content, "q %s 0 0 %s %s %s cm /Im%d Do Q\n", num(iw), num(ph), num(x), num(top), obj)
		p.xobj = append(p.xobj, obj)
	}
	return nil
}

// Close finishes the last page and writes the page tree, the cross
// reference table and the trailer. A document needs at least one page.
func (d *PDF) Close() error {
	if d.closed {
		return d.pw.err
	}
	d.finishPage()
	d.closed = true
	if len(d.pages) == 0 && d.pw.err == nil {
		return fmt.Errorf("faxdoc: PDF without pages")
	}
	d.begin(objPages)
	var kids strings.Builder
	for _, p := range d.pages {
		fmt.Fprintf(&kids, "%d 0 R ", p)
	}
	fmt.Fprintf(d.pw, "<< /Type /Pages /Kids [ %s] /Count %d >>\nendobj\n", kids.String(), len(d.pages))
	d.begin(objCatalog)
	fmt.Fprintf(d.pw, "<< /Type /Catalog /Pages %d 0 R >>\nendobj\n", objPages)
	xref := d.pw.n
	fmt.Fprintf(d.pw, "xref\n0 %d\n0000000000 65535 f \n", len(d.offsets))
	for _, off := range d.offsets[1:] {
		fmt.Fprintf(d.pw, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(d.pw, "trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(d.offsets), objCatalog, xref)
	if d.pw.err == nil {
		d.pw.err = d.pw.w.Flush()
	}
	if d.pw.err != nil {
		return fmt.Errorf("faxdoc: writing PDF: %w", d.pw.err)
	}
	return nil
}

// alloc returns a new object number.
func (d *PDF) alloc() int {
	d.offsets = append(d.offsets, 0)
	return len(d.offsets) - 1
}

// begin starts object n at the current position.
func (d *PDF) begin(n int) {
	d.offsets[n] = d.pw.n
	fmt.Fprintf(d.pw, "%d 0 obj\n", n)
}

// finishPage writes the page being composed: its content stream, the
// font if it uses it, and the page object.
func (d *PDF) finishPage() {
	p := d.page
	if p == nil {
		return
	}
	d.page = nil
	content := d.alloc()
	d.begin(content)
	fmt.Fprintf(d.pw, "<< /Length %d >>\nstream\n%s\nendstream\nendobj\n", p.content.Len(), p.content.String())
	if p.text && d.font == 0 {
		d.font = d.alloc()
		d.begin(d.font)
		d.pw.Write([]byte("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>\nendobj\n"))
	}
	var res strings.Builder
	res.WriteString("/ProcSet [ /PDF")
	if p.text {
		res.WriteString(" /Text")
	}
	if len(p.xobj) > 0 {
		res.WriteString(" /ImageB")
	}
	res.WriteString(" ]")
	if p.text {
		fmt.Fprintf(&res, " /Font << /F1 %d 0 R >>", d.font)
	}
	if len(p.xobj) > 0 {
		res.WriteString(" /XObject <<")
		seen := map[int]bool{}
		for _, o := range p.xobj {
			if !seen[o] {
				seen[o] = true
				fmt.Fprintf(&res, " /Im%d %d 0 R", o, o)
			}
		}
		res.WriteString(" >>")
	}
	obj := d.alloc()
	d.begin(obj)
	fmt.Fprintf(d.pw, "<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s] /Contents %d 0 R /Resources << %s >> >>\nendobj\n",
		objPages, box(p.width), box(p.height), content, res.String())
	d.pages = append(d.pages, obj)
}

// writeImage writes the image objects of im, once per document, and
// returns their object numbers, one per part.
func (d *PDF) writeImage(im *FaxImage) ([]int, error) {
	if d.closed {
		return nil, errors.New("faxdoc: PDF already closed")
	}
	if objs, ok := d.images[im]; ok {
		return objs, nil
	}
	objs := make([]int, len(im.parts))
	for i, part := range im.parts {
		objs[i] = d.alloc()
		d.begin(objs[i])
		fmt.Fprintf(d.pw, "<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 1"+
			" /Length %d /Filter /CCITTFaxDecode /DecodeParms << /K %d /Columns %d /Rows %d%s >> >>\nstream\n",
			im.columns, part.rows, part.size, im.k, im.columns, part.rows, flag(im.blackIs1, " /BlackIs1 true"))
		for _, s := range part.strips {
			if err := d.copyStrip(im, s); err != nil {
				return nil, err
			}
		}
		d.pw.Write([]byte("\nendstream\nendobj\n"))
	}
	if d.pw.err != nil {
		return nil, fmt.Errorf("faxdoc: writing PDF: %w", d.pw.err)
	}
	d.images[im] = objs
	return objs, nil
}

// copyStrip copies the data of strip s, reversing the bits of every byte
// for FillOrder 2 (PDF's CCITT data is most significant bit first).
func (d *PDF) copyStrip(im *FaxImage, s piece) error {
	src := io.NewSectionReader(im.f.r, s.off, s.size)
	if !im.reverse {
		if _, err := io.CopyN(d.pw, src, s.size); err != nil {
			return fmt.Errorf("faxdoc: image data: %w", err)
		}
		return nil
	}
	if d.buf == nil {
		d.buf = make([]byte, 16<<10)
	}
	buf := d.buf
	for left := s.size; left > 0; {
		n, err := io.ReadFull(src, buf[:min(left, int64(len(buf)))])
		for i, c := range buf[:n] {
			buf[i] = reversed[c]
		}
		d.pw.Write(buf[:n])
		left -= int64(n)
		if err != nil {
			return fmt.Errorf("faxdoc: image data: %w", err)
		}
	}
	return nil
}

// WritePDF writes every page of f to w as a PDF page of its natural size
// (see FaxImage.Size), the CCITT data passed through. It checks every
// page before writing the first byte.
func (f *File) WritePDF(w io.Writer) error {
	if len(f.ifds) == 0 {
		return fmt.Errorf("%w: no pages", ErrFormat)
	}
	ims := make([]*FaxImage, len(f.ifds))
	for i := range ims {
		var err error
		if ims[i], err = f.FaxImage(i); err != nil {
			return err
		}
	}
	d := NewPDF(w)
	for _, im := range ims {
		// The image fills the page, both of the size the page box has.
		width, height := im.Size()
		width, height = floor4(width), floor4(height)
		if err := d.AddPage(width, height).place(im, 0, 0, width, height); err != nil {
			return err
		}
	}
	return d.Close()
}

// TIFFToPDF writes the fax TIFF in r (size bytes) to w as a PDF and
// returns the number of pages.
func TIFFToPDF(w io.Writer, r io.ReaderAt, size int64) (int, error) {
	f, err := Read(r, size)
	if err != nil {
		return 0, err
	}
	if err := f.WritePDF(w); err != nil {
		return 0, err
	}
	return f.NumPages(), nil
}

func flag(on bool, s string) string {
	if on {
		return s
	}
	return ""
}

// num formats a coordinate with at most 4 decimals.
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	return strconv.FormatFloat(math.Round(v*1e4)/1e4, 'f', -1, 64)
}

// box formats a page dimension rounded down to 4 decimals: a renderer
// rounding the page's pixel size up then gets exactly the image's pixels
// at the image's resolution.
func box(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 1 {
		v = 1
	}
	return strconv.FormatFloat(floor4(v), 'f', -1, 64)
}

// floor4 rounds v down to 4 decimals.
func floor4(v float64) float64 { return math.Floor(v*1e4) / 1e4 }

// pdfString returns s in WinAnsiEncoding with '\', '(' and ')' escaped,
// for a PDF literal string.
func pdfString(s string) string {
	var b strings.Builder
	for _, r := range s {
		c := winAnsi(r)
		switch {
		case c == '\\' || c == '(' || c == ')':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			b.WriteByte(' ')
		case c >= 0x80:
			fmt.Fprintf(&b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// winAnsi returns the WinAnsiEncoding (Windows-1252) byte of r, '?' for
// characters it lacks.
func winAnsi(r rune) byte {
	switch {
	case r < 0x80 || r >= 0xa0 && r <= 0xff:
		return byte(r)
	}
	for i, c := range cp1252High {
		if c == r && c != 0 {
			return byte(0x80 + i)
		}
	}
	return '?'
}

// cp1252High holds the characters of Windows-1252 at 0x80-0x9f (0 where
// there is none).
var cp1252High = [32]rune{
	'€', 0, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0, 'Ž', 0,
	0, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0, 'ž', 'Ÿ',
}
