package gofaxlib

import (
	"errors"
	"testing"
)

func TestArchivedPath(t *testing.T) {
	const archive = "/var/spool/hylafax/archive"
	for _, tc := range []struct {
		name, archive, path, want string
	}{
		{"a document", archive, archive + "/a1/a1b2.tif", archive + "/a1/a1b2.tif"},
		{"cleaned", archive, archive + "/a1/../a1//a1b2.tif", archive + "/a1/a1b2.tif"},
		{"archive with slash", archive + "/", archive + "/a1/x.pdf", archive + "/a1/x.pdf"},
		{"a name starting with dots", archive, archive + "/..a1.tif", archive + "/..a1.tif"},
		{"the archive itself", archive, archive, ""},
		{"the archive with slash", archive, archive + "/", ""},
		{"out with ..", archive, archive + "/../recvq/fax000001.tif", ""},
		{"deep out with ..", archive, archive + "/a1/../../../../etc/passwd", ""},
		{"a sibling with the same prefix", archive, archive + "-old/a1/x.tif", ""},
		{"elsewhere", archive, "/etc/passwd", ""},
		{"relative", archive, "a1/x.tif", ""},
		{"empty", archive, "", ""},
		{"no archive", "", archive + "/a1/x.tif", ""},
		{"relative archive", "archive", "archive/a1/x.tif", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ArchivedPath(tc.archive, tc.path)
			if got != tc.want || (err == nil) != (tc.want != "") {
				t.Fatalf("ArchivedPath(%q, %q) = %q, %v; want %q", tc.archive, tc.path, got, err, tc.want)
			}
			if err != nil && !errors.Is(err, ErrNotArchived) {
				t.Errorf("error %v is not ErrNotArchived", err)
			}
		})
	}
}
