package gofaxlib

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestStatusFromNotify(t *testing.T) {
	tests := []struct {
		why  string
		want FaxStatus
		ok   bool
	}{
		{"done", StatusDelivered, true},
		{"failed", StatusFailed, true},
		{"rejected", StatusFailed, true},
		{"format_failed", StatusFailed, true},
		{"timedout", StatusFailed, true},
		{"killed", StatusCanceled, true},
		{"removed", StatusCanceled, true},
		{"requeued", StatusRetrying, true},
		{"no_formatter", StatusFailed, true},
		{"blocked", StatusQueued, true},
		{"poll_rejected", StatusFailed, true},
		{"poll_no_document", StatusFailed, true},
		{"poll_failed", StatusFailed, true},
		{"", "", false},
		{"Done", "", false},
		{"delivered", "", false},
	}
	for _, tt := range tests {
		got, ok := StatusFromNotify(tt.why)
		if got != tt.want || ok != tt.ok {
			t.Errorf("StatusFromNotify(%q) = %q, %v; want %q, %v", tt.why, got, ok, tt.want, tt.ok)
		}
		if ok && !got.ValidFor(Outbound) {
			t.Errorf("%q maps to %q, not a status of sent faxes", tt.why, got)
		}
	}
}

func TestFaxStatus(t *testing.T) {
	terminal := map[FaxStatus]bool{StatusDelivered: true, StatusFailed: true, StatusCanceled: true, StatusReceived: true}
	for _, s := range []FaxStatus{StatusQueued, StatusSending, StatusRetrying, StatusDelivered, StatusFailed, StatusCanceled, StatusReceiving, StatusReceived} {
		if s.Terminal() != terminal[s] {
			t.Errorf("%s.Terminal() = %v", s, s.Terminal())
		}
		if !s.ValidFor(Outbound) && !s.ValidFor(Inbound) {
			t.Errorf("%s valid for no direction", s)
		}
	}
	if StatusReceived.ValidFor(Outbound) || StatusQueued.ValidFor(Inbound) || StatusFailed.ValidFor("sideways") {
		t.Error("status valid for the wrong direction")
	}
}

func TestScope(t *testing.T) {
	if (Scope{}).Valid() || (Scope{}).Allows("") || (Scope{}).Allows("a") {
		t.Error("zero scope is usable")
	}
	ts := TenantScope("a")
	if id, limited := ts.Tenant(); !ts.Valid() || id != "a" || !limited || !ts.Allows("a") || ts.Allows("b") || ts.Allows("") {
		t.Error("tenant scope")
	}
	if TenantScope("").Valid() {
		t.Error("tenant scope without a tenant is valid")
	}
	op := OperatorScope()
	if _, limited := op.Tenant(); !op.Valid() || limited || !op.Allows("b") {
		t.Error("operator scope")
	}
}

