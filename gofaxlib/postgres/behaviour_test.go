package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/postgres/pgtest"
)

func TestDeleteTenant(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := testCtx(t)
	op := gofaxlib.OperatorScope()
	w := makeWorld(t, s)
	a := w.tenant[0].ID

	wantErr(t, "tenant with numbers", s.DeleteTenant(ctx, a), gofaxlib.ErrTenantHasNumbers)
	// The foreign key refuses too, e.g. a delete from psql.
	if _, err := s.DB().ExecContext(ctx, "DELETE FROM tenants WHERE id = $1", a); err == nil {
		t.Error("psql delete of a tenant with numbers succeeded")
	} else {
		wantErr(t, "foreign key", mapErr("delete", err), gofaxlib.ErrTenantHasNumbers)
	}
	must(t, s.DeleteNumber(ctx, op, w.number[0].ID))
	wantErr(t, "tenant with fax history", s.DeleteTenant(ctx, a), gofaxlib.ErrTenantHasFaxes)
	if _, err := s.DB().ExecContext(ctx, "DELETE FROM tenants WHERE id = $1", a); err == nil {
		t.Error("psql delete of a tenant with faxes succeeded")
	} else {
		wantErr(t, "foreign key", mapErr("delete", err), gofaxlib.ErrTenantHasFaxes)
	}
	// Deleting the number left the user without a default and took its
	// number-scoped endpoint.
	if u, err := s.User(ctx, op, w.user[0].ID); err != nil || u.DefaultNumberID != "" {
		t.Errorf("user after number deletion: %+v, %v", u, err)
	}
	wantErr(t, "endpoint of a deleted number", func() error { _, err := s.Endpoint(ctx, op, w.endpoint[0].ID); return err }(), gofaxlib.ErrNotFound)

	// An empty tenant goes, with its users, keys and endpoints.
	empty := gofaxlib.Tenant{Name: "Empty"}
	must(t, s.CreateTenant(ctx, &empty))
	u := gofaxlib.User{TenantID: empty.ID, Username: "temp"}
	must(t, s.CreateUser(ctx, op, &u, ""))
	_, k, err := s.CreateAPIKey(ctx, op, u.ID, "")
	must(t, err)
	ep := gofaxlib.Endpoint{Scope: gofaxlib.ScopeTenant, TenantID: empty.ID, Kind: gofaxlib.KindEmail, Target: "x@example.com"}
	must(t, s.CreateEndpoint(ctx, op, &ep))
	must(t, s.DeleteTenant(ctx, empty.ID))
	var left int
	must(t, s.DB().QueryRowContext(ctx, `SELECT (SELECT count(*) FROM users WHERE id = $1) + (SELECT count(*) FROM api_keys WHERE id = $2)
		+ (SELECT count(*) FROM endpoints WHERE id = $3)`, u.ID, k.ID, ep.ID).Scan(&left))
	if left != 0 {
		t.Errorf("%d rows of the deleted tenant left", left)
	}
	wantErr(t, "deleted tenant", s.DeleteTenant(ctx, empty.ID), gofaxlib.ErrNotFound)
	wantErr(t, "malformed id", s.DeleteTenant(ctx, "42"), gofaxlib.ErrNotFound)
}

