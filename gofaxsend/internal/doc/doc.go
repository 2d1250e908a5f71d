// Package doc turns the prepared documents of a HylaFAX job (the qfile's
// "fax:" items, TIFF/F files faxq made in docq/) into the one file txfax
// sends, and works out which items are left after a partial transmission.
//
// A single item starting at directory 0 is passed as it is. Anything else is
// merged in pure Go into a new file under the spool's tmp/ directory, which
// FreeSWITCH can read (unlike a private /tmp), with no tiffcp argument list
// to break on commas in file names.
package doc

import (
	"fmt"
	"os"
	"path/filepath"
)

// mergedMode is the mode of a merged document: the owner (uucp) and its
// group (FreeSWITCH running in group uucp) read it, nobody else.
const mergedMode = 0o640

// Item is one "fax:" entry of a qfile: the document Path (relative to the
// spool) and Dirnum, the TIFF directory (0-based page) to start at.
type Item struct {
	Dirnum int
	Path   string
}

// Document is the file handed to txfax.
type Document struct {
	Path  string // absolute path
	Pages int    // pages txfax will send
	Temp  bool   // a merged file gofaxsend must remove after the call
	// Counts holds the number of pages of each item's file (all
	// directories, not only those from Dirnum on).
	Counts []int
}

// Remove deletes a merged file; it does nothing for a document passed as is.
func (d Document) Remove() error {
	if !d.Temp {
		return nil
	}
	return os.Remove(d.Path)
}

// Prepare opens every item (relative to spool) and returns the document to
// send. A single item from its first page is passed as it is when direct
// accepts its absolute path; anything else is merged into a new file in
// tmpDir (the spool's tmp/, world-writable and sticky), named after pattern
// with its "*" replaced by a random string (os.CreateTemp: O_EXCL, never
// a name another user can take in advance or read), with mode 0640: the
// group (uucp) is how FreeSWITCH reads it when it does not run as uucp,
// and hfaxd keeps documents 0640 too.
func Prepare(spool, tmpDir, pattern string, items []Item, direct func(path string) bool) (Document, error) {
	if len(items) == 0 {
		return Document{}, fmt.Errorf("doc: no documents to send")
	}
	var d Document
	var srcs []Source
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, it := range items {
		p := filepath.Join(spool, it.Path)
		f, err := os.Open(p)
		if err != nil {
			return Document{}, fmt.Errorf("doc: %w", err)
		}
		files = append(files, f)
		fi, err := f.Stat()
		if err != nil {
			return Document{}, fmt.Errorf("doc: %w", err)
		}
		n, err := Pages(f, fi.Size())
		if err != nil {
			return Document{}, fmt.Errorf("doc: %s: %w", it.Path, err)
		}
		if it.Dirnum < 0 || it.Dirnum >= n {
			return Document{}, fmt.Errorf("doc: %s: %w: start directory %d of %d pages", it.Path, ErrFormat, it.Dirnum, n)
		}
		d.Counts = append(d.Counts, n)
		d.Pages += n - it.Dirnum
		srcs = append(srcs, Source{R: f, Size: fi.Size(), From: it.Dirnum})
	}
	if len(items) == 1 && items[0].Dirnum == 0 {
		abs, err := filepath.Abs(filepath.Join(spool, items[0].Path))
		if err != nil {
			return Document{}, fmt.Errorf("doc: %w", err)
		}
		if direct(abs) {
			d.Path = abs
			return d, nil
		}
	}
	dir, err := filepath.Abs(tmpDir)
	if err != nil {
		return Document{}, fmt.Errorf("doc: %w", err)
	}
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return Document{}, fmt.Errorf("doc: %w", err)
	}
	out := f.Name()
	err = f.Chmod(mergedMode) // whatever the umask
	if err == nil {
		_, err = Merge(f, srcs)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
		return Document{}, fmt.Errorf("doc: merge into %s: %w", out, err)
	}
	d.Path, d.Temp = out, true
	return d, nil
}
