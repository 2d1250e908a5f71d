package api

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// A submission in the upload directory ([web] uploaddir):
//
//	fax-<random>/          a request's documents while they arrive and are checked
//	<fax id>/              the same once the fax row exists, until HylaFAX has the job
//	<fax id>/job.json      the job (pendingJob), for Recover after a crash
//
// Only the files of a request that ended without a job, or whose job
// exists, are removed; Recover deals with what a crash left.
const (
	requestDirPrefix = "fax-"
	pendingFile      = "job.json"
	// maxPendingFile bounds reading job.json: a job's options and the
	// names of at most maxFiles documents.
	maxPendingFile = 64 << 10
	// recoverBatch is how many unsubmitted faxes Recover reads at once.
	recoverBatch = 100
)

// upload is a request's directory of documents; remove removes it once.
type upload struct {
	dir string
}

func (u *upload) remove() {
	if u.dir != "" {
		os.RemoveAll(u.dir)
		u.dir = ""
	}
}

// keep leaves the directory where it is (for Recover): remove does
// nothing after it.
func (u *upload) keep() { u.dir = "" }

// keptDir is where keepPending keeps the documents of fax id.
func (s *Server) keptDir(id string) string { return filepath.Join(s.o.UploadDir, id) }

// pendingJob is job.json: the job as the Submitter gets it, its
// documents named relative to the directory.
type pendingJob struct {
	Job gofaxlib.SubmitJob `json:"job"`
}

// keepPending moves the request's documents to <uploaddir>/<fax id> and
// writes the job next to them, so that Recover can submit the fax after
// a crash before HylaFAX had it. job's document paths follow the move. A
// power loss may lose what is not synced: Recover then checks the
// documents again and fails the fax if they are not whole.
func (s *Server) keepPending(up *upload, job *gofaxlib.SubmitJob) error {
	dst := s.keptDir(job.FaxID)
	os.RemoveAll(dst) // what an earlier, crashed submission of the fax left
	if err := os.Rename(up.dir, dst); err != nil {
		return err
	}
	up.dir = dst
	docs := make([]gofaxlib.SubmitDocument, len(job.Documents))
	for i, d := range job.Documents {
		d.Path = filepath.Join(dst, filepath.Base(d.Path))
		job.Documents[i] = d
		docs[i] = d
		docs[i].Path = filepath.Base(d.Path)
	}
	pj := pendingJob{Job: *job}
	pj.Job.Documents = docs
	b, err := json.Marshal(pj)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dst, pendingFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	if err := s.giveToSpool(tmp); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dst, pendingFile))
}

// readPending reads the job kept for fax id; its documents' paths are
// absolute.
func (s *Server) readPending(id string) (gofaxlib.SubmitJob, error) {
	dir := s.keptDir(id)
	f, err := os.Open(filepath.Join(dir, pendingFile))
	if err != nil {
		return gofaxlib.SubmitJob{}, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPendingFile+1))
	if err != nil {
		return gofaxlib.SubmitJob{}, err
	}
	if len(b) > maxPendingFile {
		return gofaxlib.SubmitJob{}, fmt.Errorf("%s: larger than %d bytes", pendingFile, maxPendingFile)
	}
	var pj pendingJob
	if err := json.Unmarshal(b, &pj); err != nil {
		return gofaxlib.SubmitJob{}, fmt.Errorf("%s: %w", pendingFile, err)
	}
	if pj.Job.FaxID != id || len(pj.Job.Documents) == 0 || len(pj.Job.Documents) > maxFiles {
		return gofaxlib.SubmitJob{}, fmt.Errorf("%s: not the job of fax %s", pendingFile, id)
	}
	for i, d := range pj.Job.Documents {
		if d.Path != filepath.Base(d.Path) || d.Path == "." || d.Path == pendingFile {
			return gofaxlib.SubmitJob{}, fmt.Errorf("%s: document name %q", pendingFile, d.Path)
		}
		pj.Job.Documents[i].Path = filepath.Join(dir, d.Path)
	}
	return pj.Job, nil
}

