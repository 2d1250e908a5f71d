package tenancy

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/faxdoc"
)

func faxPages(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := faxdoc.Read(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return f.NumPages()
}

func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && fa.Sys().(*syscall.Stat_t).Ino == fb.Sys().(*syscall.Stat_t).Ino
}

// TestQueueJobs follows jobs through HylaFAX's queues as gofaxd sees
// them: submitted (sendfax), prepared and sent, finished without a
// notice; a job submitted through the REST API; one that was in doneq
// before gofaxd looked; one with a cover page.
func TestQueueJobs(t *testing.T) {
	t.Parallel()
	dsn := migratedDB(t)
	h := newHarness(t, dsn, "host-a", nil)
	w := makeTenants(t, h.store)
	ctx := testCtx(t)
	h.start()
	waitFor(t, "the routing", func() bool { return h.svc.fromDB.Load() })
	spool := h.spool
	get := func(id string) gofaxlib.Fax { f, _ := faxOf(t, h.store, id); return f }

	// 1. alice submits job 12 with sendfax: recorded as queued.
	id12 := gofaxlib.JobFaxID(h.svc.spoolID, 12)
	writeQfile(t, spool, "tiff-send.q", sendq, 12, map[string]string{"jobid": "12", "owner": "alice", "state": "2",
		"fax": "-", "!tiff": "-", "tiff": "0::docq/doc12.tif", "faxnumber": "030 111111"})
	copyFile(t, "fax-2page.tif", filepath.Join(spool, "docq/doc12.tif"))
	waitFor(t, "job 12 recorded", func() bool { return get(id12).Status == gofaxlib.StatusQueued })
	if f := get(id12); f.TenantID != w.acme.ID || f.UserID != w.alice.ID || f.Owner != "alice" || f.JobID != 12 ||
		f.From != "+4930111111" || f.To != "+5550101" || f.DocumentPath != "" {
		t.Errorf("submitted job: %+v", f)
	}
	// 2. faxq prepares it and runs the send program: the prepared
	// document is archived (one document: hard-linked).
	copyFile(t, "fax-2page.tif", filepath.Join(spool, "docq/doc12.tif;00"))
	writeQfile(t, spool, "tiff-send.q", sendq, 12, map[string]string{"jobid": "12", "owner": "alice", "faxnumber": "030 111111",
		"!tiff": "0::docq/doc12.tif.12", "fax": "0::docq/doc12.tif;00"})
	waitFor(t, "job 12's document", func() bool { return get(id12).DocumentPath != "" })
	f := get(id12)
	if f.Status != gofaxlib.StatusQueued || !sameFile(f.DocumentPath, filepath.Join(spool, "docq/doc12.tif;00")) ||
		f.DocumentPath != filepath.Join(spool, "archive", id12[:2], id12+".tif") || f.DocumentSize == 0 {
		t.Errorf("prepared job: %+v", f)
	}
	// 3. Done: faxq moves it to doneq and removes the prepared file; no
	// notice comes (no NotifyCmd), the qfile's state decides.
	os.Remove(filepath.Join(spool, "docq/doc12.tif;00"))
	writeQfile(t, spool, "tiff-doneq.q", doneq, 12, map[string]string{"jobid": "12", "owner": "alice", "npages": "2"})
	os.Remove(filepath.Join(spool, "sendq/q12"))
	waitFor(t, "job 12 delivered", func() bool { return get(id12).Status == gofaxlib.StatusDelivered })
	if f := get(id12); f.Completed.IsZero() || faxPages(t, f.DocumentPath) != 2 || f.PagesTransferred != 2 {
		t.Errorf("finished job: %+v", f)
	}

	// The REST API's fax: its id is the job's user key.
	api := gofaxlib.Fax{TenantID: w.bravo.ID, Direction: gofaxlib.Outbound, Status: gofaxlib.StatusQueued, From: w.bravoN.Number,
		To: "+33123456789", Owner: "bob", IdempotencyKey: "k1"}
	if err := h.store.CreateFax(ctx, gofaxlib.TenantScope(w.bravo.ID), &api); err != nil {
		t.Fatal(err)
	}
	copyFile(t, "fax-2page.tif", filepath.Join(spool, "docq/doc13.tif;00"))
	writeQfile(t, spool, "tiff-send.q", sendq, 13, map[string]string{"jobid": "13", "owner": "bob", "jobtag": api.ID,
		"fax": "1::docq/doc13.tif;00"}) // from the second page: copied, not linked
	waitFor(t, "the API's job found", func() bool { f := get(api.ID); return f.JobID == 13 && f.DocumentPath != "" })
	if f := get(api.ID); f.To != "+33123456789" || f.IdempotencyKey != "k1" || faxPages(t, f.DocumentPath) != 1 ||
		sameFile(f.DocumentPath, filepath.Join(spool, "docq/doc13.tif;00")) {
		t.Errorf("API job: %+v", f)
	}

	// A job with a cover page: two prepared documents in one archive.
	copyFile(t, "fax-2page.tif", filepath.Join(spool, "docq/cover4;00"))
	copyFile(t, "fax-2page.tif", filepath.Join(spool, "docq/doc4.tif;00"))
	id14 := gofaxlib.JobFaxID(h.svc.spoolID, 14)
	writeQfile(t, spool, "cover-send.q", sendq, 14, map[string]string{"jobid": "14", "owner": "alice"})
	waitFor(t, "the cover page job's document", func() bool { return get(id14).DocumentPath != "" })
	if n := faxPages(t, get(id14).DocumentPath); n != 4 {
		t.Errorf("cover page job archived with %d pages, want 4", n)
	}

	// A failed job of root found in doneq only (gofaxd was not running
	// while it was sent): recorded without tenant, its document archived
	// from the source as submitted.
	id15 := gofaxlib.JobFaxID(h.svc.spoolID, 15)
	copyFile(t, "fax-2page.tif", filepath.Join(spool, "docq/doc15.tif"))
	writeQfile(t, spool, "tiff-doneq.q", doneq, 15, map[string]string{"jobid": "15", "owner": "root", "state": "8",
		"status": "Busy signal detected", "!tiff": "0::docq/doc15.tif"})
	waitFor(t, "job 15 recorded", func() bool { return get(id15).Status == gofaxlib.StatusFailed })
	if f := get(id15); f.TenantID != "" || f.ResultText != "Busy signal detected" || f.DocumentPath == "" || f.JobID != 15 {
		t.Errorf("job found in doneq: %+v", f)
	}

	// Tenant isolation: Bravo's view has its API fax only.
	l, _, err := h.store.ListFaxes(ctx, gofaxlib.TenantScope(w.bravo.ID), gofaxlib.FaxFilter{})
	if err != nil || len(l) != 1 || l[0].ID != api.ID {
		t.Errorf("Bravo lists %+v, %v", l, err)
	}
	// A restart finds the jobs again and writes nothing new.
	waitFor(t, "everything ingested", func() bool { return len(h.j.Pending(Consumer)) == 0 })
	before := countRows(t, h.store, "SELECT count(*) FROM ingested_records")
	h.close()
	h.open()
	h.start()
	time.Sleep(500 * time.Millisecond)
	waitFor(t, "everything ingested", func() bool { return len(h.j.Pending(Consumer)) == 0 })
	if after := countRows(t, h.store, "SELECT count(*) FROM ingested_records"); after != before {
		t.Errorf("a restart ingested %d more records", after-before)
	}
}