func TestUniqueE164(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := testCtx(t)
	op := gofaxlib.OperatorScope()
	var ten [2]gofaxlib.Tenant
	for i := range ten {
		ten[i] = gofaxlib.Tenant{Name: []string{"A", "B"}[i]}
		must(t, s.CreateTenant(ctx, &ten[i]))
	}
	n := gofaxlib.Number{TenantID: ten[0].ID, Number: "+49 30 123456"}
	must(t, s.CreateNumber(ctx, op, &n))
	if n.Number != "+4930123456" {
		t.Errorf("stored as %q", n.Number)
	}
	// The same number written nationally, for the other tenant.
	dup := gofaxlib.Number{TenantID: ten[1].ID, Number: "030/123456"}
	err := s.CreateNumber(ctx, op, &dup)
	var fe *gofaxlib.FieldError
	if !errors.Is(err, gofaxlib.ErrConflict) || !errors.As(err, &fe) || fe.Field != "number" {
		t.Errorf("duplicate number: %v", err)
	}
	bad := gofaxlib.Number{TenantID: ten[1].ID, Number: "011441234567890123"}
	wantErr(t, "not E.164", s.CreateNumber(ctx, op, &bad), gofaxlib.ErrInvalidNumber)
	// The table refuses what is not E.164 even from psql.
	_, err = s.DB().ExecContext(ctx, "INSERT INTO numbers (tenant_id, number) VALUES ($1, '030123457')", ten[1].ID)
	wantErr(t, "psql insert of a national number", mapErr("insert", err), gofaxlib.ErrInvalid)
	// A unique tenant name, whatever the case.
	wantErr(t, "tenant name", s.CreateTenant(ctx, &gofaxlib.Tenant{Name: "a"}), gofaxlib.ErrConflict)
	// A unique username over all tenants.
	u := gofaxlib.User{TenantID: ten[0].ID, Username: "carol"}
	must(t, s.CreateUser(ctx, op, &u, ""))
	wantErr(t, "username", s.CreateUser(ctx, op, &gofaxlib.User{TenantID: ten[1].ID, Username: "carol"}, ""), gofaxlib.ErrConflict)
	// A default number of another tenant is refused.
	v := gofaxlib.User{TenantID: ten[1].ID, Username: "dave", DefaultNumberID: n.ID}
	err = s.CreateUser(ctx, op, &v, "")
	if !errors.As(err, &fe) || fe.Field != "default_number_id" {
		t.Errorf("default number of another tenant: %v", err)
	}
	wantErr(t, "unknown tenant", s.CreateNumber(ctx, op, &gofaxlib.Number{TenantID: "00000000-0000-0000-0000-000000000000", Number: "+4930999999"}), gofaxlib.ErrInvalid)
}

