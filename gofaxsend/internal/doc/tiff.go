package doc

import (
	"fmt"
	"io"

	"github.com/gofaxserver/gofaxserver/gofaxlib/faxdoc"
)

// ErrFormat reports a document that is not a TIFF file gofaxsend can copy.
var ErrFormat = faxdoc.ErrFormat

// Source is a range of pages of one TIFF file: pages From (0-based
// directory number, as in a qfile's fax: item) to the end.
type Source struct {
	R    io.ReaderAt
	Size int64
	From int
}

// Pages counts the pages (directories) of a TIFF file; a file without
// any is ErrFormat.
func Pages(r io.ReaderAt, size int64) (int, error) {
	f, err := faxdoc.Read(r, size)
	if err != nil {
		return 0, err
	}
	if f.NumPages() == 0 {
		return 0, fmt.Errorf("%w: no pages", ErrFormat)
	}
	return f.NumPages(), nil
}

// Merge writes one little-endian TIFF holding the selected pages of every
// source in order, with PageNumber renumbered, and returns the page count
// (faxdoc.Merge). Image data is copied byte for byte.
func Merge(w io.Writer, srcs []Source) (int, error) {
	fs := make([]faxdoc.Source, len(srcs))
	for i, s := range srcs {
		fs[i] = faxdoc.Source{R: s.R, Size: s.Size, First: s.From}
	}
	return faxdoc.Merge(w, fs)
}
