package job

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl/esltest"
	"github.com/gofaxserver/gofaxserver/gofaxlib/journal"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/outcome"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/record"
)

// testPlan is the numbering plan of the tenant tests: Germany.
var testPlan = gofaxlib.NumberPlan{CountryCode: "49", NationalPrefix: "0", InternationalPrefix: "00"}

// testRouting has tenant ACME (numbers +4930111 with its own identity,
// +4930222 plain, +4930333 suspended; users alice with default number
// +4930111, bob without one, carol suspended), tenant Other (+4940999,
// user olga) and suspended tenant Gone (user gus). Gateways: ACME's
// number +4930111 has two of its own (gw-a1 dialled +E.164, gw-a2
// nationally, in that priority order), ACME has a tenant one (gw-t,
// 00-international), and there is a global one (gw-g) that only Other
// uses.
func testRouting() *gofaxlib.Routing {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tenants := []gofaxlib.Tenant{
		{ID: "t-acme", Name: "ACME"},
		{ID: "t-other", Name: "Other"},
		{ID: "t-gone", Name: "Gone", Suspended: true},
	}
	numbers := []gofaxlib.Number{
		{ID: "n-111", TenantID: "t-acme", Number: "+4930111", CallerIDName: "ACME Sales", Header: "ACME Sales Dept", Ident: "+49 30 111"},
		{ID: "n-222", TenantID: "t-acme", Number: "+4930222"},
		{ID: "n-333", TenantID: "t-acme", Number: "+4930333", Suspended: true},
		{ID: "n-999", TenantID: "t-other", Number: "+4940999"},
		{ID: "n-gone", TenantID: "t-gone", Number: "+4950555"},
	}
	users := []gofaxlib.User{
		{ID: "u-alice", TenantID: "t-acme", Username: "alice", DefaultNumberID: "n-111"},
		{ID: "u-bob", TenantID: "t-acme", Username: "bob"},
		{ID: "u-carol", TenantID: "t-acme", Username: "carol", Suspended: true, DefaultNumberID: "n-111"},
		{ID: "u-olga", TenantID: "t-other", Username: "olga", DefaultNumberID: "n-999"},
		{ID: "u-gus", TenantID: "t-gone", Username: "gus", DefaultNumberID: "n-gone"},
		{ID: "u-lost", TenantID: "t-missing", Username: "lost"},
	}
	gw := func(id string, scope gofaxlib.EndpointScope, tenant, number, target string, prio int, dial gofaxlib.DialFormat) gofaxlib.Endpoint {
		return gofaxlib.Endpoint{ID: id, Scope: scope, TenantID: tenant, NumberID: number, Kind: gofaxlib.KindGateway,
			Target: target, Priority: prio, Enabled: true, Options: gofaxlib.EndpointOptions{Dial: dial}, Created: at}
	}
	endpoints := []gofaxlib.Endpoint{
		gw("e-a2", gofaxlib.ScopeNumber, "t-acme", "n-111", "gw-a2", 20, gofaxlib.DialNational),
		gw("e-a1", gofaxlib.ScopeNumber, "t-acme", "n-111", "gw-a1", 10, ""),
		gw("e-off", gofaxlib.ScopeNumber, "t-acme", "n-111", "gw-off", 5, gofaxlib.DialE164),
		gw("e-t", gofaxlib.ScopeTenant, "t-acme", "", "gw-t", 1, gofaxlib.DialInternational),
		gw("e-g", gofaxlib.ScopeGlobal, "", "", "gw-g", 1, gofaxlib.DialDigits),
		{ID: "e-hook", Scope: gofaxlib.ScopeTenant, TenantID: "t-acme", Kind: gofaxlib.KindWebhook, Target: "https://example.com/", Enabled: true},
	}
	endpoints[2].Enabled = false
	return gofaxlib.NewRouting(at, tenants, numbers, users, endpoints)
}

