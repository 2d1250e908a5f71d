package api_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// crashedFax writes the row of a fax whose submission a crash cut short:
// queued on this host, without a HylaFAX job.
func crashedFax(t *testing.T, e *env, f *tenantFix, key string, pages int) gofaxlib.Fax {
	t.Helper()
	fx := gofaxlib.Fax{TenantID: f.tenant.ID, Direction: gofaxlib.Outbound, Status: gofaxlib.StatusQueued,
		From: f.number.Number, To: "+4989123456", UserID: f.user.ID, Owner: f.user.Username, PagesTotal: pages,
		IdempotencyKey: key}
	must(t, e.store.CreateFax(testCtx(t), gofaxlib.TenantScope(f.tenant.ID), &fx))
	return fx
}

// keptJob writes what the API keeps of a submission under the fax id:
// the documents and job.json.
func keptJob(t *testing.T, e *env, fx gofaxlib.Fax, doc []byte, pages int) {
	t.Helper()
	dir := filepath.Join(e.upload, fx.ID)
	must(t, os.Mkdir(dir, 0o750))
	must(t, os.WriteFile(filepath.Join(dir, "doc01-1.tiff"), doc, 0o600))
	job := gofaxlib.SubmitJob{FaxID: fx.ID, TenantID: fx.TenantID, Owner: fx.Owner, From: fx.From, To: fx.To,
		Expires: time.Now().Add(time.Hour), Documents: []gofaxlib.SubmitDocument{{Path: "doc01-1.tiff",
			Format: gofaxlib.FormatTIFF, Pages: pages, Size: int64(len(doc))}}}
	b, err := json.Marshal(struct {
		Job gofaxlib.SubmitJob `json:"job"`
	}{job})
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "job.json"), b, 0o600))
}

// TestSubmitResume: a request repeated with the Idempotency-Key of one
// whose submission never reached HylaFAX (gofaxd stopped between writing
// the fax and recording its job) finishes it: the job HylaFAX has of
// the fax (found by its USRKEY) is recorded, or the fax is submitted
// with the repeated request's documents, once.
func TestSubmitResume(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := makeWorld(t, e)
	tiff := readFile(t, "testdata/sent-2page-g3.tif")
	post := func(key string) response {
		return e.do(t, "POST", "/v1/faxes", w.a.userCrd, (&form{}).field("to", "+4989123456").
			field("from", w.a.number.Number).file("a.tif", "", tiff), "Idempotency-Key", key)
	}

	// HylaFAX never got it: submitted now, once.
	lost := crashedFax(t, e, &w.a, "lost", 2)
	r := post("lost")
	expect(t, "resumed", r, 202)
	var f gofaxlib.FaxResource
	r.json(t, &f)
	jobs := e.sub.submitted()
	if f.ID != lost.ID || f.HylaFAX.JobID == 0 || r.header.Get("Idempotent-Replayed") != "true" || len(jobs) != 1 ||
		jobs[0].FaxID != lost.ID {
		t.Fatalf("resumed: %s, %d jobs", r.body, len(jobs))
	}
	expect(t, "again", post("lost"), 202)
	if n := len(e.sub.submitted()); n != 1 {
		t.Errorf("a third request submitted again: %d jobs", n)
	}

	// HylaFAX has it (the crash came after JSUBM): recorded, not sent
	// again.
	queued := crashedFax(t, e, &w.a, "queued", 2)
	e.sub.mu.Lock()
	e.sub.jobs = append(e.sub.jobs, gofaxlib.SubmitJob{FaxID: queued.ID})
	e.sub.seq.Add(1)
	e.sub.mu.Unlock()
	r = post("queued")
	expect(t, "found", r, 202)
	r.json(t, &f)
	if f.HylaFAX.JobID != 2 || len(e.sub.submitted()) != 2 {
		t.Errorf("found: %s, %d jobs", r.body, len(e.sub.submitted()))
	}

	// HylaFAX cannot be asked: 503, nothing submitted.
	down := crashedFax(t, e, &w.a, "down", 2)
	e.sub.mu.Lock()
	e.sub.lookEr = gofaxlib.ErrUnavailable
	e.sub.mu.Unlock()
	r = post("down")
	expect(t, "hfaxd down", r, 503)
	if r.header.Get("Retry-After") == "" || len(e.sub.submitted()) != 2 {
		t.Errorf("hfaxd down: %v, %d jobs", r.header, len(e.sub.submitted()))
	}
	if fx, err := e.store.Fax(testCtx(t), gofaxlib.OperatorScope(), down.ID); err != nil || fx.JobID != 0 {
		t.Errorf("the fax changed: %+v, %v", fx, err)
	}
	emptyDir(t, e.upload)
}

