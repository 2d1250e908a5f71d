package hylafax

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
)

// ErrTIFF reports a file that is not a TIFF this package can read, or
// one beyond its limits.
var ErrTIFF = errors.New("hylafax: invalid TIFF")

// TIFF limits. Reading walks the IFD chain only (one IFD per page) and
// never the image data, so memory stays small whatever the file holds.
const (
	// maxTIFFPages bounds the IFD chain: far more pages than any fax
	// (HylaFAX's MaxRecvPages is usually 25 to 100).
	maxTIFFPages = 5000
	// maxIFDEntries bounds one IFD; libtiff writes about 25 for a fax page.
	maxIFDEntries = 1000
	// maxTagValue bounds one tag value that is read (ImageDescription).
	maxTagValue = 64 << 10
	// maxTIFFSize keeps offsets within 32 bits with room to append IFDs.
	maxTIFFSize = 1 << 30
)

// TIFF tags this package reads or writes; the Fax* ones are HylaFAX's.
const (
	tagImageWidth       = 256
	tagImageLength      = 257
	tagCompression      = 259
	tagFillOrder        = 266
	tagImageDescription = 270
	tagXResolution      = 282
	tagYResolution      = 283
	tagT4Options        = 292
	tagResolutionUnit   = 296
	tagFaxRecvParams    = 34908
	tagFaxSubAddress    = 34909
	tagFaxRecvTime      = 34910
	tagFaxDcs           = 34911
)

// TIFF field types.
const (
	typeASCII = 2
	typeShort = 3
	typeLong  = 4
)

// typeSizes holds the size of one value of each classic TIFF field type.
var typeSizes = [...]uint64{1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}

// PageInfo describes one page (IFD) of a TIFF file.
type PageInfo struct {
	Width, Length  uint32
	XResolution    float64 // per ResolutionUnit
	YResolution    float64
	ResolutionUnit uint16 // 2 inch (the default), 3 centimetre
	Compression    uint16 // 3 CCITT T.4 (G3), 4 CCITT T.6 (G4)
	T4Options      uint32 // bit 0 2-D coding, bit 2 fill bits
	FillOrder      uint16 // 1 MSB first (the default), 2 LSB first
	// ImageDescription is the sender's TSI, then one caller id a line.
	ImageDescription string
	FaxRecvParams    uint32 // Class2Params.Encode(), 0 when absent
	FaxRecvTime      uint32 // seconds to receive the page
	FaxDcs           string
	FaxSubAddress    string
}

// YDPI returns the vertical resolution in lines per inch.
func (p PageInfo) YDPI() float64 { return toDPI(p.YResolution, p.ResolutionUnit) }

// XDPI returns the horizontal resolution in dots per inch.
func (p PageInfo) XDPI() float64 { return toDPI(p.XResolution, p.ResolutionUnit) }

func toDPI(v float64, unit uint16) float64 {
	if unit == 3 {
		return v * 2.54
	}
	return v
}

// tiffEntry is one 12-byte IFD entry; raw is its value-or-offset field as
// stored.
type tiffEntry struct {
	tag, typ uint16
	count    uint32
	raw      [4]byte
}

// tiffIFD is one directory: one page of a fax.
type tiffIFD struct {
	offset  uint32
	entries []tiffEntry
}

// tiffFile is the parsed structure of a TIFF file; image data stays in r.
type tiffFile struct {
	r     io.ReaderAt
	size  int64
	order byteOrder
	ifds  []tiffIFD
}

// byteOrder is binary.LittleEndian or binary.BigEndian.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// readTIFF parses the header and the IFD chain of a classic TIFF file in
// either byte order.
func readTIFF(r io.ReaderAt, size int64) (*tiffFile, error) {
	if size < 8 || size > maxTIFFSize {
		return nil, fmt.Errorf("%w: size %d", ErrTIFF, size)
	}
	var hdr [8]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTIFF, err)
	}
	t := &tiffFile{r: r, size: size}
	switch string(hdr[:4]) {
	case "II*\x00":
		t.order = binary.LittleEndian
	case "MM\x00*":
		t.order = binary.BigEndian
	default:
		return nil, fmt.Errorf("%w: header %q", ErrTIFF, hdr[:4])
	}
	seen := make(map[uint32]bool)
	for off := t.order.Uint32(hdr[4:]); off != 0; {
		if seen[off] || len(t.ifds) >= maxTIFFPages {
			return nil, fmt.Errorf("%w: IFD chain loops or exceeds %d pages", ErrTIFF, maxTIFFPages)
		}
		seen[off] = true
		ifd, next, err := t.readIFD(off)
		if err != nil {
			return nil, err
		}
		t.ifds = append(t.ifds, ifd)
		off = next
	}
	return t, nil
}

