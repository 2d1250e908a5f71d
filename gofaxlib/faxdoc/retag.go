package faxdoc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Retag returns what gives page i of f the fields of set[i] (a field
// replaces the page's tag of the same number, every other tag stays but
// one whose value lies in the header, which is rewritten, or beyond the
// end, where the new data goes): tail is written at the end of the
// file, then header over its first 8 bytes. The new directories follow the old end; entries, values and
// image data stay where they are, so the file is valid before, between
// and after the two writes.
func (f *File) Retag(set [][]Field) (tail []byte, header [8]byte, err error) {
	if len(f.ifds) == 0 {
		return nil, header, fmt.Errorf("%w: no pages", ErrFormat)
	}
	if len(set) != len(f.ifds) {
		return nil, header, errors.New("faxdoc: retag: one field list a page needed")
	}
	var out []byte // appended at f.size
	pos := func() int64 { return f.size + int64(len(out)) }
	align := func() { // directories and values start on a word boundary
		if pos()%2 == 1 {
			out = append(out, 0)
		}
	}
	dirs := make([][]entry, len(f.ifds))
	for i, d := range f.ifds {
		es := slices.DeleteFunc(slices.Clone(d.entries), func(e entry) bool {
			return slices.ContainsFunc(set[i], func(fl Field) bool { return fl.Tag == e.tag }) || f.misplaced(e)
		})
		for _, fl := range set[i] {
			e := entry{tag: fl.Tag, typ: fl.typ, count: fl.count()}
			v := fl.value(f.order)
			if len(v) <= 4 {
				copy(e.raw[:], v)
			} else {
				align()
				f.order.PutUint32(e.raw[:], uint32(pos()))
				out = append(out, v...)
			}
			es = append(es, e)
		}
		slices.SortStableFunc(es, func(a, b entry) int { return int(a.tag) - int(b.tag) })
		if len(es) > MaxEntries {
			return nil, header, fmt.Errorf("%w: page %d would have %d tags", ErrFormat, i+1, len(es))
		}
		dirs[i] = es
	}
	align()
	first := pos()
	for i, es := range dirs {
		next := uint32(0)
		if i+1 < len(dirs) {
			next = uint32(pos()) + uint32(2+12*len(es)+4)
		}
		out = appendIFD(out, f.order, es, next)
	}
	if pos() > MaxFileSize {
		return nil, header, fmt.Errorf("%w: tagged file would exceed %d bytes", ErrFormat, MaxFileSize)
	}
	copy(header[:], f.magic())
	f.order.PutUint32(header[4:], uint32(first))
	return out, header, nil
}

// appendIFD appends a directory of es, pointing to the next at next.
func appendIFD(b []byte, o byteOrder, es []entry, next uint32) []byte {
	b = o.AppendUint16(b, uint16(len(es)))
	for _, e := range es {
		b = o.AppendUint16(b, e.tag)
		b = o.AppendUint16(b, e.typ)
		b = o.AppendUint32(b, e.count)
		b = append(b, e.raw[:]...)
	}
	return o.AppendUint32(b, next)
}

// magic returns the first 4 bytes of a file in f's byte order.
func (f *File) magic() string {
	if f.order == byteOrder(binary.LittleEndian) {
		return "II*\x00"
	}
	return "MM\x00*"
}
