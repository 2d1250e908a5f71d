package esltest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
)

// maxDocumentBytes bounds a fax document the simulator reads: real faxes
// are tens of KB per page; 64 MiB is hundreds of pages.
const maxDocumentBytes = 64 << 20

// maxPages bounds the IFD chain walked (and catches IFD loops).
const maxPages = 10000

// ErrTIFF means a document is not a TIFF the simulator can copy.
var ErrTIFF = errors.New("esltest: unsupported TIFF")

// TIFF tags the copier rewrites.
const (
	tagImageDescription = 270
	tagStripOffsets     = 273
	tagStripByteCounts  = 279
	tagPageNumber       = 297
)

// typeSize is the byte size of each TIFF field type.
var typeSize = map[uint16]int{1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}

type tiffEntry struct {
	tag, typ uint16
	count    uint32
	value    []byte // raw value bytes in the file's byte order (read-only)
}

type tiffPage struct {
	entries []tiffEntry
	strips  [][]byte
}

// readDocument reads a TIFF and counts its pages.
func readDocument(path string) ([]byte, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxDocumentBytes+1))
	if err != nil {
		return nil, 0, err
	}
	if len(data) > maxDocumentBytes {
		return nil, 0, fmt.Errorf("%w: %s larger than %d bytes", ErrTIFF, path, maxDocumentBytes)
	}
	pages, _, err := parseTIFF(data)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	return data, len(pages), nil
}

// CountPages returns the number of pages (IFDs) of a TIFF file.
func CountPages(path string) (int, error) {
	_, n, err := readDocument(path)
	return n, err
}

