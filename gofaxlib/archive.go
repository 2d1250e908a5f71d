package gofaxlib

import (
	"errors"
	"fmt"
	"path/filepath"
)

// ErrNotArchived is a document path (a fax row's document_path) that is
// not a file below the archive directory.
var ErrNotArchived = errors.New("gofaxlib: document is not in the archive")

// ArchivedPath returns path, cleaned, when it names a file below the
// archive directory archive: both absolute, path not archive itself and
// no ".." leading out of it. Whoever reads, serves or removes a fax's
// archived document goes through it, so that no row (written by another
// host, an older version, or by hand) makes gofaxd touch another file.
// The check is lexical: the archive's own entries are gofaxd's.
func ArchivedPath(archive, path string) (string, error) {
	if !filepath.IsAbs(archive) {
		return "", fmt.Errorf("%w: the archive directory %q is not an absolute path", ErrNotArchived, archive)
	}
	clean := filepath.Clean(path)
	if !filepath.IsAbs(clean) {
		return "", fmt.Errorf("%w: %q is not an absolute path", ErrNotArchived, path)
	}
	rel, err := filepath.Rel(filepath.Clean(archive), clean)
	if err != nil || rel == "." || !filepath.IsLocal(rel) {
		return "", fmt.Errorf("%w: %q is not below %s", ErrNotArchived, path, archive)
	}
	return clean, nil
}