// TestTenantSender is the calling-number table of the README for jobs of
// tenant users: DynamicConfig > JobControl > the job's faxnumber > the
// user's default number, the first one set wins and must be one of the
// tenant's numbers; [gofaxsend] faxnumber never counts for them.
func TestTenantSender(t *testing.T) {
	rt := testRouting()
	tests := []struct {
		name   string
		owner  string
		src    numberSources
		number string // the calling number chosen; "" = no tenant job
		source string
		status outcome.Status // when refused
		text   string         // part of the refusal
	}{
		{name: "no tenant user", owner: "root", src: numberSources{Default: "4711"}},
		{name: "user's default", owner: "alice", src: numberSources{Default: "4711"}, number: "+4930111", source: fromUserDefault},
		{name: "job's faxnumber", owner: "alice", src: numberSources{Job: "030 222", Default: "4711"}, number: "+4930222", source: fromJob},
		{name: "JobControl over job", owner: "alice", src: numberSources{JobControl: "+49 30 222", Job: "030111"}, number: "+4930222", source: fromJobControl},
		{name: "DynamicConfig over all", owner: "alice", src: numberSources{DynamicConfig: "0049 30 111", JobControl: "+4930222", Job: "030222"}, number: "+4930111", source: fromDynamicConfig},
		{name: "blank sources are not set", owner: "alice", src: numberSources{DynamicConfig: " ", Job: "030222"}, number: "+4930222", source: fromJob},
		{name: "the first set must be the tenant's", owner: "alice", src: numberSources{JobControl: "+4940999", Job: "030222"},
			status: outcome.Failed, text: `Calling number +4940999 (JobControl FAXNumber) is not a number of tenant "ACME"`},
		{name: "unknown number", owner: "alice", src: numberSources{Job: "+4930444"}, status: outcome.Failed, text: "is not a number of tenant"},
		{name: "not a telephone number", owner: "alice", src: numberSources{Job: "ACME"}, status: outcome.Failed, text: `Calling number "ACME" (the job's faxnumber) is not a telephone number`},
		{name: "suspended number", owner: "alice", src: numberSources{Job: "+4930333"}, status: outcome.Failed, text: "Calling number +4930333 of tenant \"ACME\" is suspended"},
		{name: "no default, none set", owner: "bob", src: numberSources{Default: "4711"}, status: outcome.Failed, text: `user "bob" has no default number`},
		{name: "other tenant's user", owner: "olga", number: "+4940999", source: fromUserDefault},
		{name: "suspended user", owner: "carol", status: outcome.Failed, text: `User "carol" of tenant "ACME" is suspended`},
		{name: "suspended tenant", owner: "gus", status: outcome.Failed, text: `Tenant "Gone" is suspended`},
		{name: "user without tenant in the snapshot", owner: "lost", status: outcome.Retry, text: "has no tenant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, res, ok := tenantSender(rt, testPlan, tt.owner, tt.src)
			if tt.text != "" {
				if ok || res.Status != tt.status || !strings.Contains(res.Text, tt.text) {
					t.Fatalf("ok %v, result %+v; want %v with %q", ok, res, tt.status, tt.text)
				}
				if tt.status == outcome.Failed && res.Code != outcome.CodeRejected {
					t.Errorf("code %d", res.Code)
				}
				return
			}
			if !ok {
				t.Fatalf("refused: %+v", res)
			}
			switch {
			case tt.number == "" && s != nil:
				t.Errorf("tenant job %+v, want none", s)
			case tt.number != "" && (s == nil || s.number.Number != tt.number || s.source != tt.source):
				t.Errorf("sender %+v, want %s from %s", s, tt.number, tt.source)
			}
		})
	}
}