func TestVerifyCredentials(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := testCtx(t)
	op := gofaxlib.OperatorScope()
	w := makeWorld(t, s)

	u, err := s.VerifyPassword(ctx, "alice", "correct horse Acme")
	if err != nil || u.ID != w.user[0].ID || u.TenantID != w.tenant[0].ID {
		t.Fatalf("right password: %+v, %v", u, err)
	}
	var hash string
	must(t, s.DB().QueryRowContext(ctx, "SELECT password_hash FROM users WHERE id = $1", u.ID).Scan(&hash))
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(hash, "correct horse") {
		t.Errorf("stored hash %q", hash)
	}
	_, wrong := s.VerifyPassword(ctx, "alice", "wrong horse")
	_, unknown := s.VerifyPassword(ctx, "mallory", "correct horse Acme")
	nopw := gofaxlib.User{TenantID: w.tenant[0].ID, Username: "nopassword"}
	must(t, s.CreateUser(ctx, op, &nopw, ""))
	_, none := s.VerifyPassword(ctx, "nopassword", "")
	for name, err := range map[string]error{"wrong password": wrong, "unknown user": unknown, "no password": none} {
		wantErr(t, name, err, gofaxlib.ErrUnauthenticated)
		if err != nil && err.Error() != wrong.Error() {
			t.Errorf("%s: %q differs from the wrong password's %q", name, err, wrong)
		}
	}
	wantErr(t, "short password", s.SetPassword(ctx, op, u.ID, "short"), gofaxlib.ErrInvalid)

	// A bcrypt hash (as pgcrypto's crypt() makes) is accepted too.
	b, _ := bcrypt.GenerateFromPassword([]byte("bcrypt password"), 4)
	_, err = s.DB().ExecContext(ctx, "UPDATE users SET password_hash = $2 WHERE id = $1", w.user[1].ID, string(b))
	must(t, err)
	if _, err := s.VerifyPassword(ctx, "bob", "bcrypt password"); err != nil {
		t.Errorf("bcrypt: %v", err)
	}
	// A hash with absurd parameters is refused, not computed.
	_, err = s.DB().ExecContext(ctx, "UPDATE users SET password_hash = '$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA' WHERE id = $1", w.user[1].ID)
	must(t, err)
	_, err = s.VerifyPassword(ctx, "bob", "bcrypt password")
	wantErr(t, "unbounded hash", err, gofaxlib.ErrUnauthenticated)

	// Suspension is told only to whoever knows the password.
	susp := w.tenant[0]
	susp.Suspended = true
	must(t, s.UpdateTenant(ctx, &susp))
	_, err = s.VerifyPassword(ctx, "alice", "correct horse Acme")
	wantErr(t, "suspended tenant", err, gofaxlib.ErrSuspended)
	_, err = s.VerifyPassword(ctx, "alice", "wrong horse")
	wantErr(t, "suspended tenant, wrong password", err, gofaxlib.ErrUnauthenticated)
	_, _, err = s.VerifyAPIKey(ctx, w.key[0])
	wantErr(t, "key of a suspended tenant", err, gofaxlib.ErrSuspended)

	// API keys: stored as SHA-256 only; wrong, malformed and revoked
	// keys are all unauthenticated.
	uk, k, err := s.VerifyAPIKey(ctx, w.key[1])
	if err != nil || uk.ID != w.user[1].ID || k.ID != w.apiKey[1].ID {
		t.Fatalf("API key: %+v %+v %v", uk, k, err)
	}
	if !strings.HasPrefix(w.key[1], k.Prefix) || len(k.Prefix) >= len(w.key[1])/2 {
		t.Errorf("prefix %q of key %q", k.Prefix, w.key[1])
	}
	var stored int
	must(t, s.DB().QueryRowContext(ctx, "SELECT count(*) FROM api_keys WHERE position($1 in prefix || encode(key_hash, 'escape')) > 0", w.key[1]).Scan(&stored))
	if stored != 0 {
		t.Error("the key is stored in clear")
	}
	keys, _, err := s.ListAPIKeys(ctx, op, w.user[1].ID, gofaxlib.Page{})
	if err != nil || len(keys) != 1 || keys[0].LastUsed.IsZero() {
		t.Errorf("last used not recorded: %+v, %v", keys, err)
	}
	flipped := []byte(w.key[1])
	flipped[len(flipped)-1] ^= 1
	for name, key := range map[string]string{"wrong": string(flipped), "malformed": "gofax_x", "empty": ""} {
		_, _, err := s.VerifyAPIKey(ctx, key)
		wantErr(t, name+" key", err, gofaxlib.ErrUnauthenticated)
	}
	must(t, s.RevokeAPIKey(ctx, op, k.ID))
	must(t, s.RevokeAPIKey(ctx, op, k.ID))
	_, _, err = s.VerifyAPIKey(ctx, w.key[1])
	wantErr(t, "revoked key", err, gofaxlib.ErrUnauthenticated)
}