func TestReconcile(t *testing.T) {
	t.Parallel()
	dsn := migratedDB(t)
	h := newHarness(t, dsn, "host-a", nil)
	w := makeTenants(t, h.store)
	ctx := testCtx(t)
	faxes := map[string]gofaxlib.Fax{
		"gone":      {Direction: gofaxlib.Outbound, Status: gofaxlib.StatusSending, JobID: 77},
		"queued":    {Direction: gofaxlib.Outbound, Status: gofaxlib.StatusQueued, JobID: 78},
		"lost":      {Direction: gofaxlib.Inbound, Status: gofaxlib.StatusReceiving, Created: time.Now().Add(-2 * time.Hour)},
		"young":     {Direction: gofaxlib.Inbound, Status: gofaxlib.StatusReceiving},
		"otherhost": {Direction: gofaxlib.Outbound, Status: gofaxlib.StatusSending, JobID: 79, Host: "host-b"},
		// Its qfile cannot be read: unknown, not gone.
		"unreadable": {Direction: gofaxlib.Outbound, Status: gofaxlib.StatusSending, JobID: 80},
	}
	ids := map[string]string{}
	for name, f := range faxes {
		f.ID, f.TenantID = newUUID(), w.acme.ID
		if f.Direction == gofaxlib.Outbound && name != "otherhost" {
			f.ID = gofaxlib.JobFaxID(h.svc.spoolID, f.JobID)
		}
		if _, err := h.store.RecordFax(ctx, "setup-"+name, &f); err != nil {
			t.Fatal(err)
		}
		ids[name] = f.ID
	}
	writeQfile(t, h.spool, "tiff-send.q", sendq, 78, map[string]string{"jobid": "78", "owner": "alice"})
	if err := os.Mkdir(filepath.Join(h.spool, sendq, "q80"), 0o755); err != nil { // reading it fails (EISDIR)
		t.Fatal(err)
	}
	suspects := map[string]bool{}
	for pass := 1; pass <= 3; pass++ {
		if err := h.svc.reconcile(ctx, suspects); err != nil {
			t.Fatal(err)
		}
		gone, _ := faxOf(t, h.store, ids["gone"])
		if final := gone.Status == gofaxlib.StatusFailed; final != (pass >= 2) {
			t.Errorf("pass %d: job gone from the queues: %s", pass, gone.Status)
		}
	}
	for name, want := range map[string]gofaxlib.FaxStatus{"queued": gofaxlib.StatusQueued, "lost": gofaxlib.StatusFailed,
		"young": gofaxlib.StatusReceiving, "otherhost": gofaxlib.StatusSending, "unreadable": gofaxlib.StatusSending} {
		if f, _ := faxOf(t, h.store, ids[name]); f.Status != want {
			t.Errorf("%s: status %s, want %s", name, f.Status, want)
		}
	}
	if f, _ := faxOf(t, h.store, ids["gone"]); f.ResultText == "" || f.Completed.IsZero() {
		t.Errorf("reconciled fax %+v", f)
	}
}