func TestValidate(t *testing.T) {
	plan := NumberPlan{CountryCode: "49", NationalPrefix: "0", InternationalPrefix: "00"}
	tests := []struct {
		name  string
		check func() error
		field string // "" = valid
	}{
		{"tenant", func() error { return (&Tenant{Name: " Acme "}).Validate() }, ""},
		{"tenant without name", func() error { return (&Tenant{Name: "  "}).Validate() }, "name"},
		{"tenant name with newline", func() error { return (&Tenant{Name: "a\nb"}).Validate() }, "name"},
		{"tenant name with C1 line break", func() error { return (&Tenant{Name: "a\u0085b"}).Validate() }, "name"},
		{"tenant name with C1 control", func() error { return (&Tenant{Name: "a\u009bb"}).Validate() }, "name"},
		{"number header with C1 control", func() error {
			return (&Number{TenantID: "t", Number: "+4930123456", Header: "ACME\u0085Fax"}).Validate(plan)
		}, "header"},
		{"number header with umlaut", func() error {
			return (&Number{TenantID: "t", Number: "+4930123456", Header: "Müller GmbH"}).Validate(plan)
		}, ""},
		{"user mail with C1 control", func() error {
			return (&User{TenantID: "t", Username: "a", Email: "a\u0085b@example.com"}).Validate()
		}, "email"},
		{"webhook URL with C1 control", func() error {
			return (&Endpoint{Scope: ScopeTenant, TenantID: "t", Kind: KindWebhook, Target: "https://example.com/a\u0085b"}).Validate()
		}, "target"},
		{"webhook URL with no-break space", func() error {
			return (&Endpoint{Scope: ScopeTenant, TenantID: "t", Kind: KindWebhook, Target: "https://example.com/a\u00a0b"}).Validate()
		}, "target"},
		{"tenant bad zone", func() error { return (&Tenant{Name: "a", TimeZone: "Mars/Base"}).Validate() }, "time_zone"},
		{"tenant Local zone", func() error { return (&Tenant{Name: "a", TimeZone: "Local"}).Validate() }, "time_zone"},
		{"tenant zone", func() error { return (&Tenant{Name: "a", TimeZone: "Europe/Berlin"}).Validate() }, ""},
		{"tenant retention", func() error { return (&Tenant{Name: "a", RetentionDays: -1}).Validate() }, "retention_days"},
		{"number", func() error {
			return (&Number{TenantID: "t", Number: "030 123456", Ident: "+49 30 123456"}).Validate(plan)
		}, ""},
		{"number not E.164", func() error { return (&Number{TenantID: "t", Number: "12"}).Validate(plan) }, "number"},
		{"number long ident", func() error {
			return (&Number{TenantID: "t", Number: "+4930123456", Ident: strings.Repeat("1", 21)}).Validate(plan)
		}, "ident"},
		{"number ident umlaut", func() error { return (&Number{TenantID: "t", Number: "+4930123456", Ident: "Müller"}).Validate(plan) }, "ident"},
		{"number without tenant", func() error { return (&Number{Number: "+4930123456"}).Validate(plan) }, "tenant_id"},
		{"user", func() error {
			return (&User{TenantID: "t", Username: "alice@example.com", Email: "alice@example.com"}).Validate()
		}, ""},
		{"user blank", func() error { return (&User{TenantID: "t", Username: "al ice"}).Validate() }, "username"},
		{"user dot first", func() error { return (&User{TenantID: "t", Username: ".x"}).Validate() }, "username"},
		{"user bad mail", func() error { return (&User{TenantID: "t", Username: "a", Email: "Alice <a@b>"}).Validate() }, "email"},
		{"user bad role", func() error { return (&User{TenantID: "t", Username: "a", Role: "root"}).Validate() }, "role"},
		{"gateway", func() error {
			return (&Endpoint{Scope: ScopeGlobal, Kind: KindGateway, Target: "carrier-1"}).Validate()
		}, ""},
		{"gateway dial string", func() error { return (&Endpoint{Scope: ScopeGlobal, Kind: KindGateway, Target: "a,b"}).Validate() }, "target"},
		{"gateway bad dial", func() error {
			return (&Endpoint{Scope: ScopeGlobal, Kind: KindGateway, Target: "a", Options: EndpointOptions{Dial: "pstn"}}).Validate()
		}, "options.dial"},
		{"gateway with events", func() error {
			return (&Endpoint{Scope: ScopeGlobal, Kind: KindGateway, Target: "a", Options: EndpointOptions{Events: []string{"fax.received"}}}).Validate()
		}, "options"},
		{"global with tenant", func() error {
			return (&Endpoint{Scope: ScopeGlobal, TenantID: "t", Kind: KindGateway, Target: "a"}).Validate()
		}, "scope"},
		{"number scope without number", func() error {
			return (&Endpoint{Scope: ScopeNumber, TenantID: "t", Kind: KindGateway, Target: "a"}).Validate()
		}, "scope"},
		{"bad scope", func() error { return (&Endpoint{Scope: "world", Kind: KindGateway, Target: "a"}).Validate() }, "scope"},
		{"webhook", func() error {
			return (&Endpoint{Scope: ScopeTenant, TenantID: "t", Kind: KindWebhook, Target: "https://example.com/fax", Secret: "whsec_x",
				Options: EndpointOptions{Events: []string{"fax.received", "fax.retrying"}, Attach: AttachFirstPage}}).Validate()
		}, ""},
		{"webhook ftp", func() error {
			return (&Endpoint{Scope: ScopeTenant, TenantID: "t", Kind: KindWebhook, Target: "ftp://example.com/"}).Validate()
		}, "target"},
		{"webhook credentials", func() error {
			return (&Endpoint{Scope: ScopeTenant, TenantID: "t", Kind: KindWebhook, Target: "https://u:p@example.com/"}).Validate()
		}, "target"},
		{"webhook unknown event", func() error {
			return (&Endpoint{Scope: ScopeTenant, TenantID: "t", Kind: KindWebhook, Target: "https://example.com/", Options: EndpointOptions{Events: []string{"fax.sent"}}}).Validate()
		}, "options.events"},
		{"webhook event twice", func() error {
			return (&Endpoint{Scope: ScopeTenant, TenantID: "t", Kind: KindWebhook, Target: "https://example.com/", Options: EndpointOptions{Events: []string{"fax.failed", "fax.failed"}}}).Validate()
		}, "options.events"},
		{"webhook dial", func() error {
			return (&Endpoint{Scope: ScopeTenant, TenantID: "t", Kind: KindWebhook, Target: "https://example.com/", Options: EndpointOptions{Dial: DialE164}}).Validate()
		}, "options.dial"},
		{"email", func() error {
			return (&Endpoint{Scope: ScopeNumber, TenantID: "t", NumberID: "n", Kind: KindEmail, Target: "fax@example.com"}).Validate()
		}, ""},
		{"email list", func() error {
			return (&Endpoint{Scope: ScopeTenant, TenantID: "t", Kind: KindEmail, Target: "a@example.com, b@example.com"}).Validate()
		}, "target"},
		{"email secret", func() error {
			return (&Endpoint{Scope: ScopeTenant, TenantID: "t", Kind: KindEmail, Target: "a@example.com", Secret: "x"}).Validate()
		}, "secret"},
		{"webhook multipart", func() error {
			return (&Endpoint{Scope: ScopeTenant, TenantID: "t", Kind: KindWebhook, Target: "https://example.com/",
				Options: EndpointOptions{Attach: AttachPDF, Multipart: true}}).Validate()
		}, ""},
		{"webhook report", func() error {
			return (&Endpoint{Scope: ScopeTenant, TenantID: "t", Kind: KindWebhook, Target: "https://example.com/", Options: EndpointOptions{Report: true}}).Validate()
		}, "options.report"},
		{"email report", func() error {
			return (&Endpoint{Scope: ScopeTenant, TenantID: "t", Kind: KindEmail, Target: "a@example.com", Options: EndpointOptions{Report: true}}).Validate()
		}, ""},
		{"email multipart", func() error {
			return (&Endpoint{Scope: ScopeTenant, TenantID: "t", Kind: KindEmail, Target: "a@example.com", Options: EndpointOptions{Multipart: true}}).Validate()
		}, "options.multipart"},
		{"gateway report", func() error {
			return (&Endpoint{Scope: ScopeGlobal, Kind: KindGateway, Target: "a", Options: EndpointOptions{Report: true}}).Validate()
		}, "options"},
		{"bad kind", func() error { return (&Endpoint{Scope: ScopeGlobal, Kind: "fax", Target: "a"}).Validate() }, "kind"},
		{"bad priority", func() error {
			return (&Endpoint{Scope: ScopeGlobal, Kind: KindGateway, Target: "a", Priority: -1}).Validate()
		}, "priority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check()
			if tt.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v, want a FieldError for %q", err, tt.field)
			}
		})
	}
}

