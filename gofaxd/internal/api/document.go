package api

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/faxdoc"
)

// Media types of fax documents.
const (
	mediaPDF  = "application/pdf"
	mediaTIFF = "image/tiff"
)

// maxAccept bounds the Accept header looked at, and maxAcceptRanges its
// media ranges: browsers send a few hundred bytes and a handful.
const (
	maxAccept       = 2048
	maxAcceptRanges = 32
)

// getDocument serves a fax's document from the archive (never from recvq
// or the queues by name): the received or sent fax as PDF by default
// (TIFF → PDF with faxdoc, the CCITT data passed through, streamed), the
// archived TIFF itself with Accept: image/tiff. A document archived on
// another host is 409 naming it. Every download is in the audit log.
func (s *Server) getDocument(w http.ResponseWriter, r *http.Request, p *principal) error {
	f, err := s.store.Fax(r.Context(), p.scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	switch {
	case f.DocumentPath == "" && f.Direction == gofaxlib.Outbound && !f.Status.Terminal():
		return fail(gofaxlib.ErrNotFound, "the fax has no document yet: it is archived when HylaFAX has prepared it for sending")
	case f.DocumentPath == "":
		return fail(gofaxlib.ErrNotFound, "the fax has no document (none arrived, or it was removed after the tenant's retention)")
	case f.Host != s.store.Host():
		return fail(gofaxlib.ErrConflict, "the document is archived on host %s; ask that host's API", f.Host)
	}
	path, err := s.archived(f.DocumentPath)
	if err != nil {
		return err
	}
	stored := mediaTIFF
	if strings.EqualFold(filepath.Ext(path), ".pdf") {
		stored = mediaPDF
	}
	offer := []string{mediaPDF}
	if stored == mediaTIFF {
		offer = append(offer, mediaTIFF)
	}
	want, ok := negotiate(r.Header.Get("Accept"), offer)
	if !ok {
		return fail(errNotAcceptable, "the document is available as %s", strings.Join(offer, " or "))
	}
	file, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return fail(gofaxlib.ErrNotFound, "the fax's archived document is gone")
	}
	if err != nil {
		return fmt.Errorf("api: document: %w", err)
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return fmt.Errorf("api: document: %w", err)
	}
	ext := ".pdf"
	if want == mediaTIFF {
		ext = ".tif"
	}
	h := w.Header()
	h.Set("Content-Type", want)
	h.Set("Content-Disposition", `inline; filename="fax-`+f.ID+ext+`"`)
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	s.audit(r, p, "fax.document", "fax", f.ID, f.TenantID, map[string]any{"format": want, "host": f.Host})
	if want == stored {
		// The archived file as it is (Range requests too).
		http.ServeContent(w, r, "", fi.ModTime(), file)
		return nil
	}
	doc, err := faxdoc.Read(file, fi.Size())
	if err != nil {
		h.Del("Content-Disposition")
		return fmt.Errorf("api: archived document %s of fax %s: %w", path, f.ID, err)
	}
	h.Set("X-Fax-Pages", strconv.Itoa(doc.NumPages()))
	if r.Method == http.MethodHead {
		return nil
	}
	if err := doc.WritePDF(w); err != nil {
		// Part of it went out: end the response so that the client sees
		// it cut short, not a complete-looking document.
		s.log.Error("api: writing a fax as PDF failed", "request_id", requestID(r), "fax_id", f.ID, "error", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// archived checks that path is a regular file in the archive directory
// (a row never makes the API serve another file) and returns it cleaned.
func (s *Server) archived(path string) (string, error) {
	if s.o.ArchiveDir == "" {
		return "", fail(errNotImplemented, "documents are not served by this server ([database] archive)")
	}
	clean, err := gofaxlib.ArchivedPath(s.o.ArchiveDir, path)
	if err != nil {
		return "", fmt.Errorf("api: %w", err)
	}
	return clean, nil
}

// negotiate picks from offer (in order of preference) the media type the
// Accept header value accept ranks highest (RFC 9110 §12.5.1: media
// ranges with q values, "*/*" and "type/*"; the most specific range that
// matches an offer gives its q; parameters other than q are ignored). No
// header, or one without a usable range, takes offer[0]; ok is false when
// accept refuses every offer.
func negotiate(accept string, offer []string) (string, bool) {
	if len(accept) > maxAccept {
		return offer[0], true
	}
	type match struct {
		q    float64
		spec int
	}
	ms := make([]match, len(offer))
	for i := range ms {
		ms[i].spec = -1
	}
	parsed := 0
	for i, rng := range strings.Split(accept, ",") {
		if i >= maxAcceptRanges {
			break
		}
		mt, q, ok := mediaRange(rng)
		if !ok {
			continue
		}
		parsed++
		for j, o := range offer {
			if sp := specificity(mt, o); sp > ms[j].spec {
				ms[j] = match{q, sp}
			}
		}
	}
	if parsed == 0 {
		return offer[0], true
	}
	best := -1
	for j := range offer {
		if ms[j].spec >= 0 && ms[j].q > 0 && (best < 0 || ms[j].q > ms[best].q) {
			best = j
		}
	}
	if best < 0 {
		return "", false
	}
	return offer[best], true
}

// mediaRange parses one element of an Accept header: "type/subtype" and
// its q parameter (default 1).
func mediaRange(s string) (string, float64, bool) {
	parts := strings.Split(s, ";")
	mt := strings.ToLower(strings.TrimSpace(parts[0]))
	typ, sub, ok := strings.Cut(mt, "/")
	if !ok || typ == "" || sub == "" || typ == "*" && sub != "*" || strings.ContainsAny(mt, " \t") {
		return "", 0, false
	}
	q := 1.0
	for _, prm := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(prm), "=")
		if !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f < 0 || f > 1 {
			return "", 0, false
		}
		q = f
	}
	return mt, q, true
}

// specificity says how media range rng matches media type mt: 2 exactly,
// 1 as "type/*", 0 as "*/*", -1 not at all.
func specificity(rng, mt string) int {
	switch {
	case rng == mt:
		return 2
	case rng == "*/*":
		return 0
	case strings.HasSuffix(rng, "/*") && strings.HasPrefix(mt, strings.TrimSuffix(rng, "*")):
		return 1
	}
	return -1
}