// TestEndpointRoutes: each gateway endpoint dials the destination and
// presents the caller ID in its own format.
func TestEndpointRoutes(t *testing.T) {
	rt := testRouting()
	n, _, _ := rt.Number("+4930111")
	routes, res, ok := endpointRoutes(testPlan, rt.Gateways(n), "+4940123456", "+4930111")
	want := []route{{"gw-a1", "+4940123456", "+4930111"}, {"gw-a2", "040123456", "030111"}}
	if !ok || !slices.Equal(routes, want) {
		t.Errorf("number scope: %v %+v, want %+v", ok, routes, want)
	}
	n, _, _ = rt.Number("+4930222")
	routes, _, _ = endpointRoutes(testPlan, rt.Gateways(n), "+441234567890", "+4930222")
	if want := []route{{"gw-t", "00441234567890", "004930222"}}; !slices.Equal(routes, want) {
		t.Errorf("tenant scope: %+v, want %+v", routes, want)
	}
	n, _, _ = rt.Number("+4940999")
	routes, _, _ = endpointRoutes(testPlan, rt.Gateways(n), "+441234567890", "+4940999")
	if want := []route{{"gw-g", "441234567890", "4940999"}}; !slices.Equal(routes, want) {
		t.Errorf("global: %+v, want %+v", routes, want)
	}
	// A plan without an international prefix cannot write 00…: the
	// operator's to fix, so the job is retried.
	n, _, _ = rt.Number("+4930222")
	_, res, ok = endpointRoutes(gofaxlib.NumberPlan{CountryCode: "49", NationalPrefix: "0"}, rt.Gateways(n), "+441234567890", "+4930222")
	if ok || res.Status != outcome.Retry || !strings.Contains(res.Text, `Gateway "gw-t" cannot dial +441234567890`) {
		t.Errorf("no international prefix: %v %+v", ok, res)
	}
}

// tenantFixture is a fixture with [database] configured and the routing
// snapshot of testRouting in the spool.
func tenantFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, esltest.Options{})
	f.cfg.Database.Enabled = true
	f.cfg.Database.Hostname = "host-a"
	f.cfg.FreeSWITCH.CountryCode = testPlan.CountryCode
	f.cfg.FreeSWITCH.NationalPrefix = testPlan.NationalPrefix
	f.cfg.FreeSWITCH.InternationalPrefix = testPlan.InternationalPrefix
	f.writeRouting(testRouting())
	return f
}

// writeRouting writes rt as gofaxd's routing snapshot.
func (f *fixture) writeRouting(rt *gofaxlib.Routing) {
	f.t.Helper()
	b, err := json.Marshal(rt)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(f.spool, "gofax"), 0o700); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.spool, record.RoutingFile), b, 0o640); err != nil {
		f.t.Fatal(err)
	}
}

// journalRecords decodes every record of the spool journal's segments, in
// the order written.
func journalRecords(t *testing.T, spool string) []journal.Record {
	t.Helper()
	segs, _ := filepath.Glob(filepath.Join(spool, record.JournalDir, "*.jnl"))
	slices.Sort(segs) // named by creation time
	var recs []journal.Record
	for _, seg := range segs {
		fh, err := os.Open(seg)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, journal.MaxRecordSize)
		for sc.Scan() {
			rec, err := journal.Decode(sc.Bytes())
			if err != nil {
				t.Errorf("%s: %v", seg, err)
				continue
			}
			recs = append(recs, rec)
		}
		fh.Close()
	}
	return recs
}

