package api_test

import (
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/api"
)

// TestPDFCheckAsSpoolOwner: gofaxd running as root runs pdfinfo as the
// spool's owner (gofaxlib/hook), whatever its working directory: the
// upload directory and the documents are that owner's, so pdfinfo can
// read them and a PDF is accepted. Root only (as make test runs).
func TestPDFCheckAsSpoolOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: pdfinfo runs as the spool's owner only when gofaxd runs as root")
	}
	needPDFInfo(t)
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	// A spool nobody owns, below a directory every user may enter (the
	// test's own temporary directories are root's, mode 0700).
	root, err := os.MkdirTemp("", "gofax-api-owner-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(root) })
	must(t, os.Chmod(root, 0o755))
	spool := filepath.Join(root, "spool")
	must(t, os.Mkdir(spool, 0o755))
	must(t, os.Chown(spool, uid, gid))
	upload := filepath.Join(spool, "tmp", "gofax-api")
	must(t, os.MkdirAll(filepath.Dir(upload), 0o755))
	must(t, os.Chown(filepath.Dir(upload), uid, gid))
	e := newEnv(t, func(o *api.Options) { o.Spool, o.UploadDir = spool, upload })
	w := makeWorld(t, e)
	// gofaxd's unit starts it in the spool: a pdfinfo run as the working
	// directory's owner could not read root's files. (After the set-up,
	// which reads testdata relative to the package.)
	t.Chdir(spool)
	r := e.do(t, "POST", "/v1/faxes", w.a.userCrd, (&form{}).field("to", "+4989123456").file("a.pdf", "", makePDF(3)))
	expect(t, "PDF checked as the spool's owner", r, http.StatusAccepted)
	if jobs := e.sub.submitted(); len(jobs) != 1 || jobs[0].Documents[0].Pages != 3 {
		t.Errorf("jobs %+v", jobs)
	}
	fi, err := os.Stat(upload)
	must(t, err)
	if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != uid {
		t.Errorf("upload directory owned by uid %d, want the spool's %d", st.Uid, uid)
	}
}