// readIFD reads the directory at off and returns it with the offset of
// the next one.
func (t *tiffFile) readIFD(off uint32) (tiffIFD, uint32, error) {
	var cnt [2]byte
	if int64(off)+2 > t.size {
		return tiffIFD{}, 0, fmt.Errorf("%w: IFD offset %d beyond end", ErrTIFF, off)
	}
	if _, err := t.r.ReadAt(cnt[:], int64(off)); err != nil {
		return tiffIFD{}, 0, fmt.Errorf("%w: %w", ErrTIFF, err)
	}
	n := int(t.order.Uint16(cnt[:]))
	if n == 0 || n > maxIFDEntries {
		return tiffIFD{}, 0, fmt.Errorf("%w: IFD at %d has %d entries", ErrTIFF, off, n)
	}
	if int64(off)+2+int64(n)*12+4 > t.size {
		return tiffIFD{}, 0, fmt.Errorf("%w: IFD at %d beyond end", ErrTIFF, off)
	}
	b := make([]byte, n*12+4)
	if _, err := t.r.ReadAt(b, int64(off)+2); err != nil {
		return tiffIFD{}, 0, fmt.Errorf("%w: %w", ErrTIFF, err)
	}
	ifd := tiffIFD{offset: off, entries: make([]tiffEntry, n)}
	for i := range ifd.entries {
		e := b[i*12:]
		ifd.entries[i] = tiffEntry{tag: t.order.Uint16(e), typ: t.order.Uint16(e[2:]), count: t.order.Uint32(e[4:])}
		copy(ifd.entries[i].raw[:], e[8:12])
	}
	return ifd, t.order.Uint32(b[n*12:]), nil
}

// value returns the value bytes of e, or nil when the type is unknown,
// the value is too long to read or lies outside the file.
func (t *tiffFile) value(e tiffEntry) []byte {
	if int(e.typ) >= len(typeSizes) {
		return nil
	}
	n := typeSizes[e.typ] * uint64(e.count)
	switch {
	case n == 0 || n > maxTagValue:
		return nil
	case n <= 4:
		return e.raw[:n]
	}
	off := int64(t.order.Uint32(e.raw[:]))
	if off+int64(n) > t.size {
		return nil
	}
	b := make([]byte, n)
	if _, err := t.r.ReadAt(b, off); err != nil {
		return nil
	}
	return b
}

// uint returns the first value of a BYTE, SHORT or LONG entry.
func (t *tiffFile) uint(e tiffEntry) (uint32, bool) {
	v := t.value(e)
	switch {
	case e.typ == 1 && len(v) >= 1:
		return uint32(v[0]), true
	case e.typ == typeShort && len(v) >= 2:
		return uint32(t.order.Uint16(v)), true
	case e.typ == typeLong && len(v) >= 4:
		return t.order.Uint32(v), true
	}
	return 0, false
}

// rational returns the first value of a RATIONAL entry.
func (t *tiffFile) rational(e tiffEntry) float64 {
	v := t.value(e)
	if e.typ != 5 || len(v) < 8 || t.order.Uint32(v[4:]) == 0 {
		return 0
	}
	return float64(t.order.Uint32(v)) / float64(t.order.Uint32(v[4:]))
}

// ascii returns an ASCII entry up to its first NUL.
func (t *tiffFile) ascii(e tiffEntry) string {
	if e.typ != typeASCII {
		return ""
	}
	v := t.value(e)
	if i := bytes.IndexByte(v, 0); i >= 0 {
		v = v[:i]
	}
	return string(v)
}

