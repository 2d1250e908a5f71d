package faxdoc

import (
	"errors"
	"fmt"
	"io"
	"math"
)

// Limits on the pages PDF output takes. T.4 pages are at most 4864 dots
// wide (A3 at 16 dots/mm) and an A4 page at 15.4 lines/mm has about 4600
// lines; long pages (HylaFAX's "unlimited" length) get longer.
const (
	MaxImageWidth = 10000
	MaxImageRows  = 65535
)

// More TIFF tags for images.
const (
	TagPhotometric  = 262
	TagRowsPerStrip = 278
	TagT6Options    = 293
	tagBitsPerSamp  = 258
	tagSamplesPerPx = 277
	tagPlanarConfig = 284
)

// T4Options and T6Options bits.
const (
	t4TwoD         = 1 << 0
	t4Uncompressed = 1 << 1
	t6Uncompressed = 1 << 1
)

// ErrUnsupported reports a page that is a valid TIFF page but not one
// PDF output can carry without decoding it: not CCITT G3/G4, not
// bilevel, or using CCITT's uncompressed mode.
var ErrUnsupported = errors.New("faxdoc: page cannot be passed through to PDF")

// FaxImage is one page of a fax TIFF as PDF output places it: its CCITT
// data, read from the file only when written (the File's io.ReaderAt
// must stay readable until then), with the decoding parameters PDF's
// CCITTFaxDecode needs. Get one with (*File).FaxImage.
type FaxImage struct {
	f        *File
	columns  int
	rows     int
	xdpi     float64
	ydpi     float64
	k        int // CCITTFaxDecode /K: 0 MH, >0 MR, -1 MMR
	blackIs1 bool
	reverse  bool        // FillOrder 2: bits of each byte reversed
	parts    []imagePart // one image XObject each, top to bottom
}

// imagePart is a run of rows held by one image XObject: strips whose data
// can be joined.
type imagePart struct {
	strips []piece
	rows   int
	size   int64
}

// Columns and Rows return the size of the image in pixels.
func (im *FaxImage) Columns() int { return im.columns }

// Rows returns the number of lines of the image.
func (im *FaxImage) Rows() int { return im.rows }

// Size returns the natural size of the page in points (1/72 inch), from
// its resolution: fax pixels are not square at normal resolution
// (204 × 98 dpi), and the size keeps the page's proportions.
func (im *FaxImage) Size() (width, height float64) {
	return float64(im.columns) * 72 / im.xdpi, float64(im.rows) * 72 / im.ydpi
}

// FaxImage returns page i (from 0) of f for PDF output. It checks what
// PDF's CCITTFaxDecode needs (ErrUnsupported otherwise) and where the
// strips are, without reading them.
func (f *File) FaxImage(i int) (*FaxImage, error) {
	if i < 0 || i >= len(f.ifds) {
		return nil, fmt.Errorf("%w: no page %d of %d", ErrFormat, i+1, len(f.ifds))
	}
	im, err := f.faxImage(f.ifds[i])
	if err != nil {
		return nil, fmt.Errorf("page %d: %w", i+1, err)
	}
	return im, nil
}

