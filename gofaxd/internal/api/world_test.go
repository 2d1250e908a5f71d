package api_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// seq makes names and numbers unique within a test binary.
var seq atomic.Int64

func next() int64 { return seq.Add(1) }

// freshNumber returns an E.164 number no test used yet.
func freshNumber() string { return fmt.Sprintf("+4930%07d", 1000000+next()) }

// tenantFix is one tenant with one of everything: a number, a
// tenant-admin and a plain user with API keys, a webhook endpoint, a fax
// the plain user sent (queued as HylaFAX job on this host) and a
// received fax with an attempt.
type tenantFix struct {
	tenant             gofaxlib.Tenant
	number             gofaxlib.Number
	admin, user        gofaxlib.User
	adminKey, userKey  string
	userKeyID          string
	endpoint, gateway  gofaxlib.Endpoint
	faxOut, faxIn      gofaxlib.Fax
	adminCred, userCrd cred
	// eventID is the fax.received event of faxIn, delivered (pending) to
	// endpoint.
	eventID string
}

// world is two tenants, A (the caller's) and B (the other).
type world struct {
	a, b tenantFix
}

func makeWorld(t testing.TB, e *env) *world {
	t.Helper()
	return &world{a: makeTenant(t, e, "A"), b: makeTenant(t, e, "B")}
}

func makeTenant(t testing.TB, e *env, label string) tenantFix {
	t.Helper()
	ctx := testCtx(t)
	s := e.store
	op := gofaxlib.OperatorScope()
	n := next()
	var f tenantFix
	f.tenant = gofaxlib.Tenant{Name: fmt.Sprintf("Tenant %s %d", label, n)}
	must(t, s.CreateTenant(ctx, &f.tenant))
	tid := f.tenant.ID
	f.number = gofaxlib.Number{TenantID: tid, Number: freshNumber(), CallerIDName: "Fax " + label}
	must(t, s.CreateNumber(ctx, op, &f.number))
	f.admin = gofaxlib.User{TenantID: tid, Username: fmt.Sprintf("admin%s%d", label, n), Role: gofaxlib.RoleTenantAdmin}
	must(t, s.CreateUser(ctx, op, &f.admin, ""))
	f.user = gofaxlib.User{TenantID: tid, Username: fmt.Sprintf("user%s%d", label, n), Role: gofaxlib.RoleUser,
		DefaultNumberID: f.number.ID}
	must(t, s.CreateUser(ctx, op, &f.user, ""))
	var err error
	f.adminKey, _, err = s.CreateAPIKey(ctx, op, f.admin.ID, "test")
	must(t, err)
	var k gofaxlib.APIKey
	f.userKey, k, err = s.CreateAPIKey(ctx, op, f.user.ID, "test")
	must(t, err)
	f.userKeyID = k.ID
	f.adminCred, f.userCrd = bearer(f.adminKey), bearer(f.userKey)
	f.endpoint = gofaxlib.Endpoint{Scope: gofaxlib.ScopeTenant, TenantID: tid, Kind: gofaxlib.KindWebhook,
		Target: "https://example.com/hook/" + label, Enabled: true}
	must(t, s.CreateEndpoint(ctx, op, &f.endpoint))
	f.gateway = gofaxlib.Endpoint{Scope: gofaxlib.ScopeTenant, TenantID: tid, Kind: gofaxlib.KindGateway,
		Target: "carrier" + label, Enabled: true}
	must(t, s.CreateEndpoint(ctx, op, &f.gateway))
	f.faxOut = gofaxlib.Fax{TenantID: tid, Direction: gofaxlib.Outbound, Status: gofaxlib.StatusQueued,
		From: f.number.Number, To: "+4989123456", UserID: f.user.ID, Owner: f.user.Username, PagesTotal: 2}
	must(t, s.CreateFax(ctx, gofaxlib.TenantScope(tid), &f.faxOut))
	must(t, s.SetFaxJob(ctx, op, f.faxOut.ID, testHost, int(1000+n)))
	f.faxOut, err = s.Fax(ctx, op, f.faxOut.ID)
	must(t, err)
	f.faxIn = gofaxlib.Fax{ID: fmt.Sprintf("0d2a1c4e-1111-4222-8333-%012d", n), TenantID: tid, Direction: gofaxlib.Inbound,
		Status: gofaxlib.StatusReceived, From: "+33123456789", To: f.number.Number, PagesTotal: 1, PagesTransferred: 1,
		ResultText: "OK", HangupCause: "NORMAL_CLEARING", CommID: fmt.Sprintf("%09d", n),
		RecvqFile: fmt.Sprintf("recvq/fax%09d.tif", n)}
	// Its document, archived as gofaxd archives it.
	if e.archive != "" {
		f.faxIn.DocumentPath = filepath.Join(e.archive, f.faxIn.ID[:2], f.faxIn.ID+".tif")
		must(t, os.MkdirAll(filepath.Dir(f.faxIn.DocumentPath), 0o750))
		doc := readFile(t, "testdata/one-page-g4.tif")
		must(t, os.WriteFile(f.faxIn.DocumentPath, doc, 0o640))
		f.faxIn.DocumentSize = int64(len(doc))
	}
	_, err = s.RecordFax(ctx, fmt.Sprintf("rec-fax-%d", n), &f.faxIn)
	must(t, err)
	evs, _, err := s.ListEvents(ctx, gofaxlib.TenantScope(tid), gofaxlib.EventFilter{FaxID: f.faxIn.ID})
	must(t, err)
	if len(evs) != 1 || len(evs[0].Deliveries) != 1 {
		t.Fatalf("events of the received fax: %+v", evs)
	}
	f.eventID = evs[0].ID
	a := gofaxlib.Attempt{FaxID: f.faxIn.ID, Started: time.Now().Add(-time.Minute), Answered: time.Now().Add(-50 * time.Second),
		Ended: time.Now(), HangupCause: "NORMAL_CLEARING", ResultText: "OK", Success: true, PagesTotal: 1,
		PagesTransferred: 1, SignalRate: 14400, ECM: true, Modem: "freeswitch0"}
	_, err = s.RecordAttempt(ctx, fmt.Sprintf("rec-att-%d", n), &a)
	must(t, err)
	return f
}

// missingID is a well-formed id nothing has.
const missingID = "00000000-0000-4000-8000-000000000000"