// attempts returns the send.attempt records of the spool journal.
func attempts(t *testing.T, spool string) []gofaxlib.SendAttempt {
	t.Helper()
	var out []gofaxlib.SendAttempt
	for _, rec := range journalRecords(t, spool) {
		if rec.Kind != gofaxlib.RecordSendAttempt {
			continue
		}
		var a gofaxlib.SendAttempt
		if err := rec.Decode(&a); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

// TestTenantSend: a tenant user's job goes out from the tenant's number
// with its identity, through the number's gateway endpoints in their dial
// format, and the attempt is recorded for gofaxd.
func TestTenantSend(t *testing.T) {
	f := tenantFixture(t)
	f.cfg.Gofaxsend.CIDName = "sender" // the number's caller ID name wins
	f.sim.Route("+4940123456", esltest.Scenario{Outcome: esltest.Success})
	qf := f.qfile("7", "040 123456", "owner:alice", "jobtag:", "totpages:2")
	if st := f.run(context.Background(), qf); st != outcome.Done {
		t.Fatalf("status %v: %s", st, f.read(qf).String("status"))
	}
	calls := f.sim.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d calls, want 1 (stop at the first success)", len(calls))
	}
	c := calls[0]
	if c.Gateway != "gw-a1" || c.Destination != "+4940123456" {
		t.Errorf("gateway %q destination %q", c.Gateway, c.Destination)
	}
	for k, v := range map[string]string{"origination_caller_id_number": "+4930111", "origination_caller_id_name": "ACME Sales",
		"fax_ident": "+49 30 111", "fax_header": "ACME Sales Dept"} {
		if c.Vars[k] != v {
			t.Errorf("%s = %q, want %q", k, c.Vars[k], v)
		}
	}
	as := attempts(t, f.spool)
	if len(as) != 1 {
		t.Fatalf("%d attempts recorded, want 1", len(as))
	}
	a := as[0]
	spoolID, err := gofaxlib.SpoolID(f.spool)
	if err != nil {
		t.Fatal(err)
	}
	wantRef := gofaxlib.JobRef{FaxID: gofaxlib.JobFaxID(spoolID, 7), Host: "host-a", JobID: 7, Owner: "alice", TenantID: "t-acme",
		From: "+4930111", To: "+4940123456", PagesTotal: 2}
	if a.Job != wantRef {
		t.Errorf("job %+v\nwant %+v", a.Job, wantRef)
	}
	at := a.Attempt
	if at.FaxID != wantRef.FaxID || at.Host != "host-a" || at.Modem != "freeswitch0" || at.Gateway != "gw-a1" || at.Number != "+4940123456" ||
		at.CallUUID != c.UUID || !at.Success || at.PagesTransferred != 2 || at.PagesTotal != 2 || at.SignalRate != 14400 ||
		at.HangupCause != "NORMAL_CLEARING" || at.ResultText != "OK" || at.Started.IsZero() || at.Answered.Before(at.Started) || at.Ended.Before(at.Answered) {
		t.Errorf("attempt %+v", at)
	}
	if fi, err := os.Stat(filepath.Join(f.spool, record.JournalDir)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("journal directory: %v %v", fi, err)
	}
}

// TestTenantGatewayOrder: the number's gateways are tried in priority
// order, the next one only after a failure another route can fix, and
// never after a success, a busy destination or a fax failure. Every call
// is one recorded attempt.
func TestTenantGatewayOrder(t *testing.T) {
	tests := []struct {
		name     string
		e164     esltest.Outcome // through gw-a1 (+E.164)
		national esltest.Outcome // through gw-a2 (national)
		gateways []string
		status   outcome.Status
	}{
		{"success on the first", esltest.Success, esltest.Success, []string{"gw-a1"}, outcome.Done},
		{"first unreachable then the second delivers", esltest.NoRoute, esltest.Success, []string{"gw-a1", "gw-a2"}, outcome.Done},
		{"first busy: no second", esltest.Busy, esltest.Success, []string{"gw-a1"}, outcome.Retry},
		{"first no answer: no second", esltest.NoAnswer, esltest.Success, []string{"gw-a1"}, outcome.Retry},
		{"fax failure on the first: no second", esltest.NoFax, esltest.Success, []string{"gw-a1"}, outcome.Retry},
		{"both unreachable", esltest.NoRoute, esltest.NoRoute, []string{"gw-a1", "gw-a2"}, outcome.Retry},
		{"first unreachable then the second busy", esltest.NoRoute, esltest.Busy, []string{"gw-a1", "gw-a2"}, outcome.Retry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tenantFixture(t)
			f.cfg.Gofaxsend.RingTimeout = 300 * time.Millisecond
			f.sim.Route("+4940123456", esltest.Scenario{Outcome: tt.e164})
			f.sim.Route("040123456", esltest.Scenario{Outcome: tt.national})
			qf := f.qfile("7", "+49 40 123456", "owner:alice")
			if st := f.run(context.Background(), qf); st != tt.status {
				t.Errorf("status %v, want %v: %s", st, tt.status, f.read(qf).String("status"))
			}
			var gws []string
			for _, c := range f.sim.Calls() {
				gws = append(gws, c.Gateway)
			}
			if !slices.Equal(gws, tt.gateways) {
				t.Errorf("gateways called %q, want %q", gws, tt.gateways)
			}
			var recorded []string
			for _, a := range attempts(t, f.spool) {
				recorded = append(recorded, a.Attempt.Gateway)
			}
			if !slices.Equal(recorded, tt.gateways) {
				t.Errorf("attempts recorded through %q, want %q", recorded, tt.gateways)
			}
			f.want(qf, map[string]string{"totdials": "1"})
		})
	}
}

