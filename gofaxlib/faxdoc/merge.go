package faxdoc

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Source is a run of pages of one TIFF file.
type Source struct {
	R     io.ReaderAt
	Size  int64
	First int     // first page to take, counting from 0 (a qfile's dirnum)
	Count int     // pages to take; 0 takes all from First on
	Set   []Field // set on every page taken, replacing the tag it has
}

// Tags whose values are offsets into structures a fax page does not use
// and Merge does not carry over: free lists, sub-directories, the old
// JPEG interchange format, Exif and GPS directories.
var droppedTags = []uint16{288, 289, 330, 513, 514, 34665, 34853}

// Tiled images have no place in a fax.
const (
	tagTileOffsets    = 324
	tagTileByteCounts = 325
)

// outEntry is one entry of a page Merge writes: its value is val
// (little-endian) or, when src is set, read from the source file.
type outEntry struct {
	tag, typ uint16
	count    uint32
	src      *entry
	val      []byte
}

func (e outEntry) size() int64 { return typeSize(e.typ) * int64(e.count) }

// outPage is one page Merge writes: source, entries, and where its parts
// go in the new file.
type outPage struct {
	f        *File
	entries  []outEntry // sorted by tag
	strips   []piece    // image data in the source
	valueOff []int64    // of each out-of-line value, 0 for inline ones
	ifdOff   int64
}

// piece is a byte range of a source file.
type piece struct{ off, size int64 }

// Merge writes one little-endian TIFF holding the pages of every source in
// turn and returns its page count. Every tag is copied (converted to
// little-endian) except: PageNumber is renumbered, StripOffsets point to
// the copied image data, and tags of unknown type or pointing into
// structures a fax does not use (free lists, sub-directories, Exif) are
// dropped. Image data is copied byte for byte, never decoded. Every
// source is checked before the first byte is written.
func Merge(w io.Writer, srcs []Source) (pages int, err error) {
	var out []outPage
	for i, s := range srcs {
		ps, err := selectPages(s)
		if err != nil {
			return 0, fmt.Errorf("document %d: %w", i+1, err)
		}
		out = append(out, ps...)
		if len(out) > MaxPages {
			return 0, fmt.Errorf("%w: more than %d pages", ErrFormat, MaxPages)
		}
	}
	if len(out) == 0 {
		return 0, fmt.Errorf("%w: no pages", ErrFormat)
	}
	if err := layout(out); err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	pw := &posWriter{w: bw}
	hdr := binary.LittleEndian.AppendUint32([]byte("II*\x00"), uint32(out[0].ifdOff))
	pw.Write(hdr)
	for i, p := range out {
		if err := writePage(pw, p, out, i); err != nil {
			return 0, err
		}
	}
	if pw.err == nil {
		pw.err = bw.Flush()
	}
	if pw.err != nil {
		return 0, fmt.Errorf("faxdoc: merge: %w", pw.err)
	}
	return len(out), nil
}

// selectPages reads s and checks the pages it names.
func selectPages(s Source) ([]outPage, error) {
	f, err := Read(s.R, s.Size)
	if err != nil {
		return nil, err
	}
	n := len(f.ifds)
	if s.First < 0 || s.First >= n || s.Count < 0 || s.First+s.Count > n {
		return nil, fmt.Errorf("%w: cannot take %d pages from page %d of %d", ErrFormat, s.Count, s.First, n)
	}
	last := n
	if s.Count > 0 {
		last = s.First + s.Count
	}
	var out []outPage
	var used int64 // data copied; real files never share it between pages
	for i := s.First; i < last; i++ {
		p, err := f.outPage(f.ifds[i], s.Set)
		if err != nil {
			return nil, fmt.Errorf("%w: page %d: %w", ErrFormat, i+1, err)
		}
		for _, pc := range p.strips {
			used += pc.size
		}
		for _, e := range p.entries {
			if e.src != nil && e.size() > 4 {
				used += e.size()
			}
		}
		if used > f.size {
			return nil, fmt.Errorf("%w: pages share their data", ErrFormat)
		}
		out = append(out, p)
	}
	return out, nil
}

// outPage checks the page d and returns the entries to write for it,
// with set applied and its strips located; offsets are set by layout.
func (f *File) outPage(d ifd, set []Field) (outPage, error) {
	p := outPage{f: f}
	var offs, counts []uint32
	var err error
	for _, e := range d.entries {
		switch {
		case e.tag == tagTileOffsets || e.tag == tagTileByteCounts:
			return p, errors.New("tiled image")
		case e.tag == TagStripOffsets:
			offs, err = f.uints(e)
		case e.tag == TagStripByteCounts:
			counts, err = f.uints(e)
		case e.size() == 0 || e.typ == typeIFD || slices.Contains(droppedTags, e.tag):
			continue
		case e.size() > MaxValueBytes:
			return p, fmt.Errorf("tag %d: value of %d bytes", e.tag, e.size())
		case f.misplaced(e):
			return p, fmt.Errorf("tag %d: value outside the file's body", e.tag)
		default:
			p.entries = append(p.entries, outEntry{tag: e.tag, typ: e.typ, count: e.count, src: &e})
		}
		if err != nil {
			return p, err
		}
	}
	if len(offs) == 0 || len(offs) != len(counts) {
		return p, errors.New("missing or inconsistent strips")
	}
	slices.SortFunc(p.entries, func(a, b outEntry) int { return int(a.tag) - int(b.tag) })
	for i, off := range offs {
		if int64(off)+int64(counts[i]) > f.size {
			return p, errors.New("image data beyond end")
		}
		p.strips = append(p.strips, piece{int64(off), int64(counts[i])})
	}
	for _, fl := range set {
		p.put(outEntry{tag: fl.Tag, typ: fl.typ, count: fl.count(), val: fl.value(binary.LittleEndian)})
	}
	p.put(outEntry{tag: TagStripByteCounts, typ: typeLong, count: uint32(len(counts)), val: longs(0, counts).value(binary.LittleEndian)})
	if len(p.entries)+2 > MaxEntries {
		return p, fmt.Errorf("%d tags", len(p.entries)+2)
	}
	return p, nil
}