// TestRecover: at start, gofaxd finishes the submissions a crash cut
// short: a fax whose job HylaFAX has is recorded; one HylaFAX never got
// is submitted from the documents kept under its id; one without them,
// or with a document that is not whole any more, is failed with the
// reason; what requests left in the upload directory goes.
func TestRecover(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := makeWorld(t, e)
	ctx := testCtx(t)
	tiff := readFile(t, "testdata/sent-2page-g3.tif")

	kept := crashedFax(t, e, &w.a, "", 2)
	keptJob(t, e, kept, tiff, 2)
	queued := crashedFax(t, e, &w.a, "", 2)
	e.sub.mu.Lock()
	e.sub.jobs = append(e.sub.jobs, gofaxlib.SubmitJob{FaxID: queued.ID})
	e.sub.seq.Add(1)
	e.sub.mu.Unlock()
	keptJob(t, e, queued, tiff, 2)
	bare := crashedFax(t, e, &w.b, "", 1)
	broken := crashedFax(t, e, &w.b, "", 2)
	keptJob(t, e, broken, tiff[:len(tiff)/3], 2)
	stale := filepath.Join(e.upload, "fax-123456")
	must(t, os.Mkdir(stale, 0o750))
	old := time.Now().Add(-time.Hour)
	for _, d := range []string{stale, filepath.Join(e.upload, kept.ID), filepath.Join(e.upload, queued.ID), filepath.Join(e.upload, broken.ID)} {
		must(t, os.Chtimes(d, old, old))
	}

	must(t, e.srv.Recover(ctx))
	get := func(id string) gofaxlib.Fax {
		f, err := e.store.Fax(ctx, gofaxlib.OperatorScope(), id)
		must(t, err)
		return f
	}
	jobs := e.sub.submitted()
	if len(jobs) != 2 || jobs[1].FaxID != kept.ID || len(jobs[1].Documents) != 1 || jobs[1].Documents[0].Pages != 2 {
		t.Errorf("submitted %+v", jobs)
	}
	if f := get(kept.ID); f.JobID != 2 || f.Status != gofaxlib.StatusQueued {
		t.Errorf("kept: %+v", f)
	}
	if f := get(queued.ID); f.JobID != 1 || f.Status != gofaxlib.StatusQueued {
		t.Errorf("queued: %+v", f)
	}
	for _, id := range []string{bare.ID, broken.ID} {
		if f := get(id); f.Status != gofaxlib.StatusFailed || !strings.Contains(f.ResultText, "send it again") || f.Completed.IsZero() {
			t.Errorf("not recoverable: %+v", f)
		}
	}
	emptyDir(t, e.upload)
	// Again: nothing more to do.
	must(t, e.srv.Recover(ctx))
	if n := len(e.sub.submitted()); n != 2 {
		t.Errorf("a second Recover submitted: %d jobs", n)
	}
}

