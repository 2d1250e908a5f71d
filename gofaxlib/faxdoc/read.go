package faxdoc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// headerSize is the size of a classic TIFF header: byte order, magic
// number and the offset of the first directory.
const headerSize = 8

// Field types of classic TIFF.
const (
	typeByte      = 1
	typeASCII     = 2
	typeShort     = 3
	typeLong      = 4
	typeRational  = 5
	typeSRational = 10
	typeIFD       = 13
)

// typeSizes holds the size of one value of each field type; 0 for types
// that do not exist.
var typeSizes = [...]int64{1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}

// typeSize returns the size of one value of type typ, 0 when unknown.
func typeSize(typ uint16) int64 {
	if int(typ) >= len(typeSizes) {
		return 0
	}
	return typeSizes[typ]
}

// byteOrder is binary.LittleEndian or binary.BigEndian.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// entry is one 12-byte directory entry; raw is its value-or-offset field
// as stored.
type entry struct {
	tag, typ uint16
	count    uint32
	raw      [4]byte
}

// size returns the byte size of e's value, 0 when its type is unknown.
func (e entry) size() int64 { return typeSize(e.typ) * int64(e.count) }

// ifd is one directory: one page.
type ifd struct {
	offset  uint32
	size    int64   // bytes in the file: count, entries, next offset
	entries []entry // one a tag, in file order
}

// File is the structure of a TIFF file: its directories, one a page. The
// image data stays in the io.ReaderAt it was read from.
type File struct {
	r     io.ReaderAt
	size  int64
	order byteOrder
	ifds  []ifd
}

// Read parses the header and the directory chain of the classic TIFF in
// r, which is size bytes long. A header without directories (what rxfax
// leaves when no page arrived) is a file of 0 pages.
func Read(r io.ReaderAt, size int64) (*File, error) {
	if size < 8 || size > MaxFileSize {
		return nil, fmt.Errorf("%w: size %d", ErrFormat, size)
	}
	var hdr [headerSize]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrFormat, err)
	}
	f := &File{r: r, size: size}
	switch string(hdr[:4]) {
	case "II*\x00":
		f.order = binary.LittleEndian
	case "MM\x00*":
		f.order = binary.BigEndian
	default:
		return nil, fmt.Errorf("%w: header %q (BigTIFF is not supported)", ErrFormat, hdr[:4])
	}
	seen := make(map[uint32]bool)
	var dirBytes int64 // directories do not overlap: together they fit in the file
	for off := f.order.Uint32(hdr[4:]); off != 0; {
		if seen[off] || len(f.ifds) >= MaxPages {
			return nil, fmt.Errorf("%w: directory chain loops or exceeds %d pages", ErrFormat, MaxPages)
		}
		seen[off] = true
		d, next, err := f.readIFD(off)
		if err != nil {
			return nil, fmt.Errorf("%w: page %d: %w", ErrFormat, len(f.ifds)+1, err)
		}
		if dirBytes += d.size; dirBytes > size {
			return nil, fmt.Errorf("%w: directories overlap", ErrFormat)
		}
		f.ifds = append(f.ifds, d)
		off = next
	}
	return f, nil
}

// readIFD reads the directory at off and returns it with the offset of
// the next one.
func (f *File) readIFD(off uint32) (ifd, uint32, error) {
	var cnt [2]byte
	if int64(off)+2 > f.size {
		return ifd{}, 0, fmt.Errorf("directory offset %d beyond end", off)
	}
	if _, err := f.r.ReadAt(cnt[:], int64(off)); err != nil {
		return ifd{}, 0, err
	}
	n := int(f.order.Uint16(cnt[:]))
	if n == 0 || n > MaxEntries {
		return ifd{}, 0, fmt.Errorf("directory at %d has %d entries", off, n)
	}
	if int64(off)+2+int64(n)*12+4 > f.size {
		return ifd{}, 0, fmt.Errorf("directory at %d beyond end", off)
	}
	b := make([]byte, n*12+4)
	if _, err := f.r.ReadAt(b, int64(off)+2); err != nil {
		return ifd{}, 0, err
	}
	d := ifd{offset: off, size: 2 + 12*int64(n) + 4, entries: make([]entry, 0, n)}
	seen := make(map[uint16]bool, n)
	for i := range n {
		e := b[i*12:]
		en := entry{tag: f.order.Uint16(e), typ: f.order.Uint16(e[2:]), count: f.order.Uint32(e[4:])}
		copy(en.raw[:], e[8:12])
		// A tag given twice is its first entry, as libtiff takes it
		// (with a warning); the others are not part of the page.
		if !seen[en.tag] {
			seen[en.tag] = true
			d.entries = append(d.entries, en)
		}
	}
	return d, f.order.Uint32(b[n*12:]), nil
}

