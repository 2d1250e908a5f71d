package gofaxlib

import (
	"errors"
	"strings"
	"testing"
)

var (
	planDE   = NumberPlan{CountryCode: "49", NationalPrefix: "0", InternationalPrefix: "00"}
	planUK   = NumberPlan{CountryCode: "44", NationalPrefix: "0", InternationalPrefix: "00"}
	planNANP = NumberPlan{CountryCode: "1", NationalPrefix: "1", InternationalPrefix: "011", NationalLength: 10}
	planNone = NumberPlan{NationalPrefix: "0", InternationalPrefix: "00"} // [freeswitch] defaults
	planIT   = NumberPlan{CountryCode: "39", InternationalPrefix: "00"}
)

func TestE164(t *testing.T) {
	tests := []struct {
		name string
		plan NumberPlan
		in   string
		want string // "" = error
	}{
		{"plus", planDE, "+4930123456", "+4930123456"},
		{"plus with formatting", planDE, " +49 (30) 123-45.6 ", "+4930123456"},
		{"plus with slash", planDE, "+49 30/123456", "+4930123456"},
		{"plus with tab", planDE, "+49\t30123456", "+4930123456"},
		{"optional trunk prefix in parentheses", planUK, "+44 (0)20 7946 0000", "+442079460000"},
		{"trunk prefix after international prefix", planDE, "0049 (0)30 123456", "+4930123456"},
		{"international prefix", planDE, "004930123456", "+4930123456"},
		{"international prefix, foreign", planDE, "0033 1 23 45 67 89", "+33123456789"},
		{"national", planDE, "030 123456", "+4930123456"},
		{"national in parentheses", planDE, "(030) 123456", "+4930123456"},
		{"national, trunk prefix in parentheses", planDE, "(0)30 123456", "+4930123456"},
		{"bare digits are international", planDE, "4930123456", "+4930123456"},
		{"fork truncated this (NANP)", planNANP, "011441234567890", "+441234567890"},
		{"NANP 11 digits", planNANP, "15551234567", "+15551234567"},
		{"NANP 10 digits", planNANP, "5551234567", "+15551234567"},
		{"NANP formatted", planNANP, "(555) 123-4567", "+15551234567"},
		{"NANP plus", planNANP, "+1 555 123 4567", "+15551234567"},
		{"NANP bare foreign", planNANP, "442079460000", "+442079460000"},
		{"15 digits", planDE, "+123456789012345", "+123456789012345"},
		{"7 digits", planDE, "+6834002", "+6834002"},
		{"no country code, international fine", planNone, "0049 30 123456", "+4930123456"},
		{"Italy keeps the 0", planIT, "+39 06 1234 5678", "+390612345678"},

		{"16 digits refused, not cut", planDE, "+1234567890123456", ""},
		{"16 digits after international prefix", planNANP, "0111234567890123456", ""},
		{"too short", planDE, "+491234", ""},
		{"emergency number", planDE, "112", ""},
		{"letters", planDE, "+49 30 FAX", ""},
		{"vanity", planNANP, "1-800-FLOWERS", ""},
		{"extension", planNANP, "5551234567x9", ""},
		{"tel URI", planDE, "tel:+4930123456", ""},
		{"sip URI", planDE, "sip:4930123456@example.com", ""},
		{"star", planDE, "*31#030123456", ""},
		{"comma (dial string)", planDE, "030123456,0301", ""},
		{"newline", planDE, "030123456\r\n", "+4930123456"}, // TrimSpace: surrounding blanks only
		{"embedded newline", planDE, "030\n123456", ""},
		{"quote", planDE, "'030123456", ""},
		{"plus inside", planDE, "49+30123456", ""},
		{"double plus", planDE, "++4930123456", ""},
		{"empty", planDE, "", ""},
		{"only formatting", planDE, "+ ( ) -", ""},
		{"only international prefix", planDE, "00", ""},
		{"country code 0", planDE, "+0123456789", ""},
		{"national without country code", planNone, "030123456", ""},
		{"NANP 10 digits without country code", NumberPlan{NationalLength: 10}, "5551234567", ""},
		{"own country code then trunk prefix", planDE, "+49030123456", ""},
		{"anonymous", planDE, "anonymous", ""},
		{"zeros", planDE, "0000000000", ""},
		{"long input", planDE, "+49 " + strings.Repeat(" ", 70) + "30123456", ""},
		{"non-ASCII digit", planDE, "+49３0123456", ""},
		{"NUL", planDE, "+4930\x00123456", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.plan.E164(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("E164(%q) = %q, want an error", tt.in, got)
				}
				if !errors.Is(err, ErrInvalidNumber) {
					t.Errorf("error %v does not wrap ErrInvalidNumber", err)
				}
				if !strings.HasPrefix(err.Error(), "invalid telephone number: ") {
					t.Errorf("error %q", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("E164(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			if !IsE164(got) {
				t.Errorf("IsE164(%q) = false", got)
			}
		})
	}
}

func TestE164ErrorText(t *testing.T) {
	_, err := planDE.E164("+49 030 123456")
	if want := `invalid telephone number: "+49 030 123456": the national prefix 0 follows the country code 49; write +4930123456 or 030123456`; err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
	_, err = planDE.E164("+4912345678901234567")
	if want := `invalid telephone number: "+4912345678901234567": 19 digits, E.164 allows at most 15`; err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
}

func TestDial(t *testing.T) {
	tests := []struct {
		plan   NumberPlan
		number string
		format DialFormat
		want   string // "" = error
	}{
		{planDE, "+4930123456", DialE164, "+4930123456"},
		{planDE, "+4930123456", DialDigits, "4930123456"},
		{planDE, "+4930123456", DialInternational, "004930123456"},
		{planDE, "+4930123456", DialNational, "030123456"},
		{planDE, "+33123456789", DialNational, "0033123456789"},
		{planNANP, "+15551234567", DialNational, "15551234567"},
		{planNANP, "+441234567890", DialNational, "011441234567890"},
		{planNANP, "+441234567890", DialInternational, "011441234567890"},
		{planNone, "+4930123456", DialNational, "004930123456"},
		// "030000" would read as international (prefix "03"): dialled so.
		{NumberPlan{CountryCode: "49", NationalPrefix: "0", InternationalPrefix: "03"}, "+4930000", DialNational, "034930000"},
		{NumberPlan{CountryCode: "49", NationalPrefix: "0", InternationalPrefix: "03"}, "+4940000", DialNational, "040000"},
		{NumberPlan{}, "+4930123456", DialInternational, ""},
		{NumberPlan{}, "+4930123456", DialNational, ""},
		{planDE, "030123456", DialE164, ""},
		{planDE, "+4930123456", "", ""},
		{planDE, "+4930123456", "pstn", ""},
	}
	for _, tt := range tests {
		got, err := tt.plan.Dial(tt.number, tt.format)
		if tt.want == "" {
			if err == nil || !errors.Is(err, ErrInvalidNumber) {
				t.Errorf("Dial(%q, %q) = %q, %v; want an ErrInvalidNumber", tt.number, tt.format, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Dial(%q, %q) = %q, %v; want %q", tt.number, tt.format, got, err, tt.want)
		}
	}
}

func TestNumberPlanValidate(t *testing.T) {
	for _, p := range []NumberPlan{planDE, planUK, planNANP, planNone, planIT, {}} {
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
	for _, p := range []NumberPlan{
		{CountryCode: "+49"}, {CountryCode: "049"}, {CountryCode: "1234"},
		{NationalPrefix: "0", InternationalPrefix: "0"}, {NationalPrefix: "00", InternationalPrefix: "0"},
		{NationalPrefix: "o"}, {InternationalPrefix: "00000"}, {NationalLength: -1}, {NationalLength: 16},
	} {
		if err := p.Validate(); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
}

func TestIsE164(t *testing.T) {
	for s, want := range map[string]bool{
		"+4930123456": true, "+6834002": true, "+123456789012345": true,
		"4930123456": false, "+0123456789": false, "+683400": false, "+1234567890123456": false,
		"+49 30123456": false, "": false, "+": false,
	} {
		if got := IsE164(s); got != want {
			t.Errorf("IsE164(%q) = %v", s, got)
		}
	}
}

// FuzzE164 checks E164's promises for any input and plan: a result is
// E.164, normalising it again changes nothing, and dialling it in any
// unambiguous format and normalising gives it back.
func FuzzE164(f *testing.F) {
	for _, s := range []string{"+4930123456", "0049 (0)30 123456", "030/123456", "011441234567890",
		"5551234567", "+44 (0)20 7946 0000", "(555) 123-4567", "+49 030", "tel:+49", "1-800-FLOWERS"} {
		f.Add(s, "49", "0", "00", 0)
		f.Add(s, "1", "1", "011", 10)
	}
	f.Add("+390612345678", "39", "", "00", 0)
	f.Fuzz(func(t *testing.T, in, cc, np, ip string, nl int) {
		p := NumberPlan{CountryCode: cc, NationalPrefix: np, InternationalPrefix: ip, NationalLength: nl}
		if p.Validate() != nil {
			return // the configuration refuses such a plan
		}
		got, err := p.E164(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidNumber) {
				t.Fatalf("error %v does not wrap ErrInvalidNumber", err)
			}
			return
		}
		if !IsE164(got) {
			t.Fatalf("E164(%q) = %q, not E.164", in, got)
		}
		if again, err := p.E164(got); err != nil || again != got {
			t.Fatalf("E164(%q) = %q, %v; not idempotent", got, again, err)
		}
		digits := strings.Count(in, "0") + strings.Count(in, "1") + strings.Count(in, "2") + strings.Count(in, "3") +
			strings.Count(in, "4") + strings.Count(in, "5") + strings.Count(in, "6") + strings.Count(in, "7") +
			strings.Count(in, "8") + strings.Count(in, "9")
		if len(got)-1 > digits+len(cc) {
			t.Fatalf("E164(%q) = %q: more digits than given", in, got)
		}
		for _, f := range []DialFormat{DialE164, DialInternational, DialNational} {
			d, err := p.Dial(got, f)
			if err != nil {
				continue // no prefix configured for this format
			}
			if f == DialNational && np == "" && cc != "" && strings.HasPrefix(got[1:], cc) {
				continue // without a national prefix a national number reads as international
			}
			if back, err := p.E164(d); err != nil || back != got {
				t.Fatalf("plan %+v: E164(Dial(%q, %s) = %q) = %q, %v", p, got, f, d, back, err)
			}
		}
	})
}