// TestSubmitOutcomeUnknown: hfaxd's reply to JSUBM was lost and hfaxd
// could not be asked again. The fax is answered 202 without a job id and
// kept with its documents; the client's retry with the same
// Idempotency-Key gets the same fax and records the job HylaFAX has
// (never a second one); Recover submits a fax HylaFAX turned out not to
// have, once.
func TestSubmitOutcomeUnknown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := makeWorld(t, e)
	ctx := testCtx(t)
	tiff := readFile(t, "testdata/sent-2page-g3.tif")
	post := func(key string) response {
		return e.do(t, "POST", "/v1/faxes", w.a.userCrd, (&form{}).field("to", "+4989123456").
			field("from", w.a.number.Number).file("a.tif", "", tiff), "Idempotency-Key", key)
	}
	unknown := func(on, queues bool) {
		e.sub.mu.Lock()
		e.sub.unknown, e.sub.queues = on, queues
		e.sub.mu.Unlock()
	}
	kept := func(id string) bool {
		_, err := os.Stat(filepath.Join(e.upload, id, "job.json"))
		return err == nil
	}

	// HylaFAX queued it: the retry finds and records that job.
	unknown(true, true)
	r := post("lost-reply")
	expect(t, "unconfirmed", r, 202)
	var f gofaxlib.FaxResource
	r.json(t, &f)
	if f.Status != gofaxlib.StatusQueued || f.HylaFAX.JobID != 0 || !kept(f.ID) {
		t.Fatalf("unconfirmed: %s, kept %v", r.body, kept(f.ID))
	}
	if fx, err := e.store.Fax(ctx, gofaxlib.OperatorScope(), f.ID); err != nil || fx.JobID != 0 {
		t.Fatalf("the fax row: %+v, %v", fx, err)
	}
	unknown(false, false)
	r = post("lost-reply")
	expect(t, "retry", r, 202)
	var again gofaxlib.FaxResource
	r.json(t, &again)
	if again.ID != f.ID || again.HylaFAX.JobID != 1 || len(e.sub.submitted()) != 1 {
		t.Errorf("retry: %s, %d jobs (want the first fax with job 1, one job)", r.body, len(e.sub.submitted()))
	}

	// HylaFAX did not queue it: Recover submits it from the kept
	// documents, once.
	unknown(true, false)
	r = post("lost-and-not-queued")
	expect(t, "unconfirmed, not queued", r, 202)
	r.json(t, &f)
	if f.HylaFAX.JobID != 0 || !kept(f.ID) || len(e.sub.submitted()) != 1 {
		t.Fatalf("unconfirmed: %s, kept %v, %d jobs", r.body, kept(f.ID), len(e.sub.submitted()))
	}
	unknown(false, false)
	must(t, e.srv.Recover(ctx))
	must(t, e.srv.Recover(ctx))
	jobs := e.sub.submitted()
	if len(jobs) != 2 || jobs[1].FaxID != f.ID {
		t.Errorf("after Recover: %d jobs %+v", len(jobs), jobs)
	}
	if fx, err := e.store.Fax(ctx, gofaxlib.OperatorScope(), f.ID); err != nil || fx.JobID != 2 || fx.Status != gofaxlib.StatusQueued {
		t.Errorf("recovered fax: %+v, %v", fx, err)
	}
	emptyDir(t, e.upload)
}

// TestRecoverLeavesBusyFax: Recover (which gofaxd runs every minute)
// leaves a fax whose submission a request is running alone, its kept
// documents too, also when they are older than the server; it settles
// the fax once the request let go.
func TestRecoverLeavesBusyFax(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := makeWorld(t, e)
	ctx := testCtx(t)
	tiff := readFile(t, "testdata/sent-2page-g3.tif")
	fx := crashedFax(t, e, &w.a, "", 2)
	keptJob(t, e, fx, tiff, 2)
	old := time.Now().Add(-time.Hour)
	must(t, os.Chtimes(filepath.Join(e.upload, fx.ID), old, old))

	release := e.srv.HoldFax(fx.ID)
	must(t, e.srv.Recover(ctx))
	if n := len(e.sub.submitted()); n != 0 {
		t.Errorf("Recover submitted a fax being submitted: %d jobs", n)
	}
	if _, err := os.Stat(filepath.Join(e.upload, fx.ID, "job.json")); err != nil {
		t.Errorf("the documents of a fax being submitted were removed: %v", err)
	}
	release()
	must(t, e.srv.Recover(ctx))
	if jobs := e.sub.submitted(); len(jobs) != 1 || jobs[0].FaxID != fx.ID {
		t.Errorf("after the request let go: %+v", jobs)
	}
	emptyDir(t, e.upload)
}
