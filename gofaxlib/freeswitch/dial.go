package freeswitch

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Errors for values that cannot go into a dial string or API command; test
// with errors.Is.
var (
	ErrInvalidNumber  = errors.New("freeswitch: invalid number")
	ErrInvalidGateway = errors.New("freeswitch: invalid gateway name")
	ErrInvalidVar     = errors.New("freeswitch: invalid channel variable")
	ErrInvalidPath    = errors.New("freeswitch: invalid file path")
	ErrNoGateway      = errors.New("freeswitch: no gateway")
)

// Limits that keep generated commands well inside FreeSWITCH's buffers.
const (
	maxNameLen   = 64   // channel variable names are short identifiers
	maxValueLen  = 512  // longest value (fax_header, caller-ID name); far above spandsp's header limit
	maxNumberLen = 64   // E.164 has 15 digits; room for prefixes and DTMF
	maxPathLen   = 1024 // file paths handed to txfax
)

var (
	nameRe    = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	gatewayRe = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	numberRe  = regexp.MustCompile(`^\+?[0-9*#A-Da-d]+$`)
	pathRe    = regexp.MustCompile(`^/[A-Za-z0-9._/+@=~-]*$`)
)

// forbidden are the characters no value may contain, even quoted. The
// originate API first splits its arguments at blanks, honouring and then
// removing single quotes, and only then splits the {...} block at commas:
// quotes keep spaces in a value, but nothing protects a comma. So:
//   - , would end the value and start a new variable;
//   - ' ends the quoting and cannot be escaped reliably;
//   - \ is FreeSWITCH's escape character;
//   - { } [ ] delimit variable blocks (found without regard to quotes);
//   - | separates failover legs, ^ starts the ^^<sep> delimiter syntax;
//   - $ starts variable expansion (${...}), ` is expanded in some paths.
//
// Control characters (CR, LF, NUL, ...) and the enterprise-originate
// separator ":_:" are rejected as well.
const forbidden = `,'\{}[]|^$` + "`"

// entDelim is FreeSWITCH's enterprise originate separator, searched in the
// whole dial string.
const entDelim = ":_:"

// Var is one channel variable of a dial string.
type Var struct {
	Name  string
	Value string
}

// Vars are channel variables in the order they are written.
type Vars []Var

// Set replaces the value of name, or appends it.
func (vs *Vars) Set(name, value string) {
	for i := range *vs {
		if (*vs)[i].Name == name {
			(*vs)[i].Value = value
			return
		}
	}
	*vs = append(*vs, Var{name, value})
}

// Get returns the value of name.
func (vs Vars) Get(name string) (string, bool) {
	for _, v := range vs {
		if v.Name == name {
			return v.Value, true
		}
	}
	return "", false
}

// CheckVar reports whether name=value can be written into a dial string:
// the name is [A-Za-z0-9_]+, the value valid UTF-8 without control
// characters, without any of , ' \ { } [ ] | ^ $ and backquote, and
// without ":_:". Spaces, '&', '=', '"' and ':' are fine: values are always
// single-quoted.
func CheckVar(name, value string) error {
	if len(name) > maxNameLen || !nameRe.MatchString(name) {
		return fmt.Errorf("%w: name %q", ErrInvalidVar, name)
	}
	if len(value) > maxValueLen {
		return fmt.Errorf("%w: %s: value longer than %d bytes", ErrInvalidVar, name, maxValueLen)
	}
	if !utf8.ValidString(value) {
		return fmt.Errorf("%w: %s: value is not UTF-8", ErrInvalidVar, name)
	}
	for _, r := range value {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(forbidden, r) {
			return fmt.Errorf("%w: %s: value %q contains %q", ErrInvalidVar, name, value, r)
		}
	}
	if strings.Contains(value, entDelim) {
		return fmt.Errorf("%w: %s: value %q contains %q", ErrInvalidVar, name, value, entDelim)
	}
	return nil
}

// SafeValue turns free text (a sender name, a header line) into a value
// CheckVar accepts: control and forbidden characters become spaces, ":_:"
// becomes ": :", invalid UTF-8 is dropped, the result is trimmed and cut to
// the length limit.
func SafeValue(s string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "") {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(forbidden, r) {
			r = ' '
		}
		if b.Len()+utf8.RuneLen(r) > maxValueLen {
			break
		}
		b.WriteRune(r)
	}
	out := b.String()
	for strings.Contains(out, entDelim) { // each pass removes underscores, so this ends
		out = strings.ReplaceAll(out, entDelim, ": :")
	}
	return strings.TrimSpace(out)
}

// CleanNumber removes the formatting characters space, '-', '.', '/', '('
// and ')' and checks that what remains is a dialable number: an optional
// leading '+' followed by digits, '*', '#' or the DTMF letters A-D. It
// makes the number of a dial string; CallerNumber checks the numbers an
// inbound call brings.
func CleanNumber(s string) (string, error) {
	n := strings.Map(func(r rune) rune {
		if strings.ContainsRune(" -./()\t", r) {
			return -1
		}
		return r
	}, s)
	if len(n) > maxNumberLen || !numberRe.MatchString(n) {
		return "", fmt.Errorf("%w: %q", ErrInvalidNumber, s)
	}
	return n, nil
}

// CheckGateway reports whether name is a usable sofia gateway name.
func CheckGateway(name string) error {
	if len(name) > maxNameLen || !gatewayRe.MatchString(name) {
		return fmt.Errorf("%w: %q", ErrInvalidGateway, name)
	}
	return nil
}

// Dial describes an outgoing call through one or more sofia gateways.
type Dial struct {
	Vars     Vars     // channel variables for every leg, written {a='x',b='y'}
	Gateways []string // tried in order (FreeSWITCH "|" failover)
	Number   string   // destination; formatting characters are removed
}

// DialString returns
//
//	{a='x',b='y'}sofia/gateway/<gw1>/<number>|sofia/gateway/<gw2>/<number>
//
// after validating every part; no input can add variables, legs or
// applications.
func (d Dial) DialString() (string, error) {
	if len(d.Gateways) == 0 {
		return "", ErrNoGateway
	}
	num, err := CleanNumber(d.Number)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, v := range d.Vars {
		if err := CheckVar(v.Name, v.Value); err != nil {
			return "", err
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(v.Name + "='" + v.Value + "'")
	}
	b.WriteByte('}')
	for i, gw := range d.Gateways {
		if err := CheckGateway(gw); err != nil {
			return "", err
		}
		if i > 0 {
			b.WriteByte('|')
		}
		b.WriteString("sofia/gateway/" + gw + "/" + num)
	}
	return b.String(), nil
}

// CheckPath reports whether p can be passed to a fax application: an
// absolute path of letters, digits and . _ / + @ = ~ - only (no spaces,
// quotes, commas or parentheses, which would end the argument).
func CheckPath(p string) error {
	if len(p) > maxPathLen || !pathRe.MatchString(p) || strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") {
		return fmt.Errorf("%w: %q", ErrInvalidPath, p)
	}
	return nil
}

// TxFax returns the API command that calls d and sends file:
//
//	originate <dial string> &txfax(<file>)
//
// Run it with bgapi; the call's UUID should be among d.Vars as
// origination_uuid so its events can be followed.
func (d Dial) TxFax(file string) (string, error) {
	ds, err := d.DialString()
	if err != nil {
		return "", err
	}
	if err := CheckPath(file); err != nil {
		return "", err
	}
	return "originate " + ds + " &txfax(" + file + ")", nil
}
