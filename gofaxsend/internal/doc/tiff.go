package doc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Limits on what a document may contain. faxq prepares TIFF/F files with a
// handful of tags per page; anything far beyond these is damage, not a fax.
const (
	maxPages      = 10000   // HylaFAX's MaxSendPages is far lower in practice
	maxEntries    = 500     // tags in one IFD; TIFF/F pages carry about 20
	maxValueBytes = 1 << 16 // out-of-line value of one tag (strip tables included)
)

// ErrFormat reports a document that is not a TIFF file gofaxsend can copy.
var ErrFormat = errors.New("doc: not a usable TIFF file")

// TIFF tags whose values are file offsets: copied with their data
// (strips, tiles), rewritten (page number) or dropped (offsets into
// structures a fax does not need and that we would not carry over).
const (
	tagStripOffsets    = 273
	tagStripByteCounts = 279
	tagFreeOffsets     = 288
	tagFreeByteCounts  = 289
	tagPageNumber      = 297
	tagTileOffsets     = 324
	tagTileByteCounts  = 325
	tagSubIFDs         = 330
	tagJPEGIF          = 513
	tagJPEGIFLength    = 514
	tagExifIFD         = 34665
	tagGPSIFD          = 34853

	typeShort = 3
	typeLong  = 4
	typeIFD   = 13
)

// typeSize is the size of one element of each TIFF 6.0 field type (1..13).
var typeSize = [...]int{0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4}

// entry is one tag of a page, its value held in little-endian order.
type entry struct {
	tag, typ uint16
	count    uint32
	value    []byte
}

// page is one IFD: its tags and the pieces of image data (strips or tiles)
// that the offset tag refers to, as byte ranges of the source file.
type page struct {
	entries            []entry
	offsetTag, sizeTag uint16
	pieces             []piece
}

type piece struct{ off, size int64 }

