package call

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrDial reports a value that cannot go into a dial string safely.
var ErrDial = errors.New("call: unsafe dial string value")

// Var is one channel variable of a dial string.
type Var struct{ Name, Value string }

// Originate builds the argument of "originate": a dial string
// {name='value',...}sofia/gateway/<gateway>/<number> and the txfax
// application for file. Every name, the gateway, the number and the file
// are checked against strict character sets; values are single-quoted and
// may not contain what could end the quoting, the variable block or the
// command line (quotes, braces, brackets, '|', '^', backslash, control
// characters). Nothing from a qfile, a script or mod_db can therefore add
// variables, applications or extra legs.
func Originate(vars []Var, gateway, number, file string) (string, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, v := range vars {
		if !isName(v.Name) {
			return "", fmt.Errorf("%w: variable name %q", ErrDial, v.Name)
		}
		if !safeValue(v.Value) {
			return "", fmt.Errorf("%w: %s=%q", ErrDial, v.Name, v.Value)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(v.Name + "='" + v.Value + "'")
	}
	b.WriteByte('}')
	if !isWord(gateway, "-_.") {
		return "", fmt.Errorf("%w: gateway %q", ErrDial, gateway)
	}
	if !isWord(number, "+*#-_.") {
		return "", fmt.Errorf("%w: number %q", ErrDial, number)
	}
	if !isWord(file, "/-_.;+:@%=~") {
		return "", fmt.Errorf("%w: document path %q", ErrDial, file)
	}
	fmt.Fprintf(&b, "sofia/gateway/%s/%s &txfax(%s)", gateway, number, file)
	return b.String(), nil
}

// isName accepts channel variable names: letters, digits, '_'.
func isName(s string) bool { return s != "" && isWord(s, "_") }

// isWord accepts ASCII letters and digits and the bytes in extra.
func isWord(s, extra string) bool {
	if s == "" || len(s) > 512 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}

// safeValue accepts printable UTF-8 text that cannot leave its single
// quotes.
func safeValue(s string) bool {
	if len(s) > 512 || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f || strings.ContainsRune(`'"\{}[]|^<>`, r) {
			return false
		}
	}
	return true
}

// Sanitize makes free text (a page header, a station id, a caller name)
// fit for a dial string value by turning every unsafe character into a
// blank.
func Sanitize(s string) string {
	if len(s) > 512 {
		s = s[:512]
	}
	s = strings.ToValidUTF8(s, " ")
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || strings.ContainsRune(`'"\{}[]|^<>`, r) {
			return ' '
		}
		return r
	}, s)
}
