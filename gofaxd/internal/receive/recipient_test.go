package receive

import (
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gofaxserver/gofaxserver/gofaxlib/freeswitch"
)

func TestFindRecipient(t *testing.T) {
	all := []string{SourceDiversion, SourceHistoryInfo, SourcePCalledPartyID, SourceTo}
	for _, tc := range []struct {
		name    string
		vars    map[string]string
		sources []string
		want    string
		source  string
	}{
		{"to only", map[string]string{"sip_to_user": "5551236"}, []string{SourceTo}, "5551236", SourceTo},
		{"diversion sip", map[string]string{"sip_h_Diversion": "<sip:4930123@pbx.example>;reason=unconditional", "sip_to_user": "1"},
			all, "4930123", SourceDiversion},
		{"diversion plus", map[string]string{"sip_h_Diversion": `"Office" <sip:+4930123@pbx.example;user=phone>;reason=user-busy;counter=1`},
			all, "+4930123", SourceDiversion},
		{"diversion escaped plus", map[string]string{"sip_h_Diversion": `<sip:%2B4930123@pbx.example>`}, all, "+4930123", SourceDiversion},
		{"diversion tel", map[string]string{"sip_h_Diversion": "<tel:+49-30-123;phone-context=example.com>;reason=deflection"},
			all, "+4930123", SourceDiversion},
		{"diversion bare uri", map[string]string{"sip_h_Diversion": "sip:777@h;reason=x"}, all, "777", SourceDiversion},
		{"diversion list takes first", map[string]string{"sip_h_Diversion": `<sip:111@a>;reason=a, <sip:222@b>;reason=b`}, all, "111", SourceDiversion},
		{"comma in display name", map[string]string{"sip_h_Diversion": `"Doe, John" <sip:333@a>`}, all, "333", SourceDiversion},
		{"history-info first entry", map[string]string{"sip_history_info": "<sip:4930555@a>;index=1,<sip:999@b>;index=1.1"},
			all, "4930555", SourceHistoryInfo},
		{"p-called-party-id", map[string]string{"sip_P-Called-Party-ID": "<sip:+1555000@carrier>"}, all, "+1555000", SourcePCalledPartyID},
		{"fallback to To when Diversion garbage", map[string]string{"sip_h_Diversion": "<mailto:x@y>", "sip_to_user": "5551236"},
			all, "5551236", SourceTo},
		{"injection in diversion rejected", map[string]string{"sip_h_Diversion": "<sip:123'\nexit@a>", "sip_to_user": "42"},
			all, "42", SourceTo},
		{"order respected", map[string]string{"sip_h_Diversion": "<sip:1@a>", "sip_to_user": "2"},
			[]string{SourceTo, SourceDiversion}, "2", SourceTo},
		{"request uri", map[string]string{"sip_req_user": "+4989"}, []string{SourceRequestURI}, "+4989", SourceRequestURI},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, src, ok := FindRecipient(func(k string) string { return tc.vars[k] }, tc.sources)
			if !ok || got != tc.want || src != tc.source {
				t.Fatalf("got %q from %q (ok=%v), want %q from %q", got, src, ok, tc.want, tc.source)
			}
		})
	}
}

func TestFindRecipientNone(t *testing.T) {
	for _, tc := range []struct {
		name string
		vars map[string]string
	}{
		{"no diversion (GOfax.IP refused)", map[string]string{"sip_to_user": "5551236"}},
		{"unterminated angle", map[string]string{"sip_h_Diversion": "<sip:123@a"}},
		{"no host", map[string]string{"sip_h_Diversion": "<sip:123>"}},
		{"quote", map[string]string{"sip_h_Diversion": `<sip:12"3@a>`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if n, _, ok := FindRecipient(func(k string) string { return tc.vars[k] }, []string{SourceDiversion}); ok {
				t.Fatalf("got %q, want none", n)
			}
		})
	}
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"ACME Corp":             "ACME Corp",
		"Evil\"\r\nexit":        "Evil   exit",
		"tab\there":             "tab here",
		strings.Repeat("é", 40): strings.Repeat("é", 32),
	} {
		if got := CleanName(in); got != want {
			t.Errorf("CleanName(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzHeaderNumber(f *testing.F) {
	b, err := os.ReadFile("testdata/headers.txt")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		n, ok := headerNumber(h)
		if !ok {
			return
		}
		if c, ok2 := freeswitch.CallerNumber(n); !ok2 || c != n {
			t.Fatalf("headerNumber(%q) = %q, not clean", h, n)
		}
	})
}

func FuzzCleanName(f *testing.F) {
	f.Add("ACME")
	f.Add("a\"b\\c\n")
	f.Fuzz(func(t *testing.T, s string) {
		n := CleanName(s)
		if len(n) > maxNameLen || strings.ContainsAny(n, "\"\\\r\n\t\x00") {
			t.Fatalf("CleanName(%q) = %q", s, n)
		}
		if utf8.ValidString(s) && !utf8.ValidString(n) {
			t.Fatalf("CleanName(%q) broke UTF-8: %q", s, n)
		}
	})
}

func TestParseCallConfig(t *testing.T) {
	c := ParseCallConfig([]byte("RejectCall: no\nLocalIdentifier: \"+49 30 1234567890123456789\"\n" +
		"EnableT38: yes\nRecvFileMode: 0644\nRecvFileMode2: x\nFaxRcvdCmd: bin/other\nQualifyTSI: x\n"))
	if c.Reject || c.Ident != "+49 30 1234567890123" || c.EnableT38 == nil || !*c.EnableT38 || c.RequestT38 != nil ||
		c.FileMode != 0o644 || c.FaxRcvdCmd != "bin/other" || len(c.Ignored) != 2 {
		t.Fatalf("ParseCallConfig = %+v", c)
	}
	if c := ParseCallConfig([]byte("rejectcall: TRUE\nRecvFileMode: 9\n")); !c.Reject || c.FileMode != 0 || len(c.Ignored) != 1 {
		t.Fatalf("ParseCallConfig = %+v", c)
	}
}

func FuzzParseCallConfig(f *testing.F) {
	f.Add([]byte("RejectCall: true\nLocalIdentifier: \"x\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := ParseCallConfig(b)
		if len(c.Ident) > maxIdentLen || strings.ContainsAny(c.Ident, "\r\n\"") || c.FileMode > 0o777 {
			t.Fatalf("ParseCallConfig(%q) = %+v", b, c)
		}
	})
}
