package tenancy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/receive"
	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/journal"
	"github.com/gofaxserver/gofaxserver/gofaxlib/postgres"
	"github.com/gofaxserver/gofaxserver/gofaxlib/postgres/pgtest"
)

func itoa(i int) string { return strconv.Itoa(i) }

// reception returns the records of one reception of commid to number
// e164 of tenant (tenantID "" for none), as gofaxd's receive package
// writes them, and makes its recvq file.
func reception(t *testing.T, spool string, commid int, faxID, e164, tenantID, tenantName string) []journal.Record {
	t.Helper()
	file := fmt.Sprintf("recvq/fax%09d.tif", commid)
	copyFile(t, "fax-2page.tif", filepath.Join(spool, file))
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(commid) * time.Minute)
	r := receive.Reception{Host: "ignored", UUID: fmt.Sprintf("5f6c0b7e-7d8a-4f3e-9b1c-%012d", commid),
		CommID: fmt.Sprintf("%09d", commid), File: file, Modem: "freeswitch0", Start: start, CallerNumber: "+33 1 23 45 67 89",
		CallerName: "Sender", Recipient: e164, FaxID: faxID, CalledNumber: e164, TenantID: tenantID, TenantName: tenantName}
	startRec, err := journal.NewRecord(receive.KindRecvStart, r)
	if err != nil {
		t.Fatal(err)
	}
	done, err := journal.NewRecord(receive.KindRecvDone, receive.Received{Reception: r, End: start.Add(time.Minute),
		Hangup: start.Add(time.Minute), Pages: 2, Class: receive.ClassReceived, RemoteID: "+33 1 23", HangupCause: "NORMAL_CLEARING",
		TransferRate: 14400, ECM: true, T38: "negotiated", Faxrcvd: true, Answered: start.Add(time.Second), TotalPages: 2,
		ResultText: "OK"})
	if err != nil {
		t.Fatal(err)
	}
	done.ID = startRec.ID + ".done"
	return []journal.Record{startRec, done}
}

func newFaxID(t *testing.T) string {
	t.Helper()
	return newUUID()
}

func faxOf(t *testing.T, s *postgres.Store, id string) (gofaxlib.Fax, bool) {
	t.Helper()
	f, err := s.Fax(context.Background(), gofaxlib.OperatorScope(), id)
	return f, err == nil
}