// readPages walks the IFD chain of a classic TIFF and returns its pages.
func readPages(r io.ReaderAt, size int64) ([]page, error) {
	var hdr [8]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	var bo binary.ByteOrder
	switch string(hdr[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("%w: bad byte order mark", ErrFormat)
	}
	if bo.Uint16(hdr[2:]) != 42 {
		return nil, fmt.Errorf("%w: not classic TIFF (BigTIFF is not supported)", ErrFormat)
	}
	var pages []page
	seen := map[int64]bool{}
	for off := int64(bo.Uint32(hdr[4:])); off != 0; {
		if seen[off] || len(pages) >= maxPages {
			return nil, fmt.Errorf("%w: IFD loop or more than %d pages", ErrFormat, maxPages)
		}
		seen[off] = true
		p, next, err := readIFD(r, size, bo, off)
		if err != nil {
			return nil, fmt.Errorf("%w: page %d: %v", ErrFormat, len(pages)+1, err)
		}
		pages = append(pages, p)
		off = next
	}
	if len(pages) == 0 {
		return nil, fmt.Errorf("%w: no pages", ErrFormat)
	}
	return pages, nil
}

func readAt(r io.ReaderAt, size, off int64, n int) ([]byte, error) {
	if off < 0 || n < 0 || off+int64(n) > size {
		return nil, errors.New("offset beyond end of file")
	}
	b := make([]byte, n)
	_, err := r.ReadAt(b, off)
	return b, err
}

func readIFD(r io.ReaderAt, size int64, bo binary.ByteOrder, off int64) (page, int64, error) {
	var p page
	b, err := readAt(r, size, off, 2)
	if err != nil {
		return p, 0, err
	}
	n := int(bo.Uint16(b))
	if n == 0 || n > maxEntries {
		return p, 0, fmt.Errorf("%d tags in one IFD", n)
	}
	b, err = readAt(r, size, off+2, 12*n+4)
	if err != nil {
		return p, 0, err
	}
	var offsets, sizes []uint32
	for i := 0; i < n; i++ {
		e := b[12*i:]
		tag, typ, count := bo.Uint16(e), bo.Uint16(e[2:]), bo.Uint32(e[4:])
		if typ == 0 || int(typ) >= len(typeSize) || typ == typeIFD {
			continue // unknown types and IFD pointers cannot be copied blindly
		}
		switch tag {
		case tagFreeOffsets, tagFreeByteCounts, tagSubIFDs, tagJPEGIF, tagJPEGIFLength, tagExifIFD, tagGPSIFD:
			continue
		}
		nbytes := int64(count) * int64(typeSize[typ])
		if nbytes > maxValueBytes {
			return p, 0, fmt.Errorf("tag %d: value of %d bytes", tag, nbytes)
		}
		var val []byte
		if nbytes <= 4 {
			val = append([]byte(nil), e[8:8+nbytes]...)
		} else if val, err = readAt(r, size, int64(bo.Uint32(e[8:])), int(nbytes)); err != nil {
			return p, 0, fmt.Errorf("tag %d: %v", tag, err)
		}
		toLittle(bo, typ, val)
		switch tag {
		case tagStripOffsets, tagTileOffsets:
			if offsets, err = uints(typ, val); err != nil {
				return p, 0, err
			}
			p.offsetTag = tag
		case tagStripByteCounts, tagTileByteCounts:
			if sizes, err = uints(typ, val); err != nil {
				return p, 0, err
			}
			p.sizeTag = tag
		}
		p.entries = append(p.entries, entry{tag: tag, typ: typ, count: count, value: val})
	}
	if p.offsetTag == 0 || len(offsets) != len(sizes) {
		return p, 0, errors.New("missing or inconsistent strip/tile offsets")
	}
	for i := range offsets {
		if int64(offsets[i])+int64(sizes[i]) > size {
			return p, 0, errors.New("image data beyond end of file")
		}
		p.pieces = append(p.pieces, piece{int64(offsets[i]), int64(sizes[i])})
	}
	return p, int64(bo.Uint32(b[12*n:])), nil
}

// toLittle converts a value read in byte order bo to little-endian in place.
func toLittle(bo binary.ByteOrder, typ uint16, v []byte) {
	if bo == binary.LittleEndian {
		return
	}
	w := typeSize[typ]
	if typ == 5 || typ == 10 { // RATIONAL, SRATIONAL: two 32-bit halves
		w = 4
	}
	if w < 2 {
		return
	}
	for i := 0; i+w <= len(v); i += w {
		for a, b := i, i+w-1; a < b; a, b = a+1, b-1 {
			v[a], v[b] = v[b], v[a]
		}
	}
}

func uints(typ uint16, v []byte) ([]uint32, error) {
	var out []uint32
	switch typ {
	case typeShort:
		for i := 0; i+2 <= len(v); i += 2 {
			out = append(out, uint32(binary.LittleEndian.Uint16(v[i:])))
		}
	case typeLong:
		for i := 0; i+4 <= len(v); i += 4 {
			out = append(out, binary.LittleEndian.Uint32(v[i:]))
		}
	default:
		return nil, fmt.Errorf("offsets of type %d", typ)
	}
	return out, nil
}

// Source is a range of pages of one TIFF file: pages From (0-based
// directory number, as in a qfile's fax: item) to the end.
type Source struct {
	R    io.ReaderAt
	Size int64
	From int
}

// Pages counts the pages (IFDs) of a TIFF file.
func Pages(r io.ReaderAt, size int64) (int, error) {
	p, err := readPages(r, size)
	return len(p), err
}

type srcPage struct {
	page
	r io.ReaderAt
}

// Merge writes one little-endian TIFF holding the selected pages of every
// source in order, with PageNumber renumbered, and returns the page count.
// Image data is copied byte for byte; nothing is decoded or re-encoded.
func Merge(w io.Writer, srcs []Source) (int, error) {
	var all []srcPage
	for i, s := range srcs {
		ps, err := readPages(s.R, s.Size)
		if err != nil {
			return 0, fmt.Errorf("document %d: %w", i+1, err)
		}
		if s.From < 0 || s.From >= len(ps) {
			return 0, fmt.Errorf("%w: document %d has %d pages, cannot start at directory %d", ErrFormat, i+1, len(ps), s.From)
		}
		for _, p := range ps[s.From:] {
			all = append(all, srcPage{p, s.R})
		}
	}
	if len(all) > maxPages {
		return 0, fmt.Errorf("%w: more than %d pages", ErrFormat, maxPages)
	}
	// Lay out every page first (data, then out-of-line values, then the
	// IFD, each word aligned) so that the file is written in one pass.
	type laidOut struct {
		dataOff []uint32
		valOff  []uint32
		ifdOff  int64
	}
	lay := make([]laidOut, len(all))
	off := int64(8)
	even := func(o int64) int64 { return o + o&1 }
	for i, p := range all {
		for _, pc := range p.pieces {
			lay[i].dataOff = append(lay[i].dataOff, uint32(off))
			off = even(off + pc.size)
		}
		setPageNumber(&all[i].page, i, len(all))
		setOffsets(&all[i].page, lay[i].dataOff)
		for _, e := range all[i].entries {
			if len(e.value) > 4 {
				lay[i].valOff = append(lay[i].valOff, uint32(off))
				off = even(off + int64(len(e.value)))
			} else {
				lay[i].valOff = append(lay[i].valOff, 0)
			}
		}
		lay[i].ifdOff = off
		off += 2 + 12*int64(len(all[i].entries)) + 4
		if off > 1<<32-1 {
			return 0, fmt.Errorf("%w: merged file would exceed 4 GiB", ErrFormat)
		}
	}
	le := binary.LittleEndian
	cw := &countWriter{w: w}
	hdr := []byte{'I', 'I', 42, 0, 0, 0, 0, 0}
	le.PutUint32(hdr[4:], uint32(lay[0].ifdOff))
	cw.Write(hdr)
	pad := func() {
		if cw.n&1 == 1 {
			cw.Write([]byte{0})
		}
	}
	for i, p := range all {
		for _, pc := range p.pieces {
			if _, err := io.Copy(cw, io.NewSectionReader(p.r, pc.off, pc.size)); err != nil {
				return 0, fmt.Errorf("doc: copy page %d: %w", i+1, err)
			}
			pad()
		}
		for _, e := range p.entries {
			if len(e.value) > 4 {
				cw.Write(e.value)
				pad()
			}
		}
		ifd := make([]byte, 2+12*len(p.entries)+4)
		le.PutUint16(ifd, uint16(len(p.entries)))
		for j, e := range p.entries {
			b := ifd[2+12*j:]
			le.PutUint16(b, e.tag)
			le.PutUint16(b[2:], e.typ)
			le.PutUint32(b[4:], e.count)
			if len(e.value) > 4 {
				le.PutUint32(b[8:], lay[i].valOff[j])
			} else {
				copy(b[8:12], e.value)
			}
		}
		if i+1 < len(all) {
			le.PutUint32(ifd[len(ifd)-4:], uint32(lay[i+1].ifdOff))
		}
		cw.Write(ifd)
	}
	if cw.err != nil {
		return 0, fmt.Errorf("doc: write: %w", cw.err)
	}
	return len(all), nil
}

// setPageNumber sets PageNumber to (index, total), adding the tag in
// ascending tag order when the source had none.
func setPageNumber(p *page, index, total int) {
	v := make([]byte, 4)
	binary.LittleEndian.PutUint16(v, uint16(index))
	binary.LittleEndian.PutUint16(v[2:], uint16(total))
	e := entry{tag: tagPageNumber, typ: typeShort, count: 2, value: v}
	for i := range p.entries {
		if p.entries[i].tag == tagPageNumber {
			p.entries[i] = e
			return
		}
		if p.entries[i].tag > tagPageNumber {
			p.entries = append(p.entries[:i], append([]entry{e}, p.entries[i:]...)...)
			return
		}
	}
	p.entries = append(p.entries, e)
}

// setOffsets rewrites the strip or tile offsets as LONGs at their new place.
func setOffsets(p *page, offs []uint32) {
	v := make([]byte, 4*len(offs))
	for i, o := range offs {
		binary.LittleEndian.PutUint32(v[4*i:], o)
	}
	for i := range p.entries {
		if p.entries[i].tag == p.offsetTag {
			p.entries[i] = entry{tag: p.offsetTag, typ: typeLong, count: uint32(len(offs)), value: v}
		}
	}
}

// countWriter counts bytes and keeps the first error, so that the layout
// code can write without checking each call.
type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}