func (f *File) faxImage(d ifd) (*FaxImage, error) {
	p := f.page(d)
	var offs, counts []uint32
	bits, samples, planar := uint32(1), uint32(1), uint32(1)
	photometric, t6, rowsPerStrip := uint32(0), uint32(0), uint32(math.MaxUint32)
	var err error
	for _, e := range d.entries {
		switch e.tag {
		case TagStripOffsets:
			offs, err = f.uints(e)
		case TagStripByteCounts:
			counts, err = f.uints(e)
		case tagTileOffsets, tagTileByteCounts:
			return nil, fmt.Errorf("%w: tiled image", ErrUnsupported)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrFormat, err)
		}
		for _, v := range []struct {
			tag uint16
			p   *uint32
		}{{tagBitsPerSamp, &bits}, {tagSamplesPerPx, &samples}, {tagPlanarConfig, &planar},
			{TagPhotometric, &photometric}, {TagT6Options, &t6}, {TagRowsPerStrip, &rowsPerStrip}} {
			if e.tag == v.tag {
				if n, ok := f.uint(e); ok {
					*v.p = n
				}
			}
		}
	}
	im := &FaxImage{f: f, columns: int(p.Width), rows: int(p.Length), reverse: p.FillOrder == 2}
	switch {
	case p.Width == 0 || p.Width > MaxImageWidth || p.Length == 0 || p.Length > MaxImageRows:
		return nil, fmt.Errorf("%w: image of %d × %d pixels", ErrFormat, p.Width, p.Length)
	case bits != 1 || samples != 1:
		return nil, fmt.Errorf("%w: %d samples of %d bits", ErrUnsupported, samples, bits)
	case photometric > 1:
		return nil, fmt.Errorf("%w: photometric interpretation %d", ErrUnsupported, photometric)
	case p.FillOrder != 1 && p.FillOrder != 2:
		return nil, fmt.Errorf("%w: fill order %d", ErrFormat, p.FillOrder)
	case len(offs) == 0 || len(offs) != len(counts):
		return nil, fmt.Errorf("%w: missing or inconsistent strips", ErrFormat)
	}
	_ = planar // one sample a pixel: the planar configuration does not matter
	im.blackIs1 = photometric == 1
	switch p.Compression {
	case 3:
		if p.T4Options&t4Uncompressed != 0 {
			return nil, fmt.Errorf("%w: T.4 uncompressed mode", ErrUnsupported)
		}
		// Fill bits (T4Options bit 2) pad the line before its EOL, which
		// every decoder skips: /EncodedByteAlign, which says that a line
		// itself starts on a byte boundary, stays false. With it set,
		// Ghostscript decodes spandsp's pages as blank.
		if p.T4Options&t4TwoD != 0 {
			im.k = 4 // any K > 0 means lines tagged 1-D or 2-D
		}
	case 4:
		if t6&t6Uncompressed != 0 {
			return nil, fmt.Errorf("%w: T.6 uncompressed mode", ErrUnsupported)
		}
		im.k = -1
	default:
		return nil, fmt.Errorf("%w: compression %d", ErrUnsupported, p.Compression)
	}
	im.xdpi, im.ydpi = resolution(p)
	strips := make([]piece, len(offs))
	var total int64
	for i, off := range offs {
		strips[i] = piece{int64(off), int64(counts[i])}
		if strips[i].off+strips[i].size > f.size {
			return nil, fmt.Errorf("%w: image data beyond end", ErrFormat)
		}
		if total += strips[i].size; total > f.size {
			return nil, fmt.Errorf("%w: strips overlap", ErrFormat)
		}
	}
	if err := im.split(strips, int(min(rowsPerStrip, MaxImageRows))); err != nil {
		return nil, err
	}
	return im, nil
}

// resolution returns the page's resolution in dots per inch; a page
// without a usable one gets a fax resolution: 204 dpi across, and 98 or
// 196 lines per inch by its length.
func resolution(p PageInfo) (x, y float64) {
	x, y = p.XDPI(), p.YDPI()
	if !(x >= minDPI && x <= maxDPI) {
		x = 204
	}
	if !(y >= minDPI && y <= maxDPI) {
		y = 196
		if p.Length < 1500 { // an A4 page has 1143 lines at 98 lpi
			y = 98
		}
	}
	return x, y
}

// Resolutions outside this range are taken as missing: faxes have 98 to
// 400 lines per inch.
const (
	minDPI = 50
	maxDPI = 1200
)