// newFaxID returns a random (version 4) UUID for a new fax: made here,
// not by the database, so that the fax's lock is held before its row
// exists.
func newFaxID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// faxLocks is the number of locks the faxes being submitted share.
const faxLocks = 64

// lockFax takes the lock of fax id: one submission of a fax at a time in
// this process (the request, a repetition with its Idempotency-Key,
// Recover), so that HylaFAX never gets two jobs of one fax. The faxes
// share faxLocks locks by hash.
func (s *Server) lockFax(ctx context.Context, id string) (unlock func(), err error) {
	l := s.faxLock(id)
	select {
	case l <- struct{}{}:
		return func() { <-l }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// faxLock is the lock fax id shares.
func (s *Server) faxLock(id string) chan struct{} {
	h := fnv.New32a()
	h.Write([]byte(id))
	return s.faxLocks[h.Sum32()%faxLocks]
}

// tryLockFax takes the lock of fax id if it is free (see lockFax).
func (s *Server) tryLockFax(id string) (unlock func(), ok bool) {
	l := s.faxLock(id)
	select {
	case l <- struct{}{}:
		return func() { <-l }, true
	default:
		return nil, false
	}
}

// Recover finishes on this host the submissions that a crash (or a lost
// reply and a client that did not repeat its request) left unfinished:
// every fax the API created here whose HylaFAX job is not recorded is
// looked up in HylaFAX by its fax id (the job's USRKEY) and recorded when
// found; when HylaFAX has no job of it, it is submitted from the
// documents kept under its id, or, when they are gone or not whole,
// failed with the reason. A fax whose submission a request is running
// (its lock is held) is left to it. Then the upload directory is tidied:
// what requests that ended before this server started left there is
// removed. gofaxd runs it once the database is reachable and then every
// minute, sooner again after an error (the database or hfaxd
// unreachable).
func (s *Server) Recover(ctx context.Context) error {
	if s.o.Submitter == nil {
		return nil
	}
	host := s.store.Host()
	done, skipped := map[string]bool{}, map[string]bool{}
	for {
		list, err := s.store.UnsubmittedFaxes(ctx, host, recoverBatch)
		if err != nil {
			return err
		}
		progress := false
		for i := range list {
			f := &list[i]
			if done[f.ID] {
				continue
			}
			if err := s.recoverFax(ctx, f.ID); errors.Is(err, errBusy) {
				skipped[f.ID] = true
			} else if err != nil {
				return err
			}
			done[f.ID] = true
			progress = true
		}
		if !progress {
			break
		}
	}
	s.tidyUploads(skipped)
	return nil
}

// errBusy is recoverFax's answer for a fax whose lock is held.
var errBusy = errors.New("api: the fax is being submitted")

// recoverFax finishes the submission of fax id (see Recover); a fax whose
// lock is held is left alone (errBusy).
func (s *Server) recoverFax(ctx context.Context, id string) error {
	unlock, ok := s.tryLockFax(id)
	if !ok {
		return errBusy // being submitted; the next Recover looks again
	}
	defer unlock()
	op := gofaxlib.OperatorScope()
	f, err := s.store.Fax(ctx, op, id)
	if errors.Is(err, gofaxlib.ErrNotFound) {
		return nil
	}
	if err != nil || !s.unsubmitted(&f) {
		return err
	}
	log := s.log.With("fax_id", f.ID, "tenant", f.TenantID)
	host, jobID, err := s.o.Submitter.Lookup(ctx, f.ID)
	switch {
	case err == nil:
		log.Info("api: recovery: the fax's job is in HylaFAX's queue; recorded", "job_id", jobID)
		if err := s.store.SetFaxJob(ctx, op, f.ID, host, jobID); err != nil {
			return err
		}
		os.RemoveAll(s.keptDir(f.ID))
		return nil
	case !errors.Is(err, gofaxlib.ErrNotFound):
		return err
	}
	job, err := s.readPending(f.ID)
	if err == nil {
		err = s.checkPending(ctx, &job, &f)
	}
	if err != nil {
		log.Warn("api: recovery: HylaFAX never got the fax and its documents are not kept whole: failed", "error", err)
		return s.failUnsubmitted(ctx, &f, "not sent: the server stopped before HylaFAX took the fax, and its documents were lost; send it again")
	}
	host, jobID, err = s.o.Submitter.Submit(ctx, job)
	switch {
	case err == nil:
	case errors.Is(err, gofaxlib.ErrUnavailable), errors.Is(err, gofaxlib.ErrOutcomeUnknown):
		// Kept as it is: the next Recover asks HylaFAX again.
		return err
	default:
		log.Error("api: recovery: HylaFAX refused the fax: failed", "error", err)
		return s.failUnsubmitted(ctx, &f, "not sent: HylaFAX refused the fax")
	}
	os.RemoveAll(s.keptDir(f.ID))
	log.Info("api: recovery: the fax HylaFAX never got is queued now", "job_id", jobID)
	if err := s.store.SetFaxJob(ctx, op, f.ID, host, jobID); err != nil {
		log.Error("api: recovery: recording the job failed; the queue watcher records it", "job_id", jobID, "error", err)
	}
	return nil
}

// checkPending checks the documents kept for fax f as they were checked
// when it was submitted: there, readable, with the pages counted then.
func (s *Server) checkPending(ctx context.Context, job *gofaxlib.SubmitJob, f *gofaxlib.Fax) error {
	if job.TenantID != f.TenantID || job.Owner != f.Owner || job.To != f.To || job.From != f.From {
		return errors.New("the kept job is not the fax's")
	}
	sub := &submission{docs: make([]gofaxlib.SubmitDocument, len(job.Documents))}
	copy(sub.docs, job.Documents)
	total, err := s.checkDocuments(ctx, sub)
	if err != nil {
		return err
	}
	for i, d := range sub.docs {
		if d.Pages != job.Documents[i].Pages {
			return fmt.Errorf("document %d has %d pages, had %d", i+1, d.Pages, job.Documents[i].Pages)
		}
	}
	if total != f.PagesTotal {
		return fmt.Errorf("%d pages, the fax had %d", total, f.PagesTotal)
	}
	return nil
}

// failUnsubmitted makes fax f failed for good, with why (once: the
// record id is the fax's).
func (s *Server) failUnsubmitted(ctx context.Context, f *gofaxlib.Fax, why string) error {
	nf := *f
	nf.Status, nf.ResultText, nf.Completed = gofaxlib.StatusFailed, why, time.Now()
	_, err := s.store.RecordFax(ctx, "api.unsubmitted."+f.ID, &nf)
	if err == nil {
		os.RemoveAll(s.keptDir(f.ID))
	}
	return err
}

// tidyUploads removes from the upload directory what requests that ended
// before this server started left: request directories, and fax
// directories, which no submission needs once Recover went through the
// unfinished ones (but those of the faxes in keep, which Recover left to
// a request, and of a fax a request is submitting now). Directories newer
// than the server belong to requests in progress.
func (s *Server) tidyUploads(keep map[string]bool) {
	des, err := os.ReadDir(s.o.UploadDir)
	if err != nil {
		return
	}
	for _, de := range des {
		name := de.Name()
		info, err := de.Info()
		if err != nil || !de.IsDir() || !info.ModTime().Before(s.started) {
			continue
		}
		switch {
		case strings.HasPrefix(name, requestDirPrefix):
			os.RemoveAll(filepath.Join(s.o.UploadDir, name))
		case uuidOK(name) && !keep[name]:
			// Not while a request submits the fax (it replaces the
			// directory with its own).
			if unlock, ok := s.tryLockFax(name); ok {
				os.RemoveAll(s.keptDir(name))
				unlock()
			}
		}
	}
}
