package gofaxlib

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidNumber is wrapped by every error about a telephone number that
// cannot be turned into E.164 or dialled.
var ErrInvalidNumber = errors.New("invalid telephone number")

// E.164 bounds: a country code of 1 to 3 digits and at most 15 digits in
// all (ITU-T E.164 §6); the shortest numbers in service (e.g. Niue, +683
// and four digits) have 7.
const (
	MaxE164Digits = 15
	MinE164Digits = 7
)

// maxNumberInput bounds what E164 looks at: a written telephone number with
// generous formatting is far shorter; anything longer is not one.
const maxNumberInput = 64

// NumberPlan says how telephone numbers are written where the server is, so
// that numbers from FreeSWITCH (caller and called numbers as the carrier
// presents them), HylaFAX (the dialled number of a job) and API callers
// become E.164, and E.164 numbers can be dialled in the form a gateway
// wants. It is configured by [freeswitch] countrycode, nationalprefix,
// internationalprefix and nationallength.
type NumberPlan struct {
	// CountryCode is the own country code without "+", e.g. "49", "1".
	// Empty: numbers written nationally cannot be converted.
	CountryCode string
	// NationalPrefix is the trunk prefix before an area code, e.g. "0";
	// "1" in the North American Numbering Plan; "" where there is none.
	NationalPrefix string
	// InternationalPrefix is dialled before a country code, e.g. "00";
	// "011" in North America; "" = only "+" marks an international number.
	InternationalPrefix string
	// NationalLength, when not 0, is the length of a national significant
	// number written without any prefix: digits of exactly this length
	// and no prefix are national (10 in North America, where carriers
	// present "5551234567"). When 0, digits without any prefix are an
	// international number without its "+" ("4930123456"), the way most
	// carriers present them.
	NationalLength int
}

// Validate reports a plan E164 cannot work with: prefixes and country code
// must be digits (at most 4; a country code at most 3, not starting with
// 0), and the international prefix must not start the national one (it is
// tried first, so it would take every national number).
func (p NumberPlan) Validate() error {
	digits := func(name, v string, max int) error {
		if len(v) > max || strings.Trim(v, "0123456789") != "" {
			return fmt.Errorf("%s %q: at most %d digits", name, v, max)
		}
		return nil
	}
	if err := digits("country code", p.CountryCode, 3); err != nil {
		return err
	}
	if strings.HasPrefix(p.CountryCode, "0") {
		return fmt.Errorf("country code %q starts with 0", p.CountryCode)
	}
	if err := digits("national prefix", p.NationalPrefix, 4); err != nil {
		return err
	}
	if err := digits("international prefix", p.InternationalPrefix, 4); err != nil {
		return err
	}
	if p.InternationalPrefix != "" && strings.HasPrefix(p.NationalPrefix, p.InternationalPrefix) {
		return fmt.Errorf("international prefix %q starts the national prefix %q", p.InternationalPrefix, p.NationalPrefix)
	}
	if p.NationalLength < 0 || p.NationalLength > MaxE164Digits {
		return fmt.Errorf("national length %d: 0 to %d", p.NationalLength, MaxE164Digits)
	}
	return nil
}

// E164 turns a written telephone number into E.164 ("+" and 7 to 15
// digits), or fails with an error wrapping ErrInvalidNumber. It accepts:
//
//   - "+4930 1234-56", with blanks, tabs, '-', '.', '/' and parentheses as
//     separators; "+44 (0)20 …", the optional trunk prefix in parentheses,
//     loses the "(0)";
//   - the international prefix instead of "+": "0049301234";
//   - a national number with the national prefix: "030 1234" (needs
//     CountryCode);
//   - digits without any prefix: national when NationalLength says so,
//     else international without "+" ("4930…").
//
// It refuses letters and every other character (so "tel:" and "sip:" URIs
// must be taken apart before), more than 15 digits (it never truncates),
// fewer than 7, a country code starting with 0, and the own country code
// followed by the national prefix ("+49 030…", ambiguous).
func (p NumberPlan) E164(number string) (string, error) {
	fail := func(format string, args ...any) (string, error) {
		return "", fmt.Errorf("%w: %q: %s", ErrInvalidNumber, clip(number), fmt.Sprintf(format, args...))
	}
	s := strings.TrimSpace(number)
	if len(s) > maxNumberInput {
		return fail("longer than %d characters", maxNumberInput)
	}
	plus := strings.HasPrefix(s, "+")
	if plus {
		s = s[1:]
	}
	all, trunkless, err := numberDigits(s)
	if err != nil {
		return fail("%v", err)
	}
	if all == "" {
		return fail("no digits")
	}
	var digits string
	switch {
	case plus:
		digits = trunkless
	case p.InternationalPrefix != "" && strings.HasPrefix(all, p.InternationalPrefix):
		digits = strings.TrimPrefix(trunkless, p.InternationalPrefix)
	case p.NationalPrefix != "" && strings.HasPrefix(all, p.NationalPrefix):
		if p.CountryCode == "" {
			return fail("a national number, but no country code is configured ([freeswitch] countrycode)")
		}
		digits = p.CountryCode + all[len(p.NationalPrefix):]
	case p.NationalLength > 0 && len(all) == p.NationalLength:
		if p.CountryCode == "" {
			return fail("a national number, but no country code is configured ([freeswitch] countrycode)")
		}
		digits = p.CountryCode + all
	default:
		digits = all
	}
	switch {
	case digits == "":
		return fail("no digits after the prefix")
	case digits[0] == '0':
		return fail("a country code never starts with 0")
	case len(digits) > MaxE164Digits:
		return fail("%d digits, E.164 allows at most %d", len(digits), MaxE164Digits)
	case len(digits) < MinE164Digits:
		return fail("%d digits, too short for an E.164 number (at least %d)", len(digits), MinE164Digits)
	case p.CountryCode != "" && p.NationalPrefix != "" &&
		strings.HasPrefix(digits, p.CountryCode+p.NationalPrefix) && !p.nationalPrefixIsCode():
		return fail("the national prefix %s follows the country code %s; write +%s%s or %s%s",
			p.NationalPrefix, p.CountryCode, p.CountryCode, digits[len(p.CountryCode)+len(p.NationalPrefix):],
			p.NationalPrefix, digits[len(p.CountryCode)+len(p.NationalPrefix):])
	}
	return "+" + digits, nil
}