// page returns what PageInfo holds of one IFD.
func (t *tiffFile) page(ifd tiffIFD) PageInfo {
	p := PageInfo{ResolutionUnit: 2, FillOrder: 1, Compression: 1}
	for _, e := range ifd.entries {
		var v uint32
		switch e.tag {
		case tagImageWidth, tagImageLength, tagCompression, tagFillOrder, tagT4Options,
			tagResolutionUnit, tagFaxRecvParams, tagFaxRecvTime:
			v, _ = t.uint(e)
		}
		switch e.tag {
		case tagImageWidth:
			p.Width = v
		case tagImageLength:
			p.Length = v
		case tagCompression:
			p.Compression = uint16(v)
		case tagFillOrder:
			p.FillOrder = uint16(v)
		case tagImageDescription:
			p.ImageDescription = t.ascii(e)
		case tagXResolution:
			p.XResolution = t.rational(e)
		case tagYResolution:
			p.YResolution = t.rational(e)
		case tagT4Options:
			p.T4Options = v
		case tagResolutionUnit:
			p.ResolutionUnit = uint16(v)
		case tagFaxRecvParams:
			p.FaxRecvParams = v
		case tagFaxRecvTime:
			p.FaxRecvTime = v
		case tagFaxDcs:
			p.FaxDcs = t.ascii(e)
		case tagFaxSubAddress:
			p.FaxSubAddress = t.ascii(e)
		}
	}
	return p
}

// ReadTIFFPages returns the pages of the TIFF file in r, which is size
// bytes long.
func ReadTIFFPages(r io.ReaderAt, size int64) ([]PageInfo, error) {
	t, err := readTIFF(r, size)
	if err != nil {
		return nil, err
	}
	pages := make([]PageInfo, len(t.ifds))
	for i, ifd := range t.ifds {
		pages[i] = t.page(ifd)
	}
	return pages, nil
}

// TIFFPages returns the pages of the TIFF file path.
func TIFFPages(path string) ([]PageInfo, error) {
	var pages []PageInfo
	err := withTIFFFile(path, os.O_RDONLY, func(f *os.File, size int64) (err error) {
		pages, err = ReadTIFFPages(f, size)
		return err
	})
	return pages, err
}

// CountTIFFPages returns the number of pages (IFDs) of the TIFF file
// path, as faxinfo and hfaxd count them.
func CountTIFFPages(path string) (int, error) {
	n := 0
	err := withTIFFFile(path, os.O_RDONLY, func(f *os.File, size int64) error {
		t, err := readTIFF(f, size)
		if t != nil {
			n = len(t.ifds)
		}
		return err
	})
	return n, err
}

