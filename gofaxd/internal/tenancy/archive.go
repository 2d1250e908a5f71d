package tenancy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/faxdoc"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

// Document is an archived document: its path, size and SHA-256 (hex).
type Document struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// archiveMode is the mode of archived documents: the spool's owner and
// group (gofaxd, and the REST API in it, serve them; nobody else).
const archiveMode = 0o640

// errNothingToArchive reports a job whose documents cannot be archived
// as one file (see archiveJob).
var errNothingToArchive = errors.New("no document to archive")

// archivePath is where fax id's document lives: <archive>/<first two
// hex digits of the id>/<id><ext>, so no directory grows too large.
func (s *Service) archivePath(id, ext string) string {
	return filepath.Join(s.cfg.Archive, id[:2], id+ext)
}

// archiveFile archives src as the document of fax id: a hard link where
// the file system allows it, else a copy. A document archived before
// (a record ingested again) is kept. With sync, the directory entry is
// made durable; else the caller syncs the directory.
func (s *Service) archiveFile(id, src, ext string, sync bool) (*Document, error) {
	dst := s.archivePath(id, ext)
	if err := s.makeDir(filepath.Dir(dst), 0o750); err != nil {
		return nil, err
	}
	err := os.Link(src, dst)
	switch {
	case err == nil, errors.Is(err, os.ErrExist):
	case errors.Is(err, syscall.EXDEV), errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EMLINK):
		err = s.install(dst, func(w io.Writer) error {
			f, err := os.Open(src)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(w, f)
			return err
		})
		if err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	if sync {
		if err := syncDir(filepath.Dir(dst)); err != nil {
			return nil, err
		}
	}
	return describe(dst)
}

// install writes a new archive file dst with write, unless it exists.
func (s *Service) install(dst string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(dst), ".archive-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	err = write(f)
	if err == nil {
		err = f.Chmod(archiveMode)
	}
	if err == nil && s.cfg.Owner != nil {
		err = f.Chown(s.cfg.Owner.UID, s.cfg.Owner.GID)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Link(f.Name(), dst); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return nil
}

// describe returns an archived file's size and SHA-256.
func describe(path string) (*Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return nil, err
	}
	return &Document{Path: path, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// spoolFile returns the path of a spool-relative file named in a qfile,
// refusing names that leave the spool.
func (s *Service) spoolFile(name string) (string, error) {
	if !filepath.IsLocal(name) {
		return "", fmt.Errorf("document %q is not in the spool", name)
	}
	return filepath.Join(s.cfg.Spool, name), nil
}

// archiveJob archives what a send job transmits: the TIFF/F documents
// faxq prepared for it (fax: items), as one TIFF (a single document
// taken whole is linked, else the pages are copied into one file,
// undecoded). With sources set, when no document is prepared (the job
// was not seen while it was being sent), it takes the job's documents as
// submitted instead: TIFF documents as one TIFF, a single PDF as it is.
// Otherwise errNothingToArchive.
func (s *Service) archiveJob(id string, q *hylafax.Qfile, sources bool) (*Document, error) {
	// Archived before (a job found again after a restart).
	for _, ext := range []string{".tif", ".pdf"} {
		if doc, err := describe(s.archivePath(id, ext)); err == nil {
			return doc, nil
		}
	}
	var tiffs []hylafax.Item
	var pdf *hylafax.Item
	other := 0
	if items := q.FaxItems(); len(items) > 0 {
		tiffs = items
	} else if sources {
		for _, it := range q.Items() {
			switch strings.TrimPrefix(it.Op, hylafax.SavedPrefix) {
			case hylafax.OpTIFF:
				tiffs = append(tiffs, it)
			case hylafax.OpPDF:
				if pdf == nil {
					pdf = &it
				} else {
					other++
				}
			default:
				other++
			}
		}
		if pdf != nil && (len(tiffs) > 0 || other > 0) || pdf == nil && other > 0 {
			return nil, fmt.Errorf("%w: documents of several kinds (%d TIFF, PDF %v, %d others)", errNothingToArchive,
				len(tiffs), pdf != nil, other)
		}
	}
	switch {
	case pdf != nil:
		src, err := s.spoolFile(pdf.Path)
		if err != nil {
			return nil, err
		}
		return s.archiveFile(id, src, ".pdf", true)
	case len(tiffs) == 1 && tiffs[0].DirNum == 0:
		src, err := s.spoolFile(tiffs[0].Path)
		if err != nil {
			return nil, err
		}
		return s.archiveFile(id, src, ".tif", true)
	case len(tiffs) > 0:
		return s.archiveMerged(id, tiffs)
	}
	return nil, errNothingToArchive
}

// archiveMerged archives the pages of several TIFF documents as one.
func (s *Service) archiveMerged(id string, items []hylafax.Item) (*Document, error) {
	dst := s.archivePath(id, ".tif")
	if _, err := os.Stat(dst); err == nil {
		return describe(dst)
	}
	if err := s.makeDir(filepath.Dir(dst), 0o750); err != nil {
		return nil, err
	}
	var srcs []faxdoc.Source
	for _, it := range items {
		path, err := s.spoolFile(it.Path)
		if err != nil {
			return nil, err
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, faxdoc.Source{R: f, Size: fi.Size(), First: it.DirNum})
	}
	err := s.install(dst, func(w io.Writer) error {
		_, err := faxdoc.Merge(w, srcs)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return nil, err
	}
	return describe(dst)
}

// purgeBatch bounds the documents one purge pass removes.
const purgeBatch = 500

// purge removes the archived documents of this host's faxes whose
// tenant's retention is over, and forgets them in their rows (which
// stay). It returns how many it removed.
func (s *Service) purge(ctx context.Context) (int, error) {
	n := 0
	for ctx.Err() == nil {
		list, err := s.store.ExpiredDocuments(ctx, s.cfg.Host, purgeBatch)
		if err != nil {
			return n, err
		}
		for _, f := range list {
			if !s.inArchive(f.DocumentPath) {
				s.log.Error("archived document outside the archive: not removed", "fax_id", f.ID, "path", f.DocumentPath)
				continue
			}
			if err := os.Remove(f.DocumentPath); err != nil && !errors.Is(err, os.ErrNotExist) {
				s.log.Error("archived document not removed", "fax_id", f.ID, "err", err)
				continue
			}
			if err := s.store.ClearDocument(ctx, f.ID, f.DocumentPath); err != nil && !errors.Is(err, gofaxlib.ErrNotFound) {
				return n, err
			}
			n++
		}
		if len(list) < purgeBatch {
			break
		}
	}
	return n, nil
}

// inArchive reports whether path is a file below the archive directory.
func (s *Service) inArchive(path string) bool {
	_, err := gofaxlib.ArchivedPath(s.cfg.Archive, path)
	return err == nil
}

// purgeLoop is part of maintainLoop: it purges after purgeFirst, then
// every purgeEvery.
func (s *Service) purgeNow(ctx context.Context) {
	start := time.Now()
	n, err := s.purge(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		s.log.Warn("archive purge stopped; tried again later", "err", err, "removed", n)
	case n > 0:
		s.log.Info("archived documents past their tenant's retention removed", "removed", n,
			"took", time.Since(start).Round(time.Millisecond))
	}
}