func TestRecordIdempotent(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := testCtx(t)
	op := gofaxlib.OperatorScope()
	w := makeWorld(t, s)
	tenant := w.tenant[0].ID

	// A reception: the fax and its attempt, each recorded twice.
	in := gofaxlib.Fax{ID: "6f9619ff-8b86-4011-b42d-00c04fc964ff", TenantID: tenant, Direction: gofaxlib.Inbound,
		Status: gofaxlib.StatusReceiving, From: "anonymous", To: w.number[0].Number, CommID: "000000042"}
	for i, want := range []bool{true, false} {
		f := in
		applied, err := s.RecordFax(ctx, "rx-1", &f)
		if err != nil || applied != want {
			t.Fatalf("RecordFax #%d: %v, %v", i, applied, err)
		}
	}
	done := gofaxlib.Fax{ID: in.ID, TenantID: tenant, Direction: gofaxlib.Inbound, Status: gofaxlib.StatusReceived,
		PagesTotal: 2, PagesTransferred: 2, RemoteStationID: "+33 1 23", DocumentPath: "/archive/x.tif", DocumentSize: 1234,
		DocumentSHA256: strings.Repeat("ab", 32)}
	if applied, err := s.RecordFax(ctx, "rx-2", &done); err != nil || !applied {
		t.Fatalf("RecordFax done: %v, %v", applied, err)
	}
	if done.From != "anonymous" || done.CommID != "000000042" || done.Completed.IsZero() || done.PagesTransferred != 2 ||
		done.Host != "test-host" || done.DocumentSHA256 != strings.Repeat("ab", 32) {
		t.Errorf("merged fax %+v", done)
	}
	// A late record cannot undo the terminal status.
	late := gofaxlib.Fax{ID: in.ID, TenantID: tenant, Direction: gofaxlib.Inbound, Status: gofaxlib.StatusReceiving}
	if _, err := s.RecordFax(ctx, "rx-3", &late); err != nil || late.Status != gofaxlib.StatusReceived || !late.Completed.Equal(done.Completed) {
		t.Errorf("late record: %+v, %v", late, err)
	}
	// Nor move the fax to another tenant.
	moved := gofaxlib.Fax{ID: in.ID, TenantID: w.tenant[1].ID, Direction: gofaxlib.Inbound, Status: gofaxlib.StatusReceived}
	_, err := s.RecordFax(ctx, "rx-4", &moved)
	wantErr(t, "record naming another tenant", err, gofaxlib.ErrConflict)

	started := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	att := gofaxlib.Attempt{FaxID: in.ID, Modem: "freeswitch0", CallUUID: "c0ffee", Started: started,
		Answered: started.Add(time.Second), Ended: started.Add(61 * time.Second), ResultText: "OK", Success: true,
		PagesTotal: 2, PagesTransferred: 2, SignalRate: 14400, ECM: true, T38Status: "negotiated"}
	for i, want := range []bool{true, false, false} {
		a := att
		applied, err := s.RecordAttempt(ctx, "rx-att-1", &a)
		if err != nil || applied != want {
			t.Fatalf("RecordAttempt #%d: %v, %v", i, applied, err)
		}
	}
	as, err := s.Attempts(ctx, op, in.ID)
	if err != nil || len(as) != 1 {
		t.Fatalf("attempts: %d, %v", len(as), err)
	}
	if a := as[0]; !a.Started.Equal(started) || a.Duration() != time.Minute || a.Host != "test-host" || !a.ECM || a.SignalRate != 14400 {
		t.Errorf("attempt %+v", a)
	}
	var ms int64
	must(t, s.DB().QueryRowContext(ctx, "SELECT duration_ms FROM fax_attempts WHERE record_id = 'rx-att-1'").Scan(&ms))
	if ms != 60000 {
		t.Errorf("duration_ms = %d", ms)
	}
	// Concurrent ingestion of the same record (two hosts replaying one
	// journal): exactly one applies.
	var wg sync.WaitGroup
	var mu sync.Mutex
	appliedN := 0
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := att
			ok, err := s.RecordAttempt(ctx, "rx-att-2", &a)
			mu.Lock()
			defer mu.Unlock()
			if ok {
				appliedN++
			}
			if err != nil && !errors.Is(err, gofaxlib.ErrConflict) {
				t.Errorf("concurrent RecordAttempt: %v", err)
			}
		}()
	}
	wg.Wait()
	if as, _ := s.Attempts(ctx, op, in.ID); appliedN != 1 || len(as) != 2 {
		t.Errorf("concurrent ingestion applied %d times, %d attempts", appliedN, len(as))
	}
	_, err = s.RecordAttempt(ctx, "rx-att-3", &gofaxlib.Attempt{FaxID: "00000000-0000-0000-0000-000000000000", Started: started})
	wantErr(t, "attempt of an unknown fax", err, gofaxlib.ErrInvalid)

	// A send job through faxq's decisions.
	job := w.fax[0]
	must(t, s.SetFaxJob(ctx, op, job.ID, "test-host", 17))
	for i, why := range []string{"requeued", "done"} {
		st, _ := gofaxlib.StatusFromNotify(why)
		f := gofaxlib.Fax{ID: job.ID, TenantID: tenant, Direction: gofaxlib.Outbound, Status: st}
		if _, err := s.RecordFax(ctx, "notify-"+why, &f); err != nil || f.Status != st || f.JobID != 17 || f.To != job.To {
			t.Errorf("notify %d %s: %+v, %v", i, why, f, err)
		}
	}
	if un, err := s.UnfinishedFaxes(ctx, "test-host", 10); err != nil || len(un) != 1 || un[0].ID != w.fax[1].ID {
		t.Errorf("unfinished faxes: %+v, %v", un, err)
	}
	if n, err := s.PurgeIngested(ctx, time.Now().Add(time.Hour)); err != nil || n < 5 {
		t.Errorf("purge: %d, %v", n, err)
	}
}