func TestPurge(t *testing.T) {
	t.Parallel()
	dsn := migratedDB(t)
	h := newHarness(t, dsn, "host-a", nil)
	w := makeTenants(t, h.store)
	ctx := testCtx(t)
	w.acme.RetentionDays = 1
	if err := h.store.UpdateTenant(ctx, &w.acme); err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{}
	for _, name := range []string{"old", "young", "outside"} {
		id := newUUID()
		src := filepath.Join(h.spool, "recvq", name+".tif")
		copyFile(t, "fax-2page.tif", src)
		doc, err := h.svc.archiveFile(id, src, ".tif", true)
		if err != nil {
			t.Fatal(err)
		}
		if name == "outside" {
			doc.Path = src // a path the purge must not touch
		}
		completed := time.Now().Add(-48 * time.Hour)
		if name == "young" {
			completed = time.Now()
		}
		f := gofaxlib.Fax{ID: id, TenantID: w.acme.ID, Direction: gofaxlib.Inbound, Status: gofaxlib.StatusReceived,
			Created: completed, Completed: completed, DocumentPath: doc.Path, DocumentSize: doc.Size, DocumentSHA256: doc.SHA256}
		if _, err := h.store.RecordFax(ctx, "purge-"+name, &f); err != nil {
			t.Fatal(err)
		}
		docs[name] = id
	}
	n, err := h.svc.purge(ctx)
	if err != nil || n != 1 {
		t.Fatalf("purge removed %d, %v", n, err)
	}
	old, _ := faxOf(t, h.store, docs["old"])
	if old.DocumentPath != "" || old.DocumentSHA256 != "" {
		t.Errorf("purged fax keeps its document: %+v", old)
	}
	if _, err := os.Stat(h.svc.archivePath(docs["old"], ".tif")); !os.IsNotExist(err) {
		t.Errorf("purged document still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(h.spool, "recvq", "old.tif")); err != nil {
		t.Errorf("the received file went with the archive's link: %v", err)
	}
	for _, name := range []string{"young", "outside"} {
		if f, _ := faxOf(t, h.store, docs[name]); f.DocumentPath == "" {
			t.Errorf("%s: document forgotten", name)
		}
	}
	if _, err := os.Stat(filepath.Join(h.spool, "recvq", "outside.tif")); err != nil {
		t.Errorf("a document outside the archive was removed: %v", err)
	}
}

// TestSendingFromQueue: a job becomes sending when gofaxsend dials
// (faxq's send program runs and has counted the call in the qfile), not
// when faxq merely starts the program; a start read after the call's own
// record, or after faxq requeued the job, changes nothing; the next call
// makes it sending again.
func TestSendingFromQueue(t *testing.T) {
	t.Parallel()
	dsn := migratedDB(t)
	h := newHarness(t, dsn, "host-a", nil)
	makeTenants(t, h.store)
	h.start()
	waitFor(t, "the routing", func() bool { return h.svc.fromDB.Load() })
	spool := h.spool
	get := func(id string) gofaxlib.Fax { f, _ := faxOf(t, h.store, id); return f }
	id := gofaxlib.JobFaxID(h.svc.spoolID, 21)
	qf := func(set map[string]string) {
		t.Helper()
		set["jobid"], set["owner"], set["faxnumber"] = "21", "alice", "030 111111"
		writeQfile(t, spool, "tiff-send.q", sendq, 21, set)
	}

	// Submitted (sendfax): queued.
	qf(map[string]string{"state": "2", "returned": "0"})
	waitFor(t, "job 21 queued", func() bool { return get(id).Status == gofaxlib.StatusQueued })
	// faxq starts the send program; gofaxsend has not dialled yet.
	qf(map[string]string{"state": "6", "returned": "7", "status": "", "totdials": "0"})
	// gofaxsend dials the first call.
	qf(map[string]string{"state": "6", "returned": "7", "status": "Dialing", "totdials": "1"})
	waitFor(t, "job 21 sending", func() bool { return get(id).Status == gofaxlib.StatusSending })
	if n := countRows(t, h.store, "SELECT count(*) FROM faxes"); n != 1 {
		t.Fatalf("%d faxes", n)
	}
	// The call ends busy and faxq requeues the job.
	ref := gofaxlib.JobRef{FaxID: id, Host: "host-a", JobID: 21, Owner: "alice", To: "+5550101", PagesTotal: 2}
	sendRecords(t, h.j.Dir(), "gofaxsend", ref, "requeued")
	waitFor(t, "job 21 retrying", func() bool { return get(id).Status == gofaxlib.StatusRetrying })
	// A start of the first call read late changes nothing.
	if !h.svc.writeJob("late-start", JobSeen{Job: ref, Queue: sendq, Status: gofaxlib.StatusSending, Attempt: 1}) {
		t.Fatal("not journaled")
	}
	waitFor(t, "the late start ingested", func() bool { return len(h.j.Pending(Consumer)) == 0 })
	if f := get(id); f.Status != gofaxlib.StatusRetrying {
		t.Errorf("a late start made the fax %s", f.Status)
	}
	// The retry: faxq starts the program again (the qfile still says
	// why the last call failed), then gofaxsend dials the second call.
	qf(map[string]string{"state": "6", "returned": "7", "status": "Busy signal detected", "totdials": "1"})
	time.Sleep(200 * time.Millisecond)
	if f := get(id); f.Status != gofaxlib.StatusRetrying {
		t.Errorf("faxq starting the send program made the fax %s", f.Status)
	}
	qf(map[string]string{"state": "6", "returned": "7", "status": "Sending 14400 bit/s, ECM", "totdials": "2"})
	waitFor(t, "job 21 sending again", func() bool { return get(id).Status == gofaxlib.StatusSending })
	sendRecords(t, h.j.Dir(), "gofaxsend", ref, "done")
	waitFor(t, "job 21 delivered", func() bool { return get(id).Status == gofaxlib.StatusDelivered })
}

// TestForeignJobTag: a user's job whose user key is another user's fax
// id (same tenant) does not touch that fax: its records are ignored,
// logged and counted, and acknowledged (not retried forever).
func TestForeignJobTag(t *testing.T) {
	t.Parallel()
	dsn := migratedDB(t)
	h := newHarness(t, dsn, "host-a", nil)
	w := makeTenants(t, h.store)
	ctx := testCtx(t)
	carol := gofaxlib.User{TenantID: w.acme.ID, Username: "carol", DefaultNumberID: w.acmeN.ID}
	if err := h.store.CreateUser(ctx, gofaxlib.OperatorScope(), &carol, ""); err != nil {
		t.Fatal(err)
	}
	h.start()
	waitFor(t, "the routing", func() bool {
		r := h.svc.routing.Load()
		if r == nil || !h.svc.fromDB.Load() {
			return false
		}
		_, _, ok := r.User("carol")
		return ok
	})
	victim := gofaxlib.Fax{TenantID: w.acme.ID, Direction: gofaxlib.Outbound, Status: gofaxlib.StatusQueued, From: w.acmeN.Number,
		To: "+33123456789", Owner: "alice", UserID: w.alice.ID, IdempotencyKey: "k1"}
	if err := h.store.CreateFax(ctx, gofaxlib.TenantScope(w.acme.ID), &victim); err != nil {
		t.Fatal(err)
	}
	copyFile(t, "fax-2page.tif", filepath.Join(h.spool, "docq/doc41.tif"))
	writeQfile(t, h.spool, "tiff-doneq.q", doneq, 41, map[string]string{"jobid": "41", "owner": "carol", "jobtag": victim.ID,
		"state": "8", "status": "forged", "!tiff": "0::docq/doc41.tif"})
	waitFor(t, "the foreign job's record", func() bool { return h.svc.ForeignJobs() > 0 })
	waitFor(t, "every record acknowledged", func() bool { return len(h.j.Pending(Consumer)) == 0 })
	if f, _ := faxOf(t, h.store, victim.ID); f.Status != gofaxlib.StatusQueued || f.JobID != 0 || f.Owner != "alice" ||
		f.ResultText != "" || !f.Completed.IsZero() {
		t.Errorf("the victim's fax changed: %+v", f)
	}
}