func countRows(t *testing.T, s *postgres.Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestIngestReception(t *testing.T) {
	t.Parallel()
	dsn := migratedDB(t)
	h := newHarness(t, dsn, "host-a", nil)
	w := makeTenants(t, h.store)
	id := newFaxID(t)
	recs := reception(t, h.spool, 7, id, w.acmeN.Number, w.acme.ID, "Acme")
	if err := h.j.Append(context.Background(), recs...); err != nil {
		t.Fatal(err)
	}
	h.start()
	var f gofaxlib.Fax
	waitFor(t, "the received fax's row", func() bool {
		var ok bool
		f, ok = faxOf(t, h.store, id)
		return ok && f.Status == gofaxlib.StatusReceived
	})
	if f.TenantID != w.acme.ID || f.Direction != gofaxlib.Inbound || f.From != "+33123456789" || f.To != "+4930111111" ||
		f.PagesTotal != 2 || f.PagesTransferred != 2 || f.Host != "host-a" || f.CommID != "000000007" ||
		f.RecvqFile != "recvq/fax000000007.tif" || f.RemoteStationID != "+33 1 23" || f.Completed.IsZero() {
		t.Errorf("fax row %+v", f)
	}
	// The document is archived under the fax id, hard-linked, with its
	// size and SHA-256.
	want := filepath.Join(h.spool, "archive", id[:2], id+".tif")
	if f.DocumentPath != want {
		t.Errorf("document path %q, want %q", f.DocumentPath, want)
	}
	src, _ := os.ReadFile(filepath.Join(h.spool, "recvq/fax000000007.tif"))
	sum := sha256.Sum256(src)
	if f.DocumentSize != int64(len(src)) || f.DocumentSHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("document size %d sha %s, want %d %x", f.DocumentSize, f.DocumentSHA256, len(src), sum)
	}
	a, _ := os.Stat(want)
	b, _ := os.Stat(filepath.Join(h.spool, "recvq/fax000000007.tif"))
	if a == nil || b == nil || a.Sys().(*syscall.Stat_t).Ino != b.Sys().(*syscall.Stat_t).Ino {
		t.Error("the archived document is not a hard link of the received file")
	}
	as, err := h.store.Attempts(context.Background(), gofaxlib.OperatorScope(), id)
	if err != nil || len(as) != 1 {
		t.Fatalf("attempts %d, %v", len(as), err)
	}
	if at := as[0]; at.CallUUID == "" || at.Modem != "freeswitch0" || at.Number != "+4930111111" || !at.Success ||
		at.SignalRate != 14400 || !at.ECM || at.T38Status != "negotiated" || at.Duration() != 59*time.Second || at.Host != "host-a" {
		t.Errorf("attempt %+v", at)
	}
	// Acknowledged: nothing pending; a restart ingests nothing again.
	waitFor(t, "the records acknowledged", func() bool { return len(h.j.Pending(Consumer)) == 0 })
	// Ingesting the same records again (a lost acknowledgement) changes
	// nothing.
	for _, rec := range recs {
		if err := h.svc.prepare(rec).write(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := countRows(t, h.store, "SELECT count(*) FROM fax_attempts"); n != 1 {
		t.Errorf("%d attempts after replaying the records", n)
	}
	// Tenant isolation: Bravo sees nothing of it.
	if _, err := h.store.Fax(context.Background(), gofaxlib.TenantScope(w.bravo.ID), id); err == nil {
		t.Error("another tenant sees the fax")
	}
	if l, _, _ := h.store.ListFaxes(context.Background(), gofaxlib.TenantScope(w.bravo.ID), gofaxlib.FaxFilter{}); len(l) != 0 {
		t.Errorf("another tenant lists %d faxes", len(l))
	}
}

// sendRecords writes, as gofaxsend and its NotifyCmd mode do (a writer
// of their own), an attempt and faxq's notices for job id.
func sendRecords(t *testing.T, dir, writer string, ref gofaxlib.JobRef, whys ...string) []journal.Record {
	t.Helper()
	w, err := journal.OpenWriter(dir, journal.WriterOptions{Name: writer})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	start := time.Now().Add(-time.Minute).UTC()
	att, err := journal.NewRecord(gofaxlib.RecordSendAttempt, gofaxlib.SendAttempt{Job: ref, Attempt: gofaxlib.Attempt{
		Modem: "freeswitch0", CallUUID: "7f6c0b7e-7d8a-4f3e-9b1c-2a3d4e5f6a7b", Gateway: "carrier", Number: ref.To,
		Started: start, Answered: start.Add(time.Second), Ended: start.Add(30 * time.Second), HangupCause: "NORMAL_CLEARING",
		ResultText: "OK", Success: true, PagesTotal: 1, PagesTransferred: 1, SignalRate: 14400}})
	if err != nil {
		t.Fatal(err)
	}
	recs := []journal.Record{att}
	for _, why := range whys {
		n, err := journal.NewRecord(gofaxlib.RecordJobNotice, gofaxlib.JobNotice{Job: ref, Why: why, Time: time.Now().UTC(),
			PagesTransferred: 1, Status: "why " + why})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, n)
	}
	if err := w.Append(context.Background(), recs...); err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestIngestSendRecords(t *testing.T) {
	t.Parallel()
	dsn := migratedDB(t)
	h := newHarness(t, dsn, "host-a", nil)
	w := makeTenants(t, h.store)
	h.start()
	// Wait for the routing (alice's tenant comes from it).
	waitFor(t, "the routing", func() bool { return h.svc.fromDB.Load() })

	cases := []struct {
		owner, tenant string
		whys          []string
		want          gofaxlib.FaxStatus
	}{
		{"alice", w.acme.ID, []string{"requeued", "done"}, gofaxlib.StatusDelivered},
		{"bob", w.bravo.ID, []string{"killed"}, gofaxlib.StatusCanceled},
		{"alice", w.acme.ID, []string{"requeued"}, gofaxlib.StatusRetrying},
		{"root", "", []string{"failed"}, gofaxlib.StatusFailed},                    // an owner who is no tenant user
		{"alice", w.acme.ID, []string{"done", "failed"}, gofaxlib.StatusDelivered}, // final once
	}
	ids := make([]string, len(cases))
	start := time.Now()
	for i, tc := range cases {
		ids[i] = gofaxlib.JobFaxID(h.svc.spoolID, 100+i)
		ref := gofaxlib.JobRef{FaxID: ids[i], Host: "gofaxsend-host", JobID: 100 + i, Owner: tc.owner, TenantID: tc.tenant,
			From: "+4930111111", To: "+33123456789", PagesTotal: 1}
		sendRecords(t, h.j.Dir(), "gofaxsend", ref, tc.whys...)
	}
	for i, tc := range cases {
		var f gofaxlib.Fax
		waitFor(t, "job "+itoa(100+i), func() bool {
			var ok bool
			f, ok = faxOf(t, h.store, ids[i])
			return ok && f.Status == tc.want
		})
		if i == 0 {
			t.Logf("first job's records in the database %v after gofaxsend wrote them", time.Since(start))
		}
		if f.TenantID != tc.tenant || f.Owner != tc.owner || f.JobID != 100+i || f.Host != "host-a" || f.To != "+33123456789" ||
			f.Direction != gofaxlib.Outbound {
			t.Errorf("job %d: fax %+v", 100+i, f)
		}
		if tc.owner == "alice" && f.UserID != w.alice.ID {
			t.Errorf("job %d: user %q, want alice's", 100+i, f.UserID)
		}
		if tc.want.Terminal() != !f.Completed.IsZero() {
			t.Errorf("job %d: status %s completed %v", 100+i, f.Status, f.Completed)
		}
	}
	waitFor(t, "every record ingested", func() bool { return len(h.j.Pending(Consumer)) == 0 })
	if n := countRows(t, h.store, "SELECT count(*) FROM fax_attempts"); n != len(cases) {
		t.Errorf("%d attempts, want %d", n, len(cases))
	}
	if f, _ := faxOf(t, h.store, ids[1]); f.ResultText != "why killed" {
		t.Errorf("canceled job's result %q", f.ResultText)
	}
	// A record naming another tenant's fax is refused, not applied.
	ref := gofaxlib.JobRef{FaxID: ids[1], JobID: 200, Owner: "alice", TenantID: w.acme.ID, To: "+33123456789"}
	sendRecords(t, h.j.Dir(), "gofaxsend", ref, "done")
	waitFor(t, "the refused records dealt with", func() bool { return len(h.j.Pending(Consumer)) == 0 })
	if f, _ := faxOf(t, h.store, ids[1]); f.TenantID != w.bravo.ID || f.Status != gofaxlib.StatusCanceled || f.JobID != 101 {
		t.Errorf("another tenant's record changed the fax: %+v", f)
	}
}

// TestDatabaseKilled stops PostgreSQL as a crash would (immediate) with
// receptions and send records going on, then starts it again: every
// record arrives, exactly once. It stops the shared cluster, so it does
// not run in parallel with other tests of this package.
func TestDatabaseKilled(t *testing.T) {
	dsn := migratedDB(t)
	h := newHarness(t, dsn, "host-a", nil)
	w := makeTenants(t, h.store)
	h.start()
	waitFor(t, "the routing", func() bool { return h.svc.fromDB.Load() })
	cluster := pgtest.Shared(t)
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			cluster.Start(context.Background())
		}
	})

	const receptions, jobs = 200, 50
	var ids []string
	write := func(from, to int) {
		for i := from; i < to; i++ {
			id := newUUID()
			ids = append(ids, id)
			if err := h.j.Append(context.Background(), reception(t, h.spool, 1000+i, id, w.acmeN.Number, w.acme.ID, "Acme")...); err != nil {
				t.Fatal(err)
			}
		}
	}
	writeJobs := func(from, to int) {
		for i := from; i < to; i++ {
			id := gofaxlib.JobFaxID(h.svc.spoolID, 500+i)
			ids = append(ids, id)
			sendRecords(t, h.j.Dir(), "gofaxsend", gofaxlib.JobRef{FaxID: id, JobID: 500 + i, Owner: "bob", TenantID: w.bravo.ID,
				To: "+33123456789"}, "requeued", "done")
		}
	}
	// Some go in while the database is up, the database dies in the
	// middle of ingesting them, more come while it is down.
	write(0, receptions/2)
	writeJobs(0, jobs/2)
	waitFor(t, "the first rows", func() bool { return countRows(t, h.store, "SELECT count(*) FROM faxes") > 0 })
	if err := cluster.Stop(pgtest.Immediate); err != nil {
		t.Fatal(err)
	}
	write(receptions/2, receptions)
	writeJobs(jobs/2, jobs)
	waitFor(t, "the outage noticed", func() bool { return h.svc.Health() != nil })
	t.Logf("while down: %v", h.svc.Health())
	// Calls are still routed (the cache).
	if r := h.svc.Route("030 111111"); r.TenantID != w.acme.ID {
		t.Errorf("routing while the database is down: %+v", r)
	}
	time.Sleep(time.Second) // a few failed tries
	if err := cluster.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	restarted = true
	took := waitFor(t, "every record ingested", func() bool { return len(h.j.Pending(Consumer)) == 0 && h.svc.Health() == nil })
	t.Logf("backlog ingested %v after the restart", took)
	if n := countRows(t, h.store, "SELECT count(*) FROM faxes"); n != receptions+jobs {
		t.Errorf("%d faxes, want %d", n, receptions+jobs)
	}
	if n := countRows(t, h.store, "SELECT count(*) FROM fax_attempts"); n != receptions+jobs {
		t.Errorf("%d attempts, want %d (exactly one a call)", n, receptions+jobs)
	}
	if n := countRows(t, h.store, "SELECT count(*) FROM faxes WHERE status IN ('received', 'delivered') AND completed_at IS NOT NULL"); n != receptions+jobs {
		t.Errorf("%d final faxes, want %d", n, receptions+jobs)
	}
	for _, id := range ids {
		if _, ok := faxOf(t, h.store, id); !ok {
			t.Errorf("fax %s missing", id)
		}
	}
}