func TestPaging(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := testCtx(t)
	const total = 7
	for i := 0; i < total; i++ {
		must(t, s.CreateTenant(ctx, &gofaxlib.Tenant{Name: string(rune('A' + i))}))
		must(t, s.CreateFax(ctx, gofaxlib.OperatorScope(), &gofaxlib.Fax{Direction: gofaxlib.Inbound, Status: gofaxlib.StatusReceived, To: "+4930123456"}))
	}
	var names []string
	cur := ""
	for pages := 0; ; pages++ {
		if pages > total {
			t.Fatal("paging does not end")
		}
		l, next, err := s.ListTenants(ctx, gofaxlib.Page{Cursor: cur, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, tn := range l {
			names = append(names, tn.Name)
		}
		if next == "" {
			break
		}
		cur = next
	}
	if strings.Join(names, "") != "ABCDEFG" {
		t.Errorf("tenants over pages: %q", names)
	}
	var faxes []gofaxlib.Fax
	cur = ""
	for {
		l, next, err := s.ListFaxes(ctx, gofaxlib.OperatorScope(), gofaxlib.FaxFilter{Direction: gofaxlib.Inbound, Page: gofaxlib.Page{Cursor: cur, Limit: 2}})
		if err != nil {
			t.Fatal(err)
		}
		faxes = append(faxes, l...)
		if next == "" {
			break
		}
		cur = next
	}
	if len(faxes) != total {
		t.Fatalf("%d faxes over pages", len(faxes))
	}
	for i := 1; i < len(faxes); i++ {
		if faxes[i].Created.After(faxes[i-1].Created) {
			t.Errorf("faxes not newest first at %d", i)
		}
	}
	_, _, err := s.ListTenants(ctx, gofaxlib.Page{Cursor: "bogus"})
	wantErr(t, "bad cursor", err, gofaxlib.ErrInvalid)
	if l, _, err := s.ListFaxes(ctx, gofaxlib.OperatorScope(), gofaxlib.FaxFilter{Status: gofaxlib.StatusFailed}); err != nil || len(l) != 0 {
		t.Errorf("status filter: %d, %v", len(l), err)
	}
}

// TestRoutingNotify edits routing data from a plain connection (as psql
// would) and waits for the watcher of a second connection to signal; then
// the snapshot has the change.
func TestRoutingNotify(t *testing.T) {
	t.Parallel()
	s, dsn := newStore(t)
	ctx := testCtx(t)
	w := s.WatchRouting(ctx, nil)
	defer w.Close()
	waitSignal(t, w, "connected")

	psql := openDB(t, dsn)
	var tid string
	start := time.Now()
	must(t, psql.QueryRowContext(ctx, "INSERT INTO tenants (name) VALUES ('From psql') RETURNING id").Scan(&tid))
	waitSignal(t, w, "tenant insert")
	t.Logf("notification %v after the commit", time.Since(start).Round(time.Millisecond))
	_, err := psql.ExecContext(ctx, "INSERT INTO numbers (tenant_id, number, ident) VALUES ($1, '+4930555555', 'CSI')", tid)
	must(t, err)
	waitSignal(t, w, "number insert")
	r, err := s.LoadRouting(ctx)
	must(t, err)
	n, tn, ok := r.Number("+4930555555")
	if !ok || tn.Name != "From psql" || n.Ident != "CSI" {
		t.Errorf("snapshot after the change: %+v %+v %v", n, tn, ok)
	}
	// Data outside routing (faxes) announces nothing.
	_, err = psql.ExecContext(ctx, "INSERT INTO faxes (direction, status, host) VALUES ('inbound', 'received', 'h')")
	must(t, err)
	select {
	case <-w.C:
		t.Error("a fax insert signalled a routing change")
	case <-time.After(200 * time.Millisecond):
	}
}

// waitSignal waits for the watcher, generously (the machine is shared);
// the notification normally arrives within milliseconds.
func waitSignal(t *testing.T, w *Watcher, what string) {
	t.Helper()
	select {
	case <-w.C:
	case <-time.After(30 * time.Second):
		t.Fatalf("no routing signal after %s", what)
	}
}

// TestRoutingNotifyReconnect restarts the cluster under a watcher: it
// signals again once reconnected (changes meanwhile were not announced).
// Not parallel: it stops the server every test of the binary uses.
func TestRoutingNotifyReconnect(t *testing.T) {
	s, dsn := newStore(t)
	ctx := testCtx(t)
	w := s.WatchRouting(ctx, nil)
	defer w.Close()
	waitSignal(t, w, "connected")
	c := pgtest.Shared(t)
	must(t, c.Stop(pgtest.Immediate))
	must(t, c.Start(ctx))
	waitSignal(t, w, "reconnect")
	psql := openDB(t, dsn)
	_, err := psql.ExecContext(ctx, "INSERT INTO tenants (name) VALUES ('after restart')")
	must(t, err)
	waitSignal(t, w, "insert after restart")
	// The pool recovers as well.
	if _, err := s.LoadRouting(ctx); err != nil {
		t.Errorf("LoadRouting after restart: %v", err)
	}
}

func TestWatcherCloseWhileDown(t *testing.T) {
	t.Parallel()
	s, err := Open(Options{DSN: "host=/nonexistent/gofax port=1 user=x dbname=x sslmode=disable"})
	must(t, err)
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	w := s.WatchRouting(ctx, nil)
	time.Sleep(50 * time.Millisecond) // let it fail a connection attempt or two
	done := make(chan struct{})
	go func() {
		w.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Close hangs while the database is unreachable")
	}
	cancel()
	wantErr(t, "ping without a server", s.Ping(context.Background()), gofaxlib.ErrUnavailable)
}

// TestDeliveryClaims checks the outbox design: two dispatchers claiming
// due deliveries at once with FOR UPDATE SKIP LOCKED get disjoint rows.
func TestDeliveryClaims(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := testCtx(t)
	w := makeWorld(t, s)
	db := s.DB()
	for i := 0; i < 10; i++ {
		var ev string
		must(t, db.QueryRowContext(ctx, `INSERT INTO events (tenant_id, fax_id, type, payload) VALUES ($1, $2, 'fax.delivered', '{}') RETURNING id`,
			w.tenant[0].ID, w.fax[0].ID).Scan(&ev))
		_, err := db.ExecContext(ctx, "INSERT INTO deliveries (event_id, endpoint_id) VALUES ($1, $2)", ev, w.endpoint[0].ID)
		must(t, err)
	}
	claim := func(host string) []string {
		tx, err := db.BeginTx(ctx, nil)
		must(t, err)
		defer tx.Rollback()
		rows, err := tx.QueryContext(ctx, `UPDATE deliveries SET attempts = attempts + 1, claimed_by = $1,
			last_attempt_at = now(), next_attempt_at = now() + interval '5 minutes'
			WHERE id IN (SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= now()
				ORDER BY next_attempt_at LIMIT 6 FOR UPDATE SKIP LOCKED) RETURNING id`, host)
		must(t, err)
		var ids []string
		for rows.Next() {
			var id string
			must(t, rows.Scan(&id))
			ids = append(ids, id)
		}
		must(t, rows.Err())
		time.Sleep(100 * time.Millisecond) // hold the locks while the other claims
		must(t, tx.Commit())
		return ids
	}
	var wg sync.WaitGroup
	got := make([][]string, 2)
	for i := range got {
		wg.Add(1)
		go func() { defer wg.Done(); got[i] = claim([]string{"h1", "h2"}[i]) }()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, ids := range got {
		for _, id := range ids {
			if seen[id] {
				t.Errorf("delivery %s claimed twice", id)
			}
			seen[id] = true
		}
	}
	if len(seen) != 10 {
		t.Errorf("%d of 10 deliveries claimed (%d + %d)", len(seen), len(got[0]), len(got[1]))
	}
	if again := claim("h3"); len(again) != 0 {
		t.Errorf("leased deliveries claimed again: %d", len(again))
	}
}

// TestAbandonFax deletes a fax the API could not submit, freeing its
// idempotency key, and nothing else.
func TestAbandonFax(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	w := makeWorld(t, s)
	ctx := testCtx(t)
	sc := gofaxlib.TenantScope(w.tenant[0].ID)
	newFax := func(key string) gofaxlib.Fax {
		f := gofaxlib.Fax{TenantID: w.tenant[0].ID, Direction: gofaxlib.Outbound, Status: gofaxlib.StatusQueued,
			From: w.number[0].Number, To: "+4989123456", IdempotencyKey: key}
		must(t, s.CreateFax(ctx, sc, &f))
		return f
	}
	f := newFax("retry-me")
	must(t, s.AbandonFax(ctx, sc, f.ID))
	if _, err := s.Fax(ctx, sc, f.ID); !errors.Is(err, gofaxlib.ErrNotFound) {
		t.Errorf("abandoned fax still there: %v", err)
	}
	again := newFax("retry-me") // the key is free
	wantErr(t, "abandon twice", s.AbandonFax(ctx, sc, f.ID), gofaxlib.ErrNotFound)

	must(t, s.SetFaxJob(ctx, sc, again.ID, "test-host", 7))
	wantErr(t, "fax with a job", s.AbandonFax(ctx, sc, again.ID), gofaxlib.ErrNotFound)
	wantErr(t, "fax with an attempt", s.AbandonFax(ctx, sc, w.fax[0].ID), gofaxlib.ErrNotFound)
	failed := newFax("failed")
	failed.Status = gofaxlib.StatusFailed
	if _, err := s.RecordFax(ctx, "rec-failed", &failed); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "failed fax", s.AbandonFax(ctx, sc, failed.ID), gofaxlib.ErrNotFound)
	wantErr(t, "not a UUID", s.AbandonFax(ctx, sc, "x"), gofaxlib.ErrNotFound)
	for _, id := range []string{again.ID, w.fax[0].ID, failed.ID} {
		if _, err := s.Fax(ctx, sc, id); err != nil {
			t.Errorf("fax %s: %v", id, err)
		}
	}
}

func TestGetAPIKey(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	w := makeWorld(t, s)
	ctx := testCtx(t)
	k, err := s.APIKey(ctx, gofaxlib.TenantScope(w.tenant[0].ID), w.apiKey[0].ID)
	if err != nil || k.ID != w.apiKey[0].ID || k.UserID != w.user[0].ID || k.Prefix != w.key[0][:len(k.Prefix)] || !k.Revoked.IsZero() {
		t.Fatalf("APIKey = %+v, %v", k, err)
	}
	must(t, s.RevokeAPIKey(ctx, gofaxlib.OperatorScope(), k.ID))
	k, err = s.APIKey(ctx, gofaxlib.OperatorScope(), k.ID)
	if err != nil || k.Revoked.IsZero() {
		t.Errorf("revoked key = %+v, %v", k, err)
	}
	_, err = s.APIKey(ctx, gofaxlib.OperatorScope(), "not-a-uuid")
	wantErr(t, "bad id", err, gofaxlib.ErrNotFound)
}

// TestFaxWithAttempts reads what Fax and Attempts read, in one statement.
func TestFaxWithAttempts(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	w := makeWorld(t, s)
	ctx := testCtx(t)
	sc := gofaxlib.TenantScope(w.tenant[0].ID)
	bare := gofaxlib.Fax{TenantID: w.tenant[0].ID, Direction: gofaxlib.Outbound, Status: gofaxlib.StatusQueued, To: "+4989123456"}
	must(t, s.CreateFax(ctx, sc, &bare))
	second := gofaxlib.Attempt{FaxID: w.fax[0].ID, Started: time.Now().Add(time.Second), Answered: time.Now().Add(2 * time.Second),
		Ended: time.Now().Add(30 * time.Second), HangupCause: "NORMAL_CLEARING", ResultCode: 49, ResultText: "The call dropped prematurely",
		PagesTotal: 2, PagesTransferred: 1, SignalRate: 9600, ECM: true, T38Status: "negotiated", RemoteStationID: "+33 1",
		Modem: "freeswitch1", CallUUID: "c0ffee00-0000-4000-8000-000000000000", Number: "+33123456789"}
	_, err := s.RecordAttempt(ctx, "rec-second", &second)
	must(t, err)
	for _, id := range []string{w.fax[0].ID, bare.ID} {
		for range 3 { // the prepared statement is used again
			f, l, err := s.FaxWithAttempts(ctx, sc, id)
			must(t, err)
			want, err := s.Fax(ctx, sc, id)
			must(t, err)
			wantL, err := s.Attempts(ctx, sc, id)
			must(t, err)
			if fmt.Sprint(f) != fmt.Sprint(want) {
				t.Errorf("fax\n got %+v\nwant %+v", f, want)
			}
			if len(l) != len(wantL) || l == nil {
				t.Fatalf("%d attempts, want %d", len(l), len(wantL))
			}
			for i := range l {
				a, b := l[i], wantL[i]
				if !a.Started.Equal(b.Started) || !a.Answered.Equal(b.Answered) || !a.Ended.Equal(b.Ended) {
					t.Errorf("attempt %d times %v %v %v, want %v %v %v", i, a.Started, a.Answered, a.Ended, b.Started, b.Answered, b.Ended)
				}
				a.Started, a.Answered, a.Ended, b.Started, b.Answered, b.Ended = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
				if a != b {
					t.Errorf("attempt %d\n got %+v\nwant %+v", i, a, b)
				}
			}
		}
	}
	if len(mustAttempts(t, s, sc, w.fax[0].ID)) != 2 {
		t.Error("the fax should have two attempts")
	}
	_, _, err = s.FaxWithAttempts(ctx, sc, "0d2a1c4e-0000-4000-8000-000000000000")
	wantErr(t, "missing", err, gofaxlib.ErrNotFound)
	_, _, err = s.FaxWithAttempts(ctx, sc, "x")
	wantErr(t, "not a UUID", err, gofaxlib.ErrNotFound)
}

func mustAttempts(t *testing.T, s *Store, sc gofaxlib.Scope, id string) []gofaxlib.Attempt {
	l, err := s.Attempts(testCtx(t), sc, id)
	must(t, err)
	return l
}

// TestUnstorableText: text PostgreSQL cannot take (NUL, invalid UTF-8) is
// the caller's mistake (ErrInvalid), and as a username it is an unknown
// user like any other.
func TestUnstorableText(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	w := makeWorld(t, s)
	ctx := testCtx(t)
	for _, v := range []string{"a\x00b", "\xff\xfe"} {
		_, err := s.NumberByE164(ctx, gofaxlib.OperatorScope(), v)
		wantErr(t, fmt.Sprintf("NumberByE164(%q)", v), err, gofaxlib.ErrInvalid)
		_, _, err = s.ListFaxes(ctx, gofaxlib.OperatorScope(), gofaxlib.FaxFilter{From: v})
		wantErr(t, fmt.Sprintf("ListFaxes from %q", v), err, gofaxlib.ErrInvalid)
		_, err = s.VerifyPassword(ctx, v, "correct horse Acme")
		wantErr(t, fmt.Sprintf("VerifyPassword(%q)", v), err, gofaxlib.ErrUnauthenticated)
		_, err = s.VerifyPassword(ctx, w.user[0].Username+v, "correct horse Acme")
		wantErr(t, fmt.Sprintf("VerifyPassword(alice%q)", v), err, gofaxlib.ErrUnauthenticated)
	}
}

// TestRoutingNotifyFirstChange: a change right after the watcher's first
// signal is announced (the signal comes once the LISTEN is in place, not
// when the connection is). Repeated, since the window is small.
func TestRoutingNotifyFirstChange(t *testing.T) {
	t.Parallel()
	s, dsn := newStore(t)
	ctx := testCtx(t)
	psql := openDB(t, dsn)
	for i := range 20 {
		w := s.WatchRouting(ctx, nil)
		waitSignal(t, w, "connected")
		_, err := psql.ExecContext(ctx, "INSERT INTO tenants (name) VALUES ($1)", fmt.Sprintf("First change %d", i))
		must(t, err)
		waitSignal(t, w, fmt.Sprintf("the first change (try %d)", i))
		w.Close()
	}
}
