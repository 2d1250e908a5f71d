package postgres

import (
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

func TestRecordCall(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := testCtx(t)
	op := gofaxlib.OperatorScope()
	w := makeWorld(t, s)
	tenant := w.tenant[0].ID
	id := "0d2c8a3e-5b1f-4c6e-9a7d-3e2f1b0c9d8e"
	started := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

	fax := gofaxlib.Fax{ID: id, TenantID: tenant, Direction: gofaxlib.Inbound, Status: gofaxlib.StatusReceived,
		From: "+33123456789", To: w.number[0].Number, PagesTotal: 2, PagesTransferred: 2, CommID: "000000007",
		RecvqFile: "recvq/fax000000007.tif", DocumentPath: "/archive/0d/" + id + ".tif", DocumentSize: 99,
		DocumentSHA256: strings.Repeat("01", 32), Created: started, Completed: started.Add(time.Minute)}
	att := gofaxlib.Attempt{Modem: "freeswitch0", CallUUID: "5f6c0b7e-7d8a-4f3e-9b1c-2a3d4e5f6a7b", Started: started,
		Answered: started.Add(time.Second), Ended: started.Add(time.Minute), Success: true, PagesTotal: 2, PagesTransferred: 2}
	for i, want := range []bool{true, false} {
		f, a := fax, att
		applied, err := s.RecordCall(ctx, "call-1", &f, &a)
		if err != nil || applied != want {
			t.Fatalf("RecordCall #%d: %v, %v", i, applied, err)
		}
		if want && (f.Status != gofaxlib.StatusReceived || !f.Completed.Equal(started.Add(time.Minute)) || a.FaxID != id || a.Host != "test-host") {
			t.Errorf("recorded %+v\n%+v", f, a)
		}
	}
	if as, err := s.Attempts(ctx, op, id); err != nil || len(as) != 1 {
		t.Errorf("attempts %d, %v", len(as), err)
	}
	// The fax and its attempt are one transaction: a record that cannot
	// be written leaves nothing behind.
	bad := fax
	bad.ID = "1d2c8a3e-5b1f-4c6e-9a7d-3e2f1b0c9d8e"
	_, err := s.RecordCall(ctx, "call-2", &bad, &gofaxlib.Attempt{})
	wantErr(t, "attempt without start", err, gofaxlib.ErrInvalid)
	badAtt := att
	bad.TenantID = "2d2c8a3e-5b1f-4c6e-9a7d-3e2f1b0c9d8e"
	_, err = s.RecordCall(ctx, "call-3", &bad, &badAtt)
	wantErr(t, "unknown tenant", err, gofaxlib.ErrInvalid)
	if _, err := s.Fax(ctx, op, bad.ID); err == nil {
		t.Error("a failed RecordCall left its fax")
	}
	// The failed record is not marked ingested: it applies once it can.
	bad.TenantID = tenant
	if applied, err := s.RecordCall(ctx, "call-3", &bad, &badAtt); err != nil || !applied {
		t.Errorf("RecordCall after a failure: %v, %v", applied, err)
	}
	// Another tenant's record for the fax is refused, nothing changes.
	other := fax
	other.TenantID = w.tenant[1].ID
	_, err = s.RecordCall(ctx, "call-4", &other, &gofaxlib.Attempt{Started: started})
	wantErr(t, "another tenant's record", err, gofaxlib.ErrConflict)
	if as, _ := s.Attempts(ctx, op, id); len(as) != 1 {
		t.Errorf("attempts after a refused record: %d", len(as))
	}
}

func TestRecordJob(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := testCtx(t)
	op := gofaxlib.OperatorScope()
	w := makeWorld(t, s)
	tenant := w.tenant[0].ID

	// A job sendfax submitted: created once as queued.
	id := "3a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	job := gofaxlib.Fax{ID: id, TenantID: tenant, Direction: gofaxlib.Outbound, Status: gofaxlib.StatusQueued,
		To: "+33123456789", Owner: "alice", UserID: w.user[0].ID, JobID: 12}
	f := job
	if created, err := s.RecordJob(ctx, "job-1", &f); err != nil || !created || f.Status != gofaxlib.StatusQueued || f.JobID != 12 {
		t.Fatalf("RecordJob: %v, %v, %+v", created, err, f)
	}
	// Its attempt moves it on; a later sighting with the archived
	// document adds the document and keeps the status.
	sending := gofaxlib.Fax{ID: id, TenantID: tenant, Direction: gofaxlib.Outbound, Status: gofaxlib.StatusSending}
	if _, err := s.RecordFax(ctx, "att-1", &sending); err != nil {
		t.Fatal(err)
	}
	doc := job
	doc.DocumentPath, doc.DocumentSize, doc.DocumentSHA256 = "/archive/3a/"+id+".tif", 2048, strings.Repeat("cd", 32)
	doc.PagesTotal = 3
	f = doc
	if created, err := s.RecordJob(ctx, "job-1.doc", &f); err != nil || created || f.Status != gofaxlib.StatusSending ||
		f.DocumentPath != doc.DocumentPath || f.DocumentSHA256 != doc.DocumentSHA256 || f.PagesTotal != 3 {
		t.Fatalf("RecordJob with document: %v, %v, %+v", created, err, f)
	}
	// A document once known is not replaced, a record once ingested not
	// applied again.
	f = doc
	f.DocumentPath = "/elsewhere.tif"
	if _, err := s.RecordJob(ctx, "job-1.doc2", &f); err != nil || f.DocumentPath != doc.DocumentPath {
		t.Errorf("second document: %v, %+v", err, f)
	}
	f = doc
	if created, err := s.RecordJob(ctx, "job-1", &f); err != nil || created {
		t.Errorf("replayed record: %v, %v", created, err)
	}

	// The API's fax gets the job id and owner it lacks, and keeps its own
	// numbers and status.
	api := w.fax[0]
	f = gofaxlib.Fax{ID: api.ID, TenantID: tenant, Direction: gofaxlib.Outbound, Status: gofaxlib.StatusQueued,
		To: "+4930999999", Owner: "alice", JobID: 44}
	if created, err := s.RecordJob(ctx, "job-2", &f); err != nil || created || f.JobID != 44 || f.To != api.To || f.IdempotencyKey != "key-1" {
		t.Errorf("RecordJob of the API's fax: %v, %v, %+v", created, err, f)
	}
	// A user key naming another tenant's fax (a job tag chosen by a
	// sendfax user) does not reach it.
	victim := w.fax[1]
	f = gofaxlib.Fax{ID: victim.ID, TenantID: tenant, Direction: gofaxlib.Outbound, Status: gofaxlib.StatusQueued,
		Owner: "alice", JobID: 45, DocumentPath: "/evil.tif"}
	_, err := s.RecordJob(ctx, "job-3", &f)
	wantErr(t, "job naming another tenant's fax", err, gofaxlib.ErrConflict)
	if got, _ := s.Fax(ctx, op, victim.ID); got.JobID != 0 || got.DocumentPath != "" {
		t.Errorf("another tenant's fax changed: %+v", got)
	}
	// A job of an owner who is no tenant user: no tenant.
	f = gofaxlib.Fax{ID: "4a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", Direction: gofaxlib.Outbound, Status: gofaxlib.StatusDelivered,
		Owner: "root", JobID: 46, Completed: time.Now()}
	if created, err := s.RecordJob(ctx, "job-4", &f); err != nil || !created || f.TenantID != "" || f.Completed.IsZero() {
		t.Errorf("job without tenant: %v, %v, %+v", created, err, f)
	}
	if l, _, err := s.ListFaxes(ctx, gofaxlib.TenantScope(tenant), gofaxlib.FaxFilter{}); err != nil || len(l) != 2 {
		t.Errorf("tenant sees %d faxes, want its 2: %v", len(l), err)
	}
	_, err = s.RecordJob(ctx, "job-5", &gofaxlib.Fax{ID: id, Direction: gofaxlib.Inbound, Status: gofaxlib.StatusReceived})
	wantErr(t, "inbound job", err, gofaxlib.ErrInvalid)
}

