package hylafax

import (
	"bytes"
	"strings"
)

// ConfigItem is one "tag: value" line of a HylaFAX configuration file
// (etc/config, etc/config.<modem>, info/<number>).
type ConfigItem struct {
	Tag   string // lower case, as HylaFAX compares tags; a leading '&' kept
	Value string // unquoted, escapes resolved
	Line  int    // 1-based
}

// ParseConfig reads a HylaFAX configuration file the way HylaFAX's
// FaxConfig::readConfigItem does: blank lines and lines whose first
// non-blank character is '#' are skipped; the tag runs to the first ':'
// and is lower-cased (blanks before the colon stay part of it); blanks
// after the colon are skipped; a value starting with '"' runs to the next
// '"' with C escapes (\n, \t, \r, \b, \f, \v, \ooo octal, \<char> for
// that char), any other value ends at the first blank. A line without a
// colon or with an unterminated quote is skipped. A NUL ends a line or a
// value, as it ends a C string.
func ParseConfig(b []byte) []ConfigItem {
	var items []ConfigItem
	n := 0
	for len(b) > 0 {
		n++
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if i := bytes.IndexByte(line, 0); i >= 0 {
			line = line[:i]
		}
		if it, ok := parseConfigLine(string(line)); ok {
			it.Line = n
			items = append(items, it)
		}
	}
	return items
}

// isConfigSpace is C's isspace in the "C" locale.
func isConfigSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func parseConfigLine(s string) (ConfigItem, bool) {
	i := 0
	for i < len(s) && isConfigSpace(s[i]) {
		i++
	}
	if i == len(s) || s[i] == '#' {
		return ConfigItem{}, false
	}
	colon := strings.IndexByte(s[i:], ':')
	if colon < 0 {
		return ConfigItem{}, false
	}
	tag := asciiLower(s[i : i+colon])
	i += colon + 1
	for i < len(s) && isConfigSpace(s[i]) {
		i++
	}
	if i < len(s) && s[i] == '"' {
		v, ok := unquoteConfig(s[i+1:])
		if !ok {
			return ConfigItem{}, false
		}
		return ConfigItem{Tag: tag, Value: v}, true
	}
	j := i
	for j < len(s) && !isConfigSpace(s[j]) {
		j++
	}
	return ConfigItem{Tag: tag, Value: s[i:j]}, true
}

// unquoteConfig reads a quoted value after its opening quote; false when
// the closing quote is missing.
func unquoteConfig(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			v := b.String()
			if k := strings.IndexByte(v, 0); k >= 0 {
				v = v[:k]
			}
			return v, true
		case '\\':
			if i+1 >= len(s) {
				return "", false
			}
			i++
			c = s[i]
			if c >= '0' && c <= '9' {
				v := int(c - '0')
				for k := 0; k < 2 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9'; k++ {
					i++
					v = v<<3 + int(s[i]-'0')
				}
				c = byte(v)
			} else if k := strings.IndexByte("n\nt\tr\rb\bf\fv\v", c); k >= 0 && k%2 == 0 {
				c = "n\nt\tr\rb\bf\fv\v"[k+1]
			}
		}
		b.WriteByte(c)
	}
	return "", false
}

// quoteConfig writes v as a quoted value ParseConfig reads back as v
// (without NUL bytes, which end a value): quote, backslash and control
// characters are escaped, the rest is written as it is, as HylaFAX
// writes its values.
func quoteConfig(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == 0:
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 || c == 0x7f:
			b.WriteByte('\\')
			b.WriteByte('0' + c>>6)
			b.WriteByte('0' + c>>3&7)
			b.WriteByte('0' + c&7)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// ConfigBool is HylaFAX's getBoolean: "on", "yes" and "true" in any case
// are true, anything else false.
func ConfigBool(v string) bool {
	switch strings.ToLower(v) {
	case "on", "yes", "true":
		return true
	}
	return false
}

// ConfigNumber is HylaFAX's getNumber, C's strtol with base 0: an optional
// sign, then hexadecimal after "0x", octal after "0", else decimal, up to
// the first character that does not fit; 0 when none does. Values beyond
// the int32 range are clamped.
func ConfigNumber(v string) int {
	i, neg := 0, false
	if i < len(v) && (v[i] == '+' || v[i] == '-') {
		neg = v[i] == '-'
		i++
	}
	base := 10
	switch {
	case i+1 < len(v) && v[i] == '0' && (v[i+1] == 'x' || v[i+1] == 'X') && i+2 < len(v) && hexDigit(v[i+2]) >= 0:
		base, i = 16, i+2
	case i < len(v) && v[i] == '0':
		base = 8
	}
	var n int64
	for ; i < len(v); i++ {
		d := hexDigit(v[i])
		if d < 0 || d >= base {
			break
		}
		n = n*int64(base) + int64(d)
		if n > 1<<31 {
			n = 1 << 31
		}
	}
	if neg {
		n = -n
	}
	return int(max(min(n, 1<<31-1), -1<<31))
}

func hexDigit(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
