package tenancy

import (
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/receive"
	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

var planDE = gofaxlib.NumberPlan{CountryCode: "49", NationalPrefix: "0", InternationalPrefix: "00"}

// testRouting: tenant Acme with +4930111111 (CSI "ACME FAX"), suspended
// tenant Bravo with +4940222222, tenant Charlie with the suspended
// number +4989333333; users alice (Acme) and bob (Bravo).
func testRouting() *gofaxlib.Routing {
	tenants := []gofaxlib.Tenant{
		{ID: "11111111-1111-4111-8111-111111111111", Name: "Acme"},
		{ID: "22222222-2222-4222-8222-222222222222", Name: "Bravo", Suspended: true},
		{ID: "33333333-3333-4333-8333-333333333333", Name: "Charlie"},
	}
	numbers := []gofaxlib.Number{
		{ID: "a1111111-1111-4111-8111-111111111111", TenantID: tenants[0].ID, Number: "+4930111111", Ident: "ACME FAX"},
		{ID: "b2222222-2222-4222-8222-222222222222", TenantID: tenants[1].ID, Number: "+4940222222"},
		{ID: "c3333333-3333-4333-8333-333333333333", TenantID: tenants[2].ID, Number: "+4989333333", Suspended: true},
	}
	users := []gofaxlib.User{
		{ID: "d1111111-1111-4111-8111-111111111111", TenantID: tenants[0].ID, Username: "alice"},
		{ID: "d2222222-2222-4222-8222-222222222222", TenantID: tenants[1].ID, Username: "bob"},
	}
	return gofaxlib.NewRouting(time.Now(), tenants, numbers, users, nil)
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestRoute(t *testing.T) {
	acme := "11111111-1111-4111-8111-111111111111"
	for _, tc := range []struct {
		name      string
		recipient string
		receive   bool // unknownnumber = receive
		want      receive.Route
		refused   bool
	}{
		{"known, national", "030 111111", false,
			receive.Route{CalledNumber: "+4930111111", TenantID: acme, TenantName: "Acme", NumberID: "a1111111-1111-4111-8111-111111111111", Ident: "ACME FAX"}, false},
		{"known, E.164", "+4930111111", false,
			receive.Route{CalledNumber: "+4930111111", TenantID: acme, TenantName: "Acme", NumberID: "a1111111-1111-4111-8111-111111111111", Ident: "ACME FAX"}, false},
		{"known, international prefix", "004930111111", true,
			receive.Route{CalledNumber: "+4930111111", TenantID: acme, TenantName: "Acme", NumberID: "a1111111-1111-4111-8111-111111111111", Ident: "ACME FAX"}, false},
		{"unknown, reject", "+4930999999", false,
			receive.Route{Refuse: "no tenant has the called number", CalledNumber: "+4930999999"}, true},
		{"unknown, receive", "030 999999", true, receive.Route{CalledNumber: "+4930999999"}, false},
		{"not a number, reject", "fax", false,
			receive.Route{Refuse: `called number "fax" is not a valid number`, CalledNumber: "fax"}, true},
		{"not a number, receive", "12", true, receive.Route{CalledNumber: "12"}, false},
		{"suspended tenant", "+4940222222", false,
			receive.Route{Refuse: `tenant "Bravo" is suspended`, CalledNumber: "+4940222222"}, true},
		{"suspended tenant, receive refuses too", "+4940222222", true,
			receive.Route{Refuse: `tenant "Bravo" is suspended`, CalledNumber: "+4940222222"}, true},
		{"suspended number", "089 333333", true,
			receive.Route{Refuse: "the called number is suspended", CalledNumber: "+4989333333"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Service{cfg: Config{Plan: planDE, ReceiveUnknown: tc.receive}}
			s.routing.Store(testRouting())
			got := s.Route(tc.recipient)
			if !tc.refused && !uuidV4.MatchString(got.FaxID) {
				t.Errorf("fax id %q, want a new UUID", got.FaxID)
			}
			if tc.refused && got.FaxID != "" {
				t.Errorf("refused call has fax id %q", got.FaxID)
			}
			got.FaxID = ""
			if got != tc.want {
				t.Errorf("Route(%q) = %+v\nwant %+v", tc.recipient, got, tc.want)
			}
		})
	}
	// No routing at all yet: a temporary refusal.
	s := &Service{cfg: Config{Plan: planDE, ReceiveUnknown: true}}
	if got := s.Route("+4930111111"); got.Refuse == "" || !got.Temporary {
		t.Errorf("without routing: %+v", got)
	}
	// Fax ids are new for every call.
	s.routing.Store(testRouting())
	if a, b := s.Route("+4930111111"), s.Route("+4930111111"); a.FaxID == b.FaxID {
		t.Errorf("two calls got the same fax id %s", a.FaxID)
	}
}

// BenchmarkRoute measures what routing adds to a call's set-up: one
// lookup in a routing of 10,000 tenants with 100,000 numbers (a new fax
// id included). It reports the p50 and p99 of single lookups.
func BenchmarkRoute(b *testing.B) {
	const tenants, numbers = 10_000, 100_000
	ts := make([]gofaxlib.Tenant, tenants)
	for i := range ts {
		ts[i] = gofaxlib.Tenant{ID: fmt.Sprintf("%08d-0000-4000-8000-000000000000", i), Name: fmt.Sprint("tenant ", i)}
	}
	ns := make([]gofaxlib.Number, numbers)
	for i := range ns {
		ns[i] = gofaxlib.Number{ID: fmt.Sprintf("%08d-1111-4000-8000-000000000000", i), TenantID: ts[i%tenants].ID,
			Number: fmt.Sprintf("+4930%07d", i), Ident: "CSI"}
	}
	s := &Service{cfg: Config{Plan: planDE}}
	s.routing.Store(gofaxlib.NewRouting(time.Now(), ts, ns, nil, nil))
	called := make([]string, 1024)
	for i := range called {
		called[i] = fmt.Sprintf("030 %07d", (i*7919)%numbers)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		r := s.Route(called[i%len(called)])
		lat = append(lat, time.Since(start))
		if r.TenantID == "" {
			b.Fatal("not routed")
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1000, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1000, "p99-µs")
}