// parseTIFF decodes the IFD chain of a classic TIFF.
func parseTIFF(data []byte) ([]tiffPage, binary.ByteOrder, error) {
	if len(data) < 8 {
		return nil, nil, fmt.Errorf("%w: short header", ErrTIFF)
	}
	var bo binary.ByteOrder
	switch string(data[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return nil, nil, fmt.Errorf("%w: bad magic", ErrTIFF)
	}
	var pages []tiffPage
	seen := map[uint32]bool{}
	var ifdBytes uint64
	off := bo.Uint32(data[4:])
	for off != 0 {
		if len(pages) >= maxPages || seen[off] {
			return nil, nil, fmt.Errorf("%w: IFD loop or too many IFDs", ErrTIFF)
		}
		seen[off] = true
		if uint64(off)+2 > uint64(len(data)) {
			return nil, nil, fmt.Errorf("%w: IFD offset out of range", ErrTIFF)
		}
		n := int(bo.Uint16(data[off:]))
		end := uint64(off) + 2 + uint64(n)*12 + 4
		ifdBytes += end - uint64(off)
		if end > uint64(len(data)) || ifdBytes > uint64(len(data)) {
			// IFDs do not overlap, so together they fit in the file.
			return nil, nil, fmt.Errorf("%w: IFD out of range", ErrTIFF)
		}
		var p tiffPage
		var stripOff, stripLen []uint32
		var valueBytes uint64 // out-of-line values may not add up to more than the file
		for i := 0; i < n; i++ {
			e := data[int(off)+2+i*12:]
			ent := tiffEntry{tag: bo.Uint16(e), typ: bo.Uint16(e[2:]), count: bo.Uint32(e[4:])}
			size, ok := typeSize[ent.typ]
			if !ok {
				continue // unknown types are dropped
			}
			total := uint64(size) * uint64(ent.count)
			if total <= 4 {
				ent.value = e[8 : 8+total : 8+total]
			} else {
				vo := uint64(bo.Uint32(e[8:]))
				valueBytes += total
				if vo+total > uint64(len(data)) || valueBytes > uint64(len(data)) {
					return nil, nil, fmt.Errorf("%w: tag %d value out of range", ErrTIFF, ent.tag)
				}
				ent.value = data[vo : vo+total : vo+total] // shared, never written
			}
			switch ent.tag {
			case tagStripOffsets:
				stripOff = uintValues(ent, bo)
			case tagStripByteCounts:
				stripLen = uintValues(ent, bo)
			case 322, 323, 324, 325, 330, 34665, 34853: // tiles, SubIFDs, Exif/GPS IFDs
				return nil, nil, fmt.Errorf("%w: tag %d", ErrTIFF, ent.tag)
			}
			p.entries = append(p.entries, ent)
		}
		if len(stripOff) == 0 || len(stripOff) != len(stripLen) {
			return nil, nil, fmt.Errorf("%w: page %d has no strips", ErrTIFF, len(pages)+1)
		}
		var stripBytes uint64
		for i := range stripOff {
			stripBytes += uint64(stripLen[i])
			if uint64(stripOff[i])+uint64(stripLen[i]) > uint64(len(data)) || stripBytes > uint64(len(data)) {
				return nil, nil, fmt.Errorf("%w: strip out of range", ErrTIFF)
			}
			p.strips = append(p.strips, data[stripOff[i]:stripOff[i]+stripLen[i]])
		}
		pages = append(pages, p)
		off = bo.Uint32(data[end-4:])
	}
	if len(pages) == 0 {
		return nil, nil, fmt.Errorf("%w: no pages", ErrTIFF)
	}
	return pages, bo, nil
}

func uintValues(e tiffEntry, bo binary.ByteOrder) []uint32 {
	var out []uint32
	for i := uint32(0); i < e.count; i++ {
		switch e.typ {
		case 3:
			out = append(out, uint32(bo.Uint16(e.value[2*i:])))
		case 4:
			out = append(out, bo.Uint32(e.value[4*i:]))
		}
	}
	return out
}

// copyPages returns a TIFF with n pages taken in turn from doc's pages
// (page i of the result is page i mod len of doc), PageNumber rewritten
// and ImageDescription set to desc if not empty — what spandsp writes for
// a received fax.
func copyPages(doc []byte, n int, desc string) ([]byte, error) {
	src, bo, err := parseTIFF(doc)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 8, len(doc))
	copy(out, doc[:4])
	prevNext := 4 // where to patch the offset of the next IFD
	for i := 0; i < n; i++ {
		p := src[i%len(src)]
		// Strip data first.
		var offsets []uint32
		for _, s := range p.strips {
			offsets = append(offsets, uint32(len(out)))
			out = append(out, s...)
		}
		entries := make([]tiffEntry, 0, len(p.entries)+2)
		for _, e := range p.entries {
			switch e.tag {
			case tagStripOffsets, tagPageNumber, tagImageDescription:
				continue
			case tagStripByteCounts:
				e = longEntry(tagStripByteCounts, lengths(p.strips), bo)
			}
			entries = append(entries, e)
		}
		entries = append(entries, longEntry(tagStripOffsets, offsets, bo))
		pn := make([]byte, 4)
		bo.PutUint16(pn, uint16(i))
		bo.PutUint16(pn[2:], uint16(n))
		entries = append(entries, tiffEntry{tag: tagPageNumber, typ: 3, count: 2, value: pn})
		if desc != "" {
			entries = append(entries, tiffEntry{tag: tagImageDescription, typ: 2, count: uint32(len(desc) + 1), value: append([]byte(desc), 0)})
		}
		sort.Slice(entries, func(a, b int) bool { return entries[a].tag < entries[b].tag })
		// Out-of-line values, then the IFD (word aligned).
		valueOff := make([]uint32, len(entries))
		for j, e := range entries {
			if len(e.value) > 4 {
				if len(out)%2 == 1 {
					out = append(out, 0)
				}
				valueOff[j] = uint32(len(out))
				out = append(out, e.value...)
			}
		}
		if len(out)%2 == 1 {
			out = append(out, 0)
		}
		bo.PutUint32(out[prevNext:], uint32(len(out)))
		ifd := make([]byte, 2+12*len(entries)+4)
		bo.PutUint16(ifd, uint16(len(entries)))
		for j, e := range entries {
			b := ifd[2+12*j:]
			bo.PutUint16(b, e.tag)
			bo.PutUint16(b[2:], e.typ)
			bo.PutUint32(b[4:], e.count)
			if len(e.value) > 4 {
				bo.PutUint32(b[8:], valueOff[j])
			} else {
				copy(b[8:12], e.value)
			}
		}
		prevNext = len(out) + len(ifd) - 4
		out = append(out, ifd...)
	}
	if len(out) > int(^uint32(0)) {
		return nil, fmt.Errorf("%w: result too large", ErrTIFF)
	}
	return out, nil
}

func lengths(strips [][]byte) []uint32 {
	out := make([]uint32, len(strips))
	for i, s := range strips {
		out[i] = uint32(len(s))
	}
	return out
}

func longEntry(tag uint16, vals []uint32, bo binary.ByteOrder) tiffEntry {
	b := make([]byte, 4*len(vals))
	for i, v := range vals {
		bo.PutUint32(b[4*i:], v)
	}
	return tiffEntry{tag: tag, typ: 4, count: uint32(len(vals)), value: b}
}

// writeReceived writes the first pages of the sender's document to path,
// as rxfax leaves a received TIFF.
func writeReceived(path string, doc []byte, pages int, remoteID string) error {
	if doc == nil {
		return fmt.Errorf("%w: no document", ErrTIFF)
	}
	data, err := copyPages(doc, pages, remoteID)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".rxfax-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