// withTIFFFile opens path and calls fn with it and its size.
func withTIFFFile(path string, flag int, fn func(*os.File, int64) error) error {
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return fmt.Errorf("hylafax: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("hylafax: %w", err)
	}
	if err := fn(f, fi.Size()); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// FaxTags are the tags faxgetty adds to every page of a received fax, so
// that faxinfo, hfaxd (faxstat -r) and faxrcvd show the sender, quality
// and signalling rate. Zero fields leave the tag the file has.
type FaxTags struct {
	// Sender is the remote TSI, the first line of ImageDescription. When
	// empty, the first line already there (spandsp writes the TSI) stays.
	Sender string
	// CallIDs follow the sender in ImageDescription, one a line.
	CallIDs []string
	// Params becomes FaxRecvParams. A page's own X/YResolution sets its
	// VR, since pages of one fax may differ.
	Params *Class2Params
	// SubAddress becomes FaxSubAddress.
	SubAddress string
	// PageTimes[i] becomes FaxRecvTime of page i, in whole seconds.
	PageTimes []uint32
	// DCS becomes FaxDcs, the DCS frame in hex ("00 46 1F ..."); spandsp
	// writes the same format.
	DCS string
}

// AddFaxTags adds the HylaFAX tags of t to every page of the TIFF file
// path and keeps all others. It writes new IFDs after the end of the file
// and then switches the header to them, so the file is valid at every
// moment and the image data does not move.
func AddFaxTags(path string, t FaxTags) error {
	return withTIFFFile(path, os.O_RDWR, func(f *os.File, size int64) error {
		tail, first, err := faxTagsTail(f, size, t)
		if err != nil {
			return err
		}
		if _, err := f.WriteAt(tail, size); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
		order := byteOrder(binary.LittleEndian)
		var hdr [2]byte
		if _, err := f.ReadAt(hdr[:], 0); err != nil {
			return err
		}
		if hdr[0] == 'M' {
			order = binary.BigEndian
		}
		if _, err := f.WriteAt(order.AppendUint32(nil, first), 4); err != nil {
			return err
		}
		return f.Sync()
	})
}

// faxTagsTail returns the bytes to append to the TIFF in r (size bytes)
// to give every page the tags of t, and the offset of the new first IFD.
func faxTagsTail(r io.ReaderAt, size int64, t FaxTags) ([]byte, uint32, error) {
	tf, err := readTIFF(r, size)
	if err != nil {
		return nil, 0, err
	}
	if len(tf.ifds) == 0 {
		return nil, 0, fmt.Errorf("%w: no pages", ErrTIFF)
	}
	var out []byte // appended at size
	pos := func() uint32 { return uint32(size + int64(len(out))) }
	align := func() { // IFDs and values start on a word boundary
		if pos()%2 == 1 {
			out = append(out, 0)
		}
	}
	// entry makes an entry whose value is v, placed after the data so far
	// when it does not fit in the entry.
	entry := func(tag, typ uint16, count uint32, v []byte) tiffEntry {
		e := tiffEntry{tag: tag, typ: typ, count: count}
		if len(v) <= 4 {
			copy(e.raw[:], v)
			return e
		}
		align()
		tf.order.PutUint32(e.raw[:], pos())
		out = append(out, v...)
		return e
	}
	asciiEntry := func(tag uint16, s string) tiffEntry {
		v := append([]byte(s), 0)
		return entry(tag, typeASCII, uint32(len(v)), v)
	}
	dirs := make([][]tiffEntry, len(tf.ifds))
	for i, ifd := range tf.ifds {
		page := tf.page(ifd)
		var add []tiffEntry
		if d, ok := faxDescription(t, page.ImageDescription); ok {
			add = append(add, asciiEntry(tagImageDescription, d))
		}
		if t.Params != nil {
			p := *t.Params
			if page.YResolution > 0 {
				p.VR = ResolutionCode(page.XDPI(), page.YDPI())
			}
			add = append(add, entry(tagFaxRecvParams, typeLong, 1, tf.order.AppendUint32(nil, p.Encode())))
		}
		if t.SubAddress != "" {
			add = append(add, asciiEntry(tagFaxSubAddress, asciiValue(t.SubAddress)))
		}
		if i < len(t.PageTimes) {
			add = append(add, entry(tagFaxRecvTime, typeLong, 1, tf.order.AppendUint32(nil, t.PageTimes[i])))
		}
		if t.DCS != "" {
			add = append(add, asciiEntry(tagFaxDcs, asciiValue(t.DCS)))
		}
		es := slices.DeleteFunc(slices.Clone(ifd.entries), func(e tiffEntry) bool {
			return slices.ContainsFunc(add, func(a tiffEntry) bool { return a.tag == e.tag })
		})
		es = append(es, add...)
		slices.SortStableFunc(es, func(a, b tiffEntry) int { return int(a.tag) - int(b.tag) })
		if len(es) > maxIFDEntries {
			return nil, 0, fmt.Errorf("%w: IFD %d has %d entries", ErrTIFF, i, len(es))
		}
		dirs[i] = es
	}
	align()
	first := pos()
	for i, es := range dirs {
		next := uint32(0)
		if i+1 < len(dirs) {
			next = pos() + uint32(2+12*len(es)+4)
		}
		out = tf.order.AppendUint16(out, uint16(len(es)))
		for _, e := range es {
			out = tf.order.AppendUint16(out, e.tag)
			out = tf.order.AppendUint16(out, e.typ)
			out = tf.order.AppendUint32(out, e.count)
			out = append(out, e.raw[:]...)
		}
		out = tf.order.AppendUint32(out, next)
	}
	if size+int64(len(out)) > math.MaxUint32 {
		return nil, 0, fmt.Errorf("%w: file too large", ErrTIFF)
	}
	return out, first, nil
}

// faxDescription returns the ImageDescription of t for a page that has old,
// and whether there is one to write.
func faxDescription(t FaxTags, old string) (string, bool) {
	sender := asciiValue(t.Sender)
	if sender == "" {
		sender, _, _ = strings.Cut(old, "\n")
	}
	if t.Sender == "" && len(t.CallIDs) == 0 {
		return "", false
	}
	lines := []string{sender}
	for _, c := range t.CallIDs {
		lines = append(lines, asciiValue(c))
	}
	return strings.Join(lines, "\n"), true
}

// asciiValue makes s fit a one-line TIFF ASCII value.
func asciiValue(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == 0 || c == '\n' || c == '\r' {
			b[i] = ' '
		}
	}
	return string(b)
}