// NumPages returns the number of pages (directories), as faxinfo and
// hfaxd count them.
func (f *File) NumPages() int { return len(f.ifds) }

// Size returns the size of the file as read: where Retag's tail goes.
func (f *File) Size() int64 { return f.size }

// value returns the value bytes of e in the file's byte order.
func (f *File) value(e entry) ([]byte, error) {
	n := e.size()
	switch {
	case n == 0:
		return nil, fmt.Errorf("tag %d: type %d, count %d", e.tag, e.typ, e.count)
	case n > MaxValueBytes:
		return nil, fmt.Errorf("tag %d: value of %d bytes", e.tag, n)
	case n <= 4:
		return e.raw[:n], nil
	}
	if f.misplaced(e) {
		return nil, fmt.Errorf("tag %d: value outside the file's body", e.tag)
	}
	off := int64(f.order.Uint32(e.raw[:]))
	b := make([]byte, n)
	if _, err := f.r.ReadAt(b, off); err != nil {
		return nil, fmt.Errorf("tag %d: %w", e.tag, err)
	}
	return b, nil
}

// misplaced reports whether e's value is stored out of line somewhere
// other than between the header and the end of the file: in the header
// (whose directory offset Retag rewrites) or beyond the end (where Retag
// appends).
func (f *File) misplaced(e entry) bool {
	if e.size() <= 4 {
		return false
	}
	off := int64(f.order.Uint32(e.raw[:]))
	return off < headerSize || off+e.size() > f.size
}

// uints returns the values of a SHORT or LONG entry.
func (f *File) uints(e entry) ([]uint32, error) {
	if e.typ != typeShort && e.typ != typeLong {
		return nil, fmt.Errorf("tag %d: type %d, want SHORT or LONG", e.tag, e.typ)
	}
	v, err := f.value(e)
	if err != nil {
		return nil, err
	}
	out := make([]uint32, e.count)
	for i := range out {
		if e.typ == typeShort {
			out[i] = uint32(f.order.Uint16(v[2*i:]))
		} else {
			out[i] = f.order.Uint32(v[4*i:])
		}
	}
	return out, nil
}

// uint returns the first value of a BYTE, SHORT or LONG entry; false
// when e has none.
func (f *File) uint(e entry) (uint32, bool) {
	if e.typ == typeByte {
		v, err := f.value(e)
		if err != nil {
			return 0, false
		}
		return uint32(v[0]), true
	}
	v, err := f.uints(e)
	if err != nil || len(v) == 0 {
		return 0, false
	}
	return v[0], true
}

// rational returns the first value of a RATIONAL entry, 0 when e has none.
func (f *File) rational(e entry) float64 {
	v, err := f.value(e)
	if e.typ != typeRational || err != nil || f.order.Uint32(v[4:]) == 0 {
		return 0
	}
	return float64(f.order.Uint32(v)) / float64(f.order.Uint32(v[4:]))
}

// ascii returns an ASCII entry up to its first NUL, "" when unreadable.
func (f *File) ascii(e entry) string {
	if e.typ != typeASCII {
		return ""
	}
	v, _ := f.value(e)
	if i := bytes.IndexByte(v, 0); i >= 0 {
		v = v[:i]
	}
	return string(v)
}
