package faxdoc

import "strings"

// Field is a tag with the value a writer sets on a page; make one with
// ASCII or Long.
type Field struct {
	Tag  uint16
	typ  uint16
	text string   // ASCII, without its NUL
	nums []uint32 // SHORT or LONG
}

// ASCII returns a field of type ASCII holding s up to its first NUL.
func ASCII(tag uint16, s string) Field {
	s, _, _ = strings.Cut(s, "\x00")
	return Field{Tag: tag, typ: typeASCII, text: s}
}

// Long returns a field of type LONG holding v.
func Long(tag uint16, v uint32) Field {
	return Field{Tag: tag, typ: typeLong, nums: []uint32{v}}
}

// longs returns a field of type LONG holding vs.
func longs(tag uint16, vs []uint32) Field {
	return Field{Tag: tag, typ: typeLong, nums: vs}
}

// shorts returns a field of type SHORT holding vs.
func shorts(tag uint16, vs ...uint32) Field {
	return Field{Tag: tag, typ: typeShort, nums: vs}
}

// count returns the number of values of fl, the NUL of ASCII included.
func (fl Field) count() uint32 {
	if fl.typ == typeASCII {
		return uint32(len(fl.text) + 1)
	}
	return uint32(len(fl.nums))
}

// value returns the value bytes of fl in byte order o.
func (fl Field) value(o byteOrder) []byte {
	if fl.typ == typeASCII {
		return append([]byte(fl.text), 0)
	}
	var b []byte
	for _, v := range fl.nums {
		if fl.typ == typeShort {
			b = o.AppendUint16(b, uint16(v))
		} else {
			b = o.AppendUint32(b, v)
		}
	}
	return b
}