func TestValidateDefaults(t *testing.T) {
	tn := Tenant{Name: " Acme "}
	u := User{TenantID: "t", Username: "a"}
	gw := Endpoint{Scope: ScopeGlobal, Kind: KindGateway, Target: "gw"}
	mail := Endpoint{Scope: ScopeTenant, TenantID: "t", Kind: KindEmail, Target: "a@example.com"}
	hook := Endpoint{Scope: ScopeTenant, TenantID: "t", Kind: KindWebhook, Target: "https://example.com/"}
	n := Number{TenantID: "t", Number: "+49 30 123456"}
	for _, err := range []error{tn.Validate(), u.Validate(), gw.Validate(), mail.Validate(), hook.Validate(),
		n.Validate(NumberPlan{})} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if tn.Name != "Acme" || tn.TimeZone != "UTC" || u.Role != RoleUser || gw.Options.Dial != DialE164 ||
		mail.Options.Attach != AttachPDF || hook.Options.Attach != AttachNone || n.Number != "+4930123456" {
		t.Errorf("defaults: %+v %+v %+v %+v %+v %+v", tn, u, gw.Options, mail.Options, hook.Options, n)
	}
	if !hook.WantsEvent("fax.received") || hook.WantsEvent("fax.retrying") || hook.WantsEvent("fax.nonsense") {
		t.Error("WantsEvent without a list")
	}
	hook.Options.Events = []string{"fax.retrying"}
	if hook.WantsEvent("fax.received") || !hook.WantsEvent("fax.retrying") {
		t.Error("WantsEvent with a list")
	}
}

func TestFieldError(t *testing.T) {
	err := error(&FieldError{Field: "number", Err: ErrInvalidNumber})
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, ErrInvalidNumber) || err.Error() != "number: invalid telephone number" {
		t.Errorf("%v", err)
	}
	if !errors.Is(ErrTenantHasNumbers, ErrConflict) || !errors.Is(ErrTenantHasFaxes, ErrConflict) {
		t.Error("tenant deletion errors are not conflicts")
	}
}

func TestPage(t *testing.T) {
	for in, want := range map[int]int{0: DefaultLimit, -5: DefaultLimit, 1: 1, MaxLimit: MaxLimit, MaxLimit + 1: MaxLimit} {
		if got := (Page{Limit: in}).Size(); got != want {
			t.Errorf("Page{Limit: %d}.Size() = %d", in, got)
		}
	}
}