// TestTenantRefusals: what the tenant data forbids fails the job without
// a call; an unreadable snapshot retries it.
func TestTenantRefusals(t *testing.T) {
	tests := []struct {
		name    string
		number  string
		fields  []string
		prepare func(f *fixture)
		status  outcome.Status
		code    string
		text    string
	}{
		{name: "not the tenant's number", number: "040123456", fields: []string{"owner:alice", "faxnumber:+4940999"},
			status: outcome.Failed, code: "345", text: `Calling number +4940999 (the job's faxnumber) is not a number of tenant "ACME"`},
		{name: "suspended tenant", number: "040123456", fields: []string{"owner:gus"},
			status: outcome.Failed, code: "345", text: `Tenant "Gone" is suspended: no faxes are sent for it`},
		{name: "destination not E.164", number: "123", fields: []string{"owner:alice"},
			status: outcome.Failed, code: "326", text: `Cannot send to "123": invalid telephone number: "123": 3 digits, too short for an E.164 number (at least 7)`},
		{name: "snapshot missing", number: "040123456", fields: []string{"owner:alice"},
			prepare: func(f *fixture) { os.Remove(filepath.Join(f.spool, record.RoutingFile)) },
			status:  outcome.Retry, code: "6", text: "routing snapshot: open " + "%SPOOL%/gofax/routing.json: no such file or directory; gofaxd writes it once it has the tenant data ([database]): retried later"},
		{name: "snapshot broken", number: "040123456", fields: []string{"owner:root"},
			prepare: func(f *fixture) {
				os.WriteFile(filepath.Join(f.spool, record.RoutingFile), []byte(`{"tenants":`), 0o640)
			},
			status: outcome.Retry, code: "6", text: "routing snapshot: %SPOOL%/gofax/routing.json: unexpected end of JSON input; gofaxd writes it once it has the tenant data ([database]): retried later"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tenantFixture(t)
			if tt.prepare != nil {
				tt.prepare(f)
			}
			qf := f.qfile("7", tt.number, tt.fields...)
			if st := f.run(context.Background(), qf); st != tt.status {
				t.Errorf("status %v, want %v", st, tt.status)
			}
			text := strings.ReplaceAll(tt.text, "%SPOOL%", f.spool)
			f.want(qf, map[string]string{"statuscode": tt.code, "status": text, "totdials": "0"})
			if n := len(f.sim.Calls()); n != 0 {
				t.Errorf("%d calls", n)
			}
			if n := len(attempts(t, f.spool)); n != 0 {
				t.Errorf("%d attempts recorded without a call", n)
			}
		})
	}
}

// TestPlainJobWithDatabase: with [database] set, a job whose owner is no
// tenant user is sent exactly as without it (config gateway, caller ID,
// number as dialled), and its attempt is recorded without a tenant; an
// API job's fax id is its jobtag.
func TestPlainJobWithDatabase(t *testing.T) {
	f := tenantFixture(t)
	f.cfg.Gofaxsend.CallPrefix = "9"
	f.sim.Route("95551234", esltest.Scenario{Outcome: esltest.Busy})
	// gofaxd has never run: the journal directory does not exist yet.
	os.RemoveAll(filepath.Join(f.spool, record.JournalDir))
	qf := f.qfile("7", "5551234", "jobtag:6F1C2A3B-4D5E-4F60-8172-93A4B5C6D7E8")
	if st := f.run(context.Background(), qf); st != outcome.Retry {
		t.Fatalf("status %v", st)
	}
	c := f.sim.Calls()[0]
	if c.Gateway != "gw1" || c.Destination != "95551234" || c.Vars["origination_caller_id_number"] != "4711" || c.Vars["fax_ident"] != "+49 30 1111" {
		t.Errorf("call %q %q vars %v", c.Gateway, c.Destination, c.Vars)
	}
	as := attempts(t, f.spool)
	if len(as) != 1 {
		t.Fatalf("%d attempts", len(as))
	}
	want := gofaxlib.JobRef{FaxID: "6f1c2a3b-4d5e-4f60-8172-93a4b5c6d7e8", Host: "host-a", JobID: 7, Owner: "root",
		From: "4711", To: "+5551234", PagesTotal: 2} // digits without a prefix: international (nationallength 0)
	if as[0].Job != want {
		t.Errorf("job %+v\nwant %+v", as[0].Job, want)
	}
	if at := as[0].Attempt; at.HangupCause != "USER_BUSY" || at.Success || at.Gateway != "gw1" || at.Number != "95551234" || !at.Answered.IsZero() {
		t.Errorf("attempt %+v", at)
	}
}

