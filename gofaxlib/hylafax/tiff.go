package hylafax

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gofaxserver/gofaxserver/gofaxlib/faxdoc"
)

// ErrTIFF reports a file that is not a TIFF this package can read, or
// one beyond its limits (faxdoc.ErrFormat).
var ErrTIFF = faxdoc.ErrFormat

// PageInfo describes one page (IFD) of a TIFF file.
type PageInfo = faxdoc.PageInfo

// ReadTIFFPages returns the pages of the TIFF file in r, which is size
// bytes long.
func ReadTIFFPages(r io.ReaderAt, size int64) ([]PageInfo, error) {
	return faxdoc.ReadPages(r, size)
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
		tf, err := faxdoc.Read(f, size)
		if tf != nil {
			n = tf.NumPages()
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
// and then switches the header to them (faxdoc's Retag), so the file is
// valid at every moment and the image data does not move.
func AddFaxTags(path string, t FaxTags) error {
	return withTIFFFile(path, os.O_RDWR, func(f *os.File, size int64) error {
		tf, err := faxdoc.Read(f, size)
		if err != nil {
			return err
		}
		tail, hdr, err := faxTagsTail(tf, t)
		if err != nil {
			return err
		}
		if _, err := f.WriteAt(tail, size); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
		if _, err := f.WriteAt(hdr[:], 0); err != nil {
			return err
		}
		return f.Sync()
	})
}

// faxTagsTail returns the bytes to append to the TIFF tf to give every
// page the tags of t, and the header to switch to them.
func faxTagsTail(tf *faxdoc.File, t FaxTags) ([]byte, [8]byte, error) {
	pages := tf.Pages()
	set := make([][]faxdoc.Field, len(pages))
	for i, page := range pages {
		if d, ok := faxDescription(t, page.ImageDescription); ok {
			set[i] = append(set[i], faxdoc.ASCII(faxdoc.TagImageDescription, d))
		}
		if t.Params != nil {
			p := *t.Params
			if page.YResolution > 0 {
				p.VR = ResolutionCode(page.XDPI(), page.YDPI())
			}
			set[i] = append(set[i], faxdoc.Long(faxdoc.TagFaxRecvParams, p.Encode()))
		}
		if t.SubAddress != "" {
			set[i] = append(set[i], faxdoc.ASCII(faxdoc.TagFaxSubAddress, asciiValue(t.SubAddress)))
		}
		if i < len(t.PageTimes) {
			set[i] = append(set[i], faxdoc.Long(faxdoc.TagFaxRecvTime, t.PageTimes[i]))
		}
		if t.DCS != "" {
			set[i] = append(set[i], faxdoc.ASCII(faxdoc.TagFaxDcs, asciiValue(t.DCS)))
		}
	}
	return tf.Retag(set)
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