func TestExpiredDocuments(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := testCtx(t)
	w := makeWorld(t, s)
	w.tenant[0].RetentionDays = 30
	must(t, s.UpdateTenant(ctx, &w.tenant[0]))
	old := time.Now().Add(-31 * 24 * time.Hour)
	ids := []string{"5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
		"7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "8a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}
	for i, f := range []gofaxlib.Fax{
		{TenantID: w.tenant[0].ID, Completed: old},                       // expired
		{TenantID: w.tenant[0].ID, Completed: time.Now()},                // young
		{TenantID: w.tenant[1].ID, Completed: old},                       // tenant keeps forever
		{TenantID: w.tenant[0].ID, Completed: old, Host: "another-host"}, // not ours
	} {
		f.ID, f.Direction, f.Status = ids[i], gofaxlib.Inbound, gofaxlib.StatusReceived
		f.Created, f.DocumentPath, f.DocumentSize = f.Completed, "/archive/"+ids[i]+".tif", 10
		if _, err := s.RecordFax(ctx, "doc-"+ids[i], &f); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.ExpiredDocuments(ctx, "test-host", 10)
	if err != nil || len(list) != 1 || list[0].ID != ids[0] {
		t.Fatalf("expired: %+v, %v", list, err)
	}
	wantErr(t, "clear another path", s.ClearDocument(ctx, ids[0], "/other"), gofaxlib.ErrNotFound)
	must(t, s.ClearDocument(ctx, ids[0], "/archive/"+ids[0]+".tif"))
	if f, _ := s.Fax(ctx, gofaxlib.OperatorScope(), ids[0]); f.DocumentPath != "" || f.DocumentSize != 0 || f.DocumentSHA256 != "" {
		t.Errorf("cleared fax %+v", f)
	}
	if list, err := s.ExpiredDocuments(ctx, "test-host", 10); err != nil || len(list) != 0 {
		t.Errorf("expired after clearing: %+v, %v", list, err)
	}
}

// TestForeignJob: a job whose user key names a fax of another owner in
// the same tenant (a sendfax user choosing that fax's id as job tag)
// changes nothing of it, whichever record tells about the job; the
// fax's own owner's records, and gofaxd's own conclusions (no owner),
// apply.
func TestForeignJob(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := testCtx(t)
	op := gofaxlib.OperatorScope()
	w := makeWorld(t, s)
	tenant := w.tenant[0].ID
	victim := w.fax[0] // alice's, queued, no job yet
	started := time.Now().Add(-time.Minute)
	job := func() gofaxlib.Fax {
		return gofaxlib.Fax{ID: victim.ID, TenantID: tenant, Direction: gofaxlib.Outbound, Status: gofaxlib.StatusQueued,
			Owner: "mallory", JobID: 66, DocumentPath: "/archive/evil.tif", DocumentSize: 1, To: "+4930666666"}
	}
	for _, tc := range []struct {
		name  string
		write func() error
	}{
		{"job seen", func() error { f := job(); _, err := s.RecordJob(ctx, "foreign-job", &f); return err }},
		{"job done", func() error {
			f := job()
			f.Status, f.Completed, f.ResultText = gofaxlib.StatusFailed, time.Now(), "evil"
			_, err := s.RecordFax(ctx, "foreign-done", &f)
			return err
		}},
		{"attempt", func() error {
			f := job()
			f.Status = gofaxlib.StatusSending
			_, err := s.RecordCall(ctx, "foreign-attempt", &f, &gofaxlib.Attempt{Started: started})
			return err
		}},
		{"sending", func() error { _, err := s.RecordSending(ctx, "foreign-sending", victim.ID, "mallory", 1); return err }},
	} {
		wantErr(t, tc.name, tc.write(), gofaxlib.ErrForeignJob)
		got, err := s.Fax(ctx, op, victim.ID)
		if err != nil || got.Status != gofaxlib.StatusQueued || got.JobID != 0 || got.Owner != "alice" ||
			got.DocumentPath != "" || got.To != victim.To || !got.Completed.IsZero() {
			t.Errorf("%s: the fax changed: %+v, %v", tc.name, got, err)
		}
		if as, _ := s.Attempts(ctx, op, victim.ID); len(as) != 1 {
			t.Errorf("%s: %d attempts, want the 1 of makeWorld", tc.name, len(as))
		}
	}
	// The refused records are not marked ingested: nothing of them is.
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM ingested_records WHERE record_id LIKE 'foreign-%'").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d refused records marked ingested, %v", n, err)
	}
	// The owner's own job applies; so does a record without owner.
	f := job()
	f.Owner = "alice"
	if _, err := s.RecordJob(ctx, "own-job", &f); err != nil || f.JobID != 66 {
		t.Errorf("the owner's job: %v, %+v", err, f)
	}
	if _, err := s.RecordSending(ctx, "own-sending", victim.ID, "alice", 2); err != nil {
		t.Errorf("the owner's call: %v", err)
	}
	done := gofaxlib.Fax{ID: victim.ID, TenantID: tenant, Direction: gofaxlib.Outbound, Status: gofaxlib.StatusFailed,
		ResultText: "reconciled", Completed: time.Now()}
	if _, err := s.RecordFax(ctx, "reconcile", &done); err != nil || done.Status != gofaxlib.StatusFailed || done.Owner != "alice" {
		t.Errorf("a record without owner: %v, %+v", err, done)
	}
}