func TestAttemptSetResult(t *testing.T) {
	a0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var a Attempt
	a.SetResult(&Result{Final: true, Success: true, ResultCode: 0, ResultText: "OK", HangupCause: "NORMAL_CLEARING",
		TotalPages: 2, TransferredPages: 2, TransferRate: 14400, ECM: true, T38Status: "negotiated", RemoteID: "+49 30 1",
		Answered: a0, Hangup: a0.Add(time.Minute)})
	if !a.Success || a.ResultText != "OK" || a.PagesTransferred != 2 || a.SignalRate != 14400 || !a.ECM ||
		a.T38Status != "negotiated" || a.RemoteStationID != "+49 30 1" || a.Duration() != time.Minute {
		t.Errorf("%+v", a)
	}
	var b Attempt
	b.SetResult(&Result{HangupCause: "USER_BUSY"})
	if b.Success || b.ResultText != "" || b.Duration() != 0 {
		t.Errorf("%+v", b)
	}
}

func TestRouting(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ep := func(id string, scope EndpointScope, tenant, number string, kind EndpointKind, prio int, enabled bool) Endpoint {
		return Endpoint{ID: id, Scope: scope, TenantID: tenant, NumberID: number, Kind: kind, Target: id, Priority: prio, Enabled: enabled, Created: t0}
	}
	r := NewRouting(t0,
		[]Tenant{{ID: "ta", Name: "A"}, {ID: "tb", Name: "B"}},
		[]Number{{ID: "na1", TenantID: "ta", Number: "+4930111111"}, {ID: "na2", TenantID: "ta", Number: "+4930222222"},
			{ID: "nb", TenantID: "tb", Number: "+4930333333"}},
		[]User{{ID: "ua", TenantID: "ta", Username: "alice"}},
		[]Endpoint{
			ep("g-global-2", ScopeGlobal, "", "", KindGateway, 2, true),
			ep("g-global-1", ScopeGlobal, "", "", KindGateway, 1, true),
			ep("g-a-off", ScopeTenant, "ta", "", KindGateway, 0, false),
			ep("g-a", ScopeTenant, "ta", "", KindGateway, 5, true),
			ep("g-na1-b", ScopeNumber, "ta", "na1", KindGateway, 1, true),
			ep("g-na1-a", ScopeNumber, "ta", "na1", KindGateway, 1, true),
			ep("w-global", ScopeGlobal, "", "", KindWebhook, 0, true),
			ep("w-a", ScopeTenant, "ta", "", KindWebhook, 0, true),
			ep("m-na2", ScopeNumber, "ta", "na2", KindEmail, 0, true),
			ep("w-spoof", ScopeNumber, "tb", "na1", KindWebhook, 0, true), // another tenant naming A's number
		})
	ids := func(eps []Endpoint) []string {
		var out []string
		for _, e := range eps {
			out = append(out, e.ID)
		}
		return out
	}
	na1, ta, ok := r.Number("+4930111111")
	if !ok || ta.Name != "A" {
		t.Fatal("number lookup")
	}
	na2, _, _ := r.Number("+4930222222")
	nb, _, _ := r.Number("+4930333333")
	checks := []struct {
		name string
		got  []string
		want []string
	}{
		{"number scope, priority then id", ids(r.Gateways(na1)), []string{"g-na1-a", "g-na1-b"}},
		{"tenant scope, disabled left out", ids(r.Gateways(na2)), []string{"g-a"}},
		{"global by priority", ids(r.Gateways(nb)), []string{"g-global-1", "g-global-2"}},
		{"receipts of number scope + global", ids(r.Receipts("ta", "na2")), []string{"m-na2", "w-global"}},
		{"receipts of tenant scope + global", ids(r.Receipts("ta", "na1")), []string{"w-a", "w-global"}},
		{"receipts of another tenant", ids(r.Receipts("tb", "nb")), []string{"w-global"}},
		{"receipts without tenant", ids(r.Receipts("", "")), []string{"w-global"}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, c.got, c.want)
		}
	}
	if u, ut, ok := r.User("alice"); !ok || u.ID != "ua" || ut.ID != "ta" {
		t.Error("user lookup")
	}
	if _, _, ok := r.User("mallory"); ok {
		t.Error("unknown user found")
	}
	if n, _, ok := r.NumberByID("nb"); !ok || n.Number != "+4930333333" {
		t.Error("number by id")
	}

	// The snapshot survives JSON, indexes and all, without secrets.
	r.Endpoints[0].Secret = "whsec_secret"
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "whsec_secret") {
		t.Error("snapshot JSON holds a webhook secret")
	}
	var back Routing
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if got := ids(back.Gateways(na1)); !reflect.DeepEqual(got, []string{"g-na1-a", "g-na1-b"}) {
		t.Errorf("decoded snapshot: %q", got)
	}
	if _, tb, ok := back.Number("+4930333333"); !ok || tb.ID != "tb" {
		t.Error("decoded snapshot lookup")
	}
}