// TestTenantDynamicConfigGateway: DynamicConfig's Gateway beats the
// endpoints (dialled as HylaFAX gives the number, with the call prefix);
// its FAXNumber must still be the tenant's.
func TestTenantDynamicConfigGateway(t *testing.T) {
	f := tenantFixture(t)
	f.sim.Route("0040123456", esltest.Scenario{Outcome: esltest.Success})
	f.cfg.Gofaxsend.DynamicConfig = writeScript(t, f.spool, "echo 'Gateway: gw-dyn'\necho 'CallPrefix: 0'\necho 'FAXNumber: 030222'\n")
	qf := f.qfile("7", "040123456", "owner:alice")
	if st := f.run(context.Background(), qf); st != outcome.Done {
		t.Fatalf("status %v: %s", st, f.read(qf).String("status"))
	}
	c := f.sim.Calls()[0]
	if c.Gateway != "gw-dyn" || c.Destination != "0040123456" || c.Vars["origination_caller_id_number"] != "+4930222" ||
		c.Vars["fax_ident"] != "+4930222" || c.Vars["fax_header"] != "ACME  Inc." {
		t.Errorf("call %q %q vars %v", c.Gateway, c.Destination, c.Vars)
	}

	f.cfg.Gofaxsend.DynamicConfig = writeScript(t, f.spool, "echo 'FAXNumber: 4711'\n")
	qf = f.qfile("8", "040123456", "owner:alice")
	if st := f.run(context.Background(), qf); st != outcome.Failed {
		t.Errorf("DynamicConfig's number not the tenant's: %v", st)
	}
	f.want(qf, map[string]string{"status": `Calling number "4711" (DynamicConfig FAXNumber) is not a telephone number: invalid telephone number: "4711": 4 digits, too short for an E.164 number (at least 7)`})
}

// TestTenantConfigGateway: a tenant without gateway endpoints (none of
// its number, none of its own, no global ones) sends through
// [freeswitch] gateway, dialling as HylaFAX gives the number, from its
// own number.
func TestTenantConfigGateway(t *testing.T) {
	f := tenantFixture(t)
	rt := testRouting()
	f.writeRouting(gofaxlib.NewRouting(rt.Loaded, rt.Tenants, rt.Numbers, rt.Users, nil))
	f.cfg.Gofaxsend.CallPrefix = "0"
	f.sim.Route("0040123456", esltest.Scenario{Outcome: esltest.Success})
	qf := f.qfile("7", "040123456", "owner:alice")
	if st := f.run(context.Background(), qf); st != outcome.Done {
		t.Fatalf("status %v: %s", st, f.read(qf).String("status"))
	}
	c := f.sim.Calls()[0]
	if c.Gateway != "gw1" || c.Destination != "0040123456" || c.Vars["origination_caller_id_number"] != "+4930111" {
		t.Errorf("call %q %q caller ID %q", c.Gateway, c.Destination, c.Vars["origination_caller_id_number"])
	}
	if as := attempts(t, f.spool); len(as) != 1 || as[0].Job.TenantID != "t-acme" || as[0].Attempt.Gateway != "gw1" || as[0].Attempt.Number != "0040123456" {
		t.Errorf("attempts %+v", as)
	}
}