// split groups the strips into image parts. Joining strips into one
// CCITT stream is right when every strip after the first starts with an
// EOL (a G3 line can then follow any line) and no strip but the last ends
// with one (as RTC, the end of a page, does). G4 strips, each coded
// against an imaginary white line and ended by EOFB, are never joined.
func (im *FaxImage) split(strips []piece, rowsPerStrip int) error {
	if rowsPerStrip <= 0 {
		return fmt.Errorf("%w: %d rows per strip", ErrFormat, rowsPerStrip)
	}
	if need := (im.rows + rowsPerStrip - 1) / rowsPerStrip; len(strips) != need {
		if len(strips) != 1 {
			return fmt.Errorf("%w: %d strips for %d rows of %d", ErrFormat, len(strips), im.rows, rowsPerStrip)
		}
		rowsPerStrip = im.rows // one strip holds the page, whatever RowsPerStrip says
	}
	join := im.k >= 0
	for i, s := range strips {
		if !join {
			break
		}
		if i > 0 {
			ok, err := im.startsWithEOL(s)
			if err != nil {
				return err
			}
			join = ok
		}
		if i < len(strips)-1 && join {
			end, err := im.endsWithEOL(s)
			if err != nil {
				return err
			}
			join = !end
		}
	}
	rows := im.rows
	for i, s := range strips {
		n := min(rowsPerStrip, rows)
		rows -= n
		if join && i > 0 {
			last := &im.parts[len(im.parts)-1]
			last.strips = append(last.strips, s)
			last.rows += n
			last.size += s.size
			continue
		}
		im.parts = append(im.parts, imagePart{strips: []piece{s}, rows: n, size: s.size})
	}
	return nil
}

// eolProbe is how many bytes are read at the ends of a strip to look for
// an EOL: fill bits before it are at most 7, and a strip starting with an
// EOL has it in its first bytes.
const eolProbe = 8

// startsWithEOL reports whether strip s begins with an EOL (at least 11
// zero bits, fill bits included, then a one).
func (im *FaxImage) startsWithEOL(s piece) (bool, error) {
	b, err := im.probe(s.off, min(s.size, eolProbe))
	if err != nil {
		return false, err
	}
	zeros := 0
	for _, c := range b {
		for bit := 7; bit >= 0; bit-- {
			if c>>bit&1 == 1 {
				return zeros >= 11, nil
			}
			zeros++
		}
	}
	return false, nil
}

// endsWithEOL reports whether strip s ends with an EOL: its last one bit
// (for 2-D coding the tag bit after the EOL may come last) follows at
// least 11 zero bits.
func (im *FaxImage) endsWithEOL(s piece) (bool, error) {
	n := min(s.size, eolProbe)
	b, err := im.probe(s.off+s.size-n, n)
	if err != nil {
		return false, err
	}
	var bits []byte // from the end backwards
	for i := len(b) - 1; i >= 0; i-- {
		for bit := 0; bit < 8; bit++ {
			bits = append(bits, b[i]>>bit&1)
		}
	}
	zeros := func(from int) bool { // bits[from:from+11] are zero
		if from+11 > len(bits) {
			return false
		}
		for _, v := range bits[from : from+11] {
			if v != 0 {
				return false
			}
		}
		return true
	}
	i := 0 // the last one bit
	for i < len(bits) && bits[i] == 0 {
		i++
	}
	switch {
	case i >= len(bits):
		return false, nil
	case zeros(i + 1):
		return true, nil
	default: // EOL and a 2-D tag bit
		return im.k > 0 && i+1 < len(bits) && bits[i+1] == 1 && zeros(i+2), nil
	}
}

// probe reads n bytes at off, in MSB-first bit order.
func (im *FaxImage) probe(off, n int64) ([]byte, error) {
	b := make([]byte, n)
	if _, err := im.f.r.ReadAt(b, off); err != nil && !(err == io.EOF && n == 0) {
		return nil, fmt.Errorf("%w: reading image data: %w", ErrFormat, err)
	}
	if im.reverse {
		for i, c := range b {
			b[i] = reversed[c]
		}
	}
	return b, nil
}

// reversed maps a byte to the byte with its bits in reverse order.
var reversed = func() (t [256]byte) {
	for i := range t {
		for bit := 0; bit < 8; bit++ {
			if i&(1<<bit) != 0 {
				t[i] |= 0x80 >> bit
			}
		}
	}
	return t
}()