// nationalPrefixIsCode reports the North American case: the trunk prefix
// "1" equals the country code, and "+1 1…" cannot be told from "+1" and a
// number; area codes never start with 1 there, so E.164 does not look.
func (p NumberPlan) nationalPrefixIsCode() bool { return p.NationalPrefix == p.CountryCode }

// numberDigits returns the digits of s (written without its "+"), once all
// and once without parenthesised groups that are just "0" (the optional
// trunk prefix of "+44 (0)20 …"), or an error naming the first character
// that is neither a digit nor a separator.
func numberDigits(s string) (all, trunkless string, err error) {
	var a, t strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			a.WriteByte(c)
			t.WriteByte(c)
		case c == '(' && strings.HasPrefix(s[i:], "(0)"):
			a.WriteByte('0')
			i += 2
		case c == ' ' || c == '\t' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')':
		default:
			return "", "", fmt.Errorf("%q is not allowed in a telephone number", clip(s[i:i+1]))
		}
	}
	return a.String(), t.String(), nil
}

func clip(s string) string {
	if len(s) > maxNumberInput {
		return s[:maxNumberInput] + "…"
	}
	return s
}

// IsE164 reports whether s is written as E164 returns numbers: "+", a
// digit 1-9, and 6 to 14 more digits.
func IsE164(s string) bool {
	if len(s) < 1+MinE164Digits || len(s) > 1+MaxE164Digits || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// DialFormat is how numbers are dialled through a gateway.
type DialFormat string

// Dial formats of gateway endpoints (option "dial").
const (
	DialE164          DialFormat = "e164"          // "+4930123456"
	DialDigits        DialFormat = "digits"        // "4930123456": E.164 without "+"
	DialInternational DialFormat = "international" // "004930123456": the plan's international prefix
	DialNational      DialFormat = "national"      // "030123456" in the own country, international prefix elsewhere
)

// Valid reports whether f is one of the Dial* formats.
func (f DialFormat) Valid() bool {
	switch f {
	case DialE164, DialDigits, DialInternational, DialNational:
		return true
	}
	return false
}

// Dial writes an E.164 number the way format f asks, the inverse of E164:
// E164(Dial(n, f)) == n for e164, international and national (digits are
// ambiguous where NationalLength is set). A number the national format
// cannot write unambiguously (a foreign one, or one whose national form
// begins like the international prefix) is written internationally.
func (p NumberPlan) Dial(e164 string, f DialFormat) (string, error) {
	if !IsE164(e164) {
		return "", fmt.Errorf("%w: %q is not an E.164 number", ErrInvalidNumber, clip(e164))
	}
	digits := e164[1:]
	international := func() (string, error) {
		if p.InternationalPrefix == "" {
			return "", fmt.Errorf("%w: %s cannot be dialled internationally: no international prefix is configured ([freeswitch] internationalprefix)", ErrInvalidNumber, e164)
		}
		return p.InternationalPrefix + digits, nil
	}
	switch f {
	case DialE164:
		return e164, nil
	case DialDigits:
		return digits, nil
	case DialInternational:
		return international()
	case DialNational:
		if p.CountryCode != "" && strings.HasPrefix(digits, p.CountryCode) {
			national := p.NationalPrefix + digits[len(p.CountryCode):]
			// A national number that begins like the international
			// prefix would be read as international: it is dialled so.
			if p.InternationalPrefix == "" || !strings.HasPrefix(national, p.InternationalPrefix) {
				return national, nil
			}
		}
		return international()
	}
	return "", fmt.Errorf("%w: unknown dial format %q", ErrInvalidNumber, string(f))
}