// put sets the entry of e's tag to e.
func (p *outPage) put(e outEntry) {
	i := slices.IndexFunc(p.entries, func(o outEntry) bool { return o.tag == e.tag })
	if i < 0 {
		p.entries = append(p.entries, e)
	} else {
		p.entries[i] = e
	}
}

// layout places every page (image data, then out-of-line values, then
// the directory, each on a word boundary) so that the file is written in
// one pass, and sets the PageNumber and StripOffsets entries.
func layout(out []outPage) error {
	off := int64(8)
	even := func(o int64) int64 { return o + o&1 }
	for i := range out {
		p := &out[i]
		var stripOffs []uint32
		for _, pc := range p.strips {
			stripOffs = append(stripOffs, uint32(off))
			off = even(off + pc.size)
		}
		p.put(outEntry{tag: TagStripOffsets, typ: typeLong, count: uint32(len(stripOffs)), val: longs(0, stripOffs).value(binary.LittleEndian)})
		p.put(outEntry{tag: TagPageNumber, typ: typeShort, count: 2, val: shorts(0, uint32(i), uint32(len(out))).value(binary.LittleEndian)})
		slices.SortFunc(p.entries, func(a, b outEntry) int { return int(a.tag) - int(b.tag) })
		p.valueOff = make([]int64, len(p.entries))
		for j, e := range p.entries {
			if e.size() > 4 {
				p.valueOff[j] = off
				off = even(off + e.size())
			}
		}
		p.ifdOff = off
		off += 2 + 12*int64(len(p.entries)) + 4
		if off > MaxFileSize {
			return fmt.Errorf("%w: merged file would exceed %d bytes", ErrFormat, MaxFileSize)
		}
	}
	return nil
}

// writePage writes page i of out, laid out by layout.
func writePage(pw *posWriter, p outPage, out []outPage, i int) error {
	pad := func() {
		if pw.n%2 == 1 {
			pw.Write([]byte{0})
		}
	}
	for _, pc := range p.strips {
		if _, err := io.CopyN(pw, io.NewSectionReader(p.f.r, pc.off, pc.size), pc.size); err != nil {
			return fmt.Errorf("faxdoc: merge: page %d: %w", i+1, err)
		}
		pad()
	}
	vals := make([][]byte, len(p.entries))
	for j, e := range p.entries {
		v := e.val
		if e.src != nil {
			b, err := p.f.value(*e.src)
			if err != nil {
				return fmt.Errorf("faxdoc: merge: page %d: %w", i+1, err)
			}
			v = toLittle(p.f.order, e.typ, slices.Clone(b))
		}
		vals[j] = v
		if len(v) > 4 {
			pw.Write(v)
			pad()
		}
	}
	b := make([]byte, 0, 2+12*len(p.entries)+4)
	le := binary.LittleEndian
	b = le.AppendUint16(b, uint16(len(p.entries)))
	for j, e := range p.entries {
		b = le.AppendUint16(b, e.tag)
		b = le.AppendUint16(b, e.typ)
		b = le.AppendUint32(b, e.count)
		var raw [4]byte
		if len(vals[j]) > 4 {
			le.PutUint32(raw[:], uint32(p.valueOff[j]))
		} else {
			copy(raw[:], vals[j])
		}
		b = append(b, raw[:]...)
	}
	next := uint32(0)
	if i+1 < len(out) {
		next = uint32(out[i+1].ifdOff)
	}
	pw.Write(le.AppendUint32(b, next))
	return nil
}

// toLittle converts v, values of type typ in byte order o, to
// little-endian in place.
func toLittle(o byteOrder, typ uint16, v []byte) []byte {
	if o == byteOrder(binary.LittleEndian) {
		return v
	}
	w := int(typeSize(typ))
	if typ == typeRational || typ == typeSRational { // two LONGs each
		w = 4
	}
	for i := 0; w > 1 && i+w <= len(v); i += w {
		slices.Reverse(v[i : i+w])
	}
	return v
}

// posWriter counts the bytes written and keeps the first error, so that
// the writer can write without checking each call.
type posWriter struct {
	w   *bufio.Writer
	n   int64
	err error
}

// ReadFrom copies image data straight into the buffer.
func (p *posWriter) ReadFrom(r io.Reader) (int64, error) {
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.w.ReadFrom(r)
	p.n += n
	p.err = err
	return n, err
}

func (p *posWriter) Write(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.w.Write(b)
	p.n += int64(n)
	p.err = err
	return n, err
}
